/* SPDX-License-Identifier: ISC */
/* fxd — the engine: rings, worker, staging table, chain swaps and metrics.
 *
 * The engine knows nothing of JACK. A driver (daemon/jack_driver.c, or a
 * test's fake driver) calls fx_engine_process once per period from its
 * realtime thread, and a worker thread runs fx_engine_worker_main, or a test
 * calls fx_engine_work itself. Control calls (staging, swaps, queries,
 * metrics, the period change) may come from any non-realtime thread: each
 * takes the engine's own control lock for its whole work, so they exclude
 * one another, and the realtime paths never take it. The engine calls
 * nothing outside itself while holding it, so a caller may hold a lock of
 * its own around these calls (lock order: the caller's, then the
 * engine's).
 *
 * Timing: the output ring is primed with latency_periods periods of
 * silence, so the output of period n is the chain's output for the input of
 * period n - latency_periods, always. A chunk that is not ready in time is
 * replaced by silence (an underflow) and dropped when it arrives late.
 */
#ifndef FX_ENGINE_H
#define FX_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "daemon/engine/midi_map.h"
#include "dsp/chain.h"

typedef struct FxEngineImpl FxEngine;

/** One parameter of one slot; param FX_PARAM_BYPASS is the slot's bypass.
 *  Engine, control surface and OSC all name parameters this way. */
typedef struct {
	int slot;  ///< 0..FX_MAX_SLOTS-1
	int param; ///< 0..FX_MAX_PARAMS-1, or FX_PARAM_BYPASS
} FxParamRef;

enum {
	/** The param of a slot's bypass, after all real parameters. */
	FX_PARAM_BYPASS = FX_MAX_PARAMS,
	/** Entries per slot in every per-parameter table (staging, changes). */
	FX_PARAM_PER_SLOT = FX_MAX_PARAMS + 1,
	/** Entries in such a table: every parameter of every slot, then bypass. */
	FX_PARAM_ENTRIES = FX_MAX_SLOTS * FX_PARAM_PER_SLOT,
};

/** The table index of @p r (slot-major). */
static inline int fx_param_index(FxParamRef r)
{
	return r.slot * FX_PARAM_PER_SLOT + r.param;
}

/** The parameter at table index @p index. */
static inline FxParamRef fx_param_at(int index)
{
	return (FxParamRef){index / FX_PARAM_PER_SLOT, index % FX_PARAM_PER_SLOT};
}

/** How the engine is built. */
typedef struct {
	int inputs;          ///< input ports, 1..64
	int outputs;         ///< output ports, 1..64
	int channels;        ///< chain channels, 1..64
	double sample_rate;  ///< Hz
	int period;          ///< frames per fx_engine_process call
	int latency_periods; ///< periods of silence primed, >= 1
	int ring_periods;    ///< ring room in periods beyond the priming
	int latency_log;     ///< callbacks and chunks kept for statistics
	double glide_ms;     ///< parameter glide time
	double bypass_ms;    ///< bypass crossfade time
	double fade_ms;      ///< fade in at start, out before stop, swap fade
	int safety;          ///< 1: DC blocker and soft ceiling after the chain
	double ceiling_db;   ///< soft-clip ceiling, dBFS (e.g. -0.1)
	/** Bytes one chain may allocate (FxChainPlan.bytes); 0: no limit.
	 *  While a chain replaces another both exist, so fxd may hold up to
	 *  twice this for a moment. */
	size_t memory_budget;
	/** 1: a change staged after a chunk was rendered and before the
	 *  driver takes it renders that chunk again with the change (issue
	 *  18, at most once a period, only with time left before the driver,
	 *  never while freewheeling, never for a chain that cannot rewind);
	 *  0: changes wait for the next chunk. */
	int rerender;
} FxEngineConfig;

enum {
	/** The default memory budget in MB (10^6 bytes): a rig's reverb and
	 *  a few 30 s delays at 8 channels fit, 32 such delays at 2 do not. */
	FX_ENGINE_BUDGET_MB = 256,
};

/** Defaults: 2 in, 2 out, 2 channels, 48 kHz, 256 frames, 1 period of
 *  latency, 8 periods of ring room, a log of 4096, 20 ms glide, 10 ms
 *  bypass, 20 ms fades, safety on at -0.1 dBFS, a memory budget of
 *  FX_ENGINE_BUDGET_MB, re-rendering on. */
FxEngineConfig fx_engine_config_default(void);

/** Writes into @p why one line saying why a chain of @p spec failed with
 *  @p st in an engine configured as @p cfg: for FX_ERR_BUDGET its cost
 *  and the budget ("chain needs 368.7 MB of buffers, over the 256 MB
 *  budget (--memory-budget)"), otherwise the status's text. */
void fx_engine_explain(const FxEngineConfig *cfg, const FxChainSpec *spec,
                       FxStatus st, char *why, size_t why_size);

/** Builds an engine running @p spec. Returns NULL and sets @p st on
 *  failure (FX_ERR_BUDGET, with nothing large allocated, for a chain over
 *  cfg->memory_budget). Not realtime. */
FxEngine *fx_engine_new(const FxEngineConfig *cfg, const FxChainSpec *spec,
                        FxStatus *st);

/** Frees @p e; the worker must have stopped. NULL is a no-op. */
void fx_engine_free(FxEngine *e);

/* ---- driver side (realtime) ------------------------------------------- */

/** One period: copies @p in (inputs buffers) into the input ring, the due
 *  chunk from the output ring into @p out (outputs buffers), posts the
 *  worker's semaphore if the worker sleeps on it, and times itself. @p frames must equal the configured period,
 *  otherwise the outputs are silent. Realtime, except while freewheeling,
 *  when it waits for the due chunk so none is dropped. */
void fx_engine_process(FxEngine *e, const float *const *in, float *const *out,
                       int frames);

/** One raw MIDI event of a period, as the driver found it. */
typedef struct {
	uint32_t frame;  ///< offset inside the period
	uint16_t size;   ///< the event's length in bytes (SysEx may be long)
	uint8_t data[3]; ///< its first bytes (size may exceed 3: the rest is
			 ///< not kept, and such an event maps to nothing)
} FxMidiEvent;

enum {
	/** Events the MIDI input ring holds across all waiting periods; a
	 *  period with more than fit is refused whole (counted). */
	FX_ENGINE_MIDI_EVENTS = 4096,
	/** Outgoing events waiting for the driver. */
	FX_ENGINE_MIDI_OUT = 1024,
};

/** The MIDI events of the period the next fx_engine_process call will
 *  carry: call it just before that call, in the same callback. All are
 *  taken or, when the ring lacks room, none (counted in midi_overflows).
 *  Returns 1 if taken. Realtime. */
int fx_engine_midi_in(FxEngine *e, const FxMidiEvent *ev, int n);

/** Takes up to @p max outgoing events (feedback to controllers) for the
 *  driver to write at the start of its period. Returns how many. Realtime. */
int fx_engine_midi_out(FxEngine *e, FxMidiEvent *ev, int max);

/** Counts one xrun reported by the audio server. Realtime. */
void fx_engine_count_xrun(FxEngine *e);

/** Counts @p cycles periods the driver saw missed: a period started later
 *  than the previous one ended (a frame-time gap). Realtime. */
void fx_engine_count_missed(FxEngine *e, uint32_t cycles);

/** Freewheel mode on or off (the driver's freewheel callback). */
void fx_engine_set_freewheel(FxEngine *e, int on);

/* ---- worker side -------------------------------------------------------- */

/** Processes every complete chunk waiting in the input ring: applies staged
 *  changes and swaps at each chunk start, runs the chain, the non-finite
 *  guard, the output safety and fades. Returns the chunks processed. This
 *  is the worker's per-chunk path: no allocation, locks or logging. */
int fx_engine_work(FxEngine *e);

/** The worker thread's body: FTZ/DAZ on, then call fx_engine_work for each
 *  period until fx_engine_stop_worker. Between periods it sleeps on a
 *  semaphore that the driver posts once per period (one wake-up a period,
 *  none while periods stop coming). @p engine is an FxEngine. */
void *fx_engine_worker_main(void *engine);

/** Tells the engine whether a worker thread runs fx_engine_worker_main
 *  (fx_engine_set_period then hands it a pause; without one, tests call
 *  fx_engine_work themselves). Call before starting / after joining it. */
void fx_engine_set_worker_running(FxEngine *e, int running);

/** Asks the worker thread to return and wakes it. */
void fx_engine_stop_worker(FxEngine *e);

/* ---- control side (any non-realtime thread; takes the control lock) ---- */

/** What fx_engine_set_param did. */
typedef struct {
	double applied;    ///< the value used (clamped; bypass 0 or 1), NAN
			   ///< when the value was refused
	int changed;       ///< it differs from the target before the call
	int latency_moved; ///< a structural change moved fx_engine_latency
} FxParamChange;

/** Stages a change of @p r for the worker's next chunk start, as one step
 *  under the control lock. The value is clamped; r.param FX_PARAM_BYPASS
 *  sets the slot's bypass (on when @p value is not 0). Structural
 *  parameters rebuild the chain through fx_engine_swap, and coalesce like
 *  a swap. When the target changed and @p rx_ns (CLOCK_MONOTONIC, when
 *  its message arrived) is not 0, the change is timed to the period that
 *  plays it (knob-to-ear statistics). @p change (may be NULL) says what
 *  was done. */
FxStatus fx_engine_set_param(FxEngine *e, FxParamRef r, double value,
                             uint64_t rx_ns, FxParamChange *change);

/** A parameter's current target (what the last set asked for); for
 *  FX_PARAM_BYPASS, 1 or 0; NAN for a parameter the chain lacks. */
double fx_engine_get_param(const FxEngine *e, FxParamRef r);

/** Makes @p spec the chain to run. A chain is built off the realtime path
 *  and queued; the worker swaps it in between chunks with a crossfade, and
 *  the old chain is freed by fx_engine_collect. One swap is in flight at a
 *  time (queued or crossfading): a swap asked for meanwhile only becomes
 *  the wanted spec, replacing any wanted before it, and is built once the
 *  one in flight is collected. So any number of swaps in a row end with
 *  the last one running, and no more than two chains exist at once.
 *  Refused, with nothing allocated, when the chain's buffers exceed
 *  the memory budget (FX_ERR_BUDGET) or it cannot be built at all;
 *  FX_ERR_NOMEM when a chain built now cannot be. Values staged
 *  before the swap never land on the new chain. */
FxStatus fx_engine_swap(FxEngine *e, const FxChainSpec *spec);

/** The spec the engine is running or about to run (the wanted one), with
 *  current targets. */
void fx_engine_get_spec(const FxEngine *e, FxChainSpec *spec);

/** Restarts, in their slots, the effects of the newest chain that muted
 *  themselves as not finite (fx_chain_restart_muted): how many, or -1
 *  when one failed. */
int fx_engine_restart_muted(FxEngine *e);

/** fx_engine_get_spec, with the state of each effect that keeps one beyond
 *  its parameters (an LV2 plugin's, FxEffectClass.save) saved from the
 *  chain running now, for a preset or the state file. The spec running
 *  takes those states too, so loading what was saved glides rather than
 *  rebuilds. The plugins' save runs under the engine's lock. */
void fx_engine_save_spec(FxEngine *e, FxChainSpec *spec);

/** Frees chains the worker has retired and, once none is in flight, builds
 *  and queues the wanted one. Call from the control thread now and then
 *  (fx_engine_poll and every swap do it too). Returns FX_OK, or the error
 *  of a wanted chain that could not be built since the last call (out of
 *  memory); the engine then wants the chain it was running before. */
FxStatus fx_engine_collect(FxEngine *e);

/** Latency the engine adds, in frames: latency_periods * period plus the
 *  chain's own. */
int fx_engine_latency(const FxEngine *e);

/** For a server that came back, or whose rate changed, while @p e was
 *  stopped (no worker running, the driver not calling it): at the same
 *  rate re-plans @p e in place for @p period and clears the chain's audio
 *  state, returning @p e; at another rate builds a new engine running
 *  @p e's spec (current values included) at @p rate and @p period,
 *  returning it (the caller hands it to the control side and frees
 *  @p e). NULL with *@p st when the chain cannot run so (@p e is left
 *  as it was). */
FxEngine *fx_engine_renew(FxEngine *e, double rate, int period, FxStatus *st);

/** Changes the period (a server buffer-size change): pauses the driver and
 *  worker side, re-plans rings for @p period, re-primes, resumes, all under
 *  the control lock, so no control call sees it half done. Call with
 *  the driver not inside fx_engine_process (JACK guarantees this for its
 *  buffer-size callback) and the worker either running or stopped. */
FxStatus fx_engine_set_period(FxEngine *e, int period);

/** Starts a fade out (1) or in (0); fx_engine_faded_out says when done. */
void fx_engine_fade(FxEngine *e, int out);

/** 1 once a fade out has reached silence. */
int fx_engine_faded_out(const FxEngine *e);

/** Asks the worker to clear the chain's audio state at its next chunk. */
void fx_engine_reset_state(FxEngine *e);

/* ---- MIDI control (control side) ------------------------------------------ */

/** Makes @p table the MIDI mapping table; NULL: map nothing. The engine
 *  owns it from now on: the worker swaps it in between chunks and the old
 *  one is freed by fx_engine_collect. Mappings apply to the chain
 *  running when each event arrives; build a new table after a swap. */
FxStatus fx_engine_set_midi_table(FxEngine *e, FxMidiTable *table);

/** Arms (1) or disarms (0) MIDI learn: while armed, the next CC or note
 *  on the worker sees is reported (FX_MIDI_REPORT_LEARN) and learn is
 *  disarmed. */
void fx_engine_midi_learn(FxEngine *e, int armed);

/** Queues a MIDI message of @p size (1..3) bytes for fxd's MIDI output.
 *  Returns 1, or 0 when the queue is full (counted). */
int fx_engine_midi_send(FxEngine *e, const uint8_t *bytes, int size);

/** What the worker did with MIDI that the control side must know. */
typedef enum {
	FX_MIDI_REPORT_PARAM, ///< mapping set param to value (last of a chunk)
	FX_MIDI_REPORT_MORPH, ///< a /fxd/morph mapping moved to value
	FX_MIDI_REPORT_CLOCK, ///< a clock tick (0xF8) at frame
	FX_MIDI_REPORT_START, ///< start or continue (0xFA, 0xFB)
	FX_MIDI_REPORT_STOP,  ///< stop (0xFC)
	FX_MIDI_REPORT_TAP,   ///< a /fxd/tap mapping fired at frame
	FX_MIDI_REPORT_PROGRAM, ///< a mapped program change: mapping
	FX_MIDI_REPORT_PANIC,   ///< a /fxd/panic mapping fired
	FX_MIDI_REPORT_MUTE,    ///< a /fxd/mute mapping set value (0 or 1)
	FX_MIDI_REPORT_LEARN,   ///< learn saw source/channel/number
} FxMidiReportKind;

/** One report, worker to control. */
typedef struct {
	FxMidiReportKind kind;
	FxMidiSource source; ///< LEARN: what came (CC or NOTE)
	int channel;         ///< LEARN: 0..15
	int number;          ///< LEARN: CC or note number
	int mapping;         ///< index into the table's mappings, or -1
	int param;           ///< PARAM: fx_param_index of the target
	uint32_t applied;    ///< PARAM: staged count in force when applied
	uint64_t frame;      ///< input frame since the engine started
	double value;        ///< PARAM: the value; MORPH: the position
} FxMidiReport;

/** Takes up to @p max reports, oldest first. Returns how many. */
int fx_engine_midi_reports(FxEngine *e, FxMidiReport *out, int max);

/** The rig's tempo for tempo-synced effects (120 until set). */
void fx_engine_set_tempo(FxEngine *e, double bpm);

/** Mutes, clears every effect's state and unmutes, within one chunk and a
 *  fade in. */
void fx_engine_panic(FxEngine *e);

/** A count of the changes staged and chains swapped so far. */
uint32_t fx_engine_staged_seq(const FxEngine *e);

/** 1 once the worker has applied every change counted in @p seq (a value
 *  of fx_engine_staged_seq). */
int fx_engine_applied(const FxEngine *e, uint32_t seq);

/** Peak and RMS (linear) of each output port, then of each input port as
 *  it came in (before the chain: for setting the input gain), since the
 *  last call, at most @p max ports. Returns the ports filled; *@p outputs
 *  (may be NULL) gets how many of them are outputs. */
int fx_engine_meters(FxEngine *e, float *peak, float *rms, int max, int *outputs);

/** What one slot of the chain being heard has cost since it was built. */
typedef struct {
	double us;       ///< mean microseconds per chunk
	uint64_t faults; ///< chunks its effect muted as not finite
	/** Its effect's read-only outputs (FxEffectClass.outputs), as the
	 *  latest chunk left them. */
	float outputs[FX_MAX_OUTPUTS];
} FxEngineSlotStats;

/** The cost of each slot of the chain being heard, as the worker last
 *  published it (after its latest chunk). Returns the slots filled, at
 *  most @p max; none while a swap is on its way (the chain heard is not
 *  the one fx_engine_get_spec describes). Any non-realtime thread. */
int fx_engine_slot_stats(FxEngine *e, FxEngineSlotStats *out, int max);

/** Every chunk muted as not finite since the engine was made, by the
 *  chain or by an effect muting itself (the raw count behind
 *  FxEngineMetrics.nonfinite, which resets). Any thread. */
uint64_t fx_engine_nonfinite(FxEngine *e);

/** Settles the changes being timed (call often, from the control thread):
 *  those heard go into the knob-to-ear statistics. Collects retired
 *  chains too (fx_engine_collect, its error kept for that call). */
void fx_engine_poll(FxEngine *e);

/** Latency statistics in milliseconds over the last latency_log entries. */
typedef struct {
	uint64_t count;
	double min, median, mean, p95, p99, max;
} FxLatencyStats;

/** A snapshot of the engine's metrics. */
typedef struct {
	uint64_t callbacks;       ///< fx_engine_process calls
	uint64_t chunks;          ///< chunks the worker processed
	uint64_t input_overflows; ///< periods the input ring refused
	uint64_t underflows;      ///< periods output as silence
	uint64_t late_dropped;    ///< chunks dropped for arriving late
	/** Stalls counted: the larger of xruns_jack and xruns_gaps. Under
	 *  jackd one stall moves both (JACK reports each cycle it missed,
	 *  and fxd sees those cycles missing), so they are not added;
	 *  PipeWire 0.3.65 never reports xruns, so there only the gaps
	 *  move. */
	uint64_t xruns;
	uint64_t xruns_jack;     ///< xruns the server reported (xrun callback)
	uint64_t xruns_gaps;     ///< periods missed, seen as frame-time gaps
	uint64_t nonfinite;      ///< chunks muted for NaN/Inf
	FxLatencyStats callback; ///< driver callback durations
	FxLatencyStats worker;   ///< worker chunk durations
	FxLatencyStats knob;     ///< message arrival to the change heard
	uint64_t midi_events;    ///< MIDI events taken in
	uint64_t midi_overflows; ///< periods of MIDI the ring refused
	uint64_t midi_out_dropped;     ///< outgoing events the queue refused
	uint64_t midi_reports_dropped; ///< reports the control side missed
	/** MIDI-to-ear: an event's input frame to the output frame where its
	 *  change is first heard, in frames (count, min, median, ..., max
	 *  in frames, not ms). */
	FxLatencyStats midi_frames;
	/* Re-rendering the unplayed chunk (FxEngineConfig.rerender). */
	uint64_t rerenders; ///< chunks re-rendered and played
	/** Re-rendered, but the driver took the original first: the change
	 *  waited for the next chunk. */
	uint64_t rerenders_late;
	/** Not tried: too little time left before the driver, or it had
	 *  taken the chunk. */
	uint64_t rerenders_skipped;
	/** Changes that found a chain that cannot rewind (an LV2 plugin, a
	 *  convolver), which waited for the next chunk. */
	uint64_t rerenders_unable;
	double dsp_load; ///< mean worker time as % of the period
} FxEngineMetrics;

/** Fills @p m; reads atomics only, never blocks the realtime threads. */
void fx_engine_metrics(FxEngine *e, FxEngineMetrics *m);

/** Fills only the counters of @p m (cheap: no statistics). */
void fx_engine_counters(FxEngine *e, FxEngineMetrics *m);

/** Zeroes counters and statistics as seen by fx_engine_metrics. */
void fx_engine_reset_metrics(FxEngine *e);

/** The configuration in force (period included). */
FxEngineConfig fx_engine_config(const FxEngine *e);

/* ---- MIDI values the worker applied (control side) ------------------------ */

/** Makes @p value the target of @p r without staging it: the worker has
 *  already applied it from a MIDI mapping, so only the target (what
 *  fx_engine_get_spec and fx_engine_get_param report) follows. Clamped as
 *  fx_engine_set_param clamps; FX_ERR_STRUCTURAL for a structural
 *  parameter (those change only through a swap). @p change (may be NULL)
 *  says what was done. */
FxStatus fx_engine_note_param(FxEngine *e, FxParamRef r, double value,
                              FxParamChange *change);

#endif

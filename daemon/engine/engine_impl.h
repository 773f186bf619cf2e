/* SPDX-License-Identifier: ISC */
/* fxd — the engine's private layout, shared by its setup, control and
 * realtime files. Each field says which thread writes it. */
#ifndef FX_ENGINE_IMPL_H
#define FX_ENGINE_IMPL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdalign.h>
#include <stdatomic.h>

#include "daemon/engine/engine.h"
#include "daemon/engine/knob_timing.h"
#include "daemon/engine/midi_map_impl.h"
#include "daemon/engine/queue.h"
#include "dsp/ring.h"
#include "dsp/safety.h"

enum {
	FX_ENGINE_MAX_PORTS = 64,
	FX_STAGE_WORDS = (FX_PARAM_ENTRIES + 63) / 64,
	FX_SWAP_QUEUE = 8,
	/** MIDI tables queued to the worker at once (and retired). */
	FX_MIDI_TABLE_QUEUE = 8,
	/** Worker reports waiting for the control thread. */
	FX_MIDI_REPORTS = 1024,
	/** Chunks with MIDI applied, waiting to be heard (MIDI-to-ear). */
	FX_MIDI_HEARD = 64,
	/** Period start times the driver keeps for the re-render's deadline
	 *  (a power of two). */
	FX_CB_STARTS = 64,
	/* The chain's max_block: longer periods are split by the chain, and
	 * a chunk rendered again must fit the block its effects' lines keep
	 * spare (so periods over it are not re-rendered). */
	FX_ENGINE_CHAIN_BLOCK = 1024,
};

/** States of FxEngine.patch, the re-rendered chunk's word (the chunk's
 *  number in its high 32 bits). */
enum {
	FX_PATCH_TAKEN,   ///< the driver took every chunk up to the number
	FX_PATCH_READY,   ///< patch_buf holds that chunk, rendered again
	FX_PATCH_READING, ///< the driver claimed it and copies patch_buf
};

/** Whether the worker's last chunk can be rendered again (worker). */
enum {
	FX_PEND_NONE,   ///< no: re-rendered once, or a fade, swap, MIDI...
	FX_PEND_OK,     ///< yes: checkpoint taken before it
	FX_PEND_UNABLE, ///< the chain cannot rewind (counted on a change)
};

/** A chunk that applied MIDI, from its first changed frame: the driver
 *  times it when it plays (worker to driver). */
typedef struct {
	uint32_t chunk;
	uint32_t frame;
} MidiHeard;

/** Peak and energy per output port, then per input port (before the
 *  chain), since the control thread last read them, behind a sequence
 *  count (worker writes, control reads). */
typedef struct {
	_Atomic uint32_t seq;       ///< odd while the worker writes
	_Atomic uint32_t epoch;     ///< control: bumped to restart the sums
	uint32_t seen_epoch;        ///< worker: the epoch of its sums
	_Atomic uint32_t pub_epoch; ///< worker: the epoch of what is published
	_Atomic uint64_t frames;
	_Atomic float peak[2 * FX_ENGINE_MAX_PORTS];
	_Atomic double sumsq[2 * FX_ENGINE_MAX_PORTS];
} Meters;

/** Where the worker thread is, for the driver's decision to post: it
 *  sleeps on work_sem between periods. */
enum { FX_WORKER_AWAKE, FX_WORKER_ASLEEP };

/** One staged value. A per-entry sequence count (a seqlock) keeps the
 *  value and its chain generation together. */
typedef struct {
	_Atomic uint32_t seq;  ///< odd while the control thread writes
	_Atomic uint32_t gen;  ///< chain generation the value is for
	_Atomic uint64_t bits; ///< the double value
} Staged;

/** Chains travel as messages: to the worker to swap in, back to retire. */
typedef struct {
	FxChain *chain;
	uint32_t gen;
} ChainMsg;

/** A ring of timings in ns, written by one thread, read by the control. */
typedef struct {
	_Atomic uint32_t *ns;     ///< [size]
	_Atomic uint64_t written; ///< entries ever written
	uint64_t baseline;        ///< control: `written` at the last reset
} TimeLog;

struct FxEngineImpl {
	/* Taken by every control entry (engine.c), the period change
	 * included, for its whole work; never by the driver's period or the
	 * worker's chunks. "Control" below means: a thread holding it. */
	pthread_mutex_t lock;
	FxEngineConfig cfg; ///< control (period: fx_engine_set_period,
			    ///< with driver and worker standing still)

	/* Written under `lock` only. */
	FxChainSpec spec;  ///< targets of the newest chain (wanted or queued)
	uint32_t gen;      ///< generation of the newest chain queued
	int chain_latency; ///< frames, of the newest chain
	/* The newest chain built: queued or running, it is freed only after
	 * a newer one is queued, so it is alive while the lock is held. */
	FxChain *newest;
	/* Swaps coalesce: one is in flight at a time, from its queueing
	 * until the chain it replaced comes back retired and is collected;
	 * meanwhile `spec` is wanted (built later) and `fallback` is what it
	 * was before, kept for a build that fails. */
	int in_flight;        ///< chains queued, their old chain not collected
	int wanted;           ///< `spec` is not built yet
	FxChainSpec fallback; ///< `spec` when it became wanted
	int fallback_latency;
	FxStatus build_error; ///< a wanted chain failed; for fx_engine_collect
	uint32_t *scratch_ns; ///< for sorting statistics
	uint64_t base[17];    ///< counters at the last metrics reset
	TimeLog knob_log;     ///< knob-to-ear times (written by control)
	/* Written, without the lock, by whoever starts and joins the worker
	 * thread (the driver's start and stop, on fxd's main thread). */
	_Atomic int worker_running; ///< a thread runs worker_main

	/* Shared through rings, queues, atomics and semaphores. Each
	 * period crosses as one ring record, its number and its frames
	 * written and read in one transaction (fx_ring_write_record). */
	FxRing *in_ring;  ///< driver -> worker, inputs channels
	FxRing *out_ring; ///< worker -> driver, outputs channels
	FxQueue *swaps;   ///< control -> worker
	FxQueue *retired; ///< worker -> control
	/* MIDI: each period's events go in as one batch, a header (an
	 * FxMidiEvent whose frame is the period number and size the count)
	 * then the events (driver -> worker). */
	FxQueue *midi_in;
	FxQueue *midi_out;                 ///< control -> driver
	FxQueue *midi_tables;              ///< control -> worker: FxMidiTable *
	FxQueue *midi_retired;             ///< worker -> control: FxMidiTable *
	FxQueue *midi_reports;             ///< worker -> control: FxMidiReport
	FxQueue *midi_heard;               ///< worker -> driver: MidiHeard
	_Atomic int midi_learn;            ///< control arms, worker disarms
	_Atomic uint64_t midi_out_dropped; ///< control
	_Atomic uint64_t midi_reports_dropped; ///< worker
	Staged stage[FX_PARAM_ENTRIES];
	_Atomic uint64_t dirty[FX_STAGE_WORDS]; ///< set by control, taken by worker
	sem_t work_sem;  ///< posted by the driver when the worker sleeps
	sem_t chunk_sem; ///< posted by the worker each chunk (freewheel)
	sem_t paused_sem, resume_sem; ///< period-change handshake with the worker
	alignas(64) _Atomic int paused; ///< control: driver and worker stand still
	_Atomic int driver_busy;        ///< driver: inside fx_engine_process
	_Atomic int freewheel;          ///< driver's freewheel callback
	_Atomic int stop;         ///< worker's starter: worker thread returns
	_Atomic int pause_worker; ///< control: worker parks on resume_sem
	_Atomic int worker_state; ///< worker: FX_WORKER_*
	_Atomic int want_reset;   ///< control: clear chain state next chunk
	_Atomic int fade_out;     ///< control: 1 fade to silence, 0 fade in
	_Atomic int faded_out;    ///< worker: silent after a fade out
	_Atomic int want_panic;   ///< control: mute, reset, unmute
	_Atomic uint64_t tempo_bits; ///< control: the tempo (a double), BPM
	_Atomic uint32_t staged_seq; ///< control: changes staged or swapped
	/* Set before the staged_seq count of a wanted chain, cleared (release)
	 * after the chain is queued: the worker reads it (acquire) before it
	 * looks at the swap queue, so a count is never published as applied
	 * before its chain runs. */
	_Atomic int swap_held; ///< control: a wanted chain is not queued yet
	_Atomic uint32_t applied_seq; ///< worker: staged_seq it has applied
	/* The re-rendered chunk (issue 18). Only two moves of the worker
	 * and two of the driver, so neither waits: the worker renders into
	 * patch_buf only while the word is TAKEN (acquire: the driver is
	 * done copying) and publishes READY(k) for its last chunk k with
	 * one compare-exchange from TAKEN(s), s before k (release: the
	 * samples are there). The driver, taking chunk `due`, claims
	 * READY(due) as READING(due), copies, then stores TAKEN(due)
	 * (release); any older word it moves straight to TAKEN(due), so a
	 * chunk it took can no longer be published. */
	alignas(64) _Atomic uint64_t patch;
	float *patch_mem; ///< plan: outputs x period
	float *patch_buf[FX_ENGINE_MAX_PORTS];
	/* Driver: when period n started, at n % FX_CB_STARTS, stored before
	 * its input record (whose release publishes it to the worker). */
	_Atomic uint64_t cb_start_ns[FX_CB_STARTS];
	/* Worker: re-renders played, rendered too late, not tried for want
	 * of time, refused by a chain that cannot rewind. */
	_Atomic uint64_t rerenders, rerenders_late, rerenders_skipped,
		rerenders_unable;
	/* Tests only: runs between a re-render and its publication (the
	 * driver can then take the chunk first), and no deadline check. */
	void (*rerender_hook)(void *arg);
	void *rerender_hook_arg;
	int rerender_no_deadline;
	/* Knob-to-ear timing: marks (control), applies (worker), period
	 * start times (driver); knob_timing_impl.h says who writes what. */
	FxKnobTiming *knob;
	Meters meters;

	/* Written by the driver thread (and by fx_engine_plan, while the
	 * driver stands still). */
	alignas(64) uint32_t seq; ///< period number of the next callback
	_Atomic uint64_t callbacks, overflows, underflows, late, xruns;
	_Atomic uint64_t missed; ///< cycles missed, seen as frame-time gaps
	_Atomic uint64_t midi_events, midi_overflows;
	TimeLog cb_log;
	TimeLog midi_log; ///< MIDI-to-ear, in frames

	/* Written by the worker thread. */
	alignas(64) FxChain *chain; ///< the chain being heard
	FxChain *old_chain;         ///< fading out after a swap, or NULL
	uint32_t chain_gen;         ///< generation of `chain`
	int xfade_pos, fade_frames;
	float fade_gain;
	uint64_t chain_nonfinite; ///< `chain`'s count already added
	FxSafety *safety;
	float *in_mem, *ch_mem, *old_mem, *out_mem;
	float *in_buf[FX_ENGINE_MAX_PORTS];
	float *ch_buf[FX_ENGINE_MAX_PORTS];
	float *old_buf[FX_ENGINE_MAX_PORTS];
	float *out_buf[FX_ENGINE_MAX_PORTS];
	_Atomic uint64_t chunks, nonfinite;
	/* Each slot's cost, published after every chunk (fx_engine_slot_stats);
	 * slot_chunks counts the chunks `chain` ran. */
	_Atomic uint64_t slot_ns[FX_MAX_SLOTS], slot_faults[FX_MAX_SLOTS];
	_Atomic uint64_t slot_chunks;
	_Atomic int slot_count;
	_Atomic uint32_t slot_gen; ///< generation of the chain they are of
	/* Each slot's read-only outputs (float bits), published likewise. */
	_Atomic uint32_t slot_out[FX_MAX_SLOTS][FX_MAX_OUTPUTS];
	TimeLog work_log;
	uint32_t applied;    ///< applied_seq's value, kept locally
	uint64_t told_tempo; ///< tempo_bits `told_chain` has been given
	FxChain *told_chain;
	FxMidiTable *midi_table; ///< the table mapping events now
	FxMidiStream midi_stream;
	FxMidiEvent *midi_buf;      ///< [FX_ENGINE_MIDI_EVENTS]: a period's
	FxMidiAction *midi_actions; ///< [FX_MIDI_MAX_MAPPINGS]
	uint64_t frames_in;         ///< input frames before this chunk
	/* The last chunk rendered, kept to render it again: its input stays
	 * in in_buf until the next chunk's is read. */
	int pend;                ///< FX_PEND_*
	uint32_t pend_seq;       ///< its number
	uint64_t pend_deadline;  ///< when the driver takes it, ns
	uint64_t pend_nonfinite; ///< chain_nonfinite before it
	int pend_fade_out;       ///< fade_out as the chunk ran
	uint64_t chunk_peak_ns;  ///< decaying peak of chunk times: the margin
	/* MIDI values of this chunk, reported once each at its end. */
	uint64_t midi_dirty[FX_STAGE_WORDS];
	double midi_value[FX_PARAM_ENTRIES];
	int midi_mapping[FX_PARAM_ENTRIES];
	int morph_moved;
	double morph_pos;
	int morph_mapping;
	uint64_t meter_frames; ///< sums since the meters' epoch
	float meter_peak[2 * FX_ENGINE_MAX_PORTS]; ///< outputs, then inputs
	double meter_sumsq[2 * FX_ENGINE_MAX_PORTS];
};

/** Monotonic time in ns (a vDSO call: it does not block). */
uint64_t fx_engine_now_ns(void);

/** Appends @p ns to @p log (one writer per log). Realtime. */
void fx_engine_log_time(TimeLog *log, int size, uint64_t ns);

/** Worker: swaps in the newest MIDI table queued, retiring the one it
 *  replaces. Realtime. */
void fx_engine_take_midi_tables(FxEngine *e);

/** Worker: the MIDI events of chunk @p chunk into midi_buf, dropping
 *  older periods' batches. Returns how many. Realtime. */
int fx_engine_take_midi(FxEngine *e, uint32_t chunk);

/** Worker: runs the chain over ch_buf, applying the @p n events in
 *  midi_buf at their frames; reports what the control side must know.
 *  Realtime. */
void fx_engine_run_chain_midi(FxEngine *e, int n, uint32_t chunk, int frames);

/** Sizes rings and buffers for cfg.period, primes the output ring. Control
 *  thread, with driver and worker standing still. */
FxStatus fx_engine_plan(FxEngine *e);

#endif

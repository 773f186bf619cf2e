/* SPDX-License-Identifier: ISC */
/* fxd — the control surface over the engine: every change from OSC, a
 * preset, a reload or a restored state goes through here, so it is staged
 * once, remembered for feedback and marked for the state file (presets
 * and the state file themselves: persist.h, on top of this).
 *
 * Any non-realtime thread may call these. Each call takes the surface's own
 * lock (for its change tracking and the engine it drives) and, inside it,
 * the engine's control lock (engine.h), which the driver's buffer-size
 * change takes too. File I/O runs outside both.
 */
#ifndef FX_CONTROL_H
#define FX_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/engine/engine.h"

typedef struct FxControlImpl FxControl;

/** What changed since the last fx_control_take_changes. */
typedef struct {
	uint64_t entries[(FX_PARAM_ENTRIES + 63) / 64]; ///< fx_param_index bits
	int chain; ///< the chain was swapped (everything may differ)
	int mute, bpm;
} FxChanges;

typedef struct {
	const char *preset_dir; ///< NULL: $XDG_DATA_HOME/fxd/presets
	const char *state_file; ///< NULL: none
	/* What to call, with no lock held, when a swap changed the
	 * latency. */
	void (*latency_changed)(void *user);
	/* NULL, or called each time the surface is about to take its lock,
	 * with no lock held: a seam for tests that interleave calls (a swap
	 * between a lookup and a write). */
	void (*on_lock)(void *user);
	void *user;
} FxControlConfig;

/** A control surface over @p engine. NULL when out of memory. */
FxControl *fx_control_new(FxEngine *engine, const FxControlConfig *cfg);
void fx_control_free(FxControl *c);

/** Replaces the engine (after a sample-rate change rebuilt it). */
void fx_control_set_engine(FxControl *c, FxEngine *engine);

/** The running spec, with current targets. */
void fx_control_get_spec(FxControl *c, FxChainSpec *spec);

/** Sets a parameter (clamped; *applied gets the value used). @p rx_ns is
 *  when the request arrived (CLOCK_MONOTONIC), 0 if unknown, for the
 *  knob-to-ear statistics. */
FxStatus fx_control_set_param(FxControl *c, int slot, int param, double value,
                              double *applied, uint64_t rx_ns);
FxStatus fx_control_set_bypass(FxControl *c, int slot, int on, uint64_t rx_ns);

/** The running spec with its effects' own states saved now
 *  (fx_engine_save_spec), for a preset. */
void fx_control_save_spec(FxControl *c, FxChainSpec *spec);

/** The running spec, as fx_control_get_spec, and its generation: a number
 *  that changes with every swap, when slots may have moved. */
uint32_t fx_control_get_spec_gen(FxControl *c, FxChainSpec *spec);

/** fx_control_set_param and fx_control_set_bypass for a slot found in the
 *  spec of generation @p gen. If a swap came in between, nothing is
 *  written, *@p stale is set to 1 and FX_OK returned: look the slot up
 *  again (a label may have moved to another index). */
FxStatus fx_control_set_param_at(FxControl *c, uint32_t gen, int slot, int param,
                                 double value, uint64_t rx_ns, int *stale);
FxStatus fx_control_set_bypass_at(FxControl *c, uint32_t gen, int slot, int on,
                                  uint64_t rx_ns, int *stale);

/** Swaps in @p spec with a crossfade (see fx_engine_swap: swaps in a row
 *  coalesce). On failure @p err (may be NULL) gets a one-line reason; a
 *  chain over the memory budget is named with its cost. */
FxStatus fx_control_swap(FxControl *c, const FxChainSpec *spec, char *err,
                         size_t err_size);

/** Applies @p spec: when its effects, labels and structural parameters
 *  match the running chain, every value glides there; otherwise a swap.
 *  On failure @p err (may be NULL) gets a one-line reason. */
FxStatus fx_control_apply(FxControl *c, const FxChainSpec *spec, char *err,
                          size_t err_size);

void fx_control_mute(FxControl *c, int on);
int fx_control_muted(FxControl *c);
void fx_control_panic(FxControl *c);
void fx_control_reset_state(FxControl *c);
void fx_control_reset_metrics(FxControl *c);
void fx_control_metrics(FxControl *c, FxEngineMetrics *m);
/** Counters only (see fx_engine_counters). */
void fx_control_counters(FxControl *c, FxEngineMetrics *m);
FxEngineConfig fx_control_engine_config(FxControl *c);
/** fx_engine_slot_stats of the engine, with the running chain's spec (for
 *  the slots' labels) in @p spec. */
int fx_control_slot_stats(FxControl *c, FxChainSpec *spec,
                          FxEngineSlotStats *out, int max);
int fx_control_latency(FxControl *c);

/** Tempo in BPM for synced effects (default 120). */
FxStatus fx_control_set_bpm(FxControl *c, double bpm);
double fx_control_bpm(FxControl *c);

/** Meters (see fx_engine_meters). */
int fx_control_meters(FxControl *c, float *peak, float *rms, int max,
                      int *outputs);

/** Barrier: fx_control_sync_point now, fx_control_synced later. */
uint32_t fx_control_sync_point(FxControl *c);
int fx_control_synced(FxControl *c, uint32_t point);

/** Settles knob-to-ear timings (call every few ms). */
void fx_control_poll(FxControl *c);

/** Takes (and clears) what changed. */
void fx_control_take_changes(FxControl *c, FxChanges *out);

/* ---- what persistence (persist.h) reads and marks ------------------------ */

/** The hash of @p spec's canonical text (fx_text_hash), as the state file
 *  records the configured chain's; 0 when out of memory. */
uint64_t fx_chain_hash(const FxChainSpec *spec);

/** Where presets live and the state file (NULL: none), as configured. */
const char *fx_control_preset_dir(const FxControl *c);
const char *fx_control_state_file(const FxControl *c);

/** The chain the options configure (until called: the engine's chain at
 *  fx_control_new). The state file records its hash, and is written again
 *  soon after this call. */
void fx_control_set_config_chain(FxControl *c, const FxChainSpec *configured);

/** What a state file records, taken under the lock. */
typedef struct {
	FxChainSpec spec; ///< the running chain
	double bpm;
	uint64_t config_hash; ///< of the configured chain
	double taken;         ///< when (CLOCK_MONOTONIC seconds)
} FxControlSnapshot;

/** When changes are due for saving (0.25 s after the last change, at most
 *  0.5 s after the first, or now with @p force): fills @p snap, marks them
 *  saved and returns 1. Otherwise 0. */
int fx_control_take_unsaved(FxControl *c, int force, FxControlSnapshot *snap);

/** The save of @p snap failed: the changes are unsaved again and are due
 *  at the next try. */
void fx_control_keep_unsaved(FxControl *c, const FxControlSnapshot *snap);

/* ---- MIDI control (midi.h drives these; FxMidi never holds the engine) ---- */

/** Hands @p table to the engine (fx_engine_set_midi_table); NULL: map
 *  nothing. The engine owns it from now on, also on failure. */
FxStatus fx_control_midi_table(FxControl *c, FxMidiTable *table);

/** Arms (1) or disarms (0) the engine's MIDI learn. */
void fx_control_midi_learn(FxControl *c, int armed);

/** Queues @p size (1..3) bytes for fxd's MIDI output; 1, or 0 when the
 *  queue is full (fx_engine_midi_send). */
int fx_control_midi_send(FxControl *c, const uint8_t *bytes, int size);

/** Takes up to @p max of the worker's MIDI reports, oldest first. */
int fx_control_midi_reports(FxControl *c, FxMidiReport *out, int max);

/** A value the worker already applied to @p r from MIDI, when the staged
 *  count in force was @p applied (FxMidiReport.applied), becomes the
 *  target, marked for feedback and the state file, without staging it
 *  again. Unless it is stale: a value staged (by OSC, a preset...) or a
 *  chain swapped after @p applied is newer, and the MIDI value is then
 *  ignored. Returns 1 when the value was taken, 0 when ignored or refused
 *  (a structural parameter, a parameter the chain lacks). */
int fx_control_note_param(FxControl *c, FxParamRef r, double value,
                          uint32_t applied);

/** Marks the state as changed for the state file (a MIDI mapping was
 *  added or removed). */
void fx_control_mark_unsaved(FxControl *c);

/** What the state file records beyond the chain: @p text returns lines
 *  ("KEY ...\n" each) in a buffer the caller frees, NULL when out of
 *  memory. Called by fx_control_save_state with no lock of the surface
 *  held. NULL @p text: none. */
void fx_control_set_state_hook(FxControl *c, char *(*text)(void *user),
                               void *user);

/** The hook's lines (NULL in *@p out when there is no hook). FX_ERR_NOMEM
 *  when the hook failed. Calls the hook with no lock held. */
FxStatus fx_control_state_extra(FxControl *c, char **out);

#endif

/* SPDX-License-Identifier: ISC */
/* fxd — an ordered chain of effect instances.
 *
 * fx_chain_new allocates everything for any block of up to max_block frames.
 * After that, every function marked "realtime" allocates nothing, takes no
 * lock and makes no system call: the worker calls them per chunk.
 */
#ifndef FX_CHAIN_H
#define FX_CHAIN_H

#include <stdint.h>
#include "dsp/finite.h"
#include "dsp/spec.h"

typedef struct FxChainImpl FxChain;

enum {
	FX_SUBBLOCK = 32, ///< frames between coefficient updates while gliding
};

/** How a chain is built. */
typedef struct {
	double sample_rate; ///< Hz
	int channels;       ///< 1..64
	int max_block;      ///< largest frames per fx_chain_process call
	double glide_ms;    ///< time a parameter takes to reach a new value
	double bypass_ms;   ///< bypass crossfade time
} FxChainConfig;

/** Defaults: 48 kHz, 2 channels, 1024 frames, 20 ms glide, 10 ms bypass. */
FxChainConfig fx_chain_config_default(void);

/** What a chain will take, known before it is built. */
typedef struct {
	size_t bytes; ///< every byte fx_chain_new allocates: the memory budget's measure
	int latency; ///< frames fx_chain_latency will report
} FxChainPlan;

/** Fills @p plan for a chain of @p spec under @p cfg without allocating
 *  anything, or returns the error fx_chain_new would fail with (other
 *  than running out of memory). */
FxStatus fx_chain_plan(const FxChainSpec *spec, const FxChainConfig *cfg,
                       FxChainPlan *plan);

/** Builds a chain from @p spec. Returns NULL and sets @p st on failure,
 *  having released everything it took. Delay lines and other large
 *  buffers live in pages of their own (pages.h), so fx_chain_free gives
 *  them back to the system. */
FxChain *fx_chain_new(const FxChainSpec *spec, const FxChainConfig *cfg,
                      FxStatus *st);

/** Frees @p chain; NULL is a no-op. Not realtime. */
void fx_chain_free(FxChain *chain);

/** Processes @p frames frames of planar audio in place (in blocks of at
 *  most max_block).
 *  Output is always finite: a chunk with NaN or infinity is muted, the
 *  state of every effect is reset and the non-finite counter moves.
 *  Realtime. */
void fx_chain_process(FxChain *chain, float *const *buf, int frames);

/** Sets a parameter's target; it glides there if smoothed. The value is
 *  clamped into range and the clamped value is returned in @p applied
 *  (may be NULL). FX_ERR_STRUCTURAL if it needs a rebuild. Realtime. */
FxStatus fx_chain_set_param(FxChain *chain, int slot, int param, double value,
                            double *applied);

/** The target value of a parameter. Realtime. */
double fx_chain_get_param(const FxChain *chain, int slot, int param);

/** Starts a crossfade into (1) or out of (0) bypass. Realtime. */
FxStatus fx_chain_set_bypass(FxChain *chain, int slot, int bypass);

/** Whether the slot is (heading to) bypassed. */
int fx_chain_get_bypass(const FxChain *chain, int slot);

/** Clears the audio state of every effect; parameters stay. Realtime. */
void fx_chain_reset(FxChain *chain);

/** Sets the glide time for later parameter changes. Realtime. */
void fx_chain_set_glide_ms(FxChain *chain, double ms);

/** Tells every effect the rig's tempo (see FxEffectClass.tempo).
 *  Realtime. */
void fx_chain_set_tempo(FxChain *chain, double bpm);

/** Latency in frames added by the chain (the sum of its effects'). */
int fx_chain_latency(const FxChain *chain);

/** Number of chunks muted because they were not finite: by the chain, and
 *  by effects that mute themselves (FxEffectClass.faults). Realtime. */
uint64_t fx_chain_nonfinite_count(const FxChain *chain);

/** Nanoseconds spent processing @p slot since the chain was built (0 for
 *  no such slot). Only on the thread that processes the chain. */
uint64_t fx_chain_slot_ns(const FxChain *chain, int slot);

/** Chunks @p slot's effect muted itself as not finite (FxEffectClass.faults).
 *  Realtime. */
uint64_t fx_chain_slot_faults(const FxChain *chain, int slot);

/** Writes @p slot's read-only output values (FxEffectClass.outputs) to
 *  @p values; returns how many (0 for an effect without). Realtime, on the
 *  thread that processes the chain. */
int fx_chain_slot_outputs(const FxChain *chain, int slot, float *values);

/** @p slot's effect state beyond its parameters, saved now
 *  (FxEffectClass.save): interned text, or NULL for none. Not realtime;
 *  any thread may call it while another processes the chain, as long as
 *  the chain is not freed meanwhile. */
const char *fx_chain_slot_save(FxChain *chain, int slot);

/** Restarts the effects that muted themselves as not finite and cannot
 *  reset on the realtime path (FxEffectClass.restart: an LV2 plugin),
 *  each in its slot, while another thread may process the chain. Returns
 *  how many, or -1 when one failed (rebuild the chain). Not realtime. */
int fx_chain_restart_muted(FxChain *chain);

/** Whether the chain can be rolled back (fx_chain_rollback): 0 when a
 *  slot's class cannot (FxEffectClass.no_rewind), or when the chain was
 *  reset since the last checkpoint (a chunk muted as not finite, or
 *  fx_chain_reset: delay lines were cleared, which no checkpoint holds).
 *  Realtime. */
int fx_chain_can_rewind(const FxChain *chain);

/** Whether every slot's class can be rolled back, whatever happened
 *  since the last checkpoint: the test before taking one (a checkpoint
 *  after a reset makes fx_chain_can_rewind 1 again). Realtime. */
int fx_chain_rewindable(const FxChain *chain);

/** Saves the state the next fx_chain_process call will change: every
 *  slot's effect state (FxEffectClass.checkpoint) and the chain's own
 *  (parameter values and targets, glide positions, bypass fades, dry
 *  delay positions, the non-finite counter), into space fx_chain_new
 *  allocated (counted in FxChainPlan.bytes). Realtime. */
void fx_chain_checkpoint(FxChain *chain);

/** Puts back the state of the last fx_chain_checkpoint. Processing the
 *  same input then gives, to the bit, what the chain gave after the
 *  checkpoint; parameters set after the rollback take effect as they
 *  would have at the checkpoint. Does nothing unless fx_chain_can_rewind
 *  and a checkpoint was taken. Realtime. */
void fx_chain_rollback(FxChain *chain);

/** Number of slots. */
int fx_chain_slots(const FxChain *chain);

/** The class of a slot. */
const FxEffectClass *fx_chain_slot_class(const FxChain *chain, int slot);

/** The chain's current description (targets, labels, bypass), for saving
 *  or for a rebuild with a structural change. */
void fx_chain_get_spec(const FxChain *chain, FxChainSpec *spec);

/** The configuration the chain was built with. */
FxChainConfig fx_chain_config(const FxChain *chain);

#endif

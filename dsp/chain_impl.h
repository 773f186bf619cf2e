/* SPDX-License-Identifier: ISC */
/* fxd — the chain's private layout, shared by its setup and realtime files.
 * Everything here is owned by the thread that processes the chain, except
 * the non-finite counter, which any thread may read. */
#ifndef FX_CHAIN_IMPL_H
#define FX_CHAIN_IMPL_H

#include <stdatomic.h>
#include "dsp/chain.h"

enum { FX_MAX_CHANNELS = 64 };

/** A parameter on its way to a target, in its glide domain (log(value)
 *  for log-scaled parameters, the value itself otherwise). */
typedef struct {
	double pos, goal, step;
	int remaining; ///< frames left
} Glide;

typedef struct {
	const FxEffectClass *cls;
	void *state;
	int ready; ///< init succeeded, cleanup is due
	char label[FX_LABEL_MAX];
	double values[FX_MAX_PARAMS];  ///< what the effect has now
	double targets[FX_MAX_PARAMS]; ///< where values are heading
	Glide glides[FX_MAX_PARAMS];
	unsigned gliding; ///< bit per parameter in a glide
	int dirty;        ///< values changed: update before next block
	int bypass;       ///< target: 1 bypassed, 0 active
	float wet;        ///< 1 effect fully in, 0 fully bypassed
	/* An effect with latency keeps it when bypassed: its dry path runs
	 * through a delay line as long as that latency, always fed, so the
	 * chain's latency never moves and a bypass fade mixes aligned
	 * signals. */
	int delay; ///< the effect's latency in frames
	/** channels * ring_len, or NULL. A chunk longer than the latency, so
	 *  that rendering a chunk again (fx_chain_rollback) rewrites the same
	 *  region and reads nothing it overwrote. */
	float *ring;
	int ring_len; ///< delay + max_block
	int ring_pos; ///< where the next frame is written
	void *rewind; ///< the effect's checkpoint (FxEffectClass.rewind_size)
	uint64_t ns;  ///< time spent in the slot since the chain was built
	const char *saved; ///< the state it was built from (FxSlotSpec)
} Slot;

/** What fx_chain_checkpoint keeps of a slot beside its effect's state. */
typedef struct {
	double values[FX_MAX_PARAMS];
	double targets[FX_MAX_PARAMS];
	Glide glides[FX_MAX_PARAMS];
	unsigned gliding;
	int dirty, bypass;
	float wet;
	int ring_pos;
} SlotCheckpoint;

struct FxChainImpl {
	FxChainConfig cfg;
	int glide_frames;
	float bypass_step; ///< wet change per frame during a bypass fade
	int n_slots;
	Slot slots[FX_MAX_SLOTS];
	float *dry_mem; ///< channels * max_block, for bypass fades
	float *dry[FX_MAX_CHANNELS];
	_Atomic uint64_t nonfinite; ///< written by the processing thread
	/* Rewind (fx_chain_checkpoint): one allocation holds a SlotCheckpoint
	 * per slot, then each slot's effect checkpoint. */
	void *rewind_mem;
	SlotCheckpoint *saved_slots; ///< [n_slots], in rewind_mem
	uint64_t saved_nonfinite;
	int rewindable;   ///< every slot's class can roll back
	int checkpointed; ///< a checkpoint was taken
	int reset_since;  ///< reset after the checkpoint: cannot roll back
};

#endif

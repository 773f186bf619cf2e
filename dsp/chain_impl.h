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
	int delay;   ///< the effect's latency in frames
	float *ring; ///< channels * delay, or NULL
	int ring_pos;
	uint64_t ns;       ///< time spent in the slot since the chain was built
	const char *saved; ///< the state it was built from (FxSlotSpec)
} Slot;

struct FxChainImpl {
	FxChainConfig cfg;
	int glide_frames;
	float bypass_step; ///< wet change per frame during a bypass fade
	int n_slots;
	Slot slots[FX_MAX_SLOTS];
	float *dry_mem; ///< channels * max_block, for bypass fades
	float *dry[FX_MAX_CHANNELS];
	_Atomic uint64_t nonfinite; ///< written by the processing thread
};

#endif

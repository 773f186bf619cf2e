/* SPDX-License-Identifier: ISC */
/* fxd — knob timing's private layout, shared by its control file and its
 * realtime file. Each field says which thread writes it. */
#ifndef FX_KNOB_TIMING_IMPL_H
#define FX_KNOB_TIMING_IMPL_H

#include <stdatomic.h>

#include "daemon/engine/knob_timing.h"
#include "daemon/engine/queue.h"

enum {
	/* Output periods whose start time the driver remembers: a power of
	 * two. */
	FX_OUT_TIMES = 64,
	FX_APPLY_QUEUE = 64, ///< apply events, worker -> control
};

/** The worker applied every change staged up to @c seq at the start of
 *  chunk @c chunk, at time @c ns. */
typedef struct {
	uint32_t seq, chunk;
	uint64_t ns;
} ApplyEvent;

/** A change being timed from its arrival to the period that plays it. */
typedef struct {
	uint32_t seq;   ///< staged count once it was staged
	uint32_t chunk; ///< the chunk that applied it (when applied)
	int applied;
	uint64_t rx_ns; ///< when its packet arrived
} KnobMark;

struct FxKnobTimingImpl {
	/* Written by the control thread only. */
	KnobMark marks[FX_KNOB_MARKS];
	int n_marks;

	/* Worker -> control. */
	FxQueue *applies; ///< ApplyEvent

	/* Written by the driver thread; the control thread reads
	 * out_seq_last (acquire) before the times it covers. */
	_Atomic uint32_t out_seq_last;         ///< last period output
	_Atomic uint64_t out_ns[FX_OUT_TIMES]; ///< their start times
};

#endif

/* SPDX-License-Identifier: ISC */
/* fxd — knob-to-ear timing: how long a parameter change takes from its
 * message's arrival to the output period that plays it.
 *
 * Three threads meet here, each through its own calls: the control thread
 * marks a change as it is staged and later settles the marks; the worker
 * says which chunk applied which changes; the driver says when each period
 * left. The worker's and the driver's calls are realtime (they only store
 * atomics and push to a queue); they live in knob_timing_process.c.
 */
#ifndef FX_KNOB_TIMING_H
#define FX_KNOB_TIMING_H

#include <stdint.h>

#include "dsp/status.h"

typedef struct FxKnobTimingImpl FxKnobTiming;

enum {
	/** Changes timed at once; more go untimed. */
	FX_KNOB_MARKS = 64,
};

/** A timer with nothing in flight. NULL and @p st set when out of
 *  memory. Not realtime. */
FxKnobTiming *fx_knob_timing_new(FxStatus *st);

/** Frees @p k; NULL is a no-op. */
void fx_knob_timing_free(FxKnobTiming *k);

/* ---- control thread ----------------------------------------------------- */

/** Starts timing a change that arrived at @p rx_ns (CLOCK_MONOTONIC) and
 *  is in force once the worker has applied staged count @p staged. */
void fx_knob_timing_mark(FxKnobTiming *k, uint32_t staged, uint64_t rx_ns);

/** Settles the marks at time @p now_ns: each change heard by now gives
 *  its arrival-to-output time in @p heard_ns (room for FX_KNOB_MARKS),
 *  and is done with; one still unheard after 2 s is dropped. Returns the
 *  times written. */
int fx_knob_timing_settle(FxKnobTiming *k, uint64_t now_ns, uint64_t *heard_ns);

/** Forgets every mark (period numbers start again after a period change).
 *  Only while the driver and the worker stand still. */
void fx_knob_timing_forget(FxKnobTiming *k);

/* ---- realtime ----------------------------------------------------------- */

/** Worker: the chunk of period @p chunk, started at @p ns, applied every
 *  change up to staged count @p staged. */
void fx_knob_timing_applied(FxKnobTiming *k, uint32_t staged, uint32_t chunk,
                            uint64_t ns);

/** Driver: the output of period @p period left at @p start_ns. */
void fx_knob_timing_played(FxKnobTiming *k, uint32_t period, uint64_t start_ns);

#endif

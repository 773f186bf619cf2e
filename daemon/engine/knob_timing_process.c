/* SPDX-License-Identifier: ISC */
/* Knob timing's realtime side: the worker's chunk path and the driver's
 * period. Atomic stores and one queue push; nothing blocks. */
#include "daemon/engine/knob_timing_impl.h"

void fx_knob_timing_applied(FxKnobTiming *k, uint32_t staged, uint32_t chunk,
                            uint64_t ns)
{
	ApplyEvent ev = {staged, chunk, ns};
	fx_queue_push(k->applies, &ev); /* refused when nobody reads: fine */
}

void fx_knob_timing_played(FxKnobTiming *k, uint32_t period, uint64_t start_ns)
{
	atomic_store_explicit(&k->out_ns[period % FX_OUT_TIMES], start_ns,
	                      memory_order_relaxed);
	atomic_store_explicit(&k->out_seq_last, period, memory_order_release);
}

/* SPDX-License-Identifier: ISC */
/* Knob timing's setup and control side: never realtime. */
#include "daemon/engine/knob_timing_impl.h"

#include <stdlib.h>

/* A change no audio plays within this long is dropped untimed. */
static const uint64_t UNHEARD_NS = 2000000000u;

FxKnobTiming *fx_knob_timing_new(FxStatus *st)
{
	FxKnobTiming *k = calloc(1, sizeof *k);
	if (!k) {
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	k->applies = fx_queue_new(sizeof(ApplyEvent), FX_APPLY_QUEUE, st);
	if (!k->applies) {
		free(k);
		return NULL;
	}
	return k;
}

void fx_knob_timing_free(FxKnobTiming *k)
{
	if (!k)
		return;
	fx_queue_free(k->applies);
	free(k);
}

void fx_knob_timing_mark(FxKnobTiming *k, uint32_t staged, uint64_t rx_ns)
{
	if (k->n_marks == FX_KNOB_MARKS)
		return; /* enough in flight: this one goes untimed */
	k->marks[k->n_marks++] = (KnobMark){.seq = staged, .rx_ns = rx_ns};
}

/* Which chunk applied each mark, from the worker's events. */
static void take_applies(FxKnobTiming *k)
{
	ApplyEvent ev;
	while (fx_queue_pop(k->applies, &ev))
		for (int i = 0; i < k->n_marks; i++) {
			KnobMark *m = &k->marks[i];
			if (!m->applied && (int32_t)(ev.seq - m->seq) >= 0) {
				m->applied = 1;
				m->chunk = ev.chunk;
			}
		}
}

int fx_knob_timing_settle(FxKnobTiming *k, uint64_t now_ns, uint64_t *heard_ns)
{
	take_applies(k);
	uint32_t last = atomic_load_explicit(&k->out_seq_last,
	                                     memory_order_acquire);
	int kept = 0, heard = 0;
	for (int i = 0; i < k->n_marks; i++) {
		KnobMark *m = &k->marks[i];
		int32_t age = (int32_t)(last - m->chunk);
		if (!m->applied || age < 0) {
			/* Not heard yet; a change no audio plays is dropped. */
			if (now_ns - m->rx_ns < UNHEARD_NS)
				k->marks[kept++] = *m;
			continue;
		}
		if (age >= FX_OUT_TIMES / 2)
			continue; /* its period's time is written over by now */
		uint64_t t = atomic_load_explicit(
			&k->out_ns[m->chunk % FX_OUT_TIMES],
			memory_order_relaxed);
		/* Read again after the time: the driver did not lap it
		 * meanwhile. */
		uint32_t again = atomic_load_explicit(&k->out_seq_last,
		                                      memory_order_acquire);
		if ((int32_t)(again - m->chunk) < FX_OUT_TIMES)
			heard_ns[heard++] = t > m->rx_ns ? t - m->rx_ns : 0;
	}
	k->n_marks = kept;
	return heard;
}

void fx_knob_timing_forget(FxKnobTiming *k)
{
	k->n_marks = 0;
}

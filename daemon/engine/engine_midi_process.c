/* SPDX-License-Identifier: ISC */
/* The worker's MIDI: a period's events are mapped and each change applied
 * at its own frame, by running the chain up to that frame first. No
 * allocation, locks or logging; every loop is bounded by a queue's or a
 * table's size. */
#include "daemon/engine/engine_impl.h"

#include <string.h>

static void report(FxEngine *e, const FxMidiReport *r)
{
	if (!fx_queue_push(e->midi_reports, r))
		atomic_fetch_add_explicit(&e->midi_reports_dropped, 1,
		                          memory_order_relaxed);
}

void fx_engine_take_midi_tables(FxEngine *e)
{
	FxMidiTable *t;
	while (fx_queue_pop(e->midi_tables, &t)) {
		/* The retired queue has room: see fx_engine_set_midi_table. */
		if (e->midi_table)
			fx_queue_push(e->midi_retired, &e->midi_table);
		e->midi_table = t;
	}
}

int fx_engine_take_midi(FxEngine *e, uint32_t chunk)
{
	FxMidiEvent head, skip;
	while (fx_queue_peek(e->midi_in, &head)) {
		int32_t age = (int32_t)(chunk - head.frame);
		if (age < 0)
			return 0; /* for a later chunk */
		fx_queue_pop(e->midi_in, &head);
		int n = head.size;
		for (int i = 0; i < n; i++)
			fx_queue_pop(e->midi_in,
			             age == 0 ? &e->midi_buf[i] : &skip);
		if (age == 0)
			return n;
		/* An older period whose audio never came in: dropped. */
	}
	return 0;
}

/* Runs the chain over frames [from, to) of the chunk. */
static void run_span(FxEngine *e, int from, int to)
{
	if (to <= from)
		return;
	float *span[FX_ENGINE_MAX_PORTS];
	for (int c = 0; c < e->cfg.channels; c++)
		span[c] = e->ch_buf[c] + from;
	fx_chain_process(e->chain, span, to - from);
}

/* A value for the chain, kept to be reported once at the chunk's end. */
static void keep_value(FxEngine *e, int index, double value, int mapping)
{
	e->midi_dirty[index / 64] |= 1ull << (index % 64);
	e->midi_value[index] = value;
	e->midi_mapping[index] = mapping;
}

/* Applies one action to the chain (1) or reports it (0). */
static int apply(FxEngine *e, const FxMidiAction *a, uint64_t frame)
{
	const FxMidiEntry *en = a->entry;
	switch (en->to) {
	case FX_MIDI_TO_PARAM: {
		double v = a->value;
		if (fx_chain_set_param(e->chain, en->slot, en->param, a->value,
		                       &v) != FX_OK)
			return 0;
		keep_value(e, fx_param_index((FxParamRef){en->slot, en->param}),
		           v, en->mapping);
		return 1;
	}
	case FX_MIDI_TO_BYPASS:
		fx_chain_set_bypass(e->chain, en->slot, a->value != 0.0);
		keep_value(e,
		           fx_param_index((FxParamRef){en->slot, FX_PARAM_BYPASS}),
		           a->value != 0.0, en->mapping);
		return 1;
	case FX_MIDI_TO_MORPH: {
		const FxMorph *m = e->midi_table->morph;
		for (int i = 0; i < fx_morph_count(m); i++) {
			int slot, param;
			double v;
			fx_morph_value(m, i, a->value, &slot, &param, &v);
			if (param >= FX_MAX_PARAMS)
				fx_chain_set_bypass(e->chain, slot, v != 0.0);
			else
				fx_chain_set_param(e->chain, slot, param, v,
				                   NULL);
		}
		e->morph_moved = 1;
		e->morph_pos = a->value;
		e->morph_mapping = en->mapping;
		return 1;
	}
	default:
		break;
	}
	/* Taps, panic, mute, presets: the control thread acts on them. */
	static const FxMidiReportKind KIND[FX_MIDI_TO_COUNT] = {
		[FX_MIDI_TO_TAP] = FX_MIDI_REPORT_TAP,
		[FX_MIDI_TO_PANIC] = FX_MIDI_REPORT_PANIC,
		[FX_MIDI_TO_MUTE] = FX_MIDI_REPORT_MUTE,
		[FX_MIDI_TO_PRESET] = FX_MIDI_REPORT_PROGRAM,
	};
	report(e, &(FxMidiReport){.kind = KIND[en->to],
	                          .mapping = en->mapping,
	                          .frame = frame,
	                          .value = a->value});
	return 0;
}

/* Clock, start and stop, for the tempo. */
static void realtime_message(FxEngine *e, const FxMidiMessage *msg, uint64_t frame)
{
	static const FxMidiReportKind KIND[8] = {
		[0] = FX_MIDI_REPORT_CLOCK, /* 0xF8 */
		[2] = FX_MIDI_REPORT_START, /* 0xFA */
		[3] = FX_MIDI_REPORT_START, /* 0xFB: continue */
		[4] = FX_MIDI_REPORT_STOP,  /* 0xFC */
	};
	int i = msg->status - 0xF8;
	if (i == 0 || (i >= 2 && i <= 4))
		report(e, &(FxMidiReport){.kind = KIND[i],
		                          .mapping = -1,
		                          .frame = frame});
}

/* MIDI learn: the first CC or note on while armed. */
static void learn(FxEngine *e, const FxMidiMessage *msg)
{
	int cc = msg->status == 0xB0;
	int note = msg->status == 0x90 && msg->d2 > 0;
	if ((!cc && !note) ||
	    !atomic_load_explicit(&e->midi_learn, memory_order_relaxed) ||
	    !atomic_exchange_explicit(&e->midi_learn, 0, memory_order_acq_rel))
		return;
	report(e, &(FxMidiReport){.kind = FX_MIDI_REPORT_LEARN,
	                          .source = cc ? FX_MIDI_SRC_CC : FX_MIDI_SRC_NOTE,
	                          .channel = msg->channel,
	                          .number = msg->d1,
	                          .mapping = -1});
}

/* Reports each value MIDI set in this chunk once, its last. */
static void report_values(FxEngine *e, uint64_t frame)
{
	for (int w = 0; w < FX_STAGE_WORDS; w++) {
		for (uint64_t bits = e->midi_dirty[w]; bits; bits &= bits - 1) {
			int i = w * 64 + __builtin_ctzll(bits);
			report(e, &(FxMidiReport){.kind = FX_MIDI_REPORT_PARAM,
			                          .mapping = e->midi_mapping[i],
			                          .param = i,
			                          .applied = e->applied,
			                          .frame = frame,
			                          .value = e->midi_value[i]});
		}
		e->midi_dirty[w] = 0;
	}
	if (e->morph_moved)
		report(e, &(FxMidiReport){.kind = FX_MIDI_REPORT_MORPH,
		                          .mapping = e->morph_mapping,
		                          .applied = e->applied,
		                          .frame = frame,
		                          .value = e->morph_pos});
	e->morph_moved = 0;
}

void fx_engine_run_chain_midi(FxEngine *e, int n, uint32_t chunk, int frames)
{
	int done = 0, first = -1;
	for (int i = 0; i < n; i++) {
		const FxMidiEvent *ev = &e->midi_buf[i];
		FxMidiMessage msg;
		if (!fx_midi_decode(&e->midi_stream, ev->data, ev->size, &msg))
			continue;
		/* Out of order or past the period: as soon as it can be. */
		int f = ev->frame < (uint32_t)frames ? (int)ev->frame
		                                     : frames - 1;
		f = f < done ? done : f;
		uint64_t at = e->frames_in + (uint64_t)f;
		if (msg.status >= 0xF8) {
			realtime_message(e, &msg, at);
			continue;
		}
		learn(e, &msg);
		if (!e->midi_table)
			continue;
		int k = fx_midi_table_map(e->midi_table, &e->midi_stream, &msg,
		                          e->chain, e->midi_actions,
		                          FX_MIDI_MAX_MAPPINGS);
		for (int j = 0; j < k; j++) {
			const FxMidiAction *a = &e->midi_actions[j];
			int to = a->entry->to;
			if (to == FX_MIDI_TO_PARAM || to == FX_MIDI_TO_BYPASS ||
			    to == FX_MIDI_TO_MORPH) {
				/* What came before the event, as it was. */
				run_span(e, done, f);
				done = f;
			}
			if (apply(e, a, at) && first < 0)
				first = f;
		}
	}
	run_span(e, done, frames);
	if (first >= 0) {
		MidiHeard h = {chunk, (uint32_t)first};
		fx_queue_push(e->midi_heard, &h); /* full: that one goes untimed */
	}
	report_values(e, e->frames_in + (uint64_t)frames);
	e->frames_in += (uint64_t)frames;
}

/* SPDX-License-Identifier: ISC */
/* MIDI decoding and mapping for the worker: no allocation, locks or
 * system calls; every loop is bounded by the table's size. */
#include "daemon/engine/midi_map_impl.h"

#include <math.h>

/* Data bytes after each channel status (0x80 .. 0xE0, by its high nibble
 * less 8). */
static const uint8_t DATA_BYTES[7] = {2, 2, 2, 2, 1, 1, 2};

int fx_midi_decode(FxMidiStream *s, const uint8_t *data, int size,
                   FxMidiMessage *msg)
{
	if (size < 1)
		return 0;
	uint8_t b0 = data[0];
	if (b0 >= 0xF8) { /* realtime: clock, start, stop...; one byte */
		*msg = (FxMidiMessage){.status = b0};
		return size == 1;
	}
	if (b0 >= 0xF0) { /* SysEx or system common: ends running status */
		s->running = 0;
		return 0;
	}
	int off = 0;
	if (b0 & 0x80) {
		s->running = b0;
		off = 1;
	} else if (!s->running) {
		return 0; /* stray data byte */
	}
	uint8_t status = s->running;
	int want = DATA_BYTES[(status >> 4) - 8];
	if (size - off != want)
		return 0; /* truncated, or more than one message */
	for (int i = off; i < size; i++)
		if (data[i] & 0x80)
			return 0;
	*msg = (FxMidiMessage){
		.status = status & 0xF0,
		.channel = status & 0x0F,
		.d1 = data[off],
		.d2 = want > 1 ? data[off + 1] : 0,
	};
	return 1;
}

/* What a control did: moved to x (0..1), and whether it was pressed or
 * released. A note or a program is pressed each time it comes; a
 * continuous control (level: 1) is pressed when it crosses its middle
 * upwards and released when it falls back. */
typedef struct {
	double x;
	int press, release;
	int level;
} Input;

/* The bits of an entry's `held` byte. */
enum { HELD_DOWN = 1, HELD_ON = 2 };

/* A position along the entry's range; the ends are exact. */
static double along(const FxMidiEntry *e, double x)
{
	if (x <= 0.0)
		x = 0.0;
	if (x >= 1.0)
		x = 1.0;
	double v;
	if (x == 0.0 || x == 1.0)
		v = x == 0.0 ? e->lo : e->hi;
	else if (e->curve == FX_MIDI_CURVE_LOG)
		v = e->lo * pow(e->hi / e->lo, x);
	else
		v = e->lo + (e->hi - e->lo) * x;
	return e->curve == FX_MIDI_CURVE_NORM ? fx_param_from_norm(e->info, v)
	                                      : v;
}

/* The value now, for a toggle to flip away from. */
static double current(const FxMidiTable *t, const FxMidiEntry *e,
                      const FxChain *chain)
{
	if (e->to == FX_MIDI_TO_PARAM)
		return fx_chain_get_param(chain, e->slot, e->param);
	if (e->to == FX_MIDI_TO_BYPASS)
		return fx_chain_get_bypass(chain, e->slot);
	return t->held[e - t->entries] & HELD_ON ? along(e, 1.0) : along(e, 0.0);
}

/* Targets that act once per press rather than take a value. */
static int is_trigger(FxMidiTo to)
{
	return to == FX_MIDI_TO_TAP || to == FX_MIDI_TO_PANIC ||
	       to == FX_MIDI_TO_PRESET;
}

/* The value @p in gives @p e; 0 when it asks for nothing. */
static int act(FxMidiTable *t, const FxMidiEntry *e, Input in,
               const FxChain *chain, double *value)
{
	uint8_t *held = &t->held[e - t->entries];
	if (in.level) {
		int down = (*held & HELD_DOWN) != 0;
		in.press = in.press && !down;
		in.release = in.release && down;
	}
	if (in.press)
		*held |= HELD_DOWN;
	if (in.release)
		*held &= (uint8_t)~HELD_DOWN;
	if (e->invert)
		in.x = 1.0 - in.x;
	if (is_trigger(e->to)) {
		*value = 1.0;
		return in.press;
	}
	switch (e->mode) {
	case FX_MIDI_MODE_TOGGLE: {
		if (!in.press)
			return 0;
		double lo = along(e, 0.0), hi = along(e, 1.0);
		double now = current(t, e, chain);
		*value = fabs(now - hi) < fabs(now - lo) ? lo : hi;
		*held = (uint8_t)((*held & HELD_DOWN) |
		                  (*value == hi ? HELD_ON : 0));
		return 1;
	}
	case FX_MIDI_MODE_MOMENTARY:
		if (!in.press && !in.release)
			return 0;
		*value = along(e, in.press ^ e->invert ? 1.0 : 0.0);
		return 1;
	default:
		*value = along(e, in.x);
		if (e->to == FX_MIDI_TO_BYPASS || e->to == FX_MIDI_TO_MUTE)
			*value = in.x >= 0.5 ? along(e, 1.0) : along(e, 0.0);
		return 1;
	}
}

static int visit(FxMidiTable *t, FxMidiSource src, int ch, int num, Input in,
                 const FxChain *chain, FxMidiAction *out, int n, int max)
{
	for (int l = t->first[src][ch][num]; l != FX_MIDI_NO_LINK && n < max;
	     l = t->links[l].next) {
		const FxMidiEntry *e = &t->entries[t->links[l].entry];
		double v;
		if (act(t, e, in, chain, &v))
			out[n++] = (FxMidiAction){e, v};
	}
	return n;
}

int fx_midi_table_map(FxMidiTable *t, FxMidiStream *s, const FxMidiMessage *msg,
                      const FxChain *chain, FxMidiAction *out, int max)
{
	int ch = msg->channel, n = 0;
	switch (msg->status) {
	case 0xB0: { /* control change */
		int num = msg->d1, val = msg->d2;
		Input in = {val / 127.0, val >= 64, val < 64, 1};
		n = visit(t, FX_MIDI_SRC_CC, ch, num, in, chain, out, n, max);
		if (num < 32) { /* a 14-bit pair's MSB: LSB 0 until it comes */
			s->msb[ch][num] = (uint8_t)val;
			Input fine = {(val << 7) / 16383.0, val >= 64, val < 64,
			              1};
			n = visit(t, FX_MIDI_SRC_CC14, ch, num, fine, chain,
			          out, n, max);
		} else if (num < 64) {
			int v14 = s->msb[ch][num - 32] << 7 | val;
			Input fine = {v14 / 16383.0, v14 >= 8192, v14 < 8192, 1};
			n = visit(t, FX_MIDI_SRC_CC14, ch, num - 32, fine,
			          chain, out, n, max);
		}
		return n;
	}
	case 0x90:
	case 0x80: {
		int on = msg->status == 0x90 && msg->d2 > 0;
		Input in = {on ? 1.0 : 0.0, on, !on, 0};
		return visit(t, FX_MIDI_SRC_NOTE, ch, msg->d1, in, chain, out,
		             n, max);
	}
	case 0xC0: {
		Input in = {1.0, 1, 0, 0};
		return visit(t, FX_MIDI_SRC_PROGRAM, ch, msg->d1, in, chain,
		             out, n, max);
	}
	case 0xE0: {
		int v14 = msg->d2 << 7 | msg->d1;
		Input in = {v14 / 16383.0, v14 >= 8192, v14 < 8192, 1};
		return visit(t, FX_MIDI_SRC_BEND, ch, 0, in, chain, out, n, max);
	}
	default:
		return 0;
	}
}

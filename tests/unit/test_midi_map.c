/* SPDX-License-Identifier: ISC */
/* MIDI mappings as text, and the engine's MIDI path driven by a fake
 * driver: each mapped change lands at its event's frame, exactly the
 * latency later; bad input maps to nothing and leaves the audio exact. */
#include "tests/fxtest.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/engine/engine.h"
#include "daemon/engine/midi_map.h"

/* ---- text ------------------------------------------------------------------- */

static const struct {
	const char *line;
	const char *canonical; ///< what format writes back
} GOOD[] = {
	{"cc 1 7 = /fx/vol/db -30 0", "cc 1 7 = /fx/vol/db -30 0"},
	{"cc * 74=/fx/lpf/cutoff/norm", "cc * 74 = /fx/lpf/cutoff/norm"},
	{"cc14 16 1 = /fx/lpf/cutoff invert", "cc14 16 1 = /fx/lpf/cutoff invert"},
	{"note 10 36 = /fx/vol/bypass toggle",
         "note 10 36 = /fx/vol/bypass toggle"},
	{"note 1 60 = /fxd/tap", "note 1 60 = /fxd/tap toggle"},
	{"note 2 61 = /fx/0/db -20 0 momentary",
         "note 2 61 = /fx/0/db -20 0 momentary"},
	{"program 1 3 = preset verse", "program 1 3 = preset verse"},
	{"bend 1 = /fxd/morph", "bend 1 = /fxd/morph"},
};

START_TEST(good_lines_read_back_as_written)
{
	FxMidiMapping m, again;
	char err[256], text[256];
	ck_assert_int_eq(
		fx_midi_mapping_parse(GOOD[_i].line, &m, NULL, err, sizeof err),
		FX_OK);
	fx_midi_mapping_format(&m, text, sizeof text);
	ck_assert_str_eq(text, GOOD[_i].canonical);
	ck_assert_int_eq(
		fx_midi_mapping_parse(text, &again, NULL, err, sizeof err),
		FX_OK);
	fx_midi_mapping_format(&again, err, sizeof err);
	ck_assert_str_eq(err, text);
}
END_TEST

static const struct {
	const char *line;
	int col;
	const char *reason; ///< a part of the message
} BAD[] = {
	{"knob 1 7 = /fx/vol/db", 1, "expected cc"},
	{"cc 17 7 = /fx/vol/db", 4, "channel must be 1 to 16"},
	{"cc 0 7 = /fx/vol/db", 4, "channel"},
	{"cc 1 128 = /fx/vol/db", 6, "0 to 127"},
	{"cc14 1 32 = /fx/vol/db", 8, "0 to 31"},
	{"cc 1 7 /fx/vol/db", 8, "expected '='"},
	{"cc 1 7 = fx/vol/db", 10, "target address"},
	{"cc 1 7 = /fx/vol/db -30", 24, "MAX"},
	{"cc 1 7 = /fx/vol/db -30 0 sideways", 27, "invert"},
	{"program 1 3 = verse", 15, "preset NAME"},
	{"bend 1 = /fx/vol/db momentary", 21, "for notes"},
	{"cc 1 7 =", 9, "target"},
};

START_TEST(bad_lines_name_their_column)
{
	FxMidiMapping m;
	char err[256];
	int col = -1;
	ck_assert_int_ne(
		fx_midi_mapping_parse(BAD[_i].line, &m, &col, err, sizeof err),
		FX_OK);
	ck_assert_msg(strstr(err, BAD[_i].reason), "'%s': %s", BAD[_i].line, err);
	ck_assert_int_eq(col, BAD[_i].col);
}
END_TEST

START_TEST(targets_are_checked_against_the_chain)
{
	FxChainSpec spec = fx_test_spec("lpf:lowpass cutoff=1000 | vol:gain db=0");
	static const struct {
		const char *line;
		const char *reason; ///< NULL: accepted
	} CASES[] = {
		{"cc 1 7 = /fx/vol/db", NULL},
		{"cc 1 7 = /fx/1/db -20 0", NULL},
		{"cc 1 7 = /fx/lpf/cutoff/norm 0.2 0.8", NULL},
		{"cc 1 7 = /fx/rev/db", "no slot 'rev'"},
		{"cc 1 7 = /fx/lpf/cutof", "did you mean 'cutoff'"},
		{"cc 1 7 = /fx/vol/db -200 0", "must lie in"},
		{"cc 1 7 = /fx/lpf/order", "rebuilds the chain"},
		{"cc 1 7 = /fx/lpf/cutoff/fine", "only /norm"},
		{"cc 1 7 = /fxd/morph", NULL},
		{"note 1 1 = /fx/lpf/bypass", NULL},
		{"program 1 1 = preset anything", NULL},
	};
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
		FxMidiMapping m;
		char err[256] = "";
		ck_assert_int_eq(fx_midi_mapping_parse(CASES[i].line, &m, NULL,
		                                       err, sizeof err),
		                 FX_OK);
		FxStatus st = fx_midi_mapping_check(&m, &spec, err, sizeof err);
		if (!CASES[i].reason)
			ck_assert_msg(st == FX_OK, "%s: %s", CASES[i].line, err);
		else
			ck_assert_msg(st != FX_OK && strstr(err, CASES[i].reason),
			              "%s: %s", CASES[i].line, err);
	}
}
END_TEST

/* ---- the engine -------------------------------------------------------------- */

enum { MAXP = 1024, CH = 2, SIGNAL_LEVEL = 1 };
static const float SIGNAL = 0.5f; /* every sample non-zero */

typedef struct {
	FxEngine *e;
	int period;
	float in[CH][MAXP], out[CH][MAXP];
	const float *inp[CH];
	float *outp[CH];
	float *heard; ///< every output sample of channel 0, in order
	long n_heard, cap;
} Rig;

static Rig *rig_new(int period, int latency, double glide_ms, const char *chain,
                    const char *const *maps, int n_maps)
{
	Rig *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	FxEngineConfig cfg = fx_test_engine_config(period);
	cfg.latency_periods = latency;
	cfg.glide_ms = glide_ms;
	FxChainSpec spec = fx_test_spec(chain);
	FxStatus st;
	r->e = fx_engine_new(&cfg, &spec, &st);
	ck_assert_msg(r->e, "fx_engine_new: %s", fx_strerror(st));
	r->period = period;
	for (int c = 0; c < CH; c++) {
		r->inp[c] = r->in[c];
		r->outp[c] = r->out[c];
		for (int i = 0; i < MAXP; i++)
			r->in[c][i] = SIGNAL;
	}
	FxMidiMapping m[16];
	for (int i = 0; i < n_maps; i++) {
		char err[256];
		ck_assert_msg(fx_midi_mapping_parse(maps[i], &m[i], NULL, err,
		                                    sizeof err) == FX_OK,
		              "%s: %s", maps[i], err);
	}
	if (n_maps) {
		FxMidiTable *t = fx_midi_table_new(m, n_maps, &spec, NULL, &st);
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(fx_midi_table_size(t), n_maps);
		ck_assert_int_eq(fx_engine_set_midi_table(r->e, t), FX_OK);
	}
	r->cap = 64 * MAXP;
	r->heard = calloc((size_t)r->cap, sizeof *r->heard);
	return r;
}

static void rig_free(Rig *r)
{
	fx_engine_free(r->e);
	free(r->heard);
	free(r);
}

/* One period with @p n events: driver, then the worker's chunk. */
static void period(Rig *r, const FxMidiEvent *ev, int n)
{
	fx_engine_midi_in(r->e, ev, n);
	fx_engine_process(r->e, r->inp, r->outp, r->period);
	fx_engine_work(r->e);
	for (int i = 0; i < r->period && r->n_heard < r->cap; i++)
		r->heard[r->n_heard++] = r->out[0][i];
}

static FxMidiEvent cc(int frame, int ch, int num, int val)
{
	return (FxMidiEvent){(uint32_t)frame,
	                     3,
	                     {(uint8_t)(0xB0 | ch), (uint8_t)num, (uint8_t)val}};
}

/* The first output frame that is not the untouched signal, or -1. */
static long first_changed(const Rig *r, long from)
{
	for (long i = from; i < r->n_heard; i++)
		if (r->heard[i] != SIGNAL)
			return i;
	return -1;
}

static const int PERIODS[] = {64, 256, 1024};

/* A CC at frame f of period k starts the change at frame f of the period
 * that plays chunk k: exactly the latency later, to the frame. */
START_TEST(a_cc_lands_at_its_frame_exactly_the_latency_later)
{
	int p = PERIODS[_i / 3];
	int offsets[3] = {0, 1, p - 1};
	int f = offsets[_i % 3];
	const char *maps[] = {"cc 1 7 = /fx/vol/db -60 0"};
	for (int latency = 1; latency <= 2; latency++) {
		Rig *r = rig_new(p, latency, 20, "vol:gain db=0", maps, 1);
		long k = 3;
		for (long q = 0; q < 12; q++) {
			FxMidiEvent ev = cc(f, 0, 7, 0);
			period(r, &ev, q == k ? 1 : 0);
		}
		long at = first_changed(r, latency * p);
		ck_assert_int_eq(at, (k + latency) * p + f);
		ck_assert_int_eq(fx_engine_latency(r->e), latency * p);
		/* The glide goes down from there, and only down. */
		ck_assert(r->heard[at] < SIGNAL);
		ck_assert(r->heard[at + 1] < r->heard[at] ||
		          r->heard[at + 1] == r->heard[at]);
		FxEngineMetrics m;
		fx_engine_metrics(r->e, &m);
		ck_assert_uint_eq(m.midi_events, 1);
		ck_assert_uint_eq(m.midi_frames.count, 1);
		ck_assert_double_eq(m.midi_frames.max, latency * p);
		FxMidiReport rep[8];
		int n = fx_engine_midi_reports(r->e, rep, 8);
		ck_assert_int_eq(n, 1);
		ck_assert_int_eq(rep[0].kind, FX_MIDI_REPORT_PARAM);
		ck_assert_int_eq(rep[0].param,
		                 fx_param_index((FxParamRef){0, 0}));
		ck_assert_double_eq(rep[0].value, -60);
		rig_free(r);
	}
}
END_TEST

/* Without glide each change starts at its frame: two CCs in one period
 * make two changes, each reaching its value on the dB scale. (gain ramps
 * each change over the span to the next event.) */
START_TEST(two_ccs_in_one_period_change_at_their_frames)
{
	const char *maps[] = {"cc 1 7 = /fx/vol/db -20 0"};
	Rig *r = rig_new(256, 1, 0, "vol:gain db=0", maps, 1);
	FxMidiEvent ev[2] = {cc(10, 0, 7, 0), cc(200, 0, 7, 127)};
	period(r, NULL, 0);
	period(r, ev, 2);
	period(r, NULL, 0);
	period(r, NULL, 0);
	const float *o = r->heard + 2 * 256; /* chunk 1 plays in period 2 */
	float quiet = SIGNAL * (float)pow(10.0, -20 / 20.0);
	for (int i = 0; i < 10; i++)
		ck_assert_float_eq(o[i], SIGNAL);
	ck_assert(o[10] < SIGNAL);
	ck_assert_float_eq_tol(o[199], quiet, 1e-6f);
	ck_assert(o[200] > quiet);
	ck_assert_float_eq_tol(o[255], SIGNAL, 1e-6f);
	for (int i = 256; i < 512; i++)
		ck_assert_float_eq(o[i], SIGNAL);
	rig_free(r);
}
END_TEST

/* One control drives three parameters. */
START_TEST(one_cc_drives_three_parameters)
{
	const char *maps[] = {
		"cc * 1 = /fx/a/db -40 0",
		"cc * 1 = /fx/b/db 0 -40",
		"cc * 1 = /fx/c/bypass",
	};
	Rig *r = rig_new(64, 1, 0, "a:gain | b:gain | c:gain db=-6", maps, 3);
	FxMidiEvent ev = cc(5, 9, 1, 127);
	period(r, &ev, 1);
	period(r, NULL, 0);
	FxMidiReport rep[8];
	int n = fx_engine_midi_reports(r->e, rep, 8);
	ck_assert_int_eq(n, 3);
	double got[3] = {NAN, NAN, NAN};
	for (int i = 0; i < n; i++) {
		FxParamRef p = fx_param_at(rep[i].param);
		got[p.slot] = rep[i].value;
		ck_assert_int_eq(rep[i].mapping, p.slot);
	}
	ck_assert_double_eq(got[0], 0);
	ck_assert_double_eq(got[1], -40);
	ck_assert_double_eq(got[2], 1);
	rig_free(r);
}
END_TEST

/* Notes: a toggle flips bypass on each press; a momentary holds. */
START_TEST(notes_toggle_and_hold)
{
	const char *maps[] = {
		"note 1 36 = /fx/a/bypass toggle",
		"note 1 37 = /fx/b/db -30 0 momentary",
	};
	Rig *r = rig_new(64, 1, 0, "a:gain | b:gain", maps, 2);
	FxMidiEvent on36 = {0, 3, {0x90, 36, 100}}, off36 = {1, 3, {0x80, 36, 0}};
	FxMidiEvent on37 = {0, 3, {0x90, 37, 100}}, off37 = {1, 3, {0x90, 37, 0}};
	static const struct {
		int which;     ///< 0: 36 on+off, 1: 37 on, 2: 37 off
		double bypass; ///< slot a's bypass after
		double db;     ///< slot b's target after
	} STEPS[] = {{0, 1, 0}, {1, 1, 0}, {0, 0, 0}, {2, 0, -30}};
	for (size_t s = 0; s < sizeof STEPS / sizeof STEPS[0]; s++) {
		FxMidiEvent ev[2] = {on36, off36};
		int n = 2;
		if (STEPS[s].which == 1) {
			ev[0] = on37;
			n = 1;
		} else if (STEPS[s].which == 2) {
			ev[0] = off37;
			n = 1;
		}
		period(r, ev, n);
		FxMidiReport rep[8];
		int k = fx_engine_midi_reports(r->e, rep, 8);
		ck_assert_int_eq(k, 1);
		if (STEPS[s].which == 0)
			ck_assert_double_eq(rep[0].value, STEPS[s].bypass);
		else
			ck_assert_double_eq(rep[0].value,
			                    STEPS[s].which == 1 ? 0 : -30);
	}
	rig_free(r);
}
END_TEST

/* 14-bit CC and bend cover their range finely; the MSB comes first. */
START_TEST(fourteen_bit_controls_are_fine)
{
	const char *maps[] = {
		"cc14 1 1 = /fx/a/db -60 0",
		"bend 2 = /fx/b/db -60 0",
	};
	Rig *r = rig_new(64, 1, 0, "a:gain | b:gain", maps, 2);
	FxMidiEvent ev[3] = {
		cc(0, 0, 1, 64),            /* MSB: 8192 / 16383 */
		cc(1, 0, 33, 1),            /* LSB: 8193 / 16383 */
		{2, 3, {0xE1, 0x7f, 0x7f}}, /* bend fully up */
	};
	period(r, ev, 3);
	FxMidiReport rep[8];
	int n = fx_engine_midi_reports(r->e, rep, 8);
	ck_assert_int_eq(n, 2);
	for (int i = 0; i < n; i++) {
		FxParamRef p = fx_param_at(rep[i].param);
		double want = p.slot == 0 ? -60 + 60 * 8193 / 16383.0 : 0;
		ck_assert_double_eq_tol(rep[i].value, want, 1e-9);
	}
	rig_free(r);
}
END_TEST

/* Running status, SysEx of any length, truncated messages, unmapped
 * channels and stray bytes: each maps to what it is, or to nothing. */
START_TEST(bad_input_maps_to_nothing_and_leaves_audio_exact)
{
	const char *maps[] = {"cc 1 7 = /fx/vol/db -60 0"};
	Rig *r = rig_new(256, 1, 0, "vol:gain db=0", maps, 1);
	FxMidiEvent ev[] = {
		{0, 300, {0xF0, 0x7E, 0x7F}}, /* a long SysEx */
		{1, 2, {0xB0, 7}},            /* truncated CC */
		{2, 3, {0xB1, 7, 0}},         /* channel 2: unmapped */
		{3, 2, {7, 0}},               /* running status after ch 2 */
		{4, 1, {0xF7}},               /* stray end of SysEx */
		{5, 2, {7, 0}},               /* no running status now */
		{6, 3, {0xB0, 0x87, 0}},      /* a data byte with bit 7 */
		{7, 0, {0}},                  /* empty */
		{8, 4, {0xB0, 7, 0}},         /* over-long */
	};
	int n = (int)(sizeof ev / sizeof ev[0]);
	for (int q = 0; q < 4; q++)
		period(r, ev, q == 1 ? n : 0);
	for (long i = 256; i < r->n_heard; i++)
		ck_assert_float_eq(r->heard[i], SIGNAL);
	FxMidiReport rep[8];
	ck_assert_int_eq(fx_engine_midi_reports(r->e, rep, 8), 0);
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.midi_events, (uint64_t)n);
	/* Running status does work on a mapped channel. */
	FxMidiEvent rs[2] = {{0, 3, {0xB0, 1, 0}}, {9, 2, {7, 0}}};
	period(r, rs, 2);
	period(r, NULL, 0);
	ck_assert_int_eq(first_changed(r, 256), 5 * 256 + 9);
	rig_free(r);
}
END_TEST

/* 10,000 events in one period: refused whole and counted; the audio and
 * the following periods' MIDI are untouched. */
START_TEST(ten_thousand_events_in_a_period_are_counted_not_played)
{
	const char *maps[] = {"cc 1 7 = /fx/vol/db -60 0"};
	Rig *r = rig_new(256, 1, 0, "vol:gain db=0", maps, 1);
	enum { FLOOD = 10000 };
	FxMidiEvent *flood = calloc(FLOOD, sizeof *flood);
	for (int i = 0; i < FLOOD; i++)
		flood[i] = cc(i * 256 / FLOOD, 0, 7, i % 128);
	period(r, NULL, 0);
	period(r, flood, FLOOD);
	/* The most that fits is taken whole. */
	period(r, flood, FX_ENGINE_MIDI_EVENTS);
	period(r, NULL, 0);
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.midi_overflows, 1);
	ck_assert_uint_eq(m.midi_events, FX_ENGINE_MIDI_EVENTS);
	ck_assert_uint_eq(m.underflows, 0);
	/* The flood's period played the signal untouched. */
	for (long i = 256; i < 3 * 256; i++)
		ck_assert_float_eq(r->heard[i], SIGNAL);
	ck_assert_int_eq(first_changed(r, 256), 3 * 256);
	free(flood);
	rig_free(r);
}
END_TEST

/* Clock, start, stop, learn, taps, programs: reported, not applied. */
START_TEST(clock_learn_and_triggers_are_reported)
{
	const char *maps[] = {
		"note 1 60 = /fxd/tap",
		"program 1 3 = preset verse",
		"cc 1 64 = /fxd/panic",
	};
	Rig *r = rig_new(64, 1, 0, "vol:gain", maps, 3);
	fx_engine_midi_learn(r->e, 1);
	FxMidiEvent ev[] = {
		{0, 1, {0xFA}},          /* start */
		{1, 1, {0xF8}},          /* clock */
		{2, 3, {0xB4, 21, 5}},   /* learned: ch 5, CC 21 */
		{3, 3, {0xB4, 22, 5}},   /* learn is disarmed by now */
		{4, 3, {0x90, 60, 99}},  /* tap */
		{5, 2, {0xC0, 3}},       /* program 3 */
		{6, 3, {0xB0, 64, 127}}, /* panic, pressed */
		{7, 3, {0xB0, 64, 100}}, /* still held: nothing */
		{8, 1, {0xFC}},          /* stop */
	};
	period(r, NULL, 0);
	period(r, ev, (int)(sizeof ev / sizeof ev[0]));
	FxMidiReport rep[16];
	int n = fx_engine_midi_reports(r->e, rep, 16);
	static const FxMidiReportKind WANT[] = {
		FX_MIDI_REPORT_START,   FX_MIDI_REPORT_CLOCK,
		FX_MIDI_REPORT_LEARN,   FX_MIDI_REPORT_TAP,
		FX_MIDI_REPORT_PROGRAM, FX_MIDI_REPORT_PANIC,
		FX_MIDI_REPORT_STOP,
	};
	ck_assert_int_eq(n, (int)(sizeof WANT / sizeof WANT[0]));
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(rep[i].kind, WANT[i]);
	ck_assert_uint_eq(rep[1].frame, 64 + 1);
	ck_assert_int_eq(rep[2].source, FX_MIDI_SRC_CC);
	ck_assert_int_eq(rep[2].channel, 4);
	ck_assert_int_eq(rep[2].number, 21);
	ck_assert_uint_eq(rep[3].frame, 64 + 4);
	ck_assert_int_eq(rep[4].mapping, 1);
	rig_free(r);
}
END_TEST

/* Feedback out goes to the driver in order; a full queue is counted. */
START_TEST(feedback_out_reaches_the_driver)
{
	Rig *r = rig_new(64, 1, 0, "vol:gain", NULL, 0);
	for (int i = 0; i < FX_ENGINE_MIDI_OUT + 5; i++) {
		uint8_t msg[3] = {0xB0, 7, (uint8_t)(i % 128)};
		ck_assert_int_eq(fx_engine_midi_send(r->e, msg, 3),
		                 i < FX_ENGINE_MIDI_OUT);
	}
	FxMidiEvent out[FX_ENGINE_MIDI_OUT];
	ck_assert_int_eq(fx_engine_midi_out(r->e, out, FX_ENGINE_MIDI_OUT),
	                 FX_ENGINE_MIDI_OUT);
	for (int i = 0; i < FX_ENGINE_MIDI_OUT; i++)
		ck_assert_int_eq(out[i].data[2], i % 128);
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.midi_out_dropped, 5);
	rig_free(r);
}
END_TEST

/* A new table replaces the old between chunks; the old one is freed (ASan
 * would see a leak or a use after free). */
START_TEST(tables_swap_between_chunks)
{
	const char *a[] = {"cc 1 7 = /fx/vol/db -60 0"};
	Rig *r = rig_new(64, 1, 0, "vol:gain db=0", a, 1);
	FxChainSpec spec = fx_test_spec("vol:gain db=0");
	FxMidiMapping m;
	char err[128];
	ck_assert_int_eq(fx_midi_mapping_parse("cc 1 8 = /fx/vol/db -60 0", &m,
	                                       NULL, err, sizeof err),
	                 FX_OK);
	for (int i = 0; i < 20; i++) {
		FxStatus st;
		FxMidiTable *t = fx_midi_table_new(&m, 1, &spec, NULL, &st);
		ck_assert_int_eq(fx_engine_set_midi_table(r->e, t), FX_OK);
		period(r, NULL, 0);
		fx_engine_collect(r->e);
	}
	FxMidiEvent ev[2] = {cc(3, 0, 7, 0), cc(4, 0, 8, 0)};
	period(r, ev, 2);
	period(r, NULL, 0);
	ck_assert_int_eq(first_changed(r, 64), 21 * 64 + 4);
	rig_free(r);
}
END_TEST

/* The three threads at once, as in fxd: a driver thread (events in,
 * periods, feedback out), the worker thread, and this thread as the
 * control side (tables swapped, learn armed, feedback queued, reports and
 * metrics read). Run under TSan by scripts/test. */
typedef struct {
	Rig *r;
	_Atomic int stop;
	long periods;
} Driver;

static void *drive(void *arg)
{
	Driver *d = arg;
	FxMidiEvent ev[8], out[16];
	for (long k = 0; !atomic_load(&d->stop); k++) {
		for (int j = 0; j < 8; j++)
			ev[j] = cc(j * 8, j % 2, 7 + j % 2, (int)((k + j) % 128));
		ev[7] = (FxMidiEvent){60, 1, {0xF8}};
		fx_engine_midi_in(d->r->e, ev, 8);
		fx_engine_process(d->r->e, d->r->inp, d->r->outp, d->r->period);
		fx_engine_midi_out(d->r->e, out, 16);
		d->periods = k + 1;
		sched_yield();
	}
	return NULL;
}

START_TEST(driver_worker_and_control_threads_together)
{
	const char *maps[] = {"cc 1 7 = /fx/vol/db -60 0"};
	Rig *r = rig_new(64, 1, 0, "vol:gain db=0", maps, 1);
	FxChainSpec spec = fx_test_spec("vol:gain db=0");
	FxMidiMapping m[2];
	ck_assert_int_eq(fx_midi_mapping_parse("cc 2 8 = /fx/vol/db", &m[0],
	                                       NULL, NULL, 0),
	                 FX_OK);
	ck_assert_int_eq(fx_midi_mapping_parse("cc * 7 = /fx/vol/bypass", &m[1],
	                                       NULL, NULL, 0),
	                 FX_OK);
	pthread_t worker, driver;
	fx_engine_set_worker_running(r->e, 1);
	ck_assert_int_eq(
		pthread_create(&worker, NULL, fx_engine_worker_main, r->e), 0);
	Driver d = {.r = r};
	ck_assert_int_eq(pthread_create(&driver, NULL, drive, &d), 0);
	long reports = 0;
	FxMidiReport rep[64];
	for (int i = 0; i < 400; i++) {
		FxStatus st;
		FxMidiTable *t = fx_midi_table_new(m, 1 + i % 2, &spec, NULL,
		                                   &st);
		ck_assert_ptr_nonnull(t);
		fx_engine_set_midi_table(r->e, t);
		fx_engine_midi_learn(r->e, i % 3 == 0);
		uint8_t fb[3] = {0xB0, 7, (uint8_t)(i % 128)};
		fx_engine_midi_send(r->e, fb, 3);
		reports += fx_engine_midi_reports(r->e, rep, 64);
		fx_engine_collect(r->e);
		FxEngineMetrics mt;
		fx_engine_metrics(r->e, &mt);
		sched_yield();
	}
	/* Until the worker has reported something, with a deadline. */
	struct timespec now, end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 60;
	do {
		reports += fx_engine_midi_reports(r->e, rep, 64);
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (reports == 0 && now.tv_sec < end.tv_sec);
	atomic_store(&d.stop, 1);
	pthread_join(driver, NULL);
	fx_engine_stop_worker(r->e);
	pthread_join(worker, NULL);
	fx_engine_set_worker_running(r->e, 0);
	ck_assert(reports > 0);
	ck_assert(d.periods > 0);
	rig_free(r);
}
END_TEST

static Suite *suite(void)
{
	/* clang-format off */
	const FxTestCase cases[] = {
		{"text", 0, .tests = {
			{good_lines_read_back_as_written,
			 sizeof GOOD / sizeof GOOD[0]},
			{bad_lines_name_their_column, sizeof BAD / sizeof BAD[0]},
			{targets_are_checked_against_the_chain, 0},
		}},
		{"engine", 60, .tests = {
			{a_cc_lands_at_its_frame_exactly_the_latency_later, 9},
			{two_ccs_in_one_period_change_at_their_frames, 0},
			{one_cc_drives_three_parameters, 0},
			{notes_toggle_and_hold, 0},
			{fourteen_bit_controls_are_fine, 0},
			{bad_input_maps_to_nothing_and_leaves_audio_exact, 0},
			{ten_thousand_events_in_a_period_are_counted_not_played, 0},
			{clock_learn_and_triggers_are_reported, 0},
			{feedback_out_reaches_the_driver, 0},
			{tables_swap_between_chunks, 0},
			{driver_worker_and_control_threads_together, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_suite("midi map", cases);
}

int main(void)
{
	return fx_test_run(suite());
}

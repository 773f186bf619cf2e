/* SPDX-License-Identifier: ISC */
/* MIDI control, the control side (daemon/engine/midi.h), over an engine
 * driven by a fake driver: each period hands the engine its MIDI events,
 * runs fx_engine_process and the worker's step, then polls the control
 * surface and FxMidi, as fxd's threads would. */
#include "tests/fxtest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/engine/control.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/midi.h"
#include "daemon/engine/persist.h"
#include "daemon/engine/tempo.h"

enum {
	PERIOD = 64,
	CH = 2,
	RATE = 48000,
	MAX_EVENTS = 64,
	MAX_NOTICES = 16,
	SETTLE_PERIODS = 20, ///< periods for a value to reach the worker and back
};

static const char CHAIN[] = "lpf:lowpass cutoff=1000 | vol:gain db=0";

typedef struct {
	FxEngine *e;
	FxControl *c;
	FxMidi *m;
	float in[CH][PERIOD], out[CH][PERIOD];
	const float *inp[CH];
	float *outp[CH];
	FxMidiEvent events[MAX_EVENTS]; ///< for the next period
	int n_events;
	FxMidiNotice notices[MAX_NOTICES]; ///< gathered by every poll
	int n_notices;
	FxMidiEvent sent[MAX_EVENTS]; ///< fxd's MIDI out, gathered
	int n_sent;
	char state_path[256];
} Rig;

static Rig *rig_with_state(const char *chain, const char *state_path)
{
	Rig *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	FxEngineConfig cfg = fx_test_engine_config(PERIOD);
	cfg.sample_rate = RATE;
	FxChainSpec spec = fx_test_spec(chain);
	FxStatus st;
	r->e = fx_engine_new(&cfg, &spec, &st);
	ck_assert_msg(r->e, "fx_engine_new: %s", fx_strerror(st));
	if (state_path)
		snprintf(r->state_path, sizeof r->state_path, "%s", state_path);
	FxControlConfig cc = {.preset_dir = "/nonexistent/fxd-test-midi",
	                      .state_file = state_path};
	r->c = fx_control_new(r->e, &cc);
	ck_assert_ptr_nonnull(r->c);
	r->m = fx_midi_new(r->c);
	ck_assert_ptr_nonnull(r->m);
	for (int c = 0; c < CH; c++) {
		r->inp[c] = r->in[c];
		r->outp[c] = r->out[c];
		for (int i = 0; i < PERIOD; i++)
			r->in[c][i] = 0.5f;
	}
	return r;
}

static Rig *rig_new(void)
{
	return rig_with_state(CHAIN, NULL);
}

static void rig_free(Rig *r)
{
	fx_midi_free(r->m);
	fx_control_free(r->c);
	fx_engine_free(r->e);
	free(r);
}

/* Queues @p size bytes at @p frame of the next period. */
static void event(Rig *r, int frame, int size, int b0, int b1, int b2)
{
	ck_assert_int_lt(r->n_events, MAX_EVENTS);
	r->events[r->n_events++] = (FxMidiEvent){
		.frame = (uint32_t)frame,
		.size = (uint16_t)size,
		.data = {(uint8_t)b0, (uint8_t)b1, (uint8_t)b2},
	};
}

static void cc(Rig *r, int channel, int number, int value)
{
	event(r, 0, 3, 0xB0 | (channel - 1), number, value);
}

/* The driver's and the worker's side of one period, without the polls. */
static void run_period(Rig *r)
{
	ck_assert_int_eq(fx_engine_midi_in(r->e, r->events, r->n_events), 1);
	r->n_events = 0;
	fx_engine_process(r->e, r->inp, r->outp, PERIOD);
	fx_engine_work(r->e);
	int n = fx_engine_midi_out(r->e, r->sent + r->n_sent,
	                           MAX_EVENTS - r->n_sent);
	r->n_sent += n;
}

/* The control thread's polls. */
static void poll_all(Rig *r)
{
	fx_control_poll(r->c);
	r->n_notices += fx_midi_poll(r->m, r->notices + r->n_notices,
	                             MAX_NOTICES - r->n_notices);
}

static void period(Rig *r)
{
	run_period(r);
	poll_all(r);
}

static void periods(Rig *r, int n)
{
	for (int i = 0; i < n; i++)
		period(r);
}

static FxMidiMapping mapping(const char *line)
{
	FxMidiMapping m;
	char err[256];
	int col;
	ck_assert_msg(fx_midi_mapping_parse(line, &m, &col, err, sizeof err) ==
	                      FX_OK,
	              "%s: %s", line, err);
	return m;
}

static void map(Rig *r, const char *line)
{
	FxMidiMapping m = mapping(line);
	char err[256] = "";
	FxStatus st = fx_midi_map(r->m, &m, err, sizeof err);
	ck_assert_msg(st == FX_OK, "%s: %s", line, err);
}

/* The running chain's value of slot @p slot, param @p param. */
static double value(Rig *r, int slot, int param)
{
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	return param == FX_PARAM_BYPASS ? spec.slots[slot].bypass
	                                : spec.slots[slot].values[param];
}

enum { LPF = 0, VOL = 1, CUTOFF = 0, Q = 1, DB = 0 };

/* Formats entry @p i of the mapping list. */
static void listed(Rig *r, int i, char *buf, size_t size)
{
	FxMidiMapping all[FX_MIDI_MAX_MAPPINGS];
	int n = fx_midi_list(r->m, all, FX_MIDI_MAX_MAPPINGS);
	ck_assert_int_lt(i, n);
	fx_midi_mapping_format(&all[i], buf, size);
}

static int count(Rig *r)
{
	FxMidiMapping all[1];
	return fx_midi_list(r->m, all, 0);
}

static void clear_sent(Rig *r)
{
	r->n_sent = 0;
}

/* ---- the mapping list -------------------------------------------------------- */

START_TEST(map_unmap_and_list_in_order)
{
	Rig *r = rig_new();
	const char *lines[] = {
		"cc 1 7 = /fx/vol/db -30 0",
		"cc14 * 1 = /fx/lpf/cutoff",
		"note 10 36 = /fx/lpf/bypass toggle",
		"cc 1 7 = /fx/lpf/q/norm",
	};
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
		map(r, lines[i]);
	ck_assert_int_eq(count(r), 4);
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
		char buf[256];
		listed(r, (int)i, buf, sizeof buf);
		FxMidiMapping want = mapping(lines[i]);
		char expect[256];
		fx_midi_mapping_format(&want, expect, sizeof expect);
		ck_assert_str_eq(buf, expect);
	}
	ck_assert_int_eq(fx_midi_unmap(r->m, "/fx/vol/db"), 1);
	ck_assert_int_eq(fx_midi_unmap(r->m, "/fx/vol/db"), 0);
	ck_assert_int_eq(count(r), 3);
	char buf[256];
	listed(r, 0, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "/fx/lpf/cutoff"));
	rig_free(r);
}
END_TEST

START_TEST(same_source_and_target_replaces)
{
	Rig *r = rig_new();
	map(r, "cc 1 7 = /fx/vol/db");
	map(r, "cc 1 7 = /fx/vol/db -30 0");
	ck_assert_int_eq(count(r), 1);
	char buf[256];
	listed(r, 0, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "-30"));
	map(r, "cc 2 7 = /fx/vol/db"); /* another channel: another source */
	map(r, "cc 1 7 = /fx/lpf/cutoff");
	ck_assert_int_eq(count(r), 3);
	rig_free(r);
}
END_TEST

START_TEST(a_full_list_refuses_more_but_still_replaces)
{
	Rig *r = rig_new();
	for (int i = 0; i < FX_MIDI_MAX_MAPPINGS; i++) {
		char line[64];
		snprintf(line, sizeof line, "cc %d %d = /fx/vol/db",
		         i / 128 + 1, i % 128);
		map(r, line);
	}
	FxMidiMapping more = mapping("cc 16 1 = /fx/vol/db");
	char err[256] = "";
	ck_assert_int_eq(fx_midi_map(r->m, &more, err, sizeof err), FX_ERR_FULL);
	ck_assert_str_ne(err, "");
	map(r, "cc 1 5 = /fx/vol/db -10 0"); /* replaces: no room needed */
	ck_assert_int_eq(count(r), FX_MIDI_MAX_MAPPINGS);
	rig_free(r);
}
END_TEST

START_TEST(a_target_the_chain_lacks_is_refused)
{
	Rig *r = rig_new();
	const char *bad[] = {"cc 1 7 = /fx/vol/dbx", "cc 1 7 = /fx/nope/db",
	                     "cc 1 7 = /fx/lpf/order"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		FxMidiMapping m = mapping(bad[i]);
		char err[256] = "";
		ck_assert_int_ne(fx_midi_map(r->m, &m, err, sizeof err), FX_OK);
		ck_assert_str_ne(err, "");
	}
	ck_assert_int_eq(count(r), 0);
	char err[256] = "";
	ck_assert_int_ne(fx_midi_learn(r->m, "/fx/vol/nothing", err, sizeof err),
	                 FX_OK);
	rig_free(r);
}
END_TEST

/* ---- learn -------------------------------------------------------------------- */

START_TEST(learn_binds_the_next_cc_over_the_whole_range)
{
	Rig *r = rig_new();
	char err[256] = "";
	ck_assert_int_eq(fx_midi_learn(r->m, "/fx/vol/db", err, sizeof err),
	                 FX_OK);
	cc(r, 3, 20, 64);
	periods(r, 2);
	ck_assert_int_eq(r->n_notices, 1);
	const FxMidiNotice *n = &r->notices[0];
	ck_assert_int_eq(n->kind, FX_MIDI_NOTICE_LEARNED);
	ck_assert_int_eq(n->mapping.source, FX_MIDI_SRC_CC);
	ck_assert_int_eq(n->mapping.channel, 2);
	ck_assert_int_eq(n->mapping.number, 20);
	ck_assert_str_eq(n->mapping.target, "/fx/vol/db");
	ck_assert_int_eq(count(r), 1);
	cc(r, 3, 20, 127);
	periods(r, SETTLE_PERIODS);
	ck_assert_double_eq(value(r, VOL, DB), 24);
	cc(r, 3, 20, 0);
	periods(r, SETTLE_PERIODS);
	ck_assert_double_eq(value(r, VOL, DB), -96);
	rig_free(r);
}
END_TEST

START_TEST(learn_binds_a_note_as_a_toggle)
{
	Rig *r = rig_new();
	char err[256] = "";
	ck_assert_int_eq(fx_midi_learn(r->m, "/fx/lpf/bypass", err, sizeof err),
	                 FX_OK);
	event(r, 5, 3, 0x99, 36, 100); /* note on, channel 10 */
	periods(r, 2);
	ck_assert_int_eq(r->n_notices, 1);
	ck_assert_int_eq(r->notices[0].kind, FX_MIDI_NOTICE_LEARNED);
	ck_assert_int_eq(r->notices[0].mapping.source, FX_MIDI_SRC_NOTE);
	ck_assert_int_eq(r->notices[0].mapping.mode, FX_MIDI_MODE_TOGGLE);
	ck_assert_int_eq(r->notices[0].mapping.channel, 9);
	ck_assert_int_eq(r->notices[0].mapping.number, 36);
	ck_assert_int_eq(value(r, LPF, FX_PARAM_BYPASS), 0);
	event(r, 0, 3, 0x99, 36, 100);
	periods(r, SETTLE_PERIODS);
	ck_assert_int_eq(value(r, LPF, FX_PARAM_BYPASS), 1);
	event(r, 0, 3, 0x99, 36, 100);
	periods(r, SETTLE_PERIODS);
	ck_assert_int_eq(value(r, LPF, FX_PARAM_BYPASS), 0);
	rig_free(r);
}
END_TEST

/* ---- values from MIDI ------------------------------------------------------------ */

START_TEST(a_midi_value_becomes_the_target_and_is_marked)
{
	Rig *r = rig_new();
	map(r, "cc 1 7 = /fx/vol/db -30 0");
	FxChanges ch;
	fx_control_take_changes(r->c, &ch);
	cc(r, 1, 7, 0);
	periods(r, SETTLE_PERIODS);
	ck_assert_double_eq(value(r, VOL, DB), -30);
	fx_control_take_changes(r->c, &ch);
	int idx = fx_param_index((FxParamRef){VOL, DB});
	ck_assert(ch.entries[idx / 64] >> (idx % 64) & 1);
	/* Heard: 0.5 in, -30 dB out. */
	ck_assert_float_eq_tol(r->out[0][PERIOD - 1],
	                       0.5f * (float)pow(10, -30 / 20.0), 1e-6f);
	rig_free(r);
}
END_TEST

/* A value staged by OSC after the worker applied a MIDI value is newer:
 * the MIDI value is not taken as the target, and the OSC value is what
 * is heard. */
START_TEST(a_midi_value_older_than_an_osc_set_is_ignored)
{
	Rig *r = rig_new();
	map(r, "cc 1 7 = /fx/vol/db");
	periods(r, 2);
	cc(r, 1, 7, 127);
	run_period(r); /* the worker applies +24 dB and reports it */
	ck_assert_int_eq(fx_control_set_param(r->c, VOL, DB, -6, NULL, 0), FX_OK);
	poll_all(r); /* the report is older than the set */
	ck_assert_double_eq(value(r, VOL, DB), -6);
	periods(r, SETTLE_PERIODS);
	ck_assert_double_eq(value(r, VOL, DB), -6);
	ck_assert_float_eq_tol(r->out[0][PERIOD - 1],
	                       0.5f * (float)pow(10, -6 / 20.0), 1e-6f);
	/* A set before the MIDI value is older: MIDI wins. */
	cc(r, 1, 7, 127);
	periods(r, SETTLE_PERIODS);
	ck_assert_double_eq(value(r, VOL, DB), 24);
	rig_free(r);
}
END_TEST

START_TEST(note_param_compares_with_the_staged_count)
{
	Rig *r = rig_new();
	ck_assert_int_eq(fx_control_set_param(r->c, VOL, DB, -6, NULL, 0), FX_OK);
	uint32_t seq = fx_control_sync_point(r->c);
	FxParamRef db = {VOL, DB};
	ck_assert_int_eq(fx_control_note_param(r->c, db, -12, seq - 1), 0);
	ck_assert_double_eq(value(r, VOL, DB), -6);
	ck_assert_int_eq(fx_control_note_param(r->c, db, -12, seq), 1);
	ck_assert_double_eq(value(r, VOL, DB), -12);
	/* Another parameter's set does not make this one stale. */
	ck_assert_int_eq(fx_control_set_param(r->c, LPF, CUTOFF, 500, NULL, 0),
	                 FX_OK);
	ck_assert_int_eq(fx_control_note_param(r->c, db, -3, seq), 1);
	ck_assert_double_eq(value(r, VOL, DB), -3);
	/* A swap after it makes every older value stale. */
	FxChainSpec spec = fx_test_spec(CHAIN);
	ck_assert_int_eq(fx_control_swap(r->c, &spec, NULL, 0), FX_OK);
	ck_assert_int_eq(fx_control_note_param(r->c, db, -1,
	                                       fx_control_sync_point(r->c) - 1),
	                 0);
	/* Structural parameters change only through a swap. */
	ck_assert_int_eq(fx_control_note_param(r->c, (FxParamRef){LPF, 2}, 4,
	                                       fx_control_sync_point(r->c)),
	                 0);
	rig_free(r);
}
END_TEST

/* ---- feedback out ------------------------------------------------------------------ */

START_TEST(an_osc_set_is_fed_back_once)
{
	Rig *r = rig_new();
	map(r, "cc 2 7 = /fx/vol/db");
	map(r, "cc14 * 1 = /fx/lpf/cutoff");
	periods(r, 2);
	ck_assert_int_eq(r->n_sent, 0); /* mapping sends nothing */
	ck_assert_int_eq(fx_control_set_param(r->c, VOL, DB, -36, NULL, 0),
	                 FX_OK);
	periods(r, 3);
	ck_assert_int_eq(r->n_sent, 1);
	/* -36 dB of -96..24: 60/120 of 127, rounded. */
	ck_assert_int_eq(r->sent[0].size, 3);
	ck_assert_uint_eq(r->sent[0].data[0], 0xB1);
	ck_assert_uint_eq(r->sent[0].data[1], 7);
	ck_assert_uint_eq(r->sent[0].data[2], 64);
	clear_sent(r);
	/* Within the same 7-bit step: nothing more. */
	ck_assert_int_eq(fx_control_set_param(r->c, VOL, DB, -35.9, NULL, 0),
	                 FX_OK);
	periods(r, 3);
	ck_assert_int_eq(r->n_sent, 0);
	/* 14 bits: MSB then LSB, on channel 1 for `*`. The log midpoint of
	 * 20..20000 Hz is the middle of the control. */
	ck_assert_int_eq(fx_control_set_param(r->c, LPF, CUTOFF,
	                                      sqrt(20.0 * 20000.0), NULL, 0),
	                 FX_OK);
	periods(r, 3);
	ck_assert_int_eq(r->n_sent, 2);
	ck_assert_uint_eq(r->sent[0].data[0], 0xB0);
	ck_assert_uint_eq(r->sent[0].data[1], 1);
	ck_assert_uint_eq(r->sent[1].data[1], 33);
	int v14 = r->sent[0].data[2] << 7 | r->sent[1].data[2];
	ck_assert_int_le(abs(v14 - 8192), 1); /* 16383 / 2 */
	rig_free(r);
}
END_TEST

START_TEST(a_midi_value_is_not_echoed_to_its_own_control)
{
	Rig *r = rig_new();
	map(r, "cc 1 7 = /fx/vol/db");
	map(r, "cc 1 8 = /fx/vol/db");
	periods(r, 2);
	cc(r, 1, 7, 100);
	periods(r, SETTLE_PERIODS);
	ck_assert_double_eq_tol(value(r, VOL, DB), -96 + 120 * 100 / 127.0, 1e-9);
	/* CC 8 follows; CC 7 is where the player left it. */
	ck_assert_int_eq(r->n_sent, 1);
	ck_assert_uint_eq(r->sent[0].data[0], 0xB0);
	ck_assert_uint_eq(r->sent[0].data[1], 8);
	ck_assert_uint_eq(r->sent[0].data[2], 100);
	clear_sent(r);
	/* An OSC set moves both controls. */
	ck_assert_int_eq(fx_control_set_param(r->c, VOL, DB, -96, NULL, 0),
	                 FX_OK);
	periods(r, 3);
	ck_assert_int_eq(r->n_sent, 2);
	rig_free(r);
}
END_TEST

/* ---- tempo --------------------------------------------------------------------------- */

/* MIDI clock at 90, 120 and 174 BPM: ticks at their exact frames, over
 * enough beats to settle. */
START_TEST(midi_clock_sets_the_tempo)
{
	static const double BPM[] = {90, 120, 174};
	double bpm = BPM[_i];
	Rig *r = rig_new();
	double tick = RATE * 60.0 / (bpm * 24);
	int ticks = (FX_TEMPO_SETTLE_BEATS + 3) * 24, k = 0;
	for (long start = 0; k < ticks; start += PERIOD) {
		for (long f;
		     k < ticks && (f = lround(k * tick)) < start + PERIOD; k++)
			event(r, (int)(f - start), 1, 0xF8, 0, 0);
		period(r);
	}
	ck_assert_double_eq_tol(fx_control_bpm(r->c), bpm, 0.1);
	rig_free(r);
}
END_TEST

START_TEST(taps_from_midi_and_osc_set_the_tempo)
{
	Rig *r = rig_new();
	map(r, "note 10 36 = /fxd/tap");
	/* Four taps half a second apart, at frame 10 of their periods. */
	for (int tap = 0; tap < 4; tap++) {
		event(r, 10, 3, 0x99, 36, 100);
		period(r);
		event(r, 0, 3, 0x89, 36, 0);
		periods(r, RATE / 2 / PERIOD - 1);
	}
	ck_assert_double_eq_tol(fx_control_bpm(r->c), 120, 0.01);
	rig_free(r);

	r = rig_new();
	for (int tap = 0; tap < 4; tap++)
		fx_midi_tap(r->m, 100 + tap * 0.4);
	ck_assert_double_eq_tol(fx_control_bpm(r->c), 150, 0.01);
	rig_free(r);
}
END_TEST

/* ---- programs ------------------------------------------------------------------------- */

START_TEST(a_program_change_asks_for_its_preset)
{
	Rig *r = rig_new();
	map(r, "program 1 3 = preset verse");
	event(r, 0, 2, 0xC0, 3, 0);
	periods(r, 3);
	ck_assert_int_eq(r->n_notices, 1);
	ck_assert_int_eq(r->notices[0].kind, FX_MIDI_NOTICE_PRESET);
	ck_assert_str_eq(r->notices[0].mapping.target, "verse");
	rig_free(r);
}
END_TEST

/* ---- morphing --------------------------------------------------------------------------- */

static void set_ends(Rig *r, const char *a, const char *b)
{
	FxChainSpec sa = fx_test_spec(a), sb = fx_test_spec(b);
	char err[256] = "";
	ck_assert_msg(fx_midi_morph_end(r->m, 0, "a", &sa, err, sizeof err) ==
	                      FX_OK,
	              "%s", err);
	ck_assert_msg(fx_midi_morph_end(r->m, 1, "b", &sb, err, sizeof err) ==
	                      FX_OK,
	              "%s", err);
}

static const char END_A[] = "lpf:lowpass cutoff=100 q=0.5 | vol:gain db=-20";
static const char END_B[] = "lpf:lowpass cutoff=10000 q=2 | vol:gain db=0";

START_TEST(morph_ends_are_exact_and_the_midpoint_follows_each_scale)
{
	Rig *r = rig_new();
	char err[256] = "";
	ck_assert_int_eq(fx_midi_morph(r->m, 0.5, err, sizeof err),
	                 FX_ERR_INVALID);
	set_ends(r, END_A, END_B);
	ck_assert_int_eq(fx_midi_morph(r->m, 0, err, sizeof err), FX_OK);
	ck_assert_double_eq(value(r, LPF, CUTOFF), 100);
	ck_assert_double_eq(value(r, LPF, Q), 0.5);
	ck_assert_double_eq(value(r, VOL, DB), -20);
	ck_assert_int_eq(fx_midi_morph(r->m, 1, err, sizeof err), FX_OK);
	ck_assert_double_eq(value(r, LPF, CUTOFF), 10000);
	ck_assert_double_eq(value(r, LPF, Q), 2);
	ck_assert_double_eq(value(r, VOL, DB), 0);
	ck_assert_int_eq(fx_midi_morph(r->m, 0.5, err, sizeof err), FX_OK);
	ck_assert_double_eq_tol(value(r, LPF, CUTOFF), 1000, 1e-9); /* log */
	ck_assert_double_eq_tol(value(r, LPF, Q), 1, 1e-12);        /* log */
	ck_assert_double_eq_tol(value(r, VOL, DB), -10, 1e-12);     /* dB */
	char a[16], b[16];
	ck_assert_double_eq(fx_midi_morph_position(r->m, a, b, sizeof a), 0.5);
	ck_assert_str_eq(a, "a");
	ck_assert_str_eq(b, "b");
	rig_free(r);
}
END_TEST

START_TEST(a_morph_pedal_moves_the_targets_and_is_fed_back)
{
	Rig *r = rig_new();
	set_ends(r, END_A, END_B);
	map(r, "cc 1 11 = /fxd/morph");
	map(r, "cc 1 7 = /fx/vol/db -20 0");
	char err[256];
	ck_assert_int_eq(fx_midi_morph(r->m, 0, err, sizeof err), FX_OK);
	periods(r, SETTLE_PERIODS);
	clear_sent(r);
	cc(r, 1, 11, 127);
	periods(r, SETTLE_PERIODS);
	ck_assert_double_eq(value(r, LPF, CUTOFF), 10000);
	ck_assert_double_eq(value(r, VOL, DB), 0);
	ck_assert_double_eq(fx_midi_morph_position(r->m, NULL, NULL, 0), 1);
	/* The volume's control follows; the pedal is not echoed. */
	ck_assert_int_eq(r->n_sent, 1);
	ck_assert_uint_eq(r->sent[0].data[1], 7);
	ck_assert_uint_eq(r->sent[0].data[2], 127);
	clear_sent(r);
	/* A morph from OSC moves the pedal's LED ring. */
	ck_assert_int_eq(fx_midi_morph(r->m, 0, err, sizeof err), FX_OK);
	periods(r, 3);
	int pedal = 0;
	for (int i = 0; i < r->n_sent; i++)
		pedal += r->sent[i].data[1] == 11 && r->sent[i].data[2] == 0;
	ck_assert_int_eq(pedal, 1);
	rig_free(r);
}
END_TEST

START_TEST(morph_ends_of_another_structure_are_refused)
{
	Rig *r = rig_new();
	FxChainSpec a = fx_test_spec(END_A);
	char err[256] = "";
	ck_assert_int_eq(fx_midi_morph_end(r->m, 0, "a", &a, err, sizeof err),
	                 FX_OK);
	const char *bad[] = {
		"vol:gain db=0",
		"lpf:highpass cutoff=100 | vol:gain db=0",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		FxChainSpec b = fx_test_spec(bad[i]);
		err[0] = '\0';
		ck_assert_int_eq(
			fx_midi_morph_end(r->m, 1, "b", &b, err, sizeof err),
			FX_ERR_STRUCTURAL);
		ck_assert_str_ne(err, "");
	}
	ck_assert_int_eq(fx_midi_morph(r->m, 0.5, err, sizeof err),
	                 FX_ERR_INVALID);
	rig_free(r);
}
END_TEST

/* Ends whose structural parameter (the lowpass's order) differs. */
static const char ORDER_A[] = "lpf:lowpass cutoff=200 order=2";
static const char ORDER_B[] = "lpf:lowpass cutoff=2000 order=4";

/* Periods until every change and swap staged so far is applied (bounded),
 * then enough for a crossfade to end, the old chain to be collected and
 * FxMidi to rebuild its table for the new one. */
static void await_synced(Rig *r)
{
	uint32_t point = fx_control_sync_point(r->c);
	for (int i = 0; i < 1000 && !fx_control_synced(r->c, point); i++)
		period(r);
	ck_assert(fx_control_synced(r->c, point));
	periods(r, SETTLE_PERIODS);
}

/* The running order and cutoff are those of position @p x: the order
 * switches at 0.5, the cutoff is the geometric blend of 200 and 2000. */
static void assert_order_morph_at(Rig *r, double x)
{
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	const FxEffectClass *cls = spec.slots[LPF].cls;
	double order = spec.slots[LPF].values[fx_param_find(cls, "order")];
	double cutoff = spec.slots[LPF].values[fx_param_find(cls, "cutoff")];
	ck_assert_msg(order == (x >= 0.5 ? 4 : 2), "at %g: order %g", x, order);
	ck_assert_double_eq_tol(cutoff, 200 * pow(10, x), 1e-6);
}

START_TEST(a_structural_difference_swaps_when_the_morph_crosses_half)
{
	Rig *r = rig_with_state(ORDER_A, NULL);
	set_ends(r, ORDER_A, ORDER_B);
	map(r, "cc 1 11 = /fxd/morph");
	char err[256] = "";
	FxChainSpec spec;

	/* From OSC: across 0.5 a swap, within a side a glide. */
	static const double xs[] = {0.3, 0.7, 0.8, 0.2};
	static const int swaps[] = {0, 1, 0, 1};
	for (int i = 0; i < 4; i++) {
		uint32_t gen = fx_control_get_spec_gen(r->c, &spec);
		ck_assert_msg(fx_midi_morph(r->m, xs[i], err, sizeof err) == FX_OK,
		              "%s", err);
		await_synced(r);
		ck_assert_int_eq(fx_control_get_spec_gen(r->c, &spec) != gen,
		                 swaps[i]);
		assert_order_morph_at(r, xs[i]);
		ck_assert_double_eq(fx_midi_morph_position(r->m, NULL, NULL, 0),
		                    xs[i]);
	}

	/* From the pedal, whose table came back after each swap with the
	 * morph: up across 0.5 and back. */
	static const int codes[] = {89, 100, 38};
	for (int i = 0; i < 3; i++) {
		cc(r, 1, 11, codes[i]);
		period(r);
		await_synced(r);
		double x = fx_midi_morph_position(r->m, NULL, NULL, 0);
		ck_assert_double_eq_tol(x, codes[i] / 127.0, 1e-12);
		assert_order_morph_at(r, x);
	}

	/* New ends, the other way round: on the same side of 0.5 as
	 * before, the order is now B's (4), and a swap brings it. */
	set_ends(r, ORDER_B, ORDER_A);
	ck_assert_int_eq(fx_midi_morph(r->m, 0.2, err, sizeof err), FX_OK);
	await_synced(r);
	assert_order_morph_at(r, 1 - 0.2);
	rig_free(r);
}
END_TEST

/* ---- the state file ------------------------------------------------------------------------ */

START_TEST(mappings_survive_the_state_file)
{
	char path[] = "/tmp/fxd-test-midi-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(path);
	Rig *r = rig_with_state(CHAIN, path);
	const char *lines[] = {
		"cc 1 7 = /fx/vol/db -30 0 invert",
		"cc14 * 1 = /fx/lpf/cutoff",
		"note 10 36 = /fx/lpf/bypass momentary",
		"program 2 5 = preset chorus",
		"bend 1 = /fx/lpf/q/norm 0.25 0.75",
	};
	int n = (int)(sizeof lines / sizeof *lines);
	for (int i = 0; i < n; i++)
		map(r, lines[i]);
	char err[256] = "";
	ck_assert_msg(fx_control_save_state(r->c, 1, err, sizeof err) == 0,
	              "%s", err);
	char want[8][256];
	for (int i = 0; i < n; i++)
		listed(r, i, want[i], sizeof want[i]);
	rig_free(r);

	/* The chain is read as before; the mappings come back in order. */
	FxState *state = malloc(sizeof *state);
	ck_assert_int_eq(fx_state_load(path, state, err, sizeof err), FX_OK);
	ck_assert_int_eq(state->spec.n_slots, 2);
	free(state);
	r = rig_with_state(CHAIN, path);
	int refused = -1;
	ck_assert_int_eq(fx_midi_restore(r->m, path, &refused, err, sizeof err),
	                 FX_OK);
	ck_assert_int_eq(refused, 0);
	ck_assert_int_eq(count(r), n);
	for (int i = 0; i < n; i++) {
		char got[256];
		listed(r, i, got, sizeof got);
		ck_assert_str_eq(got, want[i]);
	}
	rig_free(r);
	unlink(path);

	/* No state file yet: nothing to restore, and no error. */
	r = rig_new();
	ck_assert_int_eq(fx_midi_restore(r->m, path, &refused, err, sizeof err),
	                 FX_OK);
	ck_assert_int_eq(count(r), 0);
	rig_free(r);
}
END_TEST

START_TEST(an_older_state_file_has_no_mappings)
{
	char path[] = "/tmp/fxd-test-midi-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	static const char OLD[] = "fxd-state 1\nbpm 100\nchain vol:gain db=-3\n";
	ck_assert_int_eq(write(fd, OLD, sizeof OLD - 1), (ssize_t)sizeof OLD - 1);
	close(fd);
	char **lines;
	int n = -1;
	char err[256] = "";
	ck_assert_int_eq(
		fx_state_lines(path, "midi", &lines, &n, err, sizeof err), FX_OK);
	ck_assert_int_eq(n, 0);
	fx_control_free_list(lines, n);
	FxChainSpec spec;
	double bpm;
	ck_assert_int_eq(fx_state_read(path, &spec, &bpm, err, sizeof err),
	                 FX_OK);
	ck_assert_double_eq(bpm, 100);
	unlink(path);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"mappings", 0, .tests = {
			{map_unmap_and_list_in_order, 0},
			{same_source_and_target_replaces, 0},
			{a_full_list_refuses_more_but_still_replaces, 0},
			{a_target_the_chain_lacks_is_refused, 0},
		}},
		{"learn", 0, .tests = {
			{learn_binds_the_next_cc_over_the_whole_range, 0},
			{learn_binds_a_note_as_a_toggle, 0},
		}},
		{"values", 0, .tests = {
			{a_midi_value_becomes_the_target_and_is_marked, 0},
			{a_midi_value_older_than_an_osc_set_is_ignored, 0},
			{note_param_compares_with_the_staged_count, 0},
			{a_program_change_asks_for_its_preset, 0},
		}},
		{"feedback", 0, .tests = {
			{an_osc_set_is_fed_back_once, 0},
			{a_midi_value_is_not_echoed_to_its_own_control, 0},
		}},
		{"tempo", 60, .tests = {
			{midi_clock_sets_the_tempo, 3},
			{taps_from_midi_and_osc_set_the_tempo, 0},
		}},
		{"morph", 0, .tests = {
			{morph_ends_are_exact_and_the_midpoint_follows_each_scale, 0},
			{a_morph_pedal_moves_the_targets_and_is_fed_back, 0},
			{morph_ends_of_another_structure_are_refused, 0},
			{a_structural_difference_swaps_when_the_morph_crosses_half,
			 0},
		}},
		{"state", 0, .tests = {
			{mappings_survive_the_state_file, 0},
			{an_older_state_file_has_no_mappings, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("midi", cases));
}

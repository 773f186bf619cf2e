/* SPDX-License-Identifier: ISC */
/* OSC unit tests, MIDI control and morphing: /fxd/midi/learn, map, unmap,
 * list, /fxd/tap, /fxd/morph (and its ends), their place in /fxd/json and
 * /fxd/stats, program changes loading presets, the morph's feedback, and
 * every one of them refused while MIDI is off. MIDI comes in through the
 * engine's fake driver (fx_engine_midi_in before a period). */
#define _GNU_SOURCE
#include "tests/unit/osc_fixture.h"

#include "daemon/engine/midi_map.h"

static Rig *midi_rig(void)
{
	return rig_open((RigOptions){.midi = 1});
}

/* One event at frame @p frame of the next period, played. */
static void midi_in(Rig *r, uint32_t frame, uint8_t a, uint8_t b, uint8_t c)
{
	FxMidiEvent ev = {.frame = frame,
	                  .size = (a & 0xf0) == 0xc0 ? 2 : 3,
	                  .data = {a, b, c}};
	ck_assert_int_eq(fx_engine_midi_in(r->e, &ev, 1), 1);
	play(r, 1);
}

/* Ticks (the OSC thread's work: fx_midi_poll) until a reply comes; it
 * must be @p path ,@p types. The caller frees it. */
static lo_message tick_until_reply(Rig *r, const char *path, const char *types)
{
	double until = fx_osc_now() + WAIT_MS * 1e-3;
	Reply rep;
	for (;;) {
		tick(r);
		if (next_reply(&r->cl, &rep, 5))
			break;
		ck_assert_msg(fx_osc_now() < until, "no %s", path);
		play(r, 1);
	}
	ck_assert_msg(!strcmp(rep.path, path) && !strcmp(types_of(rep.m), types),
	              "got %s ,%s, wanted %s ,%s", rep.path, types_of(rep.m),
	              path, types);
	free(rep.path);
	return rep.m;
}

/* The /fxd/midi/list replies as lines joined by '\n'; the count from
 * /fxd/midi/list/done must match. */
static void mapping_lines(Rig *r, char *out, size_t size)
{
	SEND(r, "/fxd/midi/list", "");
	*out = '\0';
	for (int n = 0;; n++) {
		Reply rep;
		ck_assert(next_reply(&r->cl, &rep, WAIT_MS));
		if (!strcmp(rep.path, "/fxd/midi/list/done")) {
			ck_assert_str_eq(types_of(rep.m), "i");
			ck_assert_int_eq(arg_i(rep.m, 0), n);
			reply_free(&rep);
			return;
		}
		ck_assert_str_eq(rep.path, "/fxd/midi/mapping");
		ck_assert_str_eq(types_of(rep.m), "s");
		size_t len = strlen(out);
		snprintf(out + len, size - len, "%s\n", arg_s(rep.m, 0));
		reply_free(&rep);
	}
}

/* @p line as fx_midi_mapping_format writes it back. */
static void canonical(const char *line, char *out, size_t size)
{
	FxMidiMapping m;
	char err[128];
	ck_assert_msg(fx_midi_mapping_parse(line, &m, NULL, err, sizeof err) ==
	                      FX_OK,
	              "%s: %s", line, err);
	fx_midi_mapping_format(&m, out, size);
}

/* ---- MIDI off -------------------------------------------------------------- */

START_TEST(every_midi_method_fails_while_midi_is_off)
{
	static const struct {
		const char *path, *types;
	} calls[] = {
		{"/fxd/midi/learn", "s"}, {"/fxd/midi/map", "sii"},
		{"/fxd/midi/unmap", "s"}, {"/fxd/midi/list", ""},
		{"/fxd/tap", ""},         {"/fxd/morph/a", "s"},
		{"/fxd/morph/b", ""},     {"/fxd/morph", "f"},
	};
	Rig *r = rig_new();
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		const char *t = calls[i].types;
		if (!strcmp(t, "s"))
			SEND(r, calls[i].path, "s", "/fx/vol/db");
		else if (!strcmp(t, "sii"))
			SEND(r, calls[i].path, "sii", "/fx/vol/db", 1, 7);
		else if (!strcmp(t, "f"))
			SEND(r, calls[i].path, "f", 0.5);
		else
			SEND(r, calls[i].path, "");
		expect_fail(r, calls[i].path, "MIDI is off (--no-midi)");
	}
	char *text = json_of(r);
	ck_assert_msg(strstr(text, "\"midi\":null"), "%s", text);
	free(text);
	rig_free(r);
}
END_TEST

/* ---- mappings -------------------------------------------------------------- */

START_TEST(map_list_and_unmap)
{
	Rig *r = midi_rig();
	char lines[4096], want[1024], a[160], b[160], c[160];
	mapping_lines(r, lines, sizeof lines);
	ck_assert_str_eq(lines, "");
	SEND(r, "/fxd/midi/map", "sii", "/fx/lpf/cutoff", 1, 74);
	expect_done(r, "/fxd/midi/map");
	SEND(r, "/fxd/midi/map", "ssiff", "/fx/vol/db", "*", 7, -30.0, 0.0);
	expect_done(r, "/fxd/midi/map");
	/* One [midi] line, for what the short form cannot say. */
	SEND(r, "/fxd/midi/map", "s", "note 10 36 = /fx/hpf/bypass toggle");
	expect_done(r, "/fxd/midi/map");
	canonical("cc 1 74 = /fx/lpf/cutoff", a, sizeof a);
	canonical("cc * 7 = /fx/vol/db -30 0", b, sizeof b);
	canonical("note 10 36 = /fx/hpf/bypass toggle", c, sizeof c);
	mapping_lines(r, lines, sizeof lines);
	snprintf(want, sizeof want, "%s\n%s\n%s\n", a, b, c);
	ck_assert_str_eq(lines, want);

	char *text = json_of(r);
	char key[600];
	snprintf(key, sizeof key, "\"mappings\":[\"%s\",\"%s\",\"%s\"]", a, b, c);
	ck_assert_msg(strstr(text, key), "no %s in %s", key, text);
	free(text);

	SEND(r, "/fxd/midi/unmap", "s", "/fx/vol/db");
	expect_done(r, "/fxd/midi/unmap");
	mapping_lines(r, lines, sizeof lines);
	snprintf(want, sizeof want, "%s\n%s\n", a, c);
	ck_assert_str_eq(lines, want);
	SEND(r, "/fxd/midi/unmap", "s", "/fx/vol/db");
	expect_fail(r, "/fxd/midi/unmap", "no mapping drives /fx/vol/db");
	rig_free(r);
}
END_TEST

/* Arguments the mapping cannot be made of, each refused with why, and
 * nothing mapped. */
START_TEST(map_refuses_bad_arguments)
{
	Rig *r = midi_rig();
	SEND(r, "/fxd/midi/map", "sii", "/fx/vol/db", 0, 7);
	expect_fail(r, "/fxd/midi/map", "CH is a channel 1..16");
	SEND(r, "/fxd/midi/map", "sii", "/fx/vol/db", 17, 7);
	expect_fail(r, "/fxd/midi/map", "CH is a channel 1..16");
	SEND(r, "/fxd/midi/map", "sfi", "/fx/vol/db", 1.5, 7);
	expect_fail(r, "/fxd/midi/map", "CH is a channel 1..16");
	SEND(r, "/fxd/midi/map", "ssi", "/fx/vol/db", "any", 7);
	expect_fail(r, "/fxd/midi/map", "CH is a channel 1..16");
	SEND(r, "/fxd/midi/map", "sii", "/fx/vol/db", 1, 128);
	expect_fail(r, "/fxd/midi/map", "NUM is a controller number 0..127");
	SEND(r, "/fxd/midi/map", "sii", "/fx/vol/db", 1, -1);
	expect_fail(r, "/fxd/midi/map", "NUM is a controller number 0..127");
	SEND(r, "/fxd/midi/map", "si", "/fx/vol/db", 1);
	expect_fail(r, "/fxd/midi/map", "expects PATH CH NUM [MIN MAX]");
	SEND(r, "/fxd/midi/map", "siif", "/fx/vol/db", 1, 7, 0.0);
	expect_fail(r, "/fxd/midi/map", "expects PATH CH NUM [MIN MAX]");
	SEND(r, "/fxd/midi/map", "iii", 3, 1, 7);
	expect_fail(r, "/fxd/midi/map", "expects PATH CH NUM [MIN MAX]");
	SEND(r, "/fxd/midi/map", "siisf", "/fx/vol/db", 1, 7, "lo", 0.0);
	expect_fail(r, "/fxd/midi/map", "MIN and MAX are numbers");
	SEND(r, "/fxd/midi/map", "s", "cc 99 7 = /fx/vol/db");
	expect_fail(r, "/fxd/midi/map", "");
	/* Parsed, then refused against the running chain. */
	SEND(r, "/fxd/midi/map", "sii", "/fx/lpf/cutof", 1, 7);
	expect_fail(r, "/fxd/midi/map", "cutof");
	char lines[256];
	mapping_lines(r, lines, sizeof lines);
	ck_assert_str_eq(lines, "");
	SEND(r, "/fxd/midi/unmap", "");
	expect_fail(r, "/fxd/midi/unmap", "expects one string");
	SEND(r, "/fxd/midi/list", "i", 1);
	expect_fail(r, "/fxd/midi/list", "takes no arguments");
	rig_free(r);
}
END_TEST

/* Learn answers the peer that armed it once a CC comes in, and the
 * mapping is then in the list. */
START_TEST(learn_answers_with_the_control_heard)
{
	Rig *r = midi_rig();
	SEND(r, "/fxd/midi/learn", "s", "/fx/lpf/cutoff");
	expect_done(r, "/fxd/midi/learn");
	play(r, 2);
	tick(r);
	expect_nothing(&r->cl); /* nothing heard yet */
	midi_in(r, 5, 0xB2, 21, 64);
	lo_message m = tick_until_reply(r, "/fxd/midi/learned", "sii");
	ck_assert_str_eq(arg_s(m, 0), "/fx/lpf/cutoff");
	ck_assert_int_eq(arg_i(m, 1), 3);
	ck_assert_int_eq(arg_i(m, 2), 21);
	lo_message_free(m);
	char lines[512], want[160];
	mapping_lines(r, lines, sizeof lines);
	canonical("cc 3 21 = /fx/lpf/cutoff", want, sizeof want);
	strcat(want, "\n");
	ck_assert_str_eq(lines, want);
	/* A target that does not exist is refused at once. */
	SEND(r, "/fxd/midi/learn", "s", "/fx/lpf/nope");
	expect_fail(r, "/fxd/midi/learn", "nope");
	SEND(r, "/fxd/midi/learn", "i", 3);
	expect_fail(r, "/fxd/midi/learn", "expects one string");
	rig_free(r);
}
END_TEST

/* A mapped CC moves its parameter, and MIDI-to-ear is timed in frames. */
START_TEST(a_mapped_cc_moves_its_parameter_and_is_timed)
{
	Rig *r = midi_rig();
	r->amp = 0.5;
	r->hz = 1000;
	SEND(r, "/fxd/midi/map", "siiff", "/fx/vol/db", 1, 7, -40.0, 0.0);
	expect_done(r, "/fxd/midi/map");
	play(r, 4);
	tick(r);
	midi_in(r, 10, 0xB0, 7, 0);
	play(r, 8);
	ck_assert(AWAIT((tick(r), get_f(r, "/fx/vol/db") == -40.0f), 1.0));
	lo_message m = get_stats(r);
	ck_assert_double_ge(stat_of(m, "midi.events"), 1);
	ck_assert_double_eq(stat_of(m, "midi.overflows"), 0);
	ck_assert_double_ge(stat_of(m, "midi_frames.count"), 1);
	ck_assert_double_eq(stat_of(m, "midi_frames.max"), stat_of(m, "latency"));
	lo_message_free(m);
	rig_free(r);
}
END_TEST

/* A program change mapped to a preset loads it, as /fxd/preset/load. */
START_TEST(a_program_change_loads_its_preset)
{
	Rig *r = midi_rig();
	SEND(r, "/fx/lpf/cutoff", "f", 3000.0);
	SEND(r, "/fxd/preset/save", "s", "verse");
	expect_done(r, "/fxd/preset/save");
	SEND(r, "/fx/lpf/cutoff", "f", 500.0);
	SEND(r, "/fxd/midi/map", "s", "program 1 3 = preset verse");
	expect_done(r, "/fxd/midi/map");
	midi_in(r, 0, 0xC0, 3, 0);
	ck_assert(AWAIT(
		(tick(r), play(r, 1), get_f(r, "/fx/lpf/cutoff") == 3000.0f),
		1.0));
	rig_free(r);
}
END_TEST

/* ---- tap ------------------------------------------------------------------- */

/* Taps are timed by the messages' arrival: the tempo lies between what
 * the earliest and the latest arrivals the test saw allow. */
START_TEST(taps_set_the_tempo)
{
	Rig *r = midi_rig();
	enum { TAPS = 3 };
	double before[TAPS], after[TAPS];
	for (int i = 0; i < TAPS; i++) {
		if (i)
			nap_ms(400);
		before[i] = fx_osc_now();
		if (i == 1)
			SEND(r, "/fxd/tap", "i", 1); /* a button's press */
		else
			SEND(r, "/fxd/tap", "");
		after[i] = fx_osc_now();
	}
	/* A button's release is no tap. */
	SEND(r, "/fxd/tap", "i", 0);
	expect_nothing(&r->cl);
	tick(r);
	double lo = 60.0 * (TAPS - 1) / (after[TAPS - 1] - before[0]);
	double hi = 60.0 * (TAPS - 1) / (before[TAPS - 1] - after[0]);
	float bpm = get_f(r, "/fxd/bpm");
	ck_assert_msg(bpm >= lo - 0.01 && bpm <= hi + 0.01,
	              "tempo %g, taps allow %g..%g", bpm, lo, hi);
	SEND(r, "/fxd/tap", "s", "now");
	expect_fail(r, "/fxd/tap", "");
	rig_free(r);
}
END_TEST

/* ---- morphing -------------------------------------------------------------- */

static void save_preset(Rig *r, const char *name, double cutoff, double db)
{
	SEND(r, "/fx/lpf/cutoff", "f", cutoff);
	SEND(r, "/fx/vol/db", "f", db);
	SEND(r, "/fxd/preset/save", "s", name);
	expect_done(r, "/fxd/preset/save");
}

static void assert_near(float got, double want)
{
	ck_assert_msg(fabs(got - want) <= 1e-4 * fabs(want) + 1e-4,
	              "%.9g, wanted %.9g", got, want);
}

START_TEST(morph_between_two_presets)
{
	Rig *r = midi_rig();
	save_preset(r, "dark", 1000, -20);
	save_preset(r, "bright", 4000, 0);
	SEND(r, "/fxd/morph", "");
	expect_fail(r, "/fxd/morph", "not been moved");
	SEND(r, "/fxd/morph", "f", 0.5);
	expect_fail(r, "/fxd/morph", ""); /* no ends yet */
	SEND(r, "/fxd/morph/a", "s", "dark");
	expect_done(r, "/fxd/morph/a");
	SEND(r, "/fxd/morph/b", "s", "bright");
	expect_done(r, "/fxd/morph/b");
	SEND(r, "/fxd/morph/a", "");
	lo_message m = expect(&r->cl, "/fxd/morph/a", "s", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "dark");
	lo_message_free(m);
	SEND(r, "/fxd/morph/b", "");
	m = expect(&r->cl, "/fxd/morph/b", "s", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "bright");
	lo_message_free(m);

	/* The ends exactly, the middle in each parameter's scale (log for
	 * Hz, dB already in dB); past the ends clamped. */
	static const struct {
		double x, cutoff, db;
	} points[] = {{0, 1000, -20},
	              {1, 4000, 0},
	              {0.5, 2000, -10},
	              {-3, 1000, -20},
	              {7, 4000, 0}};
	for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
		SEND(r, "/fxd/morph", "f", points[i].x);
		expect_nothing(&r->cl);
		if (points[i].x == 0 || points[i].x == 1) {
			ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"),
			                   (float)points[i].cutoff);
			ck_assert_float_eq(get_f(r, "/fx/vol/db"),
			                   (float)points[i].db);
		} else {
			assert_near(get_f(r, "/fx/lpf/cutoff"), points[i].cutoff);
			assert_near(get_f(r, "/fx/vol/db"), points[i].db);
		}
	}
	SEND(r, "/fxd/morph", "f", 0.25);
	ck_assert_float_eq(get_f(r, "/fxd/morph"), 0.25f);
	char *text = json_of(r);
	ck_assert_msg(strstr(text, "\"morph\":{\"a\":\"dark\",\"b\":\"bright\","
	                           "\"position\":0.25}"),
	              "%s", text);
	free(text);

	SEND(r, "/fxd/morph/b", "s", "nope");
	expect_fail(r, "/fxd/morph/b", "no preset 'nope'");
	SEND(r, "/fxd/morph/b", "s", "../x");
	expect_fail(r, "/fxd/morph/b", "bad preset name");
	/* Another structure is refused, with a reason. */
	char path[256];
	snprintf(path, sizeof path, "%s/other.fxchain", r->preset_dir);
	write_file(path, "vol:gain db=-3\n", 15);
	SEND(r, "/fxd/morph/b", "s", "other");
	expect_fail(r, "/fxd/morph/b", "");
	SEND(r, "/fxd/morph", "s", "half");
	expect_fail(r, "/fxd/morph", "");
	rig_free(r);
}
END_TEST

/* The morph position is fed back like a parameter: a subscriber gets it
 * in its state and whenever it moves, once per flush. */
START_TEST(morph_position_is_fed_back)
{
	Rig *r = midi_rig();
	save_preset(r, "dark", 1000, -20);
	save_preset(r, "bright", 4000, 0);
	SEND(r, "/fxd/morph/a", "s", "dark");
	expect_done(r, "/fxd/morph/a");
	SEND(r, "/fxd/morph/b", "s", "bright");
	expect_done(r, "/fxd/morph/b");
	subscribe(r);
	Replies rs;
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/fxd/morph", NULL), 0); /* unset */
	replies_free(&rs);
	SEND(r, "/fxd/morph", "f", 0.75);
	SEND(r, "/fxd/morph", "f", 0.5);
	tick_collect(r, &rs);
	lo_message last = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/morph", &last), 1);
	ck_assert_str_eq(types_of(last), "f");
	ck_assert_float_eq(arg_f(last, 0), 0.5f);
	replies_free(&rs);
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/fxd/morph", NULL), 0);
	replies_free(&rs);
	/* A new subscription's state holds it. */
	SEND(r, "/fxd/subscribe", "");
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(count_path(&rs, "/fxd/morph", &last), 1);
	ck_assert_float_eq(arg_f(last, 0), 0.5f);
	replies_free(&rs);
	rig_free(r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"midi", 60, .tests = {
			{every_midi_method_fails_while_midi_is_off, 0},
			{map_list_and_unmap, 0},
			{map_refuses_bad_arguments, 0},
			{learn_answers_with_the_control_heard, 0},
			{a_mapped_cc_moves_its_parameter_and_is_timed, 0},
			{a_program_change_loads_its_preset, 0},
			{taps_set_the_tempo, 0},
			{morph_between_two_presets, 0},
			{morph_position_is_fed_back, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("osc_midi", cases));
}

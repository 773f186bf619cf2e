/* SPDX-License-Identifier: ISC */
/* OSC unit tests, presets and the state file over OSC. */
#define _GNU_SOURCE
#include "tests/unit/osc_fixture.h"
#include "daemon/engine/persist.h"
#include "dsp/lv2.h"

/* Names in @p dir, sorted, joined with spaces. */
static void list_dir(const char *dir, char *out, size_t size)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") &&
		    strcmp(names[i]->d_name, "..")) {
			if (*out)
				strncat(out, " ", size - strlen(out) - 1);
			strncat(out, names[i]->d_name, size - strlen(out) - 1);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

START_TEST(presets_save_load_and_list)
{
	Rig *r = rig_new();
	SEND(r, "/fxd/preset/list", "");
	lo_message_free(expect(&r->cl, "/fxd/preset/list", "", WAIT_MS));
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	SEND(r, "/fx/vol/bypass", "i", 1);
	SEND(r, "/fxd/preset/save", "s", "a");
	expect_done(r, "/fxd/preset/save");
	SEND(r, "/fx/lpf/cutoff", "f", 500.0);
	SEND(r, "/fx/vol/bypass", "i", 0);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 500.0f);
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fxd/preset/load", "s", "a");
	expect_done(r, "/fxd/preset/load");
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 2000.0f);
	ck_assert_int_eq(get_i(r, "/fx/vol/bypass"), 1);
	/* Same shape: the values glide, and subscribers hear of each. */
	Replies rs;
	tick_collect(r, &rs);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/cutoff", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), 2000.0f);
	ck_assert_int_eq(count_path(&rs, "/fx/vol/bypass", &m), 1);
	ck_assert_int_eq(arg_i(m, 0), 1);
	/* No new chain, but its text follows the values: once. */
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", &m), 1);
	ck_assert_ptr_nonnull(strstr(arg_s(m, 0), "cutoff=2000 "));
	ck_assert_int_eq(count_path(&rs, "/fxd/subscribed", NULL), 0);
	replies_free(&rs);
	SEND(r, "/fxd/unsubscribe", "");
	drain(&r->cl);

	SEND(r, "/fxd/preset/save", "s", "b-2_x.y");
	expect_done(r, "/fxd/preset/save");
	SEND(r, "/fxd/preset/list", "");
	m = expect(&r->cl, "/fxd/preset/list", "ss", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "a");
	ck_assert_str_eq(arg_s(m, 1), "b-2_x.y");
	lo_message_free(m);
	SEND(r, "/fxd/preset/load", "s", "missing");
	expect_fail(r, "/fxd/preset/load", "no preset 'missing'");

	/* A preset of another shape swaps the chain. */
	char path[160];
	snprintf(path, sizeof path, "%s/other.fxchain", r->preset_dir);
	write_file(path, "vol:gain db=-3\n", 15);
	snprintf(path, sizeof path, "%s/broken.fxchain", r->preset_dir);
	write_file(path, "vol:gain db=loud\n", 17);
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fxd/preset/load", "s", "other");
	expect_done(r, "/fxd/preset/load");
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -3.0f);
	SEND(r, "/fx/lpf/cutoff", "");
	expect_fail(r, "/fx/lpf/cutoff", "no slot");
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", &m), 1);
	ck_assert_ptr_nonnull(strstr(arg_s(m, 0), "vol:gain"));
	replies_free(&rs);
	SEND(r, "/fxd/preset/load", "s", "broken");
	expect_fail(r, "/fxd/preset/load", "broken:1:");
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -3.0f);
	SEND(r, "/fxd/preset/list", "");
	m = expect(&r->cl, "/fxd/preset/list", "ssss", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "a");
	ck_assert_str_eq(arg_s(m, 1), "b-2_x.y");
	ck_assert_str_eq(arg_s(m, 2), "broken");
	ck_assert_str_eq(arg_s(m, 3), "other");
	lo_message_free(m);
	rig_free(r);
}
END_TEST

START_TEST(presets_refuse_bad_names)
{
	static const char *const bad[] = {"../x", ".hidden", "a/b", "",
	                                  "a b",  "/tmp/x",  "..",  "x\\y"};
	Rig *r = rig_new();
	SEND(r, "/fxd/preset/save", "s", "a");
	expect_done(r, "/fxd/preset/save");
	char name[70];
	memset(name, 'n', 64);
	name[64] = '\0';
	SEND(r, "/fxd/preset/save", "s", name); /* 64: the longest */
	expect_done(r, "/fxd/preset/save");
	FxOscCounters before = counters(r);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		SEND(r, "/fxd/preset/save", "s", bad[i]);
		expect_fail(r, "/fxd/preset/save", "bad preset name");
		SEND(r, "/fxd/preset/load", "s", bad[i]);
		expect_fail(r, "/fxd/preset/load", "bad preset name");
	}
	strcat(name, "n");
	SEND(r, "/fxd/preset/save", "s", name);
	expect_fail(r, "/fxd/preset/save", "bad preset name");
	SEND(r, "/fxd/preset/save", "S", "../y");
	expect_fail(r, "/fxd/preset/save", "bad preset name");
	SEND(r, "/fxd/preset/save", "i", 1);
	expect_fail(r, "/fxd/preset/save", "string");
	ck_assert_uint_eq(counters(r).rejected - before.rejected,
	                  2 * (sizeof bad / sizeof bad[0]) + 3);
	char names[512], want[128];
	list_dir(r->dir, names, sizeof names);
	ck_assert_str_eq(names, "presets");
	list_dir(r->preset_dir, names, sizeof names);
	name[64] = '\0';
	snprintf(want, sizeof want, "a.fxchain %s.fxchain", name);
	ck_assert_str_eq(names, want);
	ck_assert_int_ne(access("/tmp/x.fxchain", F_OK), 0);
	rig_free(r);
}
END_TEST

/* ---- the state file ------------------------------------------------------- */

START_TEST(state_file_round_trips)
{
	Rig *r = rig_new();
	char err[512] = "";
	/* Nothing changed: nothing written. */
	ck_assert_int_eq(fx_control_save_state(r->c, 0, err, sizeof err), 0);
	ck_assert_int_ne(access(r->state_file, F_OK), 0);
	SEND(r, "/fx/lpf/cutoff", "f", 2345.0);
	SEND(r, "/fx/hpf/bypass", "i", 1);
	SEND(r, "/fxd/bpm", "f", 140.0);
	/* Just changed: not due yet unless forced. */
	ck_assert_int_eq(fx_control_save_state(r->c, 0, err, sizeof err), 0);
	ck_assert_int_ne(access(r->state_file, F_OK), 0);
	ck_assert_int_eq(fx_control_save_state(r->c, 1, err, sizeof err), 0);
	ck_assert_int_eq(access(r->state_file, F_OK), 0);

	FxChainSpec spec, now;
	double bpm = 0;
	ck_assert_int_eq(
		fx_state_read(r->state_file, &spec, &bpm, err, sizeof err),
		FX_OK);
	ck_assert_double_eq(bpm, 140);
	fx_control_get_spec(r->c, &now);
	char a[4096], b[4096];
	fx_spec_format(&spec, a, sizeof a);
	fx_spec_format(&now, b, sizeof b);
	ck_assert_str_eq(a, b);
	ck_assert_double_eq(spec.slots[1].values[0], 2345);
	ck_assert_int_eq(spec.slots[0].bypass, 1);

	/* A later change is written once it rests (0.25 s). */
	SEND(r, "/fxd/bpm", "f", 100.0);
	nap_ms(300);
	ck_assert_int_eq(fx_control_save_state(r->c, 0, err, sizeof err), 0);
	ck_assert_int_eq(
		fx_state_read(r->state_file, &spec, &bpm, err, sizeof err),
		FX_OK);
	ck_assert_double_eq(bpm, 100);
	char tmp[128];
	snprintf(tmp, sizeof tmp, "%s.tmp", r->state_file);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	rig_free(r);
}
END_TEST

START_TEST(state_file_write_failure_is_reported_and_retried)
{
	Rig *r = rig_new();
	char blocker[128], path[160], err[512] = "";
	snprintf(blocker, sizeof blocker, "%s/file", r->dir);
	write_file(blocker, "x", 1);
	snprintf(path, sizeof path, "%s/state", blocker); /* under a file */
	FxControlConfig cc = {.preset_dir = r->preset_dir, .state_file = path};
	FxControl *c = fx_control_new(r->e, &cc);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(fx_control_set_bpm(c, 150), FX_OK);
	ck_assert_int_eq(fx_control_save_state(c, 1, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, blocker));
	/* Still unsaved: once the file can be written, it is. */
	unlink(blocker);
	mkdir(blocker, 0755);
	ck_assert_int_eq(fx_control_save_state(c, 1, err, sizeof err), 0);
	FxChainSpec spec;
	double bpm = 0;
	ck_assert_int_eq(fx_state_read(path, &spec, &bpm, err, sizeof err),
	                 FX_OK);
	ck_assert_double_eq(bpm, 150);
	fx_control_free(c);
	rig_free(r);
}
END_TEST

START_TEST(state_file_damage_is_reported)
{
	static const char *const bad[] = {
		"",
		"hello\n",
		"fxd-state 2\nbpm 120\nchain vol:gain\n",
		"fxd-state 1\nbpm fast\nchain vol:gain\n",
		"fxd-state 1\nbpm nan\nchain vol:gain\n",
		"fxd-state 1\nbpm 120\n",
		"fxd-state 1\nbpm 120\nchain vol:gian db=0\n",
		"fxd-state 1\nchain lpf:lowpass cutoff=1e9\n",
	};
	Rig *r = rig_new();
	FxChainSpec spec;
	double bpm = 0;
	char err[512];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(r->state_file, bad[i], strlen(bad[i]));
		err[0] = '\0';
		FxStatus st = fx_state_read(r->state_file, &spec, &bpm, err,
		                            sizeof err);
		ck_assert_msg(st != FX_OK, "accepted: %s", bad[i]);
		ck_assert_msg(st != FX_ERR_IO, "damage reported as missing");
		ck_assert_msg(*err, "no message for: %s", bad[i]);
	}
	/* Random bytes. */
	uint8_t junk[3000];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (uint8_t)(x >> 16);
	}
	write_file(r->state_file, junk, sizeof junk);
	err[0] = '\0';
	ck_assert_int_ne(
		fx_state_read(r->state_file, &spec, &bpm, err, sizeof err),
		FX_OK);
	ck_assert(*err);
	/* A good one, written by hand. */
	static const char good[] = "fxd-state 1\nbpm 97.5\nchain vol:gain db=-3\n";
	write_file(r->state_file, good, strlen(good));
	ck_assert_int_eq(
		fx_state_read(r->state_file, &spec, &bpm, err, sizeof err),
		FX_OK);
	ck_assert_double_eq(bpm, 97.5);
	ck_assert_int_eq(spec.n_slots, 1);
	ck_assert_double_eq(spec.slots[0].values[0], -3);
	/* None at all. */
	unlink(r->state_file);
	ck_assert_int_eq(
		fx_state_read(r->state_file, &spec, &bpm, err, sizeof err),
		FX_ERR_IO);
	rig_free(r);
}
END_TEST

/* 1,200 presets are more than a datagram holds: the list comes in
 * numbered parts, as /fxd/json does. */
START_TEST(a_long_preset_list_comes_in_parts)
{
	Rig *r = rig_new();
	make_presets(r, 1200);
	SEND(r, "/fxd/preset/list", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_msg(rs.n > 0,
	              "no answer to /fxd/preset/list (%llu send "
	              "errors)",
	              counters(r).send_errors);
	ck_assert_int_eq(preset_parts(&rs, FX_OSC_JSON_PART), 1200);
	replies_free(&rs);
	ck_assert_uint_eq(counters(r).send_errors, 0);
	rig_free(r);
}
END_TEST

/* ---- an LV2 plugin's own state (tests/lv2: a run counter kept as state) -- */

#define COUNT "urn:fxd:test:state-count"

/* The run count the rig's plugin slot reports, over OSC. */
static int runs(Rig *r)
{
	return (int)get_f(r, "/fx/n/runs");
}

static char *text_of(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	static char text[1 << 16];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* Until the swap asked for last is heard and the one before collected:
 * 20 periods, a collect, 5 more, another collect. */
static void settle(Rig *r)
{
	play(r, 20);
	tick(r);
	play(r, 5);
	tick(r);
}

START_TEST(plugin_state_round_trips_through_presets_and_the_state_file)
{
	Rig *r = rig_open((RigOptions){.chain = "n:lv2 uri=" COUNT " | vol:gain"});
	play(r, 40);
	ck_assert_int_eq(runs(r), 40);
	SEND(r, "/fxd/preset/save", "s", "counted");
	expect_done(r, "/fxd/preset/save");
	char path[256], err[512];
	snprintf(path, sizeof path, "%s/counted.fxchain", r->preset_dir);
	ck_assert_ptr_nonnull(strstr(text_of(path), " state="));

	/* Loaded over the chain it was saved from: only values could
	 * differ, so nothing is rebuilt and the count goes on. */
	play(r, 10);
	SEND(r, "/fxd/preset/load", "s", "counted");
	expect_done(r, "/fxd/preset/load");
	play(r, 1);
	ck_assert_int_eq(runs(r), 51);

	/* The chain's text over OSC leaves the state out; loaded back (a
	 * rebuild), the plugin keeps the state it has now. */
	SEND(r, "/fxd/chain", "");
	lo_message m = expect(&r->cl, "/fxd/chain", "s", WAIT_MS);
	char text[1024];
	snprintf(text, sizeof text, "%s", arg_s(m, 0));
	lo_message_free(m);
	ck_assert_ptr_null(strstr(text, "state="));
	SEND(r, "/fxd/chain/load", "s", text);
	expect_done(r, "/fxd/chain/load");
	play(r, 1);
	ck_assert_int_eq(runs(r), 52);

	/* Another chain with the same plugin, labelled the same: it keeps
	 * its state through the rebuild; an unlabelled one starts afresh, and
	 * so does a labelled one over it (settle: the swap is queued, taken,
	 * crossfaded and collected, and the new chain ran 5 chunks). */
	SEND(r, "/fxd/chain/load", "s", "n:lv2 uri=" COUNT);
	expect_done(r, "/fxd/chain/load");
	settle(r);
	ck_assert_int_eq(runs(r), 52 + 20 + 5);
	SEND(r, "/fxd/chain/load", "s", "lv2 uri=" COUNT);
	expect_done(r, "/fxd/chain/load");
	settle(r);
	ck_assert_int_eq((int)get_f(r, "/fx/0/runs"), 20 + 5);
	SEND(r, "/fxd/chain/load", "s", "n:lv2 uri=" COUNT);
	expect_done(r, "/fxd/chain/load");
	settle(r);
	ck_assert_int_eq(runs(r), 20 + 5);
	/* A preset with a state of its own: rebuilt from its saved count. */
	SEND(r, "/fxd/preset/load", "s", "counted");
	expect_done(r, "/fxd/preset/load");
	play(r, 1);
	ck_assert_int_eq(runs(r), 41);

	/* The state file: the last save of a run writes the plugin's state
	 * even when no value changed, and a chain built from it goes on. */
	play(r, 9);
	tick(r);
	ck_assert_int_eq(fx_control_save_state(r->c, 1, err, sizeof err), 0);
	FxChainSpec spec;
	double bpm;
	ck_assert_int_eq(
		fx_state_read(r->state_file, &spec, &bpm, err, sizeof err),
		FX_OK);
	ck_assert_ptr_nonnull(spec.slots[0].saved);
	FxChainConfig cfg = fx_chain_config_default();
	FxStatus st;
	FxChain *c = fx_chain_new(&spec, &cfg, &st);
	ck_assert_ptr_nonnull(c);
	static float x[2][256];
	float *buf[2] = {x[0], x[1]};
	fx_chain_process(c, buf, 256);
	float out[FX_MAX_OUTPUTS];
	ck_assert_int_eq(fx_chain_slot_outputs(c, 0, out), 1);
	ck_assert_int_eq((int)out[0], 51);
	fx_chain_free(c);
	rig_free(r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"namespace", 60, .tests = {
			{presets_save_load_and_list, 0},
			{presets_refuse_bad_names, 0},
			{state_file_round_trips, 0},
			{state_file_write_failure_is_reported_and_retried, 0},
			{state_file_damage_is_reported, 0},
			{a_long_preset_list_comes_in_parts, 0},
		}},
		{"lv2 state", 60, .tests = {
			{plugin_state_round_trips_through_presets_and_the_state_file, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	/* fxd's test plugins only: the LV2 world is read at first use. */
	const char *top = getenv("FX_BUILDDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/lv2-path", top ? top : ".");
	setenv("LV2_PATH", path, 1);
	int rc = fx_test_run(fx_test_suite("osc_presets", cases));
	fx_lv2_release();
	return rc;
}

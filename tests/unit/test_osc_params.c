/* SPDX-License-Identifier: ISC */
/* OSC unit tests, parameter addresses: labels, indexes, patterns, norm, enum labels, aliases, argument types. */
#define _GNU_SOURCE
#include "tests/unit/osc_fixture.h"

#include <sndfile.h>
#include "daemon/base/netaddr.h"
#include "daemon/engine/persist.h"

START_TEST(set_and_get_by_label_and_index)
{
	Rig *r = rig_new();
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 12000.0f);
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	expect_nothing(&r->cl); /* no reply on success */
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 2000.0f);
	/* By index: the reply is on the canonical (label) path. */
	SEND(r, "/fx/1/cutoff", "f", 3000.0);
	SEND(r, "/fx/1/cutoff", "");
	lo_message m = expect(&r->cl, "/fx/lpf/cutoff", "f", WAIT_MS);
	ck_assert_float_eq(arg_f(m, 0), 3000.0f);
	lo_message_free(m);
	ck_assert_double_eq(fx_engine_get_param(r->e, (FxParamRef){1, 0}),
	                    3000.0);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), 0.0f);
	ck_assert_int_eq(get_i(r, "/fx/hpf/bypass"), 0);
	FxOscCounters c = counters(r);
	ck_assert_uint_eq(c.rejected, 0);
	rig_free(r);
}
END_TEST

START_TEST(numbers_in_every_type_and_booleans)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "i", 1500);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 1500.0f);
	SEND(r, "/fx/lpf/cutoff", "h", (int64_t)2500);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 2500.0f);
	SEND(r, "/fx/lpf/cutoff", "d", 3500.5);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 3500.5f);
	SEND(r, "/fx/vol/db", "d", -6.5);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -6.5f);

	SEND(r, "/fx/lpf/bypass", "T");
	ck_assert_int_eq(get_i(r, "/fx/lpf/bypass"), 1);
	SEND(r, "/fx/lpf/bypass", "F");
	ck_assert_int_eq(get_i(r, "/fx/lpf/bypass"), 0);
	SEND(r, "/fx/2/bypass", "i", 1);
	ck_assert_int_eq(get_i(r, "/fx/vol/bypass"), 1);
	SEND(r, "/fx/vol/bypass", "f", 0.0);
	ck_assert_int_eq(get_i(r, "/fx/vol/bypass"), 0);
	ck_assert_uint_eq(counters(r).rejected, 0);
	rig_free(r);
}
END_TEST

START_TEST(out_of_range_values_are_clamped)
{
	Rig *r = rig_new();
	const FxParamInfo *cut = param_info("lowpass", "cutoff");
	const FxParamInfo *db = param_info("gain", "db");
	SEND(r, "/fx/lpf/cutoff", "f", 1e9);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), (float)cut->max);
	SEND(r, "/fx/lpf/cutoff", "i", -5);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), (float)cut->min);
	SEND(r, "/fx/vol/db", "h", (int64_t)-1000000000000LL);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), (float)db->min);
	SEND(r, "/fx/vol/db/norm", "f", 7.0);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), (float)db->max);
	SEND(r, "/fx/vol/db/norm", "f", -1.0);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), (float)db->min);
	ck_assert_uint_eq(counters(r).rejected, 0);
	rig_free(r);
}
END_TEST

START_TEST(norm_round_trips_through_the_scale)
{
	Rig *r = rig_new();
	const FxParamInfo *cut = param_info("lowpass", "cutoff");
	const FxParamInfo *db = param_info("gain", "db");
	/* Set through /norm: the value follows the log scale. */
	SEND(r, "/fx/lpf/cutoff/norm", "f", 0.25);
	double want = fx_param_from_norm(cut, (float)0.25);
	ck_assert_double_eq_tol(get_f(r, "/fx/lpf/cutoff"), want, want * 1e-6);
	ck_assert_double_eq_tol(get_f(r, "/fx/lpf/cutoff/norm"), 0.25, 1e-6);
	/* Set in Hz, read the norm. */
	SEND(r, "/fx/lpf/cutoff", "f", 1000.0);
	ck_assert_double_eq_tol(get_f(r, "/fx/lpf/cutoff/norm"),
	                        fx_param_to_norm(cut, 1000), 1e-6);
	/* dB is linear: 0.5 of -96..24 is -36. */
	SEND(r, "/fx/2/db/norm", "f", 0.5);
	ck_assert_double_eq_tol(get_f(r, "/fx/vol/db"),
	                        fx_param_from_norm(db, 0.5), 1e-5);
	ck_assert_double_eq_tol(get_f(r, "/fx/vol/db"), -36.0, 1e-5);
	SEND(r, "/fx/vol/db/norm", "");
	lo_message m = expect(&r->cl, "/fx/vol/db/norm", "f", WAIT_MS);
	ck_assert_double_eq_tol(arg_f(m, 0), 0.5, 1e-6);
	lo_message_free(m);
	rig_free(r);
}
END_TEST

START_TEST(bad_values_fail_and_change_nothing)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	FxOscCounters before = counters(r);
	SEND(r, "/fx/lpf/cutoff", "f", (double)NAN);
	expect_fail(r, "/fx/lpf/cutoff", "finite");
	SEND(r, "/fx/lpf/cutoff", "d", (double)INFINITY);
	expect_fail(r, "/fx/lpf/cutoff", "finite");
	SEND(r, "/fx/lpf/cutoff/norm", "f", (double)-INFINITY);
	expect_fail(r, "/fx/lpf/cutoff/norm", "finite");
	SEND(r, "/fx/lpf/cutoff", "s", "2000");
	expect_fail(r, "/fx/lpf/cutoff", "number");
	SEND(r, "/fx/lpf/cutoff", "ff", 1.0, 2.0);
	expect_fail(r, "/fx/lpf/cutoff", "one number");
	SEND(r, "/fx/lpf/cutoff", "N");
	expect_fail(r, "/fx/lpf/cutoff", "number");
	SEND(r, "/fx/lpf/bypass", "ii", 1, 1);
	expect_fail(r, "/fx/lpf/bypass", "one number");
	/* Methods that need arguments, given none. */
	SEND(r, "/fxd/sync", "");
	expect_fail(r, "/fxd/sync", "");
	SEND(r, "/fxd/chain/load", "");
	expect_fail(r, "/fxd/chain/load", "string");
	SEND(r, "/fxd/preset/save", "");
	expect_fail(r, "/fxd/preset/save", "string");
	SEND(r, "/fxd/reset_state", "i", 1);
	expect_fail(r, "/fxd/reset_state", "no arguments");
	FxOscCounters after = counters(r);
	ck_assert_uint_eq(after.received - before.received, 11);
	ck_assert_uint_eq(after.rejected - before.rejected, 11);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 2000.0f);
	ck_assert_int_eq(get_i(r, "/fx/lpf/bypass"), 0);
	expect_nothing(&r->cl);
	rig_free(r);
}
END_TEST

START_TEST(structural_changes_coalesce_to_the_last_value)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/order", "f", 2.6); /* whole numbers only */
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/lpf/order"), 3.0f);
	/* Each change is a rebuild with a crossfade; without audio none of
	 * them can run, yet none is refused: they coalesce, and the last
	 * one sent is the one that runs. */
	for (int i = 0; i < 32; i++)
		SEND(r, "/fx/lpf/order", "i", 4 + i % 2);
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/lpf/order"), 5.0f);
	SEND(r, "/fxd/sync", "i", 1);
	expect_nothing(&r->cl);
	for (int p = 0; p < 200; p++) {
		play(r, 1);
		fx_osc_tick(r->o);
		fx_engine_collect(r->e);
	}
	lo_message m = expect(&r->cl, "/fxd/synced", "i", WAIT_MS);
	lo_message_free(m);
	ck_assert_float_eq(get_f(r, "/fx/lpf/order"), 5.0f);
	SEND(r, "/fx/lpf/order", "i", 6);
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/lpf/order"), 6.0f);
	rig_free(r);
}
END_TEST

/* ---- patterns ------------------------------------------------------------- */

START_TEST(pattern_bypasses_every_slot_once)
{
	static const char *const labels[] = {"hpf", "lpf", "vol"};
	Rig *r = rig_new();
	subscribe(r);
	tick(r); /* meters, stats: the first tick's periodic messages */
	drain(&r->cl);
	SEND(r, "/fx/*/bypass", "i", 1);
	expect_nothing(&r->cl);
	for (int s = 0; s < 3; s++) {
		char path[64];
		snprintf(path, sizeof path, "/fx/%s/bypass", labels[s]);
		ck_assert_int_eq(get_i(r, path), 1);
	}
	/* One staged change per slot, not one per matching name. */
	ck_assert_uint_eq(fx_engine_staged_seq(r->e), 3);

	Replies rs;
	tick_collect(r, &rs);
	for (int s = 0; s < 3; s++) {
		char path[64];
		snprintf(path, sizeof path, "/fx/%s/bypass", labels[s]);
		lo_message m = NULL;
		ck_assert_int_eq(count_path(&rs, path, &m), 1);
		ck_assert_str_eq(types_of(m), "i");
		ck_assert_int_eq(arg_i(m, 0), 1);
	}
	ck_assert_int_eq(count_prefix(&rs, "/fx/"), 3);
	replies_free(&rs);

	/* A pattern get answers once per parameter, on canonical paths. */
	SEND(r, "/fx/*/cutoff", "");
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(rs.n, 2);
	ck_assert_int_eq(count_path(&rs, "/fx/hpf/cutoff", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/cutoff", NULL), 1);
	replies_free(&rs);
	SEND(r, "/fx/[0-1]/q", "f", 2.0);
	ck_assert_float_eq(get_f(r, "/fx/hpf/q"), 2.0f);
	ck_assert_float_eq(get_f(r, "/fx/lpf/q"), 2.0f);
	SEND(r, "/fx/{lpf,vol}/bypass", "i", 0);
	ck_assert_int_eq(get_i(r, "/fx/hpf/bypass"), 1);
	ck_assert_int_eq(get_i(r, "/fx/lpf/bypass"), 0);
	ck_assert_int_eq(get_i(r, "/fx/vol/bypass"), 0);
	SEND(r, "/fx/*/nothing", "f", 1.0);
	expect_fail(r, "/fx/*/nothing", "matches no parameter");
	rig_free(r);
}
END_TEST

START_TEST(patterns_over_unlabelled_slots)
{
	Rig *r = rig_open((RigOptions){.chain = "highpass | lpf:lowpass | gain"});
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fx/*/bypass", "i", 1);
	ck_assert_uint_eq(fx_engine_staged_seq(r->e), 3);
	SEND(r, "/fx/{0,lpf,1}/cutoff", "f", 500.0);
	ck_assert_uint_eq(fx_engine_staged_seq(r->e), 5);
	ck_assert_float_eq(get_f(r, "/fx/0/cutoff"), 500.0f);
	Replies rs;
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/fx/0/bypass", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/bypass", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/2/bypass", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/1/bypass", NULL), 0);
	ck_assert_int_eq(count_path(&rs, "/fx/0/cutoff", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/cutoff", NULL), 1);
	ck_assert_int_eq(count_prefix(&rs, "/fx/"), 3 + 2 * 2);
	replies_free(&rs);
	/* An index query of a labelled slot answers on its label. */
	SEND(r, "/fx/1/bypass", "");
	lo_message m = expect(&r->cl, "/fx/lpf/bypass", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), 1);
	lo_message_free(m);
	SEND(r, "/fx/2/db", "");
	lo_message_free(expect(&r->cl, "/fx/2/db", "f", WAIT_MS));
	rig_free(r);
}
END_TEST

/* A bad value sent to a pattern is one bad message: one /fxd/fail and
 * one rejection, however many parameters the pattern matches. */
START_TEST(pattern_with_a_bad_value_is_rejected_once)
{
	Rig *r = rig_new();
	FxOscCounters before = counters(r);
	SEND(r, "/fx/*/cutoff", "s", "loud");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	int fails = count_path(&rs, "/fxd/fail", NULL);
	replies_free(&rs);
	FxOscCounters after = counters(r);
	rig_free(r);
	ck_assert_uint_eq(after.received - before.received, 1);
	ck_assert_msg(fails == 1 && after.rejected - before.rejected == 1,
	              "one message to /fx/*/cutoff got %d /fxd/fail replies "
	              "and %llu rejections",
	              fails, after.rejected - before.rejected);
}
END_TEST

/* ---- aliases and tempo ---------------------------------------------------- */

START_TEST(aliases_act_and_echo)
{
	static const char *const aliases[] = {"/1/fader1=/fx/vol/db/norm",
	                                      "/1/rotary1=/fx/2/db"};
	Rig *r = rig_open((RigOptions){.aliases = aliases, .n_aliases = 2});
	const FxParamInfo *db = param_info("gain", "db");
	SEND(r, "/fxd/subscribe", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message m = NULL;
	/* The full state covers the aliases too. */
	ck_assert_int_eq(count_path(&rs, "/1/fader1", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), (float)fx_param_to_norm(db, 0));
	ck_assert_int_eq(count_path(&rs, "/1/rotary1", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), 0.0f);
	replies_free(&rs);
	tick(r);
	drain(&r->cl);

	SEND(r, "/1/fader1", "f", 0.5);
	expect_nothing(&r->cl);
	ck_assert_double_eq_tol(get_f(r, "/fx/vol/db"),
	                        fx_param_from_norm(db, 0.5), 1e-5);
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/1/fader1", &m), 1);
	ck_assert_double_eq_tol(arg_f(m, 0), 0.5, 1e-6);
	ck_assert_int_eq(count_path(&rs, "/1/rotary1", &m), 1);
	ck_assert_double_eq_tol(arg_f(m, 0), -36, 1e-5);
	ck_assert_int_eq(count_path(&rs, "/fx/vol/db", &m), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/vol/db/norm", &m), 1);
	replies_free(&rs);

	SEND(r, "/1/rotary1", "i", -20);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -20.0f);
	/* A query through an alias answers on the canonical path. */
	SEND(r, "/1/fader1", "");
	m = expect(&r->cl, "/fx/vol/db/norm", "f", WAIT_MS);
	ck_assert_double_eq_tol(arg_f(m, 0), fx_param_to_norm(db, -20), 1e-6);
	lo_message_free(m);
	SEND(r, "/1/fader1", "s", "up");
	expect_fail(r, "/fx/vol/db/norm", "number");
	rig_free(r);
}
END_TEST

START_TEST(aliases_of_mute_and_tempo_echo)
{
	static const char *const aliases[] = {"/1/toggle1=/fxd/mute",
	                                      "/1/tempo=/fxd/bpm",
	                                      "/1/push1=/fxd/panic"};
	Rig *r = rig_open((RigOptions){.aliases = aliases, .n_aliases = 3});
	SEND(r, "/fxd/subscribe", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/1/toggle1", &m), 1);
	ck_assert_int_eq(arg_i(m, 0), 0);
	ck_assert_int_eq(count_path(&rs, "/1/tempo", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), 120.0f);
	replies_free(&rs);
	tick(r);
	drain(&r->cl);

	SEND(r, "/1/toggle1", "f", 1.0);
	SEND(r, "/1/tempo", "f", 133.0);
	expect_nothing(&r->cl);
	ck_assert_int_eq(fx_control_muted(r->c), 1);
	ck_assert_double_eq(fx_control_bpm(r->c), 133);
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/1/toggle1", &m), 1);
	ck_assert_int_eq(arg_i(m, 0), 1);
	ck_assert_int_eq(count_path(&rs, "/fxd/mute", &m), 1);
	ck_assert_int_eq(arg_i(m, 0), 1);
	ck_assert_int_eq(count_path(&rs, "/1/tempo", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), 133.0f);
	ck_assert_int_eq(count_path(&rs, "/fxd/bpm", &m), 1);
	replies_free(&rs);
	/* A push button: press and release, one panic. */
	SEND(r, "/1/push1", "f", 1.0);
	expect_done(r, "/fxd/panic");
	SEND(r, "/1/push1", "f", 0.0);
	expect_nothing(&r->cl);
	rig_free(r);
}
END_TEST

START_TEST(bad_aliases_are_refused)
{
	static const char *const bad[] = {
		"/1/fader1",      "/1/f=/fx/vol/db/", "/1/*=/fx/vol/db",
		"1/f=/fx/vol/db", "/1/f=fx/vol/db",   "/1/f /x=/fx/vol/db"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(fx_netaddr_check_alias(bad[i], NULL, 0),
		              "accepted %s", bad[i]);
		FxOscConfig oc = fx_osc_config_default();
		oc.port = 0;
		oc.aliases = &bad[i];
		oc.n_aliases = 1;
		char why[256] = "";
		FxOsc *o = fx_osc_new(&oc, NULL, why, sizeof why);
		ck_assert_ptr_null(o);
		ck_assert_ptr_nonnull(strstr(why, "alias"));
	}
	ck_assert_ptr_null(
		fx_netaddr_check_alias("/1/fader1=/fx/vol/db/norm", NULL, 0));
}
END_TEST

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "cannot read %s", path);
	static char text[16384];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* An 'f' argument is the float nearest its decimal: 0.3 arrives as
 * 0.300000011920928955078125, and is kept as the double 0.3, so the
 * chain, presets and the state file say 0.3 (not 0.30000001192092896). */
START_TEST(float_arguments_keep_their_shortest_decimal)
{
	Rig *r = rig_open((RigOptions){.chain = "verb:reverb | vol:gain"});
	SEND(r, "/fx/verb/room", "f", 0.3);
	SEND(r, "/fx/vol/db", "f", -4.1);
	SEND(r, "/fx/verb/damp", "d", 0.1);
	SEND(r, "/fxd/chain", "");
	lo_message m = expect(&r->cl, "/fxd/chain", "s", WAIT_MS);
	const char *text = arg_s(m, 0);
	ck_assert_msg(strstr(text, "room=0.3 ") && strstr(text, "db=-4.1") &&
	                      strstr(text, "damp=0.1 "),
	              "%s", text);
	lo_message_free(m);
	/* A controller reads back the float it sent. */
	ck_assert_float_eq(get_f(r, "/fx/verb/room"), 0.3f);
	SEND(r, "/fxd/preset/save", "s", "p");
	expect_done(r, "/fxd/preset/save");
	char path[160];
	snprintf(path, sizeof path, "%s/p.fxchain", r->preset_dir);
	text = slurp(path);
	ck_assert_msg(strstr(text, "room=0.3 ") && strstr(text, "db=-4.1"),
	              "%s: %s", path, text);
	char err[512] = "";
	ck_assert_int_eq(fx_control_save_state(r->c, 1, err, sizeof err), 0);
	text = slurp(r->state_file);
	ck_assert_msg(strstr(text, "room=0.3 ") && strstr(text, "db=-4.1"),
	              "state file: %s", text);
	rig_free(r);
}
END_TEST

/* A string naming one of an enum parameter's labels sets it; a number
 * still does; feedback and gets stay numeric for controllers. */
START_TEST(enum_parameters_take_their_labels)
{
	Rig *r = rig_open((RigOptions){.chain = "dly:delay | vol:gain"});
	const FxParamInfo *div = param_info("delay", "division");
	int eighth = label_index(div, "1/8");
	int sixteenth = label_index(div, "1/16");
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fx/dly/division", "s", "1/8");
	expect_nothing(&r->cl);
	Replies rs;
	tick_collect(r, &rs);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fx/dly/division", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), (float)eighth);
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", &m), 1);
	ck_assert_ptr_nonnull(strstr(arg_s(m, 0), "division=1/8 "));
	replies_free(&rs);
	SEND(r, "/fxd/unsubscribe", "");
	drain(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/dly/division"), (float)eighth);
	SEND(r, "/fx/dly/division", "i", 2);
	ck_assert_float_eq(get_f(r, "/fx/dly/division"), 2.0f);
	SEND(r, "/fx/0/division", "S", "1/16"); /* a symbol, by index */
	ck_assert_float_eq(get_f(r, "/fx/dly/division"), (float)sixteenth);
	SEND(r, "/fx/*/division", "s", "1/8"); /* a pattern */
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/dly/division"), (float)eighth);
	FxOscCounters before = counters(r);
	SEND(r, "/fx/dly/division", "s", "1/7");
	expect_fail(r, "/fx/dly/division",
	            "'1/7' is not a number or one of division's values: off, "
	            "1/1, 1/2");
	SEND(r, "/fx/dly/time", "s", "1/8");
	expect_fail(r, "/fx/dly/time", "expects a number");
	SEND(r, "/fx/dly/division/norm", "s", "1/8");
	expect_fail(r, "/fx/dly/division/norm", "expects a number");
	SEND(r, "/fx/dly/bypass", "s", "1/8");
	expect_fail(r, "/fx/dly/bypass", "expects a number");
	SEND(r, "/fx/*/d*", "s", "1/4");
	expect_fail(r, "/fx/*/d*", "not a value of 1 of the 2 parameters");
	ck_assert_uint_eq(counters(r).rejected - before.rejected, 5);
	/* The pattern set what it could. */
	ck_assert_float_eq(get_f(r, "/fx/dly/division"),
	                   (float)label_index(div, "1/4"));
	rig_free(r);
}
END_TEST

/* A rig whose control surface swaps the chain just before it takes its
 * lock for the swap_at-th time: between the OSC thread looking a slot up
 * and writing. */
typedef struct {
	FxControl *c;
	int calls, swap_at;
	FxChainSpec swap_to;
} SwapHook;

static void hook_lock(void *user)
{
	SwapHook *h = user;
	if (++h->calls == h->swap_at) {
		h->swap_at = 0;
		ck_assert_int_eq(fx_control_swap(h->c, &h->swap_to, NULL, 0),
		                 FX_OK);
	}
}

/* A SIGHUP swap between looking a label up and writing: the write lands
 * on the label in the new chain (or is refused), never on the old index. */
START_TEST(a_swap_between_lookup_and_write_moves_the_write)
{
	SwapHook h = {0};
	Rig *r = rig_open((RigOptions){.on_lock = hook_lock, .on_lock_user = &h});
	h.c = r->c;
	/* vol was slot 2; now slot 2 is another gain. */
	ck_assert(fx_spec_parse("vol:gain db=0 | hpf:highpass cutoff=80 | "
	                        "mon:gain db=0",
	                        "t", &h.swap_to, NULL) == FX_OK);
	h.calls = 0;
	h.swap_at = 2; /* 1: the lookup, 2: the write */
	SEND(r, "/fx/vol/db", "f", -12.0);
	expect_nothing(&r->cl);
	ck_assert_int_eq(h.swap_at, 0); /* it did swap in between */
	FxChainSpec now;
	fx_control_get_spec(r->c, &now);
	ck_assert_str_eq(now.slots[0].label, "vol");
	ck_assert_str_eq(now.slots[2].label, "mon");
	ck_assert_msg(now.slots[2].values[0] == 0 && now.slots[0].values[0] == -12,
	              "the write went to slot 2 (mon db=%g), not to vol "
	              "(db=%g)",
	              now.slots[2].values[0], now.slots[0].values[0]);
	/* A label gone with the swap: refused, nothing else written. */
	ck_assert(fx_spec_parse("mon:gain db=0 | x:gain db=0 | y:gain db=0",
	                        "t", &h.swap_to, NULL) == FX_OK);
	h.calls = 0;
	h.swap_at = 2;
	SEND(r, "/fx/vol/db", "f", -20.0);
	expect_fail(r, "/fx/vol/db", "no slot 'vol'");
	fx_control_get_spec(r->c, &now);
	for (int s = 0; s < now.n_slots; s++)
		ck_assert_double_eq(now.slots[s].values[0], 0);
	/* By index, the index of the new chain. */
	ck_assert(fx_spec_parse("a:gain db=0 | b:lowpass | c:gain db=0", "t",
	                        &h.swap_to, NULL) == FX_OK);
	h.calls = 0;
	h.swap_at = 2;
	SEND(r, "/fx/0/db", "f", -3.0);
	expect_nothing(&r->cl);
	fx_control_get_spec(r->c, &now);
	ck_assert_str_eq(now.slots[0].label, "a");
	ck_assert_double_eq(now.slots[0].values[0], -3);
	rig_free(r);
}
END_TEST

/* A one-frame impulse of @p gain as a mono WAV at 48 kHz. */
static void write_ir(const char *path, float gain)
{
	SF_INFO info = {.samplerate = 48000,
	                .channels = 1,
	                .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	ck_assert_ptr_nonnull(f);
	float x[64] = {gain};
	ck_assert_int_eq(sf_writef_float(f, x, 64), 64);
	sf_close(f);
}

/* A text parameter (the convolver's ir): a query answers the path as a
 * string, a string sets it (checked as the spec parser checks it; the
 * chain is rebuilt), a number or /norm is refused, and /fxd/info,
 * /fxd/json and OSCQuery's scale say "text". */
START_TEST(text_parameters_take_a_path)
{
	char dir[] = "/tmp/fxd-text-XXXXXX", a[96], b[96], chain[256];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(a, sizeof a, "%s/a.wav", dir);
	snprintf(b, sizeof b, "%s/b.wav", dir);
	write_ir(a, 1.0f);
	write_ir(b, 0.5f);
	snprintf(chain, sizeof chain,
	         "cab:convolver ir=%s normalize=off | "
	         "vol:gain",
	         a);
	Rig *r = rig_open((RigOptions){.chain = chain});
	SEND(r, "/fx/cab/ir", "");
	lo_message m = expect(&r->cl, "/fx/cab/ir", "s", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), a);
	lo_message_free(m);
	SEND(r, "/fx/cab/ir", "s", b);
	m = NULL;
	SEND(r, "/fx/cab/ir", "");
	m = expect(&r->cl, "/fx/cab/ir", "s", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), b);
	lo_message_free(m);
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	ck_assert_str_eq(fx_text_of(spec.slots[0].values[0]), b);
	SEND(r, "/fx/cab/ir", "f", 3.0);
	expect_fail(r, "/fx/cab/ir", "ir is text (a path): send a string");
	SEND(r, "/fx/cab/ir/norm", "f", 0.5);
	expect_fail(r, "/fx/cab/ir/norm", "it has no /norm");
	SEND(r, "/fx/cab/ir/norm", "");
	expect_fail(r, "/fx/cab/ir/norm", "it has no /norm");
	SEND(r, "/fx/cab/ir", "s", "/nonexistent/cab.wav");
	expect_fail(r, "/fx/cab/ir", "convolver: ir=/nonexistent/cab.wav");
	fx_control_get_spec(r->c, &spec);
	ck_assert_str_eq(fx_text_of(spec.slots[0].values[0]), b);
	SEND(r, "/fxd/info", "s", "/fx/cab/ir");
	m = expect(&r->cl, "/fxd/param", "ssffffsss", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 7), "text");
	ck_assert_str_eq(arg_s(m, 8), b);
	lo_message_free(m);
	char *json = json_of(r);
	char want[160];
	snprintf(want, sizeof want, "\"name\":\"ir\",\"value\":\"%s\"", b);
	ck_assert_msg(strstr(json, want), "%s", json);
	free(json);
	rig_free(r);
	unlink(a);
	unlink(b);
	rmdir(dir);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"namespace", 60, .tests = {
			{set_and_get_by_label_and_index, 0},
			{numbers_in_every_type_and_booleans, 0},
			{out_of_range_values_are_clamped, 0},
			{norm_round_trips_through_the_scale, 0},
			{bad_values_fail_and_change_nothing, 0},
			{structural_changes_coalesce_to_the_last_value, 0},
			{pattern_bypasses_every_slot_once, 0},
			{patterns_over_unlabelled_slots, 0},
			{pattern_with_a_bad_value_is_rejected_once, 0},
			{aliases_act_and_echo, 0},
			{aliases_of_mute_and_tempo_echo, 0},
			{bad_aliases_are_refused, 0},
			{float_arguments_keep_their_shortest_decimal, 0},
			{enum_parameters_take_their_labels, 0},
			{a_swap_between_lookup_and_write_moves_the_write, 0},
			{text_parameters_take_a_path, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("osc_params", cases));
}

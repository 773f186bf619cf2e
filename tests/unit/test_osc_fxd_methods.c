/* SPDX-License-Identifier: ISC */
/* OSC unit tests, the /fxd/ methods: ping, mute, panic, sync, list, info, json, stats, chain, bpm. */
#define _GNU_SOURCE
#include "tests/unit/osc_fixture.h"

START_TEST(ping_answers_pong)
{
	Rig *r = rig_new();
	SEND(r, "/fxd/ping", "");
	lo_message_free(expect(&r->cl, "/fxd/pong", "", WAIT_MS));
	expect_nothing(&r->cl);
	FxOscCounters c = counters(r);
	ck_assert_uint_eq(c.received, 1);
	ck_assert_uint_eq(c.rejected, 0);
	rig_free(r);
}
END_TEST

/* A chain over the memory budget is refused before anything is built, and
 * the reason names its cost; the running chain stays. */
START_TEST(chain_over_the_memory_budget_fails_naming_its_cost)
{
	Rig *r = rig_new();
	char big[1024] = "";
	for (int i = 0; i < 32; i++)
		strcat(big, i ? " | delay max=30" : "delay max=30");
	SEND(r, "/fxd/chain/load", "s", big);
	expect_fail(r, "/fxd/chain/load",
	            "cannot run this chain: chain needs "
	            "369.0 MB of buffers, over the 256 MB budget "
	            "(--memory-budget)");
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 12000.0f);
	rig_free(r);
}
END_TEST

/* ---- introspection -------------------------------------------------------- */

/* The scale names doc/osc.md promises in /fxd/param. */
static const char *doc_scale_name(FxScale s)
{
	static const char *const names[] = {"lin", "log", "dB", "enum"};
	return (unsigned)s < 4 ? names[s] : "?";
}

static void check_param(lo_message m, const char *path, const char *effect,
                        const FxParamInfo *p, double value)
{
	ck_assert_str_eq(types_of(m), "ssffffss");
	ck_assert_str_eq(arg_s(m, 0), path);
	ck_assert_str_eq(arg_s(m, 1), effect);
	ck_assert_float_eq(arg_f(m, 2), (float)value);
	ck_assert_float_eq(arg_f(m, 3), (float)p->min);
	ck_assert_float_eq(arg_f(m, 4), (float)p->max);
	ck_assert_float_eq(arg_f(m, 5), (float)p->def);
	ck_assert_str_eq(arg_s(m, 6), p->unit);
	ck_assert_msg(!strcmp(arg_s(m, 7), doc_scale_name(p->scale)),
	              "%s: scale '%s', doc/osc.md says one of lin, log, dB, "
	              "enum ('%s' here)",
	              path, arg_s(m, 7), doc_scale_name(p->scale));
}

START_TEST(list_describes_every_parameter)
{
	static const char *const labels[] = {"hpf", "lpf", "vol"};
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	SEND(r, "/fxd/list", "");
	int n = 0;
	for (int s = 0; s < spec.n_slots; s++) {
		const FxEffectClass *cls = spec.slots[s].cls;
		for (int p = 0; p < cls->n_params; p++, n++) {
			char path[96];
			snprintf(path, sizeof path, "/fx/%s/%s", labels[s],
			         cls->params[p].name);
			lo_message m = expect(&r->cl, "/fxd/param", "ssffffss",
			                      WAIT_MS);
			check_param(m, path, cls->name, &cls->params[p],
			            spec.slots[s].values[p]);
			lo_message_free(m);
		}
	}
	ck_assert_int_eq(n, 3 + 3 + 1);
	lo_message m = expect(&r->cl, "/fxd/list/done", "ii", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), n);
	ck_assert_int_eq(arg_i(m, 1), 0); /* no read-only outputs */
	lo_message_free(m);
	expect_nothing(&r->cl);
	rig_free(r);
}
END_TEST

START_TEST(info_describes_one_parameter)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	SEND(r, "/fxd/info", "s", "/fx/lpf/cutoff");
	lo_message m = expect(&r->cl, "/fxd/param", "ssffffss", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "/fx/lpf/cutoff");
	ck_assert_str_eq(arg_s(m, 1), "lowpass");
	ck_assert_float_eq(arg_f(m, 2), 2000.0f);
	ck_assert_float_eq(arg_f(m, 3), 20.0f);
	ck_assert_float_eq(arg_f(m, 4), 20000.0f);
	ck_assert_float_eq(arg_f(m, 5), 12000.0f);
	ck_assert_str_eq(arg_s(m, 6), "Hz");
	ck_assert_str_eq(arg_s(m, 7), "log");
	lo_message_free(m);
	/* By index, the canonical path comes back. */
	SEND(r, "/fxd/info", "s", "/fx/2/db");
	m = expect(&r->cl, "/fxd/param", "ssffffss", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "/fx/vol/db");
	ck_assert_str_eq(arg_s(m, 6), "dB");
	lo_message_free(m);
	SEND(r, "/fxd/info", "s", "/fx/lpf/nope");
	expect_fail(r, "/fxd/info", "no parameter");
	SEND(r, "/fxd/info", "s", "lpf");
	expect_fail(r, "/fxd/info", "/fx/lpf/cutoff");
	SEND(r, "/fxd/info", "i", 3);
	expect_fail(r, "/fxd/info", "/fx/lpf/cutoff");
	rig_free(r);
}
END_TEST

START_TEST(json_checker_knows_json)
{
	ck_assert(json_valid("{\"a\":[1,-2.5e3,true,null,\"x\\u00e9\"]}"));
	ck_assert(!json_valid("{\"a\":1,}"));
	ck_assert(!json_valid("{\"a\" 1}"));
	ck_assert(!json_valid("[1"));
	ck_assert(!json_valid("{\"a\":nan}"));
	ck_assert(!json_valid("\"abc"));
}
END_TEST

START_TEST(json_parts_form_the_namespace)
{
	/* Long labels make the text span several 1 KB parts. */
	Rig *r = rig_open((RigOptions){
		.chain = "hpf:highpass cutoff=80 | lpf:lowpass cutoff=12000 | "
			 "a_rather_long_label_number_one:peaking | "
			 "a_rather_long_label_number_two:peaking | "
			 "a_rather_long_label_number_3:highshelf | vol:gain db=0"});
	SEND(r, "/fxd/json", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_ge(rs.n, 2);
	size_t total = 0;
	for (int i = 0; i < rs.n; i++) {
		ck_assert_str_eq(rs.r[i].path, "/fxd/json");
		ck_assert_str_eq(types_of(rs.r[i].m), "iis");
		ck_assert_int_eq(arg_i(rs.r[i].m, 0), i);
		ck_assert_int_eq(arg_i(rs.r[i].m, 1), rs.n);
		size_t n = strlen(arg_s(rs.r[i].m, 2));
		ck_assert_uint_le(n, FX_OSC_JSON_PART);
		if (i < rs.n - 1)
			ck_assert_uint_eq(n, FX_OSC_JSON_PART);
		total += n;
	}
	char *text = calloc(1, total + 1);
	for (int i = 0; i < rs.n; i++)
		strcat(text, arg_s(rs.r[i].m, 2));
	replies_free(&rs);
	ck_assert_msg(json_valid(text), "not JSON: %s", text);
	ck_assert_int_eq(text[0], '{');
	ck_assert_int_eq(text[total - 1], '}');
	static const char *const labels[] = {"hpf",
	                                     "lpf",
	                                     "a_rather_long_label_number_one",
	                                     "a_rather_long_label_number_two",
	                                     "a_rather_long_label_number_3",
	                                     "vol"};
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
		char want[64];
		snprintf(want, sizeof want, "\"label\":\"%s\"", labels[i]);
		ck_assert_msg(strstr(text, want), "no %s in %s", want, text);
	}
	ck_assert_ptr_nonnull(strstr(text, "\"path\":\"/fx/lpf/cutoff\""));
	free(text);
	rig_free(r);
}
END_TEST

/* ---- sync ----------------------------------------------------------------- */

START_TEST(sync_answers_once_audio_applied_the_change)
{
	Rig *r = rig_new();
	/* Nothing pending: at once. */
	SEND(r, "/fxd/sync", "i", 3);
	lo_message m = expect(&r->cl, "/fxd/synced", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), 3);
	lo_message_free(m);

	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	SEND(r, "/fxd/sync", "i", 7);
	expect_nothing(&r->cl);
	tick(r);
	expect_nothing(&r->cl); /* no audio ran yet */
	play(r, 1);
	tick(r);
	m = expect(&r->cl, "/fxd/synced", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), 7);
	lo_message_free(m);
	tick(r);
	expect_nothing(&r->cl); /* answered once */

	/* Several waiting, answered in one tick; ids as h and d. */
	SEND(r, "/fx/vol/db", "f", -3.0);
	SEND(r, "/fxd/sync", "h", (int64_t)-5);
	SEND(r, "/fxd/sync", "d", 2147483647.0);
	expect_nothing(&r->cl);
	play(r, 1);
	tick(r);
	m = expect(&r->cl, "/fxd/synced", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), -5);
	lo_message_free(m);
	m = expect(&r->cl, "/fxd/synced", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), 2147483647);
	lo_message_free(m);

	SEND(r, "/fxd/sync", "f", 1.5);
	expect_fail(r, "/fxd/sync", "whole number");
	SEND(r, "/fxd/sync", "d", 4294967296.0);
	expect_fail(r, "/fxd/sync", "whole number");
	SEND(r, "/fxd/sync", "s", "7");
	expect_fail(r, "/fxd/sync", "number");
	rig_free(r);
}
END_TEST

START_TEST(syncs_waiting_are_capped)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	for (int i = 0; i < FX_OSC_MAX_SYNCS; i++)
		SEND(r, "/fxd/sync", "i", i);
	expect_nothing(&r->cl);
	SEND(r, "/fxd/sync", "i", 99);
	expect_fail(r, "/fxd/sync", "too many");
	play(r, 1);
	Replies rs;
	tick_collect(r, &rs);
	ck_assert_int_eq(rs.n, FX_OSC_MAX_SYNCS);
	int seen[FX_OSC_MAX_SYNCS] = {0};
	for (int i = 0; i < rs.n; i++) {
		ck_assert_str_eq(rs.r[i].path, "/fxd/synced");
		int id = arg_i(rs.r[i].m, 0);
		ck_assert(id >= 0 && id < FX_OSC_MAX_SYNCS && !seen[id]);
		seen[id] = 1;
	}
	replies_free(&rs);
	rig_free(r);
}
END_TEST

START_TEST(sync_fails_when_no_audio_runs)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	SEND(r, "/fxd/sync", "i", 9);
	tick(r);
	expect_nothing(&r->cl);
	nap_ms(2100);
	tick(r);
	expect_fail(r, "/fxd/sync", "timed out");
	play(r, 1);
	tick(r);
	expect_nothing(&r->cl); /* the sync is gone */
	rig_free(r);
}
END_TEST

/* ---- stats ---------------------------------------------------------------- */

START_TEST(stats_name_every_documented_value)
{
	static const char *const whats[] = {"callback", "worker", "knob",
	                                    "midi_frames"};
	static const char *const fields[] = {"count", "min", "median", "mean",
	                                     "p95",   "p99", "max"};
	static const char *const names[] = {"load",
	                                    "callbacks",
	                                    "chunks",
	                                    "underflows",
	                                    "late",
	                                    "xruns",
	                                    "xruns.jack",
	                                    "xruns.gaps",
	                                    "nonfinite",
	                                    "overflows",
	                                    "rerender.done",
	                                    "rerender.late",
	                                    "rerender.skipped",
	                                    "rerender.unable",
	                                    "midi.events",
	                                    "midi.overflows",
	                                    "midi.out_dropped",
	                                    "midi.reports_dropped",
	                                    "osc.received",
	                                    "osc.rejected",
	                                    "osc.dropped",
	                                    "osc.kernel_drops",
	                                    "osc.send_errors",
	                                    "osc.subscribers_unreachable",
	                                    "osc.subscribers_expired",
	                                    "osc.subscribers_evicted",
	                                    "osc.tcp_timed_out",
	                                    "osc.tcp_evicted",
	                                    "osc.fails_forwarded",
	                                    "osc.fails_skipped",
	                                    "osc.lease",
	                                    "http.requests",
	                                    "http.refused",
	                                    "http.ws_opened",
	                                    "http.ws_received",
	                                    "http.dropped",
	                                    "http.ws_clients",
	                                    "subscribers",
	                                    "rate",
	                                    "period",
	                                    "latency"};
	Rig *r = rig_new();
	play(r, 10);
	lo_message m = get_stats(r);
	const char *t = types_of(m);
	ck_assert_int_eq(strlen(t) % 2, 0);
	for (size_t i = 0; t[i]; i += 2)
		ck_assert(t[i] == 's' && t[i + 1] == 'd');
	size_t n = 0;
	for (size_t w = 0; w < sizeof whats / sizeof whats[0]; w++)
		for (size_t f = 0; f < 7; f++, n++) {
			char key[32];
			snprintf(key, sizeof key, "%s.%s", whats[w], fields[f]);
			stat_of(m, key);
		}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++, n++)
		stat_of(m, names[i]);
	/* Then each slot of CHAIN: its time per chunk and its muted chunks. */
	static const char *const slots[] = {"hpf", "lpf", "vol"};
	for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++, n += 2) {
		char key[64];
		snprintf(key, sizeof key, "slot.%s.us", slots[i]);
		ck_assert_double_gt(stat_of(m, key), 0);
		snprintf(key, sizeof key, "slot.%s.nonfinite", slots[i]);
		ck_assert_double_eq(stat_of(m, key), 0);
	}
	ck_assert_uint_eq(strlen(t) / 2, n);
	ck_assert_double_eq(stat_of(m, "callbacks"), 10);
	ck_assert_double_eq(stat_of(m, "chunks"), 10);
	ck_assert_double_eq(stat_of(m, "callback.count"), 10);
	ck_assert_double_eq(stat_of(m, "underflows"), 0);
	ck_assert_double_eq(stat_of(m, "rate"), 48000);
	ck_assert_double_eq(stat_of(m, "period"), PERIOD);
	ck_assert_double_eq(stat_of(m, "latency"), PERIOD);
	ck_assert_double_eq(stat_of(m, "osc.received"), 1);
	ck_assert_double_eq(stat_of(m, "subscribers"), 0);
	ck_assert_double_eq(stat_of(m, "knob.count"), 0);
	lo_message_free(m);
	rig_free(r);
}
END_TEST

START_TEST(stats_time_knob_to_ear)
{
	Rig *r = rig_new();
	play(r, 4);
	SEND(r, "/fx/lpf/cutoff", "f", 1000.0);
	play(r, 3);
	tick(r); /* settles the timings */
	lo_message m = get_stats(r);
	ck_assert_double_ge(stat_of(m, "knob.count"), 1);
	double median = stat_of(m, "knob.median");
	ck_assert_double_ge(median, 0);
	ck_assert_double_le(median, 1000); /* a fake driver: no real periods */
	ck_assert_double_ge(stat_of(m, "knob.max"), median);
	ck_assert_double_eq(stat_of(m, "callbacks"), 7);
	lo_message_free(m);
	rig_free(r);
}
END_TEST

/* ---- daemon methods ------------------------------------------------------- */

static int out_silent(Rig *r)
{
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < PERIOD; i++)
			if (r->out[c][i] != 0.0f)
				return 0;
	return 1;
}

START_TEST(mute_panic_and_resets)
{
	Rig *r = rig_new();
	r->amp = 0.5;
	r->hz = 1000;
	ck_assert_int_eq(get_i(r, "/fxd/mute"), 0);
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fxd/mute", "i", 1);
	expect_nothing(&r->cl);
	play(r, 20);
	ck_assert(out_silent(r));
	Replies rs;
	tick_collect(r, &rs);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/mute", &m), 1);
	ck_assert_int_eq(arg_i(m, 0), 1);
	replies_free(&rs);
	ck_assert_int_eq(get_i(r, "/fxd/mute"), 1);
	SEND(r, "/fxd/mute", "F");
	ck_assert_int_eq(get_i(r, "/fxd/mute"), 0);
	play(r, 20);
	ck_assert(!out_silent(r));
	SEND(r, "/fxd/mute", "s", "yes");
	expect_fail(r, "/fxd/mute", "number");

	SEND(r, "/fxd/panic", "");
	expect_done(r, "/fxd/panic");
	/* A button: its press panics, its release does nothing. */
	SEND(r, "/fxd/panic", "f", 1.0);
	expect_done(r, "/fxd/panic");
	SEND(r, "/fxd/panic", "f", 0.0);
	expect_nothing(&r->cl);
	SEND(r, "/fxd/panic", "T");
	expect_done(r, "/fxd/panic");
	SEND(r, "/fxd/panic", "s", "now");
	expect_fail(r, "/fxd/panic", "number");
	SEND(r, "/fxd/panic", "ii", 1, 1);
	expect_fail(r, "/fxd/panic", "one number");
	play(r, 20);
	ck_assert(!out_silent(r));
	SEND(r, "/fxd/reset_state", "");
	expect_done(r, "/fxd/reset_state");

	lo_message st = get_stats(r);
	ck_assert_double_eq(stat_of(st, "callbacks"), 60);
	lo_message_free(st);
	SEND(r, "/fxd/reset_metrics", "");
	expect_done(r, "/fxd/reset_metrics");
	st = get_stats(r);
	ck_assert_double_eq(stat_of(st, "callbacks"), 0);
	ck_assert_double_eq(stat_of(st, "chunks"), 0);
	ck_assert_double_eq(stat_of(st, "callback.count"), 0);
	lo_message_free(st);
	play(r, 2);
	st = get_stats(r);
	ck_assert_double_eq(stat_of(st, "callbacks"), 2);
	lo_message_free(st);
	rig_free(r);
}
END_TEST

START_TEST(chain_query_load_and_errors)
{
	Rig *r = rig_new();
	FxChainSpec spec;
	char want[4096];
	fx_control_get_spec(r->c, &spec);
	fx_spec_format(&spec, want, sizeof want);
	SEND(r, "/fxd/chain", "");
	lo_message m = expect(&r->cl, "/fxd/chain", "s", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), want);
	ck_assert_ptr_nonnull(strstr(arg_s(m, 0), "lpf:lowpass"));
	lo_message_free(m);

	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fxd/chain/load", "s", "vol:gain db=-6");
	expect_done(r, "/fxd/chain/load");
	ck_assert(fx_spec_parse("vol:gain db=-6", "t", &spec, NULL) == FX_OK);
	fx_spec_format(&spec, want, sizeof want);
	SEND(r, "/fxd/chain", "");
	m = expect(&r->cl, "/fxd/chain", "s", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), want);
	lo_message_free(m);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -6.0f);
	SEND(r, "/fx/lpf/cutoff", "");
	expect_fail(r, "/fx/lpf/cutoff", "no slot 'lpf'");
	/* Subscribers get the new state. */
	Replies rs;
	tick_collect(r, &rs);
	lo_message c = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", &c), 1);
	ck_assert_str_eq(arg_s(c, 0), want);
	ck_assert_int_eq(count_path(&rs, "/fx/vol/db", &c), 1);
	ck_assert_float_eq(arg_f(c, 0), -6.0f);
	replies_free(&rs);

	SEND(r, "/fxd/chain/load", "s", "vol:gainn");
	lo_message f = expect(&r->cl, "/fxd/fail", "ss", WAIT_MS);
	ck_assert_str_eq(arg_s(f, 0), "/fxd/chain/load");
	ck_assert_msg(!strncmp(arg_s(f, 1), "chain:1:", 8), "reason %s",
	              arg_s(f, 1));
	ck_assert_ptr_nonnull(strstr(arg_s(f, 1), "gain"));
	lo_message_free(f);
	SEND(r, "/fxd/chain/load", "s", "lpf:lowpass cutoff=1e9");
	expect_fail(r, "/fxd/chain/load", "chain:1:");
	SEND(r, "/fxd/chain/load", "i", 1);
	expect_fail(r, "/fxd/chain/load", "string");
	/* /fxd/chain with a string is what fxd sends as feedback: coming
	 * in (from another fxd, or a loop) it is ignored, never answered. */
	SEND(r, "/fxd/chain", "s", "x");
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -6.0f);
	rig_free(r);
}
END_TEST

static void count_latency_change(void *user)
{
	++*(int *)user;
}

/* A structural change that moves the chain's latency (the limiter's
 * look-ahead) must reach the driver, which tells JACK. */
START_TEST(structural_change_of_latency_tells_the_driver)
{
	FxChainSpec spec;
	FxSpecError err;
	ck_assert(fx_spec_parse("lim:limiter lookahead=5", "t", &spec, &err) ==
	          FX_OK);
	FxEngineConfig ec = fx_engine_config_default();
	FxStatus st;
	FxEngine *e = fx_engine_new(&ec, &spec, &st);
	ck_assert_ptr_nonnull(e);
	int told = 0;
	FxControlConfig cc = {.latency_changed = count_latency_change,
	                      .user = &told};
	FxControl *c = fx_control_new(e, &cc);
	ck_assert_ptr_nonnull(c);
	int before = fx_control_latency(c);
	int look = fx_param_find(spec.slots[0].cls, "lookahead");
	ck_assert_int_ge(look, 0);
	ck_assert_int_eq(fx_control_set_param(c, 0, look, 2, NULL, 0), FX_OK);
	ck_assert_int_ne(fx_control_latency(c), before);
	ck_assert_int_eq(told, 1);
	/* Through the generation-checked path too. */
	FxChainSpec now;
	uint32_t gen = fx_control_get_spec_gen(c, &now);
	int stale = 1;
	ck_assert_int_eq(fx_control_set_param_at(c, gen, 0, look, 4, 0, &stale),
	                 FX_OK);
	ck_assert_int_eq(stale, 0);
	ck_assert_int_eq(told, 2);
	/* A value that moves no latency tells nothing. */
	int rel = fx_param_find(spec.slots[0].cls, "release");
	ck_assert_int_ge(rel, 0);
	ck_assert_int_eq(fx_control_set_param(c, 0, rel, 120, NULL, 0), FX_OK);
	ck_assert_int_eq(told, 2);
	fx_control_free(c);
	fx_engine_free(e);
}
END_TEST

START_TEST(bpm_set_get_and_reject)
{
	Rig *r = rig_new();
	ck_assert_float_eq(get_f(r, "/fxd/bpm"), 120.0f);
	SEND(r, "/fxd/bpm", "f", 140.0);
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fxd/bpm"), 140.0f);
	ck_assert_double_eq(fx_control_bpm(r->c), 140);
	SEND(r, "/fxd/bpm", "f", (double)NAN);
	expect_fail(r, "/fxd/bpm", "finite");
	SEND(r, "/fxd/bpm", "d", (double)INFINITY);
	expect_fail(r, "/fxd/bpm", "finite");
	SEND(r, "/fxd/bpm", "s", "fast");
	expect_fail(r, "/fxd/bpm", "number");
	ck_assert_float_eq(get_f(r, "/fxd/bpm"), 140.0f);
	SEND(r, "/fxd/bpm", "i", 96);
	ck_assert_float_eq(get_f(r, "/fxd/bpm"), 96.0f);
	rig_free(r);
}
END_TEST

/* /fxd/info, /fxd/list and /fxd/json name an enum's value and its labels,
 * from the parameter table. */
START_TEST(introspection_names_enum_values)
{
	Rig *r = rig_open((RigOptions){.chain = "dly:delay | vol:gain"});
	const FxParamInfo *div = param_info("delay", "division");
	int n_labels = 0;
	while (div->labels[n_labels])
		n_labels++;
	char types[64] = "ssffffss";
	memset(types + 8, 's', (size_t)n_labels + 1);
	SEND(r, "/fx/dly/division", "s", "1/8");
	SEND(r, "/fxd/info", "s", "/fx/dly/division");
	lo_message m = expect(&r->cl, "/fxd/param", types, WAIT_MS);
	ck_assert_str_eq(arg_s(m, 7), "enum");
	ck_assert_float_eq(arg_f(m, 2), (float)label_index(div, "1/8"));
	ck_assert_str_eq(arg_s(m, 8), "1/8");
	for (int i = 0; i < n_labels; i++)
		ck_assert_str_eq(arg_s(m, 9 + i), div->labels[i]);
	lo_message_free(m);
	/* Other parameters are as before. */
	SEND(r, "/fxd/info", "s", "/fx/vol/db");
	lo_message_free(expect(&r->cl, "/fxd/param", "ssffffss", WAIT_MS));
	/* /fxd/list: the same message for each. */
	SEND(r, "/fxd/list", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	int enums = 0;
	for (int i = 0; i < rs.n; i++)
		if (!strcmp(rs.r[i].path, "/fxd/param") &&
		    !strcmp(arg_s(rs.r[i].m, 0), "/fx/dly/division")) {
			enums++;
			ck_assert_str_eq(types_of(rs.r[i].m), types);
			ck_assert_str_eq(arg_s(rs.r[i].m, 8), "1/8");
		}
	ck_assert_int_eq(enums, 1);
	replies_free(&rs);
	/* /fxd/json: "label" and "labels"; numbers in their shortest form. */
	SEND(r, "/fx/vol/db", "f", 0.3);
	char *text = json_of(r);
	ck_assert_msg(strstr(text, "\"scale\":\"enum\",\"label\":\"1/8\","
	                           "\"labels\":[\"off\",\"1/1\","),
	              "%s", text);
	ck_assert_msg(strstr(text, "\"name\":\"db\",\"value\":0.3,"), "%s", text);
	free(text);
	rig_free(r);
}
END_TEST

/* A compressor squashing a loud sine: its read-only output gr reads the
 * reduction in /fxd/list, a query, /fxd/json, and at its own path for a
 * subscriber; writing it is refused. */
START_TEST(outputs_are_listed_queried_and_published)
{
	Rig *r = rig_open((RigOptions){
		.chain = "comp:compressor threshold=-40 ratio=10 knee=0 | "
			 "vol:gain"});
	r->amp = 0.5; /* -6 dBFS: 34 dB over, 30.6 dB of reduction */
	r->hz = 1000;
	play(r, 100);
	SEND(r, "/fxd/list", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message out = NULL, done = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/output", &out), 1);
	ck_assert_int_eq(count_path(&rs, "/fxd/list/done", &done), 1);
	ck_assert_str_eq(types_of(out), "ssfffs");
	ck_assert_str_eq(arg_s(out, 0), "/fx/comp/gr");
	ck_assert_str_eq(arg_s(out, 1), "compressor");
	float gr = arg_f(out, 2);
	ck_assert_float_eq_tol(gr, 30.6f, 0.5f);
	ck_assert_str_eq(arg_s(out, 5), "dB");
	ck_assert_int_eq(arg_i(done, 1), 1);
	replies_free(&rs);
	ck_assert_float_eq_tol(get_f(r, "/fx/comp/gr"), gr, 0.5f);
	SEND(r, "/fx/comp/gr", "f", 3.0);
	expect_fail(r, "/fx/comp/gr", "'gr' is a read-only output of compressor");
	char *text = json_of(r);
	ck_assert_msg(strstr(text, "\"outputs\":[{\"path\":\"/fx/comp/gr\","
	                           "\"name\":\"gr\",\"value\":"),
	              "%s", text);
	free(text);
	SEND(r, "/fxd/subscribe", "i", 20);
	lo_message_free(expect(&r->cl, "/fxd/subscribed", "sii", WAIT_MS));
	drain(&r->cl); /* the state */
	play(r, 2);
	/* Past the feedback period (30 Hz) and the meter interval: the next
	 * tick sends a new subscriber every output value, and the meters. */
	nap_ms(40);
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/fx/comp/gr", &out), 1);
	ck_assert_float_eq_tol(arg_f(out, 0), 30.6f, 0.5f);
	ck_assert_int_eq(count_path(&rs, "/fxd/outputs", NULL), 1);
	replies_free(&rs);
	/* No audio since: the value has not changed, and is not sent again
	 * at its own path (the meters' /fxd/outputs still carries it). */
	nap_ms(40);
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/fx/comp/gr", NULL), 0);
	ck_assert_int_eq(count_path(&rs, "/fxd/outputs", NULL), 1);
	replies_free(&rs);
	rig_free(r);
}
END_TEST

/* An output with no reading (a tuner hearing silence has no pitch): a
 * query answers nil, /fxd/list gives nil, subscribers get the readings
 * there are (level) and not the others. */
START_TEST(an_output_without_a_reading_is_nil_and_not_published)
{
	Rig *r = rig_open((RigOptions){.chain = "tun:tuner | vol:gain"});
	r->amp = 0;
	play(r, 40);
	SEND(r, "/fx/tun/freq", "");
	lo_message_free(expect(&r->cl, "/fx/tun/freq", "N", WAIT_MS));
	ck_assert_float_eq_tol(get_f(r, "/fx/tun/level"), -120.0f, 1e-3f);
	SEND(r, "/fxd/list", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	int nils = 0;
	for (int i = 0; i < rs.n; i++)
		if (!strcmp(rs.r[i].path, "/fxd/output"))
			nils += !strcmp(types_of(rs.r[i].m), "ssNffs");
	ck_assert_int_eq(nils, 3); /* freq, note, cents */
	replies_free(&rs);
	SEND(r, "/fxd/subscribe", "i", 20);
	lo_message_free(expect(&r->cl, "/fxd/subscribed", "sii", WAIT_MS));
	drain(&r->cl); /* the state */
	play(r, 2);
	nap_ms(40); /* past the feedback period: the next tick sends them */
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/fx/tun/level", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/tun/freq", NULL), 0);
	ck_assert_int_eq(count_path(&rs, "/fx/tun/cents", NULL), 0);
	replies_free(&rs);
	rig_free(r);
}
END_TEST

/* doc/osc.md lists every row of the method table, as a table row that
 * starts with the method's address ("| `/fxd/ping`"). */
START_TEST(doc_lists_every_method)
{
	const char *srcdir = getenv("srcdir");
	char path[512];
	snprintf(path, sizeof path, "%s/doc/osc.md",
	         srcdir && *srcdir ? srcdir : FX_SRCDIR);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "cannot read %s", path);
	static char doc[1 << 16];
	size_t n = fread(doc, 1, sizeof doc - 1, f);
	fclose(f);
	doc[n] = '\0';
	size_t rows;
	const FxOscMethod *m = fx_osc_methods(&rows);
	ck_assert_uint_gt(rows, 0);
	for (size_t i = 0; i < rows; i++) {
		ck_assert_msg(m[i].path && m[i].args && m[i].handler &&
		                      m[i].doc && *m[i].doc,
		              "row %zu is incomplete", i);
		char row[96];
		int found = 0;
		for (const char *end = "` "; *end && !found; end++) {
			snprintf(row, sizeof row, "\n| `%s%c", m[i].path, *end);
			found = strstr(doc, row) != NULL;
		}
		ck_assert_msg(found, "doc/osc.md has no row for %s (%s)",
		              m[i].path, m[i].doc);
	}
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"namespace", 60, .tests = {
			{ping_answers_pong, 0},
			{doc_lists_every_method, 0},
			{chain_over_the_memory_budget_fails_naming_its_cost, 0},
			{list_describes_every_parameter, 0},
			{outputs_are_listed_queried_and_published, 0},
			{an_output_without_a_reading_is_nil_and_not_published, 0},
			{info_describes_one_parameter, 0},
			{json_checker_knows_json, 0},
			{json_parts_form_the_namespace, 0},
			{sync_answers_once_audio_applied_the_change, 0},
			{syncs_waiting_are_capped, 0},
			{sync_fails_when_no_audio_runs, 0},
			{stats_name_every_documented_value, 0},
			{stats_time_knob_to_ear, 0},
			{mute_panic_and_resets, 0},
			{chain_query_load_and_errors, 0},
			{bpm_set_get_and_reject, 0},
			{introspection_names_enum_values, 0},
			{structural_change_of_latency_tells_the_driver, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("osc_fxd_methods", cases));
}

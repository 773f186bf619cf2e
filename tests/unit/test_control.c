/* SPDX-License-Identifier: ISC */
/* The control surface without OSC: an engine driven by a fake driver (one
 * fx_engine_process and one worker step per period, as test_engine does)
 * under an FxControl, checked through its calls and the audio. */
#include "tests/fxtest.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "daemon/engine/control.h"
#include "daemon/engine/engine.h"
#include "dsp/lv2.h"

enum { PERIOD = 64, CH = 2, MAX_PERIODS = 50 };

typedef struct {
	FxEngine *e;
	FxControl *c;
	float in[CH][PERIOD], out[CH][PERIOD];
	const float *inp[CH];
	float *outp[CH];
	int latency_calls; ///< latency_changed callbacks
} Rig;

static void count_latency(void *user)
{
	Rig *r = user;
	r->latency_calls++;
}

/* A rig whose inputs hold @p left and @p right in every frame. */
static Rig *rig_with(FxEngineConfig cfg, const char *chain, float left,
                     float right)
{
	Rig *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	FxChainSpec spec = fx_test_spec(chain);
	FxStatus st;
	r->e = fx_engine_new(&cfg, &spec, &st);
	ck_assert_msg(r->e, "fx_engine_new: %s", fx_strerror(st));
	FxControlConfig cc = {.preset_dir = "/nonexistent/fxd-test-control",
	                      .latency_changed = count_latency,
	                      .user = r};
	r->c = fx_control_new(r->e, &cc);
	ck_assert_ptr_nonnull(r->c);
	for (int c = 0; c < CH; c++) {
		r->inp[c] = r->in[c];
		r->outp[c] = r->out[c];
		for (int i = 0; i < PERIOD; i++)
			r->in[c][i] = c ? right : left;
	}
	return r;
}

static Rig *rig_new(const char *chain)
{
	return rig_with(fx_test_engine_config(PERIOD), chain, 0.5f, -0.25f);
}

static void rig_free(Rig *r)
{
	fx_control_free(r->c);
	fx_engine_free(r->e);
	free(r);
}

/* One period: the driver's side, then the worker's step. */
static void period(Rig *r)
{
	fx_engine_process(r->e, r->inp, r->outp, PERIOD);
	fx_engine_work(r->e);
	fx_control_poll(r->c);
}

/* Runs periods until the output, every frame of every channel, is
 * @p gain times the input (within @p tol); fails after MAX_PERIODS. */
static void await_output(Rig *r, double gain, double tol)
{
	for (int p = 0; p < MAX_PERIODS; p++) {
		period(r);
		int ok = 1;
		for (int c = 0; c < CH; c++)
			for (int i = 0; i < PERIOD; i++)
				ok &= fabs(r->out[c][i] - gain * r->in[c][i]) <=
				      tol;
		if (ok)
			return;
	}
	ck_abort_msg("output never became %g x input (now %g for %g)", gain,
	             (double)r->out[0][PERIOD - 1], (double)r->in[0][PERIOD - 1]);
}

static int out_silent(const Rig *r)
{
	for (int c = 0; c < CH; c++)
		for (int i = 0; i < PERIOD; i++)
			if (fabsf(r->out[c][i]) > 1e-9f)
				return 0;
	return 1;
}

static int has_entry(const FxChanges *ch, FxParamRef ref)
{
	int i = fx_param_index(ref);
	return (ch->entries[i / 64] >> (i % 64)) & 1;
}

static int entries_set(const FxChanges *ch)
{
	int n = 0;
	for (size_t w = 0; w < sizeof ch->entries / sizeof ch->entries[0]; w++)
		n += __builtin_popcountll(ch->entries[w]);
	return n;
}

static void assert_no_changes(Rig *r)
{
	FxChanges ch;
	fx_control_take_changes(r->c, &ch);
	ck_assert_int_eq(entries_set(&ch), 0);
	ck_assert_int_eq(ch.chain, 0);
	ck_assert_int_eq(ch.mute, 0);
	ck_assert_int_eq(ch.bpm, 0);
}

/* ---- parameters --------------------------------------------------------- */

START_TEST(set_param_clamps_records_the_change_and_is_heard)
{
	Rig *r = rig_new("vol:gain db=0 | lpf:lowpass cutoff=20000 order=2");
	assert_no_changes(r);
	double applied = 0;
	ck_assert_int_eq(fx_control_set_param(r->c, 0, 0, 100, &applied, 0),
	                 FX_OK);
	ck_assert(applied == 24); /* the top of gain's range */
	FxChanges ch;
	fx_control_take_changes(r->c, &ch);
	ck_assert(has_entry(&ch, (FxParamRef){0, 0}));
	ck_assert_int_eq(entries_set(&ch), 1);
	ck_assert_int_eq(ch.chain, 0);
	/* The same value again changes nothing, and take_changes cleared. */
	ck_assert_int_eq(fx_control_set_param(r->c, 0, 0, 30, &applied, 0),
	                 FX_OK);
	ck_assert(applied == 24);
	assert_no_changes(r);

	/* Half the amplitude: the staged value reaches the audio. */
	ck_assert_int_eq(fx_control_set_param(r->c, 0, 0, -6.0206, NULL, 0),
	                 FX_OK);
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	ck_assert(spec.slots[0].values[0] == -6.0206);
	ck_assert_double_eq(fx_engine_get_param(r->e, (FxParamRef){0, 0}),
	                    -6.0206);
	rig_free(r);
	r = rig_new("vol:gain db=0");
	ck_assert_int_eq(fx_control_set_param(r->c, 0, 0, -6.0206, NULL, 0),
	                 FX_OK);
	await_output(r, 0.5, 1e-4);
	rig_free(r);
}
END_TEST

START_TEST(set_param_refuses_what_the_chain_lacks)
{
	Rig *r = rig_new("vol:gain db=0 | lpf:lowpass");
	double applied = -1;
	ck_assert_int_eq(fx_control_set_param(r->c, 2, 0, 1, &applied, 0),
	                 FX_ERR_RANGE);
	ck_assert_int_eq(fx_control_set_param(r->c, -1, 0, 1, &applied, 0),
	                 FX_ERR_RANGE);
	ck_assert_int_eq(fx_control_set_param(r->c, 0, 1, 1, &applied, 0),
	                 FX_ERR_UNKNOWN_PARAM);
	ck_assert_int_eq(fx_control_set_param(r->c, 0, -1, 1, &applied, 0),
	                 FX_ERR_UNKNOWN_PARAM);
	/* The bypass index is no parameter for those who name one. */
	ck_assert_int_eq(
		fx_control_set_param(r->c, 0, FX_PARAM_BYPASS, 1, &applied, 0),
		FX_ERR_UNKNOWN_PARAM);
	ck_assert_int_eq(fx_control_set_param(r->c, 0, 0, NAN, &applied, 0),
	                 FX_ERR_NONFINITE);
	ck_assert_int_eq(fx_control_set_param(r->c, 0, 0, INFINITY, &applied, 0),
	                 FX_ERR_NONFINITE);
	ck_assert(applied == -1); /* untouched by a refusal */
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	ck_assert(spec.slots[0].values[0] == 0);
	ck_assert(!spec.slots[0].bypass);
	assert_no_changes(r);
	ck_assert_int_eq(fx_control_set_bypass(r->c, 2, 1, 0), FX_ERR_RANGE);
	assert_no_changes(r);
	rig_free(r);
}
END_TEST

START_TEST(bypass_is_recorded_once_and_heard)
{
	Rig *r = rig_new("vol:gain db=-6.0206");
	await_output(r, 0.5, 1e-4);
	ck_assert_int_eq(fx_control_set_bypass(r->c, 0, 1, 0), FX_OK);
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	ck_assert(spec.slots[0].bypass);
	ck_assert(fx_engine_get_param(r->e, (FxParamRef){0, FX_PARAM_BYPASS}) ==
	          1);
	FxChanges ch;
	fx_control_take_changes(r->c, &ch);
	ck_assert(has_entry(&ch, (FxParamRef){0, FX_PARAM_BYPASS}));
	ck_assert_int_eq(entries_set(&ch), 1);
	ck_assert_int_eq(fx_control_set_bypass(r->c, 0, 7, 0), FX_OK);
	assert_no_changes(r); /* on already: nothing new */
	await_output(r, 1.0, 1e-6);
	ck_assert_int_eq(fx_control_set_bypass(r->c, 0, 0, 0), FX_OK);
	await_output(r, 0.5, 1e-4);
	rig_free(r);
}
END_TEST

/* A write for a slot looked up in an older chain is not made. */
START_TEST(writes_at_a_stale_generation_are_refused)
{
	Rig *r = rig_new("vol:gain db=0");
	FxChainSpec spec;
	uint32_t g0 = fx_control_get_spec_gen(r->c, &spec);
	int stale = -1;
	ck_assert_int_eq(fx_control_set_param_at(r->c, g0, 0, 0, -3, 0, &stale),
	                 FX_OK);
	ck_assert_int_eq(stale, 0);
	FxChainSpec next = fx_test_spec("x:gain db=0 | vol:gain db=0");
	char err[128] = "";
	ck_assert_int_eq(fx_control_swap(r->c, &next, err, sizeof err), FX_OK);
	uint32_t g1 = fx_control_get_spec_gen(r->c, &spec);
	ck_assert_uint_ne(g1, g0);
	FxChanges ch;
	fx_control_take_changes(r->c, &ch);
	ck_assert_int_eq(ch.chain, 1);

	stale = -1;
	ck_assert_int_eq(fx_control_set_param_at(r->c, g0, 0, 0, -12, 0, &stale),
	                 FX_OK);
	ck_assert_int_eq(stale, 1);
	stale = -1;
	ck_assert_int_eq(fx_control_set_bypass_at(r->c, g0, 0, 1, 0, &stale),
	                 FX_OK);
	ck_assert_int_eq(stale, 1);
	/* Not even an error is looked for at a stale generation. */
	stale = -1;
	ck_assert_int_eq(fx_control_set_param_at(r->c, g0, 9, 0, 1, 0, &stale),
	                 FX_OK);
	ck_assert_int_eq(stale, 1);
	fx_control_get_spec(r->c, &spec);
	ck_assert(spec.slots[0].values[0] == 0 && !spec.slots[0].bypass);
	ck_assert(spec.slots[1].values[0] == 0);
	assert_no_changes(r);

	ck_assert_int_eq(fx_control_set_param_at(r->c, g1, 1, 0, -12, 0, &stale),
	                 FX_OK);
	ck_assert_int_eq(stale, 0);
	ck_assert_int_eq(fx_control_set_bypass_at(r->c, g1, 0, 1, 0, &stale),
	                 FX_OK);
	ck_assert_int_eq(stale, 0);
	ck_assert_int_eq(fx_control_set_param_at(r->c, g1, 9, 0, 1, 0, &stale),
	                 FX_ERR_RANGE);
	ck_assert_int_eq(stale, 0);
	fx_control_get_spec(r->c, &spec);
	ck_assert(spec.slots[1].values[0] == -12 && spec.slots[0].bypass);
	fx_control_take_changes(r->c, &ch);
	ck_assert(has_entry(&ch, (FxParamRef){1, 0}));
	ck_assert(has_entry(&ch, (FxParamRef){0, FX_PARAM_BYPASS}));
	ck_assert_int_eq(entries_set(&ch), 2);
	rig_free(r);
}
END_TEST

/* ---- swaps and apply ---------------------------------------------------- */

START_TEST(swap_bumps_the_generation_and_tells_the_driver)
{
	Rig *r = rig_new("vol:gain db=0");
	FxChainSpec spec;
	uint32_t g0 = fx_control_get_spec_gen(r->c, &spec);
	FxChainSpec next = fx_test_spec("vol:gain db=-6.0206 | hpf:highpass "
	                                "cutoff=20");
	char err[128] = "unchanged";
	ck_assert_int_eq(fx_control_swap(r->c, &next, err, sizeof err), FX_OK);
	ck_assert_str_eq(err, "unchanged"); /* written only on failure */
	ck_assert_int_eq(r->latency_calls, 1);
	ck_assert_uint_ne(fx_control_get_spec_gen(r->c, &spec), g0);
	ck_assert_int_eq(spec.n_slots, 2);
	ck_assert_str_eq(spec.slots[1].label, "hpf");
	FxChanges ch;
	fx_control_take_changes(r->c, &ch);
	ck_assert_int_eq(ch.chain, 1);
	assert_no_changes(r);
	/* The swap counts as a change to sync on, reached once it runs. */
	uint32_t point = fx_control_sync_point(r->c);
	for (int p = 0; p < MAX_PERIODS && !fx_control_synced(r->c, point); p++)
		period(r);
	ck_assert(fx_control_synced(r->c, point));
	ck_assert_int_eq(fx_control_latency(r->c),
	                 PERIOD * fx_control_engine_config(r->c).latency_periods);
	rig_free(r);
}
END_TEST

/* An LV2 plugin whose output was not finite mutes its slot (LV2 has no
 * realtime reset); the control poll restarts it in its slot, off the audio
 * path, and the sound comes back without a new chain. */
START_TEST(a_muted_plugin_is_restarted_in_its_slot)
{
	const char *amp = "http://plugin.org.uk/swh-plugins/amp";
	char why[512];
	if (!fx_lv2_class(amp, why, sizeof why)) {
		fprintf(stderr, "# SKIP %s\n", why);
		return;
	}
	Rig *r = rig_new("a:lv2 uri=http://plugin.org.uk/swh-plugins/amp gain=0");
	await_output(r, 1.0, 1e-6);
	int swaps = r->latency_calls;
	FxChainSpec spec0;
	uint32_t gen = fx_control_get_spec_gen(r->c, &spec0);
	r->in[0][3] = NAN;
	period(r);
	r->in[0][3] = 0.5f;
	await_output(r, 1.0, 1e-6);
	ck_assert_uint_ge(fx_engine_nonfinite(r->e), 1);
	ck_assert_int_eq(r->latency_calls, swaps);
	FxChainSpec spec;
	ck_assert_uint_eq(fx_control_get_spec_gen(r->c, &spec), gen);
	rig_free(r);
}
END_TEST

/* Two lines of 30 s at 48 kHz, 2 channels, against a 20 MB budget. */
static const char BIG_WHY[] = "chain needs 23.1 MB of buffers, over the "
			      "20 MB budget (--memory-budget)";

START_TEST(swap_over_the_budget_is_refused_with_its_cost)
{
	FxEngineConfig cfg = fx_test_engine_config(PERIOD);
	cfg.memory_budget = 20000000;
	Rig *r = rig_with(cfg, "a:delay max=1", 0.5f, 0.5f);
	FxChainSpec spec;
	uint32_t g0 = fx_control_get_spec_gen(r->c, &spec);
	FxChainSpec big = fx_test_spec("a:delay max=30 | b:delay max=30");
	char err[256] = "";
	ck_assert_int_eq(fx_control_swap(r->c, &big, err, sizeof err),
	                 FX_ERR_BUDGET);
	ck_assert_str_eq(err, BIG_WHY);
	ck_assert_int_eq(fx_control_swap(r->c, &big, NULL, 0), FX_ERR_BUDGET);
	ck_assert_int_eq(r->latency_calls, 0);
	ck_assert_uint_eq(fx_control_get_spec_gen(r->c, &spec), g0);
	ck_assert_int_eq(spec.n_slots, 1);
	assert_no_changes(r);
	/* A structural parameter within the budget rebuilds the chain; the
	 * big one is still refused after it. */
	ck_assert_int_eq(fx_control_set_param(r->c, 0, 6, 30, NULL, 0), FX_OK);
	fx_control_get_spec(r->c, &spec);
	ck_assert(spec.slots[0].values[6] == 30);
	err[0] = '\0';
	ck_assert_int_eq(fx_control_swap(r->c, &big, err, sizeof err),
	                 FX_ERR_BUDGET);
	ck_assert_str_eq(err, BIG_WHY);
	rig_free(r);
}
END_TEST

START_TEST(apply_glides_a_same_shaped_chain_and_swaps_another)
{
	Rig *r = rig_new("vol:gain db=0 | lpf:lowpass cutoff=1000 order=2");
	FxChainSpec spec;
	uint32_t g0 = fx_control_get_spec_gen(r->c, &spec);
	FxChainSpec same = fx_test_spec("vol:gain db=-3 | lpf:lowpass cutoff=2000 "
	                                "order=2");
	same.slots[1].bypass = 1;
	char err[128] = "";
	ck_assert_int_eq(fx_control_apply(r->c, &same, err, sizeof err), FX_OK);
	ck_assert_uint_eq(fx_control_get_spec_gen(r->c, &spec), g0);
	ck_assert(spec.slots[0].values[0] == -3);
	ck_assert(spec.slots[1].values[0] == 2000);
	ck_assert(spec.slots[1].bypass);
	ck_assert_int_eq(r->latency_calls, 0);
	FxChanges ch;
	fx_control_take_changes(r->c, &ch);
	ck_assert_int_eq(ch.chain, 0);
	ck_assert(has_entry(&ch, (FxParamRef){0, 0}));
	ck_assert(has_entry(&ch, (FxParamRef){1, 0}));
	ck_assert(has_entry(&ch, (FxParamRef){1, FX_PARAM_BYPASS}));
	ck_assert_int_eq(entries_set(&ch), 3);
	/* Applying it again is no change at all. */
	ck_assert_int_eq(fx_control_apply(r->c, &same, err, sizeof err), FX_OK);
	assert_no_changes(r);

	/* A structural difference (the order) is a swap. */
	FxChainSpec other = fx_test_spec("vol:gain db=-3 | lpf:lowpass cutoff=2000 "
	                                 "order=4");
	ck_assert_int_eq(fx_control_apply(r->c, &other, err, sizeof err), FX_OK);
	ck_assert_uint_ne(fx_control_get_spec_gen(r->c, &spec), g0);
	ck_assert(spec.slots[1].values[2] == 4);
	ck_assert_int_eq(r->latency_calls, 1);
	fx_control_take_changes(r->c, &ch);
	ck_assert_int_eq(ch.chain, 1);

	/* A value the engine refuses: its status's text. */
	FxChainSpec bad = spec;
	bad.slots[0].values[0] = NAN;
	ck_assert_int_eq(fx_control_apply(r->c, &bad, err, sizeof err),
	                 FX_ERR_NONFINITE);
	ck_assert_str_eq(err, fx_strerror(FX_ERR_NONFINITE));
	rig_free(r);
}
END_TEST

/* ---- mute, panic, tempo ------------------------------------------------- */

START_TEST(mute_fades_to_silence_and_back)
{
	Rig *r = rig_new("vol:gain db=0");
	await_output(r, 1.0, 1e-6);
	ck_assert_int_eq(fx_control_muted(r->c), 0);
	fx_control_mute(r->c, 1);
	ck_assert_int_eq(fx_control_muted(r->c), 1);
	FxChanges ch;
	fx_control_take_changes(r->c, &ch);
	ck_assert_int_eq(ch.mute, 1);
	fx_control_mute(r->c, 5); /* muted already */
	assert_no_changes(r);
	await_output(r, 0.0, 0.0);
	ck_assert(fx_engine_faded_out(r->e));
	for (int p = 0; p < 4; p++) {
		period(r);
		ck_assert(out_silent(r));
	}
	fx_control_mute(r->c, 0);
	ck_assert_int_eq(fx_control_muted(r->c), 0);
	fx_control_take_changes(r->c, &ch);
	ck_assert_int_eq(ch.mute, 1);
	await_output(r, 1.0, 1e-6);
	rig_free(r);
}
END_TEST

/* Panic clears every effect's state: a delay's echoes stop at once. */
START_TEST(panic_silences_the_echoes)
{
	Rig *r = rig_with(fx_test_engine_config(PERIOD),
	                  "d:delay time=5 feedback=0.9 mix=1", 0.5f, 0.5f);
	for (int p = 0; p < 10; p++)
		period(r);
	memset(r->in, 0, sizeof r->in);
	int echoes = 0;
	for (int p = 0; p < 20; p++) {
		period(r);
		echoes += !out_silent(r);
	}
	ck_assert_int_gt(echoes, 0); /* the tail rings on */
	fx_control_panic(r->c);
	/* The panicked chunk ramps down, the next is silent, and so is
	 * every one after it: nothing is left to echo. */
	for (int p = 0; p < 3; p++)
		period(r);
	for (int p = 0; p < 40; p++) {
		period(r);
		ck_assert_msg(out_silent(r), "an echo %d periods after panic",
		              p + 3);
	}
	rig_free(r);
}
END_TEST

START_TEST(bpm_is_clamped_and_recorded)
{
	Rig *r = rig_new("vol:gain");
	ck_assert(fx_control_bpm(r->c) == 120);
	ck_assert_int_eq(fx_control_set_bpm(r->c, 90), FX_OK);
	ck_assert(fx_control_bpm(r->c) == 90);
	FxChanges ch;
	fx_control_take_changes(r->c, &ch);
	ck_assert_int_eq(ch.bpm, 1);
	ck_assert_int_eq(fx_control_set_bpm(r->c, 90), FX_OK);
	assert_no_changes(r);
	ck_assert_int_eq(fx_control_set_bpm(r->c, 5), FX_OK);
	ck_assert(fx_control_bpm(r->c) == 20);
	ck_assert_int_eq(fx_control_set_bpm(r->c, 5000), FX_OK);
	ck_assert(fx_control_bpm(r->c) == 999);
	ck_assert_int_eq(fx_control_set_bpm(r->c, NAN), FX_ERR_NONFINITE);
	ck_assert(fx_control_bpm(r->c) == 999);
	rig_free(r);
}
END_TEST

/* ---- meters, metrics, sync points --------------------------------------- */

START_TEST(meters_report_each_output_since_the_last_read)
{
	Rig *r = rig_new("vol:gain db=0");
	float peak[6] = {-1, -1, -1, -1, -1, -1},
	      rms[6] = {-1, -1, -1, -1, -1, -1};
	int outs = -1;
	ck_assert_int_eq(fx_control_meters(r->c, peak, rms, 6, &outs), 2 * CH);
	ck_assert_int_eq(outs, CH);
	ck_assert(peak[0] == 0 && rms[0] == 0); /* nothing made yet */
	for (int p = 0; p < 3; p++)
		period(r);
	ck_assert_int_eq(fx_control_meters(r->c, peak, rms, 6, &outs), 2 * CH);
	ck_assert_float_eq_tol(peak[0], 0.5f, 1e-6f);
	ck_assert_float_eq_tol(rms[0], 0.5f, 1e-6f);
	ck_assert_float_eq_tol(peak[1], 0.25f, 1e-6f);
	ck_assert_float_eq_tol(rms[1], 0.25f, 1e-6f);
	/* The inputs, as they came in, after the outputs. */
	ck_assert_float_eq_tol(peak[2], 0.5f, 1e-6f);
	ck_assert_float_eq_tol(peak[3], 0.25f, 1e-6f);
	ck_assert(peak[4] == -1); /* only the ports there are */
	/* Read: the next interval starts empty. */
	ck_assert_int_eq(fx_control_meters(r->c, peak, rms, 1, &outs), 1);
	ck_assert_int_eq(outs, 1);
	ck_assert(peak[0] == 0 && rms[0] == 0);
	rig_free(r);
}
END_TEST

START_TEST(metrics_count_periods_and_reset)
{
	Rig *r = rig_new("vol:gain db=0");
	for (int p = 0; p < 7; p++)
		period(r);
	FxEngineMetrics m;
	fx_control_counters(r->c, &m);
	ck_assert_uint_eq(m.callbacks, 7);
	ck_assert_uint_eq(m.chunks, 7);
	ck_assert_uint_eq(m.underflows, 0);
	fx_control_metrics(r->c, &m);
	ck_assert_uint_eq(m.callbacks, 7);
	ck_assert_uint_eq(m.callback.count, 7);
	ck_assert_uint_eq(m.worker.count, 7);
	fx_control_reset_metrics(r->c);
	fx_control_metrics(r->c, &m);
	ck_assert_uint_eq(m.callbacks, 0);
	ck_assert_uint_eq(m.callback.count, 0);
	period(r);
	fx_control_counters(r->c, &m);
	ck_assert_uint_eq(m.callbacks, 1);
	FxEngineConfig cfg = fx_control_engine_config(r->c);
	ck_assert_int_eq(cfg.period, PERIOD);
	ck_assert_int_eq(cfg.outputs, CH);
	rig_free(r);
}
END_TEST

/* A sync point is reached once the worker applied every change before it,
 * and not before. */
START_TEST(sync_points_wait_for_the_worker)
{
	Rig *r = rig_new("vol:gain db=0");
	uint32_t before = fx_control_sync_point(r->c);
	ck_assert(fx_control_synced(r->c, before));
	ck_assert_int_eq(fx_control_set_param(r->c, 0, 0, -6, NULL, 0), FX_OK);
	ck_assert_int_eq(fx_control_set_bypass(r->c, 0, 1, 0), FX_OK);
	uint32_t point = fx_control_sync_point(r->c);
	ck_assert_uint_ne(point, before);
	ck_assert(!fx_control_synced(r->c, point));
	fx_engine_process(r->e, r->inp, r->outp, PERIOD);
	ck_assert(!fx_control_synced(r->c, point)); /* the driver alone */
	fx_engine_work(r->e);
	ck_assert(fx_control_synced(r->c, point));
	/* Nothing changed: the point is where it was. */
	ck_assert_int_eq(fx_control_set_param(r->c, 0, 0, -6, NULL, 0), FX_OK);
	ck_assert_uint_eq(fx_control_sync_point(r->c), point);
	rig_free(r);
}
END_TEST

/* A new engine (after a sample-rate change) is a new chain to every
 * client: the generation moves and the chain is reported changed. */
START_TEST(set_engine_moves_the_generation)
{
	Rig *r = rig_new("vol:gain db=0");
	FxChainSpec spec;
	uint32_t g0 = fx_control_get_spec_gen(r->c, &spec);
	FxEngineConfig cfg = fx_test_engine_config(PERIOD);
	cfg.sample_rate = 44100;
	FxChainSpec two = fx_test_spec("a:gain db=-1 | b:gain db=-2");
	FxStatus st;
	FxEngine *e2 = fx_engine_new(&cfg, &two, &st);
	ck_assert_ptr_nonnull(e2);
	fx_control_set_engine(r->c, e2);
	fx_engine_free(r->e);
	r->e = e2;
	ck_assert_uint_ne(fx_control_get_spec_gen(r->c, &spec), g0);
	ck_assert_int_eq(spec.n_slots, 2);
	ck_assert(fx_control_engine_config(r->c).sample_rate == 44100);
	FxChanges ch;
	fx_control_take_changes(r->c, &ch);
	ck_assert_int_eq(ch.chain, 1);
	ck_assert_int_eq(fx_control_set_param(r->c, 1, 0, -6.0206, NULL, 0),
	                 FX_OK);
	ck_assert_double_eq(fx_engine_get_param(e2, (FxParamRef){1, 0}), -6.0206);
	rig_free(r);
}
END_TEST

/* ---- the engine's control lock ------------------------------------------ */

typedef struct {
	Rig *r;
	int rounds;
	FxStatus worst;
} Racer;

/* The OSC thread's part: changes and queries through the surface. */
static void *control_racer(void *arg)
{
	Racer *x = arg;
	for (int i = 0; i < x->rounds; i++) {
		FxStatus st = fx_control_set_param(x->r->c, 0, 0, -(i % 90),
		                                   NULL, 0);
		if (st != FX_OK)
			x->worst = st;
		FxChainSpec spec;
		fx_control_get_spec(x->r->c, &spec);
		(void)fx_control_latency(x->r->c);
		(void)fx_control_sync_point(x->r->c);
	}
	return NULL;
}

/* The driver's buffer-size path and the control surface at once: each
 * call waits for the other (the engine's lock), none is lost, and the
 * period and values end where the last calls left them. TSan runs this
 * too. */
START_TEST(period_changes_and_control_calls_exclude_each_other)
{
	Rig *r = rig_new("vol:gain db=0");
	Racer x = {.r = r, .rounds = 400, .worst = FX_OK};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, control_racer, &x), 0);
	int last = PERIOD;
	for (int i = 0; i < 40; i++) {
		last = i % 2 ? PERIOD : PERIOD / 2;
		ck_assert_int_eq(fx_engine_set_period(r->e, last), FX_OK);
	}
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(x.worst, FX_OK);
	ck_assert_int_eq(fx_control_engine_config(r->c).period, last);
	ck_assert_double_eq(fx_engine_get_param(r->e, (FxParamRef){0, 0}),
	                    -((x.rounds - 1) % 90));
	ck_assert_int_eq(fx_control_latency(r->c),
	                 last * fx_control_engine_config(r->c).latency_periods);
	rig_free(r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"parameters", 0, .tests = {
			{set_param_clamps_records_the_change_and_is_heard, 0},
			{set_param_refuses_what_the_chain_lacks, 0},
			{bypass_is_recorded_once_and_heard, 0},
			{writes_at_a_stale_generation_are_refused, 0},
		}},
		{"chains", 0, .tests = {
			{swap_bumps_the_generation_and_tells_the_driver, 0},
			{a_muted_plugin_is_restarted_in_its_slot, 0},
			{swap_over_the_budget_is_refused_with_its_cost, 0},
			{apply_glides_a_same_shaped_chain_and_swaps_another, 0},
			{set_engine_moves_the_generation, 0},
		}},
		{"output", 0, .tests = {
			{mute_fades_to_silence_and_back, 0},
			{panic_silences_the_echoes, 0},
			{bpm_is_clamped_and_recorded, 0},
			{meters_report_each_output_since_the_last_read, 0},
			{metrics_count_periods_and_reset, 0},
			{sync_points_wait_for_the_worker, 0},
		}},
		/* Generous: the same test runs under TSan on a loaded machine. */
		{"locking", 120, .tests = {
			{period_changes_and_control_calls_exclude_each_other,
			 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("control", cases));
}

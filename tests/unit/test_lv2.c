/* SPDX-License-Identifier: ISC */
/* LV2 slots (dsp/lv2.h) with real plugins from Debian (swh-lv2,
 * x42-plugins): the parameter table built from the ports, the spec's text
 * round trip, '#' inside URIs, glides, latency, channel shapes and the
 * non-finite guard. Each test skips (passes with a note) when its plugin is
 * not installed. Sample exactness against lv2apply is in
 * tests/integration/test_lv2.sh. */
#include "tests/fxtest.h"

#include <math.h>
#include <string.h>

#include "dsp/chain.h"
#include "dsp/lv2.h"

#define AMP "http://plugin.org.uk/swh-plugins/amp"
#define HPF "http://plugin.org.uk/swh-plugins/butthigh_iir"
#define DPL "http://gareus.org/oss/lv2/dpl#mono"
#define BALANCE "http://gareus.org/oss/lv2/balance"
#define DBTP "http://gareus.org/oss/lv2/meters#dBTPmono"

/* The class for @p uri, or NULL after saying the test is skipped. */
static const FxEffectClass *plugin(const char *uri)
{
	char why[512];
	const FxEffectClass *cls = fx_lv2_class(uri, why, sizeof why);
	if (!cls)
		fprintf(stderr, "# SKIP %s\n", why);
	return cls;
}

START_TEST(the_table_comes_from_the_ports)
{
	const FxEffectClass *amp = plugin(AMP), *dpl = plugin(DPL),
			    *hpf = plugin(HPF);
	if (!amp || !dpl || !hpf)
		return;
	ck_assert_str_eq(amp->name, FX_LV2_EFFECT);
	ck_assert_str_eq(amp->uri, AMP);
	ck_assert_int_eq(amp->n_params, 1);
	const FxParamInfo *gain = &amp->params[0];
	ck_assert_str_eq(gain->name, "gain");
	ck_assert(gain->min == -70 && gain->max == 70 && gain->def == 0);
	ck_assert(gain->flags & FX_PARAM_SMOOTHED);
	/* A toggle is an enum of off and on; dB units glide in dB. */
	int en = fx_param_find(dpl, "enable");
	ck_assert_int_ge(en, 0);
	ck_assert_int_eq(dpl->params[en].scale, FX_SCALE_ENUM);
	ck_assert_str_eq(dpl->params[en].labels[0], "off");
	ck_assert_str_eq(dpl->params[en].labels[1], "on");
	int th = fx_param_find(dpl, "threshold");
	ck_assert_str_eq(dpl->params[th].unit, "dB");
	ck_assert_int_eq(dpl->params[th].scale, FX_SCALE_DB);
	/* Logarithmic, with bounds per Hz of the rate: shown at 48 kHz. */
	int cut = fx_param_find(hpf, "cutoff");
	ck_assert_int_eq(hpf->params[cut].scale, FX_SCALE_LOG);
	ck_assert_str_eq(hpf->params[cut].unit, "Hz");
	ck_assert_double_eq_tol(hpf->params[cut].max, 0.45 * 48000, 1e-6);
	/* One class per URI, however often it is asked for. */
	ck_assert_ptr_eq(plugin(AMP), amp);
}
END_TEST

START_TEST(specs_round_trip_with_the_uri)
{
	if (!plugin(AMP) || !plugin(DPL))
		return;
	FxChainSpec spec = fx_test_spec(
		"# a comment\n"
		"a:lv2 uri=" AMP " gain=-6 # the SWH one\n"
		"| lim:lv2 uri=" DPL " threshold=-3 enable=off | vol:gain");
	ck_assert_int_eq(spec.n_slots, 3);
	ck_assert_str_eq(spec.slots[1].cls->uri, DPL);
	char *text = fx_spec_format_new(&spec);
	ck_assert_ptr_nonnull(strstr(text, "a:lv2 uri=" AMP " gain=-6 | "));
	ck_assert_ptr_nonnull(strstr(text, "lim:lv2 uri=" DPL " enable=off"));
	FxChainSpec again = fx_test_spec(text);
	free(text);
	ck_assert_ptr_eq(again.slots[0].cls, spec.slots[0].cls);
	ck_assert_ptr_eq(again.slots[1].cls, spec.slots[1].cls);
	ck_assert(!memcmp(again.slots[1].values, spec.slots[1].values,
	                  sizeof again.slots[1].values));
}
END_TEST

START_TEST(bad_specs_say_why)
{
	if (!plugin(AMP))
		return;
	fx_test_spec_refused("a:lv2 uri=" AMP "x", FX_ERR_UNKNOWN_EFFECT,
	                     "did you mean '" AMP "'?");
	fx_test_spec_refused("a:lv2", FX_ERR_SYNTAX, "uri=URI must follow");
	fx_test_spec_refused("a:lv2 gain=3", FX_ERR_SYNTAX,
	                     "uri=URI must follow");
	fx_test_spec_refused("a:lv2 uri=" AMP " gainn=3", FX_ERR_UNKNOWN_PARAM,
	                     "did you mean 'gain'?");
	fx_test_spec_refused("a:lv2 uri=" AMP " gain=71", FX_ERR_RANGE,
	                     "out of range -70..70");
	fx_test_spec_refused("a:lv2 uri=" AMP " uri=" AMP, FX_ERR_STRUCTURAL,
	                     "uri is given once");
	fx_test_spec_refused("a:lv3", FX_ERR_UNKNOWN_EFFECT,
	                     "did you mean 'lv2'?");
}
END_TEST

START_TEST(channel_shapes)
{
	const FxEffectClass *bal = plugin(BALANCE);
	if (!bal || !plugin(HPF))
		return;
	FxChainSpec spec = fx_test_spec("b:lv2 uri=" BALANCE);
	FxChainConfig cfg = fx_test_chain_config(3, 0);
	FxChainPlan plan;
	ck_assert_int_eq(fx_chain_plan(&spec, &cfg, &plan), FX_ERR_CHANNELS);
	char why[256];
	fx_lv2_shape_text(bal, 3, why, sizeof why);
	ck_assert_msg(strstr(why, "2 audio inputs and 2 outputs"), "%s", why);
	cfg.channels = 2;
	ck_assert_int_eq(fx_chain_plan(&spec, &cfg, &plan), FX_OK);
	fx_lv2_shape_text(bal, 2, why, sizeof why);
	ck_assert_str_eq(why, "");
	/* A mono plugin fits any channel count, one instance each. */
	FxChain *c = fx_test_chain("h:lv2 uri=" HPF " cutoff=2000",
	                           fx_test_chain_config(5, 0));
	fx_chain_free(c);
}
END_TEST

/* One 256-frame chunk of @p v through @p c, in place in @p buf[0]. */
static void process_dc(FxChain *c, float *const *buf, float v)
{
	for (int i = 0; i < 256; i++)
		buf[0][i] = v;
	fx_chain_process(c, buf, 256);
}

/* A glide moves the plugin's control in 32-frame steps: on a constant
 * input the output never jumps by more than one step's worth. */
START_TEST(controls_glide)
{
	if (!plugin(AMP))
		return;
	FxChainConfig cfg = fx_test_chain_config(1, 20.0);
	cfg.max_block = 256;
	FxChain *c = fx_test_chain("a:lv2 uri=" AMP " gain=-20", cfg);
	static float x[256];
	float *buf[1] = {x};
	float last = 0, jump = 0;
	for (int k = 0; k < 40; k++) {
		if (k == 4)
			ck_assert_int_eq(fx_chain_set_param(c, 0, 0, 0.0, NULL),
			                 FX_OK);
		process_dc(c, buf, 0.5f);
		for (int i = 0; i < 256; i++) {
			if (k >= 4 && fabsf(x[i] - last) > jump)
				jump = fabsf(x[i] - last);
			last = x[i];
		}
		if (k == 3)
			ck_assert_float_eq_tol(x[255], 0.05f, 1e-4f);
	}
	ck_assert_float_eq_tol(last, 0.5f, 1e-5f);
	/* 20 dB over 20 ms at 48 kHz is 30 steps of 2/3 dB. */
	double step = 0.5 * (pow(10.0, (20.0 / 30.0) / 20.0) - 1.0);
	ck_assert_msg(jump <= step * 1.01, "largest jump %g, one step %g",
	              (double)jump, step);
	fx_chain_free(c);
}
END_TEST

/* The limiter's lookahead is the chain's latency, kept when bypassed: a
 * pulse comes out exactly that late either way. */
START_TEST(latency_is_reported_and_kept_in_bypass)
{
	if (!plugin(DPL))
		return;
	for (int bypass = 0; bypass < 2; bypass++) {
		char text[160];
		snprintf(text, sizeof text, "l:lv2 uri=" DPL " bypass=%d",
		         bypass);
		FxChainConfig cfg = fx_test_chain_config(1, 0);
		cfg.max_block = 512;
		FxChain *c = fx_test_chain(text, cfg);
		int lat = fx_chain_latency(c);
		ck_assert_int_gt(lat, 0);
		FxChainSpec spec = fx_test_spec(text);
		FxChainPlan plan;
		ck_assert_int_eq(fx_chain_plan(&spec, &cfg, &plan), FX_OK);
		ck_assert_int_eq(plan.latency, lat);
		static float x[512];
		float *buf[1] = {x};
		int at = -1;
		for (int k = 0; k < 4 && at < 0; k++) {
			memset(x, 0, sizeof x);
			if (k == 0)
				x[100] = 0.25f;
			fx_chain_process(c, buf, 512);
			for (int i = 0; i < 512; i++)
				if (fabsf(x[i]) > 0.1f && at < 0)
					at = k * 512 + i;
		}
		ck_assert_msg(at == 100 + lat, "bypass=%d: pulse at %d, not %d",
		              bypass, at, 100 + lat);
		fx_chain_free(c);
	}
}
END_TEST

/* A NaN into the plugin: LV2 has no realtime reset, so the slot mutes
 * itself from that chunk on, counted once, and never runs the plugin
 * again; a chain rebuilt from the same spec (what fxd's control thread
 * does) runs clean. */
/* The peak of a 256-frame sine chunk through @p c, a NaN at frame 7 when
 * @p nan; the output must be finite either way. */
static float sine_peak(FxChain *c, int nan)
{
	static float x[256];
	float *buf[1] = {x};
	for (int i = 0; i < 256; i++)
		x[i] = (float)sin(i * 0.3);
	if (nan)
		x[7] = NAN;
	fx_chain_process(c, buf, 256);
	ck_assert(fx_audio_is_finite(buf, 1, 256));
	float peak = 0;
	for (int i = 0; i < 256; i++)
		peak = fmaxf(peak, fabsf(x[i]));
	return peak;
}

/* Muted, the plugin is restarted in its slot (fx_chain_restart_muted, as
 * fxd's control thread does) while the chain stays. */
START_TEST(a_non_finite_plugin_mutes_its_slot_until_restarted)
{
	if (!plugin(HPF))
		return;
	FxChainConfig cfg = fx_test_chain_config(1, 0);
	FxChain *c = fx_test_chain("h:lv2 uri=" HPF " cutoff=500 | g:gain", cfg);
	ck_assert_float_gt(sine_peak(c, 0), 0.1f);
	sine_peak(c, 1);
	ck_assert_float_eq(sine_peak(c, 0), 0.0f);
	ck_assert_float_eq(sine_peak(c, 0), 0.0f);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 1);
	ck_assert_uint_eq(fx_chain_slot_faults(c, 0), 1);
	ck_assert_int_eq(fx_chain_restart_muted(c), 1);
	ck_assert_int_eq(fx_chain_restart_muted(c), 0);
	ck_assert_float_gt(sine_peak(c, 0), 0.1f);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 1);
	fx_chain_free(c);
}
END_TEST

/* Bypassed, a plugin keeps running unheard (its reset is not realtime-
 * safe), so it returns with its state live and fades back in. */
START_TEST(a_bypassed_plugin_keeps_running)
{
	if (!plugin(AMP))
		return;
	FxChainConfig cfg = fx_test_chain_config(1, 0);
	cfg.bypass_ms = 1;
	FxChain *c = fx_test_chain("a:lv2 uri=" AMP " gain=-20", cfg);
	static float x[256];
	float *buf[1] = {x};
	fx_chain_set_bypass(c, 0, 1);
	for (int k = 0; k < 3; k++)
		process_dc(c, buf, 0.5f);
	ck_assert_float_eq(x[255], 0.5f); /* bypassed: dry */
	fx_chain_set_bypass(c, 0, 0);
	for (int k = 0; k < 3; k++)
		process_dc(c, buf, 0.5f);
	ck_assert_float_eq_tol(x[255], 0.05f, 1e-5f);
	fx_chain_free(c);
}
END_TEST

/* fxfile's blocks are 9600 frames; x42's true-peak meter crashes on a
 * run past 8192 whatever maxBlockLength says, so runs are cut to
 * LV2_MAX_RUN. And the cut changes nothing: SWH amp over one 9600-frame
 * block equals it over 1024-frame blocks. */
START_TEST(long_blocks_run_in_parts)
{
	if (!plugin(DBTP) || !plugin(AMP))
		return;
	enum { N = 9600 };
	static float x[N], y[N];
	FxChainConfig cfg = fx_test_chain_config(1, 0);
	cfg.max_block = N;
	FxChain *meter = fx_test_chain("m:lv2 uri=" DBTP, cfg);
	FxChain *a = fx_test_chain("a:lv2 uri=" AMP " gain=-3", cfg);
	cfg.max_block = 1024;
	FxChain *b = fx_test_chain("a:lv2 uri=" AMP " gain=-3", cfg);
	for (int i = 0; i < N; i++)
		x[i] = y[i] = (float)sin(i * 0.01) * 0.5f;
	float *bx[1] = {x}, *by[1] = {y};
	fx_chain_process(meter, bx, N);
	for (int i = 0; i < N; i++)
		x[i] = y[i];
	fx_chain_process(a, bx, N);
	fx_chain_process(b, by, N);
	ck_assert(!memcmp(x, y, sizeof x));
	fx_chain_free(meter);
	fx_chain_free(a);
	fx_chain_free(b);
}
END_TEST

int main(void)
{
	/* clang-format off */
	const FxTestCase cases[] = {
		{"lv2", 60, .tests = {
			{the_table_comes_from_the_ports, 0},
			{specs_round_trip_with_the_uri, 0},
			{bad_specs_say_why, 0},
			{channel_shapes, 0},
			{controls_glide, 0},
			{latency_is_reported_and_kept_in_bypass, 0},
			{a_non_finite_plugin_mutes_its_slot_until_restarted, 0},
			{a_bypassed_plugin_keeps_running, 0},
			{long_blocks_run_in_parts, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("lv2", cases));
}

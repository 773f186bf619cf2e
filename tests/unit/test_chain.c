/* SPDX-License-Identifier: ISC */
/* The chain: effects, glides, bypass, the non-finite guard, denormals. */
#include "tests/fxtest.h"

#include <math.h>
#include <string.h>

#include "dsp/chain.h"
#include "dsp/denormal.h"
#include "dsp/sos.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

enum { FS = 48000, N = 9600 };

static void sine(float *x, int n, double f, double amp, int offset)
{
	for (int i = 0; i < n; i++)
		x[i] = (float)(amp * sin(2 * M_PI * f * (i + offset) / FS));
}

/* Runs mono buffer x through c in chunks of `chunk` frames. */
static void run(FxChain *c, float *x, int n, int chunk)
{
	for (int off = 0; off < n; off += chunk) {
		float *p = x + off;
		fx_chain_process(c, &p, n - off < chunk ? n - off : chunk);
	}
}

/* q on lowpass/highpass scales each section's Q; at order 2 that is the
 * cookbook's resonant LPF/HPF. */
START_TEST(pass_filter_q_is_resonance)
{
	static const char *const text[] = {"lowpass cutoff=1000 q=3 order=2",
	                                   "highpass cutoff=1000 q=3 order=2"};
	static const FxRbjType type[] = {FX_RBJ_LOWPASS, FX_RBJ_HIGHPASS};
	static float x[N], y[N];
	for (int i = 0; i < N; i++)
		x[i] = y[i] = (float)(sin(i * 0.05) + 0.5 * sin(i * 0.9));
	FxChain *c = fx_test_chain(text[_i], fx_test_chain_config(1, 20));
	run(c, x, N, 256);
	FxSection sec;
	double q = 3 / (M_SQRT2 * 0.7071);
	ck_assert_int_eq(fx_design_rbj(type[_i], 1000, q, 0, FS, &sec), FX_OK);
	FxStatus st;
	FxSos *ref = fx_sos_new(1, 1, &st);
	fx_sos_set(ref, &sec, 1);
	float *p = y;
	fx_sos_process(ref, (const float *const *)&p, &p, N);
	double e2 = 0, r2 = 0;
	for (int i = 0; i < N; i++) {
		e2 += (x[i] - y[i]) * (x[i] - y[i]);
		r2 += y[i] * y[i];
	}
	ck_assert_msg(sqrt(e2 / r2) < 1e-6, "%s: %g", text[_i], sqrt(e2 / r2));
	fx_sos_free(ref);
	fx_chain_free(c);
}
END_TEST

START_TEST(gain_applies_db)
{
	FxChain *c = fx_test_chain("gain db=6", fx_test_chain_config(1, 20));
	float x[256];
	for (int i = 0; i < 256; i++)
		x[i] = 0.5f;
	run(c, x, 256, 256);
	for (int i = 0; i < 256; i++)
		ck_assert_float_eq_tol(x[i], 0.5 * pow(10, 6 / 20.0), 1e-6);
	fx_chain_free(c);
}
END_TEST

START_TEST(gain_step_glides_without_jumps)
{
	double glide_ms = 20, glide = glide_ms * 1e-3 * FS;
	FxChain *c = fx_test_chain("gain db=0",
	                           fx_test_chain_config(1, glide_ms));
	static float x[N];
	for (int i = 0; i < N; i++)
		x[i] = 1.0f;
	double applied;
	ck_assert_int_eq(fx_chain_set_param(c, 0, 0, 12.0, &applied), FX_OK);
	run(c, x, N, 256);
	double g = pow(10, 12 / 20.0), worst = 0;
	for (int i = 1; i < N; i++)
		worst = fmax(worst, fabs(x[i] - x[i - 1]));
	/* A dB-linear glide is steepest at its top: g * ln10/20 * dB/frames. */
	double allowed = g * log(10) / 20 * 12 / glide * 1.01;
	ck_assert_msg(worst <= allowed, "jump %g > %g", worst, allowed);
	ck_assert_msg(worst > 0.5 * allowed, "no glide seen (%g)", worst);
	ck_assert_float_eq_tol(x[(int)glide + 64], g, 1e-5);
	ck_assert_float_eq_tol(x[N - 1], g, 1e-5);
	ck_assert(fabs(x[(int)glide / 2] - g) > 0.1); /* still moving halfway */
	fx_chain_free(c);
}
END_TEST

static const char *const sweep_chains[] = {
	"lowpass cutoff=20 order=4",      "lowpass cutoff=20 order=16",
	"highpass cutoff=20 order=8",     "bandpass cutoff=20 q=5 order=4",
	"bandstop cutoff=20 q=2 order=4", "peaking cutoff=20 q=10 gain=24",
	"lowshelf cutoff=20 gain=-24",    "highshelf cutoff=20 gain=24",
	"notch cutoff=20 q=20",           "allpass cutoff=20 q=20",
};

START_TEST(cutoff_sweep_stays_bounded)
{
	FxChain *c = fx_test_chain(sweep_chains[_i], fx_test_chain_config(1, 10));
	static float x[N];
	sine(x, N, 997, 1.0, 0);
	ck_assert_int_eq(fx_chain_set_param(c, 0, 0, 20000, NULL), FX_OK);
	run(c, x, N, 64);
	/* And back down, the other direction. */
	static float y[N];
	sine(y, N, 997, 1.0, N);
	ck_assert_int_eq(fx_chain_set_param(c, 0, 0, 20, NULL), FX_OK);
	run(c, y, N, 64);
	double peak = 0;
	for (int i = 0; i < N; i++) {
		ck_assert(isfinite(x[i]) && isfinite(y[i]));
		peak = fmax(peak, fmax(fabs(x[i]), fabs(y[i])));
	}
	/* Peaking/shelves add up to +24 dB (x15.9); nothing may exceed that
	 * much beyond its static gain. */
	ck_assert_msg(peak < 40.0, "%s: peak %g", sweep_chains[_i], peak);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 0);
	fx_chain_free(c);
}
END_TEST

START_TEST(setting_a_param_keeps_filter_state)
{
	/* The cutoff moves (20 ms glide) halfway through a steady tone. */
	static float x[N], fresh[N / 2];
	for (int i = 0; i < N; i++)
		x[i] = (float)(0.8 * cos(2 * M_PI * 300 * i / FS));
	memcpy(fresh, x + N / 2, sizeof fresh);
	FxChain *c = fx_test_chain("lowpass cutoff=500 order=4",
	                           fx_test_chain_config(1, 20));
	run(c, x, N / 2, 256);
	ck_assert_int_eq(fx_chain_set_param(c, 0, 0, 2000, NULL), FX_OK);
	run(c, x + N / 2, N / 2, 256);
	/* What a reset would sound like: the new filter from zero state. */
	FxChain *r = fx_test_chain("lowpass cutoff=2000 order=4",
	                           fx_test_chain_config(1, 0));
	run(r, fresh, N / 2, 256);

	double steady = 0, after = 0, apart = 0;
	for (int i = N / 4; i < N / 2; i++)
		steady = fmax(steady, fabs(x[i] - x[i - 1]));
	for (int i = N / 2; i < N; i++)
		after = fmax(after, fabs(x[i] - x[i - 1]));
	for (int i = 0; i < 64; i++)
		apart = fmax(apart, fabs(x[N / 2 + i] - fresh[i]));
	/* No click at the change: the tone's own slope, give or take. */
	ck_assert_msg(after <= 1.5 * steady, "step %g vs steady %g", after,
	              steady);
	/* And it is not a restart: a reset filter starts from silence. */
	ck_assert_msg(apart > 0.2, "output matches a reset filter (%g)", apart);
	/* Both settle to the same steady state. */
	ck_assert(fabs(x[N - 1] - fresh[N / 2 - 1]) < 1e-4);
	fx_chain_free(c);
	fx_chain_free(r);
}
END_TEST

START_TEST(chunk_size_does_not_change_output)
{
	const char *text = "hpf:highpass cutoff=80 order=2 | eq:peaking "
			   "cutoff=1000 q=0.7 gain=6 | lpf:lowpass cutoff=12000 "
			   "order=2 | vol:gain db=-3";
	static float ref[N], x[N];
	for (int i = 0; i < N; i++)
		ref[i] = (float)(sin(i * 0.01) + 0.3 * sin(i * 1.3));
	memcpy(x, ref, sizeof x);
	FxChain *c = fx_test_chain(text, fx_test_chain_config(1, 20));
	run(c, ref, N, N);
	fx_chain_free(c);
	static const int chunks[] = {1, 7, 64, 4096};
	for (size_t k = 0; k < 4; k++) {
		static float y[N];
		memcpy(y, x, sizeof y);
		c = fx_test_chain(text, fx_test_chain_config(1, 20));
		run(c, y, N, chunks[k]);
		ck_assert_msg(!memcmp(y, ref, sizeof y), "chunk %d differs",
		              chunks[k]);
		fx_chain_free(c);
	}
}
END_TEST

START_TEST(bypass_crossfades_then_passes_dry)
{
	FxChainConfig cfg = fx_test_chain_config(1, 20);
	cfg.bypass_ms = 10;
	FxChain *c = fx_test_chain("lowpass cutoff=200 order=4", cfg);
	enum { L = 4800 };
	static float dry[L], x[L];
	sine(dry, L, 3000, 0.5, 0);
	memcpy(x, dry, sizeof x);
	run(c, x, 1200, 256);
	ck_assert(fabs(x[1199]) < 0.01); /* 3 kHz is filtered out */
	ck_assert_int_eq(fx_chain_set_bypass(c, 0, 1), FX_OK);
	run(c, x + 1200, L - 1200, 256);
	/* Fade time 480 frames: each step moves the mix by at most 1/480 of
	 * the wet-dry gap on top of the signals' own slope. */
	double slope = 2 * M_PI * 3000.0 / FS * 0.5;
	double allowed = slope * 1.02 + 1.0 / 480 + 0.01;
	for (int i = 1; i < L; i++)
		ck_assert_msg(fabs(x[i] - x[i - 1]) <= allowed,
		              "jump at %d: %g", i, fabs(x[i] - x[i - 1]));
	ck_assert_mem_eq(x + 1200 + 480, dry + 1200 + 480,
	                 (L - 1200 - 480) * sizeof(float));
	ck_assert(fabs(x[1200 + 100]) > 0.01 &&
	          fabs(x[1200 + 100]) < fabs(dry[1200 + 100]) + 1e-6);
	ck_assert_int_eq(fx_chain_get_bypass(c, 0), 1);
	/* And back in: the effect returns, again without a jump. */
	static float y[L];
	sine(y, L, 3000, 0.5, L);
	ck_assert_int_eq(fx_chain_set_bypass(c, 0, 0), FX_OK);
	float prev = x[L - 1];
	run(c, y, L, 256);
	ck_assert(fabs(y[0] - prev) <= allowed);
	for (int i = 1; i < L; i++)
		ck_assert(fabs(y[i] - y[i - 1]) <= allowed);
	ck_assert(fabs(y[L - 1]) < 0.01);
	fx_chain_free(c);
}
END_TEST

/* A deliberately unstable one-pole, y = x + 1.5 y[-1], to blow up. */
typedef struct {
	double y;
} Unstable;

static FxStatus unstable_init(void *s, const FxEffectSetup *setup)
{
	return FX_OK;
}
static void unstable_reset(void *s)
{
	((Unstable *)s)->y = 0;
}
static void unstable_update(void *s, const double *v)
{
}
static void unstable_process(void *s, float *const *buf, int n)
{
	Unstable *u = s;
	for (int i = 0; i < n; i++) {
		u->y = buf[0][i] + 1.5 * u->y;
		buf[0][i] = (float)u->y;
	}
}
static const FxEffectClass unstable = {
	.name = "unstable",
	.doc = "test",
	.params = NULL,
	.n_params = 0,
	.state_size = sizeof(Unstable),
	.init = unstable_init,
	.reset = unstable_reset,
	.update = unstable_update,
	.process = unstable_process,
};

START_TEST(nonfinite_chunks_are_muted_and_reset)
{
	FxChainSpec spec = {.n_slots = 1};
	spec.slots[0].cls = &unstable;
	FxChainConfig cfg = fx_test_chain_config(1, 20);
	FxStatus st;
	FxChain *c = fx_chain_new(&spec, &cfg, &st);
	ck_assert_ptr_nonnull(c);
	float first[64], x[64];
	for (int k = 0; k < 4; k++) {
		for (int i = 0; i < 64; i++)
			x[i] = 1.0f;
		float *p = x;
		fx_chain_process(c, &p, 64);
		if (k == 0)
			memcpy(first, x, sizeof x);
		if (k < 3) {
			/* 1.5^192 ~ 6e33 still fits a float. */
			ck_assert(isfinite(x[63]) && x[63] > 1e10f);
			ck_assert_uint_eq(fx_chain_nonfinite_count(c), 0);
		}
	}
	/* 1.5^256 overflows: the fourth chunk is muted and counted. */
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 1);
	for (int i = 0; i < 64; i++)
		ck_assert(x[i] == 0.0f);
	/* The state was reset, so the next chunk starts over like the first. */
	for (int i = 0; i < 64; i++)
		x[i] = 1.0f;
	float *p = x;
	fx_chain_process(c, &p, 64);
	ck_assert_mem_eq(x, first, sizeof x);
	fx_chain_free(c);

	/* A finite blow-up through real filters: +48 dB on a huge input. */
	c = fx_test_chain("gain db=24 | peaking cutoff=1000 q=1 gain=24",
	                  fx_test_chain_config(1, 0));
	for (int i = 0; i < 64; i++)
		x[i] = (float)(1e37 * sin(2 * M_PI * 1000 * i / FS));
	p = x;
	fx_chain_process(c, &p, 64);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 1);
	for (int i = 0; i < 64; i++)
		ck_assert(x[i] == 0.0f);
	fx_chain_free(c);
}
END_TEST

START_TEST(nan_input_never_reaches_output)
{
	FxChain *c = fx_test_chain("lowpass cutoff=1000 | gain db=0",
	                           fx_test_chain_config(2, 20));
	float l[128], r[128];
	for (int i = 0; i < 128; i++)
		l[i] = r[i] = 0.25f;
	r[17] = NAN;
	float *buf[2] = {l, r};
	fx_chain_process(c, buf, 128);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 1);
	for (int i = 0; i < 128; i++)
		ck_assert(l[i] == 0.0f && r[i] == 0.0f);
	for (int i = 0; i < 128; i++)
		l[i] = r[i] = 0.25f;
	fx_chain_process(c, buf, 128);
	for (int i = 0; i < 128; i++)
		ck_assert(isfinite(l[i]) && isfinite(r[i]));
	ck_assert(l[127] == r[127]); /* both restarted clean */
	fx_chain_free(c);
}
END_TEST

START_TEST(denormals_off_sets_ftz_daz)
{
	fx_denormals_off();
	ck_assert_int_eq(fx_denormals_are_off(), 1);
#if defined(__x86_64__)
	unsigned csr = _mm_getcsr();
	ck_assert_uint_eq(csr & 0x8000u, 0x8000u); /* FTZ */
	ck_assert_uint_eq(csr & 0x0040u, 0x0040u); /* DAZ */
	volatile float tiny = 1e-39f; /* subnormal: DAZ reads it as zero */
	volatile float prod = tiny * 1.0f;
	ck_assert(prod == 0.0f);
#endif
}
END_TEST

START_TEST(params_clamp_and_structural_needs_rebuild)
{
	FxChain *c = fx_test_chain("lpf:lowpass cutoff=1000 order=2",
	                           fx_test_chain_config(2, 20));
	double applied;
	ck_assert_int_eq(fx_chain_set_param(c, 0, 0, 1e6, &applied), FX_OK);
	ck_assert(applied == 20000);
	ck_assert(fx_chain_get_param(c, 0, 0) == 20000);
	ck_assert_int_eq(fx_chain_set_param(c, 0, 0, NAN, NULL),
	                 FX_ERR_NONFINITE);
	ck_assert_int_eq(fx_chain_set_param(c, 0, 2, 4, NULL), FX_ERR_STRUCTURAL);
	ck_assert_int_eq(fx_chain_set_param(c, 0, 2, 2, NULL), FX_OK);
	ck_assert_int_eq(fx_chain_set_param(c, 1, 0, 1, NULL), FX_ERR_RANGE);
	ck_assert_int_eq(fx_chain_set_param(c, 0, 9, 1, NULL),
	                 FX_ERR_UNKNOWN_PARAM);
	/* Slots are found by label or index through the chain's spec. */
	FxChainSpec now;
	fx_chain_get_spec(c, &now);
	ck_assert_int_eq(fx_spec_find_slot(&now, "lpf"), 0);
	ck_assert_int_eq(fx_spec_find_slot(&now, "0"), 0);
	ck_assert_int_eq(fx_spec_find_slot(&now, "1"), -1);
	ck_assert_int_eq(fx_spec_find_slot(&now, "nope"), -1);
	/* The rebuild path: take the spec, change the structure, build anew. */
	FxChainSpec spec;
	fx_chain_get_spec(c, &spec);
	ck_assert(spec.slots[0].values[0] == 20000);
	spec.slots[0].values[2] = 4;
	FxChainConfig cfg = fx_chain_config(c);
	FxStatus st;
	FxChain *d = fx_chain_new(&spec, &cfg, &st);
	ck_assert_ptr_nonnull(d);
	ck_assert(fx_chain_get_param(d, 0, 2) == 4);
	ck_assert_int_eq(fx_chain_latency(d), 0);
	fx_chain_free(d);
	fx_chain_free(c);
}
END_TEST

START_TEST(bad_config_is_refused)
{
	FxChainSpec spec = {0};
	FxChainConfig cfg = fx_test_chain_config(0, 20);
	FxStatus st = FX_OK;
	ck_assert_ptr_null(fx_chain_new(&spec, &cfg, &st));
	ck_assert_int_eq(st, FX_ERR_RANGE);
	cfg = fx_test_chain_config(2, 20);
	cfg.sample_rate = NAN;
	ck_assert_ptr_null(fx_chain_new(&spec, &cfg, &st));
	cfg = fx_test_chain_config(2, -1);
	ck_assert_ptr_null(fx_chain_new(&spec, &cfg, &st));
	cfg = fx_test_chain_config(2, 20);
	cfg.max_block = 0;
	ck_assert_ptr_null(fx_chain_new(&spec, &cfg, &st));
	fx_chain_free(NULL);
}
END_TEST

START_TEST(long_buffers_are_split_into_blocks)
{
	FxChainConfig cfg = fx_test_chain_config(1, 20);
	cfg.max_block = 100;
	FxChain *a = fx_test_chain("highpass cutoff=500 order=3 | gain db=-6",
	                           cfg);
	cfg.max_block = 4096;
	FxChain *b = fx_test_chain("highpass cutoff=500 order=3 | gain db=-6",
	                           cfg);
	static float x[3000], y[3000];
	for (int i = 0; i < 3000; i++)
		x[i] = y[i] = (float)sin(i * 0.3);
	run(a, x, 3000, 3000);
	run(b, y, 3000, 3000);
	ck_assert_mem_eq(x, y, sizeof x);
	fx_chain_free(a);
	fx_chain_free(b);
}
END_TEST

/* A bypassed effect with latency keeps it: the dry path is delayed to
 * match, so the chain's latency never moves and the crossfade mixes
 * aligned signals. Below its ceiling a limiter is an exact delay, so its
 * output must stay the input 240 frames late, bit for bit, through bypass
 * switches and their fades, in any chunk size. */
START_TEST(bypassed_latency_is_kept_and_aligned)
{
	enum { LEN = 48000, LATENCY = 240 };
	static float x[LEN], y[LEN];
	sine(x, LEN, 440, 0.25, 0);
	FxChain *c = fx_test_chain("lim:limiter lookahead=5 ceiling=0",
	                           fx_test_chain_config(1, 0));
	ck_assert_int_eq(fx_chain_latency(c), LATENCY);
	memcpy(y, x, sizeof y);
	const int chunks[] = {256, 7, 64, 1, 1000};
	int off = 0, k = 0;
	while (off < LEN) {
		int n = chunks[k % 5];
		n = n < LEN - off ? n : LEN - off;
		/* Switch every few thousand frames, mid-fade included. */
		if (k % 9 == 8)
			fx_chain_set_bypass(c, 0, !fx_chain_get_bypass(c, 0));
		float *p = y + off;
		fx_chain_process(c, &p, n);
		off += n;
		k++;
	}
	ck_assert_int_eq(fx_chain_latency(c), LATENCY);
	for (int i = 0; i < LEN; i++)
		ck_assert_msg(y[i] == (i < LATENCY ? 0.0f : x[i - LATENCY]),
		              "frame %d: %g, want %g", i, y[i],
		              i < LATENCY ? 0.0 : x[i - LATENCY]);
	fx_chain_free(c);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"chain", 60, .tests = {
			{gain_applies_db, 0},
			{pass_filter_q_is_resonance, 2},
			{gain_step_glides_without_jumps, 0},
			{cutoff_sweep_stays_bounded,
			 sizeof sweep_chains / sizeof sweep_chains[0]},
			{setting_a_param_keeps_filter_state, 0},
			{chunk_size_does_not_change_output, 0},
			{bypass_crossfades_then_passes_dry, 0},
			{nonfinite_chunks_are_muted_and_reset, 0},
			{nan_input_never_reaches_output, 0},
			{denormals_off_sets_ftz_daz, 0},
			{params_clamp_and_structural_needs_rebuild, 0},
			{bad_config_is_refused, 0},
			{long_buffers_are_split_into_blocks, 0},
			{bypassed_latency_is_kept_and_aligned, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("chain", cases));
}

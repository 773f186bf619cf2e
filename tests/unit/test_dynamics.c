/* SPDX-License-Identifier: ISC */
/* Dynamics: the compressor's static curve and time constants, linked
 * channels and glides; the limiter's ceiling, latency and transparency. */
#include "tests/fxtest.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dsp/chain.h"

enum { FS = 48000 };

static void run_mono(FxChain *c, float *x, long n, int chunk)
{
	fx_test_process(c, &x, 1, n, chunk);
}

static double db(double x)
{
	return 20.0 * log10(x);
}

/* The static curve of Giannoulis, Massberg & Reiss (2012), eq. 4. */
static double curve(double x, double t, double r, double w)
{
	if (2 * (x - t) < -w)
		return x;
	if (2 * fabs(x - t) <= w)
		return x + (1 / r - 1) * (x - t + w / 2) * (x - t + w / 2) /
		                   (2 * w);
	return t + (x - t) / r;
}

/* ---- compressor: static curve ----------------------------------------- */

static const struct {
	const char *detect;
	double threshold, ratio, knee, makeup;
} curves[] = {
	{"peak", -20, 4, 0, 0},  {"peak", -30, 10, 12, 6},
	{"peak", -12, 2, 6, -3}, {"peak", -40, 50, 24, 20},
	{"rms", -20, 4, 0, 0},   {"rms", -30, 10, 12, 6},
	{"rms", -12, 2, 6, -3},
};

/* A steady 1 kHz sine, its level rising from -60 to 0 dBFS in 2 dB steps
 * of 150 ms: the output peak over each step's last 20 ms against the
 * formula. The gain only ever falls here, so 3 ms of attack settles each
 * step. The peak detector's release droops a little between the sine's
 * peaks (at 100 ms, a few hundredths of a dB at 30 dB of reduction). */
START_TEST(compressor_follows_the_static_curve)
{
	char text[256];
	snprintf(text, sizeof text,
	         "compressor threshold=%g ratio=%g knee=%g makeup=%g attack=3 "
	         "release=100 detect=%s",
	         curves[_i].threshold, curves[_i].ratio, curves[_i].knee,
	         curves[_i].makeup, curves[_i].detect);
	FxChain *c = fx_test_chain(text, fx_test_chain_config(1, 20));
	enum { STEP = FS * 150 / 1000, TAIL = FS * 20 / 1000, LEVELS = 31 };
	static float x[STEP * LEVELS];
	for (int k = 0; k < LEVELS; k++) {
		double a = pow(10, (-60 + 2 * k) / 20.0);
		for (int i = 0; i < STEP; i++)
			x[k * STEP + i] = (float)(a * sin(2 * M_PI * 1000.0 *
			                                  (k * STEP + i) / FS));
	}
	run_mono(c, x, STEP * LEVELS, 256);
	double worst = 0;
	int worst_k = 0;
	for (int k = 0; k < LEVELS; k++) {
		double level = -60 + 2 * k, peak = 0;
		for (int i = STEP - TAIL; i < STEP; i++)
			peak = fmax(peak, fabs(x[k * STEP + i]));
		double want = curve(level, curves[_i].threshold,
		                    curves[_i].ratio, curves[_i].knee) +
		              curves[_i].makeup;
		double err = db(peak) - want;
		if (fabs(err) > fabs(worst)) {
			worst = err;
			worst_k = k;
		}
	}
	fprintf(stderr, "# static curve %s: worst %+.4f dB at %d dBFS\n", text,
	        worst, -60 + 2 * worst_k);
	ck_assert_msg(fabs(worst) <= 0.1, "%s: %+.4f dB off at %d dBFS", text,
	              worst, -60 + 2 * worst_k);
	fx_chain_free(c);
}
END_TEST

/* ---- compressor: attack and release ----------------------------------- */

static const struct {
	const char *detect;
	double attack, release;
} times[] = {
	{"peak", 10, 100}, {"peak", 2, 500},   {"peak", 50, 50},
	{"peak", 0.5, 20}, {"rms", 100, 1000},
};

/* The gain in dB at each frame where the input is at least half its
 * segment's peak (y / x), NAN elsewhere. */
static void gains_db(const float *x, const float *y, const float *amp,
                     double *g, long n)
{
	for (long i = 0; i < n; i++)
		g[i] = fabs(x[i]) >= 0.5 * amp[i] ? db(y[i] / x[i]) : NAN;
}

/* Seconds from frame @p from until the gain first covers 1 - 1/e of the
 * way from its value just before @p from to its mean over the segment's
 * last 10 ms (which ends at @p to), interpolated between frames. */
static double time_to_63(const double *g, long from, long to)
{
	double g0 = NAN, g1 = 0;
	for (long i = from - 1; isnan(g0); i--)
		g0 = g[i];
	int n = 0;
	for (long i = to - FS / 100; i < to; i++)
		if (!isnan(g[i])) {
			g1 += g[i];
			n++;
		}
	g1 /= n;
	double goal = g0 + (1 - exp(-1)) * (g1 - g0);
	long prev = from - 1;
	while (isnan(g[prev]))
		prev--;
	for (long i = from; i < to; i++) {
		if (isnan(g[i]))
			continue;
		if ((g[i] - goal) * (g1 - g0) >= 0) {
			double f = (goal - g[prev]) / (g[i] - g[prev]);
			/* Frame i's gain counts i - from + 1 frames of the step. */
			return (prev + f * (i - prev) - from + 1) / FS;
		}
		prev = i;
	}
	return INFINITY;
}

/* A 1 kHz cosine steps from -40 to -10 dBFS and back, at its peaks.
 * Threshold -20, ratio 4, hard knee: the gain falls 7.5 dB, then comes
 * back. Attack and release are the times to 1 - 1/e of each change, in
 * dB. In rms mode the 10 ms averager adds its own lag, so the case there
 * has times long beside it. */
START_TEST(compressor_attack_and_release_times)
{
	double ta = times[_i].attack / 1000, tr = times[_i].release / 1000;
	char text[200];
	snprintf(text, sizeof text,
	         "compressor threshold=-20 ratio=4 knee=0 attack=%g release=%g "
	         "detect=%s",
	         times[_i].attack, times[_i].release, times[_i].detect);
	FxChain *c = fx_test_chain(text, fx_test_chain_config(1, 20));
	/* Segments in whole periods of the cosine (48 frames). */
	long a = 48 * (long)(0.5 * FS / 48);
	long b = a + 48 * (long)((ta * 12 + 0.2) * FS / 48);
	long n = b + 48 * (long)((tr * 12 + 0.2) * FS / 48);
	float *x = malloc((size_t)n * sizeof *x),
	      *y = malloc((size_t)n * sizeof *y);
	float *amp = malloc((size_t)n * sizeof *amp);
	double *g = malloc((size_t)n * sizeof *g);
	ck_assert(x && y && amp && g);
	for (long i = 0; i < n; i++) {
		amp[i] = (float)pow(10, (i >= a && i < b ? -10 : -40) / 20.0);
		x[i] = y[i] = (float)(amp[i] * cos(2 * M_PI * 1000.0 * i / FS));
	}
	run_mono(c, y, n, 256);
	gains_db(x, y, amp, g, n);
	double att = time_to_63(g, a, b), rel = time_to_63(g, b, n);
	fprintf(stderr,
	        "# %s detector, attack %g ms: %.3f ms (%+.2f%%), release "
	        "%g ms: %.3f ms (%+.2f%%)\n",
	        times[_i].detect, times[_i].attack, att * 1000,
	        100 * (att / ta - 1), times[_i].release, rel * 1000,
	        100 * (rel / tr - 1));
	ck_assert_msg(fabs(att / ta - 1) <= 0.1, "attack %g s, want %g", att, ta);
	ck_assert_msg(fabs(rel / tr - 1) <= 0.1, "release %g s, want %g", rel,
	              tr);
	/* And the change itself is the static curve's 7.5 dB. */
	ck_assert_msg(fabs(g[b - 1] + 7.5) < 0.1, "settled at %g dB", g[b - 1]);
	free(x);
	free(y);
	free(amp);
	free(g);
	fx_chain_free(c);
}
END_TEST

/* ---- compressor: linked channels, glides ------------------------------ */

/* Three channels: a loud one, a quiet one and silence. All get the gain
 * the loud channel asks for alone (the max across channels), and silence
 * stays silent. */
START_TEST(compressor_links_channels_by_their_max)
{
	const char *text = _i ? "compressor threshold=-30 ratio=8 detect=rms"
	                      : "compressor threshold=-30 ratio=8";
	enum { N = FS / 2 };
	static float in[3][N], out[3][N], alone[N];
	for (int i = 0; i < N; i++) {
		in[0][i] = (float)(0.5 * sin(2 * M_PI * 440.0 * i / FS));
		in[1][i] = (float)(0.01 * sin(2 * M_PI * 3000.0 * i / FS));
		in[2][i] = 0.0f;
	}
	memcpy(out, in, sizeof out);
	memcpy(alone, in[0], sizeof alone);
	FxChain *c3 = fx_test_chain(text, fx_test_chain_config(3, 20));
	float *bufs[3] = {out[0], out[1], out[2]};
	fx_test_process(c3, bufs, 3, N, 256);
	FxChain *c1 = fx_test_chain(text, fx_test_chain_config(1, 20));
	run_mono(c1, alone, N, 256);
	double worst = 0;
	for (int i = 0; i < N; i++) {
		ck_assert_msg(out[0][i] == alone[i], "frame %d: %g vs %g alone",
		              i, out[0][i], alone[i]);
		ck_assert(out[2][i] == 0.0f);
		if (fabs(in[0][i]) > 0.1) {
			double gain = out[0][i] / in[0][i];
			worst = fmax(worst, fabs(out[1][i] - in[1][i] * gain));
		}
	}
	ck_assert_msg(worst < 1e-8, "quiet channel off its linked gain by %g",
	              worst);
	/* It did compress: 0.5 (-6 dBFS) is 24 dB over. */
	ck_assert(fabs(out[0][N - 12]) < 0.2);
	fx_chain_free(c3);
	fx_chain_free(c1);
}
END_TEST

/* The largest change of gain from one frame to the next, in dB, for a
 * constant input @p level (so every frame's gain is y / x). */
static double worst_gain_step(const float *y, long n, double level)
{
	double worst = 0;
	for (long i = 1; i < n; i++)
		worst = fmax(worst,
		             fabs(db(y[i] / level) - db(y[i - 1] / level)));
	return worst;
}

/* Makeup, then threshold, glide with the chain (20 ms) and move per frame
 * within each sub-block: the gain has no steps. A constant input shows
 * the gain in every frame. Without the per-frame ramp a 12 dB makeup
 * glide would step 0.4 dB every 32 frames. */
START_TEST(compressor_glides_without_steps)
{
	enum { N = FS / 2 };
	static float y[N];
	const double level = 0.3; /* -10.5 dBFS */
	for (int i = 0; i < N; i++)
		y[i] = (float)level;
	FxChain *c = fx_test_chain("compressor threshold=-20 ratio=4 knee=0 "
	                           "attack=5 release=50",
	                           fx_test_chain_config(1, 20));
	run_mono(c, y, FS / 10, 256);
	const FxEffectClass *cls = fx_effect_find("compressor");
	ck_assert_int_eq(fx_chain_set_param(c, 0, fx_param_find(cls, "makeup"),
	                                    12, NULL),
	                 FX_OK);
	run_mono(c, y + FS / 10, FS / 10, 256);
	ck_assert_int_eq(fx_chain_set_param(c, 0, fx_param_find(cls, "threshold"),
	                                    -35, NULL),
	                 FX_OK);
	run_mono(c, y + 2 * FS / 10, N - 2 * FS / 10, 256);
	double step = worst_gain_step(y + FS / 10 - 1, N - FS / 10 + 1, level);
	double l = db(level);
	double want = curve(l, -35, 4, 0) + 12 - l;
	double got = db(y[N - 1] / level);
	fprintf(stderr,
	        "# compressor glide: worst gain step %.4f dB per frame, "
	        "settled %+.4f dB (want %+.4f)\n",
	        step, got, want);
	ck_assert_msg(step < 0.03, "gain stepped %g dB in a frame", step);
	ck_assert_msg(fabs(got - want) < 0.01, "settled at %g dB, want %g", got,
	              want);
	fx_chain_free(c);
}
END_TEST

/* Ratio 1 is no compression: the makeup gain alone, any detector. */
START_TEST(compressor_ratio_one_is_makeup_only)
{
	enum { N = 4800 };
	static float x[N], y[N];
	uint32_t s = 7;
	for (int i = 0; i < N; i++)
		x[i] = y[i] = (float)fx_test_uniform(&s);
	FxChain *c = fx_test_chain("compressor ratio=1 threshold=-60 makeup=6",
	                           fx_test_chain_config(1, 20));
	run_mono(c, y, N, 100);
	double g = pow(10, 6 / 20.0);
	for (int i = 0; i < N; i++)
		ck_assert_float_eq_tol(y[i], x[i] * g, 1e-5);
	fx_chain_free(c);
}
END_TEST

/* ---- limiter: the ceiling --------------------------------------------- */

static const struct {
	double ceiling, lookahead, release;
	int max_chunk;
} limits[] = {
	{-1, 5, 50, 1024}, {0, 0.1, 1, 64},      {-6, 20, 200, 1024},
	{-24, 1.5, 10, 7}, {-0.1, 2, 2000, 256},
};

/* A million frames of stereo at up to +20 dBFS (noise times 10, with
 * impulses up to +30 dB and square bursts), in random chunks: no output
 * sample ever exceeds the ceiling, as a float. */
START_TEST(limiter_never_exceeds_the_ceiling)
{
	enum { N = 1000000 };
	char text[160];
	snprintf(text, sizeof text, "limiter ceiling=%g lookahead=%g release=%g",
	         limits[_i].ceiling, limits[_i].lookahead, limits[_i].release);
	FxChainConfig cfg = fx_test_chain_config(2, 20);
	FxChain *c = fx_test_chain(text, cfg);
	float *x[2];
	for (int ch = 0; ch < 2; ch++)
		ck_assert_ptr_nonnull(x[ch] = malloc(N * sizeof(float)));
	uint32_t s = 12345 + (uint32_t)_i;
	for (long i = 0; i < N; i++)
		for (int ch = 0; ch < 2; ch++)
			x[ch][i] = (float)(10 * fx_test_uniform(&s));
	for (int k = 0; k < 2000; k++) {
		long at = fx_test_xorshift(&s) % N;
		x[fx_test_xorshift(&s) & 1][at] =
			(float)(fx_test_xorshift(&s) & 1 ? 31.6 : -31.6);
	}
	for (int k = 0; k < 200; k++) {
		long at = fx_test_xorshift(&s) % (N - 4000),
		     len = 1 + fx_test_xorshift(&s) % 4000;
		int period = 2 + (int)(fx_test_xorshift(&s) % 400);
		for (long i = 0; i < len; i++)
			for (int ch = 0; ch < 2; ch++)
				x[ch][at + i] = (i / (period / 2)) % 2 ? -10.0f
				                                       : 10.0f;
	}
	for (long off = 0; off < N;) {
		int n = 1 + (int)(fx_test_xorshift(&s) %
		                  (uint32_t)limits[_i].max_chunk);
		if (n > N - off)
			n = (int)(N - off);
		float *p[2] = {x[0] + off, x[1] + off};
		fx_chain_process(c, p, n);
		off += n;
	}
	float ceiling = (float)pow(10.0, limits[_i].ceiling / 20.0);
	float top = 0;
	for (long i = 0; i < N; i++)
		for (int ch = 0; ch < 2; ch++)
			top = fmaxf(top, fabsf(x[ch][i]));
	fprintf(stderr, "# %s: max |y| %.9g, ceiling %.9g (%+.3g dB)\n", text,
	        top, ceiling, db(top / ceiling));
	ck_assert_msg(top <= ceiling, "%s: peak %.9g over the ceiling %.9g",
	              text, top, ceiling);
	/* It limits, it does not mute. */
	ck_assert(top > 0.9f * ceiling);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 0);
	free(x[0]);
	free(x[1]);
	fx_chain_free(c);
}
END_TEST

/* ---- limiter: latency and transparency --------------------------------- */

static const double rates[] = {44100, 48000, 96000, 22050};
static const double lookaheads[] = {0.1, 1.3, 5, 20};

/* It reports round(lookahead * fs / 1000) frames, and the chain sums it. */
START_TEST(limiter_reports_its_lookahead_as_latency)
{
	FxChainConfig cfg = fx_test_chain_config(2, 20);
	cfg.sample_rate = rates[_i];
	for (int k = 0; k < 4; k++) {
		char text[160];
		snprintf(text, sizeof text,
		         "compressor | lim:limiter lookahead=%g | gain",
		         lookaheads[k]);
		FxChain *c = fx_test_chain(text, cfg);
		long want = lround(lookaheads[k] * rates[_i] / 1000);
		ck_assert_msg(fx_chain_latency(c) == want,
		              "%s at %g Hz: %d, want %ld", text, rates[_i],
		              fx_chain_latency(c), want);
		fx_chain_free(c);
	}
}
END_TEST

/* Below the ceiling the output is the input delayed by exactly the
 * latency, bit for bit, in any chunking; after a loud passage and its
 * release it is exactly that again. */
START_TEST(limiter_below_ceiling_is_an_exact_delay)
{
	enum { N = FS * 2 };
	const int chunks[] = {1, 13, 256, 1024};
	FxChain *c = fx_test_chain("limiter ceiling=-1 lookahead=5 release=20",
	                           fx_test_chain_config(2, 20));
	int L = fx_chain_latency(c);
	ck_assert_int_eq(L, 240);
	float *x[2], *y[2];
	uint32_t s = 99;
	for (int ch = 0; ch < 2; ch++) {
		x[ch] = malloc(N * sizeof(float));
		y[ch] = malloc(N * sizeof(float));
		ck_assert(x[ch] && y[ch]);
		for (long i = 0; i < N; i++)
			x[ch][i] = (float)(0.5 * fx_test_uniform(&s));
		/* Half a second in, 100 ms at +6 dBFS. */
		for (long i = FS / 2; i < FS / 2 + FS / 10; i++)
			x[ch][i] *= 4.0f;
		memcpy(y[ch], x[ch], N * sizeof(float));
	}
	fx_test_process(c, y, 2, N, chunks[_i]);
	long exact_after = 0, last_inexact = -1;
	for (long i = 0; i < N; i++)
		for (int ch = 0; ch < 2; ch++) {
			float want = i >= L ? x[ch][i - L] : 0.0f;
			/* The burst enters the look-ahead at FS / 2. */
			if (i < FS / 2)
				ck_assert_msg(y[ch][i] == want,
				              "frame %ld ch %d: %g, want %g", i,
				              ch, y[ch][i], want);
			else if (y[ch][i] != want)
				last_inexact = i;
			else if (i >= FS)
				exact_after++;
		}
	/* 400 ms after the burst (20 release times) it is exact again. */
	fprintf(stderr,
	        "# limiter, chunks of %d: exact until the burst, last "
	        "inexact frame %ld (the burst ends at %d)\n",
	        chunks[_i], last_inexact, FS / 2 + FS / 10 + L);
	ck_assert_int_eq(exact_after, 2 * (N - FS));
	fx_chain_free(c);
	for (int ch = 0; ch < 2; ch++) {
		free(x[ch]);
		free(y[ch]);
	}
}
END_TEST

/* An impulse over the ceiling on a steady level: the gain ramps down
 * across the look-ahead, starting no earlier, reaches what the impulse
 * needs on it, and never steps. */
START_TEST(limiter_ramps_down_across_the_lookahead)
{
	enum { N = FS / 2, AT = FS / 4 };
	static float y[N];
	const float level = 0.25f;
	for (int i = 0; i < N; i++)
		y[i] = level;
	y[AT] = 2.0f;
	FxChain *c = fx_test_chain("limiter ceiling=0 lookahead=2 release=5",
	                           fx_test_chain_config(1, 20));
	int L = fx_chain_latency(c);
	ck_assert_int_eq(L, 96);
	run_mono(c, y, N, 256);
	/* The impulse is heard at AT + L; the ramp starts after AT. */
	for (int i = L; i < AT; i++)
		ck_assert_msg(y[i] == level, "frame %d: %g", i, y[i]);
	ck_assert_msg(y[AT + L] <= 1.0f && y[AT + L] > 0.9999f, "peak %.9g",
	              y[AT + L]);
	/* Frames around it: gain steps at most 0.5 / (L + 1) per frame. */
	double worst = 0;
	for (int i = AT; i < AT + 2 * L; i++)
		if (i != AT + L && i - 1 != AT + L)
			worst = fmax(worst, fabs(y[i] - y[i - 1]) / level);
	ck_assert_msg(worst <= 0.5 / (L + 1) * 1.001, "gain step %g", worst);
	/* And it recovers: gain 1 again, exactly, 50 release times on. */
	ck_assert(y[N - 1] == level);
	fx_chain_free(c);
}
END_TEST

/* Ceiling glides: a steady level over the ceiling follows it down and
 * back up without a step. */
START_TEST(limiter_ceiling_glides_without_steps)
{
	enum { N = FS };
	static float y[N];
	const double level = 0.9;
	for (int i = 0; i < N; i++)
		y[i] = (float)level;
	FxChain *c = fx_test_chain("limiter ceiling=-3 lookahead=5 release=30",
	                           fx_test_chain_config(1, 20));
	run_mono(c, y, N / 4, 256);
	ck_assert_int_eq(fx_chain_set_param(c, 0, 0, -15, NULL), FX_OK);
	run_mono(c, y + N / 4, N / 4, 256);
	ck_assert_int_eq(fx_chain_set_param(c, 0, 0, -3, NULL), FX_OK);
	run_mono(c, y + N / 2, N / 2, 256);
	double step = worst_gain_step(y + FS / 10, N - FS / 10, level);
	fprintf(stderr,
	        "# limiter ceiling glide: worst gain step %.4f dB per "
	        "frame\n",
	        step);
	ck_assert_msg(step < 0.05, "gain stepped %g dB in a frame", step);
	ck_assert_double_eq_tol(db(y[N / 2 - 1]), -15, 0.001);
	ck_assert_double_eq_tol(db(y[N - 1]), -3, 0.001);
	fx_chain_free(c);
}
END_TEST

/* lookahead needs a rebuild; the others are live. */
START_TEST(limiter_lookahead_is_structural)
{
	FxChain *c = fx_test_chain("limiter lookahead=5",
	                           fx_test_chain_config(2, 20));
	const FxEffectClass *cls = fx_effect_find("limiter");
	ck_assert_int_eq(fx_chain_set_param(c, 0, fx_param_find(cls, "lookahead"),
	                                    10, NULL),
	                 FX_ERR_STRUCTURAL);
	ck_assert_int_eq(fx_chain_set_param(c, 0, fx_param_find(cls, "release"),
	                                    10, NULL),
	                 FX_OK);
	fx_chain_free(c);
	cls = fx_effect_find("compressor");
	static const char *const names[] = {"threshold", "ratio", "attack",
	                                    "release",   "knee",  "makeup",
	                                    "detect"};
	ck_assert_int_eq(cls->n_params, 7);
	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(fx_param_find(cls, names[i]), i);
	double v;
	ck_assert_int_eq(fx_param_parse(&cls->params[6], "rms", &v), FX_OK);
	ck_assert(v == 1.0);
}
END_TEST

/* A reset clears the limiter's delay line and both detectors. */
START_TEST(reset_forgets_the_past)
{
	FxChain *c = fx_test_chain("compressor | limiter lookahead=1",
	                           fx_test_chain_config(2, 20));
	enum { N = 4096 };
	static float a[N], b[N];
	for (int i = 0; i < N; i++)
		a[i] = b[i] = (i & 1) ? 3.0f : -3.0f;
	float *p[2] = {a, b};
	fx_test_process(c, p, 2, N, 256);
	fx_chain_reset(c);
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	a[100] = 0.01f; /* -40 dBFS: well under the compressor's knee */
	fx_test_process(c, p, 2, N, 256);
	for (int i = 0; i < N; i++) {
		ck_assert(b[i] == 0.0f);
		ck_assert(a[i] == (i == 148 ? 0.01f : 0.0f));
	}
	fx_chain_free(c);
}
END_TEST

/* Both publish gr, their gain reduction in dB: the most during the last
 * block run; read where the gain is known exactly. */
START_TEST(gain_reduction_is_an_output)
{
	FxChainConfig cfg = fx_test_chain_config(1, 0);
	cfg.max_block = 256;
	FxChain *c = fx_test_chain("c:compressor threshold=-30 ratio=4 knee=0 "
	                           "attack=0.1 release=1 | "
	                           "l:limiter ceiling=-12 release=1",
	                           cfg);
	static float x[256];
	float out[FX_MAX_OUTPUTS];
	/* Silence: nothing reduced. */
	run_mono(c, x, 256, 256);
	ck_assert_int_eq(fx_chain_slot_outputs(c, 0, out), 1);
	ck_assert_float_eq(out[0], 0.0f);
	ck_assert_int_eq(fx_chain_slot_outputs(c, 1, out), 1);
	ck_assert_float_eq(out[0], 0.0f);
	/* A steady 0 dBFS level (a square of +-1): the compressor takes
	 * 30 dB over the threshold down by 30 * (1 - 1/4) = 22.5 dB; the
	 * limiter then holds the -22.5 dB it gets under -12 dB: none. */
	for (int k = 0; k < 40; k++) {
		for (int i = 0; i < 256; i++)
			x[i] = i & 1 ? 1.0f : -1.0f;
		run_mono(c, x, 256, 256);
	}
	fx_chain_slot_outputs(c, 0, out);
	ck_assert_float_eq_tol(out[0], 22.5f, 1e-3f);
	fx_chain_slot_outputs(c, 1, out);
	ck_assert_float_eq(out[0], 0.0f);
	fx_chain_free(c);
	/* The limiter alone on the same level: 12 dB, less a hair of its
	 * safety margin. */
	c = fx_test_chain("l:limiter ceiling=-12 release=1", cfg);
	for (int k = 0; k < 40; k++) {
		for (int i = 0; i < 256; i++)
			x[i] = i & 1 ? 1.0f : -1.0f;
		run_mono(c, x, 256, 256);
	}
	fx_chain_slot_outputs(c, 0, out);
	ck_assert_float_eq_tol(out[0], 12.0f, 1e-3f);
	fx_chain_free(c);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"compressor", 60, .tests = {
			{compressor_follows_the_static_curve,
			 sizeof curves / sizeof curves[0]},
			{compressor_attack_and_release_times,
			 sizeof times / sizeof times[0]},
			{compressor_links_channels_by_their_max, 2},
			{compressor_glides_without_steps, 0},
			{compressor_ratio_one_is_makeup_only, 0},
		}},
		{"limiter", 60, .tests = {
			{limiter_never_exceeds_the_ceiling,
			 sizeof limits / sizeof limits[0]},
			{limiter_reports_its_lookahead_as_latency, 4},
			{limiter_below_ceiling_is_an_exact_delay, 4},
			{limiter_ramps_down_across_the_lookahead, 0},
			{limiter_ceiling_glides_without_steps, 0},
			{limiter_lookahead_is_structural, 0},
			{reset_forgets_the_past, 0},
		}},
		{"outputs", 60, .tests = {
			{gain_reduction_is_an_output, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("dynamics", cases));
}

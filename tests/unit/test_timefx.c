/* SPDX-License-Identifier: ISC */
/* The time-based effects: delay (echo positions and decay, ping-pong,
 * tempo divisions, gliding time) and reverb (decay, decorrelation,
 * stability), both run through the chain as the daemon runs them. */
#include "tests/fxtest.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dsp/chain.h"
#include "dsp/denormal.h"

enum { FS = 48000, MAX_CH = 4 };

static FxChain *chain_at(const char *text, int channels, double glide_ms,
                         double fs)
{
	FxChainSpec spec;
	FxSpecError err;
	FxStatus st = fx_spec_parse(text, "test", &spec, &err);
	ck_assert_msg(st == FX_OK, "%s", err.message);
	FxChainConfig cfg = fx_chain_config_default();
	cfg.channels = channels;
	cfg.glide_ms = glide_ms;
	cfg.sample_rate = fs;
	FxChain *c = fx_chain_new(&spec, &cfg, &st);
	ck_assert_msg(c, "fx_chain_new: %s", fx_strerror(st));
	return c;
}

static FxChain *chain_from(const char *text, int channels, double glide_ms)
{
	return chain_at(text, channels, glide_ms, FS);
}

static void set(FxChain *c, int slot, const char *name, double v)
{
	int p = fx_param_find(fx_chain_slot_class(c, slot), name);
	ck_assert_int_ge(p, 0);
	ck_assert_int_eq(fx_chain_set_param(c, slot, p, v, NULL), FX_OK);
}

static float *zeros(int n)
{
	float *x = calloc((size_t)n, sizeof *x);
	ck_assert_ptr_nonnull(x);
	return x;
}

static uint32_t rng_state = 12345;

/* Uniform in [-1, 1): xorshift32, reproducible. */
static float noise(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return (float)((double)rng_state / 2147483648.0 - 1.0);
}

static void setup(void)
{
	fx_denormals_off();
}

/* ---- delay ---------------------------------------------------------- */

/* mix=1: echo k at k*D samples with amplitude feedback^(k-1) and nothing
 * between; mix=0.5 halves both the dry impulse and the echoes. */
START_TEST(delay_echoes_at_exact_offsets)
{
	static const char *const text[] = {"delay time=10 feedback=0.5 mix=1",
	                                   "delay time=10 feedback=0.5 mix=0.5"};
	static const double dry[] = {0, 0.5}, wet[] = {1, 0.5};
	enum { N = 6000, D = 480 };
	FxChain *c = chain_from(text[_i], 1, 20);
	float *x = zeros(N);
	x[0] = 1.0f;
	fx_test_process(c, &x, 1, N, 256);
	ck_assert_float_eq_tol(x[0], dry[_i], 1e-7);
	int bad = 0;
	for (int i = 1; i < N && !bad; i++) {
		double want = 0;
		if (i % D == 0)
			want = wet[_i] * pow(0.5, i / D - 1);
		if (!(fabs(x[i] - want) < 1e-6))
			bad = i;
	}
	ck_assert_msg(!bad, "%s: y[%d] = %g", text[_i], bad, x[bad]);
	free(x);
	fx_chain_free(c);
}
END_TEST

/* A fractional delay lands between samples: the interpolator passes a
 * straight line exactly, so the echo's centre of mass is the delay. */
START_TEST(delay_fractional_echo_is_centred)
{
	enum { N = 1200 };
	FxChain *c = chain_from("delay time=10.01 feedback=0 mix=1", 1, 20);
	float *x = zeros(N);
	x[0] = 1.0f;
	fx_test_process(c, &x, 1, N, 64);
	double sum = 0, moment = 0;
	for (int i = 1; i < N; i++) {
		sum += x[i];
		moment += (double)i * x[i];
	}
	ck_assert_msg(fabs(sum - 1) < 1e-6, "gain %g", sum);
	ck_assert_msg(fabs(moment / sum - 480.48) < 1e-3, "centre %g",
	              moment / sum);
	free(x);
	fx_chain_free(c);
}
END_TEST

/* With pingpong the pair's mono sum enters on the left and each echo
 * crosses over: odd echoes left, even ones right, still feedback^(k-1). */
START_TEST(delay_pingpong_alternates_channels)
{
	enum { N = 5000, D = 480 };
	FxChain *c = chain_from("delay time=10 feedback=0.6 mix=1 pingpong=1",
	                        2, 20);
	float *l = zeros(N), *r = zeros(N), *x[2] = {l, r};
	l[0] = r[0] = 1.0f;
	fx_test_process(c, x, 2, N, 100);
	int bad = 0;
	for (int i = 1; i < N && !bad; i++) {
		int k = i / D;
		double amp = i % D == 0 ? pow(0.6, k - 1) : 0;
		double want_l = k % 2 ? amp : 0, want_r = k % 2 ? 0 : amp;
		if (!(fabs(l[i] - want_l) < 1e-6 && fabs(r[i] - want_r) < 1e-6))
			bad = i;
	}
	ck_assert_msg(!bad, "frame %d: %g %g", bad, l[bad], r[bad]);
	fx_chain_free(c);

	/* Without pingpong a left impulse echoes on the left only. */
	c = chain_from("delay time=10 feedback=0.6 mix=1 pingpong=0", 2, 20);
	memset(l, 0, N * sizeof *l);
	memset(r, 0, N * sizeof *r);
	l[0] = 1.0f;
	fx_test_process(c, x, 2, N, 100);
	for (int k = 1; k < N / D; k++) {
		ck_assert_float_eq_tol(l[k * D], pow(0.6, k - 1), 1e-6);
		ck_assert_float_eq_tol(r[k * D], 0, 1e-9);
	}
	free(l);
	free(r);
	fx_chain_free(c);
}
END_TEST

/* Pairs cross over; an odd channel out is a plain delay; mono is too. */
START_TEST(delay_odd_channel_counts)
{
	enum { N = 2000, D = 480 };
	for (int channels = 1; channels <= 3; channels += 2) {
		FxChain *c = chain_from(
			"delay time=10 feedback=0.5 mix=1 pingpong=1", channels,
			20);
		float *x[3];
		for (int ch = 0; ch < channels; ch++) {
			x[ch] = zeros(N);
			x[ch][0] = 1.0f;
		}
		fx_test_process(c, x, channels, N, 256);
		float *lone = x[channels - 1];
		for (int k = 1; k < N / D; k++)
			ck_assert_float_eq_tol(lone[k * D], pow(0.5, k - 1),
			                       1e-6);
		if (channels == 3) {
			ck_assert_float_eq_tol(x[0][D], 1, 1e-6);
			ck_assert_float_eq_tol(x[1][D], 0, 1e-9);
			ck_assert_float_eq_tol(x[1][2 * D], 0.5, 1e-6);
		}
		for (int ch = 0; ch < channels; ch++)
			free(x[ch]);
		fx_chain_free(c);
	}
}
END_TEST

/* Static settings: chunks of any size give bit-identical output. */
static const char *const invariant_chains[] = {
	"delay time=7.3 feedback=0.7 mix=0.5 pingpong=1",
	"delay division=1/16t feedback=0.9 mix=0.8",
	"delay time=1 max=0.01 feedback=0.9 mix=0.7 pingpong=1",
	"reverb room=0.8 damp=0.3 width=0.7 mix=0.4",
	"reverb room=1 damp=0 width=1 mix=1 | delay time=3 feedback=0.5",
};

START_TEST(chunk_size_does_not_matter)
{
	enum { N = 12000, CH = 3 };
	static const int chunks[] = {1, 7, 64, 256, 1024, 1000};
	float *ref[CH], *x[CH];
	for (int ch = 0; ch < CH; ch++) {
		ref[ch] = zeros(N);
		x[ch] = zeros(N);
	}
	for (int k = 0; k < (int)(sizeof chunks / sizeof chunks[0]); k++) {
		rng_state = 99;
		for (int i = 0; i < N; i++)
			for (int ch = 0; ch < CH; ch++)
				x[ch][i] = i < N / 2 ? noise() : 0.0f;
		FxChain *c = chain_from(invariant_chains[_i], CH, 20);
		fx_test_process(c, x, CH, N, chunks[k]);
		fx_chain_free(c);
		for (int ch = 0; ch < CH; ch++) {
			if (k == 0) {
				memcpy(ref[ch], x[ch], N * sizeof *x[ch]);
				continue;
			}
			int i = 0;
			while (i < N && x[ch][i] == ref[ch][i])
				i++;
			ck_assert_msg(i == N,
			              "%s: chunk %d, ch %d frame %d: %g != %g",
			              invariant_chains[_i], chunks[k], ch, i,
			              x[ch][i < N ? i : 0],
			              ref[ch][i < N ? i : 0]);
		}
	}
	double energy = 0;
	for (int i = N / 2; i < N; i++)
		energy += ref[0][i] * ref[0][i];
	ck_assert_msg(energy > 1e-3, "no tail"); /* the effect did something */
	for (int ch = 0; ch < CH; ch++) {
		free(ref[ch]);
		free(x[ch]);
	}
}
END_TEST

/* Frame of the strongest output sample for an impulse at frame 0. */
static int echo_frame(FxChain *c, int n, double *peak)
{
	float *x = zeros(n);
	x[0] = 1.0f;
	fx_test_process(c, &x, 1, n, 256);
	int best = 1;
	for (int i = 1; i < n; i++)
		if (fabs(x[i]) > fabs(x[best]))
			best = i;
	*peak = x[best];
	free(x);
	return best;
}

/* division x 60 / bpm, where bpm is the parameter, else the rig's tempo
 * (120 until told). */
static const struct {
	const char *text;
	double tempo; ///< 0: the tempo hook is never called
	int frames;
} tempo_cases[] = {
	{"division=1/8", 0, 12000},
	{"division=1/8", 150, 9600},
	{"division=1/8 bpm=100", 150, 14400},
	{"division=1/8 bpm=100", 0, 14400},
	{"division=1/4d", 120, 36000},
	{"division=1/8t", 120, 8000},
	{"division=1/16", 90, 8000},
	{"division=1/2 max=0.5", 120, 24000},
	{"division=1/1 bpm=60", 0, 48000 * 4 / 2}, /* clamped to max=2 */
	{"time=100", 150, 4800},
	{"time=3000 max=1", 0, 48000},
};

START_TEST(delay_division_follows_tempo)
{
	char text[128];
	snprintf(text, sizeof text, "delay feedback=0 mix=1 %s",
	         tempo_cases[_i].text);
	FxChain *c = chain_from(text, 1, 20);
	if (tempo_cases[_i].tempo > 0)
		fx_chain_set_tempo(c, tempo_cases[_i].tempo);
	double peak;
	int at = echo_frame(c, tempo_cases[_i].frames + 1000, &peak);
	ck_assert_msg(at == tempo_cases[_i].frames && fabs(peak - 1) < 1e-6,
	              "%s at %g BPM: echo %g at %d, want 1 at %d", text,
	              tempo_cases[_i].tempo, peak, at, tempo_cases[_i].frames);
	fx_chain_free(c);
}
END_TEST

/* A tempo change while running glides the echo to the new place; a bpm
 * parameter holds against it. Non-finite or negative tempos are ignored. */
START_TEST(delay_tempo_change_while_running)
{
	static const char *const text[] = {"delay division=1/8 feedback=0 mix=1",
	                                   "delay division=1/8 feedback=0 mix=1 "
	                                   "bpm=100"};
	static const int want[] = {9600, 14400};
	enum { N = 48000 };
	FxChain *c = chain_from(text[_i], 1, 20);
	const FxEffectClass *cls = fx_chain_slot_class(c, 0);
	ck_assert_ptr_nonnull(cls->tempo);
	float *x = zeros(N);
	fx_test_process(c, &x, 1, N, 256); /* the line has run: changes now glide */
	fx_chain_set_tempo(c, 150);
	fx_chain_set_tempo(c, NAN); /* ignored */
	fx_chain_set_tempo(c, -3);  /* ignored */
	fx_test_process(c, &x, 1, N, 256);
	double peak;
	int at = echo_frame(c, 20000, &peak);
	ck_assert_msg(at == want[_i] && fabs(peak - 1) < 1e-6,
	              "echo %g at %d, want 1 at %d", peak, at, want[_i]);
	free(x);
	fx_chain_free(c);
}
END_TEST

/* Every division label is a valid value token in a chain spec, and reads
 * back the same after formatting. */
START_TEST(delay_division_labels_parse)
{
	const FxEffectClass *cls = fx_effect_find("delay");
	ck_assert_ptr_nonnull(cls);
	int idx = fx_param_find(cls, "division");
	ck_assert_int_ge(idx, 0);
	const FxParamInfo *p = &cls->params[idx];
	ck_assert_int_eq(p->scale, FX_SCALE_ENUM);
	int n = 0;
	for (; p->labels[n]; n++) {
		char text[64], out[512], want[64];
		snprintf(text, sizeof text, "delay division=%s", p->labels[n]);
		FxChainSpec spec;
		FxSpecError err;
		ck_assert_msg(fx_spec_parse(text, "t", &spec, &err) == FX_OK,
		              "%s", err.message);
		ck_assert(spec.slots[0].values[idx] == n);
		fx_spec_format(&spec, out, sizeof out);
		snprintf(want, sizeof want, " division=%s ", p->labels[n]);
		ck_assert_msg(strstr(out, want), "%s", out);
	}
	ck_assert_int_eq(n, (int)p->max + 1);
	ck_assert_str_eq(p->labels[0], "off");
	FxChainSpec spec;
	ck_assert_int_eq(fx_spec_parse("delay division=1/3", "t", &spec, NULL),
	                 FX_ERR_SYNTAX);
	ck_assert_int_eq(fx_spec_parse("delay", "t", &spec, NULL), FX_OK);
	ck_assert(spec.slots[0].values[idx] == 0); /* off by default */
	ck_assert(spec.slots[0].values[fx_param_find(cls, "bpm")] == 0);
}
END_TEST

/* A time change glides the read head: the output of a low sine never
 * steps. Its slope stays within the input's times the largest playback
 * speed (1.5), and it ends at the new delay. Cases: a 100->300 ms glide
 * (chain glide 20 ms), the same as a jump (glide off), the way back, and
 * a division change, which is never smoothed by the chain. */
static const struct {
	const char *text;
	double glide_ms;
	const char *param;
	double to;
	int final_delay;
} glide_cases[] = {
	{"time=100", 20, "time", 300, 14400},
	{"time=100", 0, "time", 300, 14400},
	{"time=300", 20, "time", 100, 4800},
	{"time=300", 200, "time", 100, 4800},
	{"division=1/8", 20, "division", 5 /* 1/4 */, 24000},
};

START_TEST(delay_time_glide_has_no_click)
{
	enum { N = 3 * FS };
	char text[128];
	snprintf(text, sizeof text, "delay feedback=0 mix=1 %s",
	         glide_cases[_i].text);
	FxChain *c = chain_from(text, 1, glide_cases[_i].glide_ms);
	float *x = zeros(N), *in = zeros(N);
	double amp = 0.5, w = 2 * M_PI * 50 / FS;
	for (int i = 0; i < N; i++)
		x[i] = in[i] = (float)(amp * sin(w * i));
	fx_test_process(c, &x, 1, FS / 2, 256);
	set(c, 0, glide_cases[_i].param, glide_cases[_i].to);
	float *rest = x + FS / 2;
	fx_test_process(c, &rest, 1, N - FS / 2, 256);
	double worst = 0, bound = amp * w * 1.5 * 1.02;
	for (int i = FS / 2 - 2000; i < N; i++)
		worst = fmax(worst, fabs(x[i] - x[i - 1])); /* NaN stays out */
	ck_assert(fx_audio_is_finite(&x, 1, N));
	ck_assert_msg(worst < bound, "%s: step %g > %g", text, worst, bound);
	int d = glide_cases[_i].final_delay;
	double off = 0;
	for (int i = N - 2000; i < N; i++)
		off = fmax(off, fabs(x[i] - in[i - d]));
	ck_assert_msg(off < 1e-5, "%s: not at %d (%g)", text, d, off);
	free(x);
	free(in);
	fx_chain_free(c);
}
END_TEST

/* Full feedback on loud noise with a short fractional delay: bounded;
 * mix=0 passes the input through exactly; reset silences the line. */
START_TEST(delay_feedback_is_bounded)
{
	enum { N = 4 * FS };
	FxChain *c = chain_from("delay time=1.01 feedback=0.95 mix=1 pingpong=1",
	                        2, 20);
	float *l = zeros(N), *r = zeros(N), *x[2] = {l, r};
	rng_state = 7;
	for (int i = 0; i < N; i++) {
		l[i] = noise();
		r[i] = noise();
	}
	fx_test_process(c, x, 2, N, 256);
	double peak = 0;
	for (int i = 0; i < N; i++)
		peak = fmax(peak, fmax(fabs(l[i]), fabs(r[i])));
	ck_assert_msg(peak < 40, "peak %g", peak);
	fx_chain_reset(c);
	memset(l, 0, N * sizeof *l);
	memset(r, 0, N * sizeof *r);
	fx_test_process(c, x, 2, 4800, 256);
	int loud = 0;
	for (int i = 0; i < 4800; i++)
		loud |= l[i] != 0 || r[i] != 0;
	ck_assert_msg(!loud, "reset left sound in the line");
	fx_chain_free(c);

	c = chain_from("delay time=5 feedback=0.9 mix=0 | reverb mix=0", 2, 20);
	rng_state = 8;
	for (int i = 0; i < FS; i++)
		l[i] = r[i] = noise();
	float *in = zeros(FS);
	memcpy(in, l, FS * sizeof *in);
	fx_test_process(c, x, 2, FS, 256);
	ck_assert(!memcmp(in, l, FS * sizeof *in));
	ck_assert(!memcmp(in, r, FS * sizeof *in));
	free(in);
	free(l);
	free(r);
	fx_chain_free(c);
}
END_TEST

/* ---- reverb --------------------------------------------------------- */

/* The reverb's impulse response, mono input on both channels. */
static void impulse_response_at(const char *text, float *l, float *r, int n,
                                double fs)
{
	FxChain *c = chain_at(text, 2, 20, fs);
	float *x[2] = {l, r};
	memset(l, 0, (size_t)n * sizeof *l);
	memset(r, 0, (size_t)n * sizeof *r);
	l[0] = r[0] = 1.0f;
	fx_test_process(c, x, 2, n, 256);
	fx_chain_free(c);
}

static void impulse_response(const char *text, float *l, float *r, int n)
{
	impulse_response_at(text, l, r, n, FS);
}

/* T60 in seconds at rate fs from Schroeder's backward-integrated energy
 * decay, extrapolated from its fall from -5 to -25 dB. */
static double t60_at(const float *l, const float *r, int n, double fs)
{
	double *edc = malloc((size_t)n * sizeof *edc), sum = 0;
	ck_assert_ptr_nonnull(edc);
	for (int i = n - 1; i >= 0; i--)
		edc[i] = sum += (double)l[i] * l[i] + (double)r[i] * r[i];
	int t5 = -1, t25 = -1;
	for (int i = 0; i < n && t25 < 0; i++) {
		double db = 10 * log10(edc[i] / edc[0]);
		if (t5 < 0 && db <= -5)
			t5 = i;
		if (db <= -25)
			t25 = i;
	}
	free(edc);
	ck_assert_msg(t25 > 0, "decays too slowly to measure");
	return 3.0 * (t25 - t5) / fs;
}

static double t60(const float *l, const float *r, int n)
{
	return t60_at(l, r, n, FS);
}

START_TEST(reverb_decay_grows_with_room)
{
	enum { N = 8 * FS };
	static const double rooms[] = {0, 0.3, 0.6, 0.9, 1};
	float *l = zeros(N), *r = zeros(N);
	double last = 0;
	for (int k = 0; k < (int)(sizeof rooms / sizeof rooms[0]); k++) {
		char text[96];
		snprintf(text, sizeof text, "reverb room=%g damp=0.5 mix=1",
		         rooms[k]);
		impulse_response(text, l, r, N);
		double t = t60(l, r, N);
		fprintf(stderr, "# reverb room=%g: T60 %.2f s\n", rooms[k], t);
		ck_assert_msg(t > last * 1.15, "room %g: T60 %g s after %g s",
		              rooms[k], t, last);
		last = t;
	}
	ck_assert_msg(last > 4, "room 1: T60 %g s", last);
	free(l);
	free(r);
}
END_TEST

/* The tunings scale with the sample rate: the same room rings as long at
 * 22.05, 44.1 (Freeverb's own tunings) and 96 kHz; echo times too. */
START_TEST(sample_rate_scales_the_tunings)
{
	static const double rates[] = {22050, 44100, 96000};
	double ref = 0;
	for (int k = 0; k < 3; k++) {
		int n = (int)(3 * rates[k]);
		float *l = zeros(n), *r = zeros(n);
		impulse_response_at("reverb room=0.6 damp=0.5 mix=1", l, r, n,
		                    rates[k]);
		double t = t60_at(l, r, n, rates[k]);
		fprintf(stderr, "# reverb room=0.6 at %g Hz: T60 %.2f s\n",
		        rates[k], t);
		if (k == 0)
			ref = t;
		ck_assert_msg(fabs(t / ref - 1) < 0.1,
		              "%g Hz: T60 %g s, not %g", rates[k], t, ref);
		free(l);
		free(r);

		FxChain *c = chain_at("delay time=20 feedback=0 mix=1", 1, 20,
		                      rates[k]);
		double peak;
		int at = echo_frame(c, (int)(rates[k] / 25), &peak);
		ck_assert_int_eq(at, (int)(rates[k] / 50));
		ck_assert(fabs(peak - 1) < 1e-6);
		fx_chain_free(c);
	}
}
END_TEST

static double correlation(const float *a, const float *b, int from, int to)
{
	double ab = 0, aa = 0, bb = 0;
	for (int i = from; i < to; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return ab / sqrt(aa * bb);
}

/* A mono impulse: the pair's tails are nearly uncorrelated at full width
 * and identical at width 0. */
START_TEST(reverb_width_decorrelates_the_tail)
{
	enum { N = 2 * FS };
	static const double widths[] = {1, 0.5, 0};
	float *l = zeros(N), *r = zeros(N);
	double rho[3];
	for (int k = 0; k < 3; k++) {
		char text[96];
		snprintf(text, sizeof text, "reverb room=0.7 width=%g mix=1",
		         widths[k]);
		impulse_response(text, l, r, N);
		rho[k] = correlation(l, r, FS / 20, N);
		fprintf(stderr, "# reverb width=%g: L/R correlation %.3f\n",
		        widths[k], rho[k]);
	}
	ck_assert_msg(fabs(rho[0]) < 0.3, "width 1: %g", rho[0]);
	ck_assert_msg(rho[1] > rho[0] + 0.2 && rho[1] < 0.99, "width 0.5: %g",
	              rho[1]);
	ck_assert_msg(rho[2] > 0.9999, "width 0: %g", rho[2]);
	free(l);
	free(r);
}
END_TEST

/* One lone channel (mono, or the third of three) reverberates too. */
START_TEST(reverb_odd_channel_counts)
{
	enum { N = FS };
	for (int channels = 1; channels <= 3; channels += 2) {
		FxChain *c = chain_from("reverb room=0.7 mix=1", channels, 20);
		float *x[3];
		for (int ch = 0; ch < channels; ch++) {
			x[ch] = zeros(N);
			x[ch][0] = 1.0f;
		}
		fx_test_process(c, x, channels, N, 256);
		ck_assert(fx_audio_is_finite(x, channels, N));
		for (int ch = 0; ch < channels; ch++) {
			double tail = 0;
			for (int i = FS / 10; i < N; i++)
				tail += x[ch][i] * x[ch][i];
			ck_assert_msg(tail > 1e-4, "%d channels: ch %d silent",
			              channels, ch);
			free(x[ch]);
		}
		fx_chain_free(c);
	}
}
END_TEST

/* Worst settings (room=1: comb feedback 0.98, damp=0) on full-scale input:
 * an hour of noise (a few seconds of CPU), then full-scale DC, then
 * silence. The level settles and stays under the analytic bound (comb
 * lines <= 0.03 / (1 - 0.98), 8 combs, 4 all-passes of gain <= 3 each:
 * 1.5 * 8 * 81), and the tail dies away: nothing has grown or got stuck. */
START_TEST(reverb_is_stable_at_worst_settings)
{
	enum {
		CHUNK = 256,
		SECONDS = 3600,
		DC_SECONDS = 10,
		QUIET_SECONDS = 40
	};
	FxChain *c = chain_from("reverb room=1 damp=0 width=1 mix=1", 2, 20);
	float l[CHUNK], r[CHUNK], *x[2] = {l, r};
	double bound = 1.5 * 8 * 81, peak = 0;
	static double ms[SECONDS];
	int chunks_per_s = FS / CHUNK;
	rng_state = 3;
	for (int s = 0; s < SECONDS + DC_SECONDS; s++)
		for (int k = 0; k < chunks_per_s; k++) {
			for (int i = 0; i < CHUNK; i++) {
				l[i] = s < SECONDS ? noise() : 1.0f;
				r[i] = s < SECONDS ? noise() : 1.0f;
			}
			fx_chain_process(c, x, CHUNK);
			for (int i = 0; i < CHUNK; i++) {
				peak = fmax(peak, fmax(fabs(l[i]), fabs(r[i])));
				if (s < SECONDS)
					ms[s] += (double)l[i] * l[i];
			}
		}
	for (int s = 0; s < SECONDS; s++)
		ms[s] /= chunks_per_s * CHUNK;
	fprintf(stderr, "# reverb worst case: peak %.3f (bound %g), rms %.3f\n",
	        peak, bound, sqrt(ms[SECONDS - 1]));
	ck_assert_msg(peak < bound, "peak %g", peak);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 0);
	/* Stationary: the last ten seconds are as loud as seconds 10..20. */
	double early = 0, late = 0;
	for (int s = 10; s < 20; s++)
		early += ms[s];
	for (int s = SECONDS - 10; s < SECONDS; s++)
		late += ms[s];
	ck_assert_msg(late < early * 1.1 && late > early * 0.9,
	              "level drifts: %g -> %g", early, late);
	double last = 0;
	for (int s = 0; s < QUIET_SECONDS; s++)
		for (int k = 0; k < chunks_per_s; k++) {
			memset(l, 0, sizeof l);
			memset(r, 0, sizeof r);
			fx_chain_process(c, x, CHUNK);
			for (int i = 0; i < CHUNK; i++)
				last = fmax(fabs(l[i]), fabs(r[i]));
		}
	ck_assert_msg(last < 1e-6, "tail still at %g after %d s", last,
	              QUIET_SECONDS);
	fx_chain_free(c);
}
END_TEST

/* ---- both ----------------------------------------------------------- */

/* The chain glides room, damp, width and mix and switches pingpong while
 * loud noise plays: the output stays finite and bounded. */
START_TEST(parameter_sweeps_stay_finite)
{
	enum { N = 2 * FS, CHUNK = 128 };
	FxChain *c = chain_from("delay time=50 feedback=0.9 mix=0.5 | reverb",
	                        2, 20);
	float l[CHUNK], r[CHUNK], *x[2] = {l, r};
	rng_state = 5;
	double peak = 0;
	for (int k = 0; k < N / CHUNK; k++) {
		if (k % 50 == 0) {
			double u = (double)(k % 350) / 350;
			set(c, 0, "time", 1 + 2000 * u);
			set(c, 0, "pingpong", (k / 50) & 1);
			set(c, 0, "feedback", 0.95 * (1 - u));
			set(c, 1, "room", u);
			set(c, 1, "damp", 1 - u);
			set(c, 1, "width", u);
			set(c, 1, "mix", u);
			fx_chain_set_tempo(c, 60 + k % 200);
		}
		for (int i = 0; i < CHUNK; i++) {
			l[i] = noise();
			r[i] = noise();
		}
		fx_chain_process(c, x, CHUNK);
		for (int i = 0; i < CHUNK; i++)
			peak = fmax(peak, fmax(fabs(l[i]), fabs(r[i])));
	}
	ck_assert_msg(isfinite(peak) && peak < 1000, "peak %g", peak);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 0);
	fx_chain_free(c);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"timefx", 60, .setup = setup, .tests = {
			{delay_echoes_at_exact_offsets, 2},
			{delay_fractional_echo_is_centred, 0},
			{delay_pingpong_alternates_channels, 0},
			{delay_odd_channel_counts, 0},
			{chunk_size_does_not_matter,
			 sizeof invariant_chains / sizeof invariant_chains[0]},
			{delay_division_follows_tempo,
			 sizeof tempo_cases / sizeof tempo_cases[0]},
			{delay_tempo_change_while_running, 2},
			{delay_division_labels_parse, 0},
			{delay_time_glide_has_no_click,
			 sizeof glide_cases / sizeof glide_cases[0]},
			{delay_feedback_is_bounded, 0},
			{reverb_decay_grows_with_room, 0},
			{reverb_width_decorrelates_the_tail, 0},
			{sample_rate_scales_the_tunings, 0},
			{reverb_odd_channel_counts, 0},
			{parameter_sweeps_stay_finite, 0},
		}},
		/* An hour of audio: seconds here, much longer under sanitizers. */
		{"an hour of input", 600, .setup = setup, .tests = {
			{reverb_is_stable_at_worst_settings, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("timefx", cases));
}

/* SPDX-License-Identifier: ISC */
/* The noise gate: its thresholds and hysteresis, hold, the attack and
 * release time constants, the gain's slope on opening and closing, chunk
 * invariance, the `open` output, the sidechain highpass, linked channels,
 * glides, silence and NaN, and init's allocations against plan. */
#include "tests/fxtest.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dsp/chain.h"

enum { FS = 48000 };

/* The detector's fall time constant, as the threshold row's doc
 * string gives it. */
#define DETECT_MS 10.0

/* ---- allocators, weighed while init runs --------------------------------- */

static volatile int weighing, counting;
static volatile size_t weighed;
static volatile long calls;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);

void *__wrap_malloc(size_t n)
{
	if (weighing)
		weighed += n;
	if (counting)
		calls++;
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	if (weighing)
		weighed += n * m;
	if (counting)
		calls++;
	return __real_calloc(n, m);
}

/* ---- helpers ------------------------------------------------------------- */

static void run_mono(FxChain *c, float *x, long n, int chunk)
{
	fx_test_process(c, &x, 1, n, chunk);
}

/* The gate's `open` output now (slot @p slot). */
static float open_now(FxChain *c, int slot)
{
	float v[FX_MAX_OUTPUTS];
	ck_assert_int_eq(fx_chain_slot_outputs(c, slot, v), 1);
	ck_assert(v[0] == 0.0f || v[0] == 1.0f);
	return v[0];
}

static double db(double x)
{
	return 20.0 * log10(x);
}

static double amp(double dB)
{
	return pow(10.0, dB / 20.0);
}

/* A square wave at half the sample rate, amplitude @p a, into x[from..to):
 * every frame carries the whole amplitude, so y / x is the gain in every
 * frame, and the sidechain highpass passes it at exactly unit gain. */
static void nyquist(float *x, long from, long to, double a)
{
	for (long i = from; i < to; i++)
		x[i] = (float)(i & 1 ? -a : a);
}

static float *floats(long n)
{
	float *x = calloc((size_t)n, sizeof *x);
	ck_assert_ptr_nonnull(x);
	return x;
}

/* ---- static behaviour: thresholds and hysteresis ------------------------- */

static const struct {
	double threshold, hyst, range;
} statics[] = {
	{-50, 4, -60},
	{-30, 6, -90},
	{-70, 3, -40},
	{-12, 10, -20},
};

/* A 1 kHz sine through six 200 ms segments, each level relative to the
 * threshold t and the close threshold t - h: t - h/2 (between the two:
 * stays closed), t + 3 (opens), t - h/2 (stays open: hysteresis),
 * t - h - 3 (closes), t - h/2 (stays closed), t + 3 (opens again). After
 * each segment, `open` and the gain: exactly 1 open, the range closed. */
START_TEST(thresholds_with_hysteresis)
{
	const double t = statics[_i].threshold, h = statics[_i].hyst,
		     r = statics[_i].range;
	char text[200];
	snprintf(text, sizeof text,
	         "gate threshold=%g hyst=%g range=%g attack=0.5 hold=20 "
	         "release=10",
	         t, h, r);
	FxChain *c = fx_test_chain(text, fx_test_chain_config(1, 20));
	enum { SEG = FS / 5, TAIL = FS / 50 };
	const double levels[] = {t - h / 2, t + 3,     t - h / 2,
	                         t - h - 3, t - h / 2, t + 3};
	const int want_open[] = {0, 1, 1, 0, 0, 1};
	float *x = floats(SEG), *y = floats(SEG);
	for (int k = 0; k < 6; k++) {
		double a = amp(levels[k]);
		for (long i = 0; i < SEG; i++)
			x[i] = y[i] = (float)(a * sin(2 * M_PI * 1000.0 *
			                              (k * SEG + i) / FS));
		run_mono(c, y, SEG, 256);
		float open = open_now(c, 0);
		ck_assert_msg(open == want_open[k],
		              "%s: segment %d at %+g dB: open %g, want %d",
		              text, k, levels[k] - t, open, want_open[k]);
		double worst = 0;
		for (long i = SEG - TAIL; i < SEG; i++) {
			if (want_open[k]) {
				ck_assert_msg(y[i] == x[i],
				              "%s: segment %d open but not "
				              "transparent",
				              text, k);
			} else if (fabs(x[i]) > 0.5 * a) {
				worst = fmax(worst, fabs(db(y[i] / x[i]) - r));
			}
		}
		ck_assert_msg(worst < 0.01, "%s: segment %d: gain %g dB off",
		              text, k, worst);
	}
	free(x);
	free(y);
	fx_chain_free(c);
}
END_TEST

/* ---- hold ------------------------------------------------------------------ */

static const double holds[] = {0, 10, 50, 300};

/* A square wave 6 dB over the threshold drops at frame d to 6 dB under
 * the close threshold. The gate closes no earlier than hold after the
 * drop: exactly hold after the detector has fallen under the close
 * threshold (its 10 ms time constant over the 6 + hyst dB down to it), to
 * a frame. Chunks of one frame: `open` is read every frame, and it goes
 * to 0 on the very frame the gain starts to fall. */
START_TEST(hold_keeps_it_open)
{
	const double t = -40, h = 4, hold = holds[_i];
	char text[200];
	snprintf(text, sizeof text,
	         "gate threshold=%g hyst=%g hold=%g attack=0.2 release=20", t,
	         h, hold);
	FxChain *c = fx_test_chain(text, fx_test_chain_config(1, 20));
	const long d = FS / 10, n = d + (long)((hold + 300) * FS / 1000);
	float *x = floats(n), *y = floats(n);
	nyquist(x, 0, d, amp(t + 6));
	nyquist(x, d, n, amp(t - h - 6));
	memcpy(y, x, (size_t)n * sizeof *x);
	long closed_at = -1, falls_at = -1;
	for (long i = 0; i < n; i++) {
		run_mono(c, y + i, 1, 1);
		if (i == d - 1)
			ck_assert(open_now(c, 0) == 1.0f && y[i] == x[i]);
		if (i >= d && closed_at < 0 && open_now(c, 0) == 0.0f)
			closed_at = i;
		if (i >= d && falls_at < 0 && fabsf(y[i]) < fabsf(x[i]))
			falls_at = i;
	}
	long hold_frames = lround(hold * FS / 1000);
	double lag = DETECT_MS * FS / 1000 * (6 + h) / db(exp(1));
	fprintf(stderr,
	        "# hold %g ms: closes %ld frames after the drop (hold %ld, "
	        "detector %.1f)\n",
	        hold, closed_at - d, hold_frames, lag);
	ck_assert_int_ge(closed_at, d);
	ck_assert_int_eq(falls_at, closed_at);
	ck_assert_int_ge(closed_at - d, hold_frames);
	ck_assert_msg(fabs((double)(closed_at - d - hold_frames) - lag) <= 1.0,
	              "closed %ld frames after the drop, want %ld + %.1f",
	              closed_at - d, hold_frames, lag);
	free(x);
	free(y);
	fx_chain_free(c);
}
END_TEST

/* ---- attack and release time constants ----------------------------------- */

static const struct {
	double attack, release, range, rate;
} times[] = {
	{0.5, 100, -60, 48000}, {0.1, 20, -90, 48000}, {5, 500, -40, 44100},
	{30, 1000, -20, 96000}, {1, 5, -80, 48000},    {100, 5000, -6, 22050},
	{2, 1, -90, 192000},    {1, 50, -30, 8000},
};

/* Seconds from frame @p from until g (dB) has covered 1 - 1/e of the way
 * from g[from - 1] to its mean over [to - 10 ms, to), interpolated between
 * frames; frame i's gain counts i - from + 1 frames of the step. */
static double time_to_63(const double *g, long from, long to, double fs)
{
	double g0 = g[from - 1], g1 = 0;
	long tail = (long)(fs / 100);
	for (long i = to - tail; i < to; i++)
		g1 += g[i];
	g1 /= (double)tail;
	double goal = g0 + (1 - exp(-1)) * (g1 - g0);
	for (long i = from; i < to; i++)
		if ((g[i] - goal) * (g1 - g0) >= 0) {
			double f = (goal - g[i - 1]) / (g[i] - g[i - 1]);
			return (i - 1 + f - from + 1) / fs;
		}
	return INFINITY;
}

/* A square wave under the close threshold (the gate at its range), then
 * 6 dB over the threshold (it opens at once: attack), then under the
 * close threshold again (hold 0: it closes once the detector has fallen:
 * release, from the first frame whose gain is under 1). Each time is the
 * doc strings' definition: 1 - 1/e of the way, in dB, from the gain
 * before to the gain at the end. Within 1%. */
START_TEST(attack_and_release_time_constants)
{
	const double ta = times[_i].attack / 1000, tr = times[_i].release / 1000;
	const double fs = times[_i].rate, r = times[_i].range;
	char text[200];
	snprintf(text, sizeof text,
	         "gate threshold=-40 hyst=4 hold=0 range=%g attack=%g "
	         "release=%g",
	         r, times[_i].attack, times[_i].release);
	FxChainConfig cfg = fx_test_chain_config(1, 20);
	cfg.sample_rate = fs;
	FxChain *c = fx_test_chain(text, cfg);
	const long a = 2 * (long)(0.1 * fs / 2);
	const long b = a + 2 * (long)((ta * 14 + 0.05) * fs / 2);
	const long n = b + 2 * (long)((tr * 14 + 0.05) * fs / 2);
	float *x = floats(n), *y = floats(n);
	double *g = malloc((size_t)n * sizeof *g);
	ck_assert_ptr_nonnull(g);
	nyquist(x, 0, a, amp(-50));
	nyquist(x, a, b, amp(-34));
	nyquist(x, b, n, amp(-50));
	memcpy(y, x, (size_t)n * sizeof *x);
	run_mono(c, y, n, 256);
	for (long i = 0; i < n; i++)
		g[i] = db((double)y[i] / x[i]);
	ck_assert_msg(fabs(g[a - 1] - r) < 1e-3, "floor %g dB", g[a - 1]);
	ck_assert(g[a] > g[a - 1]);
	ck_assert_msg(fabs(g[b - 1]) < 1e-3, "opened to %g dB", g[b - 1]);
	/* Closing starts where the gain first falls. */
	long from = b;
	while (from < n && g[from] >= g[from - 1])
		from++;
	ck_assert_int_lt(from, n);
	double att = time_to_63(g, a, b, fs), rel = time_to_63(g, from, n, fs);
	fprintf(stderr,
	        "# %g Hz range %g: attack %g ms: %.4f ms (%+.3f%%), release "
	        "%g ms: %.4f ms (%+.3f%%)\n",
	        fs, r, times[_i].attack, att * 1000, 100 * (att / ta - 1),
	        times[_i].release, rel * 1000, 100 * (rel / tr - 1));
	ck_assert_msg(fabs(att / ta - 1) <= 0.01, "attack %g s, want %g", att,
	              ta);
	ck_assert_msg(fabs(rel / tr - 1) <= 0.01, "release %g s, want %g", rel,
	              tr);
	ck_assert_msg(fabs(g[n - 1] - r) < 1e-3, "settled at %g dB", g[n - 1]);
	free(x);
	free(y);
	free(g);
	fx_chain_free(c);
}
END_TEST

/* ---- no click: the gain's slope is bounded ------------------------------- */

static const struct {
	double attack, release, range;
} slopes[] = {
	{0.5, 100, -60},
	{0.1, 1, -90},
	{5, 20, -20},
	{1, 300, -40},
};

/* The gain is a one-pole in dB: g' = goal + p * (g - goal), applied as
 * G = 10^(g / 20). Opening (goal 0 dB), a frame's step in G from
 * G = e^-u is e^-pu - e^-u, at most (1 - p) * p^(p / (1 - p)) (at
 * u = -ln p / (1 - p)), just under (1 - p) / e: about 1 / (e * attack * fs)
 * whatever the range. Closing (goal R < 0 dB), the step is largest at the
 * start, from G = 1: 1 - 10^((1 - p) * R / 20), about
 * |R| * ln 10 / 20 / (release * fs). The measured steps stay under those
 * bounds (with 1e-6 for the float gain's rounding) and come within 10% of
 * them. */
START_TEST(gain_slope_is_bounded)
{
	char text[200];
	snprintf(text, sizeof text,
	         "gate threshold=-40 hyst=4 hold=0 range=%g attack=%g "
	         "release=%g",
	         slopes[_i].range, slopes[_i].attack, slopes[_i].release);
	FxChain *c = fx_test_chain(text, fx_test_chain_config(2, 20));
	const long a = FS / 10, b = a + FS / 2, n = b + FS;
	float *x = floats(n), *y = floats(n), *z = floats(n);
	nyquist(x, 0, a, amp(-50));
	nyquist(x, a, b, amp(-34));
	nyquist(x, b, n, amp(-50));
	memcpy(y, x, (size_t)n * sizeof *x);
	float *bufs[2] = {y, z}; /* a silent second channel */
	fx_test_process(c, bufs, 2, n, 64);
	double pa = exp(-1000.0 / (slopes[_i].attack * FS));
	double pr = exp(-1000.0 / (slopes[_i].release * FS));
	double bound_open = (1 - pa) * pow(pa, pa / (1 - pa));
	double bound_close = 1 - pow(10, (1 - pr) * slopes[_i].range / 20);
	double open = 0, close = 0;
	for (long i = 1; i < n; i++) {
		double step = fabs((double)y[i] / x[i] -
		                   (double)y[i - 1] / x[i - 1]);
		if (i >= a && i < b)
			open = fmax(open, step);
		else if (i >= b)
			close = fmax(close, step);
		ck_assert(z[i] == 0.0f);
	}
	fprintf(stderr,
	        "# %s: open step %.6f (bound %.6f), close step %.6f (bound "
	        "%.6f) per frame\n",
	        text, open, bound_open, close, bound_close);
	ck_assert_msg(open <= bound_open + 1e-6, "open step %g > %g", open,
	              bound_open);
	ck_assert_msg(close <= bound_close + 1e-6, "close step %g > %g", close,
	              bound_close);
	ck_assert(open >= 0.9 * bound_open);
	ck_assert(close >= 0.9 * bound_close);
	free(x);
	free(y);
	free(z);
	fx_chain_free(c);
}
END_TEST

/* ---- chunk invariance ------------------------------------------------------ */

/* Stereo: plucked tones every 300 ms decaying into a noise floor, with
 * hum on the right. */
static void plucks(float *l, float *r, long n)
{
	uint32_t s = 2024;
	for (long i = 0; i < n; i++) {
		long k = i % (FS * 3 / 10);
		double env = 0.5 * exp(-(double)k / (0.03 * FS));
		double f = 110.0 * (1 + (i / (FS * 3 / 10)) % 5);
		double tone = env * sin(2 * M_PI * f * k / FS);
		l[i] = (float)(tone + 3e-4 * fx_test_uniform(&s));
		r[i] = (float)(0.7 * tone + 3e-4 * fx_test_uniform(&s) +
		               0.005 * sin(2 * M_PI * 50.0 * i / FS));
	}
}

static const int chunks[] = {1, 7, 64, 256, 1024};

/* Blocks of 1, 7, 64, 256 and 1024 frames give the same samples, bit for
 * bit, and `open` reads the same at every block's end as it did at that
 * frame in blocks of one. The signal opens and closes the gate often. */
START_TEST(chunk_invariance)
{
	enum { N = 3 * FS };
	const char *text = "gate threshold=-40 range=-70 attack=0.5 hold=20 "
			   "release=30 sidechain_hpf=80";
	float *ref[2] = {floats(N), floats(N)}, *y[2] = {floats(N), floats(N)};
	char *open = calloc(N, 1);
	ck_assert_ptr_nonnull(open);
	plucks(ref[0], ref[1], N);
	FxChain *c1 = fx_test_chain(text, fx_test_chain_config(2, 20));
	int changes = 0;
	for (long i = 0; i < N; i++) {
		float *p[2] = {ref[0] + i, ref[1] + i};
		fx_chain_process(c1, p, 1);
		open[i] = (char)open_now(c1, 0);
		changes += i > 0 && open[i] != open[i - 1];
	}
	fx_chain_free(c1);
	ck_assert_msg(changes >= 12, "the gate changed state %d times", changes);
	for (size_t k = 1; k < sizeof chunks / sizeof *chunks; k++) {
		plucks(y[0], y[1], N);
		FxChain *c = fx_test_chain(text, fx_test_chain_config(2, 20));
		for (long off = 0; off < N; off += chunks[k]) {
			int len = N - off < chunks[k] ? (int)(N - off)
			                              : chunks[k];
			float *p[2] = {y[0] + off, y[1] + off};
			fx_chain_process(c, p, len);
			ck_assert_msg(open_now(c, 0) == open[off + len - 1],
			              "chunks of %d: open differs at %ld",
			              chunks[k], off + len - 1);
		}
		for (int ch = 0; ch < 2; ch++)
			ck_assert_msg(
				memcmp(y[ch], ref[ch], N * sizeof(float)) == 0,
				"chunks of %d: channel %d differs", chunks[k],
				ch);
		fx_chain_free(c);
	}
	fprintf(stderr, "# chunk invariance: %d state changes, identical\n",
	        changes);
	for (int ch = 0; ch < 2; ch++) {
		free(ref[ch]);
		free(y[ch]);
	}
	free(open);
}
END_TEST

/* ---- the `open` output ----------------------------------------------------- */

/* The table declares one output, `open`, an enum closed/open; a chain
 * reports it for the gate's slot and none for a slot without outputs. */
START_TEST(open_output_row_and_slot)
{
	const FxEffectClass *cls = fx_effect_find("gate");
	ck_assert_ptr_nonnull(cls);
	ck_assert_int_eq(cls->n_outputs, 1);
	const FxParamInfo *o = &cls->outputs[0];
	ck_assert_str_eq(o->name, "open");
	ck_assert_int_eq(o->scale, FX_SCALE_ENUM);
	ck_assert(o->min == 0 && o->max == 1);
	ck_assert_str_eq(o->labels[0], "closed");
	ck_assert_str_eq(o->labels[1], "open");
	ck_assert_ptr_null(o->labels[2]);
	static const char *const names[] = {"threshold",    "range",   "attack",
	                                    "hold",         "release", "hyst",
	                                    "sidechain_hpf"};
	ck_assert_int_eq(cls->n_params, 7);
	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(fx_param_find(cls, names[i]), i);

	FxChain *c = fx_test_chain("gain | g:gate threshold=-30",
	                           fx_test_chain_config(1, 20));
	float v[FX_MAX_OUTPUTS];
	ck_assert_int_eq(fx_chain_slot_outputs(c, 0, v), 0);
	ck_assert(open_now(c, 1) == 0.0f);
	enum { N = FS / 10 };
	static float x[N];
	nyquist(x, 0, N, amp(-20));
	run_mono(c, x, N, 256);
	ck_assert(open_now(c, 1) == 1.0f);
	memset(x, 0, sizeof x);
	run_mono(c, x, N, 256); /* 100 ms of silence: past the 50 ms hold */
	ck_assert(open_now(c, 1) == 0.0f);
	fx_chain_free(c);
}
END_TEST

/* ---- the sidechain highpass ------------------------------------------------ */

/* A 30 Hz tone 12 dB over the threshold (faded in over 50 ms) does not
 * open the gate behind a 100 Hz sidechain highpass (it reads about 21 dB
 * down); a 1 kHz tone at the same level does; and with the highpass at
 * 10 Hz the 30 Hz tone opens it too, so the filter is what kept it shut. */
START_TEST(sidechain_highpass_ignores_rumble)
{
	static const struct {
		double freq, hpf;
		int opens;
	} cases[] = {{30, 100, 0}, {1000, 100, 1}, {30, 10, 1}};
	enum { N = FS };
	static float x[N], y[N];
	for (int k = 0; k < 3; k++) {
		char text[160];
		snprintf(text, sizeof text,
		         "gate threshold=-30 range=-60 sidechain_hpf=%g",
		         cases[k].hpf);
		FxChain *c = fx_test_chain(text, fx_test_chain_config(1, 20));
		double a = amp(-18);
		for (long i = 0; i < N; i++) {
			double fade = i < FS / 20 ? 0.5 - 0.5 * cos(M_PI * i /
			                                            (FS / 20))
			                          : 1.0;
			x[i] = y[i] =
				(float)(a * fade *
			                sin(2 * M_PI * cases[k].freq * i / FS));
		}
		int ever_open = 0;
		for (long off = 0; off < N; off += 64) {
			run_mono(c, y + off, 64, 64);
			ever_open |= open_now(c, 0) == 1.0f;
		}
		ck_assert_msg(ever_open == cases[k].opens,
		              "%g Hz behind %g Hz: opened %d", cases[k].freq,
		              cases[k].hpf, ever_open);
		/* The gain at the end: 1 open, the range closed. */
		double peak_in = 0, peak_out = 0;
		for (long i = N - FS / 10; i < N; i++) {
			peak_in = fmax(peak_in, fabs(x[i]));
			peak_out = fmax(peak_out, fabs(y[i]));
		}
		double want = cases[k].opens ? 0 : -60;
		ck_assert_msg(fabs(db(peak_out / peak_in) - want) < 0.01,
		              "%g Hz behind %g Hz: gain %g dB", cases[k].freq,
		              cases[k].hpf, db(peak_out / peak_in));
		fx_chain_free(c);
	}
}
END_TEST

/* ---- linked channels, range 0, glides -------------------------------------- */

/* Three channels: a loud one, a quiet one (under the threshold alone) and
 * silence. The loudest opens the gate for all: the loud one comes out as
 * it would alone, the quiet one gets the same gain, silence stays silent. */
START_TEST(channels_are_linked)
{
	enum { N = FS };
	static float in[3][N], out[3][N], alone[N];
	for (long i = 0; i < N; i++) {
		double on = (i / (FS / 4)) % 2 ? 0.0 : 1.0;
		in[0][i] = (float)(0.3 * on * sin(2 * M_PI * 440.0 * i / FS));
		in[1][i] = (float)(0.003 * sin(2 * M_PI * 3000.0 * i / FS));
	}
	memcpy(out, in, sizeof out);
	memcpy(alone, in[0], sizeof alone);
	const char *text = "gate threshold=-30 hold=10 release=20";
	FxChain *c3 = fx_test_chain(text, fx_test_chain_config(3, 20));
	float *bufs[3] = {out[0], out[1], out[2]};
	fx_test_process(c3, bufs, 3, N, 256);
	FxChain *c1 = fx_test_chain(text, fx_test_chain_config(1, 20));
	run_mono(c1, alone, N, 256);
	double worst = 0;
	long open = 0;
	for (long i = 0; i < N; i++) {
		ck_assert_msg(out[0][i] == alone[i], "frame %ld", i);
		ck_assert(out[2][i] == 0.0f);
		if (fabs(in[0][i]) > 0.05) {
			double gain = (double)out[0][i] / in[0][i];
			worst = fmax(worst, fabs(out[1][i] - in[1][i] * gain));
			open += gain == 1.0;
		}
	}
	ck_assert_msg(worst < 1e-9, "quiet channel off its linked gain by %g",
	              worst);
	ck_assert(open > N / 4);
	/* And the quiet channel alone is gated: its last 100 ms (the loud
	 * channel silent) are 60 dB down. */
	ck_assert(fabsf(out[1][N - 12]) < 0.003f * 0.0011f);
	fx_chain_free(c3);
	fx_chain_free(c1);
}
END_TEST

/* range=0: the gate does nothing, bit for bit, open or closed. */
START_TEST(range_zero_is_transparent)
{
	enum { N = FS };
	float *x[2] = {floats(N), floats(N)}, *y[2] = {floats(N), floats(N)};
	plucks(x[0], x[1], N);
	for (int ch = 0; ch < 2; ch++)
		memcpy(y[ch], x[ch], N * sizeof(float));
	FxChain *c = fx_test_chain("gate range=0 threshold=-20",
	                           fx_test_chain_config(2, 20));
	fx_test_process(c, y, 2, N, 100);
	for (int ch = 0; ch < 2; ch++)
		ck_assert(memcmp(x[ch], y[ch], N * sizeof(float)) == 0);
	fx_chain_free(c);
	for (int ch = 0; ch < 2; ch++) {
		free(x[ch]);
		free(y[ch]);
	}
}
END_TEST

/* While closed, range glides (20 ms) from -60 to -20 dB and back without
 * steps: it moves per frame inside each 32-frame sub-block, and the
 * release one-pole follows. Then a threshold glide down past a steady
 * level opens the gate. */
START_TEST(range_and_threshold_glide)
{
	enum { N = FS };
	float *x = floats(N), *y = floats(N);
	nyquist(x, 0, N, amp(-56));
	memcpy(y, x, N * sizeof *x);
	const FxEffectClass *cls = fx_effect_find("gate");
	FxChain *c = fx_test_chain("gate threshold=-50 range=-60 release=1",
	                           fx_test_chain_config(1, 20));
	run_mono(c, y, N / 4, 256);
	ck_assert_int_eq(fx_chain_set_param(c, 0, fx_param_find(cls, "range"),
	                                    -20, NULL),
	                 FX_OK);
	run_mono(c, y + N / 4, N / 4, 256);
	double up = db((double)y[N / 2 - 1] / x[N / 2 - 1]);
	ck_assert_int_eq(fx_chain_set_param(c, 0, fx_param_find(cls, "range"),
	                                    -60, NULL),
	                 FX_OK);
	run_mono(c, y + N / 2, N / 4, 256);
	double down = db((double)y[3 * N / 4 - 1] / x[3 * N / 4 - 1]);
	double worst = 0;
	for (long i = 1; i < 3 * N / 4; i++)
		worst = fmax(worst, fabs(db((double)y[i] / x[i]) -
		                         db((double)y[i - 1] / x[i - 1])));
	fprintf(stderr, "# range glide: worst step %.4f dB per frame\n", worst);
	/* A 40 dB glide over 960 frames is 0.0417 dB per frame; the glide's
	 * 1.3 dB steps every 32 frames, through the 1 ms release, would show
	 * as 0.05 or more. */
	ck_assert_msg(worst < 0.045, "gain stepped %g dB in a frame", worst);
	ck_assert_double_eq_tol(up, -20, 1e-3);
	ck_assert_double_eq_tol(down, -60, 1e-3);
	ck_assert(open_now(c, 0) == 0.0f);
	ck_assert_int_eq(fx_chain_set_param(c, 0, fx_param_find(cls, "threshold"),
	                                    -60, NULL),
	                 FX_OK);
	run_mono(c, y + 3 * N / 4, N / 4, 256);
	ck_assert(open_now(c, 0) == 1.0f);
	ck_assert(y[N - 1] == x[N - 1]);
	free(x);
	free(y);
	fx_chain_free(c);
}
END_TEST

/* ---- silence, NaN, allocations --------------------------------------------- */

/* Silence comes out as exact silence, closed. A chunk with NaN or
 * infinity is muted by the chain, which resets the gate: closed, and
 * afterwards it gates a tone as before, finite throughout. */
START_TEST(silence_and_nonfinite_input)
{
	enum { N = FS / 2, CH = 256 };
	float *x[2] = {floats(N), floats(N)};
	FxChain *c = fx_test_chain("gate", fx_test_chain_config(2, 20));
	fx_test_process(c, x, 2, N, CH);
	for (long i = 0; i < N; i++)
		ck_assert(x[0][i] == 0.0f && x[1][i] == 0.0f);
	ck_assert(open_now(c, 0) == 0.0f);
	const float bad[] = {NAN, INFINITY, -INFINITY};
	for (int k = 0; k < 3; k++) {
		for (int ch = 0; ch < 2; ch++)
			nyquist(x[ch], 0, N, 0.1);
		x[k & 1][N / 2 + 5] = bad[k];
		fx_test_process(c, x, 2, N, CH);
		ck_assert_uint_eq(fx_chain_nonfinite_count(c), (uint64_t)k + 1);
		long muted = (N / 2) / CH * CH;
		for (long i = 0; i < N; i++)
			for (int ch = 0; ch < 2; ch++) {
				ck_assert(isfinite(x[ch][i]));
				if (i >= muted && i < muted + CH)
					ck_assert(x[ch][i] == 0.0f);
			}
		/* After the reset it opened again from its range. */
		ck_assert(open_now(c, 0) == 1.0f);
		ck_assert(fabsf(x[0][muted + CH] / 0.1f) < 0.01f);
		ck_assert(fabsf(x[0][N - 1]) == 0.1f);
	}
	fx_chain_free(c);
	free(x[0]);
	free(x[1]);
}
END_TEST

/* init allocates exactly the bytes plan reports, for any channel count,
 * cleanup gives them back, and processing allocates nothing. */
START_TEST(init_allocates_what_it_plans)
{
	const FxEffectClass *cls = fx_effect_find("gate");
	ck_assert_ptr_nonnull(cls->plan);
	static const int channels[] = {1, 2, 8, 64};
	double values[FX_MAX_PARAMS];
	for (int p = 0; p < cls->n_params; p++)
		values[p] = cls->params[p].def;
	for (int k = 0; k < 4; k++) {
		FxEffectSetup setup = {cls,  48000,  channels[k],
		                       1024, values, NULL};
		FxEffectPlan plan;
		ck_assert_int_eq(cls->plan(&setup, &plan), FX_OK);
		ck_assert_int_eq(plan.latency, 0);
		void *state = calloc(1, cls->state_size);
		ck_assert_ptr_nonnull(state);
		weighed = 0;
		weighing = 1;
		FxStatus st = cls->init(state, &setup);
		weighing = 0;
		ck_assert_int_eq(st, FX_OK);
		ck_assert_uint_eq(weighed, plan.bytes);
		ck_assert_uint_gt(plan.bytes, 0);
		float *buf[64];
		static float audio[64][1024];
		for (int ch = 0; ch < channels[k]; ch++) {
			buf[ch] = audio[ch];
			nyquist(audio[ch], 0, 1024, 0.1);
		}
		float out;
		calls = 0;
		counting = 1;
		cls->process(state, buf, 1024);
		cls->update(state, values);
		cls->read_outputs(state, &out);
		cls->reset(state);
		counting = 0;
		ck_assert_int_eq(calls, 0);
		ck_assert(out == 1.0f);
		cls->cleanup(state);
		free(state);
	}
}
END_TEST

int main(void)
{
	/* clang-format off */
	const FxTestCase cases[] = {
		{"static", 60, .tests = {
			{thresholds_with_hysteresis,
			 sizeof statics / sizeof statics[0]},
			{hold_keeps_it_open, sizeof holds / sizeof holds[0]},
			{sidechain_highpass_ignores_rumble, 0},
			{channels_are_linked, 0},
			{range_zero_is_transparent, 0},
		}},
		{"dynamics", 60, .tests = {
			{attack_and_release_time_constants,
			 sizeof times / sizeof times[0]},
			{gain_slope_is_bounded, sizeof slopes / sizeof slopes[0]},
			{range_and_threshold_glide, 0},
		}},
		{"robustness", 60, .tests = {
			{chunk_invariance, 0},
			{open_output_row_and_slot, 0},
			{silence_and_nonfinite_input, 0},
			{init_allocates_what_it_plans, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("gate", cases));
}

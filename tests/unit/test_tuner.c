/* SPDX-License-Identifier: ISC */
/* tuner: pitch of sines and plucked strings (Karplus-Strong) from 41 to
 * 1,319 Hz against the truth, settling time, the reference pitch, no pitch
 * for silence and noise, the level, mute, and outputs independent of the
 * chunking. An accuracy table goes to stderr. */
#include "tests/fxtest.h"

#include <complex.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dsp/chain.h"

enum { FS = 48000 };
enum { O_FREQ, O_NOTE, O_CENTS, O_LEVEL, N_OUT };

/* Silence before each note, and the note's length. */
#define ONSET_S 0.1
#define NOTE_S 1.0
/* Readings from this long after the onset on are held to the accuracy. */
#define STEADY_S 0.25
/* Frames between readings. */
enum { READ_EVERY = 48 };

/* The outputs as they were after frame `frames` had been processed. */
typedef struct {
	long frames;
	float v[N_OUT];
} Reading;

static double cents_between(double f, double truth)
{
	return 1200.0 * log2(f / truth);
}

/* Runs @p x (mono, @p n frames) through the chain in chunks of @p chunk,
 * in place, and reads the tuner's outputs (slot 0) after every chunk into
 * @p out (n / chunk + 1 of them); returns how many. */
static long run_reading(FxChain *c, float *x, long n, int chunk, Reading *out)
{
	long k = 0;
	for (long off = 0; off < n; off += chunk) {
		int len = n - off < chunk ? (int)(n - off) : chunk;
		float *p = x + off;
		fx_chain_process(c, &p, len);
		out[k].frames = off + len;
		ck_assert_int_eq(fx_chain_slot_outputs(c, 0, out[k].v), N_OUT);
		k++;
	}
	return k;
}

/* ---- signals ------------------------------------------------------------ */

static long onset(void)
{
	return lround(ONSET_S * FS);
}

static long note_frames(void)
{
	return onset() + lround(NOTE_S * FS);
}

/* Silence, then a sine of amplitude 0.5 at @p f Hz. */
static void make_sine(float *x, long n, double f, double phase)
{
	long on = onset();
	for (long i = 0; i < n; i++)
		x[i] = i < on ? 0.0f
		              : (float)(0.5 * sin(2 * M_PI * f * (i - on) / FS +
		                                  phase));
}

/* A Karplus-Strong string tuned to @p f by a first-order allpass in the
 * loop (Jaffe & Smith, 1983): a delay of N samples, the two-point average
 * (half a sample, and the string's damping), the allpass (Δ samples near
 * DC) and a loss of @p loss per trip. Its fundamental is where the loop's
 * phase lag is a whole turn; that is returned, the truth the tuner must
 * find. Silence, then the pluck: a burst of N samples of zero-mean noise. */
static double make_pluck(float *x, long n, double f, double loss, uint32_t seed)
{
	double period = (double)FS / f;
	int len = (int)floor(period - 0.5 - 0.1);
	double frac = period - 0.5 - len;
	double coef = (1.0 - frac) / (1.0 + frac);
	static double line[4096], burst[4096];
	ck_assert_int_lt(len, 4096);
	double mean = 0.0;
	for (int i = 0; i < len; i++)
		mean += burst[i] = 0.5 * fx_test_uniform(&seed);
	mean /= len;
	memset(line, 0, sizeof line);
	double prev = 0.0, ap_in = 0.0, ap_out = 0.0;
	long on = onset();
	int pos = 0;
	for (long i = 0; i < n; i++) {
		if (i < on) {
			x[i] = 0.0f;
			continue;
		}
		double u = line[pos];
		double avg = 0.5 * (u + prev);
		prev = u;
		double ap = coef * avg + ap_in - coef * ap_out;
		ap_in = avg;
		ap_out = ap;
		double y = loss * ap;
		if (i - on < len)
			y += burst[i - on] - mean;
		line[pos] = y;
		pos = pos + 1 == len ? 0 : pos + 1;
		x[i] = (float)y;
	}
	/* The loop's phase lag at w: w (len + 1/2) plus the allpass's. */
	double lo = 0.5 * 2 * M_PI / period, hi = 2.0 * 2 * M_PI / period;
	for (int it = 0; it < 200; it++) {
		double w = 0.5 * (lo + hi);
		double complex z = cexp(-I * w);
		double lag = w * (len + 0.5) -
		             carg((coef + z) / (1.0 + coef * z));
		if (lag < 2 * M_PI)
			lo = w;
		else
			hi = w;
	}
	return 0.5 * (lo + hi) * FS / (2 * M_PI);
}

/* ---- accuracy ------------------------------------------------------------- */

/* Open strings of a 4-string bass (E1 A1 D2 G2) and a guitar (E2 .. E4),
 * A4, notes between, the top of a guitar's neck (E6), and pitches off the
 * equal-tempered grid. */
static const struct {
	const char *name;
	double freq;
} notes[] = {
	{"E1", 41.2034}, {"F#1", 46.2493}, {"A1", 55.0},    {"D2", 73.4162},
	{"E2", 82.4069}, {"G2", 97.9989},  {"A2", 110.0},   {"~A2#", 113.3},
	{"D3", 146.832}, {"G3", 195.998},  {"B3", 246.942}, {"E4", 329.628},
	{"A4", 440.0},   {"~C#5", 561.7},  {"C5", 523.251}, {"A5", 880.0},
	{"C6", 1046.50}, {"~D6", 1171.9},  {"E6", 1318.51},
};

enum { N_NOTES = sizeof notes / sizeof notes[0] };

/* How a note was tracked. */
typedef struct {
	double reported; ///< the last reading, Hz
	double worst;    ///< largest |error| from STEADY_S on, cents
	double settle;   ///< seconds from the onset to the first reading
			 ///< from which every one is within 1 cent
	long missing;    ///< readings without a pitch from STEADY_S on
} Track;

static Track track(const float *signal, double truth)
{
	long n = note_frames();
	static float x[FS * 2];
	static Reading r[FS * 2 / READ_EVERY + 1];
	memcpy(x, signal, (size_t)n * sizeof *x);
	FxChain *c = fx_test_chain("tuner", fx_test_chain_config(1, 20));
	long k = run_reading(c, x, n, READ_EVERY, r);
	fx_chain_free(c);
	Track t = {r[k - 1].v[O_FREQ], 0.0, NAN, 0};
	long on = onset(), steady = on + lround(STEADY_S * FS);
	long first_good = -1;
	for (long i = 0; i < k; i++) {
		double f = r[i].v[O_FREQ];
		double err = f > 0 ? cents_between(f, truth) : INFINITY;
		if (fabs(err) > 1.0)
			first_good = -1;
		else if (first_good < 0)
			first_good = i;
		if (r[i].frames < steady)
			continue;
		if (f > 0)
			t.worst = fmax(t.worst, fabs(err));
		else
			t.missing++;
	}
	if (first_good >= 0)
		t.settle = (double)(r[first_good].frames - on) / FS;
	return t;
}

static void print_row(const char *kind, const char *name, double truth, Track t)
{
	fprintf(stderr, "# %-5s %-5s %9.4f %9.4f %8.4f %8.4f %7.1f\n", kind,
	        name, truth, t.reported, cents_between(t.reported, truth),
	        t.worst, t.settle * 1000.0);
}

static void print_header(void)
{
	fprintf(stderr, "# kind  note  true Hz   last Hz   cents    worst  "
	                "settle ms\n");
}

/* Prints note @p i's row, then holds its track to @p cents of @p truth
 * from 250 ms on, with no reading missing, settled within 100 ms above
 * 80 Hz. */
static void judge(const char *kind, int i, double truth, Track t, double cents)
{
	if (i == 0)
		print_header();
	print_row(kind, notes[i].name, truth, t);
	ck_assert_msg(t.missing == 0, "%s: %ld readings without a pitch",
	              notes[i].name, t.missing);
	ck_assert_msg(t.worst <= cents, "%s (%g Hz): %.4f cents off",
	              notes[i].name, truth, t.worst);
	if (truth > 80.0)
		ck_assert_msg(t.settle < 0.1, "%s: settles in %.1f ms",
		              notes[i].name, t.settle * 1e3);
}

START_TEST(sines_within_a_tenth_of_a_cent)
{
	static float x[FS * 2];
	double f = notes[_i].freq;
	make_sine(x, note_frames(), f, 0.3 + _i);
	judge("sine", _i, f, track(x, f), 0.1);
}
END_TEST

START_TEST(plucks_within_a_cent)
{
	static float x[FS * 2];
	double truth = make_pluck(x, note_frames(), notes[_i].freq, 0.9995,
	                          1234u + (uint32_t)_i);
	judge("pluck", _i, truth, track(x, truth), 1.0);
}
END_TEST

/* ---- reference, note and level ------------------------------------------ */

/* The steady readings (the last one) of a sine at @p f through @p spec. */
static Reading steady_reading(const char *spec, double f)
{
	static float x[FS * 2];
	static Reading r[FS * 2 / READ_EVERY + 1];
	long n = note_frames();
	make_sine(x, n, f, 0.0);
	FxChain *c = fx_test_chain(spec, fx_test_chain_config(1, 20));
	long k = run_reading(c, x, n, READ_EVERY, r);
	fx_chain_free(c);
	return r[k - 1];
}

/* 20 cents under A4: note 69 at -20 cents against 440; against 432 the
 * same note, 1200 log2(440/432) = 31.77 cents higher. */
START_TEST(ref_432_shifts_cents)
{
	double f = 440.0 * pow(2.0, -20.0 / 1200.0);
	Reading a = steady_reading("tuner", f);
	Reading b = steady_reading("tuner ref=432", f);
	double shift = 1200.0 * log2(440.0 / 432.0);
	fprintf(stderr,
	        "# %.4f Hz: ref 440 note %g %+.4f cents, ref 432 note "
	        "%g %+.4f cents (shift %.4f, want %.4f)\n",
	        f, a.v[O_NOTE], a.v[O_CENTS], b.v[O_NOTE], b.v[O_CENTS],
	        b.v[O_CENTS] - a.v[O_CENTS], shift);
	ck_assert_float_eq(a.v[O_NOTE], 69.0f);
	ck_assert_float_eq(b.v[O_NOTE], 69.0f);
	ck_assert_double_eq_tol(a.v[O_CENTS], -20.0, 0.1);
	ck_assert_double_eq_tol(b.v[O_CENTS], -20.0 + shift, 0.1);
	ck_assert_double_eq_tol(b.v[O_CENTS] - a.v[O_CENTS], shift, 0.01);
}
END_TEST

/* Notes and cents across the range, at both references: the note is the
 * nearest, the cents the rest, each in -50..50. */
START_TEST(note_and_cents_follow_the_reference)
{
	static const double refs[] = {440.0, 432.0, 400.0, 480.0};
	static const double offsets[] = {-45.0, -10.0, 0.0, 25.0, 49.0};
	for (size_t ri = 0; ri < sizeof refs / sizeof *refs; ri++)
		for (int note = 30; note <= 84; note += 27)
			for (size_t oi = 0;
			     oi < sizeof offsets / sizeof *offsets; oi++) {
				double f = refs[ri] *
				           pow(2.0,
				               (note - 69 + offsets[oi] / 100.0) /
				                       12.0);
				char spec[64];
				snprintf(spec, sizeof spec, "tuner ref=%g",
				         refs[ri]);
				Reading r = steady_reading(spec, f);
				ck_assert_msg(r.v[O_NOTE] == note &&
				                      fabs(r.v[O_CENTS] -
				                           offsets[oi]) <= 0.1,
				              "%g Hz at ref %g: note %g %+.3f cents, "
				              "want %d %+g",
				              f, refs[ri], r.v[O_NOTE],
				              r.v[O_CENTS], note, offsets[oi]);
			}
}
END_TEST

/* A sine of amplitude 0.5 reads -6.02 dBFS (a full-scale sine reads 0):
 * exactly at 200 Hz, whole periods in the 20 ms window; within 0.1 dB at
 * 220 Hz, where the window cuts a period. */
START_TEST(level_reads_a_sines_peak)
{
	Reading r = steady_reading("tuner", 200.0);
	ck_assert_double_eq_tol(r.v[O_LEVEL], 20.0 * log10(0.5), 0.001);
	r = steady_reading("tuner", 220.0);
	ck_assert_double_eq_tol(r.v[O_LEVEL], 20.0 * log10(0.5), 0.1);
}
END_TEST

/* The channels' mean is analysed: the same sine on both channels of a
 * stereo chain gives the mono readings, bit for bit. */
START_TEST(stereo_reads_the_channels_mean)
{
	static float x[FS * 2], left[FS * 2], right[FS * 2];
	long n = note_frames();
	make_pluck(x, n, 196.0, 0.9995, 77u);
	memcpy(left, x, (size_t)n * sizeof *x);
	memcpy(right, x, (size_t)n * sizeof *x);
	FxChain *mono = fx_test_chain("tuner", fx_test_chain_config(1, 20));
	FxChain *st = fx_test_chain("tuner", fx_test_chain_config(2, 20));
	for (long off = 0; off < n; off += 256) {
		int len = n - off < 256 ? (int)(n - off) : 256;
		float *m = x + off, *s[2] = {left + off, right + off};
		fx_chain_process(mono, &m, len);
		fx_chain_process(st, s, len);
		float a[N_OUT], b[N_OUT];
		fx_chain_slot_outputs(mono, 0, a);
		fx_chain_slot_outputs(st, 0, b);
		ck_assert_mem_eq(a, b, sizeof a);
	}
	fx_chain_free(mono);
	fx_chain_free(st);
}
END_TEST

/* ---- no pitch ------------------------------------------------------------- */

/* Every reading of @p x through a tuner has freq, note and cents 0;
 * returns the highest level read. */
static double assert_no_pitch(const char *what, float *x, long n)
{
	static Reading r[FS * 4 / READ_EVERY + 1];
	FxChain *c = fx_test_chain("tuner", fx_test_chain_config(1, 20));
	long k = run_reading(c, x, n, READ_EVERY, r);
	fx_chain_free(c);
	double loudest = -INFINITY;
	for (long i = 0; i < k; i++) {
		ck_assert_msg(isnan(r[i].v[O_FREQ]) && isnan(r[i].v[O_NOTE]) &&
		                      isnan(r[i].v[O_CENTS]),
		              "%s: %g Hz (note %g %+g) at %.3f s", what,
		              r[i].v[O_FREQ], r[i].v[O_NOTE], r[i].v[O_CENTS],
		              (double)r[i].frames / FS);
		loudest = fmax(loudest, r[i].v[O_LEVEL]);
	}
	return loudest;
}

START_TEST(silence_has_no_pitch)
{
	static float x[FS];
	memset(x, 0, sizeof x);
	ck_assert_double_eq(assert_no_pitch("silence", x, FS), -120.0);
}
END_TEST

/* Two seconds of white noise at three levels. */
START_TEST(white_noise_has_no_pitch)
{
	static float x[FS * 2];
	static const double amps[] = {1.0, 0.1, 0.001};
	uint32_t seed = 99u + (uint32_t)_i;
	for (long i = 0; i < FS * 2; i++)
		x[i] = (float)(amps[_i] * fx_test_uniform(&seed));
	double loudest = assert_no_pitch("white noise", x, FS * 2);
	/* Uniform noise's RMS is amp / sqrt(3); the level adds 3 dB. */
	double want = 20.0 * log10(amps[_i] / sqrt(3.0)) + 10.0 * log10(2.0);
	ck_assert_double_eq_tol(loudest, want, 1.0);
}
END_TEST

/* A burst of noise, Hann-shaped, 300 ms, between silences. */
START_TEST(a_noise_burst_has_no_pitch)
{
	static float x[FS];
	uint32_t seed = 4242u;
	long start = FS / 5, len = FS * 3 / 10;
	for (long i = 0; i < FS; i++) {
		double env = i >= start && i < start + len
		                     ? 0.5 - 0.5 * cos(2 * M_PI * (i - start) /
		                                       len)
		                     : 0.0;
		x[i] = (float)(0.8 * env * fx_test_uniform(&seed));
	}
	assert_no_pitch("noise burst", x, FS);
}
END_TEST

/* ---- mute ----------------------------------------------------------------- */

START_TEST(mute_off_passes_bit_for_bit)
{
	static float x[FS], y[FS];
	make_pluck(x, FS, 110.0, 0.9995, 5u);
	memcpy(y, x, sizeof x);
	FxChain *c = fx_test_chain("tuner mute=off", fx_test_chain_config(1, 20));
	for (long off = 0; off < FS; off += 333) {
		float *p = y + off;
		fx_chain_process(c, &p, FS - off < 333 ? (int)(FS - off) : 333);
	}
	fx_chain_free(c);
	ck_assert_mem_eq(x, y, sizeof x);
}
END_TEST

/* Muted from the start: exact zeros, while the pitch is still read. */
START_TEST(mute_on_gives_exact_zeros)
{
	static float x[FS];
	static Reading r[FS / READ_EVERY + 1];
	make_sine(x, FS, 220.0, 0.0);
	FxChain *c = fx_test_chain("tuner mute=on", fx_test_chain_config(1, 20));
	long k = run_reading(c, x, FS, READ_EVERY, r);
	fx_chain_free(c);
	for (long i = 0; i < FS; i++)
		ck_assert_msg(x[i] == 0.0f && !signbit(x[i]), "frame %ld: %g",
		              i, x[i]);
	ck_assert_double_eq_tol(r[k - 1].v[O_FREQ], 220.0, 220.0 * 1e-4);
}
END_TEST

/* Muting while running fades out over 5 ms (monotonic gain, no step
 * larger than the signal's), then gives exact zeros; unmuting fades back
 * in and then passes bit for bit. */
START_TEST(mute_fades_then_is_exact)
{
	static float x[FS], y[FS];
	for (long i = 0; i < FS; i++)
		x[i] = 0.5f;
	memcpy(y, x, sizeof x);
	FxChain *c = fx_test_chain("tuner", fx_test_chain_config(1, 20));
	const int ramp = FS * 5 / 1000;
	long mute_at = FS / 4, unmute_at = FS / 2;
	for (long off = 0; off < FS; off += 100) {
		if (off == mute_at || off == unmute_at)
			ck_assert_int_eq(fx_chain_set_param(
						 c, 0, 1, off == mute_at, NULL),
			                 FX_OK);
		float *p = y + off;
		fx_chain_process(c, &p, 100);
	}
	fx_chain_free(c);
	for (long i = 0; i < FS; i++) {
		float want;
		if (i < mute_at || i >= unmute_at + ramp)
			want = x[i];
		else if (i >= mute_at + ramp - 1 && i < unmute_at)
			want = 0.0f;
		else
			want = NAN;
		if (!isnan(want)) {
			ck_assert_msg(y[i] == want, "frame %ld: %g, want %g", i,
			              y[i], want);
		} else {
			/* Inside a fade: between 0 and the input, moving one
			 * step of 1/ramp per frame. */
			ck_assert(y[i] >= 0.0f && y[i] <= 0.5f);
			ck_assert_double_eq_tol(fabs(y[i] - y[i - 1]),
			                        0.5 / ramp, 1e-6);
		}
	}
}
END_TEST

/* ---- chunking -------------------------------------------------------------- */

/* Silence, a pluck, a noise burst, a sine, silence: the outputs after
 * every frame count that two chunkings share are the same bits. */
START_TEST(outputs_do_not_depend_on_chunking)
{
	static const int chunks[] = {7, 64, 256, 1024};
	enum { N = FS * 3 / 2 };
	static float src[N], x[N];
	static Reading ref[N], r[N];
	make_pluck(src, FS / 2, 110.0, 0.9995, 31u);
	uint32_t seed = 8u;
	for (long i = FS / 2; i < FS * 7 / 10; i++)
		src[i] = (float)(0.3 * fx_test_uniform(&seed));
	for (long i = FS * 7 / 10; i < FS * 13 / 10; i++)
		src[i] = (float)(0.25 * sin(2 * M_PI * 329.628 * i / FS));
	for (long i = FS * 13 / 10; i < N; i++)
		src[i] = 0.0f;
	memcpy(x, src, sizeof x);
	FxChain *c = fx_test_chain("tuner", fx_test_chain_config(1, 20));
	ck_assert_int_eq(run_reading(c, x, N, 1, ref), N);
	fx_chain_free(c);
	/* The reference itself saw the pitches it is compared on. */
	int pitched = 0;
	for (long i = 0; i < N; i++)
		pitched += ref[i].v[O_FREQ] > 0.0f;
	ck_assert_int_gt(pitched, N / 2);
	for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++) {
		memcpy(x, src, sizeof x);
		c = fx_test_chain("tuner", fx_test_chain_config(1, 20));
		long k = run_reading(c, x, N, chunks[ci], r);
		fx_chain_free(c);
		for (long i = 0; i < k; i++)
			ck_assert_msg(memcmp(r[i].v, ref[r[i].frames - 1].v,
			                     sizeof r[i].v) == 0,
			              "chunk %d, frame %ld: %g Hz, %g Hz by 1",
			              chunks[ci], r[i].frames, r[i].v[O_FREQ],
			              ref[r[i].frames - 1].v[O_FREQ]);
		ck_assert_mem_eq(x, src, sizeof x);
	}
}
END_TEST

int main(void)
{
	const FxTestCase cases[] = {
		{"accuracy",
	         60,
	         NULL,
	         NULL,
	         {{sines_within_a_tenth_of_a_cent, N_NOTES},
	          {plucks_within_a_cent, N_NOTES}}},
		{"reference",
	         60,
	         NULL,
	         NULL,
	         {{ref_432_shifts_cents, 0},
	          {note_and_cents_follow_the_reference, 0},
	          {level_reads_a_sines_peak, 0},
	          {stereo_reads_the_channels_mean, 0}}},
		{"no pitch",
	         60,
	         NULL,
	         NULL,
	         {{silence_has_no_pitch, 0},
	          {white_noise_has_no_pitch, 3},
	          {a_noise_burst_has_no_pitch, 0}}},
		{"mute",
	         0,
	         NULL,
	         NULL,
	         {{mute_off_passes_bit_for_bit, 0},
	          {mute_on_gives_exact_zeros, 0},
	          {mute_fades_then_is_exact, 0}}},
		{"chunking",
	         120,
	         NULL,
	         NULL,
	         {{outputs_do_not_depend_on_chunking, 0}}},
		{NULL, 0, NULL, NULL, {{NULL, 0}}},
	};
	return fx_test_run(fx_test_suite("tuner", cases));
}

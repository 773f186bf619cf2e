/* SPDX-License-Identifier: ISC */
/* fxd — tests for parallel-in-time SOS filtering: the math of dsp/ptime.h
 * and the driver clients/file/ptime_run.c, against scipy's float64 sosfilt
 * (tests/data, written by tests/unit/gen_refs.py) and against fxd's sequential
 * path, fx_sos_process.
 *
 * Bounds (the issue's): in float32 the parallel path's relative RMS error
 * against the float64 reference is at most twice the sequential path's; in
 * float64 it is at most 1e-10. Two calls give one call's output to the
 * filter's own sensitivity to double rounding (about 5e-15 for the
 * lowpass; the 20 Hz highpass amplifies rounding ~1e3 times, and even the
 * sequential double path is 1e-11 off sosfilt), in float to one ulp in rare
 * samples (the lowpass: identical). Set FX_TEST_VERBOSE=1 for the numbers.
 */
#include "dsp/design.h"
#include "dsp/denormal.h"
#include "tests/fxtest.h"
#include "dsp/ptime.h"
#include "clients/file/ptime_run.h"
#include "tests/unit/refdata.h"
#include "dsp/sos.h"

#include <malloc.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DATA FX_TEST_DATA

enum {
	MAX_CH = 3,
	MAX_THREADS = 4,
	SEG = 500, ///< nominal segment length for the boundary cases
	REF_FRAMES = 16384,
};

/* The two filters of the issue: order-10 Butterworth lowpass at 1 kHz
 * (48 kHz) and order-4 Butterworth highpass at 20 Hz (96 kHz), whose
 * slowest pole (radius 0.9995) makes the fix-up run whole segments. */
static const char *const filter_names[] = {"lp10_1000_48000", "hp4_20_96000"};
enum { N_FILTERS = 2 };

typedef struct {
	const char *name;
	int nsec;
	FxSection sos[FX_MAX_SECTIONS];
	double *ref; ///< sosfilt of the input, REF_FRAMES
} Filter;

static Filter filters[N_FILTERS];
static float *input; ///< REF_FRAMES
static FxPtPool *pools[MAX_THREADS + 1];
static bool verbose;

/* Channel c is the input times gain[c] (a power of two: exact in float
 * and double, so the reference is gain[c] * ref exactly). */
static const double gain[MAX_CH] = {1.0, -0.5, 2.0};

/* The coefficients of @p name from signals.txt. */
static int load_filter(Filter *f, const char *name)
{
	FILE *fp = fopen(DATA "signals.txt", "r");
	if (!fp)
		return -1;
	static char line[16384];
	int found = -1;
	while (fgets(line, sizeof line, fp)) {
		if (line[0] == '#')
			continue;
		char *save, *tok = strtok_r(line, " \n", &save);
		if (!tok || strcmp(tok, name))
			continue;
		for (int i = 0; i < 8; i++) // input frames family type p1..p4
			strtok_r(NULL, " \n", &save);
		f->name = name;
		f->nsec = (int)strtol(strtok_r(NULL, " \n", &save), NULL, 10);
		if (f->nsec < 1 || f->nsec > FX_MAX_SECTIONS)
			break;
		for (int i = 0; i < 6 * f->nsec; i++) {
			tok = strtok_r(NULL, " \n", &save);
			if (!tok)
				break;
			f->sos[i / 6][i % 6] = strtod(tok, NULL);
		}
		found = 0;
		break;
	}
	fclose(fp);
	return found;
}

/* Reference data, read before any test runs (outside Check). */
static void *load_le(const char *name, size_t elem, size_t count)
{
	void *data = fx_test_read_le(name, elem, count);
	if (!data) {
		fprintf(stderr, "test_ptime: cannot read %s%s\n", FX_TEST_DATA,
		        name);
		exit(EXIT_FAILURE);
	}
	return data;
}

static float *fbuf[MAX_CH];
static double *dbuf[MAX_CH], *dref[MAX_CH];

static void fill_f32(long frames, int channels)
{
	for (int c = 0; c < channels; c++)
		for (long i = 0; i < frames; i++)
			fbuf[c][i] = (float)(gain[c] * input[i]);
}

static void fill_f64(long frames, int channels)
{
	for (int c = 0; c < channels; c++)
		for (long i = 0; i < frames; i++)
			dbuf[c][i] = gain[c] * input[i];
}

static double rel_rms64(const double *y, const double *ref, long n)
{
	double e2 = 0, r2 = 0;
	for (long i = 0; i < n; i++) {
		e2 += (y[i] - ref[i]) * (y[i] - ref[i]);
		r2 += ref[i] * ref[i];
	}
	ck_assert(r2 > 0);
	return sqrt(e2 / r2);
}

static double rel_rms_f(const float *y, const float *ref, long n)
{
	double e2 = 0, r2 = 0;
	for (long i = 0; i < n; i++) {
		e2 += ((double)y[i] - ref[i]) * ((double)y[i] - ref[i]);
		r2 += (double)ref[i] * ref[i];
	}
	return r2 > 0 ? sqrt(e2 / r2) : sqrt(e2);
}

static FxPtFilter *make(const Filter *flt, int channels, long threshold)
{
	FxStatus st;
	FxPtFilter *f = fx_pt_filter_new((const FxSection *)flt->sos, flt->nsec,
	                                 channels, 1L << 20, &st);
	ck_assert_msg(f, "%s", fx_strerror(st));
	fx_pt_filter_set_threshold(f, threshold);
	return f;
}

/* The sequential float32 path: fx_sos_process over the same sections. */
static void seq_f32(const Filter *flt, int channels, long frames, float **y)
{
	FxStatus st;
	FxSos *s = fx_sos_new(channels, flt->nsec, &st);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(fx_sos_set(s, (const FxSection *)flt->sos, flt->nsec),
	                 FX_OK);
	fill_f32(frames, channels);
	fx_sos_process(s, (const float *const *)fbuf, fbuf, (int)frames);
	for (int c = 0; c < channels; c++)
		memcpy(y[c], fbuf[c], sizeof(float) * (size_t)frames);
	fx_sos_free(s);
}

/* ---- the header's math ----------------------------------------------- */

/* A^L in long double by the recursion on unit states (x86: 64-bit
 * mantissa, so ~2000 times finer than double). */
static void transition_ld(const FxPtCoef *q, long len, long double *T)
{
	const int m = 2 * q->n;
	for (int j = 0; j < m; j++) {
		long double z[FX_PT_MAX_STATE];
		for (int i = 0; i < m; i++)
			z[i] = i == j;
		for (long t = 0; t < len; t++) {
			long double v = 0;
			for (int k = 0; k < q->n; k++) {
				long double z1 = z[2 * k], z2 = z[2 * k + 1];
				long double o = q->b0[k] * v + z1;
				long double u = q->c1[k] * v + z2;
				z[2 * k + 1] = q->na2[k] * z1 + q->c2[k] * v;
				z[2 * k] = q->na1[k] * z1 + u;
				v = o;
			}
		}
		for (int i = 0; i < m; i++)
			T[i * m + j] = z[i];
	}
}

/* A^L by double-double squaring matches the long double recursion to
 * about double's rounding of the largest entry, and has the block lower
 * triangular shape; the double recursion (fx_pt_transition_direct) is
 * close too. */
START_TEST(transition_by_squaring)
{
	const Filter *flt = &filters[_i];
	FxPtCoef q;
	ck_assert_int_eq(
		fx_pt_coef_init(&q, (const double(*)[6])flt->sos, flt->nsec), 0);
	const int m = 2 * q.n;
	static const long lens[] = {0, 1, 2, 3, 255, 1000, 4096, 12345};
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		double T[FX_PT_MAX_STATE * FX_PT_MAX_STATE];
		double Tlo[FX_PT_MAX_STATE * FX_PT_MAX_STATE];
		double D[FX_PT_MAX_STATE * FX_PT_MAX_STATE];
		long double R[FX_PT_MAX_STATE * FX_PT_MAX_STATE];
		double work[4 * FX_PT_MAX_STATE * FX_PT_MAX_STATE];
		fx_pt_transition(&q, lens[i], T, Tlo, work);
		fx_pt_transition_direct(&q, lens[i], D);
		transition_ld(&q, lens[i], R);
		double dt = 0, dd = 0, s = 0;
		for (int j = 0; j < m * m; j++) {
			dt = fmax(dt, (double)fabsl(T[j] - R[j]));
			dd = fmax(dd, (double)fabsl(D[j] - R[j]));
			s = fmax(s, (double)fabsl(R[j]));
			if ((j % m) > ((j / m) | 1)) // above the diagonal blocks
				ck_assert(T[j] == 0 && D[j] == 0);
		}
		if (verbose)
			fprintf(stderr,
			        "%s: A^%ld (max entry %.3g): squaring off by "
			        "%.3g, double recursion by %.3g\n",
			        flt->name, lens[i], s, dt, dd);
		/* the long double reference is itself ~1e-15 off for the
		 * highpass (L rounding errors of 2^-64, amplified ~700 times) */
		ck_assert_msg(dt <= 1e-14 * s, "%s L=%ld: %g of %g", flt->name,
		              lens[i], dt, s);
		ck_assert_msg(dd <= 1e-10 * s, "%s L=%ld: %g of %g", flt->name,
		              lens[i], dd, s);
	}
}
END_TEST

/* Three segments by the three steps (zero-state, carry, fix-up), one
 * stream, equal the recursion over the whole signal; composing the segment
 * maps gives the same end state as applying them in turn. */
START_TEST(three_steps_equal_recursion)
{
	const Filter *flt = &filters[_i];
	FxPtCoef q;
	fx_pt_coef_init(&q, (const double(*)[6])flt->sos, flt->nsec);
	const int m = 2 * q.n;
	enum { L = 3000, N = 3 * L };
	static double x[N], want[N], zs[N], got[N];
	for (int i = 0; i < N; i++)
		x[i] = input[i];
	double s[FX_PT_MAX_STATE] = {0};
	fx_pt_segment_f64(&q, x, want, N, s); // the recursion, one pass
	double e[3][FX_PT_MAX_STATE] = {{0}};
	for (int k = 0; k < 3; k++)
		fx_pt_segment_f64(&q, x + k * L, zs + k * L, L, e[k]);
	double T[FX_PT_MAX_STATE * FX_PT_MAX_STATE];
	double Tlo[FX_PT_MAX_STATE * FX_PT_MAX_STATE];
	double work[4 * FX_PT_MAX_STATE * FX_PT_MAX_STATE];
	fx_pt_transition(&q, L, T, Tlo, work);
	double in[3][FX_PT_MAX_STATE] = {{0}}, fin[FX_PT_MAX_STATE];
	double lo[2][FX_PT_MAX_STATE] = {{0}}, fin_lo[FX_PT_MAX_STATE];
	fx_pt_affine_apply_dd(m, T, Tlo, in[0], lo[0], e[0], in[1], lo[1]);
	fx_pt_affine_apply_dd(m, T, Tlo, in[1], lo[1], e[1], in[2], lo[0]);
	fx_pt_affine_apply_dd(m, T, Tlo, in[2], lo[0], e[2], fin, fin_lo);
	for (int k = 0; k < 3; k++) {
		double t[FX_PT_MAX_STATE];
		memcpy(t, in[k], sizeof t);
		fx_pt_fixup_f64(&q, zs + k * L, got + k * L, L, t, FX_PT_TOL_F64);
	}
	double err = rel_rms64(got, want, N);
	if (verbose)
		fprintf(stderr, "%s: three steps vs recursion %.3g\n",
		        flt->name, err);
	/* The 20 Hz highpass amplifies double rounding ~1e3 times (the
	 * recursion itself is 1e-11 off sosfilt over the reference), so two
	 * orders of evaluation differ by that much. */
	ck_assert_msg(err <= 1e-11, "%s: %g", flt->name, err);
	double d = 0, sn = 0;
	for (int i = 0; i < m; i++) {
		d = fmax(d, fabs(fin[i] - s[i]));
		sn = fmax(sn, fabs(s[i]));
	}
	ck_assert_msg(d <= 1e-11 * sn, "%s: end state off by %g", flt->name, d);
	/* (T, e2) o (T, e1) o (T, e0) = (T^3, ...) from state 0 */
	double T2[FX_PT_MAX_STATE * FX_PT_MAX_STATE], e2[FX_PT_MAX_STATE];
	double T3[FX_PT_MAX_STATE * FX_PT_MAX_STATE], e3[FX_PT_MAX_STATE];
	fx_pt_affine_compose(m, T, e[1], T, e[0], T2, e2);
	fx_pt_affine_compose(m, T, e[2], T2, e2, T3, e3);
	d = 0;
	for (int i = 0; i < m; i++)
		d = fmax(d, fabs(e3[i] - s[i]));
	ck_assert_msg(d <= 1e-11 * sn, "%s: composed state off by %g",
	              flt->name, d);
}
END_TEST

/* The lanes variants compute what the one-stream ones do, lane by lane,
 * including a padding lane that repeats another in place. */
START_TEST(lanes_match_one_stream)
{
	const Filter *flt = &filters[_i];
	FxPtCoef q;
	fx_pt_coef_init(&q, (const double(*)[6])flt->sos, flt->nsec);
	const int m = 2 * q.n, W = FX_PT_LANES;
	enum { N = 1001 };
	static double a[FX_PT_LANES][N], b[FX_PT_LANES][N];
	static float fo[FX_PT_LANES][N], fo1[N];
	const double *x[FX_PT_LANES];
	double *y[FX_PT_LANES];
	float *fy[FX_PT_LANES];
	double z[FX_PT_MAX_STATE * FX_PT_LANES];
	for (int l = 0; l < W; l++) {
		int src = l == W - 1 && W > 1 ? W - 2 : l; // last lane repeats
		for (int i = 0; i < N; i++)
			a[l][i] = input[(i + 997 * src) % REF_FRAMES];
		for (int i = 0; i < m; i++)
			z[i * W + l] = 0.01 * (i + 1) * (src + 1);
		x[l] = y[l] = a[src];
		fy[l] = fo[src];
	}
	memcpy(b, a, sizeof b);
	double z0[FX_PT_MAX_STATE * FX_PT_LANES];
	memcpy(z0, z, sizeof z);
	fx_pt_filter_lanes_f64(&q, x, y, N, z); // in place
	const double *zsrc[FX_PT_LANES];
	for (int l = 0; l < W; l++)
		zsrc[l] = y[l];
	memcpy(z, z0, sizeof z);
	fx_pt_fixup_lanes_f32(&q, zsrc, fy, N, z, FX_PT_TOL_F32);
	for (int l = 0; l < W; l++) {
		int src = l == W - 1 && W > 1 ? W - 2 : l;
		double s[FX_PT_MAX_STATE], one[N], t[FX_PT_MAX_STATE];
		for (int i = 0; i < m; i++)
			s[i] = t[i] = z0[i * W + l];
		fx_pt_segment_f64(&q, b[src], one, N, s);
		double err = rel_rms64(a[src], one, N);
		ck_assert_msg(err <= 1e-15, "lane %d: %g", l, err);
		fx_pt_fixup_f32(&q, a[src], fo1, N, t, FX_PT_TOL_F32);
		ck_assert_msg(rel_rms_f(fo[src], fo1, N) <= 1e-7, "lane %d", l);
	}
}
END_TEST

/* The early stop: a decaying lowpass stops well inside a long segment; the
 * 20 Hz highpass (radius 0.9995) runs ~55k samples before 2^-44. */
START_TEST(fixup_stops_early)
{
	const Filter *flt = &filters[_i];
	FxPtCoef q;
	fx_pt_coef_init(&q, (const double(*)[6])flt->sos, flt->nsec);
	enum { N = 200000 };
	static double zs[N];
	static float y[N];
	double s[FX_PT_MAX_STATE];
	for (int i = 0; i < 2 * q.n; i++)
		s[i] = 0.3 * (i & 1 ? -1 : 1);
	long d32 = fx_pt_fixup_f32(&q, zs, y, N, s, FX_PT_TOL_F32);
	for (int i = 0; i < 2 * q.n; i++)
		s[i] = 0.3 * (i & 1 ? -1 : 1);
	long d64 = fx_pt_fixup_f64(&q, zs, zs, N, s, FX_PT_TOL_F64);
	if (verbose)
		fprintf(stderr,
		        "%s: zero-input response stops after %ld (f32) and "
		        "%ld (f64) samples\n",
		        flt->name, d32, d64);
	ck_assert(d32 > 0 && d32 <= d64 && d64 < N);
	if (!strncmp(flt->name, "lp10", 4))
		ck_assert_int_lt(d64, 4000);
	else
		ck_assert_int_gt(d32, 30000);
	/* what was dropped is below the tolerance: the tail stays at zs */
	for (long i = d64; i < N; i++)
		ck_assert(zs[i] == 0 || fabs(zs[i]) < 1e-17);
}
END_TEST

/* ---- the driver against sosfilt ---------------------------------------- */

/* Lengths per (channels, threads): 1, the first segment boundaries
 * (FX_PT_MIN_SEGMENT -1/0/+1, twice that -1/0), K segments of SEG - 1
 * (remainder K-1), of SEG (none), of SEG plus one frame (remainder 1), and
 * long: 10 SEG + 123 and the whole reference. */
static int lengths(int channels, int threads, long *out)
{
	int k = fx_pt_plan_segments(channels, threads, 1L << 30);
	if (k < 1)
		k = 1;
	long l[] = {1,
	            FX_PT_MIN_SEGMENT - 1,
	            FX_PT_MIN_SEGMENT,
	            FX_PT_MIN_SEGMENT + 1,
	            2 * FX_PT_MIN_SEGMENT - 1,
	            2 * FX_PT_MIN_SEGMENT,
	            (long)k * SEG - 1,
	            (long)k * SEG,
	            (long)k * SEG + 1,
	            10 * SEG + 123,
	            REF_FRAMES};
	int n = 0;
	for (size_t i = 0; i < sizeof l / sizeof *l; i++)
		if (l[i] <= REF_FRAMES)
			out[n++] = l[i];
	return n;
}

/* Loop index: filter, channels 1..3, threads 1..4. */
static void case_of(int i, const Filter **flt, int *channels, int *threads)
{
	*flt = &filters[i % N_FILTERS];
	*channels = 1 + (i / N_FILTERS) % MAX_CH;
	*threads = 1 + i / (N_FILTERS * MAX_CH);
}

enum { N_CASES = N_FILTERS * MAX_CH * MAX_THREADS };

START_TEST(f32_within_twice_sequential)
{
	const Filter *flt;
	int channels, threads;
	case_of(_i, &flt, &channels, &threads);
	long len[16];
	int nl = lengths(channels, threads, len);
	static float seq[MAX_CH][REF_FRAMES];
	float *sp[MAX_CH] = {seq[0], seq[1], seq[2]};
	seq_f32(flt, channels, REF_FRAMES, sp);
	for (int j = 0; j < nl; j++) {
		long n = len[j];
		FxPtFilter *f = make(flt, channels, 1); // parallel from 1 frame
		fill_f32(n, channels);
		fx_pt_filter_process(f, pools[threads], fbuf, n);
		double worst = 0;
		for (int c = 0; c < channels; c++) {
			for (long i = 0; i < n; i++)
				dref[c][i] = gain[c] * flt->ref[i];
			double ep = fx_test_rel_rms(fbuf[c], dref[c], (size_t)n);
			double es = fx_test_rel_rms(seq[c], dref[c], (size_t)n);
			worst = fmax(worst, es > 0   ? ep / es
			                    : ep > 0 ? INFINITY
			                             : 0);
			ck_assert_msg(ep <= 2 * es,
			              "%s ch %d/%d threads %d n %ld: "
			              "parallel %g, sequential %g",
			              flt->name, c, channels, threads, n, ep, es);
			if (verbose && c == 0)
				fprintf(stderr,
				        "f32 %s ch=%d thr=%d n=%5ld K=%d: par "
				        "%.3g seq %.3g",
				        flt->name, channels, threads, n,
				        fx_pt_plan_segments(channels, threads, n),
				        ep, es);
		}
		if (verbose)
			fprintf(stderr, " worst ratio %.4f\n", worst);
		fx_pt_filter_free(f);
	}
}
END_TEST

START_TEST(f64_within_1e_10)
{
	const Filter *flt;
	int channels, threads;
	case_of(_i, &flt, &channels, &threads);
	long len[16];
	int nl = lengths(channels, threads, len);
	for (int j = 0; j < nl; j++) {
		long n = len[j];
		FxPtFilter *f = make(flt, channels, 1);
		fill_f64(n, channels);
		fx_pt_filter_process_f64(f, pools[threads], dbuf, n);
		double worst = 0;
		for (int c = 0; c < channels; c++) {
			for (long i = 0; i < n; i++)
				dref[c][i] = gain[c] * flt->ref[i];
			worst = fmax(worst, rel_rms64(dbuf[c], dref[c], n));
		}
		if (verbose)
			fprintf(stderr, "f64 %s ch=%d thr=%d n=%5ld: %.3g\n",
			        flt->name, channels, threads, n, worst);
		ck_assert_msg(worst <= 1e-10, "%s ch %d threads %d n %ld: %g",
		              flt->name, channels, threads, n, worst);
		fx_pt_filter_free(f);
	}
}
END_TEST

/* The sequential double path against sosfilt over the whole reference:
 * how much the filter amplifies double rounding (1e-14 for the lowpass,
 * 1e-11 for the 20 Hz highpass). */
static double seq64_error(const Filter *flt)
{
	FxPtFilter *f = make(flt, 1, 1);
	fill_f64(REF_FRAMES, 1);
	fx_pt_filter_process_f64(f, NULL, dbuf, REF_FRAMES);
	fx_pt_filter_free(f);
	return rel_rms64(dbuf[0], flt->ref, REF_FRAMES);
}

/* Float outputs a and b differ by at most one ulp anywhere, and in at most
 * @p frac of the samples. */
static bool within_ulp(const float *a, const float *b, long n, double frac)
{
	long diff = 0;
	for (long i = 0; i < n; i++) {
		if (a[i] == b[i])
			continue;
		if (nextafterf(a[i], b[i]) != b[i])
			return false;
		diff++;
	}
	return diff <= frac * n;
}

/* Two calls (any split, either path on either side) give one call's
 * output and end state: in double to the filter's own rounding
 * sensitivity (seq64_error; ~5e-15 for the lowpass; the state, relative
 * per component, ten times that), in float to the rounding of the result
 * (one ulp, in rare samples). */
START_TEST(state_carries_across_calls)
{
	const Filter *flt;
	int channels, threads;
	case_of(_i, &flt, &channels, &threads);
	static const long splits[] = {1, 300, 5000, 8191, 12000};
	static float one_f[MAX_CH][REF_FRAMES];
	static double one_d[MAX_CH][REF_FRAMES];
	double one_state[MAX_CH][FX_MAX_SECTIONS][2];
	const double bound = fmax(1e-14, seq64_error(flt));
	bool ulp_ok = true;
	for (int pass = 0; pass < 2; pass++) { // threshold 1, then 4000
		long thr = pass ? 4000 : 1;
		FxPtFilter *f = make(flt, channels, thr);
		fill_f32(REF_FRAMES, channels);
		fx_pt_filter_process(f, pools[threads], fbuf, REF_FRAMES);
		for (int c = 0; c < channels; c++)
			memcpy(one_f[c], fbuf[c], sizeof one_f[c]);
		fx_pt_filter_reset(f);
		fill_f64(REF_FRAMES, channels);
		fx_pt_filter_process_f64(f, pools[threads], dbuf, REF_FRAMES);
		for (int c = 0; c < channels; c++) {
			memcpy(one_d[c], dbuf[c], sizeof one_d[c]);
			for (int k = 0; k < flt->nsec; k++)
				fx_pt_filter_get_state(f, c, k, one_state[c][k]);
		}
		for (size_t s = 0; s < sizeof splits / sizeof *splits; s++) {
			long a = splits[s];
			fx_pt_filter_reset(f);
			fill_f32(REF_FRAMES, channels);
			fx_pt_filter_process(f, pools[threads], fbuf, a);
			float *rest[MAX_CH];
			for (int c = 0; c < channels; c++)
				rest[c] = fbuf[c] + a;
			fx_pt_filter_process(f, pools[threads], rest,
			                     REF_FRAMES - a);
			double ef = 0;
			for (int c = 0; c < channels; c++) {
				ef = fmax(ef, rel_rms_f(fbuf[c], one_f[c],
				                        REF_FRAMES));
				ulp_ok &= within_ulp(fbuf[c], one_f[c],
				                     REF_FRAMES, 1e-3);
			}
			fx_pt_filter_reset(f);
			fill_f64(REF_FRAMES, channels);
			fx_pt_filter_process_f64(f, pools[threads], dbuf, a);
			double *drest[MAX_CH];
			for (int c = 0; c < channels; c++)
				drest[c] = dbuf[c] + a;
			fx_pt_filter_process_f64(f, pools[threads], drest,
			                         REF_FRAMES - a);
			double ed = 0, es = 0;
			for (int c = 0; c < channels; c++) {
				double e2 = 0, r2 = 0;
				for (long i = 0; i < REF_FRAMES; i++) {
					double d = dbuf[c][i] - one_d[c][i];
					e2 += d * d;
					r2 += one_d[c][i] * one_d[c][i];
				}
				ed = fmax(ed, sqrt(e2 / r2));
				for (int k = 0; k < flt->nsec; k++) {
					double z[2];
					fx_pt_filter_get_state(f, c, k, z);
					for (int i = 0; i < 2; i++)
						es = fmax(
							es,
							fabs(z[i] -
						             one_state[c][k][i]) /
								fmax(fabs(one_state[c][k]
						                                   [i]),
						                     1e-3));
				}
			}
			if (verbose)
				fprintf(stderr,
				        "%s ch=%d thr=%d thresh=%ld split %5ld: "
				        "f32 %.3g f64 %.3g state %.3g\n",
				        flt->name, channels, threads, thr, a,
				        ef, ed, es);
			ck_assert_msg(
				ulp_ok && ed <= bound && es <= 10 * bound,
				"%s split %ld: f32 %g f64 %g state %g (bound %g)",
				flt->name, a, ef, ed, es, bound);
		}
		fx_pt_filter_free(f);
	}
}
END_TEST

/* Same input, same thread count: the same bytes; and the same after
 * fx_pt_filter_reset as from a new filter. */
START_TEST(deterministic_and_reset)
{
	const Filter *flt;
	int channels, threads;
	case_of(_i, &flt, &channels, &threads);
	static float first[MAX_CH][REF_FRAMES];
	static double first_d[MAX_CH][REF_FRAMES];
	FxPtFilter *f = make(flt, channels, 1);
	fill_f32(REF_FRAMES, channels);
	fx_pt_filter_process(f, pools[threads], fbuf, REF_FRAMES);
	for (int c = 0; c < channels; c++)
		memcpy(first[c], fbuf[c], sizeof first[c]);
	fill_f64(REF_FRAMES, channels);
	fx_pt_filter_process_f64(f, pools[threads], dbuf, REF_FRAMES);
	for (int run = 0; run < 3; run++) {
		fx_pt_filter_reset(f);
		fill_f64(REF_FRAMES, channels);
		fx_pt_filter_process_f64(f, pools[threads], dbuf, REF_FRAMES);
		if (run == 0)
			for (int c = 0; c < channels; c++)
				memcpy(first_d[c], dbuf[c], sizeof first_d[c]);
		for (int c = 0; c < channels; c++)
			ck_assert(!memcmp(first_d[c], dbuf[c], sizeof first_d[c]));
		fx_pt_filter_reset(f);
		fill_f32(REF_FRAMES, channels);
		fx_pt_filter_process(f, pools[threads], fbuf, REF_FRAMES);
		for (int c = 0; c < channels; c++)
			ck_assert_msg(!memcmp(first[c], fbuf[c], sizeof first[c]),
			              "%s ch %d threads %d: run %d differs",
			              flt->name, c, threads, run);
	}
	fx_pt_filter_free(f);
}
END_TEST

/* ---- long blocks: chunks, early stop, the default switch-over ---------- */

/* Longer than FX_PT_CHUNK, against the double sequential path (which is
 * sosfilt to ~1e-15): several chunks, segments long enough for the early
 * stop to matter. */
START_TEST(long_block_in_chunks)
{
	const Filter *flt = &filters[_i % N_FILTERS];
	const int channels = _i / N_FILTERS ? 2 : 1, threads = 4;
	const long n = FX_PT_CHUNK * 2 + 777;
	float *xf[2], *sf[2];
	double *xd[2], *rd[2];
	FxStatus st;
	FxSos *s = fx_sos_new(channels, flt->nsec, &st);
	fx_sos_set(s, (const FxSection *)flt->sos, flt->nsec);
	for (int c = 0; c < channels; c++) {
		xf[c] = malloc(sizeof(float) * n);
		sf[c] = malloc(sizeof(float) * n);
		xd[c] = malloc(sizeof(double) * n);
		rd[c] = malloc(sizeof(double) * n);
		for (long i = 0; i < n; i++)
			xf[c][i] = sf[c][i] = (float)(gain[c] *
			                              input[i % REF_FRAMES] *
			                              (1 + 0.5 * sin(i * 1e-4)));
		for (long i = 0; i < n; i++)
			xd[c][i] = rd[c][i] = xf[c][i];
	}
	FxPtFilter *f = make(flt, channels, 1);
	fx_pt_filter_process_f64(f, NULL, rd, n); // sequential reference
	fx_pt_filter_reset(f);
	fx_pt_filter_process_f64(f, pools[threads], xd, n);
	long zir64 = fx_pt_filter_zir_samples(f);
	fx_pt_filter_reset(f);
	fx_pt_filter_process(f, pools[threads], xf, n);
	long zir32 = fx_pt_filter_zir_samples(f);
	fx_sos_process(s, (const float *const *)sf, sf, (int)n);
	/* zero-input samples without the early stop: every segment but the
	 * first of each channel, in each of the equal chunks */
	long chunk = FX_PT_CHUNK / channels > FX_PT_MIN_CHUNK
	                     ? FX_PT_CHUNK / channels
	                     : FX_PT_MIN_CHUNK;
	long nc = (n + chunk - 1) / chunk, len = n / nc;
	int k = fx_pt_plan_segments(channels, threads, len);
	long full = nc * channels * (k - 1) * (len / k);
	for (int c = 0; c < channels; c++) {
		double e64 = rel_rms64(xd[c], rd[c], n);
		double ep = fx_test_rel_rms(xf[c], rd[c], (size_t)n);
		double es = fx_test_rel_rms(sf[c], rd[c], (size_t)n);
		if (verbose)
			fprintf(stderr,
			        "long %s ch %d/%d: f64 %.3g, f32 par %.3g seq "
			        "%.3g (ratio %.4f); zero-input samples %ld (f32) %ld "
			        "(f64) of %ld\n",
			        flt->name, c, channels, e64, ep, es, ep / es,
			        zir32, zir64, full);
		ck_assert_msg(e64 <= 1e-10, "%s: %g", flt->name, e64);
		ck_assert_msg(ep <= 2 * es, "%s: %g vs %g", flt->name, ep, es);
	}
	if (!strncmp(flt->name, "lp10", 4))
		ck_assert_msg(zir64 < full / 2, "no early stop: %ld of %ld",
		              zir64, full);
	for (int c = 0; c < channels; c++) {
		free(xf[c]);
		free(sf[c]);
		free(xd[c]);
		free(rd[c]);
	}
	fx_pt_filter_free(f);
	fx_sos_free(s);
}
END_TEST

/* The default rule: never below fx_pt_switch_over(); from it on where the
 * cost model predicts a gain of 1.2 or more. Where it keeps a block
 * sequential the output is fx_sos_process's, byte for byte; where it
 * splits the output stays within the bound. The rule as documented: mono
 * through the lowpass splits on 2 threads from the switch-over on; stereo
 * through the 20 Hz highpass (whose fix-up spans whole segments) does not
 * on 2 threads, and does on 8; a set threshold overrides the model. */
START_TEST(default_switch_over)
{
	const Filter *flt = &filters[_i % N_FILTERS];
	const int channels = _i / N_FILTERS + 1;
	const long so = fx_pt_switch_over();
	ck_assert_int_ge(so, 1);
	FxStatus st;
	FxPtFilter *f = fx_pt_filter_new((const FxSection *)flt->sos, flt->nsec,
	                                 channels, REF_FRAMES, &st);
	ck_assert_ptr_nonnull(f);
	if (verbose)
		fprintf(stderr,
		        "%s: zero-input response %ld samples; predicted "
		        "gain, %d ch on 2 threads at %ld frames: %.2f\n",
		        flt->name, fx_pt_filter_decay(f), channels, so,
		        fx_pt_filter_predicted_gain(f, 2, so));
	ck_assert(!fx_pt_filter_would_split(f, 2, so - 1));
	ck_assert(!fx_pt_filter_would_split(f, 1, 1L << 20));
	if (!strncmp(flt->name, "lp10", 4) && channels == 1)
		ck_assert(fx_pt_filter_would_split(f, 2, so));
	if (!strncmp(flt->name, "hp4", 3) && channels == 2) {
		ck_assert(!fx_pt_filter_would_split(f, 2, 1L << 20));
		ck_assert(fx_pt_filter_would_split(f, 8, 1L << 20));
	}
	if (so + 1 <= REF_FRAMES) {
		static float seq[2][REF_FRAMES];
		float *sp[2] = {seq[0], seq[1]};
		for (long n = so - 1; n <= so + 1; n++) {
			fx_pt_filter_reset(f);
			seq_f32(flt, channels, n, sp);
			fill_f32(n, channels);
			fx_pt_filter_process(f, pools[2], fbuf, n);
			bool split = fx_pt_filter_would_split(f, 2, n);
			for (int c = 0; c < channels; c++) {
				if (!split) {
					ck_assert(!memcmp(fbuf[c], seq[c],
					                  sizeof(float) * n));
					continue;
				}
				for (long i = 0; i < n; i++)
					dref[c][i] = gain[c] * flt->ref[i];
				ck_assert(fx_test_rel_rms(fbuf[c], dref[c], n) <=
				          2 * fx_test_rel_rms(seq[c], dref[c], n));
			}
		}
	}
	fx_pt_filter_set_threshold(f, 100);
	ck_assert(fx_pt_filter_would_split(f, 2, 100));
	ck_assert(!fx_pt_filter_would_split(f, 2, 99));
	ck_assert(!fx_pt_filter_would_split(f, 1, 100));
	fx_pt_filter_free(f);
}
END_TEST

/* ---- API ------------------------------------------------------------- */

START_TEST(api_validates)
{
	FxStatus st;
	FxSection s[1] = {{1, 0, 0, 1, 0, 0}};
	ck_assert_ptr_null(fx_pt_pool_new(0, &st));
	ck_assert_int_ne(st, FX_OK);
	ck_assert_ptr_null(fx_pt_pool_new(FX_PT_MAX_THREADS + 1, &st));
	ck_assert_ptr_null(fx_pt_filter_new(s, 1, 0, 100, &st));
	ck_assert_ptr_null(fx_pt_filter_new(s, 1, 65, 100, &st));
	ck_assert_ptr_null(fx_pt_filter_new(s, FX_MAX_SECTIONS + 1, 1, 100, &st));
	ck_assert_ptr_null(fx_pt_filter_new(s, 1, 1, 0, &st));
	ck_assert_int_eq(fx_pt_plan_segments(1, 1, 100000), 0);
	ck_assert_int_eq(fx_pt_plan_segments(1, 2, 100000), 2 * FX_PT_LANES);
	ck_assert_int_eq(fx_pt_plan_segments(64, 2, 100000), 1);
	ck_assert_int_eq(fx_pt_plan_segments(1, 2, 3 * FX_PT_MIN_SEGMENT), 3);
	ck_assert_int_eq(fx_pt_pool_threads(pools[3]), 3);
	fx_pt_pool_free(NULL);
	fx_pt_filter_free(NULL);
	/* zero sections: the identity */
	FxPtFilter *f = fx_pt_filter_new(NULL, 0, 1, 10, &st);
	ck_assert_ptr_nonnull(f);
	float x[10] = {1, 2, 3};
	float *p[1] = {x};
	fx_pt_filter_process(f, pools[2], p, 10);
	ck_assert(x[0] == 1 && x[1] == 2 && x[2] == 3);
	fx_pt_filter_free(f);
	/* a block over max_frames goes in pieces: same as one call */
	f = make(&filters[0], 1, 1);
	FxPtFilter *g = fx_pt_filter_new((const FxSection *)filters[0].sos,
	                                 filters[0].nsec, 1, 1000, &st);
	fx_pt_filter_set_threshold(g, 1);
	static float a[5000], b[5000];
	for (int i = 0; i < 5000; i++)
		a[i] = b[i] = input[i];
	float *pa[1] = {a}, *pb[1] = {b};
	fx_pt_filter_process(g, pools[2], pa, 5000);
	for (int i = 0; i < 5000; i += 1000)
		fx_pt_filter_process(f, pools[2], (float *const[]){b + i}, 1000);
	ck_assert(!memcmp(a, b, sizeof a));
	(void)pb;
	fx_pt_filter_free(f);
	fx_pt_filter_free(g);
}
END_TEST

/* process allocates nothing (a net check through mallinfo2). */
START_TEST(no_allocation_in_process)
{
	FxPtFilter *f = make(&filters[0], 3, 1);
	fill_f32(REF_FRAMES, 3);
	fx_pt_filter_process(f, pools[4], fbuf, REF_FRAMES); // warm up
#ifdef __GLIBC__
	struct mallinfo2 before = mallinfo2();
#endif
	for (int round = 0; round < 10; round++) {
		fill_f32(REF_FRAMES, 3);
		fx_pt_filter_process(f, pools[round % 4 + 1], fbuf,
		                     REF_FRAMES - round * 999);
		fill_f64(REF_FRAMES, 3);
		fx_pt_filter_process_f64(f, pools[round % 4 + 1], dbuf,
		                         REF_FRAMES - round * 777);
	}
#ifdef __GLIBC__
	struct mallinfo2 after = mallinfo2();
	ck_assert_uint_eq(after.uordblks, before.uordblks);
	ck_assert_uint_eq(after.hblkhd, before.hblkhd);
#endif
	fx_pt_filter_free(f);
}
END_TEST

/* Threads do not survive Check's fork, so each test gets its own pools. */
static void pools_up(void)
{
	for (int t = 1; t <= MAX_THREADS; t++) {
		FxStatus st;
		pools[t] = fx_pt_pool_new(t, &st);
		ck_assert_msg(pools[t], "pool: %s", fx_strerror(st));
	}
}

static void pools_down(void)
{
	for (int t = 1; t <= MAX_THREADS; t++) {
		fx_pt_pool_free(pools[t]);
		pools[t] = NULL;
	}
}

static Suite *ptime_suite(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"math", 0, .tests = {
			{transition_by_squaring, N_FILTERS},
			{three_steps_equal_recursion, N_FILTERS},
			{lanes_match_one_stream, N_FILTERS},
			{fixup_stops_early, N_FILTERS},
		}},
		{"driver", 120, .setup = pools_up, .teardown = pools_down, .tests = {
			{f32_within_twice_sequential, N_CASES},
			{f64_within_1e_10, N_CASES},
			{state_carries_across_calls, N_CASES},
			{deterministic_and_reset, N_CASES},
			{long_block_in_chunks, 2 * N_FILTERS},
			{default_switch_over, 2 * N_FILTERS},
			{api_validates, 0},
			{no_allocation_in_process, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_suite("ptime", cases);
}

int main(void)
{
	const char *v = getenv("FX_TEST_VERBOSE");
	verbose = v && *v && strcmp(v, "0");
	fx_denormals_off(); // as the pool's workers
	for (int i = 0; i < N_FILTERS; i++) {
		char name[96];
		if (load_filter(&filters[i], filter_names[i])) {
			fprintf(stderr, "test_ptime: %s not in %ssignals.txt\n",
			        filter_names[i], DATA);
			return EXIT_FAILURE;
		}
		snprintf(name, sizeof name, "%s.out.f64", filter_names[i]);
		filters[i].ref = load_le(name, 8, REF_FRAMES);
	}
	input = load_le("signal.in.f32", 4, REF_FRAMES);
	for (int c = 0; c < MAX_CH; c++) {
		fbuf[c] = malloc(sizeof(float) * REF_FRAMES);
		dbuf[c] = malloc(sizeof(double) * REF_FRAMES);
		dref[c] = malloc(sizeof(double) * REF_FRAMES);
	}
	return fx_test_run(ptime_suite());
}

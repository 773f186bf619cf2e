/* SPDX-License-Identifier: ISC */
/* The CUDA path on a real device: plans on random and designed filters
 * against the CPU (clients/file/ptime_run.h, and the dsp/ptime.h recursion where
 * coefficients change mid-stream), both kernels, both sample types,
 * chunked and partial calls, glides without re-capture, structure changes,
 * reset. Without a device (or in a build without CUDA) it checks that
 * fx_accel_new refuses cleanly and skips, saying why.
 *
 * Bounds, as the CPU driver's (tests/unit/test_ptime.c): float64 within 1e-10
 * relative RMS of the float64 sequential CPU path; float32 no worse than
 * twice the CPU's sequential float32 error against that same reference. */
#include "tests/fxtest.h"
#include "tests/unit/random_sos.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cuda/accel.h"
#include "dsp/design.h"
#include "dsp/ptime.h"
#include "clients/file/ptime_run.h"

enum { MAX_CH = 5 };

static FxAccel *acc;

static uint32_t rng = 88172645u;

static double urand(void) /* [0, 1) */
{
	return fx_test_urand(&rng);
}

/* A filter: random, or designed (the hard cases of tests/unit/test_ptime.c). */
static int filter(int which, FxSection *sec)
{
	int n = 0;
	switch (which) {
	case 0:
		ck_assert_int_eq(fx_design_butter(FX_BUTTER_HIGHPASS, 4, 20, 0,
		                                  96000, sec, &n),
		                 FX_OK);
		return n;
	case 1:
		ck_assert_int_eq(fx_design_butter(FX_BUTTER_LOWPASS, 10, 1000,
		                                  0, 48000, sec, &n),
		                 FX_OK);
		return n;
	case 2:
		ck_assert_int_eq(fx_design_butter(FX_BUTTER_BANDPASS, 16, 300,
		                                  3400, 44100, sec, &n),
		                 FX_OK);
		return n;
	default:
		n = 1 + (int)(urand() * FX_ACCEL_MAX_SECTIONS);
		fx_test_random_sections(&rng, sec, n, 0.999);
		return n;
	}
}

typedef struct {
	int channels;
	long frames;
	float *f[MAX_CH], *fref[MAX_CH];  ///< float: plan, CPU sequential
	double *d[MAX_CH], *dref[MAX_CH]; ///< double: plan, CPU reference
} Bufs;

static void bufs_new(Bufs *b, int channels, long frames)
{
	memset(b, 0, sizeof *b);
	b->channels = channels;
	b->frames = frames;
	for (int c = 0; c < channels; c++) {
		b->f[c] = malloc(sizeof(float) * (size_t)frames);
		b->fref[c] = malloc(sizeof(float) * (size_t)frames);
		b->d[c] = malloc(sizeof(double) * (size_t)frames);
		b->dref[c] = malloc(sizeof(double) * (size_t)frames);
		ck_assert(b->f[c] && b->fref[c] && b->d[c] && b->dref[c]);
		for (long t = 0; t < frames; t++) {
			float v = (float)(urand() < 0.01 ? 4 * (urand() - 0.5)
			                                 : urand() - 0.5);
			b->f[c][t] = b->fref[c][t] = v;
			b->d[c][t] = b->dref[c][t] = v;
		}
	}
}

static void bufs_free(Bufs *b)
{
	for (int c = 0; c < b->channels; c++) {
		free(b->f[c]);
		free(b->fref[c]);
		free(b->d[c]);
		free(b->dref[c]);
	}
}

static double rel_rms_f(const float *x, const double *ref, long n)
{
	double e = 0, r = 0;
	for (long i = 0; i < n; i++) {
		e += (x[i] - ref[i]) * (x[i] - ref[i]);
		r += ref[i] * ref[i];
	}
	return r > 0 ? sqrt(e / r) : sqrt(e);
}

static double rel_rms_d(const double *x, const double *ref, long n)
{
	double e = 0, r = 0;
	for (long i = 0; i < n; i++) {
		e += (x[i] - ref[i]) * (x[i] - ref[i]);
		r += ref[i] * ref[i];
	}
	return r > 0 ? sqrt(e / r) : sqrt(e);
}

static FxAccelPlan *plan_new(const FxSection *sec, int n, int channels,
                             long chunk, FxAccelDtype dtype, long threshold)
{
	FxStatus st;
	FxAccelPlan *p = fx_accel_plan_new(acc, sec, n, channels, chunk, dtype,
	                                   threshold, &st);
	ck_assert_msg(p, "fx_accel_plan_new: %s: %s", fx_strerror(st),
	              fx_accel_error(acc));
	return p;
}

/* Forwards [0, frames) in calls of random length (up to 3 chunks). */
static void forward_f32(FxAccelPlan *p, float **x, int channels, long frames,
                        long chunk)
{
	for (long off = 0; off < frames;) {
		long n = 1 + (long)(urand() * 3 * (double)chunk);
		n = n < frames - off ? n : frames - off;
		float *part[MAX_CH];
		for (int c = 0; c < channels; c++)
			part[c] = x[c] + off;
		FxStatus st = fx_accel_plan_forward(p, part, n);
		ck_assert_msg(st == FX_OK, "forward: %s", fx_accel_error(acc));
		off += n;
	}
}

static void forward_f64(FxAccelPlan *p, double **x, int channels, long frames,
                        long chunk)
{
	for (long off = 0; off < frames;) {
		long n = 1 + (long)(urand() * 3 * (double)chunk);
		n = n < frames - off ? n : frames - off;
		double *part[MAX_CH];
		for (int c = 0; c < channels; c++)
			part[c] = x[c] + off;
		FxStatus st = fx_accel_plan_forward_f64(p, part, n);
		ck_assert_msg(st == FX_OK, "forward_f64: %s",
		              fx_accel_error(acc));
		off += n;
	}
}

static const long thresholds[] = {1L << 30, 0, FX_ACCEL_SCAN_DEFAULT};
static const char *const path_names[] = {"sequential", "scan", "default"};

/* _i: filter (0..5) x path (3) x chunk (3). */
START_TEST(test_against_cpu)
{
	const long chunks[] = {256, 4096, 65536};
	const int which = _i / 9, path = _i / 3 % 3;
	const long chunk = chunks[_i % 3];
	const int channels = 1 + _i % MAX_CH;
	FxSection sec[FX_ACCEL_MAX_SECTIONS];
	const int n = filter(which, sec);
	Bufs b;
	bufs_new(&b, channels, 3 * chunk + 777);

	FxStatus st;
	FxPtFilter *cpu = fx_pt_filter_new(sec, n, channels, b.frames, &st);
	ck_assert_msg(cpu, "fx_pt_filter_new: %s", fx_strerror(st));
	fx_pt_filter_process_f64(cpu, NULL, b.dref, b.frames);
	fx_pt_filter_reset(cpu);
	fx_pt_filter_process(cpu, NULL, b.fref, b.frames);
	fx_pt_filter_free(cpu);

	FxAccelPlan *p32 = plan_new(sec, n, channels, chunk, FX_ACCEL_F32,
	                            thresholds[path]);
	FxAccelPlan *p64 = plan_new(sec, n, channels, chunk, FX_ACCEL_F64,
	                            thresholds[path]);
	forward_f32(p32, b.f, channels, b.frames, chunk);
	forward_f64(p64, b.d, channels, b.frames, chunk);
	for (int c = 0; c < channels; c++) {
		double e64 = rel_rms_d(b.d[c], b.dref[c], b.frames);
		double e32 = rel_rms_f(b.f[c], b.dref[c], b.frames);
		double s32 = rel_rms_f(b.fref[c], b.dref[c], b.frames);
		if (getenv("FX_TEST_VERBOSE"))
			fprintf(stderr,
			        "filter %d (%d sections) %s chunk %ld ch %d: "
			        "f64 %.3g, f32 %.3g (CPU f32 %.3g)\n",
			        which, n, path_names[path], chunk, c, e64, e32,
			        s32);
		ck_assert_msg(e64 <= 1e-10, "filter %d %s chunk %ld: f64 %g",
		              which, path_names[path], chunk, e64);
		ck_assert_msg(e32 <= 2 * s32 + 1e-12,
		              "filter %d %s chunk %ld: "
		              "f32 %g, CPU %g",
		              which, path_names[path], chunk, e32, s32);
	}
	FxAccelPlanInfo info;
	fx_accel_plan_info(p32, &info);
	ck_assert_int_eq(info.captures, 1);
	ck_assert_int_eq(info.scan, path == 1 || (path == 2 && chunk >= 2048));
	fx_accel_plan_free(p32);
	fx_accel_plan_free(p64);
	bufs_free(&b);
}
END_TEST

/* The ptime.h recursion, sequential, in double: the reference where
 * coefficients change mid-stream (fx_pt_filter has no set_coeffs). */
typedef struct {
	FxPtCoef q;
	double z[MAX_CH][FX_PT_MAX_STATE];
} Ref;

static void ref_set(Ref *r, const FxSection *sec, int n)
{
	int keep = 2 * (n < r->q.n ? n : r->q.n);
	for (int c = 0; c < MAX_CH; c++)
		for (int i = keep; i < FX_PT_MAX_STATE; i++)
			r->z[c][i] = 0;
	fx_pt_coef_init(&r->q, sec, n);
}

/* _i: dtype (2) x path (2). Per chunk: a glide, now and then a structure
 * change or a reset. */
START_TEST(test_glide_structure_reset)
{
	const FxAccelDtype dtype = _i & 1 ? FX_ACCEL_F64 : FX_ACCEL_F32;
	const long chunk = 3000, threshold = _i & 2 ? 0 : 1L << 30;
	const int channels = 2, rounds = 40;
	FxSection sec[FX_ACCEL_MAX_SECTIONS];
	int n = 6;
	fx_test_random_sections(&rng, sec, n, 0.995);
	FxAccelPlan *p = plan_new(sec, n, channels, chunk, dtype, threshold);
	Ref ref = {0};
	ref_set(&ref, sec, n);
	long captures = 1, uploads = 1, resets = 0;
	double worst = 0;
	static float xf[MAX_CH][3000];
	static double xd[MAX_CH][3000], in[MAX_CH][3000];
	for (int r = 0; r < rounds; r++) {
		double u = urand();
		if (r > 0 && u < 0.1) {
			ck_assert_int_eq(fx_accel_plan_reset_state(p), FX_OK);
			memset(ref.z, 0, sizeof ref.z);
			resets++;
		} else if (r > 0) {
			if (u < 0.25) {
				int m = 1 + (int)(urand() * 10);
				captures += m != n;
				resets += m != n;
				n = m;
			}
			fx_test_random_sections(&rng, sec, n, 0.995);
			ck_assert_int_eq(fx_accel_plan_set_coeffs(p, sec, n),
			                 FX_OK);
			ref_set(&ref, sec, n);
			uploads++;
		}
		float *pf[MAX_CH];
		double *pd[MAX_CH];
		double peak = 1e-30, err = 0;
		for (int c = 0; c < channels; c++) {
			pf[c] = xf[c];
			pd[c] = xd[c];
			for (long t = 0; t < chunk; t++) {
				xf[c][t] = (float)(urand() - 0.5);
				xd[c][t] = in[c][t] = xf[c][t];
			}
		}
		if (dtype == FX_ACCEL_F32)
			ck_assert_int_eq(fx_accel_plan_forward(p, pf, chunk),
			                 FX_OK);
		else
			ck_assert_int_eq(fx_accel_plan_forward_f64(p, pd, chunk),
			                 FX_OK);
		for (int c = 0; c < channels; c++)
			for (long t = 0; t < chunk; t++) {
				double want = fx_pt_tick(&ref.q, ref.z[c],
				                         in[c][t]);
				double got = dtype == FX_ACCEL_F32 ? xf[c][t]
				                                   : xd[c][t];
				peak = fmax(peak, fabs(want));
				err = fmax(err, fabs(got - want));
			}
		worst = fmax(worst, err / peak);
	}
	ck_assert_msg(worst <= (dtype == FX_ACCEL_F32 ? 1e-6 : 1e-11), "%g",
	              worst);
	FxAccelPlanInfo info;
	fx_accel_plan_info(p, &info);
	/* Glides never capture again; structure changes do. */
	ck_assert_int_eq(info.captures, captures);
	ck_assert_int_eq(info.uploads, uploads);
	ck_assert_int_eq(info.resets, resets);
	ck_assert_int_eq(info.replays, rounds);
	fx_accel_plan_free(p);
}
END_TEST

START_TEST(test_reset_gives_fresh_output)
{
	FxSection sec[8];
	fx_test_random_sections(&rng, sec, 8, 0.999);
	const long chunk = 8192, frames = 20000;
	FxAccelPlan *p = plan_new(sec, 8, 1, chunk, FX_ACCEL_F32, -1);
	float *x = malloc(sizeof(float) * frames),
	      *y = malloc(sizeof(float) * frames);
	for (long t = 0; t < frames; t++)
		x[t] = y[t] = (float)(urand() - 0.5);
	float *px[1] = {x}, *py[1] = {y};
	ck_assert_int_eq(fx_accel_plan_forward(p, px, frames), FX_OK);
	ck_assert_int_eq(fx_accel_plan_reset_state(p), FX_OK);
	for (long t = 0; t < frames; t++)
		x[t] = y[t];
	FxAccelPlan *q = plan_new(sec, 8, 1, chunk, FX_ACCEL_F32, -1);
	ck_assert_int_eq(fx_accel_plan_forward(p, px, frames), FX_OK);
	ck_assert_int_eq(fx_accel_plan_forward(q, py, frames), FX_OK);
	ck_assert_mem_eq(x, y, sizeof(float) * frames); /* deterministic */
	fx_accel_plan_free(p);
	fx_accel_plan_free(q);
	free(x);
	free(y);
}
END_TEST

START_TEST(test_refusals)
{
	FxSection sec[2];
	fx_test_random_sections(&rng, sec, 2, 0.9);
	FxStatus st;
	ck_assert_ptr_null(
		fx_accel_plan_new(acc, sec, 2, 2, 4096, FX_ACCEL_F16, -1, &st));
	ck_assert_int_eq(st, FX_ERR_INVALID);
	ck_assert_msg(strstr(fx_accel_error(acc), "float16 samples are not "
	                                          "supported"),
	              "%s", fx_accel_error(acc));
	ck_assert_ptr_null(fx_accel_plan_new(acc, sec, 2, 2, 4096,
	                                     FX_ACCEL_BF16, -1, &st));
	ck_assert_int_eq(st, FX_ERR_INVALID);
	ck_assert_ptr_null(fx_accel_plan_new(acc, sec, 17, 2, 4096,
	                                     FX_ACCEL_F32, -1, &st));
	ck_assert_int_eq(st, FX_ERR_RANGE);
	FxAccelPlan *p = plan_new(sec, 2, 2, 4096, FX_ACCEL_F32, -1);
	double d[2][16], *pd[2] = {d[0], d[1]};
	ck_assert_int_eq(fx_accel_plan_forward_f64(p, pd, 16), FX_ERR_INVALID);
	ck_assert_msg(strstr(fx_accel_error(acc), "float32"), "%s",
	              fx_accel_error(acc));
	ck_assert_int_eq(fx_accel_plan_forward(p, NULL, 0), FX_OK);
	fx_accel_plan_free(p);
	fx_accel_plan_free(NULL);
}
END_TEST

static Suite *suite(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"device", 120, .tests = {
			{test_against_cpu, 6 * 9},
			{test_glide_structure_reset, 4},
			{test_reset_gives_fresh_output, 0},
			{test_refusals, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_suite("accel_device", cases);
}

int main(void)
{
	char why[256];
	if (!fx_accel_available(why, sizeof why)) {
		/* Refusing must be clean: NULL, the status, the same reason. */
		char err[256] = "";
		FxStatus st = FX_OK;
		if (fx_accel_new(NULL, &st, err, sizeof err) ||
		    st != FX_ACCEL_ERR_UNSUPPORTED || strcmp(err, why)) {
			printf("Bail out! fx_accel_new without a device: status %d, "
			       "\"%s\" (fx_accel_available: \"%s\")\n",
			       (int)st, err, why);
			return EXIT_FAILURE;
		}
		printf("1..0 # SKIP %s\n", why);
		return EXIT_SUCCESS;
	}
	FxStatus st;
	char err[256];
	acc = fx_accel_new(NULL, &st, err, sizeof err);
	if (!acc) {
		printf("Bail out! fx_accel_new: %s\n", err);
		return EXIT_FAILURE;
	}
	fprintf(stderr, "# device: %s\n", fx_accel_device_name(acc));
	/* No fork: a child may not use the CUDA driver its parent set up. */
	int status = fx_test_run_forking(suite(), CK_NOFORK);
	fx_accel_free(acc);
	return status;
}

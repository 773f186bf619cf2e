/* SPDX-License-Identifier: ISC */
/* The host side of the CUDA path without a device: cuda/plan.c driven
 * through fake FxPlanOps that log every op and emulate the device. The
 * emulation runs the kernels' own per-thread functions (cuda/accel_math.h)
 * in kernel order over a malloc'd "device block", so chunking, tiling, the
 * scan, the carried state, coefficient glides and structure changes are
 * checked against a plain sequential cascade. */
#include "tests/fxtest.h"
#include "tests/unit/random_sos.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dsp/design.h"
#include "cuda/plan.h"

enum { MAX_CH = 4, LOG_SIZE = 1024 };

/* ---- the fake device ------------------------------------------------ */

typedef struct {
	FxPlan p;
	unsigned char *dev, *host;
	char log[LOG_SIZE]; ///< ops, space separated
	size_t pending;     ///< bytes of an upload not yet done (0: none)
	uint64_t pending_sum;
	int violations;   ///< image changed in flight, replay of a stale graph
	int fail_capture; ///< fail the next capture
	int graph_nsec;   ///< sections of the "captured" graph; -1: none
} Fake;

static void note(Fake *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(Fake *f, const char *fmt, ...)
{
	size_t len = strlen(f->log);
	if (len && len < sizeof f->log - 1)
		f->log[len++] = ' ';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->log + len, sizeof f->log - len, fmt, ap);
	va_end(ap);
}

static uint64_t checksum(const unsigned char *b, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static Fake *fake_of(FxPlan *p)
{
	return p->dev;
}

/* The stream runs what was queued: the pending upload copies the image as
 * it is now, which must be as it was when the upload was queued. */
static void drain(Fake *f)
{
	const FxPlanLayout *lay = &f->p.lay;
	if (!f->pending)
		return;
	if (checksum(f->host + lay->host_coef, f->pending) != f->pending_sum)
		f->violations++;
	memcpy(f->dev + lay->dev_coef, f->host + lay->host_coef, f->pending);
	f->pending = 0;
}

static FxStatus fk_zero_state(FxPlan *p, int first)
{
	Fake *f = fake_of(p);
	note(f, "zero(%d)", first);
	drain(f);
	double *s = (double *)(void *)(f->dev + p->lay.dev_state);
	for (int c = 0; c < p->lay.channels; c++)
		for (int i = first; i < FX_ACC_M; i++)
			s[c * FX_ACC_M + i] = 0;
	return FX_OK;
}

static FxStatus fk_wait_upload(FxPlan *p)
{
	Fake *f = fake_of(p);
	note(f, "wait_upload");
	drain(f);
	return FX_OK;
}

static FxStatus fk_upload(FxPlan *p, size_t bytes)
{
	Fake *f = fake_of(p);
	note(f, "upload");
	ck_assert_uint_le(bytes, p->lay.coef_bytes);
	if (f->pending) /* two in flight from one image: the first is stale */
		f->violations++;
	f->pending = bytes;
	f->pending_sum = checksum(f->host + p->lay.host_coef, bytes);
	return FX_OK;
}

static FxStatus fk_capture(FxPlan *p, int nsec)
{
	Fake *f = fake_of(p);
	note(f, "capture(%d)", nsec);
	if (f->fail_capture) {
		f->fail_capture = 0;
		f->graph_nsec = -1;
		return fx_plan_fail(p, FX_ERR_IO, "capture: injected failure");
	}
	f->graph_nsec = nsec;
	return FX_OK;
}

#define EMULATE(SUF, T, TOL)                                                      \
	static void emulate_##SUF(Fake *f, int nsec)                              \
	{                                                                         \
		const FxPlanLayout *lay = &f->p.lay;                              \
		const FxAccGeom *g = &lay->geom;                                  \
		unsigned char *d = f->dev;                                        \
		const FxPtCoef *q = (const FxPtCoef *)(void *)(d +                \
		                                               lay->dev_coef);    \
		const long frames =                                               \
			((FxAccParams *)(void *)(d + lay->dev_params))->frames;   \
		T *io = (T *)(void *)(d + lay->dev_io);                           \
		double *state = (double *)(void *)(d + lay->dev_state);           \
		if (!lay->scan) {                                                 \
			for (int c = 0; c < g->channels; c++)                     \
				fx_acc_seq_##SUF(q, nsec, io + c * g->stride,     \
				                 frames, state + c * FX_ACC_M);   \
			return;                                                   \
		}                                                                 \
		double *zs = lay->zs_bytes                                        \
		                     ? (double *)(void *)(d + lay->dev_zs)        \
		                     : (double *)(void *)io;                      \
		double *agg = (double *)(void *)(d + lay->dev_agg);               \
		double *pre = (double *)(void *)(d + lay->dev_pre);               \
		const int m = 2 * q->n;                                           \
		const double *Tm = fx_acc_mat(q, m, 0, 0);                        \
		const double *Tl = fx_acc_mat(q, m, 0, 1);                        \
		for (int c = 0; c < g->channels; c++)                             \
			for (int k = 0; k < g->tiles; k++)                        \
				fx_acc_tile_##SUF(q, g, frames, io, zs, state,    \
				                  agg, c, k);                     \
		static double ph[FX_ACC_SCAN_THREADS][FX_ACC_M];                  \
		static double pl[FX_ACC_SCAN_THREADS][FX_ACC_M];                  \
		static double th[FX_ACC_SCAN_THREADS][FX_ACC_M];                  \
		static double tl[FX_ACC_SCAN_THREADS][FX_ACC_M];                  \
		for (int c = 0; c < g->channels; c++) {                           \
			for (int j = 0; j < g->scan_threads; j++)                 \
				fx_acc_scan_reduce(m, Tm, Tl, g, agg, c, j,       \
				                   ph[j], pl[j]);                 \
			/* Kogge-Stone: all reads of a step before its writes. */ \
			for (int s = 0; s < g->npow; s++) {                       \
				const int dd = 1 << s;                            \
				for (int j = dd; j < g->scan_threads; j++)        \
					fx_acc_scan_term(                         \
						m, fx_acc_mat(q, m, 1 + s, 0),    \
						fx_acc_mat(q, m, 1 + s, 1),       \
						ph[j - dd], pl[j - dd], th[j],    \
						tl[j]);                           \
				for (int j = dd; j < g->scan_threads; j++)        \
					fx_acc_dd_add(m, ph[j], pl[j], th[j],     \
					              tl[j]);                     \
			}                                                         \
			for (int j = 0; j < g->scan_threads; j++)                 \
				fx_acc_scan_down(m, Tm, Tl, g, agg, pre, c, j,    \
				                 j ? ph[j - 1] : NULL,            \
				                 j ? pl[j - 1] : NULL);           \
		}                                                                 \
		for (int c = 0; c < g->channels; c++)                             \
			for (int k = 0; k < g->tiles; k++)                        \
				fx_acc_fixup_##SUF(q, g, frames, zs, io, agg,     \
				                   pre, state, c, k, TOL);        \
	}

EMULATE(f32, float, FX_PT_TOL_F32)
EMULATE(f64, double, FX_PT_TOL_F64)

static FxStatus fk_replay(FxPlan *p)
{
	Fake *f = fake_of(p);
	const FxPlanLayout *lay = &p->lay;
	note(f, "replay");
	drain(f);
	if (f->graph_nsec < 0 ||
	    ((const FxPtCoef *)(void *)(f->dev + lay->dev_coef))->n !=
	            f->graph_nsec)
		f->violations++;
	memcpy(f->dev + lay->dev_params, f->host + lay->host_params,
	       lay->params_bytes);
	memcpy(f->dev + lay->dev_io, f->host + lay->host_io, lay->io_bytes);
	if (lay->dtype == FX_ACCEL_F32)
		emulate_f32(f, f->graph_nsec);
	else
		emulate_f64(f, f->graph_nsec);
	memcpy(f->host + lay->host_io, f->dev + lay->dev_io, lay->io_bytes);
	return FX_OK;
}

static FxStatus fk_wait(FxPlan *p)
{
	Fake *f = fake_of(p);
	note(f, "wait");
	drain(f);
	return FX_OK;
}

static const FxPlanOps fake_ops = {
	fk_zero_state, fk_wait_upload, fk_upload,
	fk_capture,    fk_replay,      fk_wait,
};

static Fake *fake_new(const FxSection *sec, int nsec, int channels, long chunk,
                      FxAccelDtype dtype, long threshold)
{
	Fake *f = calloc(1, sizeof *f);
	ck_assert_ptr_nonnull(f);
	FxPlanLayout lay;
	char err[FX_PLAN_ERR_SIZE];
	FxStatus st = fx_plan_layout(&lay, channels, chunk, dtype, threshold,
	                             err, sizeof err);
	ck_assert_msg(st == FX_OK, "fx_plan_layout: %s", err);
	f->dev = calloc(1, lay.dev_bytes);
	f->host = calloc(1, lay.host_bytes);
	ck_assert(f->dev && f->host);
	f->graph_nsec = -1;
	st = fx_plan_start(&f->p, &lay, &fake_ops, f, f->host, sec, nsec);
	ck_assert_msg(st == FX_OK, "fx_plan_start: %s", f->p.err);
	return f;
}

static void fake_free(Fake *f)
{
	ck_assert_int_eq(f->violations, 0);
	free(f->dev);
	free(f->host);
	free(f);
}

/* ---- a plain sequential reference ---------------------------------- */

typedef struct {
	FxPtCoef q;
	double z[MAX_CH][FX_ACC_M];
} Ref;

static void ref_set(Ref *r, const FxSection *sec, int nsec)
{
	int keep = 2 * (nsec < r->q.n ? nsec : r->q.n);
	for (int c = 0; c < MAX_CH; c++)
		for (int i = keep; i < FX_ACC_M; i++)
			r->z[c][i] = 0;
	ck_assert_int_eq(fx_pt_coef_init(&r->q, sec, nsec), 0);
}

static void ref_run(Ref *r, void *const *buf, int channels, long frames,
                    FxAccelDtype dtype)
{
	for (int c = 0; c < channels; c++)
		for (long t = 0; t < frames; t++) {
			if (dtype == FX_ACCEL_F32) {
				float *x = buf[c];
				x[t] = (float)fx_pt_tick(&r->q, r->z[c], x[t]);
			} else {
				double *x = buf[c];
				x[t] = fx_pt_tick(&r->q, r->z[c], x[t]);
			}
		}
}

static uint32_t rng = 2463534242u;

static double urand(void) /* [0, 1) */
{
	return fx_test_urand(&rng);
}

/* Random signals x (what the plan filters) and a copy y (the reference). */
typedef struct {
	int channels;
	long frames;
	FxAccelDtype dtype;
	void *x[MAX_CH], *y[MAX_CH];
} Signal;

static void signal_new(Signal *s, int channels, long frames, FxAccelDtype dtype)
{
	size_t ss = dtype == FX_ACCEL_F32 ? sizeof(float) : sizeof(double);
	s->channels = channels;
	s->frames = frames;
	s->dtype = dtype;
	for (int c = 0; c < channels; c++) {
		s->x[c] = malloc((size_t)frames * ss);
		s->y[c] = malloc((size_t)frames * ss);
		ck_assert(s->x[c] && s->y[c]);
		for (long t = 0; t < frames; t++) {
			double v = urand() < 0.01 ? 4 * (urand() - 0.5)
			                          : urand() - 0.5;
			if (dtype == FX_ACCEL_F32)
				((float *)s->x[c])[t] = (float)v;
			else
				((double *)s->x[c])[t] = v;
		}
		memcpy(s->y[c], s->x[c], (size_t)frames * ss);
	}
}

static void signal_free(Signal *s)
{
	for (int c = 0; c < s->channels; c++) {
		free(s->x[c]);
		free(s->y[c]);
	}
}

static double at(const Signal *s, void *const *b, int c, long t)
{
	return s->dtype == FX_ACCEL_F32 ? ((float *)b[c])[t]
	                                : ((double *)b[c])[t];
}

/* Plan output x against reference y over [from, to): max error relative to
 * the reference's peak. */
static double rel_error(const Signal *s, long from, long to)
{
	double peak = 1e-30, err = 0;
	for (int c = 0; c < s->channels; c++)
		for (long t = from; t < to; t++) {
			double r = at(s, s->y, c, t),
			       d = fabs(at(s, s->x, c, t) - r);
			peak = fabs(r) > peak ? fabs(r) : peak;
			err = d > err ? d : err;
		}
	return err / peak;
}

static double tolerance(FxAccelDtype dtype)
{
	return dtype == FX_ACCEL_F32 ? 1e-6 : 1e-11;
}

/* Forwards [from, to) of s through f and the reference, in calls of random
 * lengths up to 3 chunks. */
static void run_both(Fake *f, Ref *r, Signal *s, long from, long to)
{
	size_t ss = s->dtype == FX_ACCEL_F32 ? sizeof(float) : sizeof(double);
	for (long off = from; off < to;) {
		long n = 1 + (long)(urand() * 3 * (double)f->p.lay.chunk);
		n = n < to - off ? n : to - off;
		void *px[MAX_CH], *py[MAX_CH];
		for (int c = 0; c < s->channels; c++) {
			px[c] = (unsigned char *)s->x[c] + (size_t)off * ss;
			py[c] = (unsigned char *)s->y[c] + (size_t)off * ss;
		}
		FxStatus st = fx_plan_forward(&f->p, px, n);
		ck_assert_msg(st == FX_OK, "forward: %s", f->p.err);
		ref_run(r, py, s->channels, n, s->dtype);
		off += n;
	}
}

/* ---- thresholds and sizes ------------------------------------------ */

static FxPlanLayout layout(int channels, long chunk, FxAccelDtype dtype,
                           long threshold)
{
	FxPlanLayout lay;
	char err[FX_PLAN_ERR_SIZE];
	FxStatus st = fx_plan_layout(&lay, channels, chunk, dtype, threshold,
	                             err, sizeof err);
	ck_assert_msg(st == FX_OK, "%s", err);
	return lay;
}

START_TEST(test_threshold_defaults)
{
	ck_assert_int_eq(fx_plan_default_threshold(FX_ACCEL_F32), 2048);
	ck_assert_int_eq(fx_plan_default_threshold(FX_ACCEL_F64), 1024);
	ck_assert_int_eq(fx_plan_default_threshold(FX_ACCEL_F16), -1);
	const long d = FX_ACCEL_SCAN_DEFAULT;
	ck_assert_int_eq(layout(2, 2047, FX_ACCEL_F32, d).scan, 0);
	ck_assert_int_eq(layout(2, 2048, FX_ACCEL_F32, d).scan, 1);
	ck_assert_int_eq(layout(2, 2048, FX_ACCEL_F32, d).threshold, 2048);
	ck_assert_int_eq(layout(2, 1023, FX_ACCEL_F64, d).scan, 0);
	ck_assert_int_eq(layout(2, 1024, FX_ACCEL_F64, d).scan, 1);
	ck_assert_int_eq(layout(2, 1024, FX_ACCEL_F64, d).threshold, 1024);
	ck_assert_int_eq(layout(1, 1 << 20, FX_ACCEL_F32, d).scan, 1);
	ck_assert_int_eq(layout(1, 1, FX_ACCEL_F64, d).scan, 0);
}
END_TEST

START_TEST(test_threshold_override)
{
	ck_assert_int_eq(layout(2, 4095, FX_ACCEL_F32, 4096).scan, 0);
	ck_assert_int_eq(layout(2, 4096, FX_ACCEL_F32, 4096).scan, 1);
	ck_assert_int_eq(layout(2, 4096, FX_ACCEL_F32, 4096).threshold, 4096);
	ck_assert_int_eq(layout(2, 100, FX_ACCEL_F64, 50).scan, 1);
	/* A threshold above any chunk keeps the sequential kernel. */
	ck_assert_int_eq(layout(2, 1 << 24, FX_ACCEL_F32, 1L << 30).scan, 0);
	/* 0 forces the scan, however short the chunk. */
	for (long chunk = 1; chunk <= 4096; chunk *= 4) {
		ck_assert_int_eq(layout(1, chunk, FX_ACCEL_F32, 0).scan, 1);
		ck_assert_int_eq(layout(1, chunk, FX_ACCEL_F64, 0).scan, 1);
	}
}
END_TEST

START_TEST(test_half_precision_refused)
{
	FxPlanLayout lay;
	char err[FX_PLAN_ERR_SIZE];
	ck_assert_int_eq(fx_plan_layout(&lay, 2, 4096, FX_ACCEL_F16, -1, err,
	                                sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_msg(strstr(err, "float16 samples are not supported") &&
	                      strstr(err, "use float32 or float64"),
	              "%s", err);
	ck_assert_int_eq(fx_plan_layout(&lay, 2, 4096, FX_ACCEL_BF16, -1, err,
	                                sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_msg(strstr(err, "bfloat16 samples are not supported"), "%s",
	              err);
	ck_assert_int_eq(fx_plan_layout(&lay, 2, 4096, (FxAccelDtype)9, -1, err,
	                                sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_str_eq(err, "unknown sample type 9");
	/* err may be NULL. */
	ck_assert_int_eq(fx_plan_layout(&lay, 2, 64, FX_ACCEL_F16, -1, NULL, 0),
	                 FX_ERR_INVALID);
}
END_TEST

START_TEST(test_ranges)
{
	FxPlanLayout lay;
	char err[FX_PLAN_ERR_SIZE];
	ck_assert_int_eq(
		fx_plan_layout(&lay, 0, 64, FX_ACCEL_F32, -1, err, sizeof err),
		FX_ERR_RANGE);
	ck_assert_str_eq(err, "a plan takes 1..64 channels, not 0");
	ck_assert_int_eq(
		fx_plan_layout(&lay, 65, 64, FX_ACCEL_F32, -1, err, sizeof err),
		FX_ERR_RANGE);
	ck_assert_int_eq(
		fx_plan_layout(&lay, 1, 0, FX_ACCEL_F32, -1, err, sizeof err),
		FX_ERR_RANGE);
	ck_assert_int_eq(fx_plan_layout(&lay, 1, FX_ACCEL_MAX_CHUNK + 1L,
	                                FX_ACCEL_F32, -1, err, sizeof err),
	                 FX_ERR_RANGE);
	ck_assert_int_eq(fx_plan_layout(&lay, 64, FX_ACCEL_MAX_CHUNK,
	                                FX_ACCEL_F64, -1, err, sizeof err),
	                 FX_OK);

	FxSection sec[FX_ACCEL_MAX_SECTIONS + 1];
	fx_test_random_sections(&rng, sec, FX_ACCEL_MAX_SECTIONS + 1, 0.9);
	ck_assert_int_eq(fx_plan_check_sections(sec, 17, err, sizeof err),
	                 FX_ERR_RANGE);
	ck_assert_str_eq(err, "a plan takes 0..16 sections, not 17");
	ck_assert_int_eq(fx_plan_check_sections(sec, -1, err, sizeof err),
	                 FX_ERR_RANGE);
	ck_assert_int_eq(fx_plan_check_sections(sec, 16, err, sizeof err), FX_OK);
	ck_assert_int_eq(fx_plan_check_sections(NULL, 0, err, sizeof err), FX_OK);
	ck_assert_int_eq(fx_plan_check_sections(NULL, 2, err, sizeof err),
	                 FX_ERR_INVALID);
	sec[2][4] = NAN;
	ck_assert_int_eq(fx_plan_check_sections(sec, 4, err, sizeof err),
	                 FX_ERR_NONFINITE);
	ck_assert_str_eq(err, "section 2: coefficient 4 is not finite");
	sec[2][4] = 0.1;
	sec[1][3] = 0;
	ck_assert_int_eq(fx_plan_check_sections(sec, 4, err, sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_str_eq(err, "section 1: a0 is zero");
}
END_TEST

START_TEST(test_tile_length)
{
	ck_assert_int_eq(fx_plan_tile_for(1), 64);
	ck_assert_int_eq(fx_plan_tile_for(32768), 64);
	ck_assert_int_eq(fx_plan_tile_for(32769), 128);
	ck_assert_int_eq(fx_plan_tile_for(65536), 128);
	ck_assert_int_eq(fx_plan_tile_for(1 << 20), 512);
	ck_assert_int_eq(fx_plan_tile_for(FX_ACCEL_MAX_CHUNK), 2048);
	long prev = 0;
	for (long chunk = 1; chunk <= FX_ACCEL_MAX_CHUNK; chunk = chunk * 3 + 1) {
		long t = fx_plan_tile_for(chunk);
		ck_assert(t >= FX_PLAN_TILE_MIN && t <= FX_PLAN_TILE_MAX);
		ck_assert((t & (t - 1)) == 0);
		ck_assert(t >= prev);
		prev = t;
	}
}
END_TEST

/* Buffers lie in their block, aligned, in order, without overlap. */
static void check_block(const size_t *off, const size_t *bytes, int n,
                        size_t total)
{
	size_t end = 0;
	for (int i = 0; i < n; i++) {
		ck_assert_uint_eq(off[i] % FX_PLAN_ALIGN, 0);
		ck_assert_uint_ge(off[i], end);
		end = off[i] + bytes[i];
	}
	ck_assert_uint_ge(total, end);
	ck_assert_uint_lt(total, end + FX_PLAN_ALIGN);
}

static void check_blocks(const FxPlanLayout *l)
{
	size_t doff[] = {l->dev_io,    l->dev_zs,   l->dev_agg,   l->dev_pre,
	                 l->dev_state, l->dev_coef, l->dev_params};
	size_t dlen[] = {l->io_bytes,    l->zs_bytes,    l->agg_bytes,
	                 l->agg_bytes,   l->state_bytes, l->coef_bytes,
	                 l->params_bytes};
	check_block(doff, dlen, 7, l->dev_bytes);
	size_t hoff[] = {l->host_io, l->host_coef, l->host_params};
	size_t hlen[] = {l->io_bytes, l->coef_bytes, l->params_bytes};
	check_block(hoff, hlen, 3, l->host_bytes);
}

START_TEST(test_buffer_sizes)
{
	const size_t M = FX_ACC_M, D = sizeof(double);
	FxPlanLayout l = layout(2, 65536, FX_ACCEL_F32, -1);
	ck_assert_int_eq(l.scan, 1);
	ck_assert_uint_eq(l.sample_size, 4);
	ck_assert_int_eq(l.geom.stride, 65536);
	ck_assert_int_eq(l.geom.channels, 2);
	ck_assert_int_eq(l.geom.tile, 128);
	ck_assert_int_eq(l.geom.tiles, 512);
	ck_assert_int_eq(l.geom.scan_threads, 64);
	ck_assert_int_eq(l.geom.per_thread, 8);
	ck_assert_int_eq(l.geom.npow, 6);
	ck_assert_int_eq(l.nmat, 7);
	ck_assert_uint_eq(l.io_bytes, 2 * 65536 * 4);
	ck_assert_uint_eq(l.zs_bytes, 2 * 65536 * D);
	ck_assert_uint_eq(l.agg_bytes, 2 * 512 * M * D);
	ck_assert_uint_eq(l.state_bytes, 2 * M * D);
	ck_assert_uint_eq(l.coef_bytes, FX_ACC_MAT_OFFSET + 7 * 2 * M * M * D);
	ck_assert_uint_eq(l.params_bytes, sizeof(FxAccParams));
	check_blocks(&l);

	/* f64 keeps the zero-state output in io. */
	l = layout(3, 65536, FX_ACCEL_F64, -1);
	ck_assert_uint_eq(l.io_bytes, 3 * 65536 * D);
	ck_assert_uint_eq(l.zs_bytes, 0);
	ck_assert_uint_eq(l.agg_bytes, 3 * 512 * M * D);
	check_blocks(&l);

	/* Sequential: no scan buffers, the image is the FxPtCoef alone. */
	l = layout(2, 1024, FX_ACCEL_F32, -1);
	ck_assert_int_eq(l.scan, 0);
	ck_assert_uint_eq(l.io_bytes, 2 * 1024 * 4);
	ck_assert_uint_eq(l.zs_bytes + l.agg_bytes, 0);
	ck_assert_uint_eq(l.state_bytes, 2 * M * D);
	ck_assert_uint_eq(l.coef_bytes, sizeof(FxPtCoef));
	ck_assert_int_eq(l.nmat, 0);
	check_blocks(&l);

	/* A short forced scan: 2 tiles, 2 scan threads, one U. */
	l = layout(1, 100, FX_ACCEL_F32, 0);
	ck_assert_int_eq(l.geom.tile, 64);
	ck_assert_int_eq(l.geom.tiles, 2);
	ck_assert_int_eq(l.geom.scan_threads, 2);
	ck_assert_int_eq(l.geom.per_thread, 1);
	ck_assert_int_eq(l.nmat, 2);
	check_blocks(&l);

	/* The tiles cover the chunk, the scan threads the tiles. */
	for (long chunk = 1; chunk <= FX_ACCEL_MAX_CHUNK; chunk = chunk * 5 + 3) {
		l = layout(1, chunk, FX_ACCEL_F32, 0);
		const FxAccGeom *g = &l.geom;
		ck_assert_int_ge((long)g->tiles * g->tile, chunk);
		ck_assert_int_lt((long)(g->tiles - 1) * g->tile, chunk);
		ck_assert_int_le(g->scan_threads, FX_ACC_SCAN_THREADS);
		ck_assert_int_eq(1 << g->npow, g->scan_threads);
		ck_assert_int_ge(g->scan_threads * g->per_thread, g->tiles);
		ck_assert_int_lt((g->per_thread - 1) * g->scan_threads, g->tiles);
		ck_assert_int_le(l.nmat, FX_PLAN_MAX_MATS);
		check_blocks(&l);
	}
}
END_TEST

/* The image holds the cascade and the powers of A the scan uses. */
START_TEST(test_coef_image)
{
	FxSection sec[5];
	fx_test_random_sections(&rng, sec, 5, 0.9995);
	FxPlanLayout l = layout(1, 20000, FX_ACCEL_F64, 0);
	ck_assert_int_eq(l.geom.tiles, 313);
	ck_assert_int_eq(l.geom.per_thread, 5);
	void *image = calloc(1, l.coef_bytes);
	size_t bytes = fx_plan_coef_image(&l, sec, 5, image);
	enum { m = 10 };
	ck_assert_uint_eq(bytes,
	                  FX_ACC_MAT_OFFSET + 7 * 2 * m * m * sizeof(double));
	FxPtCoef q;
	fx_pt_coef_init(&q, sec, 5);
	const FxPtCoef *iq = image;
	ck_assert_int_eq(iq->n, 5);
	for (int k = 0; k < 5; k++) {
		ck_assert(iq->b0[k] == q.b0[k] && iq->c1[k] == q.c1[k]);
		ck_assert(iq->c2[k] == q.c2[k] && iq->na1[k] == q.na1[k]);
		ck_assert(iq->na2[k] == q.na2[k]);
	}
	/* Each matrix is A^power to double-double accuracy: its rounded part
	 * matches fx_pt_transition's (double-double from A) to an ulp or so,
	 * and T matches the plain recursion too. */
	double want[m * m], want_lo[m * m], direct[m * m];
	double work[4 * m * m];
	for (int j = 0; j < l.nmat; j++) {
		long power = j == 0 ? l.geom.tile
		                    : l.geom.tile * l.geom.per_thread << (j - 1);
		fx_pt_transition(&q, power, want, want_lo, work);
		const double *got = fx_acc_mat(image, m, j, 0);
		const double *got_lo = fx_acc_mat(image, m, j, 1);
		double peak = 0, err = 0, lo = 0;
		for (int i = 0; i < m * m; i++) {
			peak = fmax(peak, fabs(want[i]));
			err = fmax(err, fabs(got[i] - want[i]));
			lo = fmax(lo, fabs(got_lo[i]));
		}
		ck_assert_msg(err <= 4e-16 * peak && lo <= 2.3e-16 * peak,
		              "matrix %d (A^%ld): error %g, rest %g of %g", j,
		              power, err, lo, peak);
	}
	fx_pt_transition_direct(&q, l.geom.tile, direct);
	for (int i = 0; i < m * m; i++)
		ck_assert_double_eq_tol(fx_acc_mat(image, m, 0, 0)[i],
		                        direct[i], 1e-13);
	/* Sequential: the FxPtCoef alone. */
	l = layout(1, 100, FX_ACCEL_F64, -1);
	ck_assert_uint_eq(fx_plan_coef_image(&l, sec, 5, image), sizeof q);
	free(image);
}
END_TEST

/* ---- op order -------------------------------------------------------- */

static void clear_log(Fake *f)
{
	f->log[0] = '\0';
}

static void forward_zeros(Fake *f, long frames)
{
	static double buf[MAX_CH][16384];
	void *b[MAX_CH] = {buf[0], buf[1], buf[2], buf[3]};
	ck_assert_int_le(frames, 16384);
	ck_assert_int_eq(fx_plan_forward(&f->p, b, frames), FX_OK);
}

START_TEST(test_ops_start)
{
	FxSection sec[3];
	fx_test_random_sections(&rng, sec, 3, 0.9);
	Fake *f = fake_new(sec, 3, 2, 4096, FX_ACCEL_F32, -1);
	/* The state is zeroed, the coefficients reach the device, and only
	 * then is the graph that reads them captured. */
	ck_assert_str_eq(f->log, "zero(0) wait_upload upload capture(3)");
	FxAccelPlanInfo info;
	fx_plan_info(&f->p, &info);
	ck_assert_int_eq(info.captures, 1);
	ck_assert_int_eq(info.uploads, 1);
	ck_assert_int_eq(info.replays, 0);
	ck_assert_int_eq(info.resets, 0);
	ck_assert_int_eq(info.scan, 1);
	ck_assert_int_eq(info.tile, 64);
	ck_assert_int_eq(info.tiles, 64);
	ck_assert_uint_eq(info.device_bytes, f->p.lay.dev_bytes);
	ck_assert_uint_eq(info.pinned_bytes, f->p.lay.host_bytes);

	clear_log(f);
	forward_zeros(f, 4096 * 2 + 5);
	ck_assert_str_eq(f->log, "replay wait replay wait replay wait");
	forward_zeros(f, 0);
	ck_assert_str_eq(f->log, "replay wait replay wait replay wait");
	fx_plan_info(&f->p, &info);
	ck_assert_int_eq(info.replays, 3);
	fake_free(f);
}
END_TEST

START_TEST(test_ops_coefficient_change)
{
	FxSection sec[3];
	fx_test_random_sections(&rng, sec, 3, 0.9);
	Fake *f = fake_new(sec, 3, 2, 512, FX_ACCEL_F64, -1);
	for (int i = 0; i < 5; i++) {
		clear_log(f);
		fx_test_random_sections(&rng, sec, 3, 0.9);
		ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 3), FX_OK);
		forward_zeros(f, 512);
		/* Upload, then replay: never a capture for a glide. */
		ck_assert_str_eq(f->log, "wait_upload upload replay wait");
	}
	/* Two changes between chunks: the second waits for the first to have
	 * read the image before rewriting it (the fake checks). */
	clear_log(f);
	ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 3), FX_OK);
	ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 3), FX_OK);
	ck_assert_str_eq(f->log, "wait_upload upload wait_upload upload");
	FxAccelPlanInfo info;
	fx_plan_info(&f->p, &info);
	ck_assert_int_eq(info.captures, 1);
	ck_assert_int_eq(info.uploads, 8);
	fake_free(f);
}
END_TEST

START_TEST(test_ops_structure_change)
{
	FxSection sec[6];
	fx_test_random_sections(&rng, sec, 6, 0.9);
	Fake *f = fake_new(sec, 3, 2, 512, FX_ACCEL_F32, 0);
	clear_log(f);
	ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 5), FX_OK);
	/* Upload, zero the new sections' state, capture again. */
	ck_assert_str_eq(f->log, "wait_upload upload zero(6) capture(5)");
	forward_zeros(f, 100);
	clear_log(f);
	ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 2), FX_OK);
	ck_assert_str_eq(f->log, "wait_upload upload zero(4) capture(2)");
	clear_log(f);
	ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 2), FX_OK);
	ck_assert_str_eq(f->log, "wait_upload upload");
	clear_log(f);
	ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 0), FX_OK);
	ck_assert_str_eq(f->log, "wait_upload upload zero(0) capture(0)");
	FxAccelPlanInfo info;
	fx_plan_info(&f->p, &info);
	ck_assert_int_eq(info.captures, 4);
	ck_assert_int_eq(info.uploads, 5);
	ck_assert_int_eq(info.resets, 3);
	/* A bad cascade changes nothing and queues nothing. */
	clear_log(f);
	sec[0][0] = INFINITY;
	ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 4), FX_ERR_NONFINITE);
	ck_assert_str_eq(f->p.err, "section 0: coefficient 0 is not finite");
	ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 17), FX_ERR_RANGE);
	ck_assert_str_eq(f->log, "");
	fake_free(f);
}
END_TEST

START_TEST(test_ops_reset)
{
	FxSection sec[2];
	fx_test_random_sections(&rng, sec, 2, 0.9);
	Fake *f = fake_new(sec, 2, 1, 256, FX_ACCEL_F32, -1);
	clear_log(f);
	ck_assert_int_eq(fx_plan_reset_state(&f->p), FX_OK);
	/* In place: no upload, no capture. */
	ck_assert_str_eq(f->log, "zero(0)");
	FxAccelPlanInfo info;
	fx_plan_info(&f->p, &info);
	ck_assert_int_eq(info.resets, 1);
	ck_assert_int_eq(info.captures, 1);
	ck_assert_int_eq(info.uploads, 1);
	fake_free(f);
}
END_TEST

START_TEST(test_ops_capture_failure)
{
	FxSection sec[4];
	fx_test_random_sections(&rng, sec, 4, 0.9);
	Fake *f = fake_new(sec, 2, 1, 256, FX_ACCEL_F32, -1);
	f->fail_capture = 1;
	ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 4), FX_ERR_IO);
	ck_assert_str_eq(f->p.err, "capture: injected failure");
	static float buf[256];
	void *b[1] = {buf};
	ck_assert_int_eq(fx_plan_forward(&f->p, b, 256), FX_ERR_INVALID);
	ck_assert_str_eq(f->p.err, "forward: no graph (the last capture failed)");
	/* The same cascade again captures again, and runs. */
	clear_log(f);
	ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, 4), FX_OK);
	ck_assert_str_eq(f->log, "wait_upload upload capture(4)");
	ck_assert_int_eq(fx_plan_forward(&f->p, b, 256), FX_OK);
	ck_assert_int_eq(fx_plan_forward(&f->p, b, -1), FX_ERR_INVALID);
	ck_assert_int_eq(fx_plan_forward(&f->p, NULL, 5), FX_ERR_INVALID);
	fake_free(f);
}
END_TEST

/* ---- the emulated device against the reference ------------------- */

/* One plan over a random signal: glides at random points, maybe a
 * structure change and a reset, all against the reference. */
static void check_stream(int channels, long chunk, FxAccelDtype dtype,
                         long threshold, double rmax, long frames, int changes,
                         int max_sections)
{
	FxSection sec[FX_ACCEL_MAX_SECTIONS];
	int nsec = 1 + (int)(urand() * max_sections);
	fx_test_random_sections(&rng, sec, nsec, rmax);
	Fake *f = fake_new(sec, nsec, channels, chunk, dtype, threshold);
	Ref ref = {0};
	ref_set(&ref, sec, nsec);
	Signal s;
	signal_new(&s, channels, frames, dtype);
	long at_ = 0;
	for (int i = 0; i <= changes; i++) {
		long to = frames * (i + 1) / (changes + 1);
		run_both(f, &ref, &s, at_, to);
		double e = rel_error(&s, at_, to);
		if (getenv("FX_TEST_VERBOSE"))
			fprintf(stderr, "%s %s chunk %ld ch %d part %d: %.3g\n",
			        fx_plan_dtype_name(dtype),
			        f->p.lay.scan ? "scan" : "seq", chunk, channels,
			        i, e);
		ck_assert_msg(e <= tolerance(dtype),
		              "%s %s chunk %ld ch %d part %d: error %g",
		              fx_plan_dtype_name(dtype),
		              f->p.lay.scan ? "scan" : "seq", chunk, channels,
		              i, e);
		at_ = to;
		double u = urand();
		if (u < 0.6) { /* glide */
			fx_test_random_sections(&rng, sec, nsec, rmax);
		} else if (u < 0.85) { /* structure change */
			nsec = (int)(urand() * (max_sections + 1));
			fx_test_random_sections(&rng, sec, nsec, rmax);
		} else { /* reset */
			ck_assert_int_eq(fx_plan_reset_state(&f->p), FX_OK);
			memset(ref.z, 0, sizeof ref.z);
			continue;
		}
		ck_assert_int_eq(fx_plan_set_coeffs(&f->p, sec, nsec), FX_OK);
		ref_set(&ref, sec, nsec);
	}
	signal_free(&s);
	fake_free(f);
}

START_TEST(test_emulated_sequential)
{
	const long chunks[] = {1, 7, 64, 333, 1000};
	for (int d = 0; d < 2; d++)
		for (int i = 0; i < 5; i++)
			for (int ch = 1; ch <= MAX_CH; ch += 3)
				check_stream(ch, chunks[i],
				             d ? FX_ACCEL_F64 : FX_ACCEL_F32,
				             1L << 30, 0.99, 4000, 4, 8);
}
END_TEST

START_TEST(test_emulated_scan)
{
	/* 1 tile; 2; a partial last tile; 64 tiles on 64 threads; 79 tiles
	 * on 64 threads (r = 2, the last threads idle); 157 tiles. */
	const long chunks[] = {1, 50, 128, 300, 4096, 5000, 10000};
	for (int d = 0; d < 2; d++)
		for (int i = 0; i < 7; i++)
			for (int ch = 1; ch <= MAX_CH; ch += 3)
				check_stream(ch, chunks[i],
				             d ? FX_ACCEL_F64 : FX_ACCEL_F32, 0,
				             0.99, 25000, 4, 8);
}
END_TEST

START_TEST(test_emulated_slow_decay)
{
	/* Poles at radius 0.9995 (a 20 Hz order-4 highpass at 96 kHz has
	 * them): zero-input responses outlast their tiles, so the early stop
	 * never fires and the carried state matters over many tiles. */
	check_stream(2, 65536, FX_ACCEL_F32, -1, 0.9995, 3 * 65536 + 1234, 2, 8);
	check_stream(2, 65536, FX_ACCEL_F64, -1, 0.9995, 3 * 65536 + 1234, 2, 8);
	/* Up to 16 sections: 32 state variables, the largest matrices. */
	for (int i = 0; i < 4; i++)
		check_stream(1, 65536, i & 1 ? FX_ACCEL_F64 : FX_ACCEL_F32, -1,
		             0.999, 2 * 65536 + 99, 1, FX_ACCEL_MAX_SECTIONS);
	/* The hard case of dsp/ptime.h: a 20 Hz order-4 highpass at 96 kHz,
	 * whose powers of A cancel heavily; chunks of 64 Ki (8 tiles per scan
	 * thread) and 1 Mi frames (tiles of 512, 32 per scan thread). */
	FxSection sec[FX_MAX_SECTIONS];
	int n = 0;
	ck_assert_int_eq(
		fx_design_butter(FX_BUTTER_HIGHPASS, 4, 20, 0, 96000, sec, &n),
		FX_OK);
	const long chunks[] = {1 << 16, 1 << 20};
	for (int i = 0; i < 2; i++) {
		Fake *f = fake_new(sec, n, 1, chunks[i], FX_ACCEL_F64, -1);
		Ref ref = {0};
		ref_set(&ref, sec, n);
		Signal s;
		signal_new(&s, 1, 3 * chunks[i] + 4321, FX_ACCEL_F64);
		run_both(f, &ref, &s, 0, s.frames);
		double e = rel_error(&s, 0, s.frames);
		if (getenv("FX_TEST_VERBOSE"))
			fprintf(stderr, "hp4 20 Hz f64 chunk %ld: %.3g\n",
			        chunks[i], e);
		ck_assert_msg(e <= 1e-12, "chunk %ld: %g", chunks[i], e);
		signal_free(&s);
		fake_free(f);
	}
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"layout", 0, .tests = {
			{test_threshold_defaults, 0},
			{test_threshold_override, 0},
			{test_half_precision_refused, 0},
			{test_ranges, 0},
			{test_tile_length, 0},
			{test_buffer_sizes, 0},
			{test_coef_image, 0},
		}},
		{"ops", 0, .tests = {
			{test_ops_start, 0},
			{test_ops_coefficient_change, 0},
			{test_ops_structure_change, 0},
			{test_ops_reset, 0},
			{test_ops_capture_failure, 0},
		}},
		{"emulated", 120, .tests = {
			{test_emulated_sequential, 0},
			{test_emulated_scan, 0},
			{test_emulated_slow_decay, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("accel_plan", cases));
}

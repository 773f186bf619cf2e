/* SPDX-License-Identifier: ISC */
#include "cuda/plan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void say(char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *err, size_t size, const char *fmt, ...)
{
	if (!err || !size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

FxStatus fx_plan_fail(FxPlan *p, FxStatus st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof p->err, fmt, ap);
	va_end(ap);
	return st;
}

long fx_plan_default_threshold(FxAccelDtype dtype)
{
	switch (dtype) {
	case FX_ACCEL_F32:
		return FX_ACCEL_SCAN_THRESHOLD_F32;
	case FX_ACCEL_F64:
		return FX_ACCEL_SCAN_THRESHOLD_F64;
	default:
		return -1;
	}
}

const char *fx_plan_dtype_name(FxAccelDtype dtype)
{
	switch (dtype) {
	case FX_ACCEL_F32:
		return "float32";
	case FX_ACCEL_F64:
		return "float64";
	case FX_ACCEL_F16:
		return "float16";
	case FX_ACCEL_BF16:
		return "bfloat16";
	default:
		return "unknown";
	}
}

long fx_plan_tile_for(long chunk)
{
	long tile = FX_PLAN_TILE_MIN;
	while (tile < FX_PLAN_TILE_MAX && tile * tile * 8 < chunk)
		tile *= 2;
	return tile;
}

static size_t align_up(size_t n)
{
	return (n + FX_PLAN_ALIGN - 1) / FX_PLAN_ALIGN * FX_PLAN_ALIGN;
}

/* Places a buffer of @p bytes at the end of a block of *end bytes. */
static size_t place(size_t *end, size_t bytes)
{
	size_t at = *end;
	*end = align_up(at + bytes);
	return at;
}

FxStatus fx_plan_layout(FxPlanLayout *lay, int channels, long chunk,
                        FxAccelDtype dtype, long threshold, char *err,
                        size_t errsize)
{
	memset(lay, 0, sizeof *lay);
	if (dtype == FX_ACCEL_F16 || dtype == FX_ACCEL_BF16) {
		say(err, errsize,
		    "%s samples are not supported: the recursion needs more "
		    "mantissa; use float32 or float64",
		    fx_plan_dtype_name(dtype));
		return FX_ERR_INVALID;
	}
	if (dtype != FX_ACCEL_F32 && dtype != FX_ACCEL_F64) {
		say(err, errsize, "unknown sample type %d", (int)dtype);
		return FX_ERR_INVALID;
	}
	if (channels < 1 || channels > FX_ACCEL_MAX_CHANNELS) {
		say(err, errsize, "a plan takes 1..%d channels, not %d",
		    FX_ACCEL_MAX_CHANNELS, channels);
		return FX_ERR_RANGE;
	}
	if (chunk < 1 || chunk > FX_ACCEL_MAX_CHUNK) {
		say(err, errsize, "a chunk is 1..%d frames, not %ld",
		    FX_ACCEL_MAX_CHUNK, chunk);
		return FX_ERR_RANGE;
	}
	lay->dtype = dtype;
	lay->sample_size = dtype == FX_ACCEL_F32 ? sizeof(float) : sizeof(double);
	lay->channels = channels;
	lay->chunk = chunk;
	lay->threshold = threshold < 0 ? fx_plan_default_threshold(dtype)
	                               : threshold;
	lay->scan = chunk >= lay->threshold;

	FxAccGeom *g = &lay->geom;
	g->stride = chunk;
	g->channels = channels;
	if (lay->scan) {
		g->tile = fx_plan_tile_for(chunk);
		g->tiles = (int)((chunk + g->tile - 1) / g->tile);
		g->scan_threads = 1;
		while (g->scan_threads < g->tiles &&
		       g->scan_threads < FX_ACC_SCAN_THREADS)
			g->scan_threads *= 2;
		g->per_thread = (g->tiles + g->scan_threads - 1) /
		                g->scan_threads;
		for (g->npow = 0; (1 << g->npow) < g->scan_threads; g->npow++)
			;
		lay->nmat = 1 + g->npow;
	}

	const size_t ch = (size_t)channels, frames = (size_t)chunk;
	lay->io_bytes = ch * frames * lay->sample_size;
	lay->zs_bytes = lay->scan && dtype == FX_ACCEL_F32
	                        ? ch * frames * sizeof(double)
	                        : 0;
	lay->agg_bytes = lay->scan ? ch * (size_t)g->tiles * FX_ACC_M *
	                                     sizeof(double)
	                           : 0;
	lay->state_bytes = ch * FX_ACC_M * sizeof(double);
	/* Sized for the most sections, so a structure change never
	 * reallocates. */
	lay->coef_bytes = lay->scan ? FX_ACC_MAT_OFFSET +
	                                      (size_t)lay->nmat * 2 * FX_ACC_M *
	                                              FX_ACC_M * sizeof(double)
	                            : sizeof(FxPtCoef);
	lay->params_bytes = sizeof(FxAccParams);

	size_t end = 0;
	lay->dev_io = place(&end, lay->io_bytes);
	lay->dev_zs = place(&end, lay->zs_bytes);
	lay->dev_agg = place(&end, lay->agg_bytes);
	lay->dev_pre = place(&end, lay->agg_bytes);
	lay->dev_state = place(&end, lay->state_bytes);
	lay->dev_coef = place(&end, lay->coef_bytes);
	lay->dev_params = place(&end, lay->params_bytes);
	lay->dev_bytes = end;

	end = 0;
	lay->host_io = place(&end, lay->io_bytes);
	lay->host_coef = place(&end, lay->coef_bytes);
	lay->host_params = place(&end, lay->params_bytes);
	lay->host_bytes = end;
	return FX_OK;
}

FxStatus fx_plan_check_sections(const FxSection *sec, int nsec, char *err,
                                size_t errsize)
{
	if (nsec < 0 || nsec > FX_ACCEL_MAX_SECTIONS) {
		say(err, errsize, "a plan takes 0..%d sections, not %d",
		    FX_ACCEL_MAX_SECTIONS, nsec);
		return FX_ERR_RANGE;
	}
	if (nsec > 0 && !sec) {
		say(err, errsize, "no sections given");
		return FX_ERR_INVALID;
	}
	for (int k = 0; k < nsec; k++) {
		for (int i = 0; i < 6; i++)
			if (!isfinite(sec[k][i])) {
				say(err, errsize,
				    "section %d: coefficient %d is not finite",
				    k, i);
				return FX_ERR_NONFINITE;
			}
		if (sec[k][3] == 0.0) {
			say(err, errsize, "section %d: a0 is zero", k);
			return FX_ERR_INVALID;
		}
	}
	return FX_OK;
}

/* (oh, ol) = (bh + bl)^e for e >= 1 by squaring in double-double; @p work
 * holds 4*m*m doubles. */
static void power_dd(int m, const double *bh, const double *bl, long e,
                     double *oh, double *ol, double *work)
{
	const size_t mm = (size_t)m * m;
	double *ph = work, *pl = work + mm, *uh = work + 2 * mm,
	       *ul = work + 3 * mm;
	memcpy(ph, bh, mm * sizeof *ph);
	memcpy(pl, bl, mm * sizeof *pl);
	for (size_t i = 0; i < mm; i++) {
		oh[i] = (i / (size_t)m) == (i % (size_t)m);
		ol[i] = 0;
	}
	for (;;) {
		if (e & 1) {
			fx_pt_mat_mul_dd(m, ph, pl, oh, ol, uh, ul);
			memcpy(oh, uh, mm * sizeof *oh);
			memcpy(ol, ul, mm * sizeof *ol);
		}
		e >>= 1;
		if (!e)
			break;
		fx_pt_mat_mul_dd(m, ph, pl, ph, pl, uh, ul);
		memcpy(ph, uh, mm * sizeof *ph);
		memcpy(pl, ul, mm * sizeof *pl);
	}
}

size_t fx_plan_coef_image(const FxPlanLayout *lay, const FxSection *sec,
                          int nsec, void *image)
{
	FxPtCoef *q = image;
	(void)fx_pt_coef_init(q, sec, nsec);
	if (!lay->scan)
		return sizeof *q;
	const int m = 2 * nsec;
	const size_t mm = (size_t)m * m;
	/* Matrix j at mat + 2j mm (rounded) and mat + (2j + 1) mm (rest). */
	double *mat = (double *)(void *)((unsigned char *)image +
	                                 FX_ACC_MAT_OFFSET);
	double work[4 * FX_ACC_M * FX_ACC_M];
	/* T = A^tile, U_0 = T^r, U_j = U_{j-1}^2, all in double-double. */
	fx_pt_transition(q, lay->geom.tile, mat, mat + mm, work);
	if (lay->nmat > 1)
		power_dd(m, mat, mat + mm, lay->geom.per_thread, mat + 2 * mm,
		         mat + 3 * mm, work);
	for (int j = 2; j < lay->nmat; j++) {
		const double *ph = mat + (2 * j - 2) * mm, *pl = ph + mm;
		fx_pt_mat_mul_dd(m, ph, pl, ph, pl, mat + 2 * j * mm,
		                 mat + (2 * j + 1) * mm);
	}
	return FX_ACC_MAT_OFFSET + (size_t)lay->nmat * 2 * mm * sizeof(double);
}

/* Uploads the image of @p sec and, for another section count, zeroes the
 * state the two cascades do not share and captures again. */
static FxStatus apply(FxPlan *p, const FxSection *sec, int nsec)
{
	FxStatus st = fx_plan_check_sections(sec, nsec, p->err, sizeof p->err);
	if (st != FX_OK)
		return st;
	if ((st = p->ops->wait_upload(p)) != FX_OK)
		return st;
	size_t bytes = fx_plan_coef_image(&p->lay, sec, nsec, fx_plan_image(p));
	if ((st = p->ops->upload(p, bytes)) != FX_OK)
		return st;
	p->uploads++;
	const int old = p->nsec;
	p->nsec = nsec;
	if (nsec == p->graph_nsec)
		return FX_OK;
	if (p->graph_nsec >= 0) {
		if ((st = p->ops->zero_state(p, 2 * (old < nsec ? old : nsec))) !=
		    FX_OK)
			return st;
		p->resets++;
	}
	p->graph_nsec = -1;
	if ((st = p->ops->capture(p, nsec)) != FX_OK)
		return st;
	p->captures++;
	p->graph_nsec = nsec;
	return FX_OK;
}

FxStatus fx_plan_start(FxPlan *p, const FxPlanLayout *lay, const FxPlanOps *ops,
                       void *dev, void *host, const FxSection *sec, int nsec)
{
	memset(p, 0, sizeof *p);
	p->lay = *lay;
	p->ops = ops;
	p->dev = dev;
	p->host = host;
	p->graph_nsec = -1;
	FxStatus st = fx_plan_check_sections(sec, nsec, p->err, sizeof p->err);
	if (st != FX_OK)
		return st;
	if ((st = ops->zero_state(p, 0)) != FX_OK)
		return st;
	return apply(p, sec, nsec);
}

FxStatus fx_plan_set_coeffs(FxPlan *p, const FxSection *sec, int nsec)
{
	return apply(p, sec, nsec);
}

FxStatus fx_plan_reset_state(FxPlan *p)
{
	FxStatus st = p->ops->zero_state(p, 0);
	if (st == FX_OK)
		p->resets++;
	return st;
}

FxStatus fx_plan_forward(FxPlan *p, void *const *buf, long frames)
{
	if (frames < 0 || (frames > 0 && !buf))
		return fx_plan_fail(p, FX_ERR_INVALID,
		                    "forward: bad buffer or frame count %ld",
		                    frames);
	if (p->graph_nsec < 0)
		return fx_plan_fail(p, FX_ERR_INVALID,
		                    "forward: no graph (the last capture failed)");
	const FxPlanLayout *lay = &p->lay;
	const size_t ss = lay->sample_size;
	unsigned char *io = p->host + lay->host_io;
	FxAccParams *par = fx_plan_params(p);
	for (long off = 0; off < frames;) {
		const long n = frames - off < lay->chunk ? frames - off
		                                         : lay->chunk;
		for (int c = 0; c < lay->channels; c++)
			memcpy(io + (size_t)c * lay->chunk * ss,
			       (unsigned char *)buf[c] + (size_t)off * ss,
			       (size_t)n * ss);
		par->frames = n;
		FxStatus st = p->ops->replay(p);
		if (st == FX_OK)
			st = p->ops->wait(p);
		if (st != FX_OK)
			return st;
		p->replays++;
		for (int c = 0; c < lay->channels; c++)
			memcpy((unsigned char *)buf[c] + (size_t)off * ss,
			       io + (size_t)c * lay->chunk * ss, (size_t)n * ss);
		off += n;
	}
	return FX_OK;
}

void fx_plan_info(const FxPlan *p, FxAccelPlanInfo *info)
{
	memset(info, 0, sizeof *info);
	info->scan = p->lay.scan;
	info->threshold = p->lay.threshold;
	info->tile = p->lay.scan ? p->lay.geom.tile : 0;
	info->tiles = p->lay.scan ? p->lay.geom.tiles : 0;
	info->device_bytes = p->lay.dev_bytes;
	info->pinned_bytes = p->lay.host_bytes;
	info->captures = p->captures;
	info->uploads = p->uploads;
	info->replays = p->replays;
	info->resets = p->resets;
}

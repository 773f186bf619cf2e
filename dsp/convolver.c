/* SPDX-License-Identifier: ISC */
/* The convolver's setup: layout, FFT plans and response spectra. Off the
 * realtime path. */
#include "dsp/convolver_impl.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "dsp/pages.h"

enum { ALIGN = 64 };

static size_t round_up(size_t n)
{
	return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

/* The partition sizes for @p frames of response: 64-frame blocks from the
 * head on, each size four times the last from twice its own length on,
 * up to CONV_MAX_BLOCK. A block's spectra are due at its boundary, so a
 * partition of n frames may start no earlier than frame n. */
static int plan_levels(long frames, Level *lv)
{
	int n = FX_CONV_HEAD, k = 0;
	long start = FX_CONV_HEAD;
	while (start < frames && k < CONV_MAX_LEVELS) {
		int next = 4 * n > CONV_MAX_BLOCK ? CONV_MAX_BLOCK : 4 * n;
		long next_start = 2L * next;
		long end = next == n || frames <= next_start ? frames
		                                             : next_start;
		memset(&lv[k], 0, sizeof lv[k]);
		lv[k].n = n;
		lv[k].start = start;
		lv[k].parts = (int)((end - start + n - 1) / n);
		lv[k].depth = (int)(start / n) - 1 + lv[k].parts;
		lv[k].stride = conv_stride(n);
		k++;
		if (end >= frames)
			break;
		n = next;
		start = next_start;
	}
	return k;
}

static int valid_shape(const FxConvolverShape *s)
{
	if (s->inputs < 1 || s->inputs > FX_CONV_MAX_CHANNELS ||
	    s->outputs < 1 || s->outputs > FX_CONV_MAX_CHANNELS ||
	    s->paths < 1 || s->paths > FX_CONV_MAX_PATHS || s->frames < 1 ||
	    s->frames > 100000000L)
		return 0;
	int most = s->transform_max;
	if (most && (most < 2 * FX_CONV_HEAD || (most & (most - 1))))
		return 0;
	for (int p = 0; p < s->paths; p++)
		if (s->route[p][0] >= s->inputs || s->route[p][1] >= s->outputs)
			return 0;
	return 1;
}

/* Complex values a split transform's pass buffer holds: its largest
 * set of partial spectra (sequences of real length len, each padded). */
static size_t pass_values(const Level *lv)
{
	size_t most = 0;
	for (int len = lv->sub; len < 2 * lv->n; len *= 2) {
		size_t values = (size_t)(2 * lv->n / len) * conv_stride(len / 2);
		if (values > most)
			most = values;
	}
	return most;
}

/* Lays @p c out in a block at @p base (NULL: only counts) and returns its
 * size. Every buffer starts 64-byte aligned. */
static size_t layout(FxConvolver *c, char *base)
{
	const FxConvolverShape *s = &c->shape;
	size_t at = round_up(sizeof *c);
#define TAKE(ptr, count)                             \
	do {                                         \
		size_t n_ = (count) * sizeof *(ptr); \
		if (base)                            \
			(ptr) = (void *)(base + at); \
		at += round_up(n_);                  \
	} while (0)
	TAKE(c->head, (size_t)s->paths * FX_CONV_HEAD);
	TAKE(c->lin, (size_t)s->inputs * 2 * FX_CONV_HEAD);
	TAKE(c->in_ring, (size_t)s->inputs * 4 * (size_t)c->nmax);
	TAKE(c->out_ring, (size_t)s->outputs * 2 * (size_t)c->nmax);
	TAKE(c->time, 2 * (size_t)c->nmax);
	TAKE(c->gather, (size_t)c->levels[c->n_levels ? c->n_levels - 1 : 0].sub);
	TAKE(c->spec, conv_stride(FX_CONV_HEAD));
	for (int k = 0; k < c->n_levels; k++) {
		Level *lv = &c->levels[k];
		TAKE(lv->fdl, (size_t)s->inputs * lv->depth * lv->stride);
		TAKE(lv->h, (size_t)s->paths * lv->parts * lv->stride);
		if (lv->spread)
			TAKE(lv->acc, (size_t)s->outputs * lv->stride);
		if (lv->passes) {
			TAKE(lv->pass[0], pass_values(lv));
			TAKE(lv->pass[1], pass_values(lv));
			TAKE(lv->twiddle, (size_t)lv->n / 2 + 1);
		}
	}
#undef TAKE
	return at;
}

/* A real transform of @p len: about len log2(len) / 11 ns here, plus
 * gathering or scattering its samples. */
static long transform_cost(int len)
{
	long bits = 0;
	while ((1L << bits) < len)
		bits++;
	return (long)len * bits / 11 + len / 2;
}

/* What @p lv's round costs, in the units of Level.budget. */
static long round_cost(const FxConvolver *c, const Level *lv)
{
	long passes = 0;
	for (int p = 1; p <= lv->passes; p++)
		passes += (long)(lv->split >> p) *
		          conv_pass_cost((lv->sub << (p - 1)) / 2 + 1);
	long transform = (long)lv->split * lv->sub_cost + passes;
	return (long)c->shape.inputs * transform +
	       (long)c->n_pairs * lv->active * conv_product_cost(lv->n + 1) +
	       (long)c->n_sums * transform;
}

/* The most one step of @p lv's round costs. */
static long step_cost_max(const Level *lv)
{
	long most = lv->sub_cost;
	if (lv->passes && conv_pass_cost(CONV_PASS_BINS) > most)
		most = conv_pass_cost(CONV_PASS_BINS);
	int bins = lv->n + 1 < CONV_PRODUCT_BINS ? lv->n + 1 : CONV_PRODUCT_BINS;
	return conv_product_cost(bins) > most ? conv_product_cost(bins) : most;
}

/* The shape's levels and sizes in @p c, nothing allocated. */
static size_t prepare(FxConvolver *c, const FxConvolverShape *shape)
{
	memset(c, 0, sizeof *c);
	c->shape = *shape;
	c->n_levels = plan_levels(shape->frames, c->levels);
	c->nmax = c->n_levels ? c->levels[c->n_levels - 1].n : FX_CONV_HEAD;
	for (int k = 0; k < c->n_levels; k++) {
		Level *lv = &c->levels[k];
		lv->spread = lv->start >= 2L * lv->n;
		int most = shape->transform_max ? shape->transform_max
		                                : CONV_SUB_MAX;
		lv->sub = 2 * lv->n < most ? 2 * lv->n : most;
		lv->split = 2 * lv->n / lv->sub;
		for (lv->passes = 0; (1 << lv->passes) < lv->split; lv->passes++)
			;
		lv->sub_cost = transform_cost(lv->sub);
	}
	for (int o = 0; o < shape->outputs; o++) {
		int before = c->n_pairs;
		for (int p = 0; p < shape->paths; p++)
			if (shape->route[p][1] == o) {
				c->pair_out[c->n_pairs] = (unsigned char)o;
				c->pair_path[c->n_pairs++] = (unsigned char)p;
			}
		c->n_sums += c->n_pairs > before;
	}
	return layout(c, NULL);
}

size_t fx_convolver_bytes(const FxConvolverShape *shape)
{
	if (!valid_shape(shape))
		return 0;
	FxConvolver c;
	return prepare(&c, shape);
}

/* FFTW's planner is one per process and not thread-safe; chains may be
 * built on two threads at once (and an LV2 plugin may plan too), so it is
 * made safe once, for every caller in the process. */
static pthread_once_t planner_once = PTHREAD_ONCE_INIT;

static void make_planner_safe(void)
{
	fftwf_make_planner_thread_safe();
}

FxConvolver *fx_convolver_new(const FxConvolverShape *shape)
{
	if (!valid_shape(shape))
		return NULL;
	FxConvolver proto;
	size_t bytes = prepare(&proto, shape);
	char *base = fx_pages_new(bytes);
	if (!base)
		return NULL;
	FxConvolver *c = (FxConvolver *)base;
	*c = proto;
	c->bytes = bytes;
	layout(c, base);
	fx_convolver_kernels(c);
	pthread_once(&planner_once, make_planner_safe);
	/* FFTW_ESTIMATE: the same plans in every process, so fxfile's output
	 * is the same from run to run, and no measuring at build time. */
	int ok = 1;
	for (int k = 0; k < c->n_levels; k++) {
		Level *lv = &c->levels[k];
		/* Planned on buffers aligned as every one they run on. */
		fftwf_complex *spec = lv->fdl;
		lv->fwd = fftwf_plan_dft_r2c_1d(lv->sub, c->gather, spec,
		                                FFTW_ESTIMATE);
		lv->inv = fftwf_plan_dft_c2r_1d(lv->sub, spec, c->gather,
		                                FFTW_ESTIMATE);
		ok = ok && lv->fwd && lv->inv;
		for (int j = 0; lv->passes && j <= lv->n / 2; j++) {
			double a = -M_PI * j / lv->n;
			lv->twiddle[j][0] = (float)cos(a);
			lv->twiddle[j][1] = (float)sin(a);
		}
	}
	fx_convolver_reset(c);
	if (!ok) {
		fx_convolver_free(c);
		return NULL;
	}
	return c;
}

void fx_convolver_free(FxConvolver *c)
{
	if (!c)
		return;
	for (int k = 0; k < c->n_levels; k++) {
		if (c->levels[k].fwd)
			fftwf_destroy_plan(c->levels[k].fwd);
		if (c->levels[k].inv)
			fftwf_destroy_plan(c->levels[k].inv);
	}
	fx_pages_free(c);
}

void fx_convolver_set_ir(FxConvolver *c, int path, const float *ir, long frames)
{
	if (path < 0 || path >= c->shape.paths)
		return;
	if (frames > c->shape.frames)
		frames = c->shape.frames;
	if (frames < 0)
		frames = 0;
	float *head = c->head + (size_t)path * FX_CONV_HEAD;
	memset(head, 0, FX_CONV_HEAD * sizeof *head);
	long taps = frames < FX_CONV_HEAD ? frames : FX_CONV_HEAD;
	memcpy(head, ir, (size_t)taps * sizeof *head);
	if (taps > c->head_taps)
		c->head_taps = (int)taps;
	for (int k = 0; k < c->n_levels; k++) {
		Level *lv = &c->levels[k];
		int n = lv->n;
		/* The inverse transform scales by 2n; the response takes it. */
		float scale = 1.0f / (float)(2 * n);
		for (int j = 0; j < lv->parts; j++) {
			fftwf_complex *h = lv->h + ((size_t)path * lv->parts +
			                            j) * lv->stride;
			long from = lv->start + (long)j * n;
			long len = frames - from;
			if (len <= 0) {
				memset(h, 0, lv->stride * sizeof *h);
				continue;
			}
			if (len > n)
				len = n;
			memset(c->time, 0, 2 * (size_t)n * sizeof *c->time);
			for (long i = 0; i < len; i++)
				c->time[i] = ir[from + i] * scale;
			fx_convolver_transform(
				c, lv, (ConvRing){c->time, 2LL * n - 1}, 0, h);
			if (j + 1 > lv->active)
				lv->active = j + 1;
		}
		/* A spread round's work, shared by the n / 64 head blocks
		 * before its output is due. A step runs once the credit
		 * covers it, so the work done lags the credit by less than
		 * the largest step: that much more credit, spread too, and
		 * the round is done by the last block. */
		long steps = n / FX_CONV_HEAD;
		long cost = round_cost(c, lv) + step_cost_max(lv);
		lv->budget = (cost + steps - 1) / steps;
	}
	fx_convolver_reset(c);
}

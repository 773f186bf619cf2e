/* SPDX-License-Identifier: ISC */
/* The convolver's realtime path: no allocation, locks or system calls;
 * FFTW's new-array execute functions run plans made at setup. */
#include "dsp/convolver_impl.h"

#include <limits.h>
#include <string.h>

/* The two inner loops take most of the time: vectorised at -O3 (-O2's
 * cheap cost model leaves them scalar), and built twice on x86-64, for
 * AVX2 with FMA and for the baseline. fx_convolver_new picks one by the
 * CPU (fx_convolver_kernels), so a process always takes the same path.
 * Not GCC's target_clones: its ifunc resolvers run before a sanitizer's
 * runtime is up and crash ThreadSanitizer builds at load. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT_LOOP __attribute__((optimize("O3")))
#define HOT_LOOP_AVX2 __attribute__((optimize("O3"), target("avx2,fma")))
#define HAVE_AVX2_KERNELS 1
#else
#define HOT_LOOP
#define HAVE_AVX2_KERNELS 0
#endif

/* acc += x * h over @p bins complex values. */
#define MULTIPLY_ADD_BODY                                                 \
	for (int j = 0; j < 2 * bins; j += 2) {                           \
		float xr = x[j], xi = x[j + 1], hr = h[j], hi = h[j + 1]; \
		acc[j] += xr * hr - xi * hi;                              \
		acc[j + 1] += xr * hi + xi * hr;                          \
	}

/* y[j] += sum over k of h[k] x[j - k]: taps outside, frames inside, so
 * each frame sums its taps in the same order however the calls cut the
 * signal, and the inner loop vectorises. */
#define HEAD_FIR_BODY                         \
	for (int k = 0; k < taps; k++) {      \
		float hk = h[k];              \
		const float *xk = x - k;      \
		for (int j = 0; j < seg; j++) \
			y[j] += hk * xk[j];   \
	}

HOT_LOOP static void
multiply_add_base(float *restrict acc, const float *restrict x,
                  const float *restrict h, int bins){MULTIPLY_ADD_BODY}

HOT_LOOP static void head_fir_base(float *restrict y, const float *restrict x,
                                   const float *restrict h, int taps,
                                   int seg){HEAD_FIR_BODY}

#if HAVE_AVX2_KERNELS
HOT_LOOP_AVX2 static void multiply_add_avx2(float *restrict acc,
                                            const float *restrict x,
                                            const float *restrict h,
                                            int bins){MULTIPLY_ADD_BODY}

HOT_LOOP_AVX2
	static void head_fir_avx2(float *restrict y, const float *restrict x,
                                  const float *restrict h, int taps, int seg)
{
	HEAD_FIR_BODY
}
#endif

void fx_convolver_kernels(FxConvolver *c)
{
	c->multiply_add = multiply_add_base;
	c->head_fir = head_fir_base;
#if HAVE_AVX2_KERNELS
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		c->multiply_add = multiply_add_avx2;
		c->head_fir = head_fir_avx2;
	}
#endif
}

void fx_convolver_reset(FxConvolver *c)
{
	const FxConvolverShape *s = &c->shape;
	memset(c->lin, 0, (size_t)s->inputs * 2 * FX_CONV_HEAD * sizeof *c->lin);
	memset(c->in_ring, 0,
	       (size_t)s->inputs * 2 * (size_t)c->nmax * sizeof *c->in_ring);
	memset(c->out_ring, 0,
	       (size_t)s->outputs * 2 * (size_t)c->nmax * sizeof *c->out_ring);
	for (int k = 0; k < c->n_levels; k++) {
		Level *lv = &c->levels[k];
		memset(lv->fdl, 0,
		       (size_t)s->inputs * lv->depth * lv->stride *
		               sizeof *lv->fdl);
		lv->newest = 0;
		if (lv->spread)
			memset(lv->acc, 0,
			       (size_t)s->outputs * lv->stride * sizeof *lv->acc);
		lv->cur_q = c->n_pairs; /* no round under way */
		lv->cur_k = 0;
	}
	c->t = 0;
}

/* Transforms each input's last 2n frames into @p lv's newest spectrum. */
static void transform(FxConvolver *c, Level *lv)
{
	const FxConvolverShape *s = &c->shape;
	int n = lv->n, ring = 2 * c->nmax;
	lv->newest = lv->newest + 1 == lv->depth ? 0 : lv->newest + 1;
	for (int i = 0; i < s->inputs; i++) {
		const float *x = c->in_ring + (size_t)i * ring;
		/* The window ends at t, in one piece or two. */
		int from = (int)((c->t - 2 * n) & (ring - 1));
		int first = ring - from < 2 * n ? ring - from : 2 * n;
		memcpy(c->time, x + from, (size_t)first * sizeof *c->time);
		memcpy(c->time + first, x,
		       (size_t)(2 * n - first) * sizeof *c->time);
		fftwf_execute_dft_r2c(
			lv->fwd, c->time,
			lv->fdl + ((size_t)i * lv->depth + lv->newest) *
					  lv->stride);
	}
}

/* acc += pair @p q's partition @p k applied to the input spectrum as old
 * as its place in the response, for the output block that starts
 * @p late blocks after the newest spectrum's end, less one (1: the block
 * that starts now; 2: the one after it). */
static void apply_partition(FxConvolver *c, Level *lv, fftwf_complex *acc,
                            int q, int k, int late)
{
	const FxConvolverShape *s = &c->shape;
	int p = c->pair_path[q];
	int slot = lv->newest - (int)(lv->start / lv->n) + late - k;
	if (slot < 0)
		slot += lv->depth;
	const fftwf_complex *x = lv->fdl + ((size_t)s->route[p][0] * lv->depth +
	                                    (size_t)slot) *
	                                           lv->stride;
	const fftwf_complex *h = lv->h + ((size_t)p * lv->parts + (size_t)k) *
	                                         lv->stride;
	c->multiply_add((float *)acc, (const float *)x, (const float *)h,
	                lv->n + 1);
}

/* The inverse transform of @p spec (destroyed) added, overlap-save (its
 * second half is the linear convolution), into output @p o's ring for
 * the n frames from @p at. */
static void add_block(FxConvolver *c, Level *lv, fftwf_complex *spec, int o,
                      long long at)
{
	int n = lv->n, ring = 2 * c->nmax;
	fftwf_execute_dft_c2r(lv->inv, spec, c->time);
	float *y = c->out_ring + (size_t)o * ring + (at & (ring - 1));
	for (int j = 0; j < n; j++)
		y[j] += c->time[n + j];
}

/* A level without slack (the first, from frame n): at its boundary, the
 * output for the next n frames, at once. */
static void run_level(FxConvolver *c, Level *lv)
{
	transform(c, lv);
	for (int q = 0; q < c->n_pairs; q++) {
		if (q == 0 || c->pair_out[q] != c->pair_out[q - 1])
			memset(c->spec, 0, (size_t)(lv->n + 1) * sizeof *c->spec);
		for (int k = 0; k < lv->active; k++)
			apply_partition(c, lv, c->spec, q, k, 1);
		if (q + 1 == c->n_pairs || c->pair_out[q + 1] != c->pair_out[q])
			add_block(c, lv, c->spec, c->pair_out[q], c->t);
	}
}

/* A level with slack, at its boundary: the newest spectrum, and a round
 * of work for the output block after the next, spread over the n / 64
 * head blocks before it is due (lv->budget a block). */
static void start_round(FxConvolver *c, Level *lv)
{
	transform(c, lv);
	lv->due = c->t + lv->n;
	lv->cur_q = 0;
	lv->cur_k = 0;
}

/* A head block's share of @p lv's round; all that is left when @p last
 * (the last head block before the output is due). The sums run in the
 * same order however the work is cut. */
static void step_round(FxConvolver *c, Level *lv, int last)
{
	int units = last ? INT_MAX : lv->budget;
	while (units > 0 && lv->cur_q < c->n_pairs) {
		int q = lv->cur_q, o = c->pair_out[q];
		fftwf_complex *acc = lv->acc + (size_t)o * lv->stride;
		if (lv->cur_k < lv->active) {
			apply_partition(c, lv, acc, q, lv->cur_k++, 2);
			units--;
			continue;
		}
		if (q + 1 == c->n_pairs || c->pair_out[q + 1] != o) {
			add_block(c, lv, acc, o, lv->due);
			memset(acc, 0, (size_t)(lv->n + 1) * sizeof *acc);
			units -= lv->weight;
		}
		lv->cur_q++;
		lv->cur_k = 0;
	}
}

/* Writes @p seg frames of each input at the current time (never across a
 * head block's end). */
static void take_input(FxConvolver *c, const float *const *in, int done,
                       int pos, int seg)
{
	int ring = 2 * c->nmax, at = (int)(c->t & (ring - 1));
	for (int i = 0; i < c->shape.inputs; i++) {
		const float *x = in[i] + done;
		memcpy(c->lin + (size_t)i * 2 * FX_CONV_HEAD + FX_CONV_HEAD + pos,
		       x, (size_t)seg * sizeof *x);
		memcpy(c->in_ring + (size_t)i * ring + at, x,
		       (size_t)seg * sizeof *x);
	}
}

static void give_output(FxConvolver *c, float *const *out, int done, int pos,
                        int seg)
{
	const FxConvolverShape *s = &c->shape;
	int ring = 2 * c->nmax, at = (int)(c->t & (ring - 1));
	for (int o = 0; o < s->outputs; o++) {
		float *y = out[o] + done;
		float *ahead = c->out_ring + (size_t)o * ring + at;
		memcpy(y, ahead, (size_t)seg * sizeof *y);
		memset(ahead, 0, (size_t)seg * sizeof *ahead);
		for (int p = 0; p < s->paths; p++)
			if (s->route[p][1] == o)
				c->head_fir(y,
				            c->lin +
				                    (size_t)s->route[p][0] * 2 *
				                            FX_CONV_HEAD +
				                    FX_CONV_HEAD + pos,
				            c->head + (size_t)p * FX_CONV_HEAD,
				            c->head_taps, seg);
	}
}

void fx_convolver_process(FxConvolver *c, const float *const *in,
                          float *const *out, int frames)
{
	for (int done = 0; done < frames;) {
		int pos = (int)(c->t & (FX_CONV_HEAD - 1));
		if (pos == 0 && c->t > 0) {
			for (int i = 0; i < c->shape.inputs; i++) {
				float *lin = c->lin +
				             (size_t)i * 2 * FX_CONV_HEAD;
				/* This block becomes the last. */
				memmove(lin, lin + FX_CONV_HEAD,
				        FX_CONV_HEAD * sizeof *lin);
			}
			for (int k = 0; k < c->n_levels; k++) {
				Level *lv = &c->levels[k];
				if (!lv->active)
					continue;
				int boundary = !(c->t & (lv->n - 1));
				if (!lv->spread) {
					if (boundary)
						run_level(c, lv);
					continue;
				}
				if (boundary)
					start_round(c, lv);
				step_round(c, lv, lv->due - c->t == FX_CONV_HEAD);
			}
		}
		int seg = FX_CONV_HEAD - pos;
		if (seg > frames - done)
			seg = frames - done;
		take_input(c, in, done, pos, seg);
		give_output(c, out, done, pos, seg);
		c->t += seg;
		done += seg;
	}
}

/* SPDX-License-Identifier: ISC */
/* The convolver's realtime path: no allocation, locks or system calls;
 * FFTW's new-array execute functions run plans made at setup. */
#include "dsp/convolver_impl.h"

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
	       (size_t)s->outputs * (size_t)c->nmax * sizeof *c->out_ring);
	for (int k = 0; k < c->n_levels; k++) {
		Level *lv = &c->levels[k];
		memset(lv->fdl, 0,
		       (size_t)s->inputs * lv->depth * lv->stride *
		               sizeof *lv->fdl);
		lv->newest = 0;
	}
	c->t = 0;
}

/* At a boundary of @p lv's blocks: transforms each input's last 2n frames
 * into a new spectrum, and adds, for the next n frames of each output,
 * every path's partitions applied to the spectra as old as their place in
 * the response. */
static void run_level(FxConvolver *c, Level *lv)
{
	const FxConvolverShape *s = &c->shape;
	int n = lv->n, ring = 2 * c->nmax, bins = n + 1;
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
	int skip = (int)(lv->start / n) - 1; /* spectra older than the head */
	for (int o = 0; o < s->outputs; o++) {
		int any = 0;
		for (int p = 0; p < s->paths; p++) {
			if (s->route[p][1] != o)
				continue;
			if (!any)
				memset(c->spec, 0,
				       (size_t)bins * sizeof *c->spec);
			any = 1;
			const fftwf_complex *fdl = lv->fdl +
			                           (size_t)s->route[p][0] *
			                                   lv->depth * lv->stride;
			const fftwf_complex *h = lv->h + (size_t)p * lv->parts *
			                                         lv->stride;
			for (int k = 0; k < lv->active; k++) {
				int slot = lv->newest - skip - k;
				if (slot < 0)
					slot += lv->depth;
				c->multiply_add(
					(float *)c->spec,
					(const float *)(fdl + (size_t)slot *
				                                      lv->stride),
					(const float *)(h +
				                        (size_t)k * lv->stride),
					bins);
			}
		}
		if (!any)
			continue;
		fftwf_execute_dft_c2r(lv->inv, c->spec, c->time);
		/* Overlap-save: the second half is the linear convolution. */
		float *y = c->out_ring + (size_t)o * c->nmax;
		int at = (int)(c->t & (c->nmax - 1));
		for (int j = 0; j < n; j++)
			y[at + j] += c->time[n + j];
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
	int at = (int)(c->t & (c->nmax - 1));
	for (int o = 0; o < s->outputs; o++) {
		float *y = out[o] + done;
		float *ahead = c->out_ring + (size_t)o * c->nmax + at;
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
				if (lv->active && !(c->t & (lv->n - 1)))
					run_level(c, lv);
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

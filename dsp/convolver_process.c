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
	       (size_t)s->inputs * 4 * (size_t)c->nmax * sizeof *c->in_ring);
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
		lv->stage = ROUND_DONE; /* no round under way */
	}
	c->t = 0;
}

/* x[m] = every @p stride-th frame of @p src from @p from, @p count of
 * them: in runs that do not cross the ring's end, so the inner loop has
 * no wrap to test. */
HOT_LOOP static void gather_strided(float *restrict x, ConvRing src,
                                    long long from, int stride, int count)
{
	for (int m = 0; m < count;) {
		long long at = (from + (long long)stride * m) & src.mask;
		long long run = (src.mask - at) / stride + 1;
		int end = run < count - m ? m + (int)run : count;
		const float *restrict y = src.base + at;
		for (int j = 0; m < end; j++, m++)
			x[m] = y[(long long)j * stride];
	}
}

/* The scatter back: every @p stride-th frame of @p dst from @p at gets
 * x[m] added. */
HOT_LOOP static void scatter_add(ConvRing dst, long long at, int stride,
                                 const float *restrict x, int count)
{
	for (int m = 0; m < count;) {
		long long to = (at + (long long)stride * m) & dst.mask;
		long long run = (dst.mask - to) / stride + 1;
		int end = run < count - m ? m + (int)run : count;
		float *restrict y = dst.base + to;
		for (int j = 0; m < end; j++, m++)
			y[(long long)j * stride] += x[m];
	}
}

/* Sub-transform @p r of the 2n frames of @p src from @p from: every
 * split-th frame from from + r, into the first pass's buffer (or @p out
 * when the transform is not split). */
static void forward_sub(FxConvolver *c, Level *lv, ConvRing src, long long from,
                        int r, fftwf_complex *out)
{
	if (lv->split == 1) {
		/* The window, in one piece or two. */
		long long at = from & src.mask, first = src.mask + 1 - at;
		if (first > lv->sub)
			first = lv->sub;
		memcpy(c->gather, src.base + at, (size_t)first * sizeof(float));
		memcpy(c->gather + first, src.base,
		       (size_t)(lv->sub - first) * sizeof(float));
	} else {
		gather_strided(c->gather, src, from + r, lv->split, lv->sub);
	}
	fftwf_complex *to =
		lv->passes ? lv->pass[0] + (size_t)r * conv_stride(lv->sub / 2)
			   : out;
	fftwf_execute_dft_r2c(lv->fwd, c->gather, to);
}

/* Where pass @p p's step at bin @p k works: sequences of real length
 * len (the halves) and 2 len (the whole), half of them pairs apart, a
 * twiddle every step-th of the table, bins k to end. */
typedef struct {
	int len, half, step, end;
	size_t from_stride, to_stride; ///< a half's and a whole's spectra
} PassPlace;

static PassPlace pass_place(const Level *lv, int p, int k)
{
	PassPlace at;
	at.len = lv->sub << (p - 1);
	at.half = lv->split >> p;
	at.step = lv->n / at.len;
	at.end = k + CONV_PASS_BINS;
	if (at.end > at.len / 2 + 1)
		at.end = at.len / 2 + 1;
	at.from_stride = conv_stride(at.len / 2);
	at.to_stride = conv_stride(at.len);
	return at;
}

/* Forward pass @p p (1..passes), sequence @p r, bins @p k on: joins the
 * spectra of the even and odd halves (real length len) of a sequence of
 * 2 len. X[k] = E[k] + W^k O[k] and X[len - k] = conj(E[k] - W^k O[k])
 * come from the same two bins, k <= len / 2. The last pass writes
 * @p out. */
static void forward_pass(Level *lv, int p, int r, int k, fftwf_complex *out)
{
	PassPlace at = pass_place(lv, p, k);
	const fftwf_complex *in = lv->pass[(p - 1) & 1];
	const float *e = (const float *)(in + (size_t)r * at.from_stride);
	const float *o = (const float *)(in + (size_t)(r + at.half) *
	                                              at.from_stride);
	fftwf_complex *to = p == lv->passes ? out : lv->pass[p & 1];
	float *x = (float *)(to + (size_t)r * at.to_stride);
	const float *w = (const float *)lv->twiddle;
	for (int j = k; j < at.end; j++) {
		float wr = w[2 * j * at.step], wi = w[2 * j * at.step + 1];
		float er = e[2 * j], ei = e[2 * j + 1];
		float odr = o[2 * j], odi = o[2 * j + 1];
		float tr = wr * odr - wi * odi, ti = wr * odi + wi * odr;
		x[2 * j] = er + tr;
		x[2 * j + 1] = ei + ti;
		x[2 * (at.len - j)] = er - tr;
		x[2 * (at.len - j) + 1] = -(ei - ti);
	}
}

/* Inverse pass @p p (passes..1), sequence @p r, bins @p k on: splits a
 * spectrum of real length 2 len into its halves' (each doubled): with
 * A = X[k] and B = conj(X[len - k]), 2E[k] = A + B and
 * 2O[k] = (A - B) conj(W^k). The first reads @p acc and clears what it
 * read, ready for the next round. */
static void inverse_pass(Level *lv, int p, int r, int k, fftwf_complex *acc)
{
	PassPlace at = pass_place(lv, p, k);
	int len = at.len;
	fftwf_complex *from = p == lv->passes ? acc : lv->pass[p & 1];
	float *x = (float *)(from + (size_t)r * at.to_stride);
	fftwf_complex *to = lv->pass[(p - 1) & 1];
	float *e = (float *)(to + (size_t)r * at.from_stride);
	float *o = (float *)(to + (size_t)(r + at.half) * at.from_stride);
	const float *w = (const float *)lv->twiddle;
	for (int j = k; j < at.end; j++) {
		float wr = w[2 * j * at.step], wi = w[2 * j * at.step + 1];
		float ar = x[2 * j], ai = x[2 * j + 1];
		float br = x[2 * (len - j)], bi = -x[2 * (len - j) + 1];
		float dr = ar - br, di = ai - bi;
		e[2 * j] = ar + br;
		e[2 * j + 1] = ai + bi;
		o[2 * j] = dr * wr + di * wi;
		o[2 * j + 1] = di * wr - dr * wi;
		if (from == acc) {
			x[2 * j] = x[2 * j + 1] = 0;
			x[2 * (len - j)] = x[2 * (len - j) + 1] = 0;
		}
	}
}

static void add_to(float *restrict y, const float *restrict x, int n)
{
	for (int j = 0; j < n; j++)
		y[j] += x[j];
}

/* Inverse sub-transform @p r, added overlap-save (the second half of
 * the 2n frames is the linear convolution) into @p dst for the n frames
 * from @p at. Unsplit, it reads @p acc and clears it. */
static void inverse_sub(FxConvolver *c, Level *lv, int r, fftwf_complex *acc,
                        ConvRing dst, long long at)
{
	fftwf_complex *from =
		lv->passes ? lv->pass[0] + (size_t)r * conv_stride(lv->sub / 2)
			   : acc;
	fftwf_execute_dft_c2r(lv->inv, from, c->gather);
	if (!lv->passes)
		memset(acc, 0, (size_t)(lv->n + 1) * sizeof *acc);
	int half = lv->sub / 2;
	if (lv->split == 1) {
		/* n frames at a multiple of n: never across the ring's end. */
		add_to(dst.base + (at & dst.mask), c->gather + half, half);
	} else {
		scatter_add(dst, at + r, lv->split, c->gather + half, half);
	}
}

void fx_convolver_transform(FxConvolver *c, Level *lv, ConvRing src,
                            long long from, fftwf_complex *out)
{
	for (int r = 0; r < lv->split; r++)
		forward_sub(c, lv, src, from, r, out);
	for (int p = 1; p <= lv->passes; p++)
		for (int r = 0; r < lv->split >> p; r++)
			for (int k = 0; k <= (lv->sub << (p - 1)) / 2;
			     k += CONV_PASS_BINS)
				forward_pass(lv, p, r, k, out);
}

static ConvRing input_ring(FxConvolver *c, int i)
{
	long long len = 4LL * c->nmax;
	return (ConvRing){c->in_ring + (size_t)i * (size_t)len, len - 1};
}

static ConvRing output_ring(FxConvolver *c, int o)
{
	long long len = 2LL * c->nmax;
	return (ConvRing){c->out_ring + (size_t)o * (size_t)len, len - 1};
}

static fftwf_complex *newest_spectrum(Level *lv, int i)
{
	return lv->fdl + ((size_t)i * lv->depth + lv->newest) * lv->stride;
}

/* acc += pair @p q's partition @p k applied to the input spectrum as old
 * as its place in the response, for the output block that starts
 * @p late blocks after the newest spectrum's end, less one (1: the block
 * that starts now; 2: the one after it); @p bins bins from @p from. */
static void apply_partition(FxConvolver *c, Level *lv, fftwf_complex *acc,
                            int q, int k, int late, int from, int bins)
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
	c->multiply_add((float *)(acc + from), (const float *)(x + from),
	                (const float *)(h + from), bins);
}

/* A level without slack (the first, from frame n, never split): at its
 * boundary, the output for the next n frames, at once. */
static void run_level(FxConvolver *c, Level *lv)
{
	lv->newest = lv->newest + 1 == lv->depth ? 0 : lv->newest + 1;
	for (int i = 0; i < c->shape.inputs; i++)
		forward_sub(c, lv, input_ring(c, i), c->t - 2 * lv->n, 0,
		            newest_spectrum(lv, i));
	for (int q = 0; q < c->n_pairs; q++) {
		if (q == 0 || c->pair_out[q] != c->pair_out[q - 1])
			memset(c->spec, 0, (size_t)(lv->n + 1) * sizeof *c->spec);
		for (int k = 0; k < lv->active; k++)
			apply_partition(c, lv, c->spec, q, k, 1, 0, lv->n + 1);
		if (q + 1 == c->n_pairs || c->pair_out[q + 1] != c->pair_out[q])
			inverse_sub(c, lv, 0, c->spec,
			            output_ring(c, c->pair_out[q]), c->t);
	}
}

/* A level with slack, at its boundary: a round of work for the output
 * block after the next (the newest spectra first), spread over the
 * n / 64 head blocks before it is due. */
static void start_round(FxConvolver *c, Level *lv)
{
	lv->newest = lv->newest + 1 == lv->depth ? 0 : lv->newest + 1;
	lv->window = c->t;
	lv->due = c->t + lv->n;
	lv->stage = ROUND_FWD_SUB;
	lv->ch = lv->step = lv->r = lv->k = 0;
	lv->credit = 0;
}

/* The round's steps, one a call; a stage moves the cursor on when it is
 * through. What each costs is step_costs' to say. */
static void next_input(FxConvolver *c, Level *lv)
{
	lv->r = lv->k = 0;
	if (++lv->ch < c->shape.inputs) {
		lv->stage = ROUND_FWD_SUB;
		return;
	}
	lv->stage = ROUND_PRODUCTS;
	lv->ch = lv->step = 0;
}

/* Advances a pass's cursor (sequence r, bins from k) over @p p's
 * sequences; 1 when the pass is through. */
static int next_bins(Level *lv, int p)
{
	lv->k += CONV_PASS_BINS;
	if (lv->k <= (lv->sub << (p - 1)) / 2)
		return 0;
	lv->k = 0;
	if (++lv->r < lv->split >> p)
		return 0;
	lv->r = 0;
	return 1;
}

static void step_forward_sub(FxConvolver *c, Level *lv)
{
	forward_sub(c, lv, input_ring(c, lv->ch), lv->window - 2 * lv->n, lv->r,
	            newest_spectrum(lv, lv->ch));
	if (++lv->r < lv->split)
		return;
	lv->r = 0;
	if (lv->passes) {
		lv->stage = ROUND_FWD_PASS;
		lv->step = 1;
	} else {
		next_input(c, lv);
	}
}

static void step_forward_pass(FxConvolver *c, Level *lv)
{
	forward_pass(lv, lv->step, lv->r, lv->k, newest_spectrum(lv, lv->ch));
	if (next_bins(lv, lv->step) && ++lv->step > lv->passes)
		next_input(c, lv);
}

static fftwf_complex *round_sum(FxConvolver *c, Level *lv)
{
	return lv->acc + (size_t)c->pair_out[lv->ch] * lv->stride;
}

/* The bins a products step takes from k: a large partition's in parts
 * (each bin's sum still runs over the partitions in order); 0 once the
 * pair's partitions are through. */
static int product_bins(const Level *lv)
{
	int bins = lv->step < lv->active ? lv->n + 1 - lv->k : 0;
	return bins < CONV_PRODUCT_BINS ? bins : CONV_PRODUCT_BINS;
}

static void step_products(FxConvolver *c, Level *lv)
{
	int q = lv->ch, bins = product_bins(lv);
	if (bins) {
		apply_partition(c, lv, round_sum(c, lv), q, lv->step, 2, lv->k,
		                bins);
		lv->k += bins;
		if (lv->k == lv->n + 1) {
			lv->k = 0;
			lv->step++;
		}
		return;
	}
	/* The pair is through: the output's sum is whole after its last. */
	if (q + 1 < c->n_pairs && c->pair_out[q + 1] == c->pair_out[q]) {
		lv->ch++;
		lv->step = 0;
		return;
	}
	lv->r = lv->k = 0;
	lv->stage = lv->passes ? ROUND_INV_PASS : ROUND_INV_SUB;
	lv->step = lv->passes;
}

static void step_inverse_pass(FxConvolver *c, Level *lv)
{
	inverse_pass(lv, lv->step, lv->r, lv->k, round_sum(c, lv));
	if (next_bins(lv, lv->step) && --lv->step == 0)
		lv->stage = ROUND_INV_SUB;
}

static void step_inverse_sub(FxConvolver *c, Level *lv)
{
	inverse_sub(c, lv, lv->r, round_sum(c, lv),
	            output_ring(c, c->pair_out[lv->ch]), lv->due);
	if (++lv->r < lv->split)
		return;
	lv->r = 0;
	lv->step = 0;
	lv->stage = ++lv->ch < c->n_pairs ? ROUND_PRODUCTS : ROUND_DONE;
}

static void (*const round_steps[ROUND_DONE])(FxConvolver *, Level *) = {
	[ROUND_FWD_SUB] = step_forward_sub,
	[ROUND_FWD_PASS] = step_forward_pass,
	[ROUND_PRODUCTS] = step_products,
	[ROUND_INV_PASS] = step_inverse_pass,
	[ROUND_INV_SUB] = step_inverse_sub,
};

/* What the step the round is at will cost (0: a stage moving on), in
 * the units of Level.budget (convolver_impl.h). */
static long transform_step_cost(const Level *lv)
{
	return lv->sub_cost;
}

static long pass_step_cost(const Level *lv)
{
	int bins = (lv->sub << (lv->step - 1)) / 2 + 1 - lv->k;
	return conv_pass_cost(bins < CONV_PASS_BINS ? bins : CONV_PASS_BINS);
}

static long product_step_cost(const Level *lv)
{
	return conv_product_cost(product_bins(lv));
}

static long (*const step_costs[ROUND_DONE])(const Level *) = {
	[ROUND_FWD_SUB] = transform_step_cost,
	[ROUND_FWD_PASS] = pass_step_cost,
	[ROUND_PRODUCTS] = product_step_cost,
	[ROUND_INV_PASS] = pass_step_cost,
	[ROUND_INV_SUB] = transform_step_cost,
};

/* A head block's share of @p lv's round: the steps its credit pays for,
 * what is left of the credit kept for the next (so large steps wait
 * for theirs, and the levels' large steps do not meet at a common
 * boundary); all that is left when @p last (the last head block before
 * the output is due). The sums run in the same order however the work
 * is cut. */
static void step_round(FxConvolver *c, Level *lv, int last)
{
	lv->credit += lv->budget;
	while (lv->stage != ROUND_DONE) {
		long cost = step_costs[lv->stage](lv);
		if (cost > lv->credit && !last)
			break;
		round_steps[lv->stage](c, lv);
		lv->credit -= cost;
	}
}

/* Writes @p seg frames of each input at the current time (never across a
 * head block's end). */
static void take_input(FxConvolver *c, const float *const *in, int done,
                       int pos, int seg)
{
	int ring = 4 * c->nmax, at = (int)(c->t & (ring - 1));
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

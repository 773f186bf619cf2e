/* SPDX-License-Identifier: ISC */
#include "dsp/sos.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* FX_SOS_PORTABLE forces the scalar kernel, FX_SOS_NO_AVX2 the SSE2 one
 * (for testing the fallbacks on any x86 machine). */
#if defined(__x86_64__) && !defined(FX_SOS_PORTABLE)
#define HAVE_X86 1
#include <immintrin.h>
#endif

/* Numerics. Every path keeps double state in the state-space form of TDF-II:
 *   y = b0*x + z1; z1' = -a1*z1 + (c1*x + z2); z2' = -a2*z1 + c2*x
 * with c1 = b1 - a1*b0, c2 = b2 - a2*b0. Float state misses the 1e-5
 * accuracy target on low cutoffs (measured 7e-4 for a 20 Hz order-4
 * highpass at 96 kHz, 1.0e-5 for an order-10 1 kHz lowpass at 48 kHz), and
 * double costs little: the kernels are bound by latency more than by
 * vector width (bench/bench_dsp: stereo order 10, 256 frames, ~0.6 us).
 * So there is one precision: no path switch during a glide, no state to
 * convert.
 *
 * Layout. Channels go in pairs (an odd last channel is paired with itself)
 * and sections in pairs, so one 4-lane vector holds
 *   [s=2j ch0, s=2j ch1, s=2j+1 ch0, s=2j+1 ch1].
 * coef[j][m][lane] holds coefficient m (b0, c1, c2, -a1, -a2) of the
 * lane's section, state[pair][j][z1|z2][lane] its state. An odd section
 * count leaves a padding section with zero coefficients, whose output is
 * never read.
 *
 * Kernels, one per section count, from a table chosen at fx_sos_new for
 * the CPU:
 *  - AVX2+FMA: a wavefront. At step t section s filters sample
 *    t - skew*s, so all sections of a channel pair advance in one
 *    instruction each. With skew 2 (up to 6 sections) a section reads its
 *    input from two steps back, which hides the shuffle+FMA latency
 *    between sections; longer cascades use skew 1, as the extra registers
 *    would spill. Each call starts and ends with an empty pipeline: the
 *    first and last skew*(n-1) steps commit state only in lanes whose
 *    sample lies inside the call. Those masked steps do the same
 *    arithmetic as the full ones, so the output is bit-identical for any
 *    chunking.
 *  - SSE2 (x86-64 baseline): one channel pair per 2-lane vector, all
 *    sections per sample.
 *  - elsewhere: plain scalar C. */

enum {
	MAXJ = (FX_MAX_SECTIONS + 1) / 2, ///< section pairs
	NCOEF = 5,                        ///< b0, c1, c2, -a1, -a2
};

typedef void Kernel(FxSos *s, const float *const *in, float *const *out,
                    int frames);

struct FxSosImpl {
	int channels;
	int max_sections;
	int n;
	int pairs;
	int maxj;                 ///< section pairs allocated per channel pair
	Kernel *const *kernels;   ///< [n], for this CPU
	Kernel *kernel;           ///< kernels[n], NULL when n == 0
	double (*coef)[NCOEF][4]; ///< [MAXJ]
	double (*state)[2][4];    ///< [pairs * maxj]
};

static double *zslot(FxSos *s, int pair, int sec)
{
	return s->state[(size_t)pair * s->maxj + sec / 2][0];
}

/* ---- portable scalar kernel ---------------------------------------- */

/* Explicit fma() where it is one instruction; otherwise mul+add, which no
 * compiler can contract without FMA hardware. Either way every sample runs
 * the same operations. */
#ifdef FP_FAST_FMA
#define MADD(a, b, c) fma(a, b, c)
#else
#define MADD(a, b, c) ((a) * (b) + (c))
#endif

static void kernel_scalar(FxSos *s, const float *const *in, float *const *out,
                          int frames)
{
	const int n = s->n;
	for (int c = 0; c < s->channels; c++) {
		double z1[FX_MAX_SECTIONS], z2[FX_MAX_SECTIONS];
		int lane = c & 1;
		for (int k = 0; k < n; k++) {
			double(*z)[4] =
				s->state[(size_t)(c / 2) * s->maxj + k / 2];
			z1[k] = z[0][(k & 1) * 2 + lane];
			z2[k] = z[1][(k & 1) * 2 + lane];
		}
		const float *x = in[c];
		float *y = out[c];
		for (int i = 0; i < frames; i++) {
			double v = x[i];
			for (int k = 0; k < n; k++) {
				const double(*q)[4] = s->coef[k / 2];
				int l = (k & 1) * 2;
				double o = MADD(q[0][l], v, z1[k]);
				double t = MADD(q[1][l], v, z2[k]);
				z2[k] = MADD(q[4][l], z1[k], q[2][l] * v);
				z1[k] = MADD(q[3][l], z1[k], t);
				v = o;
			}
			y[i] = (float)v;
		}
		for (int k = 0; k < n; k++) {
			double(*z)[4] =
				s->state[(size_t)(c / 2) * s->maxj + k / 2];
			z[0][(k & 1) * 2 + lane] = z1[k];
			z[1][(k & 1) * 2 + lane] = z2[k];
		}
	}
}

#ifdef HAVE_X86

#define INLINE static inline __attribute__((always_inline))

/* Input and output pointers of channel pair p; an odd last channel is
 * paired with itself (its twin lane computes the same values). */
static void pair_io(const FxSos *s, const float *const *in, float *const *out,
                    int p, const float **x0, const float **x1, float **y0,
                    float **y1)
{
	int c0 = 2 * p, c1 = c0 + 1 < s->channels ? c0 + 1 : c0;
	*x0 = in[c0];
	*x1 = in[c1];
	*y0 = out[c0];
	*y1 = out[c1];
}

/* ---- SSE2 kernel (x86-64 baseline) --------------------------------- */

/* No FMA in this target, so nothing here is contracted (and with -mfma
 * each n still has a single copy of the loop: chunking cannot matter). */
INLINE void sse2_pairs(FxSos *s, const float *const *in, float *const *out,
                       int frames, const int n)
{
	for (int p = 0; p < s->pairs; p++) {
		const float *x0, *x1;
		float *y0, *y1;
		pair_io(s, in, out, p, &x0, &x1, &y0, &y1);
		__m128d z1[FX_MAX_SECTIONS], z2[FX_MAX_SECTIONS];
#pragma GCC unroll 16
		for (int k = 0; k < n; k++) {
			double *z = zslot(s, p, k) + (k & 1) * 2;
			z1[k] = _mm_load_pd(z);
			z2[k] = _mm_load_pd(z + 4);
		}
		for (int i = 0; i < frames; i++) {
			__m128d v = _mm_cvtps_pd(_mm_unpacklo_ps(
				_mm_load_ss(x0 + i), _mm_load_ss(x1 + i)));
#pragma GCC unroll 16
			for (int k = 0; k < n; k++) {
				const double *q = s->coef[k / 2][0] + (k & 1) * 2;
				__m128d o = _mm_add_pd(
					_mm_mul_pd(_mm_load_pd(q), v), z1[k]);
				__m128d t = _mm_add_pd(
					_mm_mul_pd(_mm_load_pd(q + 4), v), z2[k]);
				z2[k] = _mm_add_pd(
					_mm_mul_pd(_mm_load_pd(q + 16), z1[k]),
					_mm_mul_pd(_mm_load_pd(q + 8), v));
				z1[k] = _mm_add_pd(
					_mm_mul_pd(_mm_load_pd(q + 12), z1[k]),
					t);
				v = o;
			}
			__m128 f = _mm_cvtpd_ps(v);
			y1[i] = _mm_cvtss_f32(_mm_shuffle_ps(f, f, 1));
			y0[i] = _mm_cvtss_f32(f); // last: an odd channel's twin is y0
		}
#pragma GCC unroll 16
		for (int k = 0; k < n; k++) {
			double *z = zslot(s, p, k) + (k & 1) * 2;
			_mm_store_pd(z, z1[k]);
			_mm_store_pd(z + 4, z2[k]);
		}
	}
}

#define SSE2_KERNEL(N)                                         \
	static void sse2_##N(FxSos *s, const float *const *in, \
	                     float *const *out, int frames)    \
	{                                                      \
		sse2_pairs(s, in, out, frames, N);             \
	}
SSE2_KERNEL(1)
SSE2_KERNEL(2)
SSE2_KERNEL(3)
SSE2_KERNEL(4)
SSE2_KERNEL(5)
SSE2_KERNEL(6)
SSE2_KERNEL(7)
SSE2_KERNEL(8)
SSE2_KERNEL(9)
SSE2_KERNEL(10)
SSE2_KERNEL(11)
SSE2_KERNEL(12)
SSE2_KERNEL(13)
SSE2_KERNEL(14)
SSE2_KERNEL(15)
SSE2_KERNEL(16)

static Kernel *const sse2_kernels[FX_MAX_SECTIONS + 1] = {
	NULL,    sse2_1,  sse2_2,  sse2_3,  sse2_4,  sse2_5,
	sse2_6,  sse2_7,  sse2_8,  sse2_9,  sse2_10, sse2_11,
	sse2_12, sse2_13, sse2_14, sse2_15, sse2_16,
};

/* ---- AVX2+FMA wavefront kernel ------------------------------------- */

#define AVX2 __attribute__((target("avx2,fma")))

enum { MAXG = 2 }; ///< channel pairs interleaved in one wavefront loop

/* One wavefront step for G channel pairs: feed xin[g] to section 0, shift
 * every section's output from skew steps back (o, or o1 for skew 2) one
 * section on, run all sections. Arrays are indexed g * J + j. With
 * MASKED, state is committed only where lo < skew*s <= hi (sec holds
 * skew*s per lane). All ops are explicit FMAs or a product feeding an FMA
 * addend, so no contraction choice can differ between the masked and the
 * full step. */
AVX2 INLINE void wf_step(const int G, const int J, const double (*q)[NCOEF][4],
                         const int skew, __m256d *z1, __m256d *z2, __m256d *o,
                         __m256d *o1, const __m128d *xin, const int masked,
                         const __m256d *sec, __m256d lo, __m256d hi)
{
	/* Hide q's value so the coefficients are not hoisted out of the loop:
	 * 15+ of them do not fit in registers and GCC then copies them to the
	 * stack every step; as memory operands of the FMAs they are free. */
	__asm__("" : "+r"(q));
	__m256d v[MAXG * MAXJ];
#pragma GCC unroll 4
	for (int g = 0; g < G; g++) {
		__m256d *og = (skew == 2 ? o1 : o) + g * J;
		v[g * J] = _mm256_insertf128_pd(_mm256_castpd128_pd256(xin[g]),
		                                _mm256_castpd256_pd128(og[0]), 1);
#pragma GCC unroll 8
		for (int j = 1; j < J; j++)
			v[g * J + j] = _mm256_permute2f128_pd(og[j - 1], og[j],
			                                      0x21);
	}
#pragma GCC unroll 8
	for (int j = 0; j < J; j++) {
		__m256d m = _mm256_setzero_pd();
		if (masked)
			m = _mm256_and_pd(_mm256_cmp_pd(sec[j], lo, _CMP_GT_OQ),
			                  _mm256_cmp_pd(sec[j], hi, _CMP_LE_OQ));
#pragma GCC unroll 4
		for (int g = 0; g < G; g++) {
			int i = g * J + j;
			if (skew == 2)
				o1[i] = o[i];
			o[i] = _mm256_fmadd_pd(_mm256_load_pd(q[j][0]), v[i],
			                       z1[i]);
			__m256d t = _mm256_fmadd_pd(_mm256_load_pd(q[j][1]),
			                            v[i], z2[i]);
			__m256d n2 = _mm256_fmadd_pd(
				_mm256_load_pd(q[j][4]), z1[i],
				_mm256_mul_pd(_mm256_load_pd(q[j][2]), v[i]));
			__m256d n1 = _mm256_fmadd_pd(_mm256_load_pd(q[j][3]),
			                             z1[i], t);
			if (masked) {
				n1 = _mm256_blendv_pd(z1[i], n1, m);
				n2 = _mm256_blendv_pd(z2[i], n2, m);
			}
			z1[i] = n1;
			z2[i] = n2;
		}
	}
}

/* Input pair of pair g at sample t, zeros past the end (those lanes are
 * masked). */
AVX2 INLINE void wf_load(const int G, const float *const *x, int t, int frames,
                         __m128d *xin)
{
#pragma GCC unroll 4
	for (int g = 0; g < G; g++)
		xin[g] = t < frames ? _mm_cvtps_pd(_mm_unpacklo_ps(
					      _mm_load_ss(x[2 * g] + t),
					      _mm_load_ss(x[2 * g + 1] + t)))
		                    : _mm_setzero_pd();
}

/* Stores section n-1's output pairs for sample i. */
AVX2 INLINE void wf_store(const int G, const int n, const __m256d *o,
                          float *const *y, int i)
{
	const int J = (n + 1) / 2, j = (n - 1) / 2;
#pragma GCC unroll 4
	for (int g = 0; g < G; g++) {
		__m256d r = o[g * J + j];
		__m128 f = _mm_cvtpd_ps((n - 1) & 1 ? _mm256_extractf128_pd(r, 1)
		                                    : _mm256_castpd256_pd128(r));
		/* Plain float stores: intrinsic stores may alias anything. The
		 * second lane goes first: an odd channel's twin writes y0 too. */
		y[2 * g + 1][i] = _mm_cvtss_f32(_mm_shuffle_ps(f, f, 1));
		y[2 * g][i] = _mm_cvtss_f32(f);
	}
}

/* Runs G channel pairs from pair p through the n sections. */
AVX2 INLINE void wf_group(FxSos *s, const float *const *in, float *const *out,
                          int frames, int p, const int n, const int G)
{
	const int J = (n + 1) / 2, skew = J <= 3 ? 2 : 1;
	const int last = skew * (n - 1), steps = frames + last;
	const double(*q)[NCOEF][4] = (const double(*)[NCOEF][4])s->coef;
	const float *x[2 * MAXG];
	float *y[2 * MAXG];
	__m256d sec[MAXJ], z1[MAXG * MAXJ], z2[MAXG * MAXJ], o[MAXG * MAXJ];
	__m256d o1[MAXG * MAXJ];
	__m128d xin[MAXG];
#pragma GCC unroll 8
	for (int j = 0; j < J; j++)
		sec[j] = _mm256_setr_pd(skew * 2 * j, skew * 2 * j,
		                        skew * (2 * j + 1), skew * (2 * j + 1));
#pragma GCC unroll 4
	for (int g = 0; g < G; g++) {
		pair_io(s, in, out, p + g, &x[2 * g], &x[2 * g + 1], &y[2 * g],
		        &y[2 * g + 1]);
		double(*st)[2][4] = s->state + (size_t)(p + g) * s->maxj;
#pragma GCC unroll 8
		for (int j = 0; j < J; j++) {
			z1[g * J + j] = _mm256_load_pd(st[j][0]);
			z2[g * J + j] = _mm256_load_pd(st[j][1]);
			o[g * J + j] = o1[g * J + j] = _mm256_setzero_pd();
		}
	}
	int t = 0;
	const __m256d zero = _mm256_setzero_pd();
	/* Fill: section s starts at step skew*s. */
	for (; t < last && t < steps; t++) {
		wf_load(G, x, t, frames, xin);
		wf_step(G, J, q, skew, z1, z2, o, o1, xin, 1, sec,
		        _mm256_set1_pd(t - frames), _mm256_set1_pd(t));
	}
	/* Full pipeline. */
	for (; t < frames; t++) {
		wf_load(G, x, t, frames, xin);
		wf_step(G, J, q, skew, z1, z2, o, o1, xin, 0, sec, zero, zero);
		wf_store(G, n, o, y, t - last);
	}
	/* Drain: section s stops after step frames - 1 + skew*s. */
	for (; t < steps; t++) {
		wf_load(G, x, t, frames, xin);
		wf_step(G, J, q, skew, z1, z2, o, o1, xin, 1, sec,
		        _mm256_set1_pd(t - frames), _mm256_set1_pd(t));
		wf_store(G, n, o, y, t - last);
	}
#pragma GCC unroll 4
	for (int g = 0; g < G; g++) {
		double(*st)[2][4] = s->state + (size_t)(p + g) * s->maxj;
#pragma GCC unroll 8
		for (int j = 0; j < J; j++) {
			_mm256_store_pd(st[j][0], z1[g * J + j]);
			_mm256_store_pd(st[j][1], z2[g * J + j]);
		}
	}
}

/* One or two sections are bound by the step's latency, so two channel
 * pairs share one loop; more pairs or sections per loop only spill
 * registers (measured). */
AVX2 INLINE void wf_all(FxSos *s, const float *const *in, float *const *out,
                        int frames, const int n)
{
	int p = 0;
	if (n <= 2)
		for (; p + 2 <= s->pairs; p += 2)
			wf_group(s, in, out, frames, p, n, 2);
	for (; p < s->pairs; p++)
		wf_group(s, in, out, frames, p, n, 1);
}

#define AVX2_KERNEL(N)                                              \
	AVX2 static void avx2_##N(FxSos *s, const float *const *in, \
	                          float *const *out, int frames)    \
	{                                                           \
		wf_all(s, in, out, frames, N);                      \
	}
AVX2_KERNEL(1)
AVX2_KERNEL(2)
AVX2_KERNEL(3)
AVX2_KERNEL(4)
AVX2_KERNEL(5)
AVX2_KERNEL(6)
AVX2_KERNEL(7)
AVX2_KERNEL(8)
AVX2_KERNEL(9)
AVX2_KERNEL(10)
AVX2_KERNEL(11)
AVX2_KERNEL(12)
AVX2_KERNEL(13)
AVX2_KERNEL(14)
AVX2_KERNEL(15)
AVX2_KERNEL(16)

static Kernel *const avx2_kernels[FX_MAX_SECTIONS + 1] = {
	NULL,    avx2_1,  avx2_2,  avx2_3,  avx2_4,  avx2_5,
	avx2_6,  avx2_7,  avx2_8,  avx2_9,  avx2_10, avx2_11,
	avx2_12, avx2_13, avx2_14, avx2_15, avx2_16,
};

static Kernel *const *pick_kernels(void)
{
#ifndef FX_SOS_NO_AVX2
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return avx2_kernels;
#endif
	(void)avx2_kernels;
	(void)kernel_scalar;
	return sse2_kernels;
}

#else

static Kernel *const scalar_kernels[FX_MAX_SECTIONS + 1] = {
	NULL,          kernel_scalar, kernel_scalar, kernel_scalar,
	kernel_scalar, kernel_scalar, kernel_scalar, kernel_scalar,
	kernel_scalar, kernel_scalar, kernel_scalar, kernel_scalar,
	kernel_scalar, kernel_scalar, kernel_scalar, kernel_scalar,
	kernel_scalar,
};

static Kernel *const *pick_kernels(void)
{
	return scalar_kernels;
}

#endif

/* ---- API ------------------------------------------------------------ */

/* The coefficient and state arrays' sizes: multiples of 32 bytes. */
static size_t coef_bytes(void)
{
	return sizeof(double[NCOEF][4]) * MAXJ;
}

static size_t state_bytes(int channels, int max_sections)
{
	return sizeof(double[2][4]) * (size_t)((channels + 1) / 2) *
	       (size_t)((max_sections + 1) / 2);
}

size_t fx_sos_bytes(int channels, int max_sections)
{
	return sizeof(FxSos) + coef_bytes() + state_bytes(channels, max_sections);
}

FxSos *fx_sos_new(int channels, int max_sections, FxStatus *st)
{
	if (channels < 1 || channels > 64 || max_sections < 1 ||
	    max_sections > FX_MAX_SECTIONS) {
		*st = FX_ERR_INVALID;
		return NULL;
	}
	FxSos *s = calloc(1, sizeof *s);
	if (!s) {
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	s->channels = channels;
	s->max_sections = max_sections;
	s->pairs = (channels + 1) / 2;
	s->maxj = (max_sections + 1) / 2;
	/* 32-byte alignment for the AVX loads. */
	size_t csize = coef_bytes();
	size_t ssize = state_bytes(channels, max_sections);
	s->coef = aligned_alloc(32, csize);
	s->state = aligned_alloc(32, ssize);
	if (!s->coef || !s->state) {
		fx_sos_free(s);
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	memset(s->coef, 0, csize);
	memset(s->state, 0, ssize);
	s->kernels = pick_kernels();
	*st = FX_OK;
	return s;
}

void fx_sos_free(FxSos *s)
{
	if (!s)
		return;
	free(s->coef);
	free(s->state);
	free(s);
}

FxStatus fx_sos_set(FxSos *s, const FxSection *sec, int n)
{
	if (n < 0 || n > s->max_sections)
		return FX_ERR_RANGE;
	/* Section n (padding when n is odd) gets zero coefficients. */
	for (int k = 0; k < 2 * ((n + 1) / 2); k++) {
		double v[NCOEF] = {0};
		if (k < n) {
			double a0 = sec[k][3];
			double b0 = sec[k][0] / a0, b1 = sec[k][1] / a0;
			double b2 = sec[k][2] / a0, a1 = sec[k][4] / a0;
			double a2 = sec[k][5] / a0;
			v[0] = b0;
			v[1] = b1 - a1 * b0;
			v[2] = b2 - a2 * b0;
			v[3] = -a1;
			v[4] = -a2;
		}
		for (int m = 0; m < NCOEF; m++)
			s->coef[k / 2][m][(k & 1) * 2] =
				s->coef[k / 2][m][(k & 1) * 2 + 1] = v[m];
	}
	for (int k = s->n; k < n; k++)
		for (int p = 0; p < s->pairs; p++) {
			double *z = zslot(s, p, k) + (k & 1) * 2;
			z[0] = z[1] = z[4] = z[5] = 0.0;
		}
	s->n = n;
	s->kernel = s->kernels[n];
	return FX_OK;
}

void fx_sos_reset(FxSos *s)
{
	memset(s->state, 0, sizeof(*s->state) * (size_t)s->pairs * s->maxj);
}

void fx_sos_get_state(const FxSos *s, int channel, int section, double z[2])
{
	const double(
		*p)[4] = s->state[(size_t)(channel / 2) * s->maxj + section / 2];
	int lane = (section & 1) * 2 + (channel & 1);
	z[0] = p[0][lane];
	z[1] = p[1][lane];
}

void fx_sos_set_state(FxSos *s, int channel, int section, const double z[2])
{
	double(*p)[4] = s->state[(size_t)(channel / 2) * s->maxj + section / 2];
	int lane = (section & 1) * 2 + (channel & 1);
	p[0][lane] = z[0];
	p[1][lane] = z[1];
	if (channel + 1 == s->channels && !(channel & 1)) {
		/* Keep an odd last channel's twin lane identical. */
		p[0][lane + 1] = z[0];
		p[1][lane + 1] = z[1];
	}
}

int fx_sos_sections(const FxSos *s)
{
	return s->n;
}

void fx_sos_process(FxSos *s, const float *const *in, float *const *out,
                    int frames)
{
	if (frames <= 0)
		return;
	if (!s->kernel) {
		/* No sections: the identity. */
		for (int c = 0; c < s->channels; c++)
			if (out[c] != in[c])
				memmove(out[c], in[c],
				        (size_t)frames * sizeof(float));
		return;
	}
	s->kernel(s, in, out, frames);
}

/* SPDX-License-Identifier: ISC */
/* fxd — parallel-in-time filtering of a cascade of second-order sections:
 * the per-segment math. The CPU driver (clients/file/ptime_run.c) and the CUDA
 * kernels both compile this header; under nvcc every function is
 * __host__ __device__. Plain arithmetic (and fma) only: no other libc
 * call, no allocation.
 *
 * Math. Section k in the state-space TDF-II form of sos.c,
 *   o = b0*v + z1;  z1' = -a1*z1 + (c1*v + z2);  z2' = -a2*z1 + c2*v
 * (c1 = b1 - a1*b0, c2 = b2 - a2*b0, v its input, o its output and the next
 * section's v), makes the cascade a linear system whose state is the
 * m = 2n doubles s = (z1_0, z2_0, z1_1, z2_1, ...):
 *   s[t+1] = A s[t] + B x[t],   y[t] = C s[t] + D x[t].
 * Over a segment of L samples entered in state s0, output and end state are
 * linear in (s0, x), so they split into
 *   y[t] = y_zs[t] + C A^t s0          (zero-state + zero-input response)
 *   s_L  = e + T s0,  T = A^L          (e: the zero-state end state).
 * A segment is thus the affine map s -> T s + e. Maps compose as
 *   (T2, e2) o (T1, e1) = (T2 T1, T2 e1 + e2),
 * an associative product, so the state entering each segment comes from a
 * sequential pass (CPU) or a scan (CUDA). Since section k is driven only by
 * sections < k, A and all its powers are block lower triangular in 2x2
 * blocks; the matrix routines below skip the zero blocks.
 *
 * Parallel filtering of one channel cut into segments:
 *  1. each segment in parallel, from zero state (the first from the true
 *     state, which makes it exact): y_zs and e       fx_pt_segment_*
 *  2. sequentially, or by a scan: s_{k+1} = T s_k + e_k  fx_pt_affine_apply*
 *  3. each segment k >= 1 in parallel: y = y_zs + C A^t s_k, rounded to
 *     the sample type once                           fx_pt_fixup_*
 * T comes from fx_pt_transition (squaring in double-double, O(m^3 log L))
 * or fx_pt_transition_direct (the recursion on unit states, O(m n L)).
 *
 * Early stop (step 3). The zero-input state is checked every
 * FX_PT_BLOCK samples; once its largest component is at most
 * tol * max|s_k| the rest of the response is dropped (y = y_zs). With
 * tol = FX_PT_TOL_F32 (2^-44, 5.7e-14) or FX_PT_TOL_F64 (2^-64, 5.4e-20),
 * the dropped tail is below float's half ulp (6e-8) and the 1e-10 bound
 * by a margin of 1e6 or more, which covers the transient growth of
 * ||C A^t|| in resonant cascades and momentary dips of the state norm
 * (an oscillating state passes near zero at most ~theta/2 of its envelope,
 * theta the pole angle: 6.5e-4 for a 20 Hz pole at 96 kHz). Where the
 * response decays slowly (the slowest pole of a 20 Hz order-4 highpass at
 * 96 kHz has radius 0.9995: ~55k samples to 2^-44) the fix-up simply runs
 * the whole segment.
 *
 * Variants. Samples are float (_f32) or double (_f64); the state and all
 * arithmetic are double, and float output is rounded once, at the end.
 * Work goes in blocks of FX_PT_BLOCK samples, section by section, so a
 * section's state stays in registers over a block and its recursion has
 * one multiply-add per sample on the critical path. The _lanes variants
 * run FX_PT_LANES independent streams (segments or channels of one
 * filter, all of one length) in lockstep, SIMD across streams: two
 * interleaved 4-double GCC vectors under GCC or clang (8 streams), plain
 * doubles elsewhere and under nvcc (1 stream: the _lanes variants are the
 * one-stream ones). A block reads all lanes' samples before it writes
 * any, so a lane may duplicate another (same pointers, same state) as
 * padding, and _f64 may work in place.
 */
#ifndef FX_PTIME_H
#define FX_PTIME_H

#ifdef __CUDACC__
#define FX_HD __host__ __device__
#else
#define FX_HD
#endif
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define FX_PT_UNROLL _Pragma("GCC unroll 4") ///< unroll the G loops
#else
#define FX_PT_UNROLL
#endif

#if defined(__GNUC__) && !defined(__CUDACC__)
#define FX_PT_VEC 4   ///< doubles per FxPtVec
#define FX_PT_GROUP 2 ///< FxPtVecs per lane set, interleaved to hide latency
/** FX_PT_VEC doubles, one per stream (aligned like a double, so any double
 *  array can hold them). */
typedef double FxPtVec __attribute__((vector_size(8 * FX_PT_VEC), aligned(8)));
#else
#define FX_PT_VEC 1
#define FX_PT_GROUP 1
typedef double FxPtVec;
#endif
#define FX_PT_LANES (FX_PT_VEC * FX_PT_GROUP) ///< streams per _lanes call

enum {
	FX_PT_MAX_SECTIONS = 16, ///< as FX_MAX_SECTIONS in design.h
	FX_PT_MAX_STATE = 2 * FX_PT_MAX_SECTIONS, ///< m = 2n, at most
	FX_PT_BLOCK = 64, ///< samples per block, and between early-stop checks
};

#define FX_PT_TOL_F32 (0x1p-44) ///< early-stop tolerance, float output
#define FX_PT_TOL_F64 (0x1p-64) ///< early-stop tolerance, double output

/** A cascade's coefficients in the form the recursions use. */
typedef struct {
	int n;                          ///< sections, 0..FX_PT_MAX_SECTIONS
	double b0[FX_PT_MAX_SECTIONS];  ///< b0 / a0
	double c1[FX_PT_MAX_SECTIONS];  ///< b1 - a1*b0 (normalised)
	double c2[FX_PT_MAX_SECTIONS];  ///< b2 - a2*b0 (normalised)
	double na1[FX_PT_MAX_SECTIONS]; ///< -a1 / a0
	double na2[FX_PT_MAX_SECTIONS]; ///< -a2 / a0
} FxPtCoef;

/** Fills @p q from @p n (0..FX_PT_MAX_SECTIONS) sections in scipy's layout
 *  {b0 b1 b2 a0 a1 a2} (an FxSection array), with the arithmetic of
 *  fx_sos_set. Returns 0, or -1 (and q->n = 0) if n is out of range. */
FX_HD static inline int fx_pt_coef_init(FxPtCoef *q, const double (*sec)[6], int n)
{
	q->n = 0;
	if (n < 0 || n > FX_PT_MAX_SECTIONS)
		return -1;
	q->n = n;
	for (int k = 0; k < n; k++) {
		double a0 = sec[k][3];
		double b0 = sec[k][0] / a0, b1 = sec[k][1] / a0;
		double b2 = sec[k][2] / a0, a1 = sec[k][4] / a0;
		double a2 = sec[k][5] / a0;
		q->b0[k] = b0;
		q->c1[k] = b1 - a1 * b0;
		q->c2[k] = b2 - a2 * b0;
		q->na1[k] = -a1;
		q->na2[k] = -a2;
	}
	return 0;
}

/* ---- the recursion ------------------------------------------------------ */

/* fx_pt_block_SUF(q, z, buf, nb): runs the nb (1..FX_PT_BLOCK) samples in
 * buf (input in, output out) through the cascade in state z, section by
 * section. V is double (one stream) or FxPtVec, G values of V per sample
 * (buf[t*G + g]) and per state variable (z[i*G + g]).
 * Inside a block z2 is folded into z1's recursion,
 *   z1[t+1] = -a1*z1[t] + (-a2*z1[t-1] + (c1*v[t] + c2*v[t-1])),
 * which leaves one multiply-add per sample on the critical path; as
 * written in the header comment, z2[t] feeds z1[t+1] and is fed by
 * z1[t-1], three multiply-adds per two samples (measured 14% slower at
 * n = 5 with AVX2; now the loop is bound by multiply-add throughput).
 * z2 is formed again at the end of the block. */
#define FX_PT_BLOCK_FUNC(SUF, V, G)                                          \
	FX_HD static inline void fx_pt_block_##SUF(const FxPtCoef *q, V *z,  \
	                                           V *buf, int nb)           \
	{                                                                    \
		for (int k = 0; k < q->n; k++) {                             \
			const double b0 = q->b0[k], c1 = q->c1[k],           \
				     c2 = q->c2[k];                          \
			const double na1 = q->na1[k], na2 = q->na2[k];       \
			V z1[G], zp[G], vp[G];                               \
			FX_PT_UNROLL                                         \
			for (int g = 0; g < (G); g++) {                      \
				V v = buf[g], z2 = z[(2 * k + 1) * (G) + g]; \
				zp[g] = z[2 * k * (G) + g];                  \
				buf[g] = b0 * v + zp[g];                     \
				z1[g] = na1 * zp[g] + (c1 * v + z2);         \
				vp[g] = v;                                   \
			}                                                    \
			for (int t = 1; t < nb; t++)                         \
				FX_PT_UNROLL                                 \
			for (int g = 0; g < (G); g++) {                      \
				V v = buf[t * (G) + g];                      \
				V w = na2 * zp[g] + (c1 * v + c2 * vp[g]);   \
				buf[t * (G) + g] = b0 * v + z1[g];           \
				zp[g] = z1[g];                               \
				z1[g] = na1 * z1[g] + w;                     \
				vp[g] = v;                                   \
			}                                                    \
			FX_PT_UNROLL                                         \
			for (int g = 0; g < (G); g++) {                      \
				z[2 * k * (G) + g] = z1[g];                  \
				z[(2 * k + 1) * (G) + g] = na2 * zp[g] +     \
				                           c2 * vp[g];       \
			}                                                    \
		}                                                            \
	}

FX_PT_BLOCK_FUNC(1, double, 1)
#if FX_PT_LANES > 1
FX_PT_BLOCK_FUNC(lanes, FxPtVec, FX_PT_GROUP)
#endif

/** One sample @p v through the cascade in state @p z (2n doubles,
 *  updated); returns the output. With v = 0, one zero-input step. */
FX_HD static inline double fx_pt_tick(const FxPtCoef *q, double *z, double v)
{
	fx_pt_block_1(q, z, &v, 1);
	return v;
}

/** r[l] = max_i |z[i*lanes + l]|, over the @p m state variables. */
FX_HD static inline void fx_pt_norm_lanes(int m, const double *z, int lanes,
                                          double *r)
{
	for (int l = 0; l < lanes; l++) {
		r[l] = 0;
		for (int i = 0; i < m; i++) {
			double a = z[i * lanes + l];
			a = a < 0 ? -a : a;
			r[l] = a > r[l] ? a : r[l];
		}
	}
}

/* Moving a block between W sample arrays (one per stream) and buf, where
 * stream l of sample t sits at ((double *)buf)[t*W + l]:
 *   fx_pt_get{1,v}_SUF(x, t0, nb, buf)  buf <- x[l][t0 .. t0+nb)
 *   fx_pt_put{1,v}_SUF(y, t0, nb, buf)  y[l][t0 .. t0+nb) <- buf, rounded
 * 1: one stream; v: FX_PT_LANES streams, by 4x4 transposes. */
#define FX_PT_IO1_FUNCS(SUF, T)                                               \
	FX_HD static inline void fx_pt_get1_##SUF(const T *const *x, long t0, \
	                                          int nb, double *buf)        \
	{                                                                     \
		for (int t = 0; t < nb; t++)                                  \
			buf[t] = (double)x[0][t0 + t];                        \
	}                                                                     \
	FX_HD static inline void fx_pt_put1_##SUF(T *const *y, long t0,       \
	                                          int nb, const double *buf)  \
	{                                                                     \
		for (int t = 0; t < nb; t++)                                  \
			y[0][t0 + t] = (T)buf[t];                             \
	}

FX_PT_IO1_FUNCS(f32, float)
FX_PT_IO1_FUNCS(f64, double)

#if FX_PT_LANES > 1
typedef float FxPtVecF __attribute__((vector_size(4 * FX_PT_VEC), aligned(4)));
typedef long long FxPtMask __attribute__((vector_size(8 * FX_PT_VEC)));

#ifdef __clang__
#define FX_PT_SHUF(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define FX_PT_SHUF(a, b, i, j, k, l) \
	__builtin_shuffle(a, b, (FxPtMask){i, j, k, l})
#endif

/** a[i][j] <-> a[j][i] for four FxPtVecs (in-lane unpacks, then 128-bit
 *  swaps: the AVX idiom). */
static inline void fx_pt_transpose4(FxPtVec *a)
{
	FxPtVec t0 = FX_PT_SHUF(a[0], a[1], 0, 4, 2, 6);
	FxPtVec t1 = FX_PT_SHUF(a[0], a[1], 1, 5, 3, 7);
	FxPtVec t2 = FX_PT_SHUF(a[2], a[3], 0, 4, 2, 6);
	FxPtVec t3 = FX_PT_SHUF(a[2], a[3], 1, 5, 3, 7);
	a[0] = FX_PT_SHUF(t0, t2, 0, 1, 4, 5);
	a[1] = FX_PT_SHUF(t1, t3, 0, 1, 4, 5);
	a[2] = FX_PT_SHUF(t0, t2, 2, 3, 6, 7);
	a[3] = FX_PT_SHUF(t1, t3, 2, 3, 6, 7);
}

#define FX_PT_LOAD_f32(p) \
	__builtin_convertvector(*(const FxPtVecF *)(p), FxPtVec)
#define FX_PT_LOAD_f64(p) (*(const FxPtVec *)(p))
#define FX_PT_STORE_f32(p, v) \
	(*(FxPtVecF *)(p) = __builtin_convertvector(v, FxPtVecF))
#define FX_PT_STORE_f64(p, v) (*(FxPtVec *)(p) = (v))

#define FX_PT_IOV_FUNCS(SUF, T)                                                 \
	static inline void fx_pt_getv_##SUF(const T *const *x, long t0,         \
	                                    int nb, double *buf)                \
	{                                                                       \
		const int W = FX_PT_LANES;                                      \
		int t = 0;                                                      \
		for (; t + 4 <= nb; t += 4)                                     \
			for (int g = 0; g < FX_PT_GROUP; g++) {                 \
				FxPtVec a[4];                                   \
				for (int j = 0; j < 4; j++)                     \
					a[j] = FX_PT_LOAD_##SUF(x[4 * g + j] +  \
					                        t0 + t);        \
				fx_pt_transpose4(a);                            \
				for (int i = 0; i < 4; i++)                     \
					*(FxPtVec *)(buf + (t + i) * W +        \
					             4 * g) = a[i];             \
			}                                                       \
		for (; t < nb; t++)                                             \
			for (int l = 0; l < W; l++)                             \
				buf[t * W + l] = (double)x[l][t0 + t];          \
	}                                                                       \
	static inline void fx_pt_putv_##SUF(T *const *y, long t0, int nb,       \
	                                    const double *buf)                  \
	{                                                                       \
		const int W = FX_PT_LANES;                                      \
		int t = 0;                                                      \
		for (; t + 4 <= nb; t += 4)                                     \
			for (int g = 0; g < FX_PT_GROUP; g++) {                 \
				FxPtVec a[4];                                   \
				for (int i = 0; i < 4; i++)                     \
					a[i] = *(const FxPtVec *)(buf +         \
					                          (t + i) * W + \
					                          4 * g);       \
				fx_pt_transpose4(a);                            \
				for (int j = 0; j < 4; j++)                     \
					FX_PT_STORE_##SUF(                      \
						y[4 * g + j] + t0 + t, a[j]);   \
			}                                                       \
		for (; t < nb; t++)                                             \
			for (int l = 0; l < W; l++)                             \
				y[l][t0 + t] = (T)buf[t * W + l];               \
	}

FX_PT_IOV_FUNCS(f32, float)
FX_PT_IOV_FUNCS(f64, double)
#endif

/* Segment and fix-up over W streams of sample type T (suffix TS), moved by
 * fx_pt_get/put##IO, in G values of type V per sample and per state
 * variable. x, y and zs are W pointers; z is the state, 2n*W doubles,
 * stream l of state variable i at z[i*W + l].
 * fx_pt_segment_SUF(q, x, y, len, z): y = the filtered x (double), from
 *   state z, leaving the end state in z.
 * fx_pt_filter_SUF(q, x, y, len, z): the same with y of type T (rounded
 *   once; y == x allowed): plain filtering, for streams whose true state
 *   is known.
 * fx_pt_fixup_SUF(q, zs, y, len, z, tol): y[t] = zs[t] + (C A^t z)[t] per
 *   stream, rounded to T, with the early stop of the header comment (z is
 *   scratch). Returns the samples that got a zero-input term. */
#define FX_PT_SEGMENT_FUNCS(SUF, BSUF, IO, TS, T, V, G, W)                    \
	FX_HD static inline void fx_pt_segment_##SUF(                         \
		const FxPtCoef *q, const T *const *x, double *const *y,       \
		long len, double *z)                                          \
	{                                                                     \
		V buf[FX_PT_BLOCK * (G)];                                     \
		for (long t0 = 0; t0 < len; t0 += FX_PT_BLOCK) {              \
			int nb = len - t0 < FX_PT_BLOCK ? (int)(len - t0)     \
			                                : FX_PT_BLOCK;        \
			fx_pt_get##IO##_##TS(x, t0, nb, (double *)buf);       \
			fx_pt_block_##BSUF(q, (V *)z, buf, nb);               \
			fx_pt_put##IO##_f64(y, t0, nb, (const double *)buf);  \
		}                                                             \
	}                                                                     \
	FX_HD static inline void fx_pt_filter_##SUF(                          \
		const FxPtCoef *q, const T *const *x, T *const *y, long len,  \
		double *z)                                                    \
	{                                                                     \
		V buf[FX_PT_BLOCK * (G)];                                     \
		for (long t0 = 0; t0 < len; t0 += FX_PT_BLOCK) {              \
			int nb = len - t0 < FX_PT_BLOCK ? (int)(len - t0)     \
			                                : FX_PT_BLOCK;        \
			fx_pt_get##IO##_##TS(x, t0, nb, (double *)buf);       \
			fx_pt_block_##BSUF(q, (V *)z, buf, nb);               \
			fx_pt_put##IO##_##TS(y, t0, nb, (const double *)buf); \
		}                                                             \
	}                                                                     \
	FX_HD static inline long fx_pt_fixup_##SUF(                           \
		const FxPtCoef *q, const double *const *zs, T *const *y,      \
		long len, double *z, double tol)                              \
	{                                                                     \
		const int m = 2 * q->n;                                       \
		V buf[FX_PT_BLOCK * (G)], add[FX_PT_BLOCK * (G)], zero = {0}; \
		double lim[W], r[W];                                          \
		fx_pt_norm_lanes(m, z, (W), lim);                             \
		for (int l = 0; l < (W); l++)                                 \
			lim[l] *= tol;                                        \
		long t0 = 0;                                                  \
		for (; t0 < len; t0 += FX_PT_BLOCK) {                         \
			int live = 0;                                         \
			fx_pt_norm_lanes(m, z, (W), r);                       \
			for (int l = 0; l < (W); l++)                         \
				live |= r[l] > lim[l];                        \
			if (!live)                                            \
				break;                                        \
			int nb = len - t0 < FX_PT_BLOCK ? (int)(len - t0)     \
			                                : FX_PT_BLOCK;        \
			for (int t = 0; t < nb * (G); t++)                    \
				buf[t] = zero;                                \
			fx_pt_block_##BSUF(q, (V *)z, buf, nb);               \
			fx_pt_get##IO##_f64(zs, t0, nb, (double *)add);       \
			for (int t = 0; t < nb * (G); t++)                    \
				buf[t] += add[t];                             \
			fx_pt_put##IO##_##TS(y, t0, nb, (const double *)buf); \
		}                                                             \
		const long done = t0 < len ? t0 : len;                        \
		for (int l = 0; l < (W); l++)                                 \
			if ((const void *)y[l] != (const void *)zs[l])        \
				for (long t = done; t < len; t++)             \
					y[l][t] = (T)zs[l][t];                \
		return done;                                                  \
	}

FX_PT_SEGMENT_FUNCS(ptr_f32, 1, 1, f32, float, double, 1, 1)
FX_PT_SEGMENT_FUNCS(ptr_f64, 1, 1, f64, double, double, 1, 1)
#if FX_PT_LANES > 1
FX_PT_SEGMENT_FUNCS(lanes_f32, lanes, v, f32, float, FxPtVec, FX_PT_GROUP,
                    FX_PT_LANES)
FX_PT_SEGMENT_FUNCS(lanes_f64, lanes, v, f64, double, FxPtVec, FX_PT_GROUP,
                    FX_PT_LANES)
#else
FX_PT_SEGMENT_FUNCS(lanes_f32, 1, 1, f32, float, double, 1, 1)
FX_PT_SEGMENT_FUNCS(lanes_f64, 1, 1, f64, double, double, 1, 1)
#endif

/** One stream: y[0..len) = x filtered from state s (2n doubles; zero for
 *  the zero-state response), end state left in s. y == x is allowed. */
FX_HD static inline void fx_pt_segment_f32(const FxPtCoef *q, const float *x,
                                           double *y, long len, double *s)
{
	fx_pt_segment_ptr_f32(q, &x, &y, len, s);
}

/** As fx_pt_segment_f32 for double samples (y == x allowed). */
FX_HD static inline void fx_pt_segment_f64(const FxPtCoef *q, const double *x,
                                           double *y, long len, double *s)
{
	fx_pt_segment_ptr_f64(q, &x, &y, len, s);
}

/** One stream: y[t] = (float)(zs[t] + zero-input response from s at t), the
 *  response stopped early (header comment; tol FX_PT_TOL_F32). s (2n
 *  doubles) is scratch. Returns the samples that got a zero-input term. */
FX_HD static inline long fx_pt_fixup_f32(const FxPtCoef *q, const double *zs,
                                         float *y, long len, double *s,
                                         double tol)
{
	return fx_pt_fixup_ptr_f32(q, &zs, &y, len, s, tol);
}

/** As fx_pt_fixup_f32 for double samples (tol FX_PT_TOL_F64); y == zs is
 *  allowed. */
FX_HD static inline long fx_pt_fixup_f64(const FxPtCoef *q, const double *zs,
                                         double *y, long len, double *s,
                                         double tol)
{
	return fx_pt_fixup_ptr_f64(q, &zs, &y, len, s, tol);
}

/* ---- transitions: m x m row-major matrices, block lower triangular ------ */

/** out = X Y for block lower triangular X, Y (2x2 blocks, m even); out may
 *  not alias X or Y. */
FX_HD static inline void fx_pt_mat_mul(int m, const double *X, const double *Y,
                                       double *out)
{
	for (int i = 0; i < m; i++) {
		int hi = i | 1; // the last column of row i's diagonal block
		for (int j = 0; j < m; j++) {
			double acc = 0;
			if (j <= hi)
				for (int k = j & ~1; k <= hi; k++)
					acc += X[i * m + k] * Y[k * m + j];
			out[i * m + j] = acc;
		}
	}
}

/** The one-step matrix A of @p q (m = 2n): column j is a zero-input step
 *  from the unit state e_j. */
FX_HD static inline void fx_pt_step_matrix(const FxPtCoef *q, double *A)
{
	const int m = 2 * q->n;
	for (int j = 0; j < m; j++) {
		double z[FX_PT_MAX_STATE];
		for (int i = 0; i < m; i++)
			z[i] = i == j;
		(void)fx_pt_tick(q, z, 0.0);
		for (int i = 0; i < m; i++)
			A[i * m + j] = z[i];
	}
}

/* Error-free transformations for double-double arithmetic. FX_PT_MUL_RN
 * is a product the compiler may not fuse into a later add (nvcc fuses
 * aggressively; GCC never fuses a product that also feeds a call, as it
 * does fx_pt_two_prod's fma). */
#ifdef __CUDA_ARCH__ // nvcc's device pass
#define FX_PT_MUL_RN(a, b) __dmul_rn(a, b)
#define FX_PT_FMA(a, b, c) fma(a, b, c)
#elif defined(__GNUC__)
#define FX_PT_MUL_RN(a, b) ((a) * (b))
#define FX_PT_FMA(a, b, c) __builtin_fma(a, b, c)
#else
#include <math.h>
#define FX_PT_MUL_RN(a, b) ((a) * (b))
#define FX_PT_FMA(a, b, c) fma(a, b, c)
#endif

/** s + *e = a + b exactly (Knuth's TwoSum); returns s = fl(a + b). */
FX_HD static inline double fx_pt_two_sum(double a, double b, double *e)
{
	double s = a + b, bb = s - a;
	*e = (a - (s - bb)) + (b - bb);
	return s;
}

/** p + *e = a * b exactly; returns p = fl(a * b). */
FX_HD static inline double fx_pt_two_prod(double a, double b, double *e)
{
	double p = FX_PT_MUL_RN(a, b);
	*e = FX_PT_FMA(a, b, -p);
	return p;
}

/** (oh, ol) = (xh + xl)(yh + yl) for block lower triangular double-double
 *  m x m matrices, to about 2^-100 relative per product; outputs may not
 *  alias inputs. */
FX_HD static inline void fx_pt_mat_mul_dd(int m, const double *xh,
                                          const double *xl, const double *yh,
                                          const double *yl, double *oh,
                                          double *ol)
{
	for (int i = 0; i < m; i++) {
		int hi = i | 1;
		for (int j = 0; j < m; j++) {
			double sh = 0, sl = 0;
			for (int k = j & ~1; k <= hi && j <= hi; k++) {
				double pe, se;
				double p = fx_pt_two_prod(xh[i * m + k],
				                          yh[k * m + j], &pe);
				pe += xh[i * m + k] * yl[k * m + j] +
				      xl[i * m + k] * yh[k * m + j];
				sh = fx_pt_two_sum(sh, p, &se);
				sl += se + pe;
			}
			oh[i * m + j] = sh + sl;
			ol[i * m + j] = sl - (oh[i * m + j] - sh);
		}
	}
}

/** T + Tlo = A^len (len >= 0) by squaring in double-double arithmetic (T
 *  is the rounded power, Tlo the rest). For resonant or near-DC cascades A
 *  is far from normal and its powers cancel heavily (a 20 Hz highpass at
 *  96 kHz: entries ~700 whose combinations are ~1), so plain double
 *  squaring loses ~5 digits (measured: 2e-9 off). O(m^3 log len); @p work
 *  holds 4*m*m doubles. */
FX_HD static inline void fx_pt_transition(const FxPtCoef *q, long len,
                                          double *T, double *Tlo, double *work)
{
	const int m = 2 * q->n, mm = m * m;
	double *ph = work, *pl = work + mm;
	double *uh = work + 2 * mm, *ul = work + 3 * mm;
	fx_pt_step_matrix(q, ph);
	for (int i = 0; i < mm; i++) {
		pl[i] = 0;
		T[i] = (i / m) == (i % m);
		Tlo[i] = 0;
	}
	for (;;) {
		if (len & 1) {
			fx_pt_mat_mul_dd(m, ph, pl, T, Tlo, uh, ul);
			for (int i = 0; i < mm; i++) {
				T[i] = uh[i];
				Tlo[i] = ul[i];
			}
		}
		len >>= 1;
		if (!len)
			break;
		fx_pt_mat_mul_dd(m, ph, pl, ph, pl, uh, ul);
		for (int i = 0; i < mm; i++) {
			ph[i] = uh[i];
			pl[i] = ul[i];
		}
	}
}

/** (oh, ol) = (T + Tlo)(sh + sl) + e in double-double: the carry of step 2
 *  kept exact to ~2^-100 across many segments (the entry state a fix-up
 *  uses is oh). Outputs may not alias inputs. */
FX_HD static inline void
fx_pt_affine_apply_dd(int m, const double *T, const double *Tlo, const double *sh,
                      const double *sl, const double *e, double *oh, double *ol)
{
	for (int i = 0; i < m; i++) {
		double acc = e[i], lo = 0;
		for (int j = 0; j <= (i | 1); j++) {
			double pe, se;
			double p = fx_pt_two_prod(T[i * m + j], sh[j], &pe);
			pe += T[i * m + j] * sl[j] + Tlo[i * m + j] * sh[j];
			acc = fx_pt_two_sum(acc, p, &se);
			lo += se + pe;
		}
		oh[i] = acc + lo;
		ol[i] = lo - (oh[i] - acc);
	}
}

/** T = A^len by running the zero-input recursion from each unit state
 *  (O(m n len)). */
FX_HD static inline void fx_pt_transition_direct(const FxPtCoef *q, long len,
                                                 double *T)
{
	const int m = 2 * q->n;
	double zero[FX_PT_BLOCK];
	for (int j = 0; j < m; j++) {
		double z[FX_PT_MAX_STATE];
		for (int i = 0; i < m; i++)
			z[i] = i == j;
		for (long t = 0; t < len; t += FX_PT_BLOCK) {
			int nb = len - t < FX_PT_BLOCK ? (int)(len - t)
			                               : FX_PT_BLOCK;
			for (int i = 0; i < nb; i++)
				zero[i] = 0;
			fx_pt_block_1(q, z, zero, nb);
		}
		for (int i = 0; i < m; i++)
			T[i * m + j] = z[i];
	}
}

/** out = T s + e (an affine map applied to a state); out may alias e but
 *  not s. */
FX_HD static inline void fx_pt_affine_apply(int m, const double *T,
                                            const double *s, const double *e,
                                            double *out)
{
	for (int i = 0; i < m; i++) {
		double acc = e[i];
		for (int j = 0; j <= (i | 1); j++)
			acc += T[i * m + j] * s[j];
		out[i] = acc;
	}
}

/** (T, e) = (T2, e2) o (T1, e1) = (T2 T1, T2 e1 + e2): segment 1, then
 *  segment 2; outputs may not alias inputs. */
FX_HD static inline void fx_pt_affine_compose(int m, const double *T2,
                                              const double *e2, const double *T1,
                                              const double *e1, double *T,
                                              double *e)
{
	fx_pt_mat_mul(m, T2, T1, T);
	fx_pt_affine_apply(m, T2, e1, e2, e);
}

#endif

/* SPDX-License-Identifier: ISC */
/* fxd — what one CUDA thread of an accel kernel computes, as FX_HD
 * functions over plain arrays. cuda/kernels.cu wraps them in kernels (the
 * index arithmetic and the barriers); tests/unit/test_accel_plan.c runs the same
 * functions on the CPU in kernel order, so the tiling, the scan and the
 * state carried across chunks are tested without a device.
 *
 * Device memory of a plan (one allocation, offsets in FxPlanLayout):
 *   io     [c * stride + t]        samples (float or double), in place
 *   zs     [c * stride + t]        double zero-state output (scan, f32;
 *                                  f64 plans use io itself)
 *   state  [c * FX_ACC_M + i]      the carried state, i < m = 2n (the rest 0)
 *   agg    [(c * tiles + k) * FX_ACC_M + i]  tile k's zero-state end state e_k
 *   pre    [(c * tiles + k) * FX_ACC_M + i]  the true state entering tile k
 *   coef   the coefficient image: an FxPtCoef, then at FX_ACC_MAT_OFFSET
 *          the m x m matrices T = A^tile and U_j = T^(per_thread * 2^j),
 *          j < npow, in double-double: each as m*m doubles rounded, then
 *          m*m doubles of the rest, back to back
 *   params an FxAccParams: the frames of this chunk (<= stride)
 *
 * One chunk, sequential: fx_acc_seq_* for every channel.
 * One chunk, scan (m = 2n, G = tiles, B = scan_threads, r = per_thread):
 *  1. fx_acc_tile_* for every (channel, tile): e_k, and the zero-state
 *     output of the tile (tile 0 from the true state, so exact);
 *  2. per channel, a reduce-then-scan of the maps s -> T s + e_k: thread j
 *     of B folds tiles [j r, j r + r) (fx_acc_scan_reduce), a Kogge-Stone
 *     scan over the B partial states joins them (step s: add U_s times the
 *     partner's, fx_acc_scan_term), and each thread walks its tiles again
 *     writing the state entering each (fx_acc_scan_down). Work O(G m^2 +
 *     B log B m^2), depth O((r + log B) m^2). As in the CPU driver, the
 *     matrices and the carried states are double-double: near-DC and
 *     resonant cascades have powers of A with entries ~1e3 that cancel, so
 *     a plain double carry loses digits (dsp/ptime.h, fx_pt_transition);
 *  3. fx_acc_fixup_* for every (channel, tile): zero-state output plus the
 *     zero-input response of the entering state (dsp/ptime.h's early stop),
 *     rounded once; the channel's last tile runs its response to the end
 *     and stores the state carried to the next chunk.
 * Tiles past the chunk's frames have no samples and e_k = 0; the states the
 * scan computes for them are never read.
 */
#ifndef FX_ACCEL_MATH_H
#define FX_ACCEL_MATH_H

#include "dsp/ptime.h"

#ifdef __CUDA_ARCH__ /* the device pass of nvcc */
#define FX_ACC_UNROLL _Pragma("unroll")
#else
#define FX_ACC_UNROLL
#endif

enum {
	FX_ACC_M = FX_PT_MAX_STATE, ///< state stride per channel and per tile
	FX_ACC_SCAN_LOG2 = 6,       ///< scan threads per channel: at most 2^6
	FX_ACC_SCAN_THREADS = 1 << FX_ACC_SCAN_LOG2,
};

/** Byte offset of the first matrix in the coefficient image. */
#define FX_ACC_MAT_OFFSET ((sizeof(FxPtCoef) + 255) / 256 * 256)

/** The shape of one chunk, fixed per plan (a kernel argument). */
typedef struct {
	long stride; ///< frames per channel in io and zs (the chunk length)
	long tile;   ///< frames per tile (scan)
	int channels;
	int tiles;        ///< tiles per channel: ceil(stride / tile) (scan)
	int scan_threads; ///< B: scan threads per channel, a power of two (scan)
	int per_thread;   ///< r: tiles per scan thread, ceil(tiles / B) (scan)
	int npow;         ///< log2(B): U matrices in the image (scan)
} FxAccGeom;

/** Per-chunk values the graph reads from device memory. */
typedef struct {
	long frames; ///< frames in this chunk, 1..stride
	long pad;
} FxAccParams;

/** Matrix @p j (0: T, 1 + i: U_i) of the coefficient image @p image, its
 *  rounded part (@p lo = 0) or the rest (@p lo = 1). */
FX_HD static inline const double *fx_acc_mat(const void *image, int m, int j,
                                             int lo)
{
	return (const double *)((const char *)image + FX_ACC_MAT_OFFSET) +
	       (long)(2 * j + lo) * m * m;
}

/** Frames of tile @p k in a chunk of @p frames frames (0 past the end). */
FX_HD static inline long fx_acc_tile_len(const FxAccGeom *g, long frames, int k)
{
	long len = frames - (long)k * g->tile;
	return len < 0 ? 0 : len > g->tile ? g->tile : len;
}

/* fx_acc_seq_SUF(q, n, x, frames, state): one channel, in place, the
 *   whole cascade per sample (the arithmetic of fx_pt_block_1). The state
 *   is read once and written once; with n a compile-time constant (the
 *   kernels are templates over n) z stays in registers.
 * fx_acc_tile_SUF(q, g, frames, x, zs, state, agg, c, k): step 1 for tile
 *   k of channel c.
 * fx_acc_fixup_SUF(q, g, frames, zs, y, agg, pre, state, c, k, tol):
 *   step 3 for tile k of channel c. */
#define FX_ACC_FUNCS(SUF, T)                                                      \
	FX_HD static inline void fx_acc_seq_##SUF(                                \
		const FxPtCoef *q, int n, T *x, long frames, double *state)       \
	{                                                                         \
		double z[FX_ACC_M];                                               \
		FX_ACC_UNROLL                                                     \
		for (int i = 0; i < 2 * n; i++)                                   \
			z[i] = state[i];                                          \
		for (long t = 0; t < frames; t++) {                               \
			double v = (double)x[t];                                  \
			FX_ACC_UNROLL                                             \
			for (int k = 0; k < n; k++) {                             \
				double z1 = z[2 * k], z2 = z[2 * k + 1];          \
				double u = q->c1[k] * v + z2;                     \
				double o = q->b0[k] * v + z1;                     \
				z[2 * k + 1] = q->na2[k] * z1 + q->c2[k] * v;     \
				z[2 * k] = q->na1[k] * z1 + u;                    \
				v = o;                                            \
			}                                                         \
			x[t] = (T)v;                                              \
		}                                                                 \
		FX_ACC_UNROLL                                                     \
		for (int i = 0; i < 2 * n; i++)                                   \
			state[i] = z[i];                                          \
	}                                                                         \
	FX_HD static inline void fx_acc_tile_##SUF(                               \
		const FxPtCoef *q, const FxAccGeom *g, long frames, const T *x,   \
		double *zs, const double *state, double *agg, int c, int k)       \
	{                                                                         \
		const int m = 2 * q->n;                                           \
		const long len = fx_acc_tile_len(g, frames, k);                   \
		double s[FX_ACC_M];                                               \
		for (int i = 0; i < m; i++)                                       \
			s[i] = k == 0 ? state[(long)c * FX_ACC_M + i] : 0.0;      \
		if (len > 0) {                                                    \
			const long off = (long)c * g->stride +                    \
			                 (long)k * g->tile;                       \
			fx_pt_segment_##SUF(q, x + off, zs + off, len, s);        \
		}                                                                 \
		double *e = agg + ((long)c * g->tiles + k) * FX_ACC_M;            \
		for (int i = 0; i < m; i++)                                       \
			e[i] = s[i];                                              \
	}                                                                         \
	FX_HD static inline void fx_acc_fixup_##SUF(                              \
		const FxPtCoef *q, const FxAccGeom *g, long frames,               \
		const double *zs, T *y, const double *agg, const double *pre,     \
		double *state, int c, int k, double tol)                          \
	{                                                                         \
		const int m = 2 * q->n;                                           \
		const long len = fx_acc_tile_len(g, frames, k);                   \
		if (len <= 0)                                                     \
			return;                                                   \
		const long off = (long)c * g->stride + (long)k * g->tile;         \
		const long slot = ((long)c * g->tiles + k) * FX_ACC_M;            \
		double s[FX_ACC_M];                                               \
		int live = 0;                                                     \
		for (int i = 0; i < m; i++) {                                     \
			s[i] = pre[slot + i];                                     \
			live |= s[i] != 0.0;                                      \
		}                                                                 \
		if ((long)k * g->tile + len < frames) {                           \
			(void)fx_pt_fixup_##SUF(q, zs + off, y + off, len, s,     \
			                        tol);                             \
			return;                                                   \
		}                                                                 \
		/* The last tile: the zero-input response to its end (no early \
		 * stop), whose end state plus e_k is the state after the chunk. */  \
		double buf[FX_PT_BLOCK];                                          \
		for (long t0 = 0; t0 < len; t0 += FX_PT_BLOCK) {                  \
			int nb = len - t0 < FX_PT_BLOCK ? (int)(len - t0)         \
			                                : FX_PT_BLOCK;            \
			for (int t = 0; t < nb; t++)                              \
				buf[t] = 0.0;                                     \
			if (live)                                                 \
				fx_pt_block_1(q, s, buf, nb);                     \
			for (int t = 0; t < nb; t++)                              \
				y[off + t0 + t] = (T)(zs[off + t0 + t] + buf[t]); \
		}                                                                 \
		for (int i = 0; i < m; i++)                                       \
			state[(long)c * FX_ACC_M + i] = s[i] + agg[slot + i];     \
	}

FX_ACC_FUNCS(f32, float)
FX_ACC_FUNCS(f64, double)

/** w += t for @p m double-double values (w = wh + wl, t = th + tl). */
FX_HD static inline void fx_acc_dd_add(int m, double *wh, double *wl,
                                       const double *th, const double *tl)
{
	for (int i = 0; i < m; i++) {
		double e, s = fx_pt_two_sum(wh[i], th[i], &e);
		e += wl[i] + tl[i];
		wh[i] = s + e;
		wl[i] = e - (wh[i] - s);
	}
}

/** Step 2a, thread @p j of channel @p c: the state after tiles
 *  [j r, j r + r) entered from zero, in double-double (@p ah + @p al), the
 *  maps applied with T + Tlo (fx_pt_affine_apply_dd, as the CPU carry). */
FX_HD static inline void
fx_acc_scan_reduce(int m, const double *T, const double *Tlo, const FxAccGeom *g,
                   const double *agg, int c, int j, double *ah, double *al)
{
	double th[FX_ACC_M], tl[FX_ACC_M];
	const int k0 = j * g->per_thread;
	const int k1 = k0 + g->per_thread < g->tiles ? k0 + g->per_thread
	                                             : g->tiles;
	for (int i = 0; i < m; i++)
		ah[i] = al[i] = 0.0;
	for (int k = k0; k < k1; k++) {
		fx_pt_affine_apply_dd(m, T, Tlo, ah, al,
		                      agg + ((long)c * g->tiles + k) * FX_ACC_M,
		                      th, tl);
		for (int i = 0; i < m; i++) {
			ah[i] = th[i];
			al[i] = tl[i];
		}
	}
}

/** Step 2b, one Kogge-Stone term: (oh, ol) = (U + Ulo)(vh + vl), the
 *  partner's partial state advanced over 2^s groups of tiles. */
FX_HD static inline void fx_acc_scan_term(int m, const double *U,
                                          const double *Ulo, const double *vh,
                                          const double *vl, double *oh,
                                          double *ol)
{
	double zero[FX_ACC_M];
	for (int i = 0; i < m; i++)
		zero[i] = 0.0;
	fx_pt_affine_apply_dd(m, U, Ulo, vh, vl, zero, oh, ol);
}

/** Step 2c, thread @p j of channel @p c: from the state before tile j r
 *  (@p eh + @p el; NULL: zero), the state entering each of its tiles into
 *  pre (the high part, which the fix-up uses). */
FX_HD static inline void fx_acc_scan_down(int m, const double *T,
                                          const double *Tlo, const FxAccGeom *g,
                                          const double *agg, double *pre, int c,
                                          int j, const double *eh,
                                          const double *el)
{
	double sh[FX_ACC_M], sl[FX_ACC_M], th[FX_ACC_M], tl[FX_ACC_M];
	const int k0 = j * g->per_thread;
	const int k1 = k0 + g->per_thread < g->tiles ? k0 + g->per_thread
	                                             : g->tiles;
	for (int i = 0; i < m; i++) {
		sh[i] = eh ? eh[i] : 0.0;
		sl[i] = el ? el[i] : 0.0;
	}
	for (int k = k0; k < k1; k++) {
		const long slot = ((long)c * g->tiles + k) * FX_ACC_M;
		for (int i = 0; i < m; i++)
			pre[slot + i] = sh[i];
		if (k + 1 < k1) {
			fx_pt_affine_apply_dd(m, T, Tlo, sh, sl, agg + slot, th,
			                      tl);
			for (int i = 0; i < m; i++) {
				sh[i] = th[i];
				sl[i] = tl[i];
			}
		}
	}
}

#endif

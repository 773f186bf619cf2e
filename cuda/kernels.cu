// SPDX-License-Identifier: ISC
// fxd — the accel kernels: thin wrappers that map CUDA threads onto the
// per-thread functions of accel_math.h (see there for the math and the
// memory layout), and their launch for one chunk.
#include "cuda/kernels.h"

namespace {

enum {
	TILE_BLOCK = 128, // threads per block, tile and fix-up kernels
	SEQ_BLOCK = 32,   // threads per block, sequential kernel
};

// Copies the FxPtCoef at the start of the image into shared memory (all of
// a block's threads read every coefficient, every sample).
__device__ void load_coef(FxPtCoef *q, const unsigned char *image)
{
	static_assert(sizeof(FxPtCoef) % 8 == 0, "FxPtCoef is 8-byte words");
	const unsigned long long *src =
		reinterpret_cast<const unsigned long long *>(image);
	unsigned long long *dst = reinterpret_cast<unsigned long long *>(q);
	for (unsigned i = threadIdx.x; i < sizeof(FxPtCoef) / 8; i += blockDim.x)
		dst[i] = src[i];
	__syncthreads();
}

// accel_math.h's per-thread functions by sample type.
__device__ inline void seq(const FxPtCoef *q, int n, float *x, long f,
                           double *s)
{
	fx_acc_seq_f32(q, n, x, f, s);
}
__device__ inline void seq(const FxPtCoef *q, int n, double *x, long f,
                           double *s)
{
	fx_acc_seq_f64(q, n, x, f, s);
}
__device__ inline void tile(const FxPtCoef *q, const FxAccGeom *g, long f,
                            const float *x, double *zs, const double *state,
                            double *agg, int c, int k)
{
	fx_acc_tile_f32(q, g, f, x, zs, state, agg, c, k);
}
__device__ inline void tile(const FxPtCoef *q, const FxAccGeom *g, long f,
                            const double *x, double *zs, const double *state,
                            double *agg, int c, int k)
{
	fx_acc_tile_f64(q, g, f, x, zs, state, agg, c, k);
}
__device__ inline void fixup(const FxPtCoef *q, const FxAccGeom *g, long f,
                             const double *zs, float *y, const double *agg,
                             const double *pre, double *state, int c, int k)
{
	fx_acc_fixup_f32(q, g, f, zs, y, agg, pre, state, c, k, FX_PT_TOL_F32);
}
__device__ inline void fixup(const FxPtCoef *q, const FxAccGeom *g, long f,
                             const double *zs, double *y, const double *agg,
                             const double *pre, double *state, int c, int k)
{
	fx_acc_fixup_f64(q, g, f, zs, y, agg, pre, state, c, k, FX_PT_TOL_F64);
}

// Sequential: thread c runs channel c through NS sections. NS is a
// compile-time constant, so the state array is indexed by constants and
// lives in registers (ptxas -v: no stack frame).
template <int NS, typename T>
__device__ __forceinline__ void seq_body(const unsigned char *image,
                                         const FxAccParams *par, T *io,
                                         double *state, long stride,
                                         int channels)
{
	__shared__ FxPtCoef q;
	load_coef(&q, image);
	const int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c < channels)
		seq(&q, NS, io + (long)c * stride, par->frames,
		    state + (long)c * FX_ACC_M);
}

// Step 1: thread (c, k) filters tile k of channel c from zero state.
template <typename T>
__device__ __forceinline__ void tile_body(const unsigned char *image,
                                          const FxAccParams *par,
                                          const FxAccGeom &g, const T *x,
                                          double *zs, const double *state,
                                          double *agg)
{
	__shared__ FxPtCoef q;
	load_coef(&q, image);
	const long id = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (id < (long)g.channels * g.tiles)
		tile(&q, &g, par->frames, x, zs, state, agg, (int)(id / g.tiles),
		     (int)(id % g.tiles));
}

// Step 3: thread (c, k) adds tile k's zero-input response.
template <typename T>
__device__ __forceinline__ void fixup_body(const unsigned char *image,
                                           const FxAccParams *par,
                                           const FxAccGeom &g,
                                           const double *zs, T *y,
                                           const double *agg,
                                           const double *pre, double *state)
{
	__shared__ FxPtCoef q;
	load_coef(&q, image);
	const long id = (long)blockIdx.x * blockDim.x + threadIdx.x;
	if (id < (long)g.channels * g.tiles)
		fixup(&q, &g, par->frames, zs, y, agg, pre, state,
		      (int)(id / g.tiles), (int)(id % g.tiles));
}

} // namespace

// The kernels themselves are plain extern functions, not templates: one per
// sample type and, for the sequential kernel, per section count. Each thus
// has an extern __device_stub_ symbol (tests/static/test_cuda_symbols.sh checks
// them) and a readable name in a profiler.

#define FX_SEQ_KERNEL(SUF, T, NS) \
	__global__ void __launch_bounds__(SEQ_BLOCK) \
	fx_acc_seq_kernel_##SUF##_n##NS(const unsigned char *image, \
	                                const FxAccParams *par, T *io, \
	                                double *state, long stride, \
	                                int channels) \
	{ \
		seq_body<NS>(image, par, io, state, stride, channels); \
	}
#define FX_SEQ_KERNELS(SUF, T) \
	FX_SEQ_KERNEL(SUF, T, 0) FX_SEQ_KERNEL(SUF, T, 1) \
	FX_SEQ_KERNEL(SUF, T, 2) FX_SEQ_KERNEL(SUF, T, 3) \
	FX_SEQ_KERNEL(SUF, T, 4) FX_SEQ_KERNEL(SUF, T, 5) \
	FX_SEQ_KERNEL(SUF, T, 6) FX_SEQ_KERNEL(SUF, T, 7) \
	FX_SEQ_KERNEL(SUF, T, 8) FX_SEQ_KERNEL(SUF, T, 9) \
	FX_SEQ_KERNEL(SUF, T, 10) FX_SEQ_KERNEL(SUF, T, 11) \
	FX_SEQ_KERNEL(SUF, T, 12) FX_SEQ_KERNEL(SUF, T, 13) \
	FX_SEQ_KERNEL(SUF, T, 14) FX_SEQ_KERNEL(SUF, T, 15) \
	FX_SEQ_KERNEL(SUF, T, 16)
static_assert(FX_PT_MAX_SECTIONS == 16, "FX_SEQ_KERNELS lists 0..16");

#define FX_TILE_KERNELS(SUF, T) \
	__global__ void __launch_bounds__(TILE_BLOCK) \
	fx_acc_tile_kernel_##SUF(const unsigned char *image, \
	                         const FxAccParams *par, FxAccGeom g, \
	                         const T *x, double *zs, const double *state, \
	                         double *agg) \
	{ \
		tile_body(image, par, g, x, zs, state, agg); \
	} \
	__global__ void __launch_bounds__(TILE_BLOCK) \
	fx_acc_fixup_kernel_##SUF(const unsigned char *image, \
	                          const FxAccParams *par, FxAccGeom g, \
	                          const double *zs, T *y, const double *agg, \
	                          const double *pre, double *state) \
	{ \
		fixup_body(image, par, g, zs, y, agg, pre, state); \
	}

FX_SEQ_KERNELS(f32, float)
FX_SEQ_KERNELS(f64, double)
FX_TILE_KERNELS(f32, float)
FX_TILE_KERNELS(f64, double)

// Step 2: block c scans channel c's tile maps with g.scan_threads threads,
// their double-double partial states in shared memory (32 KiB).
__global__ void __launch_bounds__(FX_ACC_SCAN_THREADS)
fx_acc_scan_kernel(const unsigned char *image, FxAccGeom g,
                   const double *agg, double *pre)
{
	__shared__ double part_hi[FX_ACC_SCAN_THREADS * FX_ACC_M];
	__shared__ double part_lo[FX_ACC_SCAN_THREADS * FX_ACC_M];
	const int m = 2 * reinterpret_cast<const FxPtCoef *>(image)->n;
	const double *T = fx_acc_mat(image, m, 0, 0);
	const double *Tlo = fx_acc_mat(image, m, 0, 1);
	const int c = blockIdx.x, j = threadIdx.x;
	double *mine_hi = part_hi + j * FX_ACC_M;
	double *mine_lo = part_lo + j * FX_ACC_M;
	double th[FX_ACC_M], tl[FX_ACC_M];
	fx_acc_scan_reduce(m, T, Tlo, &g, agg, c, j, th, tl);
	for (int i = 0; i < m; i++) {
		mine_hi[i] = th[i];
		mine_lo[i] = tl[i];
	}
	__syncthreads();
	// Kogge-Stone: every read of a step before any of its writes.
	for (int s = 0; s < g.npow; s++) {
		const int d = 1 << s;
		if (j >= d)
			fx_acc_scan_term(m, fx_acc_mat(image, m, 1 + s, 0),
			                 fx_acc_mat(image, m, 1 + s, 1),
			                 mine_hi - d * FX_ACC_M, mine_lo - d * FX_ACC_M,
			                 th, tl);
		__syncthreads();
		if (j >= d)
			fx_acc_dd_add(m, mine_hi, mine_lo, th, tl);
		__syncthreads();
	}
	fx_acc_scan_down(m, T, Tlo, &g, agg, pre, c, j,
	                 j > 0 ? mine_hi - FX_ACC_M : nullptr,
	                 j > 0 ? mine_lo - FX_ACC_M : nullptr);
}

namespace {

template <typename T>
using SeqKernel = void (*)(const unsigned char *, const FxAccParams *, T *,
                           double *, long, int);
template <typename T>
using TileKernel = void (*)(const unsigned char *, const FxAccParams *,
                            FxAccGeom, const T *, double *, const double *,
                            double *);
template <typename T>
using FixupKernel = void (*)(const unsigned char *, const FxAccParams *,
                             FxAccGeom, const double *, T *, const double *,
                             const double *, double *);

#define FX_SEQ_TABLE(SUF) \
	{ \
		fx_acc_seq_kernel_##SUF##_n0, fx_acc_seq_kernel_##SUF##_n1, \
		fx_acc_seq_kernel_##SUF##_n2, fx_acc_seq_kernel_##SUF##_n3, \
		fx_acc_seq_kernel_##SUF##_n4, fx_acc_seq_kernel_##SUF##_n5, \
		fx_acc_seq_kernel_##SUF##_n6, fx_acc_seq_kernel_##SUF##_n7, \
		fx_acc_seq_kernel_##SUF##_n8, fx_acc_seq_kernel_##SUF##_n9, \
		fx_acc_seq_kernel_##SUF##_n10, fx_acc_seq_kernel_##SUF##_n11, \
		fx_acc_seq_kernel_##SUF##_n12, fx_acc_seq_kernel_##SUF##_n13, \
		fx_acc_seq_kernel_##SUF##_n14, fx_acc_seq_kernel_##SUF##_n15, \
		fx_acc_seq_kernel_##SUF##_n16, \
	}

template <typename T> struct Kernels;
template <> struct Kernels<float> {
	static SeqKernel<float> seq(int nsec)
	{
		static const SeqKernel<float> table[] = FX_SEQ_TABLE(f32);
		return table[nsec];
	}
	static TileKernel<float> tile() { return fx_acc_tile_kernel_f32; }
	static FixupKernel<float> fixup() { return fx_acc_fixup_kernel_f32; }
};
template <> struct Kernels<double> {
	static SeqKernel<double> seq(int nsec)
	{
		static const SeqKernel<double> table[] = FX_SEQ_TABLE(f64);
		return table[nsec];
	}
	static TileKernel<double> tile() { return fx_acc_tile_kernel_f64; }
	static FixupKernel<double> fixup() { return fx_acc_fixup_kernel_f64; }
};

template <typename T>
cudaError_t launch(const FxPlanLayout *lay, int nsec, unsigned char *dev,
                   cudaStream_t stream)
{
	const unsigned char *image = dev + lay->dev_coef;
	const FxAccParams *par =
		reinterpret_cast<const FxAccParams *>(dev + lay->dev_params);
	T *io = reinterpret_cast<T *>(dev + lay->dev_io);
	double *state = reinterpret_cast<double *>(dev + lay->dev_state);
	const FxAccGeom g = lay->geom;
	if (!lay->scan) {
		const int blocks = (g.channels + SEQ_BLOCK - 1) / SEQ_BLOCK;
		Kernels<T>::seq(nsec)<<<blocks, SEQ_BLOCK, 0, stream>>>(
			image, par, io, state, g.stride, g.channels);
		return cudaGetLastError();
	}
	// f64 plans keep the zero-state output in io itself.
	double *zs = lay->zs_bytes ? reinterpret_cast<double *>(dev + lay->dev_zs)
	                           : reinterpret_cast<double *>(io);
	double *agg = reinterpret_cast<double *>(dev + lay->dev_agg);
	double *pre = reinterpret_cast<double *>(dev + lay->dev_pre);
	const long threads = (long)g.channels * g.tiles;
	const unsigned blocks = (unsigned)((threads + TILE_BLOCK - 1) / TILE_BLOCK);
	Kernels<T>::tile()<<<blocks, TILE_BLOCK, 0, stream>>>(image, par, g, io,
	                                                      zs, state, agg);
	cudaError_t e = cudaGetLastError();
	if (e != cudaSuccess)
		return e;
	fx_acc_scan_kernel<<<g.channels, g.scan_threads, 0, stream>>>(image, g,
	                                                            agg, pre);
	if ((e = cudaGetLastError()) != cudaSuccess)
		return e;
	Kernels<T>::fixup()<<<blocks, TILE_BLOCK, 0, stream>>>(
		image, par, g, zs, io, agg, pre, state);
	return cudaGetLastError();
}

} // namespace

cudaError_t fx_acc_launch_chunk(const FxPlanLayout *lay, int nsec,
                                unsigned char *dev, cudaStream_t stream)
{
	if (nsec < 0 || nsec > FX_PT_MAX_SECTIONS)
		return cudaErrorInvalidValue;
	return lay->dtype == FX_ACCEL_F64
	               ? launch<double>(lay, nsec, dev, stream)
	               : launch<float>(lay, nsec, dev, stream);
}

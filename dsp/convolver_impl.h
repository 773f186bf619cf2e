/* SPDX-License-Identifier: ISC */
/* fxd — the convolver's private layout, shared by its setup
 * (convolver.c) and realtime (convolver_process.c) files. Everything here
 * is written at setup, then owned by the thread that processes. */
#ifndef FX_CONVOLVER_IMPL_H
#define FX_CONVOLVER_IMPL_H

#include <fftw3.h>
#include "dsp/convolver.h"

enum {
	CONV_MAX_LEVELS = 8,
	CONV_MAX_BLOCK = 8192, ///< the largest partition, frames
};

/** Partitions of one size: the response from frame start on, in parts
 *  blocks of n frames, each transformed at size 2n. */
typedef struct {
	int n;              ///< block, frames (a power of two)
	long start;         ///< first response frame, a multiple of n and >= n
	int parts;          ///< partitions allocated
	int active;         ///< partitions some path's response reaches
	int depth;          ///< input spectra kept: start / n - 1 + parts
	int newest;         ///< the slot written last
	size_t stride;      ///< complex values from one spectrum to the next
	fftwf_plan fwd;     ///< r2c at 2n, time -> spectrum
	fftwf_plan inv;     ///< c2r at 2n, spectrum -> time
	fftwf_complex *fdl; ///< [inputs][depth] input spectra, a ring
	fftwf_complex *h;   ///< [paths][parts] response spectra, / 2n
	/* A level that starts at 2n or later has a block of slack: the
	 * output block after the next needs only spectra there already are,
	 * so its work is spread over the head blocks of the block before
	 * (one round per block) instead of being done in one chunk. */
	int spread;         ///< 1: start >= 2n
	fftwf_complex *acc; ///< [outputs][stride] the round's output spectra
	long long due;      ///< the round's output block starts here
	int cur_q, cur_k;   ///< the round's place: path pair, partition
	int weight;         ///< partitions an inverse transform weighs
	int budget; ///< work units a head block does (set at fx_convolver_set_ir)
} Level;

struct FxConvolver {
	FxConvolverShape shape;
	size_t bytes; ///< the block this all lives in
	int n_levels;
	Level levels[CONV_MAX_LEVELS];
	int nmax;        ///< the largest block (FX_CONV_HEAD without levels)
	int head_taps;   ///< direct-form taps some path has, <= FX_CONV_HEAD
	long long t;     ///< frames processed since the last reset
	float *head;     ///< [paths][FX_CONV_HEAD] the first taps
	float *lin;      ///< [inputs][2 * FX_CONV_HEAD] last block, this one
	float *in_ring;  ///< [inputs][2 * nmax] input history
	float *out_ring; ///< [outputs][2 * nmax] what the partitions add ahead
	/* The (output, path) pairs in the order their sums are made: by
	 * output, then by path, as a spread round walks them. */
	int n_pairs;
	int n_sums; ///< outputs some path adds into: an inverse transform each
	unsigned char pair_out[FX_CONV_MAX_PATHS], pair_path[FX_CONV_MAX_PATHS];
	float *time;         ///< [2 * nmax] transform scratch
	fftwf_complex *spec; ///< [nmax + 1] transform scratch
	/* The inner loops for this CPU, chosen once (fx_convolver_kernels). */
	void (*multiply_add)(float *restrict acc, const float *restrict x,
	                     const float *restrict h, int bins);
	void (*head_fir)(float *restrict y, const float *restrict x,
	                 const float *restrict h, int taps, int seg);
};

/** Picks @p c's inner loops for the CPU it runs on (convolver_process.c):
 *  AVX2 with FMA where there is, the baseline otherwise. Setup. */
void fx_convolver_kernels(FxConvolver *c);

#endif

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
	CONV_MAX_BLOCK = 16384, ///< the largest partition, frames
	/* Transforms longer than this are split (see Level): no single step
	 * of a round costs more than one FFT of this size (about 20 us
	 * here). The largest partitions' transforms (32,768) are split in
	 * two: their single steps set the worst chunks otherwise; shorter
	 * sub-transforms cost more in passes than they save. */
	CONV_SUB_MAX = 16384,
	CONV_PASS_BINS = 1024,    ///< bins a step of a split pass combines
	CONV_PRODUCT_BINS = 8192, ///< bins a step multiplies and adds
};

/** Where a spread round is: it transforms each input's newest window,
 *  adds the products into the outputs' spectra and transforms each of
 *  those back, one bounded step at a time. */
typedef enum {
	ROUND_FWD_SUB,  ///< input ch: sub-transform r
	ROUND_FWD_PASS, ///< input ch: pass, sequence r, bins from k
	ROUND_PRODUCTS, ///< pair q: partition (step), bins from k
	ROUND_INV_PASS, ///< output sum: pass, sequence r, bins from k
	ROUND_INV_SUB,  ///< output sum: inverse sub-transform r
	ROUND_DONE,
} RoundStage;

/** Partitions of one size: the response from frame start on, in parts
 *  blocks of n frames, each transformed at size 2n. A transform longer
 *  than CONV_SUB_MAX is split by decimation in time: `split` real
 *  transforms of `sub` frames (every split-th sample), joined by
 *  log2(split) passes that each combine pairs of half-size spectra
 *  (X[k] = E[k] + W^k O[k]); the inverse runs the passes backwards. */
typedef struct {
	int n;              ///< block, frames (a power of two)
	long start;         ///< first response frame, a multiple of n and >= n
	int parts;          ///< partitions allocated
	int active;         ///< partitions some path's response reaches
	int depth;          ///< input spectra kept: start / n - 1 + parts
	int newest;         ///< the slot written last
	size_t stride;      ///< complex values from one spectrum to the next
	int sub;            ///< real length of a sub-transform (2n unsplit)
	int split;          ///< sub-transforms in one transform: 2n / sub
	int passes;         ///< log2(split)
	long sub_cost;      ///< what one sub-transform costs (Level.budget's)
	fftwf_plan fwd;     ///< r2c at sub, time -> spectrum
	fftwf_plan inv;     ///< c2r at sub, spectrum -> time
	fftwf_complex *fdl; ///< [inputs][depth] input spectra, a ring
	fftwf_complex *h;   ///< [paths][parts] response spectra, / 2n
	fftwf_complex *pass[2]; ///< a split transform's partial spectra
	fftwf_complex *twiddle; ///< W^j = exp(-2 pi i j / 2n), j <= n / 2
	/* A level that starts at 2n or later has a block of slack: the
	 * output block after the next needs only spectra there already are,
	 * so its work is spread over the head blocks of the block before
	 * (one round per block) instead of being done in one chunk. */
	int spread;         ///< 1: start >= 2n
	fftwf_complex *acc; ///< [outputs][stride] the round's output spectra
	long long due;      ///< the round's output block starts here
	long long window;   ///< the round's input window ends here
	RoundStage stage;   ///< the round's place, with:
	int ch;             ///< input (forward) or pair (products, inverse)
	int step;           ///< pass (1..passes) or partition
	int r, k;           ///< sequence and first bin, or sub-transform
	long credit;        ///< work the round may still do this head block
	long budget;        ///< work a head block adds (fx_convolver_set_ir)
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
	float *in_ring;  ///< [inputs][4 * nmax] input history: a round reads
			 ///< its 2n window for a block after it ends
	float *out_ring; ///< [outputs][2 * nmax] what the partitions add ahead
	/* The (output, path) pairs in the order their sums are made: by
	 * output, then by path, as a spread round walks them. */
	int n_pairs;
	int n_sums; ///< outputs some path adds into: an inverse transform each
	unsigned char pair_out[FX_CONV_MAX_PATHS], pair_path[FX_CONV_MAX_PATHS];
	float *time;         ///< [2 * nmax] a response's partition (setup)
	float *gather;       ///< [largest sub] a sub-transform's samples
	fftwf_complex *spec; ///< [FX_CONV_HEAD + 1] the first level's sums
	/* The inner loops for this CPU, chosen once (fx_convolver_kernels). */
	void (*multiply_add)(float *restrict acc, const float *restrict x,
	                     const float *restrict h, int bins);
	void (*head_fir)(float *restrict y, const float *restrict x,
	                 const float *restrict h, int taps, int seg);
};

/** A split transform's source or target: a ring of floats. */
typedef struct {
	float *base;
	long long mask; ///< the ring's length, less one
} ConvRing;

/** Forward-transforms the 2n frames of @p src from @p from into @p out
 *  (n + 1 bins) in one go; the steps a round spreads. Setup and tests. */
void fx_convolver_transform(FxConvolver *c, Level *lv, ConvRing src,
                            long long from, fftwf_complex *out);

/** Complex values that hold n + 1 bins (a real transform of 2n), padded
 *  so every spectrum starts 64-byte aligned: FFTW's new-array execute
 *  needs the alignment the plan was made with. */
static inline size_t conv_stride(int n)
{
	return ((size_t)(n + 1) * sizeof(fftwf_complex) + 63) / 64 * 64 /
	       sizeof(fftwf_complex);
}

/* What the steps of a round cost, in about nanoseconds here: only their
 * ratios matter, to share a round's work evenly between head blocks. A
 * transform's is worked out at setup (Level.sub_cost). */
static inline long conv_pass_cost(int bins)
{
	return 2L * bins;
}

static inline long conv_product_cost(int bins)
{
	return bins;
}

/** Picks @p c's inner loops for the CPU it runs on (convolver_process.c):
 *  AVX2 with FMA where there is, the baseline otherwise. Setup. */
void fx_convolver_kernels(FxConvolver *c);

#endif

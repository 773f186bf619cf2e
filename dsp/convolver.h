/* SPDX-License-Identifier: ISC */
/* fxd — zero-latency partitioned convolution.
 *
 * Each path convolves one input channel with one impulse response into one
 * output channel; paths that share an input share its transforms, paths
 * that share an output share the inverse ones. The first partition runs as
 * a direct-form FIR and the rest as overlap-save FFT convolution (FFTW,
 * single precision) in partitions that grow with their distance into the
 * response (64, 256, 1024, 4096, then 16384 frames): the output lines up
 * with the input. Larger partitions were tried (65536): up to the 10 s a
 * convolver takes, their transforms cost more than the products they
 * save. The first size's work is done at its block's
 * boundary; every larger size's (transforms, products, inverse
 * transforms) in bounded steps spread over the block before its output is
 * due (no step longer than one transform of 16,384 frames; longer ones
 * are split). The result does not
 * depend on how the signal is cut into calls.
 */
#ifndef FX_CONVOLVER_H
#define FX_CONVOLVER_H

#include <stddef.h>

typedef struct FxConvolver FxConvolver;

enum {
	FX_CONV_MAX_PATHS = 64,    ///< input-to-output paths per convolver
	FX_CONV_MAX_CHANNELS = 64, ///< inputs, and outputs
	FX_CONV_HEAD = 64,         ///< frames convolved in direct form
};

/** What a convolver is built for. */
typedef struct {
	int inputs, outputs; ///< channels, 1..FX_CONV_MAX_CHANNELS each
	int paths;           ///< 1..FX_CONV_MAX_PATHS
	/** Path p reads input route[p][0] and adds into output route[p][1]. */
	unsigned char route[FX_CONV_MAX_PATHS][2];
	long frames; ///< the longest response a path will get, >= 1
	/** The longest transform one step of the realtime path runs, a
	 *  power of two from 128; longer ones are split (0: 16,384, about
	 *  20 us here). Tests set it low to split every level. */
	int transform_max;
} FxConvolverShape;

/** The bytes fx_convolver_new allocates for @p shape (one block of
 *  pages), or 0 when the shape is invalid. */
size_t fx_convolver_bytes(const FxConvolverShape *shape);

/** A convolver for @p shape with every response zero (silence out), or
 *  NULL when the shape is invalid or memory runs out. Plans its FFTs (the
 *  planner is shared by the process and locked). Not realtime. */
FxConvolver *fx_convolver_new(const FxConvolverShape *shape);

/** Frees @p c; NULL is a no-op. Not realtime. */
void fx_convolver_free(FxConvolver *c);

/** Gives path @p path the response @p ir of @p frames frames (at most the
 *  shape's; frames beyond it are ignored) and clears the audio state. Not
 *  realtime. */
void fx_convolver_set_ir(FxConvolver *c, int path, const float *ir, long frames);

/** Clears the audio state (what the responses still ring with).
 *  Realtime: bounded, no allocation. */
void fx_convolver_reset(FxConvolver *c);

/** Convolves @p frames frames of @p in (one buffer per input) into @p out
 *  (one per output, overwritten). @p out may be @p in: every input frame
 *  is read before the output frames beside it are written. Realtime. */
void fx_convolver_process(FxConvolver *c, const float *const *in,
                          float *const *out, int frames);

#endif

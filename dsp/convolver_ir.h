/* SPDX-License-Identifier: ISC */
/* fxd — impulse-response files for the convolver: checked when a spec is
 * parsed, loaded and brought to the chain's rate when a chain is built.
 * Never on the realtime path. */
#ifndef FX_CONVOLVER_IR_H
#define FX_CONVOLVER_IR_H

#include <stddef.h>
#include "dsp/status.h"

enum {
	FX_CONV_IR_MAX_SECONDS = 10, ///< longest response taken
};

/** What an impulse-response file holds, from its header. */
typedef struct {
	long frames;  ///< frames in the file, >= 1
	int channels; ///< 1 (mono), 2 (stereo) or 4 (true stereo)
	double rate;  ///< Hz
} FxConvIr;

/** Reads the header of @p path and checks that it is a response the
 *  convolver takes: a sound file libsndfile reads, not empty, of 1, 2 or 4
 *  channels, at most FX_CONV_IR_MAX_SECONDS long. On failure, one line in
 *  @p why naming the file and what is wrong. */
FxStatus fx_conv_ir_probe(const char *path, FxConvIr *ir, char *why,
                          size_t why_size);

/** Frames the response has once resampled to @p rate. */
long fx_conv_ir_frames_at(const FxConvIr *ir, double rate);

/** Loads @p path (probed as @p ir) at @p rate, planar: channel ch at
 *  [ch * (lead + n) + lead], n = fx_conv_ir_frames_at(ir, rate), after
 *  @p lead frames of silence. Resampled (libsamplerate, best sinc) when
 *  the rates differ, scaled by the rates' ratio so the response keeps its
 *  frequency response. The block comes from fx_pages_new (free it with
 *  fx_pages_free), so it is gone from the process once freed. NULL when
 *  the file no longer reads as probed or memory runs out. */
float *fx_conv_ir_load(const char *path, const FxConvIr *ir, double rate,
                       long lead);

#endif

/* SPDX-License-Identifier: ISC */
/* fxfile — the effect chain as a pipeline of stages over fixed blocks.
 *
 * A chain spec is split into stages: each maximal run of filter slots (at
 * rest, so one fixed cascade) becomes one parallel-in-time SOS cascade
 * (clients/file/ptime_run.h), and each run of other slots an FxChain built from
 * that part of the spec. Blocks are FXFILE_BLOCK frames, always cut at the
 * same positions from the start of the file, so the output never depends
 * on how the input was read.
 *
 * With a CUDA device (cfg.accel), the leading run of filter and gain slots
 * becomes one cascade on the device (cuda/accel.h, float32, chunks of
 * FXFILE_BLOCK, state carried): the gains fold into the first section's
 * numerator, and a run of gains alone is one section {g, 0, 0, 1, 0, 0}.
 * The stages after it stay on the CPU, in the chain's order.
 */
#ifndef FXFILE_PIPELINE_H
#define FXFILE_PIPELINE_H

#include <stddef.h>

#include "cuda/accel.h"
#include "dsp/spec.h"

typedef struct FxFilePipelineImpl FxFilePipeline;

enum {
	FXFILE_BLOCK = 65536, ///< frames per block; also FxChain's max_block
	FXFILE_CHAIN_CHANNELS = 64, ///< FxChain's channel limit
};

/** How a pipeline is built. */
typedef struct {
	double sample_rate; ///< Hz
	int channels;       ///< any number when every stage is a filter
	int threads;        ///< workers for the filter cascades, >= 1
	double bpm;         ///< the rig's tempo for effects that follow it
	FxAccel *accel;     ///< NULL: all on the CPU; else the leading run of
			    ///< filter and gain slots runs on it
	/** For the GPU plans (FX_ACCEL_SCAN_DEFAULT: its default per sample
	 *  type). */
	long scan_threshold;
} FxFilePipelineConfig;

/** Builds the stages of @p spec. Returns NULL on failure with @p st set and
 *  a one-line reason in @p err ("slot 2 (lpf): cutoff ...", "CUDA: ..."). */
FxFilePipeline *fxfile_pipeline_new(const FxChainSpec *spec,
                                    const FxFilePipelineConfig *cfg,
                                    FxStatus *st, char *err, size_t size);

/** Frees @p p; NULL is a no-op. */
void fxfile_pipeline_free(FxFilePipeline *p);

/** Processes @p frames (1..FXFILE_BLOCK) planar frames in place. A block
 *  that comes out of any stage not finite is muted and every stage is
 *  reset, as FxChain does; returns 1 then, else 0. Returns -1 if the
 *  device failed (the reason is in fx_accel_error(cfg.accel)). */
int fxfile_pipeline_process(FxFilePipeline *p, float *const *buf, int frames);

/** Latency in frames: the sum of the chain stages' latencies. */
int fxfile_pipeline_latency(const FxFilePipeline *p);

/** One line on what the stages are, e.g. "CUDA filter cascade (lpf, gain;
 *  4 sections) | chain (comp, dly) | filter cascade (hpf; 1 section)". */
void fxfile_pipeline_describe(const FxFilePipeline *p, char *buf, size_t size);

#endif

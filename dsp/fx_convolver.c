/* SPDX-License-Identifier: ISC */
/* convolver: a cabinet or room impulse response from a sound file, with no
 * added latency (dsp/convolver.h), and a dry/wet mix. The file is checked
 * when the spec is parsed and loaded, resampled, trimmed and normalised
 * when the chain is built, off the realtime path. */
#include "dsp/effect.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/convolver.h"
#include "dsp/convolver_ir.h"
#include "dsp/pages.h"

enum { P_IR, P_MIX, P_GAIN, P_PREDELAY, P_NORMALIZE, P_TRIM };

static const char *const off_on[] = {"off", "on", NULL};

static const FxParamInfo params[] = {
	[P_IR] = {"ir", "path", 0, 1, 0, FX_SCALE_LIN,
                  FX_PARAM_TEXT | FX_PARAM_STRUCTURAL | FX_PARAM_INTEGER, NULL,
                  "impulse response: a sound file's path (without blanks "
                  "or bars; made absolute when read), mono (one response for "
                  "every channel), stereo (one per channel) or 4 channels "
                  "of true stereo (L>L, L>R, R>L, R>R), at most 10 s; "
                  "resampled to the chain's rate"},
	[P_MIX] = {"mix", "%", 0, 100, 100, FX_SCALE_LIN, FX_PARAM_SMOOTHED, NULL,
                   "share of the convolved signal: 0 dry only, 100 "
                   "the convolution only"},
	[P_GAIN] = {"gain", "dB", -60, 24, 0, FX_SCALE_DB, FX_PARAM_SMOOTHED,
                    NULL, "level of the convolved signal"},
	[P_PREDELAY] = {"predelay", "ms", 0, 500, 0, FX_SCALE_LIN,
                        FX_PARAM_STRUCTURAL, NULL,
                        "silence before the response: delays the "
                        "convolved signal"},
	[P_NORMALIZE] = {"normalize", "", 0, 1, 1, FX_SCALE_ENUM,
                         FX_PARAM_STRUCTURAL | FX_PARAM_INTEGER, off_on,
                         "on: the response scaled to unit energy (the "
                         "loudest output's paths summed; one factor for "
                         "all, so the balance stays): white noise keeps "
                         "its level; off: as the file has it"},
	[P_TRIM] = {"trim", "", 0, 1, 0, FX_SCALE_ENUM,
                    FX_PARAM_STRUCTURAL | FX_PARAM_INTEGER, off_on,
                    "on: cuts the response's leading frames below -60 dB "
                    "of its peak (its onset delay, the same frames from "
                    "every channel) and its trailing ones below -90 dB"},
};

typedef struct {
	int channels;
	FxConvolver *conv;
	float *wet; ///< [channels][max_block]: the convolved signal
	int max_block;
	float dry, gain; ///< mix factors reached at the end of the last block
	float dry_target, gain_target;
} Convolver;

/* What a response of @p ir_channels channels on @p channels does: the
 * paths from input to output and the response channel each one takes. */
static int route(int ir_channels, int channels, FxConvolverShape *shape,
                 int *taken)
{
	static const unsigned char true_stereo[4][2] = {
		{0, 0}, {0, 1}, {1, 0}, {1, 1}};
	shape->inputs = shape->outputs = channels;
	if (ir_channels == 1 || (ir_channels == 2 && channels == 2)) {
		shape->paths = channels;
		for (int p = 0; p < channels; p++) {
			shape->route[p][0] = shape->route[p][1] = (unsigned char)p;
			taken[p] = ir_channels == 1 ? 0 : p;
		}
		return 1;
	}
	if (ir_channels == 4 && channels == 2) {
		shape->paths = 4;
		for (int p = 0; p < 4; p++) {
			memcpy(shape->route[p], true_stereo[p], 2);
			taken[p] = p;
		}
		return 1;
	}
	return 0;
}

static long predelay_frames(const FxEffectSetup *setup)
{
	return lround(setup->values[P_PREDELAY] * 1e-3 * setup->sample_rate);
}

/* The file, its routing and the engine's shape for @p setup. */
static FxStatus shape_of(const FxEffectSetup *setup, FxConvIr *ir,
                         FxConvolverShape *shape, int *taken)
{
	const char *path = fx_text_of(setup->values[P_IR]);
	if (!path || !*path)
		return FX_ERR_INVALID;
	char why[512];
	FxStatus st = fx_conv_ir_probe(path, ir, why, sizeof why);
	if (st != FX_OK)
		return st;
	memset(shape, 0, sizeof *shape);
	if (setup->channels > FX_CONV_MAX_CHANNELS ||
	    !route(ir->channels, setup->channels, shape, taken))
		return FX_ERR_CHANNELS;
	shape->frames = predelay_frames(setup) +
	                fx_conv_ir_frames_at(ir, setup->sample_rate);
	return FX_OK;
}

static size_t wet_bytes(const FxEffectSetup *setup)
{
	return (size_t)setup->channels * (size_t)setup->max_block * sizeof(float);
}

static FxStatus plan(const FxEffectSetup *setup, FxEffectPlan *plan)
{
	FxConvIr ir;
	FxConvolverShape shape;
	int taken[FX_CONV_MAX_PATHS];
	FxStatus st = shape_of(setup, &ir, &shape, taken);
	if (st != FX_OK)
		return st;
	*plan = (FxEffectPlan){fx_convolver_bytes(&shape) + wet_bytes(setup), 0};
	return FX_OK;
}

/* Cuts what lies below -60 dB of the peak before the response and below
 * -90 dB after it, in every channel alike; returns the frames kept, now
 * from @p lead on. */
static long trim(float *planar, int channels, long len, long lead)
{
	float peak = 0;
	for (int c = 0; c < channels; c++)
		for (long i = lead; i < len; i++)
			peak = fmaxf(peak, fabsf(planar[c * len + i]));
	if (peak == 0)
		return len - lead;
	float onset = peak * 1e-3f, tail = peak * 3.16227766e-5f;
	long first = len, last = lead;
	for (int c = 0; c < channels; c++) {
		const float *h = planar + c * len;
		for (long i = lead; i < len; i++)
			if (fabsf(h[i]) >= onset) {
				first = i < first ? i : first;
				break;
			}
		for (long i = len - 1; i >= lead; i--)
			if (fabsf(h[i]) >= tail) {
				last = i > last ? i : last;
				break;
			}
	}
	long kept = last - first + 1;
	for (int c = 0; c < channels; c++) {
		float *h = planar + c * len;
		memmove(h + lead, h + first, (size_t)kept * sizeof *h);
		memset(h + lead + kept, 0,
		       (size_t)(len - lead - kept) * sizeof *h);
	}
	return kept;
}

/* One factor that brings the loudest output's summed paths to unit
 * energy. */
static void normalize(float *planar, long len, const FxConvolverShape *shape,
                      const int *taken, int channels)
{
	double energy[FX_CONV_MAX_CHANNELS] = {0}, most = 0;
	for (int p = 0; p < shape->paths; p++) {
		const float *h = planar + taken[p] * len;
		double e = 0;
		for (long i = 0; i < len; i++)
			e += (double)h[i] * h[i];
		energy[shape->route[p][1]] += e;
	}
	for (int o = 0; o < shape->outputs; o++)
		most = energy[o] > most ? energy[o] : most;
	if (most <= 0)
		return;
	float scale = (float)(1.0 / sqrt(most));
	for (long i = 0; i < channels * len; i++)
		planar[i] *= scale;
}

static void cleanup(void *state)
{
	Convolver *v = state;
	fx_convolver_free(v->conv);
	fx_pages_free(v->wet);
	v->conv = NULL;
	v->wet = NULL;
}

static void mix_targets(Convolver *v, const double *values)
{
	double wet = values[P_MIX] / 100.0;
	v->dry_target = (float)(1.0 - wet);
	v->gain_target = (float)(wet * pow(10.0, values[P_GAIN] / 20.0));
}

static FxStatus init(void *state, const FxEffectSetup *setup)
{
	Convolver *v = state;
	FxConvIr ir;
	FxConvolverShape shape;
	int taken[FX_CONV_MAX_PATHS];
	FxStatus st = shape_of(setup, &ir, &shape, taken);
	if (st != FX_OK)
		return st;
	long lead = predelay_frames(setup), len = shape.frames;
	float *planar = fx_conv_ir_load(fx_text_of(setup->values[P_IR]), &ir,
	                                setup->sample_rate, lead);
	if (!planar)
		return FX_ERR_IO;
	long kept = len;
	if (setup->values[P_TRIM] >= 0.5)
		kept = lead + trim(planar, ir.channels, len, lead);
	if (setup->values[P_NORMALIZE] >= 0.5)
		normalize(planar, len, &shape, taken, ir.channels);
	v->channels = setup->channels;
	v->max_block = setup->max_block;
	v->conv = fx_convolver_new(&shape);
	v->wet = fx_pages_new(wet_bytes(setup));
	if (!v->conv || !v->wet) {
		fx_pages_free(planar);
		cleanup(v);
		return FX_ERR_NOMEM;
	}
	for (int p = 0; p < shape.paths; p++)
		fx_convolver_set_ir(v->conv, p, planar + taken[p] * len, kept);
	fx_pages_free(planar);
	mix_targets(v, setup->values);
	v->dry = v->dry_target;
	v->gain = v->gain_target;
	return FX_OK;
}

static void reset(void *state)
{
	Convolver *v = state;
	fx_convolver_reset(v->conv);
}

static void update(void *state, const double *values)
{
	mix_targets(state, values);
}

static void process(void *state, float *const *buf, int frames)
{
	Convolver *v = state;
	float *wet[FX_CONV_MAX_CHANNELS];
	for (int c = 0; c < v->channels; c++)
		wet[c] = v->wet + (size_t)c * v->max_block;
	fx_convolver_process(v->conv, (const float *const *)buf, wet, frames);
	float d0 = v->dry, g0 = v->gain;
	float dinc = (v->dry_target - d0) / (float)frames;
	float ginc = (v->gain_target - g0) / (float)frames;
	for (int c = 0; c < v->channels; c++) {
		float *restrict x = buf[c];
		const float *restrict w = wet[c];
		if (dinc == 0.0f && ginc == 0.0f) {
			for (int i = 0; i < frames; i++)
				x[i] = d0 * x[i] + g0 * w[i];
		} else {
			/* Closed-form ramps, as the gain effect's. */
			for (int i = 0; i < frames; i++)
				x[i] = (d0 + (float)(i + 1) * dinc) * x[i] +
				       (g0 + (float)(i + 1) * ginc) * w[i];
		}
	}
	v->dry = v->dry_target;
	v->gain = v->gain_target;
}

/* The path made absolute (a daemon's working directory is not the
 * user's), then checked as a response. */
static FxStatus check_text(int param, const char *text, char *out,
                           size_t out_size, char *why, size_t why_size)
{
	(void)param;
	char full[PATH_MAX];
	if (!realpath(text, full)) {
		snprintf(why, why_size, "ir=%s: %s", text, strerror(errno));
		return FX_ERR_IO;
	}
	if (strlen(full) > FX_TEXT_MAX || strlen(full) >= out_size) {
		snprintf(why, why_size,
		         "ir=%s: the absolute path is longer than %d "
		         "characters",
		         text, FX_TEXT_MAX);
		return FX_ERR_SYNTAX;
	}
	FxConvIr ir;
	FxStatus st = fx_conv_ir_probe(full, &ir, why, why_size);
	if (st == FX_OK)
		snprintf(out, out_size, "%s", full);
	return st;
}

const FxEffectClass fx_effect_convolver = {
	/* Its history (the partitioned convolution's spectra) is as long as
	 * the impulse response: not worth rolling back. */
	.no_rewind = 1,
	.name = "convolver",
	.doc = "Convolution with an impulse response from a sound file "
	       "(cabinets, rooms), with no added latency: a direct-form head "
	       "and FFT partitions growing from 64 to 16384 frames, their "
	       "work spread evenly over the chunks.",
	.params = params,
	.n_params = sizeof params / sizeof params[0],
	.state_size = sizeof(Convolver),
	.init = init,
	.plan = plan,
	.cleanup = cleanup,
	.reset = reset,
	.update = update,
	.process = process,
	.check_text = check_text,
};

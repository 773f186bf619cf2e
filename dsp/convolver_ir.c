/* SPDX-License-Identifier: ISC */
#include "dsp/convolver_ir.h"

#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <string.h>

#include "dsp/pages.h"

FxStatus fx_conv_ir_probe(const char *path, FxConvIr *ir, char *why,
                          size_t why_size)
{
	SF_INFO info;
	memset(&info, 0, sizeof info);
	SNDFILE *f = sf_open(path, SFM_READ, &info);
	if (!f) {
		FILE *exists = fopen(path, "rb");
		if (!exists) {
			snprintf(why, why_size,
			         "ir=%s: no such file, or not "
			         "readable",
			         path);
			return FX_ERR_IO;
		}
		fclose(exists);
		snprintf(why, why_size,
		         "ir=%s is not a sound file libsndfile reads (%s)",
		         path, sf_strerror(NULL));
		return FX_ERR_IO;
	}
	sf_close(f);
	if (info.channels != 1 && info.channels != 2 && info.channels != 4) {
		snprintf(why, why_size,
		         "ir=%s has %d channels; a response has 1 (mono), 2 "
		         "(stereo) or 4 (true stereo: L>L, L>R, R>L, R>R)",
		         path, info.channels);
		return FX_ERR_CHANNELS;
	}
	if (info.frames <= 0) {
		snprintf(why, why_size, "ir=%s is empty (no frames)", path);
		return FX_ERR_IO;
	}
	if (info.samplerate < 1000 || info.samplerate > 768000) {
		snprintf(why, why_size, "ir=%s has a sample rate of %d Hz",
		         path, info.samplerate);
		return FX_ERR_RANGE;
	}
	double seconds = (double)info.frames / info.samplerate;
	if (seconds > FX_CONV_IR_MAX_SECONDS) {
		snprintf(why, why_size,
		         "ir=%s is %.1f s long; the convolver takes at most "
		         "%d s",
		         path, seconds, FX_CONV_IR_MAX_SECONDS);
		return FX_ERR_RANGE;
	}
	*ir = (FxConvIr){(long)info.frames, info.channels, info.samplerate};
	return FX_OK;
}

long fx_conv_ir_frames_at(const FxConvIr *ir, double rate)
{
	if (rate == ir->rate)
		return ir->frames;
	long n = (long)floor((double)ir->frames * rate / ir->rate + 0.5);
	return n < 1 ? 1 : n;
}

/* Brings @p frames interleaved frames of @p in to @p out_frames at
 * @p ratio. What the converter does not fill stays zero. */
static int resample(const float *in, long frames, float *out, long out_frames,
                    int channels, double ratio)
{
	int err = 0;
	SRC_STATE *src = src_new(SRC_SINC_BEST_QUALITY, channels, &err);
	if (!src)
		return -1;
	SRC_DATA d = {0};
	d.data_in = in;
	d.input_frames = frames;
	d.data_out = out;
	d.output_frames = out_frames;
	d.end_of_input = 1;
	d.src_ratio = ratio;
	while (d.output_frames > 0) {
		if ((err = src_process(src, &d)) != 0)
			break;
		if (d.output_frames_gen == 0 && d.input_frames_used == 0)
			break;
		d.data_in += d.input_frames_used * channels;
		d.input_frames -= d.input_frames_used;
		d.data_out += d.output_frames_gen * channels;
		d.output_frames -= d.output_frames_gen;
	}
	src_delete(src);
	return err ? -1 : 0;
}

float *fx_conv_ir_load(const char *path, const FxConvIr *ir, double rate,
                       long lead)
{
	SF_INFO info;
	memset(&info, 0, sizeof info);
	SNDFILE *f = sf_open(path, SFM_READ, &info);
	if (!f)
		return NULL;
	int ch = ir->channels;
	long n = fx_conv_ir_frames_at(ir, rate), len = lead + n;
	float *planar = NULL, *raw = NULL, *conv = NULL;
	if (info.channels != ch || info.frames != ir->frames ||
	    info.samplerate != ir->rate)
		goto out;
	raw = fx_pages_new((size_t)ir->frames * ch * sizeof *raw);
	if (!raw || sf_readf_float(f, raw, ir->frames) != ir->frames)
		goto out;
	const float *src = raw;
	if (n != ir->frames || rate != ir->rate) {
		conv = fx_pages_new((size_t)n * ch * sizeof *conv);
		if (!conv ||
		    resample(raw, ir->frames, conv, n, ch, rate / ir->rate) != 0)
			goto out;
		/* A response sampled more densely sums more samples: scaled
		 * by the ratio, its gain at every frequency stays. */
		float scale = (float)(ir->rate / rate);
		for (long i = 0; i < n * ch; i++)
			conv[i] *= scale;
		src = conv;
	}
	planar = fx_pages_new((size_t)len * ch * sizeof *planar);
	if (planar)
		for (int c = 0; c < ch; c++)
			for (long i = 0; i < n; i++)
				planar[c * len + lead + i] = src[i * ch + c];
out:
	fx_pages_free(conv);
	fx_pages_free(raw);
	sf_close(f);
	return planar;
}

/* SPDX-License-Identifier: ISC */
/* The pitch detector's setup: sizes, the decimation filter, memory. */
#include "dsp/pitch_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/design.h"

/* Everything the detector's sizes follow from. */
typedef struct {
	int factor, taps, hop, window, lag_min, lag_max;
	int fine_window, fine_span;
	int full_size, dec_size;
} Sizes;

static int pow2_at_least(long n)
{
	int p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

static Sizes sizes(double fs)
{
	Sizes z;
	z.factor = (int)floor(fs / FX_PITCH_DECIMATED_HZ);
	if (z.factor < 1)
		z.factor = 1;
	double fd = fs / z.factor;
	/* The passband must keep FX_PITCH_MAX_HZ; what lies above fd minus
	 * that aliases into the band YIN looks at, so the stopband starts
	 * there. A Blackman window's transition is about 5.5 fs / taps wide
	 * and its stopband 74 dB down. */
	z.taps = 1;
	if (z.factor > 1)
		z.taps = 2 * (int)ceil(2.75 * fs / (fd - 2.0 * FX_PITCH_MAX_HZ)) +
		         1;
	z.hop = (int)ceil(fd * FX_PITCH_HOP_S);
	z.lag_max = (int)ceil(fd / FX_PITCH_MIN_HZ) + 1;
	z.lag_min = (int)floor(fd / FX_PITCH_MAX_HZ);
	if (z.lag_min < 2)
		z.lag_min = 2;
	z.window = z.lag_max;
	z.fine_window = (int)ceil(fs * FX_PITCH_FINE_WINDOW_S);
	z.fine_span = (int)ceil(fs * FX_PITCH_FINE_SPAN_S);
	/* The refinement reaches back its window plus the longest period
	 * (or twice its target lag) plus a few lags of search. */
	long reach = (long)z.lag_max * z.factor;
	if (reach < 2L * z.fine_span)
		reach = 2L * z.fine_span;
	long full = z.fine_window + reach + 4L * z.factor + 8;
	if (full < z.taps)
		full = z.taps;
	z.full_size = pow2_at_least(full);
	z.dec_size = pow2_at_least((long)z.window + z.lag_max + 1);
	return z;
}

size_t fx_pitch_bytes(double sample_rate)
{
	Sizes z = sizes(sample_rate);
	return sizeof(FxPitch) + (size_t)z.taps * sizeof(float) +
	       (size_t)(z.lag_max + 1) * sizeof(float) +
	       2 * (size_t)z.full_size * sizeof(float) +
	       2 * (size_t)z.dec_size * sizeof(float);
}

/* A windowed-sinc lowpass at half the decimated rate (the middle of the
 * transition band), Blackman window, normalised to unit gain at DC. */
static void design_lowpass(float *h, int taps, double cutoff)
{
	int mid = taps / 2;
	double sum = 0.0;
	for (int k = 0; k < taps; k++) {
		double t = k - mid;
		double s = t == 0.0 ? 2.0 * cutoff
		                    : sin(2.0 * M_PI * cutoff * t) / (M_PI * t);
		double w =
			taps > 1
				? 0.42 - 0.5 * cos(2.0 * M_PI * k / (taps - 1)) +
					  0.08 * cos(4.0 * M_PI * k / (taps - 1))
				: 1.0;
		h[k] = (float)(s * w);
		sum += s * w;
	}
	for (int k = 0; k < taps; k++)
		h[k] = (float)(h[k] / sum);
}

FxPitch *fx_pitch_new(double sample_rate)
{
	Sizes z = sizes(sample_rate);
	FxPitch *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->sample_rate = sample_rate;
	p->factor = z.factor;
	p->taps = z.taps;
	p->hop = z.hop;
	p->window = z.window;
	p->lag_min = z.lag_min;
	p->lag_max = z.lag_max;
	p->fine_window = z.fine_window;
	p->fine_span = z.fine_span;
	p->full.size = z.full_size;
	p->dec.size = z.dec_size;
	p->fir = calloc((size_t)z.taps, sizeof *p->fir);
	p->diff = calloc((size_t)z.lag_max + 1, sizeof *p->diff);
	p->full.buf = calloc(2 * (size_t)z.full_size, sizeof *p->full.buf);
	p->dec.buf = calloc(2 * (size_t)z.dec_size, sizeof *p->dec.buf);
	if (!p->fir || !p->diff || !p->full.buf || !p->dec.buf) {
		fx_pitch_free(p);
		return NULL;
	}
	design_lowpass(p->fir, z.taps, 0.5 / z.factor);
	double corner = FX_PITCH_LOWPASS_HZ;
	if (corner > 0.4 * sample_rate)
		corner = 0.4 * sample_rate;
	FxSection sos[FX_PITCH_LOWPASS_SECTIONS];
	int n = 0;
	if (fx_design_butter(FX_BUTTER_LOWPASS, FX_PITCH_LOWPASS_ORDER, corner,
	                     0.0, sample_rate, sos, &n) != FX_OK ||
	    n != FX_PITCH_LOWPASS_SECTIONS) {
		fx_pitch_free(p);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		const double *s = sos[i];
		double c[5] = {s[0], s[1], s[2], s[4], s[5]};
		memcpy(p->iir[i], c, sizeof c);
	}
	fx_pitch_reset(p);
	return p;
}

void fx_pitch_free(FxPitch *p)
{
	if (!p)
		return;
	free(p->fir);
	free(p->diff);
	free(p->full.buf);
	free(p->dec.buf);
	free(p);
}

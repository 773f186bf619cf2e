/* SPDX-License-Identifier: ISC */
/* The pitch detector's realtime path: no allocation, locks or system calls;
 * every loop is bounded by sizes fixed at creation. */
#include "dsp/pitch_impl.h"

#include <math.h>
#include <string.h>

/* Refinement gives up after this many re-centred parabolas. */
enum { FINE_STEPS = 8 };

static const FxPitchReading nothing = {0.0, 0.0, FX_PITCH_FLOOR_DB};

static void history_clear(FxPitchHistory *h)
{
	memset(h->buf, 0, 2 * (size_t)h->size * sizeof *h->buf);
	h->pos = 0;
}

/* One past the newest sample: the last size samples end here. */
static const float *history_end(const FxPitchHistory *h)
{
	return h->buf + h->pos + h->size;
}

void fx_pitch_reset(FxPitch *p)
{
	history_clear(&p->full);
	history_clear(&p->dec);
	memset(p->iir_z, 0, sizeof p->iir_z);
	memset(p->hop_energy, 0, sizeof p->hop_energy);
	p->energy = 0.0;
	p->hop_index = 0;
	p->phase = 0;
	p->until_analysis = p->hop;
	p->reading = nothing;
}

FxPitchReading fx_pitch_read(const FxPitch *p)
{
	return p->reading;
}

/* Sum of squared differences between the @p w samples before @p end and
 * those @p lag earlier, in double: the refinement's parabola needs the
 * small values near the minimum exactly. */
static double fine_diff(const float *end, int w, int lag)
{
	const float *a = end - w, *b = a - lag;
	double s0 = 0.0, s1 = 0.0;
	int j = 0;
	for (; j + 1 < w; j += 2) {
		double d0 = (double)a[j] - b[j], d1 = (double)a[j + 1] - b[j + 1];
		s0 += d0 * d0;
		s1 += d1 * d1;
	}
	for (; j < w; j++) {
		double d = (double)a[j] - b[j];
		s0 += d * d;
	}
	return s0 + s1;
}

/* The lag nearest @p guess where the full-rate difference is least, to a
 * fraction of a sample: a parabola through three lags, re-centred on its
 * vertex until the vertex falls within half a lag of the centre. -1 when
 * it strays more than @p reach from the guess (a parabola fitted on a
 * valley's shoulder can throw it into the next valley) or beyond the
 * history, or does not settle. @p least gets the parabola's value there. */
static double fine_lag(const FxPitch *p, const float *end, double guess,
                       int reach, double *least)
{
	const int w = p->fine_window;
	int c = (int)lround(guess);
	int lo = c - reach, hi = c + reach;
	if (lo < 2)
		lo = 2;
	if (hi > p->full.size - w - 1)
		hi = p->full.size - w - 1;
	for (int step = 0; step < FINE_STEPS; step++) {
		if (c - 1 < lo || c + 1 > hi)
			return -1.0;
		double a = fine_diff(end, w, c - 1), b = fine_diff(end, w, c),
		       d = fine_diff(end, w, c + 1);
		double curve = a - 2.0 * b + d;
		if (!(curve > 0.0))
			return -1.0;
		double delta = 0.5 * (a - d) / curve;
		if (fabs(delta) <= 0.5) {
			*least = b - 0.25 * (a - d) * delta;
			return c + delta;
		}
		c += (int)lround(delta);
	}
	return -1.0;
}

/* The difference at @p lag over the energy of the two windows it
 * compares: 0 for a period, 1 for noise, 2 for half a sine's period. */
static double fine_normalised(const float *end, int w, double lag, double least)
{
	const float *a = end - w, *b = a - (int)lround(lag);
	double energy = 0.0;
	for (int j = 0; j < w; j++)
		energy += (double)a[j] * a[j] + (double)b[j] * b[j];
	return energy > 0.0 ? least / energy : 1.0;
}

/* YIN's difference function over the decimated window for every lag, then
 * its cumulative mean normalised form, in place (diff[0] unused). Four
 * sums per lag let the compiler keep them in one vector. */
static void yin_cmndf(FxPitch *p)
{
	const int w = p->window, n = p->lag_max;
	const float *a = history_end(&p->dec) - w;
	float *restrict diff = p->diff;
	for (int lag = 1; lag <= n; lag++) {
		const float *b = a - lag;
		float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
		int j = 0;
		for (; j + 3 < w; j += 4)
			for (int k = 0; k < 4; k++) {
				float d = a[j + k] - b[j + k];
				s[k] += d * d;
			}
		for (; j < w; j++) {
			float d = a[j] - b[j];
			s[0] += d * d;
		}
		diff[lag] = (s[0] + s[1]) + (s[2] + s[3]);
	}
	double running = 0.0;
	for (int lag = 1; lag <= n; lag++) {
		running += diff[lag];
		diff[lag] = running > 0.0 ? (float)(diff[lag] * lag / running)
		                          : 1.0f;
	}
}

/* The period in decimated samples (fractional), or -1: the first dip
 * under the threshold, followed to its bottom, then a parabola through it
 * (rough: the full-rate refinement only needs the right valley). @p
 * clarity gets 1 - the normalised difference there. */
static double yin_period(FxPitch *p, double *clarity)
{
	yin_cmndf(p);
	const float *cm = p->diff;
	int lag = p->lag_min;
	while (lag < p->lag_max && !(cm[lag] < FX_PITCH_YIN_THRESHOLD))
		lag++;
	if (lag >= p->lag_max)
		return -1.0;
	while (lag + 1 < p->lag_max && cm[lag + 1] < cm[lag])
		lag++;
	if (lag + 1 >= p->lag_max)
		return -1.0;
	*clarity = 1.0 - cm[lag];
	double a = cm[lag - 1], b = cm[lag], d = cm[lag + 1];
	double curve = a - 2.0 * b + d;
	return curve > 0.0 ? lag + 0.5 * (a - d) / curve : lag;
}

/* The input's level over the last FX_PITCH_LEVEL_HOPS hops, taking in the
 * one that has just ended. */
static double level_db(FxPitch *p)
{
	p->hop_energy[p->hop_index] = p->energy;
	p->hop_index = (p->hop_index + 1) % FX_PITCH_LEVEL_HOPS;
	p->energy = 0.0;
	double s = 0.0;
	for (int i = 0; i < FX_PITCH_LEVEL_HOPS; i++)
		s += p->hop_energy[i];
	/* Twice the mean square: a sine reads its peak level. */
	double ms = 2.0 * s / ((double)FX_PITCH_LEVEL_HOPS * p->hop * p->factor);
	double db = ms > 0.0 ? 10.0 * log10(ms) : FX_PITCH_FLOOR_DB;
	return db > FX_PITCH_FLOOR_DB ? db : FX_PITCH_FLOOR_DB;
}

static void analyse(FxPitch *p)
{
	const float *end = history_end(&p->full);
	double level = level_db(p);
	if (!isfinite(level)) {
		/* Not finite input (the chain mutes and resets after it,
		 * unless this tuner muted it): start again from silence. */
		fx_pitch_reset(p);
		return;
	}
	p->reading = nothing;
	p->reading.level = level;
	if (level < FX_PITCH_GATE_DB)
		return;
	double clarity = 0.0;
	double coarse = yin_period(p, &clarity);
	if (coarse < 0.0)
		return;
	/* The decimated estimate is within a decimated sample; the others
	 * start from the refined period. */
	const int w = p->fine_window, reach = p->factor + 2;
	double least = 0.0;
	double period = fine_lag(p, end, coarse * p->factor, reach, &least);
	if (period < 0.0)
		return;
	/* On the decimated grid a dip can fall between two lags and read
	 * too high, the more so the shorter the period or the stronger the
	 * harmonics near the decimated Nyquist, and YIN passes on to twice
	 * or three times the period: the full rate decides. */
	for (int m = 3; m >= 2; m--) {
		double lag = fine_lag(p, end, period / m, reach, &least);
		if (lag * FX_PITCH_MAX_HZ >= p->sample_rate &&
		    fine_normalised(end, w, lag, least) <
		            FX_PITCH_FINE_THRESHOLD) {
			period = lag;
			break;
		}
	}
	/* A longer lag divides the parabola's error by the periods in it. */
	int periods = (int)(p->fine_span / period);
	if (periods >= 2) {
		double lag = fine_lag(p, end, periods * period, reach, &least);
		if (lag < 0.0)
			return;
		period = lag / periods;
	}
	double freq = p->sample_rate / period;
	if (freq < FX_PITCH_MIN_HZ || freq > FX_PITCH_MAX_HZ)
		return;
	p->reading.freq = freq;
	p->reading.clarity = clarity;
}

/* The lowpass's output for the newest full-rate sample. */
static float lowpass(const FxPitch *p)
{
	const float *x = history_end(&p->full) - p->taps;
	const float *restrict h = p->fir;
	float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
	int k = 0;
	for (; k + 3 < p->taps; k += 4)
		for (int i = 0; i < 4; i++)
			s[i] += h[k + i] * x[k + i];
	for (; k < p->taps; k++)
		s[0] += h[k] * x[k];
	return (s[0] + s[1]) + (s[2] + s[3]);
}

/* The front lowpass for one sample, in double: a filter this far under
 * Nyquist needs the precision. */
static float front(FxPitch *p, float in)
{
	double x = in;
	for (int i = 0; i < FX_PITCH_LOWPASS_SECTIONS; i++) {
		const double *c = p->iir[i];
		double *z = p->iir_z[i];
		double y = c[0] * x + z[0];
		z[0] = c[1] * x - c[3] * y + z[1];
		z[1] = c[2] * x - c[4] * y;
		x = y;
	}
	return (float)x;
}

static void history_push(FxPitchHistory *h, float v)
{
	h->buf[h->pos] = v;
	h->buf[h->pos + h->size] = v;
	h->pos = (h->pos + 1) & (h->size - 1);
}

void fx_pitch_feed(FxPitch *p, float *const *x, int channels, int frames)
{
	const float scale = 1.0f / (float)channels;
	for (int i = 0; i < frames;) {
		int n = p->factor - p->phase;
		if (n > frames - i)
			n = frames - i;
		for (int k = i; k < i + n; k++) {
			float m = x[0][k];
			for (int ch = 1; ch < channels; ch++)
				m += x[ch][k];
			if (channels > 1)
				m *= scale;
			p->energy += (double)m * m;
			history_push(&p->full, front(p, m));
		}
		i += n;
		p->phase += n;
		if (p->phase < p->factor)
			break;
		p->phase = 0;
		history_push(&p->dec, lowpass(p));
		if (--p->until_analysis == 0) {
			p->until_analysis = p->hop;
			analyse(p);
		}
	}
}

/* Everything reset clears but the histories' samples. */
typedef struct {
	double iir_z[FX_PITCH_LOWPASS_SECTIONS][2];
	int full_pos, dec_pos;
	double energy;
	double hop_energy[FX_PITCH_LEVEL_HOPS];
	int hop_index, phase, until_analysis;
	FxPitchReading reading;
} PitchCheckpoint;

_Static_assert(sizeof(PitchCheckpoint) <= FX_PITCH_REWIND_BYTES,
               "FX_PITCH_REWIND_BYTES too small");

void fx_pitch_checkpoint(const FxPitch *p, void *saved)
{
	PitchCheckpoint *k = saved;
	memcpy(k->iir_z, p->iir_z, sizeof k->iir_z);
	k->full_pos = p->full.pos;
	k->dec_pos = p->dec.pos;
	k->energy = p->energy;
	memcpy(k->hop_energy, p->hop_energy, sizeof k->hop_energy);
	k->hop_index = p->hop_index;
	k->phase = p->phase;
	k->until_analysis = p->until_analysis;
	k->reading = p->reading;
}

void fx_pitch_rollback(FxPitch *p, const void *saved)
{
	const PitchCheckpoint *k = saved;
	memcpy(p->iir_z, k->iir_z, sizeof p->iir_z);
	p->full.pos = k->full_pos;
	p->dec.pos = k->dec_pos;
	p->energy = k->energy;
	memcpy(p->hop_energy, k->hop_energy, sizeof p->hop_energy);
	p->hop_index = k->hop_index;
	p->phase = k->phase;
	p->until_analysis = k->until_analysis;
	p->reading = k->reading;
}

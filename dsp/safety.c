/* SPDX-License-Identifier: ISC */
#include "dsp/safety.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct FxSafetyImpl {
	int channels;
	float pole;     ///< DC blocker pole
	float ceiling;  ///< linear
	float knee;     ///< clip is linear below this
	float *x1, *y1; ///< DC blocker state per channel
	/* fx_safety_checkpoint's copy of x1 and y1 (the engine re-renders an
	 * unplayed chunk from it). */
	float *saved_x1, *saved_y1;
};

FxSafety *fx_safety_new(int channels, double sample_rate, double ceiling_db,
                        FxStatus *st)
{
	if (channels < 1 || channels > 64 || !(sample_rate > 0) ||
	    !(ceiling_db < 0.0 && ceiling_db > -60.0)) {
		*st = FX_ERR_RANGE;
		return NULL;
	}
	FxSafety *s = calloc(1, sizeof *s);
	if (s) {
		s->x1 = calloc((size_t)channels, sizeof *s->x1);
		s->y1 = calloc((size_t)channels, sizeof *s->y1);
		s->saved_x1 = calloc((size_t)channels, sizeof *s->x1);
		s->saved_y1 = calloc((size_t)channels, sizeof *s->y1);
	}
	if (!s || !s->x1 || !s->y1 || !s->saved_x1 || !s->saved_y1) {
		fx_safety_free(s);
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	s->channels = channels;
	s->pole = (float)(1.0 - 2.0 * M_PI * 5.0 / sample_rate);
	double ceiling = pow(10.0, ceiling_db / 20.0);
	/* Round down: the float ceiling must not exceed the asked one. */
	s->ceiling = (float)ceiling;
	if (s->ceiling > ceiling)
		s->ceiling = nextafterf(s->ceiling, 0.0f);
	s->knee = 0.9f * s->ceiling;
	*st = FX_OK;
	return s;
}

void fx_safety_free(FxSafety *s)
{
	if (!s)
		return;
	free(s->x1);
	free(s->y1);
	free(s->saved_x1);
	free(s->saved_y1);
	free(s);
}

void fx_safety_reset(FxSafety *s)
{
	if (!s)
		return;
	for (int c = 0; c < s->channels; c++)
		s->x1[c] = s->y1[c] = 0.0f;
}

void fx_safety_checkpoint(FxSafety *s)
{
	if (!s)
		return;
	size_t bytes = (size_t)s->channels * sizeof *s->x1;
	memcpy(s->saved_x1, s->x1, bytes);
	memcpy(s->saved_y1, s->y1, bytes);
}

void fx_safety_rollback(FxSafety *s)
{
	if (!s)
		return;
	size_t bytes = (size_t)s->channels * sizeof *s->x1;
	memcpy(s->x1, s->saved_x1, bytes);
	memcpy(s->y1, s->saved_y1, bytes);
}

/* Linear to the knee, then a tanh shoulder that meets the knee with slope 1
 * and tends to the ceiling. */
float fx_safety_clip(const FxSafety *s, float x)
{
	float a = fabsf(x);
	if (a <= s->knee)
		return x;
	if (!(a < INFINITY)) /* NaN is silenced, infinity pinned */
		return isnan(x) ? 0.0f : copysignf(s->ceiling, x);
	float room = s->ceiling - s->knee;
	float y = s->knee + room * tanhf((a - s->knee) / room);
	if (y > s->ceiling)
		y = s->ceiling;
	return x < 0 ? -y : y;
}

void fx_safety_process(FxSafety *s, float *const *buf, int frames)
{
	for (int c = 0; c < s->channels; c++) {
		float *x = buf[c];
		float x1 = s->x1[c], y1 = s->y1[c];
		for (int i = 0; i < frames; i++) {
			float y = x[i] - x1 + s->pole * y1;
			/* Huge finite steps can overflow the blocker: restart it
			 * rather than let inf - inf poison every later sample. */
			if (!isfinite(y))
				x1 = y1 = y = 0.0f;
			else {
				x1 = x[i];
				y1 = y;
			}
			x[i] = fx_safety_clip(s, y);
		}
		s->x1[c] = x1;
		s->y1[c] = y1;
	}
}

/* SPDX-License-Identifier: ISC */
/* gain: a level change in dB, ramped per sample so steps never click. */
#include "dsp/effect.h"

#include <math.h>

typedef struct {
	int channels;
	float gain; ///< linear gain reached at the end of the last block
	float target;
} Gain;

static const FxParamInfo params[] = {
	{"db", "dB", -96, 24, 0, FX_SCALE_DB, FX_PARAM_SMOOTHED, NULL,
         "level change"},
};

static float db_to_gain(double db)
{
	return (float)pow(10.0, db / 20.0);
}

static FxStatus init(void *state, const FxEffectSetup *setup)
{
	Gain *g = state;
	g->channels = setup->channels;
	g->gain = g->target = db_to_gain(setup->values[0]);
	return FX_OK;
}

static void reset(void *state)
{
	(void)state;
}

static void update(void *state, const double *values)
{
	Gain *g = state;
	g->target = db_to_gain(values[0]);
}

static void process(void *state, float *const *buf, int frames)
{
	Gain *g = state;
	float g0 = g->gain, inc = (g->target - g0) / (float)frames;
	for (int c = 0; c < g->channels; c++) {
		float *restrict x = buf[c];
		if (inc == 0.0f) {
			for (int i = 0; i < frames; i++)
				x[i] *= g0;
		} else {
			/* Closed-form ramp: no accumulated rounding, vectorises. */
			for (int i = 0; i < frames; i++)
				x[i] *= g0 + (float)(i + 1) * inc;
		}
	}
	g->gain = g->target;
}

/* A checkpoint is the ramp's two ends. */
typedef struct {
	float gain, target;
} GainCheckpoint;

static void checkpoint(const void *state, void *saved)
{
	const Gain *g = state;
	*(GainCheckpoint *)saved = (GainCheckpoint){g->gain, g->target};
}

static void rollback(void *state, const void *saved)
{
	Gain *g = state;
	const GainCheckpoint *k = saved;
	g->gain = k->gain;
	g->target = k->target;
}

const FxEffectClass fx_effect_gain = {
	.name = "gain",
	.doc = "Level change in dB, ramped per sample.",
	.params = params,
	.n_params = sizeof params / sizeof params[0],
	.state_size = sizeof(Gain),
	.init = init,
	.reset = reset,
	.update = update,
	.process = process,
	.rewind_size = sizeof(GainCheckpoint),
	.checkpoint = checkpoint,
	.rollback = rollback,
};

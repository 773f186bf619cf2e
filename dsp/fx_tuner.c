/* SPDX-License-Identifier: ISC */
/* tuner: reports the input's pitch as read-only outputs (dsp/pitch.h does
 * the detecting) and passes the audio through untouched, or mutes it while
 * tuning, the pedal convention. */
#include "dsp/effect.h"

#include <math.h>

#include "dsp/pitch.h"

enum { P_REF, P_MUTE };
enum { O_FREQ, O_NOTE, O_CENTS, O_LEVEL, N_OUTPUTS };

/* Mute fades over this long instead of clicking. */
#define MUTE_RAMP_MS 5.0

static const char *const mute_labels[] = {"off", "on", NULL};

static const FxParamInfo params[] = {
	{"ref", "Hz", 400, 480, 440, FX_SCALE_LIN, FX_PARAM_SMOOTHED, NULL,
         "reference pitch of A4 (MIDI note 69)"},
	{"mute", "", 0, 1, 0, FX_SCALE_ENUM, FX_PARAM_INTEGER, mute_labels,
         "on: silence the output while tuning (5 ms fade); off: the input "
         "passes bit for bit"},
};

static const FxParamInfo outputs[] = {
	{"freq", "Hz", 0, FX_PITCH_MAX_HZ, 0, FX_SCALE_LIN, 0, NULL,
         "detected pitch, 30..1500 Hz; no reading (not published) without "
         "a clear pitch (silence, noise, no clear period)"},
	{"note", "", 0, 127, 0, FX_SCALE_LIN, FX_PARAM_INTEGER, NULL,
         "nearest MIDI note to freq at the reference (69 is A4); no reading "
         "without a pitch"},
	{"cents", "cents", -50, 50, 0, FX_SCALE_LIN, 0, NULL,
         "how far freq is above the note; no reading without a pitch"},
	{"level", "dBFS", FX_PITCH_FLOOR_DB, 6, FX_PITCH_FLOOR_DB, FX_SCALE_DB,
         0, NULL,
         "input RMS over 20 ms, a full-scale sine at 0; no pitch is "
         "reported under -70"},
};

typedef struct {
	FxPitch *pitch;
	int channels;
	double ref;   ///< Hz of A4
	int mute;     ///< target: 1 silent, 0 untouched
	int ramp;     ///< frames the mute fades over
	int position; ///< 0 untouched .. ramp silent
} Tuner;

static FxStatus plan(const FxEffectSetup *setup, FxEffectPlan *out)
{
	*out = (FxEffectPlan){fx_pitch_bytes(setup->sample_rate), 0};
	return FX_OK;
}

static void update(void *state, const double *values)
{
	Tuner *t = state;
	t->ref = values[P_REF];
	t->mute = values[P_MUTE] >= 0.5;
}

static void reset(void *state)
{
	Tuner *t = state;
	fx_pitch_reset(t->pitch);
	t->position = t->mute ? t->ramp : 0;
}

static void cleanup(void *state)
{
	Tuner *t = state;
	fx_pitch_free(t->pitch);
}

static FxStatus init(void *state, const FxEffectSetup *setup)
{
	Tuner *t = state;
	t->channels = setup->channels;
	long ramp = lround(MUTE_RAMP_MS * 1e-3 * setup->sample_rate);
	t->ramp = ramp < 1 ? 1 : (int)ramp;
	t->pitch = fx_pitch_new(setup->sample_rate);
	if (!t->pitch)
		return FX_ERR_NOMEM;
	update(t, setup->values);
	t->position = t->mute ? t->ramp : 0;
	return FX_OK;
}

/* The first @p frames frames through the fade, one step per frame towards
 * the target; the gain is a closed form of the position, so it never
 * drifts and lands on exactly 0 or 1. */
static void fade(Tuner *t, float *const *buf, int frames)
{
	const int step = t->mute ? 1 : -1;
	const float inv = 1.0f / (float)t->ramp;
	int pos = t->position;
	for (int i = 0; i < frames; i++) {
		pos += step;
		float g = (float)(t->ramp - pos) * inv;
		/* Silent is +0, never a negative sample's -0. */
		for (int ch = 0; ch < t->channels; ch++)
			buf[ch][i] = pos == t->ramp ? 0.0f : buf[ch][i] * g;
	}
	t->position = pos;
}

static void process(void *state, float *const *buf, int frames)
{
	Tuner *t = state;
	/* The detector hears the input, muted or not. */
	fx_pitch_feed(t->pitch, buf, t->channels, frames);
	int left = t->mute ? t->ramp - t->position : t->position;
	int fading = left < frames ? left : frames;
	fade(t, buf, fading);
	if (t->mute)
		for (int ch = 0; ch < t->channels; ch++)
			for (int i = fading; i < frames; i++)
				buf[ch][i] = 0.0f;
}

static void read_outputs(const void *state, float *values)
{
	const Tuner *t = state;
	FxPitchReading r = fx_pitch_read(t->pitch);
	/* No clear pitch is no reading (NaN): fxd publishes none, rather
	 * than a number a display would show. */
	double freq = NAN, note = NAN, cents = NAN;
	if (r.freq > 0.0) {
		double m = 69.0 + 12.0 * log2(r.freq / t->ref);
		freq = r.freq;
		note = round(m);
		cents = 100.0 * (m - note);
	}
	values[O_FREQ] = (float)freq;
	values[O_NOTE] = (float)note;
	values[O_CENTS] = (float)cents;
	values[O_LEVEL] = (float)r.level;
}

const FxEffectClass fx_effect_tuner = {
	.no_rewind = 1, // XXX interim
	.name = "tuner",
	.doc = "Pitch detector (YIN, refined at full rate) with read-only "
	       "outputs; passes or mutes the audio.",
	.params = params,
	.n_params = sizeof params / sizeof params[0],
	.state_size = sizeof(Tuner),
	.init = init,
	.plan = plan,
	.cleanup = cleanup,
	.reset = reset,
	.update = update,
	.process = process,
	.outputs = outputs,
	.n_outputs = N_OUTPUTS,
	.read_outputs = read_outputs,
};

/* SPDX-License-Identifier: ISC */
/* gate: a noise gate with hysteresis and hold, for a live rig.
 *
 * The detector hears every channel through a highpass (the sidechain, so
 * low rumble does not hold the gate open) and takes the loudest: a peak
 * follower that rises at once and falls with a DETECT_MS time constant.
 * The gate opens when that level rises above the threshold and closes once
 * it has stayed below threshold - hyst for hold ms. One gain for all
 * channels moves toward 0 dB (open) or the range (closed) as a one-pole in
 * dB. Threshold and range move per sample across each block, so the
 * chain's 32-frame glide steps never reach the gain as steps.
 */
#include "dsp/effect.h"

#include <math.h>
#include <stdlib.h>

/* dB = DB_PER_LOG2 * log2(amplitude); amplitude = exp2(dB * LOG2_PER_DB). */
#define DB_PER_LOG2 6.0205999132796239f
#define LOG2_PER_DB 0.16609640474436813f

/* How fast the detected level falls between a signal's peaks; hold
 * bridges longer gaps (a low string's half period). */
#define DETECT_MS 10.0

/* A DC offset far below hearing keeps the sidechain's state out of the
 * subnormals in silence; the highpass removes it. */
#define SIDECHAIN_DC 1e-18

enum {
	P_THRESHOLD,
	P_RANGE,
	P_ATTACK,
	P_HOLD,
	P_RELEASE,
	P_HYST,
	P_SIDECHAIN_HPF,
};

enum { SEGMENT = 64 }; ///< frames per pass; levels and gains on the stack

static const FxParamInfo params[] = {
	[P_THRESHOLD] = {"threshold", "dB", -90, 0, -50, FX_SCALE_DB,
                         FX_PARAM_SMOOTHED, NULL,
                         "the gate opens when the detected level (the "
                         "sidechain's peak, falling with a 10 ms time "
                         "constant) rises above this"},
	[P_RANGE] = {"range", "dB", -90, 0, -60, FX_SCALE_DB, FX_PARAM_SMOOTHED,
                     NULL, "gain while closed; 0 leaves the signal untouched"},
	[P_ATTACK] = {"attack", "ms", 0.1, 100, 0.5, FX_SCALE_LOG,
                      FX_PARAM_SMOOTHED, NULL,
                      "time constant of opening: the gain, in dB, goes "
                      "1 - 1/e of the way to 0 dB in this time"},
	[P_HOLD] = {"hold", "ms", 0, 2000, 50, FX_SCALE_LIN, FX_PARAM_SMOOTHED,
                    NULL,
                    "how long the level must stay below threshold - hyst "
                    "before the gate closes"},
	[P_RELEASE] = {"release", "ms", 1, 5000, 100, FX_SCALE_LOG,
                       FX_PARAM_SMOOTHED, NULL,
                       "time constant of closing: the gain, in dB, goes "
                       "1 - 1/e of the way to range in this time"},
	[P_HYST] = {"hyst", "dB", 0, 24, 4, FX_SCALE_LIN, FX_PARAM_SMOOTHED, NULL,
                    "hysteresis: the gate closes only below threshold - "
                    "hyst"},
	[P_SIDECHAIN_HPF] = {"sidechain_hpf", "Hz", 10, 2000, 60, FX_SCALE_LOG,
                             FX_PARAM_SMOOTHED, NULL,
                             "corner of the detector's 12 dB/octave "
                             "highpass, so rumble below it does not hold "
                             "the gate open (the audio is not filtered)"},
};

static const char *const open_labels[] = {"closed", "open", NULL};

/* An enum rather than a 0..1 number: it is a state, not a quantity, and
 * its names say which way round it is; its value is still 0 or 1. */
static const FxParamInfo outputs[] = {
	{"open", "", 0, 1, 0, FX_SCALE_ENUM, FX_PARAM_INTEGER, open_labels,
         "1 while the detector holds the gate open (hold included), else 0"},
};

/* One channel's sidechain highpass memory. */
typedef struct {
	double z1, z2;
} Hpf;

typedef struct {
	int channels;
	double fs;
	float thresh, thresh_goal; ///< dB; ramps to the goal over a block
	float range, range_goal;   ///< dB; ramps to the goal over a block
	float hyst;                ///< dB
	double attack, release;    ///< one-pole coefficients of the gain in dB
	double hold;               ///< frames
	float detect;              ///< the detected level's fall per frame
	double b0, c1, c2, a1, a2; ///< sidechain highpass, state-space TDF-II
	Hpf *hpf;                  ///< one per channel
	float env;                 ///< detected level, linear
	double gain;               ///< dB
	long below;                ///< frames under threshold - hyst while open
	int open;
} Gate;

/* A one-pole's coefficient for time constant @p ms: a step is 1 - 1/e of
 * the way there after ms milliseconds. In double, as the compressor's: in
 * float a slow pole stalls short of its goal. */
static double one_pole(double ms, double fs)
{
	return exp(-1000.0 / (ms * fs));
}

/* A second-order Butterworth highpass by the bilinear transform, written
 * in the state-space TDF-II form (PERF-NOTES.md): c1 = b1 - a1 * b0,
 * c2 = b2 - a2 * b0. */
static void design_hpf(Gate *g, double hz)
{
	if (hz > 0.45 * g->fs)
		hz = 0.45 * g->fs;
	double k = tan(M_PI * hz / g->fs);
	double norm = 1.0 / (1.0 + M_SQRT2 * k + k * k);
	double b0 = norm, b1 = -2.0 * norm, b2 = norm;
	g->a1 = 2.0 * (k * k - 1.0) * norm;
	g->a2 = (1.0 - M_SQRT2 * k + k * k) * norm;
	g->b0 = b0;
	g->c1 = b1 - g->a1 * b0;
	g->c2 = b2 - g->a2 * b0;
}

static void update(void *state, const double *v)
{
	Gate *g = state;
	g->thresh_goal = (float)v[P_THRESHOLD];
	g->range_goal = (float)v[P_RANGE];
	g->attack = one_pole(v[P_ATTACK], g->fs);
	g->hold = v[P_HOLD] * g->fs / 1000.0;
	g->release = one_pole(v[P_RELEASE], g->fs);
	g->hyst = (float)v[P_HYST];
	design_hpf(g, v[P_SIDECHAIN_HPF]);
}

/* Closed, at the floor, with a quiet sidechain. */
static void reset(void *state)
{
	Gate *g = state;
	for (int ch = 0; ch < g->channels; ch++)
		g->hpf[ch] = (Hpf){0.0, 0.0};
	g->env = 0.0f;
	g->gain = g->range;
	g->below = 0;
	g->open = 0;
}

static void cleanup(void *state)
{
	Gate *g = state;
	free(g->hpf);
}

static FxStatus plan(const FxEffectSetup *setup, FxEffectPlan *p)
{
	*p = (FxEffectPlan){(size_t)setup->channels * sizeof(Hpf), 0};
	return FX_OK;
}

static FxStatus init(void *state, const FxEffectSetup *setup)
{
	Gate *g = state;
	g->channels = setup->channels;
	g->fs = setup->sample_rate;
	g->detect = (float)one_pole(DETECT_MS, g->fs);
	g->hpf = calloc((size_t)g->channels, sizeof *g->hpf);
	if (!g->hpf)
		return FX_ERR_NOMEM;
	update(g, setup->values);
	g->thresh = g->thresh_goal;
	g->range = g->range_goal;
	reset(g);
	return FX_OK;
}

/* The loudest channel's highpassed magnitude for @p n frames from @p off. */
static void sidechain(Gate *g, float *const *buf, int off, int n,
                      float *restrict level)
{
	const double b0 = g->b0, c1 = g->c1, c2 = g->c2, a1 = g->a1, a2 = g->a2;
	for (int i = 0; i < n; i++)
		level[i] = 0.0f;
	for (int ch = 0; ch < g->channels; ch++) {
		const float *restrict x = buf[ch] + off;
		double z1 = g->hpf[ch].z1, z2 = g->hpf[ch].z2;
		for (int i = 0; i < n; i++) {
			double in = (double)x[i] + SIDECHAIN_DC;
			double y = b0 * in + z1;
			double z = -a1 * z1 + (c1 * in + z2);
			z2 = -a2 * z1 + c2 * in;
			z1 = z;
			level[i] = fmaxf(level[i], fabsf((float)y));
		}
		g->hpf[ch].z1 = z1;
		g->hpf[ch].z2 = z2;
	}
}

/* The detector and the gain for @p n frames of @p level into @p gain.
 * Threshold and range move by @p dt and @p dr per frame. */
static void gains(Gate *g, const float *restrict level, int n, float dt,
                  float dr, float *restrict gain)
{
	const float detect = g->detect, hyst = g->hyst;
	const double att = g->attack, rel = g->release, hold = g->hold;
	float env = g->env, t = g->thresh, r = g->range;
	double gdb = g->gain;
	long below = g->below;
	int open = g->open;
	for (int i = 0; i < n; i++) {
		env = fmaxf(level[i], env * detect);
		t += dt;
		r += dr;
		float lv = DB_PER_LOG2 * log2f(fmaxf(env, 1e-15f));
		if (lv > t) {
			open = 1;
			below = 0;
		} else if (open) {
			if (lv >= t - hyst)
				below = 0;
			else if ((double)++below > hold)
				open = 0;
		}
		/* The gain moves as a one-pole in dB: opening, its linear
		 * slope starts near zero and never exceeds 1 / (e * attack),
		 * where a one-pole on the linear gain would jump to its
		 * steepest slope at once (a click); closing, it fades at an
		 * even rate in dB, as an analog gate's exponential VCA does.
		 * It lands exactly, so an open gate's gain is exactly 1. */
		double goal = open ? 0.0 : (double)r;
		double next = goal + (open ? att : rel) * (gdb - goal);
		gdb = fabs(next - goal) < 1e-9 ? goal : next;
		gain[i] = exp2f((float)gdb * LOG2_PER_DB);
	}
	g->env = env;
	g->thresh = t;
	g->range = r;
	g->gain = gdb;
	g->below = below;
	g->open = open;
}

static void process(void *state, float *const *buf, int frames)
{
	Gate *g = state;
	if (frames < 1)
		return;
	float dt = (g->thresh_goal - g->thresh) / (float)frames;
	float dr = (g->range_goal - g->range) / (float)frames;
	float level[SEGMENT], gain[SEGMENT];
	for (int off = 0; off < frames; off += SEGMENT) {
		int n = frames - off < SEGMENT ? frames - off : SEGMENT;
		sidechain(g, buf, off, n, level);
		gains(g, level, n, dt, dr, gain);
		for (int ch = 0; ch < g->channels; ch++) {
			float *restrict x = buf[ch] + off;
			for (int i = 0; i < n; i++)
				x[i] *= gain[i];
		}
	}
	g->thresh = g->thresh_goal;
	g->range = g->range_goal;
}

static void read_outputs(const void *state, float *values)
{
	const Gate *g = state;
	values[0] = g->open ? 1.0f : 0.0f;
}

const FxEffectClass fx_effect_gate = {
	.no_rewind = 1, // XXX interim
	.name = "gate",
	.doc = "Noise gate with hysteresis and hold: linked channels, detector "
	       "on a highpassed sidechain.",
	.params = params,
	.n_params = sizeof params / sizeof params[0],
	.state_size = sizeof(Gate),
	.init = init,
	.plan = plan,
	.cleanup = cleanup,
	.reset = reset,
	.update = update,
	.process = process,
	.outputs = outputs,
	.n_outputs = sizeof outputs / sizeof outputs[0],
	.read_outputs = read_outputs,
};

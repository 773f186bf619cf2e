/* SPDX-License-Identifier: ISC */
/* Dynamics: a feed-forward compressor and a look-ahead peak limiter.
 *
 * Both link their channels: one gain for all, from the loudest channel
 * (the largest |x| for peak detection, the largest channel mean square for
 * rms). Threshold, makeup and ceiling move per sample across each block,
 * so the chain's 32-frame glide steps never reach the gain as steps.
 */
#include "dsp/effect.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>

#include "dsp/pages.h"

/* dB = DB_PER_LOG2 * log2(amplitude); amplitude = exp2(dB * LOG2_PER_DB). */
#define DB_PER_LOG2 6.0205999132796239f
#define LOG2_PER_DB 0.16609640474436813f

/* A one-pole's coefficient for time constant @p ms: a step is 1 - 1/e of
 * the way there after ms milliseconds. The poles run in double: in float a
 * slow one stops short of its goal (a 2 s release stalls where its step is
 * under half an ulp: 0.03 dB off at 10 dB). */
static double one_pole(double ms, double fs)
{
	return exp(-1000.0 / (ms * fs));
}

/* Gain reduction as an output: the most the gain fell below unity during
 * the last block processed, in dB (0: none), so a meter polled a few
 * times a second still shows each squash. */
static const FxParamInfo gr_output[] = {
	{"gr", "dB", 0, 96, 0, FX_SCALE_LIN, 0, NULL,
         "gain reduction: the most during the last block run (0: none)"},
};

/* ---- compressor ---------------------------------------------------------- */

enum { C_THRESHOLD, C_RATIO, C_ATTACK, C_RELEASE, C_KNEE, C_MAKEUP, C_DETECT };

/* The rms detector's averaging time. */
#define RMS_MS 10.0

static const char *const detect_labels[] = {"peak", "rms", NULL};

static const FxParamInfo comp_params[] = {
	{"threshold", "dB", -60, 0, -20, FX_SCALE_DB, FX_PARAM_SMOOTHED, NULL,
         "level where compression starts (the knee's centre)"},
	{"ratio", "", 1, 50, 4, FX_SCALE_LOG, FX_PARAM_SMOOTHED, NULL,
         "input dB over threshold per output dB"},
	{"attack", "ms", 0.1, 500, 10, FX_SCALE_LOG, FX_PARAM_SMOOTHED, NULL,
         "time constant of rising gain reduction (1 - 1/e of a step, in dB)"},
	{"release", "ms", 1, 5000, 150, FX_SCALE_LOG, FX_PARAM_SMOOTHED, NULL,
         "time constant of falling gain reduction (1 - 1/e of a step, in dB)"},
	{"knee", "dB", 0, 24, 6, FX_SCALE_LIN, FX_PARAM_SMOOTHED, NULL,
         "soft knee width around the threshold; 0 is a hard knee"},
	{"makeup", "dB", -24, 36, 0, FX_SCALE_DB, FX_PARAM_SMOOTHED, NULL,
         "gain after compression"},
	{"detect", "", 0, 1, 0, FX_SCALE_ENUM, FX_PARAM_INTEGER, detect_labels,
         "level detector: peak, or rms over 10 ms (a sine reads its peak)"},
};

typedef struct {
	int channels, max_block;
	float thresh, thresh_goal; ///< dB; ramps to the goal over a block
	float makeup, makeup_goal; ///< dB; ramps to the goal over a block
	float slope;               ///< 1/ratio - 1
	float knee;                ///< dB
	double attack, release;    ///< one-pole coefficients
	float ms_coef;             ///< rms averager's coefficient
	int rms;                   ///< detect=rms
	float *ms;                 ///< per-channel mean square
	double hold;               ///< dB of reduction after the release stage
	double gr;                 ///< dB of reduction after the attack stage
	float *gain;               ///< max_block frames of linear gain
	double fs;
	float gr_most; ///< output gr: the most reduction in the last block
} Compressor;

/* How far below the input the static curve puts the output, in dB (>= 0):
 * Giannoulis, Massberg & Reiss (2012), eq. 4, with slope = 1/R - 1. */
static inline float reduction(float x, float t, float w, float slope)
{
	float over = x - t;
	if (2.0f * over <= -w)
		return 0.0f;
	if (2.0f * over < w) {
		float a = over + 0.5f * w;
		return -slope * a * a / (2.0f * w);
	}
	return -slope * over;
}

static void comp_update(void *state, const double *v)
{
	Compressor *c = state;
	c->thresh_goal = (float)v[C_THRESHOLD];
	c->slope = (float)(1.0 / v[C_RATIO] - 1.0);
	c->attack = one_pole(v[C_ATTACK], c->fs);
	c->release = one_pole(v[C_RELEASE], c->fs);
	c->knee = (float)v[C_KNEE];
	c->makeup_goal = (float)v[C_MAKEUP];
	c->rms = v[C_DETECT] >= 0.5;
}

static void comp_reset(void *state)
{
	Compressor *c = state;
	for (int ch = 0; ch < c->channels; ch++)
		c->ms[ch] = 0.0f;
	c->hold = c->gr = 0.0;
	c->gr_most = 0.0f;
}

static void comp_cleanup(void *state)
{
	Compressor *c = state;
	free(c->ms);
	free(c->gain);
}

static FxStatus comp_plan(const FxEffectSetup *setup, FxEffectPlan *plan)
{
	*plan = (FxEffectPlan){(size_t)setup->channels * sizeof(float) +
	                               (size_t)setup->max_block * sizeof(float),
	                       0};
	return FX_OK;
}

static FxStatus comp_init(void *state, const FxEffectSetup *setup)
{
	Compressor *c = state;
	c->channels = setup->channels;
	c->max_block = setup->max_block;
	c->fs = setup->sample_rate;
	c->ms_coef = (float)one_pole(RMS_MS, c->fs);
	c->ms = calloc((size_t)c->channels, sizeof *c->ms);
	c->gain = calloc((size_t)c->max_block, sizeof *c->gain);
	if (!c->ms || !c->gain) {
		comp_cleanup(c);
		return FX_ERR_NOMEM;
	}
	comp_update(c, setup->values);
	c->thresh = c->thresh_goal;
	c->makeup = c->makeup_goal;
	comp_reset(c);
	return FX_OK;
}

/* The gain for @p n frames from offset @p off, into c->gain. Threshold and
 * makeup move by their steps per frame. */
static void comp_gains(Compressor *c, float *const *buf, int off, int n,
                       float dt, float dm)
{
	const int channels = c->channels, rms = c->rms;
	const float w = c->knee, slope = c->slope, mc = 1.0f - c->ms_coef;
	const double att = c->attack, rel = c->release;
	float t = c->thresh, mk = c->makeup;
	double hold = c->hold, gr = c->gr, most = c->gr_most;
	float *restrict gain = c->gain;
	float *restrict ms = c->ms;
	for (int i = 0; i < n; i++) {
		float peak = 0.0f, power = 0.0f;
		for (int ch = 0; ch < channels; ch++) {
			float x = buf[ch][off + i];
			peak = fmaxf(peak, fabsf(x));
			/* The constant keeps a silent channel's mean square out
			 * of the subnormals (it reads -297 dB). */
			float m = ms[ch] + mc * (x * x - ms[ch]) + 1e-30f;
			ms[ch] = m;
			power = fmaxf(power, m);
		}
		t += dt;
		mk += dm;
		/* rms: twice the mean square, so a sine reads its peak level
		 * (AES17). */
		float level = rms ? 0.5f * DB_PER_LOG2 * log2f(2.0f * power)
		                  : DB_PER_LOG2 * log2f(fmaxf(peak, 1e-15f));
		double xl = reduction(level, t, w, slope);
		/* Smoothing in the log domain after the gain computer: a peak
		 * hold that releases (instant rise), then an attack one-pole
		 * that follows falls at once. A step up is exactly an attack
		 * one-pole, a step down exactly a release one-pole, in dB. */
		double h = xl + rel * (hold - xl);
		hold = h > xl + 1e-9 ? h : xl;
		double g = hold + att * (gr - hold);
		gr = hold > gr && g < hold - 1e-9 ? g : hold;
		most = gr > most ? gr : most;
		gain[i] = exp2f((mk - (float)gr) * LOG2_PER_DB);
	}
	c->thresh = t;
	c->makeup = mk;
	c->hold = hold;
	c->gr = gr;
	c->gr_most = (float)most;
}

static void comp_process(void *state, float *const *buf, int frames)
{
	Compressor *c = state;
	if (frames < 1)
		return;
	float dt = (c->thresh_goal - c->thresh) / (float)frames;
	float dm = (c->makeup_goal - c->makeup) / (float)frames;
	c->gr_most = 0.0f;
	for (int off = 0; off < frames; off += c->max_block) {
		int n = frames - off;
		if (n > c->max_block)
			n = c->max_block;
		comp_gains(c, buf, off, n, dt, dm);
		for (int ch = 0; ch < c->channels; ch++) {
			float *restrict x = buf[ch] + off;
			const float *restrict gain = c->gain;
			for (int i = 0; i < n; i++)
				x[i] *= gain[i];
		}
	}
	c->thresh = c->thresh_goal;
	c->makeup = c->makeup_goal;
}

static void comp_read_outputs(const void *state, float *values)
{
	values[0] = ((const Compressor *)state)->gr_most;
}

/* The struct (ramps, detector, hold and gain stages) and each channel's
 * mean square; c->gain is scratch, rewritten every block. */
static void comp_checkpoint(const void *state, void *saved)
{
	const Compressor *c = state;
	memcpy(saved, c, sizeof *c);
	memcpy((char *)saved + sizeof *c, c->ms,
	       (size_t)c->channels * sizeof *c->ms);
}

static void comp_rollback(void *state, const void *saved)
{
	Compressor *c = state;
	float *ms = c->ms;
	memcpy(c, saved, sizeof *c);
	memcpy(ms, (const char *)saved + sizeof *c,
	       (size_t)c->channels * sizeof *ms);
}

const FxEffectClass fx_effect_compressor = {
	.rewind_size = sizeof(Compressor),
	.rewind_channel_size = sizeof(float),
	.checkpoint = comp_checkpoint,
	.rollback = comp_rollback,
	.name = "compressor",
	.doc = "Feed-forward soft-knee compressor, linked channels.",
	.params = comp_params,
	.n_params = sizeof comp_params / sizeof comp_params[0],
	.state_size = sizeof(Compressor),
	.init = comp_init,
	.plan = comp_plan,
	.cleanup = comp_cleanup,
	.reset = comp_reset,
	.update = comp_update,
	.process = comp_process,
	.outputs = gr_output,
	.n_outputs = 1,
	.read_outputs = comp_read_outputs,
};

/* ---- limiter --------------------------------------------------------------
 *
 * The audio is delayed by the look-ahead L. For each input frame n the gain
 * that keeps it under the ceiling is r[n] = min(1, ceiling / max|x[n]|).
 * h[n] is the minimum of r over the window [n - L, n] (a monotonic deque),
 * smoothed by a release that only ever lowers it, and the gain applied to
 * the delayed frame n - L is the mean of those values over the same window:
 * each of them is at most r[n - L], so their mean is too, and a new peak
 * is met by a linear ramp across the look-ahead. The mean is kept in
 * integers so that it never drifts. r uses the ceiling at the time a frame
 * comes in, so while the ceiling glides down the output follows it up to
 * one look-ahead late; at a steady ceiling the bound is strict.
 */

enum { L_CEILING, L_RELEASE, L_LOOKAHEAD };

static const FxParamInfo lim_params[] = {
	{"ceiling", "dB", -24, 0, -1, FX_SCALE_DB, FX_PARAM_SMOOTHED, NULL,
         "largest output peak"},
	{"release", "ms", 1, 2000, 50, FX_SCALE_LOG, FX_PARAM_SMOOTHED, NULL,
         "time constant of the gain's recovery"},
	{"lookahead", "ms", 0.1, 20, 5, FX_SCALE_LIN, FX_PARAM_STRUCTURAL, NULL,
         "how early the gain starts to fall; also the latency it adds"},
};

/* Box filter values are held as multiples of 2^-40, rounded down. */
#define BOX_ONE 0x1p40

/* Rewind (FxEffectClass.rollback) copies only the struct. Every ring is a
 * block (max_block frames) longer than what one frame reads back, so a
 * block rendered again rewrites what it wrote and reads nothing it
 * overwrote: the delay line, the box filter's values, and the gains r
 * each frame pushed into the sliding minimum. The deque itself is popped
 * from the back, which no small save undoes; rollback builds it again
 * from the last window of r. */
typedef struct {
	int channels, max_block;
	int lookahead;               ///< frames: the delay and the latency
	int window;                  ///< lookahead + 1 frames
	float ceiling, ceiling_goal; ///< linear; ramps to the goal over a block
	double release;              ///< one-pole coefficient
	double fs;
	float *delay;    ///< channels * delay_len frames
	int delay_len;   ///< lookahead + max_block
	int delay_pos;   ///< where the next frame is written
	float *dq_val;   ///< sliding-minimum deque: gains ...
	uint32_t *dq_at; ///< ... and the frames they were taken at
	uint32_t dq_mask, dq_head, dq_tail, now;
	double held;      ///< windowed minimum after the release
	uint32_t mask;    ///< of the rings below, indexed by frame (now)
	float *hist;      ///< r of each frame, for rollback's deque
	int64_t *box;     ///< held of each frame, in 2^-40
	int64_t box_sum;  ///< of the last window frames of box
	float *gain;      ///< max_block frames of linear gain
	float gain_least; ///< output gr: the least gain in the last block
} Limiter;

static void lim_update(void *state, const double *v)
{
	Limiter *l = state;
	l->ceiling_goal = (float)pow(10.0, v[L_CEILING] / 20.0);
	l->release = one_pole(v[L_RELEASE], l->fs);
}

static void lim_reset(void *state)
{
	Limiter *l = state;
	for (long i = 0; i < (long)l->channels * l->delay_len; i++)
		l->delay[i] = 0.0f;
	l->delay_pos = 0;
	l->dq_head = l->dq_tail = l->now = 0;
	l->held = 1.0;
	for (uint32_t i = 0; i <= l->mask; i++) {
		l->hist[i] = 1.0f;
		l->box[i] = (int64_t)BOX_ONE;
	}
	l->box_sum = (int64_t)BOX_ONE * l->window;
	l->gain_least = 1.0f;
}

static void lim_cleanup(void *state)
{
	Limiter *l = state;
	fx_pages_free(l->delay);
	free(l->dq_val);
	free(l->dq_at);
	free(l->hist);
	free(l->box);
	free(l->gain);
}

/* The look-ahead in frames, its window, the deque's capacity and the
 * frames the per-frame rings hold. */
typedef struct {
	int lookahead, window;
	uint32_t cap, ring;
} LimSizes;

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

static LimSizes lim_sizes(const FxEffectSetup *setup)
{
	long la = lround(setup->values[L_LOOKAHEAD] * setup->sample_rate / 1000.0);
	LimSizes z = {la < 1 ? 1 : (int)la, 0, 1, 1};
	z.window = z.lookahead + 1;
	/* The deque holds up to window + 1 entries between push and expiry. */
	z.cap = pow2_at_least((uint32_t)z.window + 2);
	/* A frame reads the box one window back, and rollback reads r one
	 * window back; a block more for the block rendered again. */
	z.ring = pow2_at_least((uint32_t)z.window + (uint32_t)setup->max_block);
	return z;
}

static size_t lim_delay_bytes(int channels, int lookahead, int max_block)
{
	return (size_t)channels * (size_t)(lookahead + max_block) * sizeof(float);
}

static FxStatus lim_plan(const FxEffectSetup *setup, FxEffectPlan *plan)
{
	LimSizes z = lim_sizes(setup);
	*plan = (FxEffectPlan){
		lim_delay_bytes(setup->channels, z.lookahead, setup->max_block) +
			z.cap * (sizeof(float) + sizeof(uint32_t)) +
			z.ring * (sizeof(float) + sizeof(int64_t)) +
			(size_t)setup->max_block * sizeof(float),
		z.lookahead};
	return FX_OK;
}

static FxStatus lim_init(void *state, const FxEffectSetup *setup)
{
	Limiter *l = state;
	l->channels = setup->channels;
	l->max_block = setup->max_block;
	l->fs = setup->sample_rate;
	LimSizes z = lim_sizes(setup);
	l->lookahead = z.lookahead;
	l->window = z.window;
	l->delay_len = z.lookahead + l->max_block;
	l->dq_mask = z.cap - 1;
	l->mask = z.ring - 1;
	l->delay = fx_pages_new(
		lim_delay_bytes(l->channels, l->lookahead, l->max_block));
	l->dq_val = calloc(z.cap, sizeof *l->dq_val);
	l->dq_at = calloc(z.cap, sizeof *l->dq_at);
	l->hist = calloc(z.ring, sizeof *l->hist);
	l->box = calloc(z.ring, sizeof *l->box);
	l->gain = calloc((size_t)l->max_block, sizeof *l->gain);
	if (!l->delay || !l->dq_val || !l->dq_at || !l->hist || !l->box ||
	    !l->gain) {
		lim_cleanup(l);
		return FX_ERR_NOMEM;
	}
	lim_update(l, setup->values);
	l->ceiling = l->ceiling_goal;
	lim_reset(l);
	return FX_OK;
}

static int lim_latency(const void *state)
{
	const Limiter *l = state;
	return l->lookahead;
}

/* The gains for @p n frames from offset @p off, into l->gain. The ceiling
 * moves by @p dc per frame. */
static void lim_gains(Limiter *l, float *const *buf, int off, int n, float dc)
{
	/* Asks a little under the ceiling: the gain's rounding (to float, and
	 * in x * gain) can then never carry a peak over it. */
	const float safe = 1.0f - 8.0f * FLT_EPSILON;
	const int channels = l->channels;
	const uint32_t mask = l->dq_mask, window = (uint32_t)l->window;
	const uint32_t rmask = l->mask;
	const double rel = l->release;
	const double scale = BOX_ONE * window;
	float *restrict val = l->dq_val;
	uint32_t *restrict at = l->dq_at;
	float *restrict hist = l->hist;
	int64_t *restrict box = l->box;
	uint32_t head = l->dq_head, tail = l->dq_tail, now = l->now;
	float ceiling = l->ceiling;
	double held = l->held;
	int64_t sum = l->box_sum;
	float least = l->gain_least;
	for (int i = 0; i < n; i++) {
		float peak = 0.0f;
		for (int ch = 0; ch < channels; ch++)
			peak = fmaxf(peak, fabsf(buf[ch][off + i]));
		ceiling += dc;
		float r = peak > ceiling ? ceiling / peak * safe : 1.0f;
		hist[now & rmask] = r;
		while (tail != head && val[(tail - 1) & mask] >= r)
			tail--;
		val[tail & mask] = r;
		at[tail & mask] = now;
		tail++;
		if (now - at[head & mask] >= window)
			head++;
		double h = val[head & mask];
		if (h <= held) {
			held = h;
		} else {
			held = h + rel * (held - h);
			/* Lands exactly, so gain 1 is exactly 1 again. */
			if (h - held < 1e-9)
				held = h;
		}
		int64_t q = (int64_t)(held * BOX_ONE);
		sum += q - box[(now - window) & rmask];
		box[now & rmask] = q;
		now++;
		l->gain[i] = (float)((double)sum / scale);
		least = fminf(least, l->gain[i]);
	}
	l->gain_least = least;
	l->dq_head = head;
	l->dq_tail = tail;
	l->now = now;
	l->ceiling = ceiling;
	l->held = held;
	l->box_sum = sum;
}

static void lim_process(void *state, float *const *buf, int frames)
{
	Limiter *l = state;
	if (frames < 1)
		return;
	float dc = (l->ceiling_goal - l->ceiling) / (float)frames;
	const int la = l->lookahead, len = l->delay_len;
	l->gain_least = 1.0f;
	for (int off = 0; off < frames; off += l->max_block) {
		int n = frames - off;
		if (n > l->max_block)
			n = l->max_block;
		lim_gains(l, buf, off, n, dc);
		const float *restrict gain = l->gain;
		for (int ch = 0; ch < l->channels; ch++) {
			float *restrict x = buf[ch] + off;
			float *restrict d = l->delay + (size_t)ch * len;
			int w = l->delay_pos;
			int r = w >= la ? w - la : w - la + len;
			for (int i = 0; i < n; i++) {
				float y = d[r];
				d[w] = x[i];
				x[i] = y * gain[i];
				if (++w == len)
					w = 0;
				if (++r == len)
					r = 0;
			}
		}
		l->delay_pos = (int)((l->delay_pos + (long)n) % len);
	}
	l->ceiling = l->ceiling_goal;
}

/* The gain is applied to frames one look-ahead late: the reduction shown
 * is the one heard then. */
static void lim_read_outputs(const void *state, float *values)
{
	float g = ((const Limiter *)state)->gain_least;
	values[0] = g < 1.0f ? -DB_PER_LOG2 * log2f(fmaxf(g, 1e-5f)) : 0.0f;
}

/* The struct: positions, ramps, the deque's ends, the release and the
 * box's sum. The rings are not copied (see Limiter). */
static void lim_checkpoint(const void *state, void *saved)
{
	memcpy(saved, state, sizeof(Limiter));
}

/* Builds the deque again from r of the last window frames, as pushing
 * them gave it: the frames whose r is below every later one's. Frames
 * before a reset read r = 1, which the next frame's push pops. */
static void lim_rollback(void *state, const void *saved)
{
	Limiter *l = state;
	memcpy(l, saved, sizeof *l);
	const uint32_t mask = l->dq_mask, rmask = l->mask;
	uint32_t head = l->dq_head, tail = head;
	for (uint32_t t = l->now - (uint32_t)l->window; t != l->now; t++) {
		float r = l->hist[t & rmask];
		while (tail != head && l->dq_val[(tail - 1) & mask] >= r)
			tail--;
		l->dq_val[tail & mask] = r;
		l->dq_at[tail & mask] = t;
		tail++;
	}
	l->dq_tail = tail;
}

const FxEffectClass fx_effect_limiter = {
	.rewind_size = sizeof(Limiter),
	.checkpoint = lim_checkpoint,
	.rollback = lim_rollback,
	.name = "limiter",
	.doc = "Look-ahead peak limiter: output peaks never pass the ceiling.",
	.params = lim_params,
	.n_params = sizeof lim_params / sizeof lim_params[0],
	.state_size = sizeof(Limiter),
	.init = lim_init,
	.plan = lim_plan,
	.cleanup = lim_cleanup,
	.reset = lim_reset,
	.update = lim_update,
	.process = lim_process,
	.latency = lim_latency,
	.outputs = gr_output,
	.n_outputs = 1,
	.read_outputs = lim_read_outputs,
};

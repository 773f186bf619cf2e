/* SPDX-License-Identifier: ISC */
/* delay: a feedback delay line per channel, set in milliseconds or as a
 * note division of a tempo, with optional ping-pong between channel pairs.
 *
 * The read position is fractional (4-point Catmull-Rom interpolation), so a
 * delay change moves the read head smoothly instead of jumping: over each
 * block the delay goes linearly from where it was to the new value, like a
 * tape head, but never faster than MAX_SLEW samples per sample. Chain glides
 * of `time` arrive as small steps per 32-frame sub-block and are followed
 * exactly; jumps (a new division, bpm or rig tempo, or glides switched off)
 * are spread over as many samples as MAX_SLEW needs.
 */
#include "dsp/effect.h"

#include <math.h>
#include <string.h>

#include "dsp/pages.h"

enum {
	P_TIME,
	P_DIVISION,
	P_BPM,
	P_FEEDBACK,
	P_MIX,
	P_PINGPONG,
	P_MAX,
	N_PARAMS
};

enum {
	GUARD = 3, ///< samples mirrored past a line's end: 4-tap reads never wrap
	PIECE = 128, ///< frames per pass of the steady path
};

/* The read head moves at most this many samples per sample: playback speed
 * stays within 0.5x..1.5x while the delay changes, so a glide bends pitch
 * but the read head never stops or runs backwards. */
#define MAX_SLEW 0.5

/* Catmull-Rom needs one sample newer than the integer delay, which must
 * already be written: the shortest delay is two samples. */
#define MIN_DELAY 2.0

#define PINGPONG_FADE_S 0.01 ///< pingpong on/off crossfades the routing

#define DEFAULT_BPM 120.0 ///< the rig's tempo until the tempo hook says

static const char *const division_labels[] = {
	"off", "1/1",  "1/2",  "1/2d", "1/2t",  "1/4",   "1/4d", "1/4t",
	"1/8", "1/8d", "1/8t", "1/16", "1/16d", "1/16t", "1/32", NULL};

/* Quarter notes per division: dotted is x1.5, triplet x2/3. */
static const double division_beats[] = {
	0.0, 4.0,  2.0,       3.0,  4.0 / 3.0, 1.0,       1.5,  2.0 / 3.0,
	0.5, 0.75, 1.0 / 3.0, 0.25, 0.375,     1.0 / 6.0, 0.125};

enum { N_DIVISIONS = sizeof division_beats / sizeof division_beats[0] };

_Static_assert(N_DIVISIONS ==
                       sizeof division_labels / sizeof division_labels[0] - 1,
               "one beat count per division label");

static const FxParamInfo params[] = {
	[P_TIME] = {"time", "ms", 1, 10000, 250, FX_SCALE_LOG, FX_PARAM_SMOOTHED,
                    NULL, "delay time, used while division is off"},
	[P_DIVISION] = {"division", "", 0, N_DIVISIONS - 1, 0, FX_SCALE_ENUM, 0,
                        division_labels,
                        "note value of the delay at the tempo (d dotted, t "
                        "triplet); off uses time"},
	[P_BPM] = {"bpm", "BPM", 0, 999, 0, FX_SCALE_LIN, 0, NULL,
                   "tempo for division; 0 follows the rig's tempo (/fxd/bpm)"},
	[P_FEEDBACK] = {"feedback", "", 0, 0.95, 0.4, FX_SCALE_LIN,
                        FX_PARAM_SMOOTHED, NULL,
                        "share of each echo fed back into the line"},
	[P_MIX] = {"mix", "", 0, 1, 0.35, FX_SCALE_LIN, FX_PARAM_SMOOTHED, NULL,
                   "wet share: out = (1 - mix) * dry + mix * echoes"},
	[P_PINGPONG] = {"pingpong", "", 0, 1, 0, FX_SCALE_LIN, FX_PARAM_INTEGER,
                        NULL,
                        "1: echoes alternate between the channels of each pair"},
	[P_MAX] = {"max", "s", 0.01, 30, 2, FX_SCALE_LIN, FX_PARAM_STRUCTURAL,
                   NULL, "longest delay: the line allocated, time is clamped"},
};

typedef struct {
	double fs;
	int channels;
	int len;          ///< samples per line before the guard
	int stride;       ///< len + GUARD
	float *mem;       ///< channels lines of stride floats
	int w;            ///< next write index, shared by every line
	double max_delay; ///< longest delay in samples
	double delay;     ///< delay in samples reached at the end of a block
	double target;    ///< delay in samples heading for
	double time_ms, bpm, rig_bpm;
	int division;
	float feedback, feedback_target;
	float mix, mix_target;
	float pingpong, pingpong_target; ///< routing blend, 0 straight, 1 crossed
	float pingpong_step;             ///< blend change per frame
	int primed; ///< audio went through since init or reset: no more jumps
} Delay;

/* One block's trajectories, each value at frame i being v0 + (i+1) * inc
 * (closed form, so the result does not depend on how blocks are cut). */
typedef struct {
	double d0, d_inc;
	float fb0, fb_inc, mix0, mix_inc, pp0, pp_inc;
	int n;
} Ramps;

static double target_delay(const Delay *s)
{
	double d = s->time_ms * s->fs / 1000.0;
	if (s->division > 0) {
		double bpm = s->bpm > 0.0 ? s->bpm : s->rig_bpm;
		d = division_beats[s->division] * 60.0 * s->fs / bpm;
	}
	return d < MIN_DELAY ? MIN_DELAY : d > s->max_delay ? s->max_delay : d;
}

/* Before any audio has gone through, the lines are silent and every value
 * can jump straight to its target. */
static void retarget(Delay *s)
{
	s->target = target_delay(s);
	if (!s->primed) {
		s->delay = s->target;
		s->feedback = s->feedback_target;
		s->mix = s->mix_target;
		s->pingpong = s->pingpong_target;
	}
}

static void set_values(Delay *s, const double *v)
{
	s->time_ms = v[P_TIME];
	int div = (int)v[P_DIVISION];
	s->division = div < 0 ? 0 : div >= N_DIVISIONS ? N_DIVISIONS - 1 : div;
	s->bpm = v[P_BPM];
	s->feedback_target = (float)v[P_FEEDBACK];
	s->mix_target = (float)v[P_MIX];
	s->pingpong_target = v[P_PINGPONG] >= 0.5 ? 1.0f : 0.0f;
	retarget(s);
}

/* The longest delay in samples and the line it needs, per channel. */
static double max_delay_of(const FxEffectSetup *setup)
{
	double max_delay = floor(setup->values[P_MAX] * setup->sample_rate);
	return max_delay < MIN_DELAY ? MIN_DELAY : max_delay;
}

/* The oldest tap of a read at delay d is floor(d) + 2 samples back. */
static int line_length(double max_delay)
{
	return (int)max_delay + 3;
}

static size_t lines_bytes(int channels, int len)
{
	return (size_t)channels * (size_t)(len + GUARD) * sizeof(float);
}

static FxStatus plan_lines(const FxEffectSetup *setup, FxEffectPlan *out)
{
	int len = line_length(max_delay_of(setup));
	*out = (FxEffectPlan){lines_bytes(setup->channels, len), 0};
	return FX_OK;
}

static FxStatus init(void *state, const FxEffectSetup *setup)
{
	Delay *s = state;
	s->fs = setup->sample_rate;
	s->channels = setup->channels;
	s->rig_bpm = DEFAULT_BPM;
	s->max_delay = max_delay_of(setup);
	s->len = line_length(s->max_delay);
	s->stride = s->len + GUARD;
	s->mem = fx_pages_new(lines_bytes(s->channels, s->len));
	if (!s->mem)
		return FX_ERR_NOMEM;
	double fade = PINGPONG_FADE_S * s->fs;
	s->pingpong_step = fade > 1.0 ? (float)(1.0 / fade) : 1.0f;
	set_values(s, setup->values);
	return FX_OK;
}

static void cleanup(void *state)
{
	Delay *s = state;
	fx_pages_free(s->mem);
}

static void reset(void *state)
{
	Delay *s = state;
	memset(s->mem, 0,
	       (size_t)s->channels * (size_t)s->stride * sizeof *s->mem);
	s->w = 0;
	s->primed = 0;
	retarget(s);
}

static void update(void *state, const double *values)
{
	set_values(state, values);
}

static void tempo(void *state, double bpm)
{
	Delay *s = state;
	if (isfinite(bpm) && bpm > 0.0) {
		s->rig_bpm = bpm;
		retarget(s);
	}
}

typedef float V4 __attribute__((vector_size(16)));

static inline V4 load4(const float *p)
{
	V4 v;
	memcpy(&v, p, sizeof v);
	return v;
}

static inline void store4(float *p, V4 v)
{
	memcpy(p, &v, sizeof v);
}

/* One frame of a pair, for float or V4 alike, so that every path computes
 * the same: see run_pair. */
#define PAIR_FRAME(T, a, c, yl, yr, fb, mix, g, wl, wr, ol, orr) \
	do {                                                     \
		T in_l_ = a + g * (0.5f * (a + c) - a);          \
		T in_r_ = c - g * c;                             \
		wl = in_l_ + fb * (yl + g * (yr - yl));          \
		wr = in_r_ + fb * (yr + g * (yl - yr));          \
		ol = a + mix * (yl - a);                         \
		orr = c + mix * (yr - c);                        \
	} while (0)

/* 4-point Catmull-Rom: p[0..3] are the samples at delays k+2, k+1, k, k-1;
 * returns the value at delay k + t. t = 0 gives p[2] exactly; the kernel
 * never gains above 1 at any frequency, so feedback below 1 stays stable. */
static inline float tap(const float *p, float t)
{
	float x3 = p[0], x2 = p[1], x1 = p[2], x0 = p[3];
	return x1 + 0.5f * t *
	                    (x2 - x0 +
	                     t * (2.0f * x0 - 5.0f * x1 + 4.0f * x2 - x3 +
	                          t * (3.0f * (x1 - x2) + x3 - x0)));
}

/* Index of the oldest tap for delay d at write index w, and the fraction. */
static inline int read_base(int w, int len, double d, float *t)
{
	int k = (int)d;
	*t = (float)(d - k);
	int b = w - k - 2;
	return b < 0 ? b + len : b;
}

static inline void write_line(float *line, int w, int len, float v)
{
	line[w] = v;
	if (w < GUARD)
		line[w + len] = v;
}

static float clamp01(float x)
{
	return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
}

/* A channel pair. With blend g, the left line takes
 * (1-g)*(xl + fb*yl) + g*((xl+xr)/2 + fb*yr) and the right line
 * (1-g)*(xr + fb*yr) + g*fb*yl: at g = 1 the input enters on the left and
 * each echo crosses to the other side. */
static void run_pair(const Delay *s, const Ramps *r, float *restrict xl,
                     float *restrict xr, float *restrict ll, float *restrict lr)
{
	int w = s->w, len = s->len;
	for (int i = 0; i < r->n; i++) {
		float step = (float)(i + 1);
		float t;
		int b = read_base(w, len, r->d0 + (double)(i + 1) * r->d_inc, &t);
		float yl = tap(ll + b, t), yr = tap(lr + b, t);
		float fb = r->fb0 + step * r->fb_inc;
		float mix = r->mix0 + step * r->mix_inc;
		float g = clamp01(r->pp0 + step * r->pp_inc);
		float a = xl[i], c = xr[i], wl, wr;
		PAIR_FRAME(float, a, c, yl, yr, fb, mix, g, wl, wr, xl[i], xr[i]);
		write_line(ll, w, len, wl);
		write_line(lr, w, len, wr);
		if (++w == len)
			w = 0;
	}
}

static void run_single(const Delay *s, const Ramps *r, float *restrict x,
                       float *restrict line)
{
	int w = s->w, len = s->len;
	for (int i = 0; i < r->n; i++) {
		float step = (float)(i + 1);
		float t;
		int b = read_base(w, len, r->d0 + (double)(i + 1) * r->d_inc, &t);
		float y = tap(line + b, t);
		float fb = r->fb0 + step * r->fb_inc;
		float mix = r->mix0 + step * r->mix_inc;
		float a = x[i];
		write_line(line, w, len, a + fb * y);
		x[i] = a + mix * (y - a);
		if (++w == len)
			w = 0;
	}
}

/* tap() four outputs at a time, in the same operations and order. GCC's
 * -O2 cost model leaves the plain loop scalar. */
static void taps(const float *restrict p, float t, float *restrict y, int n)
{
	int j = 0;
	if (t == 0.0f) {
		memcpy(y, p + 2, (size_t)n * sizeof *y); /* tap() returns p[2] */
		return;
	}
	V4 tv = {t, t, t, t};
	for (; j + 4 <= n; j += 4) {
		V4 x3 = load4(p + j), x2 = load4(p + j + 1);
		V4 x1 = load4(p + j + 2), x0 = load4(p + j + 3);
		V4 v = x1 + 0.5f * tv *
		                    (x2 - x0 +
		                     tv * (2.0f * x0 - 5.0f * x1 + 4.0f * x2 - x3 +
		                           tv * (3.0f * (x1 - x2) + x3 - x0)));
		store4(y + j, v);
	}
	for (; j < n; j++)
		y[j] = tap(p + j, t);
}

/* The steady path, for a delay that does not move: the block goes in
 * pieces no longer than the newest tap's delay (k - 1), so every read in a
 * piece sees only samples written before it. Each piece then reads all its
 * taps, computes, and writes the line in contiguous runs, four frames at
 * a time, with the same arithmetic per sample as the paths above. */
static void read_taps(const float *line, int len, int b, float t,
                      float *restrict y, int n)
{
	for (int i = 0; i < n;) {
		int run = n - i < len - b ? n - i : len - b;
		taps(line + b, t, y + i, run);
		i += run;
		b += run;
		if (b == len)
			b = 0;
	}
}

static void write_runs(float *line, int len, int w, const float *v, int n)
{
	int first = n < len - w ? n : len - w;
	memcpy(line + w, v, (size_t)first * sizeof *v);
	memcpy(line, v + first, (size_t)(n - first) * sizeof *v);
	memcpy(line + len, line, GUARD * sizeof *line);
}

static void steady_pair(const Delay *s, const Ramps *r, float *restrict xl,
                        float *restrict xr, float *ll, float *lr)
{
	float t, yl[PIECE], yr[PIECE], wl[PIECE], wr[PIECE];
	int len = s->len, w = s->w, b = read_base(w, len, r->d0, &t);
	int k = (int)r->d0;
	for (int off = 0; off < r->n;) {
		int n = r->n - off;
		n = n < PIECE ? n : PIECE;
		n = n < k - 1 ? n : k - 1;
		read_taps(ll, len, b, t, yl, n);
		read_taps(lr, len, b, t, yr, n);
		int j = 0;
		if (r->pp_inc == 0.0f) { /* no clamp needed: four at a time */
			V4 g = {r->pp0, r->pp0, r->pp0, r->pp0};
			for (; j + 4 <= n; j += 4) {
				int i = off + j;
				V4 step = {(float)(i + 1), (float)(i + 2),
				           (float)(i + 3), (float)(i + 4)};
				V4 fb = r->fb0 + step * r->fb_inc;
				V4 mix = r->mix0 + step * r->mix_inc;
				V4 a = load4(xl + i), c = load4(xr + i);
				V4 vl = load4(yl + j), vr = load4(yr + j);
				V4 vwl, vwr, ol, orr;
				PAIR_FRAME(V4, a, c, vl, vr, fb, mix, g, vwl,
				           vwr, ol, orr);
				store4(wl + j, vwl);
				store4(wr + j, vwr);
				store4(xl + i, ol);
				store4(xr + i, orr);
			}
		}
		for (; j < n; j++) {
			int i = off + j;
			float step = (float)(i + 1);
			float fb = r->fb0 + step * r->fb_inc;
			float mix = r->mix0 + step * r->mix_inc;
			float g = clamp01(r->pp0 + step * r->pp_inc);
			float a = xl[i], c = xr[i];
			PAIR_FRAME(float, a, c, yl[j], yr[j], fb, mix, g, wl[j],
			           wr[j], xl[i], xr[i]);
		}
		write_runs(ll, len, w, wl, n);
		write_runs(lr, len, w, wr, n);
		off += n;
		w = w + n >= len ? w + n - len : w + n;
		b = b + n >= len ? b + n - len : b + n;
	}
}

static void steady_single(const Delay *s, const Ramps *r, float *restrict x,
                          float *line)
{
	float t, y[PIECE], v[PIECE];
	int len = s->len, w = s->w, b = read_base(w, len, r->d0, &t);
	int k = (int)r->d0;
	for (int off = 0; off < r->n;) {
		int n = r->n - off;
		n = n < PIECE ? n : PIECE;
		n = n < k - 1 ? n : k - 1;
		read_taps(line, len, b, t, y, n);
		int j = 0;
		for (; j + 4 <= n; j += 4) {
			int i = off + j;
			V4 step = {(float)(i + 1), (float)(i + 2),
			           (float)(i + 3), (float)(i + 4)};
			V4 fb = r->fb0 + step * r->fb_inc;
			V4 mix = r->mix0 + step * r->mix_inc;
			V4 a = load4(x + i), vy = load4(y + j);
			store4(v + j, a + fb * vy);
			store4(x + i, a + mix * (vy - a));
		}
		for (; j < n; j++) {
			int i = off + j;
			float step = (float)(i + 1);
			float fb = r->fb0 + step * r->fb_inc;
			float mix = r->mix0 + step * r->mix_inc;
			float a = x[i];
			v[j] = a + fb * y[j];
			x[i] = a + mix * (y[j] - a);
		}
		write_runs(line, len, w, v, n);
		off += n;
		w = w + n >= len ? w + n - len : w + n;
		b = b + n >= len ? b + n - len : b + n;
	}
}

/* Plans the block's ramps and moves the state to where they end. */
static Ramps plan(Delay *s, int n)
{
	Ramps r = {.d0 = s->delay, .n = n};
	double want = (s->target - s->delay) / n;
	if (want > MAX_SLEW || want < -MAX_SLEW) {
		r.d_inc = want > 0.0 ? MAX_SLEW : -MAX_SLEW;
		s->delay += r.d_inc * n;
	} else {
		r.d_inc = want;
		s->delay = s->target;
	}
	r.fb0 = s->feedback;
	r.fb_inc = (s->feedback_target - s->feedback) / (float)n;
	s->feedback = s->feedback_target;
	r.mix0 = s->mix;
	r.mix_inc = (s->mix_target - s->mix) / (float)n;
	s->mix = s->mix_target;
	r.pp0 = s->pingpong;
	if (s->pingpong != s->pingpong_target) {
		r.pp_inc = s->pingpong_target > s->pingpong ? s->pingpong_step
		                                            : -s->pingpong_step;
		s->pingpong = clamp01(s->pingpong + r.pp_inc * (float)n);
	}
	return r;
}

static void process(void *state, float *const *buf, int frames)
{
	Delay *s = state;
	if (frames <= 0)
		return;
	Ramps r = plan(s, frames);
	int c = 0, steady = r.d_inc == 0.0;
	for (; c + 1 < s->channels; c += 2) {
		float *ll = s->mem + (size_t)c * s->stride;
		float *lr = s->mem + (size_t)(c + 1) * s->stride;
		if (steady)
			steady_pair(s, &r, buf[c], buf[c + 1], ll, lr);
		else
			run_pair(s, &r, buf[c], buf[c + 1], ll, lr);
	}
	if (c < s->channels) {
		float *line = s->mem + (size_t)c * s->stride;
		if (steady)
			steady_single(s, &r, buf[c], line);
		else
			run_single(s, &r, buf[c], line);
	}
	s->w = (int)(((long)s->w + frames) % s->len);
	s->primed = 1;
}

const FxEffectClass fx_effect_delay = {
	.no_rewind = 1, // XXX interim
	.name = "delay",
	.doc = "Feedback delay in ms or as a note division of the tempo, with "
	       "ping-pong; time changes glide like a tape head.",
	.params = params,
	.n_params = N_PARAMS,
	.state_size = sizeof(Delay),
	.init = init,
	.plan = plan_lines,
	.cleanup = cleanup,
	.reset = reset,
	.update = update,
	.process = process,
	.tempo = tempo,
};

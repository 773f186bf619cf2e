/* SPDX-License-Identifier: ISC */
/* reverb: Freeverb (Jezar at Dreampoint's public-domain design). Per
 * channel, 8 parallel combs with a one-pole lowpass in their feedback and
 * 4 all-passes in series; the tunings are Freeverb's at 44.1 kHz scaled to
 * the sample rate, and the second channel of each pair has every line 23
 * samples (at 44.1 kHz) longer, Freeverb's stereo spread. Both channels of
 * a pair are fed their mono sum; `width` mixes the two tails.
 *
 * Stable for any input: a comb's loop gain is feedback * |lowpass| <=
 * 0.7 + 0.28 * room <= 0.98 < 1 (the lowpass has unit gain at DC and less
 * elsewhere), and the all-passes' recursions have gain 0.5.
 */
#include "dsp/effect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/pages.h"

enum { P_ROOM, P_DAMP, P_WIDTH, P_MIX, N_PARAMS };

enum {
	N_COMBS = 8,
	N_ALLPASSES = 4,
	SPREAD = 23, ///< the second channel's extra length at 44.1 kHz
	CHUNK = 256, ///< frames per pass over the scratch buffers
};

/* Freeverb's constants (tuning.h). */
static const int comb_tuning[N_COMBS] = {1116, 1188, 1277, 1356,
                                         1422, 1491, 1557, 1617};
static const int allpass_tuning[N_ALLPASSES] = {556, 441, 341, 225};
#define TUNING_RATE 44100.0
#define FIXED_GAIN 0.015f ///< input gain, per channel of the sum
#define SCALE_ROOM 0.28
#define OFFSET_ROOM 0.7
#define SCALE_DAMP 0.4
#define ALLPASS_FEEDBACK 0.5f

static const FxParamInfo params[] = {
	[P_ROOM] = {"room", "", 0, 1, 0.5, FX_SCALE_LIN, FX_PARAM_SMOOTHED,
                    NULL, "room size: comb feedback 0.7 + 0.28 * room"},
	[P_DAMP] = {"damp", "", 0, 1, 0.5, FX_SCALE_LIN, FX_PARAM_SMOOTHED,
                    NULL, "high-frequency damping of the tail"},
	[P_WIDTH] = {"width", "", 0, 1, 1, FX_SCALE_LIN, FX_PARAM_SMOOTHED, NULL,
                     "stereo width of each channel pair's tail: 0 is mono"},
	[P_MIX] = {"mix", "", 0, 1, 0.3, FX_SCALE_LIN, FX_PARAM_SMOOTHED, NULL,
                   "wet share: out = (1 - mix) * dry + mix * reverb"},
};

/* Four floats: GCC's -O2 cost model leaves the plain loops below scalar,
 * so the cheap ones are written four frames at a time, with the same
 * operations as their scalar tails. */
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

static inline V4 steps4(int i)
{
	return (V4){(float)(i + 1), (float)(i + 2), (float)(i + 3),
	            (float)(i + 4)};
}

/* One channel's reverberator. */
typedef struct {
	float *comb[N_COMBS];
	int comb_len[N_COMBS], comb_pos[N_COMBS];
	float store[N_COMBS]; ///< each comb's lowpass state
	float *allpass[N_ALLPASSES];
	int allpass_len[N_ALLPASSES], allpass_pos[N_ALLPASSES];
} Tank;

typedef struct {
	int channels;
	Tank *tanks; ///< one per channel
	float *mem;  ///< every line of every tank
	size_t mem_floats;
	float feedback, damp; ///< comb loop: feedback and lowpass pole
	float mix, mix_target, width, width_target;
	int primed; ///< audio went through since init or reset
} Reverb;

static void set_values(Reverb *r, const double *v)
{
	r->feedback = (float)(v[P_ROOM] * SCALE_ROOM + OFFSET_ROOM);
	r->damp = (float)(v[P_DAMP] * SCALE_DAMP);
	r->mix_target = (float)v[P_MIX];
	r->width_target = (float)v[P_WIDTH];
	if (!r->primed) {
		r->mix = r->mix_target;
		r->width = r->width_target;
	}
}

static int scaled(int tuning, int spread, double fs)
{
	long n = lround((tuning + spread) * fs / TUNING_RATE);
	return n < 1 ? 1 : (int)n;
}

/* Sets every line's length in @p t, channel @p c's. Returns the floats
 * they take. */
static size_t tank_lengths(Tank *t, int c, double fs)
{
	/* The second of a pair is the right channel; a lone channel is a
	 * left one. */
	int spread = (c & 1) ? SPREAD : 0;
	size_t total = 0;
	for (int i = 0; i < N_COMBS; i++)
		total += (size_t)(t->comb_len[i] = scaled(comb_tuning[i],
		                                          spread, fs));
	for (int i = 0; i < N_ALLPASSES; i++)
		total += (size_t)(t->allpass_len[i] = scaled(allpass_tuning[i],
		                                             spread, fs));
	return total;
}

static FxStatus plan(const FxEffectSetup *setup, FxEffectPlan *out)
{
	size_t floats = 0;
	for (int c = 0; c < setup->channels; c++) {
		Tank t;
		floats += tank_lengths(&t, c, setup->sample_rate);
	}
	*out = (FxEffectPlan){(size_t)setup->channels * sizeof(Tank) +
	                              floats * sizeof(float),
	                      0};
	return FX_OK;
}

static FxStatus init(void *state, const FxEffectSetup *setup)
{
	Reverb *r = state;
	r->channels = setup->channels;
	r->tanks = calloc((size_t)r->channels, sizeof *r->tanks);
	if (!r->tanks)
		return FX_ERR_NOMEM;
	size_t total = 0;
	for (int c = 0; c < r->channels; c++)
		total += tank_lengths(&r->tanks[c], c, setup->sample_rate);
	r->mem = fx_pages_new(total * sizeof *r->mem);
	if (!r->mem) {
		free(r->tanks);
		r->tanks = NULL;
		return FX_ERR_NOMEM;
	}
	r->mem_floats = total;
	float *p = r->mem;
	for (int c = 0; c < r->channels; c++) {
		Tank *t = &r->tanks[c];
		for (int i = 0; i < N_COMBS; i++) {
			t->comb[i] = p;
			p += t->comb_len[i];
		}
		for (int i = 0; i < N_ALLPASSES; i++) {
			t->allpass[i] = p;
			p += t->allpass_len[i];
		}
	}
	set_values(r, setup->values);
	return FX_OK;
}

static void cleanup(void *state)
{
	Reverb *r = state;
	fx_pages_free(r->mem);
	free(r->tanks);
}

static void reset(void *state)
{
	Reverb *r = state;
	memset(r->mem, 0, r->mem_floats * sizeof *r->mem);
	for (int c = 0; c < r->channels; c++) {
		Tank *t = &r->tanks[c];
		memset(t->store, 0, sizeof t->store);
		memset(t->comb_pos, 0, sizeof t->comb_pos);
		memset(t->allpass_pos, 0, sizeof t->allpass_pos);
	}
	r->primed = 0;
	r->mix = r->mix_target;
	r->width = r->width_target;
}

static void update(void *state, const double *values)
{
	set_values(state, values);
}

/* The 8 combs in one loop, over stretches where no comb's position wraps:
 * each comb's lowpass is an independent recursion, so the 8 overlap. A
 * comb reads its line before writing the same place, so within a stretch
 * nothing read was written in it. Freeverb's comb:
 *   y = line[pos]; store = y*(1-damp) + store*damp; line[pos] = x +
 *   store*feedback. */
static void run_combs(Tank *t, float feedback, float damp,
                      const float *restrict in, float *restrict out, int n)
{
	float d2 = 1.0f - damp;
	float s0 = t->store[0], s1 = t->store[1], s2 = t->store[2],
	      s3 = t->store[3], s4 = t->store[4], s5 = t->store[5],
	      s6 = t->store[6], s7 = t->store[7];
	for (int done = 0; done < n;) {
		int len = n - done;
		for (int i = 0; i < N_COMBS; i++)
			if (t->comb_len[i] - t->comb_pos[i] < len)
				len = t->comb_len[i] - t->comb_pos[i];
		float *restrict c0 = t->comb[0] + t->comb_pos[0];
		float *restrict c1 = t->comb[1] + t->comb_pos[1];
		float *restrict c2 = t->comb[2] + t->comb_pos[2];
		float *restrict c3 = t->comb[3] + t->comb_pos[3];
		float *restrict c4 = t->comb[4] + t->comb_pos[4];
		float *restrict c5 = t->comb[5] + t->comb_pos[5];
		float *restrict c6 = t->comb[6] + t->comb_pos[6];
		float *restrict c7 = t->comb[7] + t->comb_pos[7];
		const float *restrict x = in + done;
		float *restrict y = out + done;
#define COMB(k)                         \
	float y##k = c##k[j];           \
	s##k = y##k * d2 + s##k * damp; \
	c##k[j] = v + s##k * feedback
		for (int j = 0; j < len; j++) {
			float v = x[j];
			COMB(0);
			COMB(1);
			COMB(2);
			COMB(3);
			COMB(4);
			COMB(5);
			COMB(6);
			COMB(7);
			y[j] = ((y0 + y1) + (y2 + y3)) + ((y4 + y5) + (y6 + y7));
		}
#undef COMB
		for (int i = 0; i < N_COMBS; i++) {
			t->comb_pos[i] += len;
			if (t->comb_pos[i] == t->comb_len[i])
				t->comb_pos[i] = 0;
		}
		done += len;
	}
	t->store[0] = s0, t->store[1] = s1, t->store[2] = s2, t->store[3] = s3;
	t->store[4] = s4, t->store[5] = s5, t->store[6] = s6, t->store[7] = s7;
}

/* Freeverb's all-pass, in place over a stretch that does not wrap (no
 * recursion inside it, so it vectorises):
 *   b = line[pos]; line[pos] = x + b*0.5; y = b - x. */
static void run_allpass(float *restrict line, int line_len, int *pos,
                        float *restrict x, int n)
{
	for (int done = 0; done < n;) {
		int len = n - done;
		if (line_len - *pos < len)
			len = line_len - *pos;
		float *restrict b = line + *pos;
		float *restrict v = x + done;
		int j = 0;
		for (; j + 4 <= len; j += 4) {
			V4 old = load4(b + j), in = load4(v + j);
			store4(b + j, in + old * ALLPASS_FEEDBACK);
			store4(v + j, old - in);
		}
		for (; j < len; j++) {
			float old = b[j], in = v[j];
			b[j] = in + old * ALLPASS_FEEDBACK;
			v[j] = old - in;
		}
		*pos += len;
		if (*pos == line_len)
			*pos = 0;
		done += len;
	}
}

static void run_tank(const Reverb *r, Tank *t, const float *in, float *wet, int n)
{
	run_combs(t, r->feedback, r->damp, in, wet, n);
	for (int i = 0; i < N_ALLPASSES; i++)
		run_allpass(t->allpass[i], t->allpass_len[i],
		            &t->allpass_pos[i], wet, n);
}

/* Mix and width ramp over the block, at frame i: v0 + (i+1) * inc. */
typedef struct {
	float mix0, mix_inc, width0, width_inc;
} Ramps;

static void run_pair(Reverb *r, const Ramps *k, float *restrict xl,
                     float *restrict xr, Tank *tl, Tank *tr, int frames)
{
	float in[CHUNK], wl[CHUNK], wr[CHUNK];
	for (int off = 0; off < frames; off += CHUNK) {
		int n = frames - off < CHUNK ? frames - off : CHUNK;
		float *restrict a = xl + off, *restrict b = xr + off;
		int i = 0;
		for (; i + 4 <= n; i += 4)
			store4(in + i,
			       (load4(a + i) + load4(b + i)) * FIXED_GAIN);
		for (; i < n; i++)
			in[i] = (a[i] + b[i]) * FIXED_GAIN;
		run_tank(r, tl, in, wl, n);
		run_tank(r, tr, in, wr, n);
		/* Freeverb's width: wet1 = (1+width)/2, wet2 = (1-width)/2. */
#define MIX_FRAME(T, step)                         \
	T mix = k->mix0 + step * k->mix_inc;       \
	T width = k->width0 + step * k->width_inc; \
	T wet1 = mix * (0.5f + 0.5f * width);      \
	T wet2 = mix * (0.5f - 0.5f * width);      \
	T dry = 1.0f - mix
		for (i = 0; i + 4 <= n; i += 4) {
			MIX_FRAME(V4, steps4(off + i));
			V4 l = load4(wl + i), rr = load4(wr + i);
			store4(a + i, load4(a + i) * dry + l * wet1 + rr * wet2);
			store4(b + i, load4(b + i) * dry + rr * wet1 + l * wet2);
		}
		for (; i < n; i++) {
			MIX_FRAME(float, (float)(off + i + 1));
			float l = wl[i], rr = wr[i];
			a[i] = a[i] * dry + l * wet1 + rr * wet2;
			b[i] = b[i] * dry + rr * wet1 + l * wet2;
		}
#undef MIX_FRAME
	}
}

/* A lone channel: fed as if it were the centre of a pair. */
static void run_single(Reverb *r, const Ramps *k, float *restrict x, Tank *t,
                       int frames)
{
	float in[CHUNK], wet[CHUNK];
	for (int off = 0; off < frames; off += CHUNK) {
		int n = frames - off < CHUNK ? frames - off : CHUNK;
		float *restrict a = x + off;
		for (int i = 0; i < n; i++)
			in[i] = a[i] * (2.0f * FIXED_GAIN);
		run_tank(r, t, in, wet, n);
		for (int i = 0; i < n; i++) {
			float mix = k->mix0 + (float)(off + i + 1) * k->mix_inc;
			a[i] = a[i] * (1.0f - mix) + wet[i] * mix;
		}
	}
}

static void process(void *state, float *const *buf, int frames)
{
	Reverb *r = state;
	if (frames <= 0)
		return;
	Ramps k = {r->mix, (r->mix_target - r->mix) / (float)frames, r->width,
	           (r->width_target - r->width) / (float)frames};
	r->mix = r->mix_target;
	r->width = r->width_target;
	int c = 0;
	for (; c + 1 < r->channels; c += 2)
		run_pair(r, &k, buf[c], buf[c + 1], &r->tanks[c],
		         &r->tanks[c + 1], frames);
	if (c < r->channels)
		run_single(r, &k, buf[c], &r->tanks[c], frames);
	r->primed = 1;
}

const FxEffectClass fx_effect_reverb = {
	.no_rewind = 1, // XXX interim
	.name = "reverb",
	.doc = "Freeverb: 8 damped combs and 4 all-passes per channel, "
	       "decorrelated across each channel pair.",
	.params = params,
	.n_params = N_PARAMS,
	.state_size = sizeof(Reverb),
	.init = init,
	.plan = plan,
	.cleanup = cleanup,
	.reset = reset,
	.update = update,
	.process = process,
};

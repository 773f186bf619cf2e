/* SPDX-License-Identifier: ISC */
/* Rewind: a chunk rendered again after fx_chain_rollback, with or without
 * a parameter change, equals to the bit what a chain that never rolled back
 * gives with the same history and the same change before that chunk. Every
 * registered class is walked, so a new one cannot be missed. */
#include "tests/fxtest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/chain.h"

enum {
	HISTORY = 512, ///< frames before the chunk that is rendered again
	AFTER = 1536,  ///< frames after it, to see the state carried on
	TOTAL = HISTORY + AFTER,
	MAX_CH = 3,
};

/* Specs for classes whose defaults do not show what they keep (or that
 * need a value to build at all); any other class runs with its
 * defaults. */
static const struct {
	const char *cls, *spec;
} representative[] = {
	{"delay", "delay time=3 max=0.01 feedback=0.6 mix=0.5"},
	{"reverb", "reverb mix=0.5"},
	{"compressor", "compressor threshold=-30 ratio=6 attack=1 release=20"},
	{"limiter", "limiter ceiling=-12"},
	{"gate", "gate threshold=-30"},
};

static const char *spec_of(const FxEffectClass *cls)
{
	for (size_t i = 0; i < sizeof representative / sizeof *representative; i++)
		if (!strcmp(representative[i].cls, cls->name))
			return representative[i].spec;
	return cls->name;
}

static int class_count(void)
{
	int n = 0;
	while (fx_effects[n])
		n++;
	return n;
}

/* Noise at a level that reaches thresholds, with a loud burst and a
 * silent stretch so envelopes and gates move. */
static void noise(float *x[MAX_CH], int channels, uint32_t seed)
{
	for (int ch = 0; ch < channels; ch++) {
		uint32_t s = seed + 77u * (uint32_t)ch;
		for (int i = 0; i < TOTAL; i++) {
			double a = i < 200 ? 0.9 : i < 400 ? 0.3 : 0.6;
			if (i >= 700 && i < 900)
				a = 0.0;
			x[ch][i] = (float)(a * fx_test_uniform(&s));
		}
	}
}

/* One change to the chain: a parameter (param >= 0) or bypass. */
typedef struct {
	int param; ///< -1: bypass
	double value;
} Change;

static void apply(FxChain *c, const Change *ch)
{
	if (ch->param < 0)
		ck_assert_int_eq(fx_chain_set_bypass(c, 0, ch->value != 0),
		                 FX_OK);
	else
		ck_assert_int_eq(
			fx_chain_set_param(c, 0, ch->param, ch->value, NULL),
			FX_OK);
}

static void process(FxChain *c, float *x[MAX_CH], int channels, int from,
                    int frames, int chunk)
{
	float *at[MAX_CH];
	for (int ch = 0; ch < channels; ch++)
		at[ch] = x[ch] + from;
	fx_test_process(c, at, channels, frames, chunk);
}

typedef struct {
	const char *spec;
	int channels, chunk;
	double glide_ms;
	Change early; ///< applied at the start (a glide under way at chunk k)
	Change late;  ///< applied before chunk k, after the rollback
	int has_early, has_late;
} Case;

/* Renders the case with a rollback and with none; 1 when both outputs
 * are the same to the bit. */
static void check_case(const Case *t)
{
	FxChainConfig cfg = fx_test_chain_config(t->channels, t->glide_ms);
	FxChain *c = fx_test_chain(t->spec, cfg);
	FxChain *ref = fx_test_chain(t->spec, cfg);
	ck_assert(fx_chain_can_rewind(c));
	float *x[MAX_CH], *y[MAX_CH];
	for (int ch = 0; ch < t->channels; ch++) {
		x[ch] = malloc(TOTAL * sizeof(float));
		y[ch] = malloc(TOTAL * sizeof(float));
	}
	noise(x, t->channels, 12345u);
	for (int ch = 0; ch < t->channels; ch++)
		memcpy(y[ch], x[ch], TOTAL * sizeof(float));
	if (t->has_early) {
		apply(c, &t->early);
		apply(ref, &t->early);
	}
	int k = HISTORY - HISTORY % t->chunk;
	process(c, x, t->channels, 0, k, t->chunk);
	process(ref, y, t->channels, 0, k, t->chunk);

	/* The chunk rendered, thrown away, then rendered again. */
	float *keep[MAX_CH], first[MAX_CH][256];
	fx_chain_checkpoint(c);
	for (int ch = 0; ch < t->channels; ch++) {
		keep[ch] = x[ch] + k;
		memcpy(first[ch], keep[ch], (size_t)t->chunk * sizeof(float));
	}
	fx_chain_process(c, keep, t->chunk);
	float rendered[MAX_CH][256];
	for (int ch = 0; ch < t->channels; ch++) {
		memcpy(rendered[ch], keep[ch], (size_t)t->chunk * sizeof(float));
		memcpy(keep[ch], first[ch], (size_t)t->chunk * sizeof(float));
	}
	fx_chain_rollback(c);
	if (t->has_late) {
		/* Twice: a second rollback undoes the first re-render whole. */
		fx_chain_process(c, keep, t->chunk);
		for (int ch = 0; ch < t->channels; ch++)
			memcpy(keep[ch], first[ch],
			       (size_t)t->chunk * sizeof(float));
		fx_chain_rollback(c);
		apply(c, &t->late);
		apply(ref, &t->late);
	} else {
		fx_chain_process(c, keep, t->chunk);
		for (int ch = 0; ch < t->channels; ch++)
			ck_assert_msg(!memcmp(keep[ch], rendered[ch],
			                      (size_t)t->chunk * sizeof(float)),
			              "%s: the same chunk again differs",
			              t->spec);
		for (int ch = 0; ch < t->channels; ch++)
			memcpy(keep[ch], first[ch],
			       (size_t)t->chunk * sizeof(float));
		fx_chain_rollback(c);
	}
	process(c, x, t->channels, k, TOTAL - k, t->chunk);
	process(ref, y, t->channels, k, TOTAL - k, t->chunk);
	for (int ch = 0; ch < t->channels; ch++)
		for (int i = 0; i < TOTAL; i++)
			if (memcmp(&x[ch][i], &y[ch][i], sizeof(float)))
				ck_abort_msg("%s, %d ch, chunk %d, glide %g ms, "
				             "change %d=%g: frame %d ch %d: "
				             "%.9g, want %.9g",
				             t->spec, t->channels, t->chunk,
				             t->glide_ms, t->late.param,
				             t->late.value, i, ch, x[ch][i],
				             y[ch][i]);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c),
	                  fx_chain_nonfinite_count(ref));
	for (int ch = 0; ch < t->channels; ch++) {
		free(x[ch]);
		free(y[ch]);
	}
	fx_chain_free(c);
	fx_chain_free(ref);
}

/* A parameter a knob can move: not structural, so no rebuild. */
static int movable(const FxParamInfo *p)
{
	return !(p->flags & FX_PARAM_STRUCTURAL);
}

/* Every class that rewinds, every movable parameter in turn and bypass,
 * in chunks of 1, 64 and 256 frames, with no glide, a glide over by
 * chunk k, and one under way. */
START_TEST(every_class_renders_a_chunk_again_to_the_bit)
{
	const FxEffectClass *cls = fx_effects[_i];
	if (cls->no_rewind)
		return;
	static const int chunks[] = {1, 64, 256};
	static const double glides[] = {0, 5, 20};
	for (size_t ci = 0; ci < 3; ci++)
		for (size_t gi = 0; gi < 3; gi++)
			for (int p = -1; p <= cls->n_params; p++) {
				if (p >= 0 && p < cls->n_params &&
				    !movable(&cls->params[p]))
					continue;
				Case t = {.spec = spec_of(cls),
				          .channels = 2,
				          .chunk = chunks[ci],
				          .glide_ms = glides[gi]};
				t.channels = 1 + (int)(ci + gi) % MAX_CH;
				if (p == cls->n_params) {
					/* No change: the chunk comes out the
					 * same. */
					check_case(&t);
					continue;
				}
				if (p < 0) {
					t.late = (Change){-1, 1};
				} else {
					const FxParamInfo *pi = &cls->params[p];
					t.early = (Change){
						p, fx_param_from_norm(pi, 0.3)};
					t.late = (Change){
						p, fx_param_from_norm(pi, 0.7)};
					t.has_early = 1;
				}
				t.has_late = 1;
				check_case(&t);
			}
}
END_TEST

/* A bypass fade under way at the checkpoint, and a latency's dry line. */
START_TEST(a_bypass_fade_rolls_back)
{
	for (int i = 0; fx_effects[i]; i++) {
		const FxEffectClass *cls = fx_effects[i];
		if (cls->no_rewind)
			continue;
		Case t = {.spec = spec_of(cls),
		          .channels = 2,
		          .chunk = 64,
		          .glide_ms = 20};
		t.early = (Change){-1, 1};
		t.late = (Change){-1, 0};
		t.has_early = t.has_late = 1;
		check_case(&t);
	}
}
END_TEST

START_TEST(checkpoints_stay_small)
{
	for (int i = 0; fx_effects[i]; i++) {
		const FxEffectClass *cls = fx_effects[i];
		if (cls->no_rewind)
			continue;
		ck_assert_msg(cls->rewind_size <= 4096, "%s saves %zu bytes",
		              cls->name, cls->rewind_size);
		ck_assert_msg(cls->rewind_channel_size <= 1024,
		              "%s saves %zu bytes per channel", cls->name,
		              cls->rewind_channel_size);
		ck_assert_msg(!cls->checkpoint == !cls->rollback, "%s",
		              cls->name);
		ck_assert_msg(cls->checkpoint || (!cls->rewind_size &&
		                                  !cls->rewind_channel_size),
		              "%s", cls->name);
	}
}
END_TEST

/* Test classes: one that cannot roll back, one with no state at all. */
static FxStatus nothing_init(void *state, const FxEffectSetup *setup)
{
	(void)state;
	(void)setup;
	return FX_OK;
}
static void nothing_reset(void *state)
{
	(void)state;
}
static void nothing_update(void *state, const double *values)
{
	(void)state;
	(void)values;
}
static void negate(void *state, float *const *buf, int frames)
{
	(void)state;
	for (int i = 0; i < frames; i++)
		buf[0][i] = -buf[0][i];
}

static const FxEffectClass opaque = {
	.name = "opaque",
	.init = nothing_init,
	.reset = nothing_reset,
	.update = nothing_update,
	.process = negate,
	.no_rewind = 1,
};
static const FxEffectClass stateless = {
	.name = "stateless",
	.init = nothing_init,
	.reset = nothing_reset,
	.update = nothing_update,
	.process = negate,
};

static FxChain *chain_with(const FxEffectClass *cls, FxChainPlan *plan)
{
	FxChainSpec spec = fx_test_spec("gain db=-6 | lowpass");
	spec.slots[spec.n_slots++] = (FxSlotSpec){.cls = cls};
	FxChainConfig cfg = fx_test_chain_config(1, 20);
	ck_assert_int_eq(fx_chain_plan(&spec, &cfg, plan), FX_OK);
	FxStatus st;
	FxChain *c = fx_chain_new(&spec, &cfg, &st);
	ck_assert_int_eq(st, FX_OK);
	return c;
}

START_TEST(a_class_that_cannot_rewind_stops_the_chain)
{
	FxChainPlan with, without;
	FxChain *c = chain_with(&opaque, &without);
	ck_assert_int_eq(fx_chain_can_rewind(c), 0);
	fx_chain_free(c);
	/* A stateless class needs nothing: the chain rewinds, and its
	 * checkpoint space is counted in the plan. */
	c = chain_with(&stateless, &with);
	ck_assert_int_eq(fx_chain_can_rewind(c), 1);
	ck_assert_uint_gt(with.bytes, without.bytes);
	float x[64], y[64];
	for (int i = 0; i < 64; i++)
		x[i] = (float)sin(i * 0.3);
	memcpy(y, x, sizeof y);
	float *p = x;
	fx_chain_checkpoint(c);
	fx_chain_process(c, &p, 64);
	float out[64];
	memcpy(out, x, sizeof out);
	fx_chain_rollback(c);
	p = y;
	fx_chain_process(c, &p, 64);
	ck_assert(!memcmp(out, y, sizeof out));
	fx_chain_free(c);
}
END_TEST

/* A muted chunk resets the effects (delay lines too), which no checkpoint
 * holds: no rollback until the next checkpoint. The muted count goes back
 * with a rollback, so a chunk rendered again is not counted twice. */
START_TEST(a_reset_since_the_checkpoint_stops_rollback)
{
	FxChain *c = fx_test_chain("gain", fx_test_chain_config(1, 0));
	float x[16] = {0};
	float *p = x;
	fx_chain_checkpoint(c);
	x[3] = INFINITY;
	fx_chain_process(c, &p, 16);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 1);
	ck_assert_int_eq(fx_chain_can_rewind(c), 0);
	fx_chain_rollback(c);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 1);
	fx_chain_checkpoint(c);
	ck_assert_int_eq(fx_chain_can_rewind(c), 1);
	x[3] = INFINITY;
	fx_chain_process(c, &p, 16);
	fx_chain_checkpoint(c);
	x[3] = INFINITY;
	fx_chain_process(c, &p, 16);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 3);
	fx_chain_checkpoint(c);
	fx_chain_process(c, &p, 16);
	fx_chain_rollback(c);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 3);
	fx_chain_free(c);
}
END_TEST

int main(void)
{
	FxTestCase cases[] = {
		{"rewind",
	         120,
	         NULL,
	         NULL,
	         {{every_class_renders_a_chunk_again_to_the_bit, class_count()},
	          {a_bypass_fade_rolls_back, 0},
	          {checkpoints_stay_small, 0},
	          {a_class_that_cannot_rewind_stops_the_chain, 0},
	          {a_reset_since_the_checkpoint_stops_rollback, 0},
	          {NULL, 0}}},
		{NULL, 0, NULL, NULL, {{NULL, 0}}},
	};
	return fx_test_run(fx_test_suite("rewind", cases));
}

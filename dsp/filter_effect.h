/* SPDX-License-Identifier: ISC */
/* fxd — what every filter effect shares: its state is an FxFilter (SOS at
 * rest, SVF while gliding) set from a design of its parameter values. An
 * effect class gives a design in `priv` and the callbacks below; only the
 * design and the parameter table differ between filter effects. */
#ifndef FX_FILTER_EFFECT_H
#define FX_FILTER_EFFECT_H

#include "dsp/effect.h"
#include "dsp/svf.h"

typedef struct FxFilterDesign FxFilterDesign;

/** A family of filters. Embed it first in a struct with the family's own
 *  constants and cast back in the callbacks. */
struct FxFilterDesign {
	/** Sections for @p values at @p fs. A failure during a glide keeps
	 *  the previous, stable coefficients. */
	FxStatus (*design)(const FxFilterDesign *d, const double *values,
	                   double fs, FxSvfSection *sec, int *n);
	/** Structural values refused at init (NULL: none). */
	FxStatus (*check)(const FxFilterDesign *d, const double *values);
};

FxStatus fx_filter_effect_init(void *state, const FxEffectSetup *setup);
/** The plan hook: the design's checks and the filter's bytes. */
FxStatus fx_filter_effect_plan(const FxEffectSetup *setup, FxEffectPlan *plan);
void fx_filter_effect_cleanup(void *state);
void fx_filter_effect_reset(void *state);
void fx_filter_effect_update(void *state, const double *values);
void fx_filter_effect_process(void *state, float *const *buf, int frames);
void fx_filter_effect_checkpoint(const void *state, void *saved);
void fx_filter_effect_rollback(void *state, const void *saved);

/** Keeps glides and low sample rates inside what designs accept:
 *  1 Hz .. 0.49 fs. NaN passes through, to be refused. */
double fx_filter_safe_freq(double f, double fs);

/** An effect class run by the callbacks above; @p design_ points at its
 *  FxFilterDesign. */
#define FX_FILTER_EFFECT(id, doc_, table, design_)                     \
	const FxEffectClass fx_effect_##id = {                         \
		.name = #id,                                           \
		.doc = doc_,                                           \
		.params = table,                                       \
		.n_params = sizeof table / sizeof table[0],            \
		.state_size = sizeof(FxFilterEffectState),             \
		.init = fx_filter_effect_init,                         \
		.plan = fx_filter_effect_plan,                         \
		.cleanup = fx_filter_effect_cleanup,                   \
		.reset = fx_filter_effect_reset,                       \
		.update = fx_filter_effect_update,                     \
		.process = fx_filter_effect_process,                   \
		.rewind_size = FX_FILTER_REWIND_BYTES,                 \
		.rewind_channel_size = FX_FILTER_REWIND_CHANNEL_BYTES, \
		.checkpoint = fx_filter_effect_checkpoint,             \
		.rollback = fx_filter_effect_rollback,                 \
		.priv = design_,                                       \
	}

/** The state (its size is what the macro needs). */
typedef struct {
	const FxFilterDesign *design;
	double fs;
	FxFilter *filter;
} FxFilterEffectState;

#endif

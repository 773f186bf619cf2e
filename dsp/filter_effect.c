/* SPDX-License-Identifier: ISC */
/* The callbacks every filter effect shares (filter_effect.h). */
#include "dsp/filter_effect.h"

double fx_filter_safe_freq(double f, double fs)
{
	double top = 0.49 * fs;
	return f < 1.0 ? 1.0 : f > top ? top : f;
}

/* The sections @p setup asks for, after the design's own checks. */
static FxStatus design_setup(const FxEffectSetup *setup, FxSvfSection *sec,
                             int *n)
{
	const FxFilterDesign *d = setup->cls->priv;
	FxStatus st = d->check ? d->check(d, setup->values) : FX_OK;
	if (st == FX_OK)
		st = d->design(d, setup->values, setup->sample_rate, sec, n);
	if (st == FX_OK && (*n < 1 || *n > FX_MAX_SECTIONS))
		st = FX_ERR_INVALID;
	return st;
}

FxStatus fx_filter_effect_plan(const FxEffectSetup *setup, FxEffectPlan *plan)
{
	FxSvfSection sec[FX_MAX_SECTIONS];
	int n;
	FxStatus st = design_setup(setup, sec, &n);
	if (st == FX_OK)
		*plan = (FxEffectPlan){fx_filter_bytes(setup->channels, n), 0};
	return st;
}

FxStatus fx_filter_effect_init(void *state, const FxEffectSetup *setup)
{
	FxFilterEffectState *f = state;
	f->design = setup->cls->priv;
	f->fs = setup->sample_rate;
	FxSvfSection sec[FX_MAX_SECTIONS];
	int n;
	FxStatus st = design_setup(setup, sec, &n);
	if (st != FX_OK)
		return st;
	if (!(f->filter = fx_filter_new(setup->channels, n, &st)))
		return st;
	if ((st = fx_filter_set(f->filter, sec, n)) != FX_OK) {
		/* the chain calls cleanup only after a successful init */
		fx_filter_free(f->filter);
		f->filter = NULL;
	}
	return st;
}

void fx_filter_effect_cleanup(void *state)
{
	FxFilterEffectState *f = state;
	fx_filter_free(f->filter);
	f->filter = NULL;
}

void fx_filter_effect_reset(void *state)
{
	FxFilterEffectState *f = state;
	fx_filter_reset(f->filter);
}

void fx_filter_effect_update(void *state, const double *values)
{
	FxFilterEffectState *f = state;
	FxSvfSection sec[FX_MAX_SECTIONS];
	int n;
	/* A failed design keeps the previous, stable coefficients. */
	if (f->design->design(f->design, values, f->fs, sec, &n) == FX_OK)
		fx_filter_set(f->filter, sec, n);
}

void fx_filter_effect_process(void *state, float *const *buf, int frames)
{
	FxFilterEffectState *f = state;
	fx_filter_process(f->filter, (const float *const *)buf, buf, frames);
}

void fx_filter_effect_checkpoint(const void *state, void *saved)
{
	const FxFilterEffectState *f = state;
	fx_filter_checkpoint(f->filter, saved);
}

void fx_filter_effect_rollback(void *state, const void *saved)
{
	FxFilterEffectState *f = state;
	fx_filter_rollback(f->filter, saved);
}

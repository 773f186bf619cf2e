/* The callbacks every filter effect shares (filter_effect.h). */
#include "filter_effect.h"

double fx_filter_safe_freq(double f, double fs)
{
	double top = 0.49 * fs;
	return f < 1.0 ? 1.0 : f > top ? top : f;
}

FxStatus fx_filter_effect_init(void *state, const FxEffectSetup *setup)
{
	FxFilterEffectState *f = state;
	f->design = setup->cls->priv;
	f->fs = setup->sample_rate;
	FxStatus st = f->design->check ? f->design->check(f->design,
	                                                  setup->values)
	                               : FX_OK;
	if (st != FX_OK)
		return st;
	FxSvfSection sec[FX_MAX_SECTIONS];
	int n;
	if ((st = f->design->design(f->design, setup->values, f->fs, sec,
	                            &n)) != FX_OK)
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

/* SPDX-License-Identifier: ISC */
/* The registry: one line per effect class. */
#include <config.h>
#include "dsp/effect.h"

extern const FxEffectClass fx_effect_gain, fx_effect_lowpass,
	fx_effect_highpass, fx_effect_bandpass, fx_effect_bandstop,
	fx_effect_peaking, fx_effect_lowshelf, fx_effect_highshelf,
	fx_effect_notch, fx_effect_allpass, fx_effect_stall, fx_effect_cheby1,
	fx_effect_cheby2, fx_effect_lr, fx_effect_delay, fx_effect_reverb,
	fx_effect_compressor, fx_effect_limiter;
extern const FxEffectClass fx_effect_gate;
extern const FxEffectClass fx_effect_convolver;
extern const FxEffectClass fx_effect_tuner;

const FxEffectClass *const fx_effects[] = {
	&fx_effect_gain,
	&fx_effect_lowpass,
	&fx_effect_highpass,
	&fx_effect_bandpass,
	&fx_effect_bandstop,
	&fx_effect_peaking,
	&fx_effect_lowshelf,
	&fx_effect_highshelf,
	&fx_effect_notch,
	&fx_effect_allpass,
	&fx_effect_cheby1,
	&fx_effect_cheby2,
	&fx_effect_lr,
	&fx_effect_delay,
	&fx_effect_reverb,
	&fx_effect_compressor,
	&fx_effect_limiter,
	&fx_effect_gate,
	&fx_effect_convolver,
	&fx_effect_tuner,
#ifdef FX_FAULT_INJECTION
	&fx_effect_stall,
#endif
	NULL,
};

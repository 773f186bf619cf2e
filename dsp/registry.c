/* The registry: one line per effect class. */
#include "config.h"
#include "effect.h"

extern const FxEffectClass fx_effect_gain, fx_effect_lowpass,
	fx_effect_highpass, fx_effect_bandpass, fx_effect_bandstop,
	fx_effect_peaking, fx_effect_lowshelf, fx_effect_highshelf,
	fx_effect_notch, fx_effect_allpass, fx_effect_stall;

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
#ifdef FX_FAULT_INJECTION
	&fx_effect_stall,
#endif
	NULL,
};

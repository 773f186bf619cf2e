/* SPDX-License-Identifier: ISC */
/* Butterworth and RBJ filter effects. They share one implementation: a
 * FilterKind says which parameters exist and how to design the sections. */
#include "dsp/filter_effect.h"

#include <math.h>
#include <string.h>

typedef struct {
	FxFilterDesign base;
	int type;                   ///< FxButterType or FxRbjType
	int cutoff, q, gain, order; ///< parameter indices, -1 if absent
	int band;                   ///< q sets the bandwidth, not resonance
} FilterKind;

static FxStatus design_butter(const FxFilterDesign *d, const double *v,
                              double fs, FxSvfSection *sec, int *n)
{
	const FilterKind *k = (const FilterKind *)d;
	int order = (int)v[k->order];
	double fc = fx_filter_safe_freq(v[k->cutoff], fs);
	if (!k->band) {
		FxStatus st = fx_svf_butter(k->type, order, fc, 0.0, fs, sec, n);
		/* q scales every section's Q: 0.7071 is Butterworth, more is
		 * a resonant peak at the corner (for order 2, RBJ's LPF/HPF). */
		double damp = 0.7071 / v[k->q];
		for (int i = 0; st == FX_OK && i < *n; i++)
			if (sec[i].order == 2) {
				sec[i].m1 *= damp; /* highpass mixes -k * band */
				sec[i].k *= damp;
			}
		return st;
	}
	/* Band edges: geometric centre fc, width fc/q. */
	double q = v[k->q], h = 1.0 / (2.0 * q);
	double lo = fc * (sqrt(1.0 + h * h) - h);
	double hi = fx_filter_safe_freq(lo + fc / q, fs);
	return fx_svf_butter(k->type, order, lo, hi, fs, sec, n);
}

static FxStatus design_rbj(const FxFilterDesign *d, const double *v, double fs,
                           FxSvfSection *sec, int *n)
{
	const FilterKind *k = (const FilterKind *)d;
	*n = 1;
	return fx_svf_rbj(k->type, fx_filter_safe_freq(v[k->cutoff], fs),
	                  v[k->q], k->gain >= 0 ? v[k->gain] : 0.0, fs, sec);
}

#define CUTOFF(def)                                                           \
	{                                                                     \
		"cutoff", "Hz", 20, 20000, def, FX_SCALE_LOG,                 \
			FX_PARAM_SMOOTHED, NULL, "corner or centre frequency" \
	}
#define Q(def)                                                                \
	{                                                                     \
		"q", "", 0.1, 20, def, FX_SCALE_LOG, FX_PARAM_SMOOTHED, NULL, \
			"quality: centre frequency over bandwidth"            \
	}
#define GAIN                                                              \
	{                                                                 \
		"gain", "dB", -24, 24, 0, FX_SCALE_DB, FX_PARAM_SMOOTHED, \
			NULL, "boost or cut"                              \
	}
#define ORDER(def)                                                                        \
	{                                                                                 \
		"order", "", 1, FX_MAX_ORDER, def, FX_SCALE_LIN,                          \
			FX_PARAM_STRUCTURAL | FX_PARAM_INTEGER, NULL,                     \
			"Butterworth prototype order (band filters have twice the poles)" \
	}

#define RESONANCE                                                                    \
	{                                                                            \
		"q", "", 0.1, 20, 0.7071, FX_SCALE_LOG, FX_PARAM_SMOOTHED,           \
			NULL,                                                        \
			"resonance: 0.7071 is Butterworth, more peaks at the corner" \
	}

static const FxParamInfo lowpass_params[] = {CUTOFF(12000), RESONANCE, ORDER(2)};
static const FxParamInfo highpass_params[] = {CUTOFF(80), RESONANCE, ORDER(2)};
static const FxParamInfo band_params[] = {CUTOFF(1000), Q(0.7071), ORDER(2)};
static const FxParamInfo peaking_params[] = {CUTOFF(1000), Q(0.7071), GAIN};
static const FxParamInfo lowshelf_params[] = {CUTOFF(200), Q(0.7071), GAIN};
static const FxParamInfo highshelf_params[] = {CUTOFF(5000), Q(0.7071), GAIN};
static const FxParamInfo notch_params[] = {CUTOFF(1000), Q(4)};
static const FxParamInfo allpass_params[] = {CUTOFF(1000), Q(0.7071)};

#define BUTTER_PASS(t)                                   \
	{                                                \
		{design_butter, NULL}, t, 0, 1, -1, 2, 0 \
	}
#define BUTTER_BAND(t)                                   \
	{                                                \
		{design_butter, NULL}, t, 0, 1, -1, 2, 1 \
	}
#define RBJ(t, g)                                     \
	{                                             \
		{design_rbj, NULL}, t, 0, 1, g, -1, 0 \
	}

static const FilterKind kinds[] = {
	BUTTER_PASS(FX_BUTTER_LOWPASS),  BUTTER_PASS(FX_BUTTER_HIGHPASS),
	BUTTER_BAND(FX_BUTTER_BANDPASS), BUTTER_BAND(FX_BUTTER_BANDSTOP),
	RBJ(FX_RBJ_PEAKING, 2),          RBJ(FX_RBJ_LOWSHELF, 2),
	RBJ(FX_RBJ_HIGHSHELF, 2),        RBJ(FX_RBJ_NOTCH, -1),
	RBJ(FX_RBJ_ALLPASS, -1),
};

#define FILTER(id, doc_, table, kind) \
	FX_FILTER_EFFECT(id, doc_, table, &kinds[kind].base)

FILTER(lowpass, "Butterworth lowpass.", lowpass_params, 0);
FILTER(highpass, "Butterworth highpass.", highpass_params, 1);
FILTER(bandpass, "Butterworth bandpass around cutoff, width cutoff/q.",
       band_params, 2);
FILTER(bandstop, "Butterworth bandstop around cutoff, width cutoff/q.",
       band_params, 3);
FILTER(peaking, "RBJ peaking EQ.", peaking_params, 4);
FILTER(lowshelf, "RBJ low shelf.", lowshelf_params, 5);
FILTER(highshelf, "RBJ high shelf.", highshelf_params, 6);
FILTER(notch, "RBJ notch.", notch_params, 7);
FILTER(allpass, "RBJ all-pass: flat magnitude, -180 degrees at cutoff.",
       allpass_params, 8);

/* SPDX-License-Identifier: ISC */
/* fxd — IIR filter design in double precision.
 *
 * Functions here allocate nothing and never block, so the realtime path may
 * call them to recompute coefficients while a parameter glides.
 * Sections use scipy's layout: {b0, b1, b2, a0, a1, a2} with a0 == 1.
 */
#ifndef FX_DESIGN_H
#define FX_DESIGN_H

#include "dsp/status.h"

enum {
	FX_MAX_ORDER = 16,    ///< highest Butterworth prototype order
	FX_MAX_SECTIONS = 16, ///< band filters of order 16 have 16 sections
};

/** One second-order section, {b0, b1, b2, a0, a1, a2}. */
typedef double FxSection[6];

/** Butterworth response types. */
typedef enum {
	FX_BUTTER_LOWPASS,
	FX_BUTTER_HIGHPASS,
	FX_BUTTER_BANDPASS,
	FX_BUTTER_BANDSTOP,
} FxButterType;

/** RBJ Audio EQ Cookbook biquad types. */
typedef enum {
	FX_RBJ_LOWPASS,
	FX_RBJ_HIGHPASS,
	FX_RBJ_BANDPASS, ///< constant 0 dB peak gain
	FX_RBJ_NOTCH,
	FX_RBJ_ALLPASS,
	FX_RBJ_PEAKING,
	FX_RBJ_LOWSHELF,
	FX_RBJ_HIGHSHELF,
} FxRbjType;

/** Digital Butterworth filter of prototype order @p order (1..16) as
 *  cascaded sections, like scipy.signal.butter(order, Wn, type, fs=fs,
 *  output='sos'). @p f1 is the cutoff (low/high pass) or lower band edge;
 *  @p f2 the upper band edge (band types only), in Hz. Writes *n_sections
 *  sections (ceil(order/2), or order for band types). */
FxStatus fx_design_butter(FxButterType type, int order, double f1, double f2,
                          double fs, FxSection *sos, int *n_sections);

/** One RBJ biquad at centre/corner @p f0 Hz with quality @p q (> 0) and
 *  gain @p gain_db (peaking and shelves only; shelves use q as the
 *  cookbook's Q, 0.7071 being the steepest without overshoot). */
FxStatus fx_design_rbj(FxRbjType type, double f0, double q, double gain_db,
                       double fs, FxSection *section);

/** Complex response of a cascade at @p f Hz: magnitude in dB and phase in
 *  radians (either pointer may be NULL). */
void fx_sos_response(const FxSection *sos, int n_sections, double f, double fs,
                     double *mag_db, double *phase);

#endif

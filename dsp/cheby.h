/* SPDX-License-Identifier: ISC */
/* fxd — Chebyshev and Linkwitz-Riley lowpass/highpass designs as SVF
 * sections (see svf.h), for the cheby1, cheby2 and lr effects.
 *
 * Each design is the analog prototype scaled to the prewarped corner
 * tan(pi*f/fs), one section per pole pair, so its bilinear transform is
 * the whole filter's: the same transfer function as scipy's design. The
 * sections pair each pole pair with its own zeros, carry their own gain
 * (unity at DC for lowpass, at Nyquist for highpass; a Chebyshev I of even
 * order has its -ripple dB on the first section) and run from the lowest Q
 * to the highest. That order depends on neither the corner nor the ripple,
 * so a section keeps its state meaningfully while a parameter glides.
 * Functions here allocate nothing and never block.
 */
#ifndef FX_CHEBY_H
#define FX_CHEBY_H

#include "dsp/svf.h"

/** Chebyshev type I of order @p order (1..16) with @p ripple_db (> 0) of
 *  passband ripple; @p f is the passband edge, where the response leaves
 *  the ripple band. The transfer function of scipy.signal.cheby1(order,
 *  ripple_db, f, type, fs=fs). @p type is FX_BUTTER_LOWPASS or
 *  FX_BUTTER_HIGHPASS. Writes ceil(order/2) sections. */
FxStatus fx_svf_cheby1(FxButterType type, int order, double ripple_db, double f,
                       double fs, FxSvfSection *sec, int *n_sections);

/** Chebyshev type II of order @p order (1..16) with @p atten_db (> 0) of
 *  stopband attenuation; @p f is the stopband edge, where the attenuation
 *  first reaches @p atten_db (scipy's meaning, not a -3 dB point). The
 *  transfer function of scipy.signal.cheby2(order, atten_db, f, type,
 *  fs=fs). Writes ceil(order/2) sections. */
FxStatus fx_svf_cheby2(FxButterType type, int order, double atten_db, double f,
                       double fs, FxSvfSection *sec, int *n_sections);

/** Linkwitz-Riley of even order @p order (2, 4, 6, 8; FX_ERR_ORDER
 *  otherwise): Butterworth of order/2 squared, -6.02 dB at @p f. Writes
 *  order/2 sections (an odd Butterworth's squared real pole becomes one
 *  critically damped section). Lowpass plus highpass is an allpass for
 *  orders 4 and 8; for 2 and 6 the highpass is in antiphase and lowpass
 *  minus highpass is the allpass. */
FxStatus fx_svf_linkwitz_riley(FxButterType type, int order, double f,
                               double fs, FxSvfSection *sec, int *n_sections);

#endif

/* SPDX-License-Identifier: ISC */
/* fxd — filters that stay stable while their parameters move.
 *
 * Filters are designed as cascades of analog sections realised as
 * trapezoidal (TPT) state-variable filters, after Andrew Simper's "linear
 * trap" SVF. The TPT SVF stays well behaved under fast modulation, where a
 * direct-form biquad whose coefficients jump can blow up by orders of
 * magnitude (a 20 kHz to 20 Hz sweep in 10 ms on an order-16 lowpass).
 *
 * FxFilter runs the fast fx_sos kernel while its sections stay put, and the
 * SVF realisation while they change, converting the state exactly between
 * the two at each switch: both are two-state realisations of the same
 * digital biquad (the bilinear transform prewarped at each corner).
 */
#ifndef FX_SVF_H
#define FX_SVF_H

#include <stddef.h>

#include "dsp/design.h"

/** One analog section as an SVF: corner g = tan(pi*f/fs) (or omega/2fs for
 *  sections of band filters), damping k = 1/Q, and the output mix
 *  y = m0*x + m1*band + m2*low. First-order sections (order 1) use
 *  y = m0*x + m1*low of a one-pole. */
typedef struct {
	double g, k, m0, m1, m2;
	int order; ///< 1 or 2
} FxSvfSection;

/** Butterworth LP/HP/BP/BS of prototype order 1..16 as SVF sections; the
 *  same transfer function as fx_design_butter (scipy's butter). */
FxStatus fx_svf_butter(FxButterType type, int order, double f1, double f2,
                       double fs, FxSvfSection *sec, int *n_sections);

/** An RBJ cookbook biquad as one SVF section; the same transfer function as
 *  fx_design_rbj. */
FxStatus fx_svf_rbj(FxRbjType type, double f0, double q, double gain_db,
                    double fs, FxSvfSection *sec);

/** The digital biquad {b0,b1,b2,1,a1,a2} an SVF section realises. */
void fx_svf_to_sos(const FxSvfSection *sec, FxSection out);

typedef struct FxFilterImpl FxFilter;

/** A filter of up to @p max_sections sections on @p channels channels. */
FxFilter *fx_filter_new(int channels, int max_sections, FxStatus *st);

/** Bytes fx_filter_new allocates for these arguments. */
size_t fx_filter_bytes(int channels, int max_sections);

/** Frees @p f; NULL is a no-op. */
void fx_filter_free(FxFilter *f);

/** Sets the sections. Called again before the next process call, the
 *  filter is gliding and runs as SVFs; otherwise it returns to the fast
 *  biquad kernel. State is kept either way. Realtime safe. */
FxStatus fx_filter_set(FxFilter *f, const FxSvfSection *sec, int n);

/** Zeroes the state. Realtime safe. */
void fx_filter_reset(FxFilter *f);

/** Filters planar channels; in place allowed. Realtime safe. */
void fx_filter_process(FxFilter *f, const float *const *in, float *const *out,
                       int frames);

enum {
	/** Bytes fx_filter_checkpoint writes, beyond
	 *  FX_FILTER_REWIND_CHANNEL_BYTES per channel, at most: the sections'
	 *  coefficients in both forms and which kernel runs. */
	FX_FILTER_REWIND_BYTES = 4 * sizeof(int) +
	                         FX_MAX_SECTIONS * (7 + 6) * sizeof(double),
	/** Checkpoint bytes per channel: two stores per section. */
	FX_FILTER_REWIND_CHANNEL_BYTES = FX_MAX_SECTIONS * 2 * sizeof(double),
};

/** Saves what processing and fx_filter_set change (stores, sections,
 *  kernel) into @p saved, FX_FILTER_REWIND_BYTES + channels *
 *  FX_FILTER_REWIND_CHANNEL_BYTES bytes aligned for doubles. Realtime
 *  safe. */
void fx_filter_checkpoint(const FxFilter *f, void *saved);

/** Puts back what fx_filter_checkpoint saved. Realtime safe. */
void fx_filter_rollback(FxFilter *f, const void *saved);

#endif

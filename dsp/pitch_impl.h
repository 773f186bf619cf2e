/* SPDX-License-Identifier: ISC */
/* fxd — the pitch detector's private layout, shared by its setup file
 * (dsp/pitch.c) and its realtime file (dsp/pitch_process.c). Everything is
 * owned by the thread that feeds the detector. */
#ifndef FX_PITCH_IMPL_H
#define FX_PITCH_IMPL_H

#include "dsp/pitch.h"

/* Seconds between analyses, the full-rate refinement's window and the lag
 * its second stage aims for. */
#define FX_PITCH_HOP_S 0.005
#define FX_PITCH_FINE_WINDOW_S 0.020
#define FX_PITCH_FINE_SPAN_S 0.010

/* The level is the input's mean square over this many hops (20 ms). */
enum { FX_PITCH_LEVEL_HOPS = 4 };

/* The decimated rate is at least this (and under twice it). */
#define FX_PITCH_DECIMATED_HZ 6000.0

/* The lowpass in front of everything: a Butterworth of this order with its
 * corner here (or at 0.4 fs, if lower). It keeps the full-rate history's
 * difference function smooth around the period (a broadband signal's
 * valley there is a few samples wide: too narrow to refine from the
 * decimated estimate) and stops the upper harmonics, whose phases drift
 * apart in a real string, from deciding the period. */
#define FX_PITCH_LOWPASS_HZ 2000.0
#define FX_PITCH_LOWPASS_ORDER 4
enum { FX_PITCH_LOWPASS_SECTIONS = FX_PITCH_LOWPASS_ORDER / 2 };

/* YIN's threshold on the cumulative mean normalised difference: a period
 * is taken at the first dip under it; none means no clear pitch. */
#define FX_PITCH_YIN_THRESHOLD 0.2

/* The full-rate difference over the two windows' energy under which a
 * shorter period than YIN's is taken: strict, since a string whose odd
 * harmonics are weak passes at half its period (at 0.1, a pluck whose
 * second harmonic held 95% of the energy read an octave up). */
#define FX_PITCH_FINE_THRESHOLD 0.02

/* A history of the last `size` samples kept twice over (at pos and at
 * pos + size), so that they are always contiguous: buf + pos + size is
 * one past the newest. */
typedef struct {
	float *buf; ///< 2 * size samples
	int size;   ///< a power of two
	int pos;    ///< where the next sample goes
} FxPitchHistory;

struct FxPitchImpl {
	/* Fixed at creation. */
	double sample_rate;
	int factor;      ///< full-rate samples per decimated sample
	int taps;        ///< lowpass length (odd)
	int hop;         ///< decimated samples between analyses
	int window;      ///< YIN's window, decimated samples
	int lag_min;     ///< YIN's shortest lag (FX_PITCH_MAX_HZ)
	int lag_max;     ///< YIN's longest lag (FX_PITCH_MIN_HZ)
	int fine_window; ///< refinement's window, full-rate samples
	int fine_span;   ///< refinement's target lag, full-rate samples
	/** The lowpass in front, per section {b0, b1, b2, a1, a2} (TDF-II). */
	double iir[FX_PITCH_LOWPASS_SECTIONS][5];
	float *fir;  ///< taps decimation coefficients, unit gain at DC
	float *diff; ///< lag_max + 1: YIN's difference, then its CMNDF
	/* State, cleared by reset. */
	double iir_z[FX_PITCH_LOWPASS_SECTIONS][2]; ///< the lowpass's state
	FxPitchHistory full; ///< the channels' mean, lowpassed
	FxPitchHistory dec;  ///< the decimated lowpassed mean
	double energy; ///< sum of the input's squares since the last analysis
	double hop_energy[FX_PITCH_LEVEL_HOPS]; ///< the last hops' sums
	int hop_index;                          ///< the oldest of them
	int phase;          ///< full-rate samples since the last decimated one
	int until_analysis; ///< decimated samples to the next analysis
	FxPitchReading reading;
};

#endif

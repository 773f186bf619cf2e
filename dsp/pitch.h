/* SPDX-License-Identifier: ISC */
/* fxd — a pitch detector for the tuner.
 *
 * The channels' mean goes into a full-rate history and, through a
 * windowed-sinc lowpass, into a copy decimated to 6..12 kHz. Every 5 ms of
 * input (at absolute sample counts since the last reset, so chunking never
 * matters) YIN's cumulative mean normalised difference on the decimated
 * copy picks the period and says how clear it is (de Cheveigné & Kawahara,
 * 2002); the difference function on the full-rate history then refines the
 * period, first at one period and then at the multiple of it nearest 10 ms,
 * with a parabola through three lags. The work per analysis is fixed by the
 * sample rate, so the cost of a chunk grows only with its length.
 */
#ifndef FX_PITCH_H
#define FX_PITCH_H

#include <stddef.h>

/** Lowest and highest pitch reported, in Hz. */
#define FX_PITCH_MIN_HZ 30.0
#define FX_PITCH_MAX_HZ 1500.0

/** The level below which nothing is reported, in dBFS (fx_pitch_read). */
#define FX_PITCH_GATE_DB -70.0

/** The level reported for silence, in dBFS. */
#define FX_PITCH_FLOOR_DB -120.0

typedef struct FxPitchImpl FxPitch;

/** What the latest analysis found. */
typedef struct {
	double freq;    ///< Hz; 0 when no pitch is clear (silence, noise)
	double clarity; ///< 1 - YIN's normalised difference at the period
	/** RMS of the channels' mean over the last 20 ms (four analyses), in
	 *  dB with a full-scale sine at 0 (AES17); FX_PITCH_FLOOR_DB at the
	 *  least. */
	double level;
} FxPitchReading;

enum {
	/** Bytes fx_pitch_checkpoint writes, at most. */
	FX_PITCH_REWIND_BYTES = 256,
};

/** Saves what feeding changes but the histories' samples (their
 *  positions, the lowpass's stores, the level, the analysis countdown,
 *  the reading) into @p saved, FX_PITCH_REWIND_BYTES aligned for doubles.
 *  Feeding the same samples again after fx_pitch_rollback rewrites the
 *  same samples; a reading taken meanwhile may see up to that many newer
 *  samples in place of its history's oldest ones (the reading is a meter:
 *  nothing heard depends on it). Realtime. */
void fx_pitch_checkpoint(const FxPitch *p, void *saved);

/** Puts back what fx_pitch_checkpoint saved. Realtime. */
void fx_pitch_rollback(FxPitch *p, const void *saved);

/** The heap bytes fx_pitch_new takes at @p sample_rate. */
size_t fx_pitch_bytes(double sample_rate);

/** A detector for audio at @p sample_rate, reset; NULL when out of memory.
 *  Not realtime. */
FxPitch *fx_pitch_new(double sample_rate);

/** Frees @p p; NULL is a no-op. Not realtime. */
void fx_pitch_free(FxPitch *p);

/** Forgets all audio: the next analyses see silence before what comes
 *  next. Realtime (bounded: clears fixed-size buffers). */
void fx_pitch_reset(FxPitch *p);

/** Takes @p frames frames of @p channels planar channels (read only).
 *  Realtime. */
void fx_pitch_feed(FxPitch *p, float *const *x, int channels, int frames);

/** The latest analysis. Realtime. */
FxPitchReading fx_pitch_read(const FxPitch *p);

#endif

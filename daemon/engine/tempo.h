/* SPDX-License-Identifier: ISC */
/* fxd — tempo from MIDI clock (24 ticks a quarter note) and from taps.
 *
 * Clock: the tempo is measured over the last beat of ticks (24 intervals)
 * once a beat has come, then smoothed so that a steady clock settles
 * within FX_TEMPO_SETTLE_BEATS beats to 0.1 BPM, while a jittery one
 * (ticks timestamped to the period) does not wobble. A gap of more than
 * a second, or a start or stop, begins again.
 * Taps: the mean of the last intervals (up to 4), once two taps came; a
 * pause of over 2 s begins again. Tempos are kept in 20..300 BPM.
 *
 * Not realtime (the control thread feeds it what the worker reported),
 * but it never allocates after fx_tempo_new.
 */
#ifndef FX_TEMPO_H
#define FX_TEMPO_H

typedef struct FxTempoImpl FxTempo;

enum {
	/** Beats of steady clock after which the tempo is within 0.1 BPM. */
	FX_TEMPO_SETTLE_BEATS = 2,
};

/** A tempo with nothing heard yet. NULL when out of memory. */
FxTempo *fx_tempo_new(void);

/** Frees @p t; NULL is a no-op. */
void fx_tempo_free(FxTempo *t);

/** One clock tick at @p seconds. Returns the tempo once known (BPM), else
 *  0. */
double fx_tempo_clock(FxTempo *t, double seconds);

/** Start, continue or stop: the clock's measurement begins again. */
void fx_tempo_clock_restart(FxTempo *t);

/** One tap at @p seconds. Returns the tempo once two taps came, else 0. */
double fx_tempo_tap(FxTempo *t, double seconds);

#endif

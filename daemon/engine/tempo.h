/* SPDX-License-Identifier: ISC */
/* fxd — tempo from MIDI clock (24 ticks a quarter note) and from taps.
 *
 * Clock: the tempo is the least-squares fit of tick time over the ticks
 * of the last FX_TEMPO_SETTLE_BEATS beats (0 until one beat has come).
 * A steady clock is within 0.1 BPM after FX_TEMPO_SETTLE_BEATS beats,
 * also when its ticks are stamped to 256-frame periods at 48 kHz (at 90,
 * 120 and 174 BPM; the error of such jitter shrinks as period over
 * window), and a new tempo has replaced the old one as many beats after
 * it began. A gap of more than a second, or a start or stop, begins
 * again.
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
	/** Beats of steady clock after which the tempo is within 0.1 BPM,
	 *  and the clock's window: fewer leave a period-stamped clock at 174
	 *  BPM up to 0.2 BPM off. */
	FX_TEMPO_SETTLE_BEATS = 4,
};

/** A tempo with nothing heard yet. NULL when out of memory. */
FxTempo *fx_tempo_new(void);

/** Frees @p t; NULL is a no-op. */
void fx_tempo_free(FxTempo *t);

/** One clock tick at @p seconds. Returns the tempo (BPM) once a beat of
 *  ticks came since the start, a restart or a gap, else 0 (the caller
 *  keeps the tempo it has). */
double fx_tempo_clock(FxTempo *t, double seconds);

/** Start, continue or stop: the clock's measurement begins again. */
void fx_tempo_clock_restart(FxTempo *t);

/** One tap at @p seconds. Returns the tempo once two taps came (since
 *  the start or a pause of over 2 s), else 0. */
double fx_tempo_tap(FxTempo *t, double seconds);

#endif

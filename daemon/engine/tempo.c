/* SPDX-License-Identifier: ISC */
/* fxd — tempo from MIDI clock and taps.
 *
 * The clock's tempo is the least-squares slope of tick time over tick
 * count across the last FX_TEMPO_SETTLE_BEATS beats. Period quantisation
 * (every tick of a period stamped at its start) moves each tick by up to a
 * period, but a fit over n ticks spanning S seconds moves by about P / S,
 * where the difference of the first and last tick would move by the whole
 * period over a beat: at 174 BPM and 256 frames at 48 kHz, 0.6 BPM over
 * one beat, 0.05 over four. The window sliding on is also what follows a
 * new tempo: it has none of the old ticks left after as many beats.
 */
#include "daemon/engine/tempo.h"

#include <stdlib.h>

enum {
	TICKS_PER_BEAT = 24,
	CLOCK_TICKS = FX_TEMPO_SETTLE_BEATS * TICKS_PER_BEAT + 1,
	TAP_TIMES = 5, ///< four intervals
};

static const double CLOCK_GAP_S = 1.0, TAP_PAUSE_S = 2.0;
static const double BPM_MIN = 20, BPM_MAX = 300;

/** The last few event times, oldest first by at(). */
typedef struct {
	double t[CLOCK_TICKS];
	int cap;  ///< how many it keeps, at most CLOCK_TICKS
	int n;    ///< how many it holds
	int next; ///< where the next one goes
} Times;

struct FxTempoImpl {
	Times ticks, taps;
};

static void times_clear(Times *r, int cap)
{
	r->cap = cap;
	r->n = 0;
	r->next = 0;
}

static void times_push(Times *r, double t)
{
	r->t[r->next] = t;
	r->next = (r->next + 1) % r->cap;
	if (r->n < r->cap)
		r->n++;
}

/* The @p i-th oldest time held. */
static double at(const Times *r, int i)
{
	return r->t[(r->next - r->n + i + r->cap) % r->cap];
}

static double newest(const Times *r)
{
	return at(r, r->n - 1);
}

static double keep_in_range(double bpm)
{
	return bpm < BPM_MIN ? BPM_MIN : bpm > BPM_MAX ? BPM_MAX : bpm;
}

/* Least-squares seconds per tick, times taken from the oldest so that
 * large clock readings lose no precision. */
static double seconds_per_tick(const Times *r)
{
	double t0 = at(r, 0), mean_i = (r->n - 1) / 2.0, mean_t = 0;
	for (int i = 0; i < r->n; i++)
		mean_t += at(r, i) - t0;
	mean_t /= r->n;
	double cov = 0, var = 0;
	for (int i = 0; i < r->n; i++) {
		cov += (i - mean_i) * (at(r, i) - t0 - mean_t);
		var += (i - mean_i) * (i - mean_i);
	}
	return cov / var;
}

FxTempo *fx_tempo_new(void)
{
	FxTempo *t = malloc(sizeof *t);
	if (!t)
		return NULL;
	times_clear(&t->ticks, CLOCK_TICKS);
	times_clear(&t->taps, TAP_TIMES);
	return t;
}

void fx_tempo_free(FxTempo *t)
{
	free(t);
}

/* A gap, or time running backwards, begins again with this event. */
static void begin_again_after(Times *r, double seconds, double gap)
{
	if (r->n && !(seconds - newest(r) >= 0 && seconds - newest(r) <= gap))
		times_clear(r, r->cap);
}

double fx_tempo_clock(FxTempo *t, double seconds)
{
	begin_again_after(&t->ticks, seconds, CLOCK_GAP_S);
	times_push(&t->ticks, seconds);
	if (t->ticks.n <= TICKS_PER_BEAT)
		return 0;
	double per_tick = seconds_per_tick(&t->ticks);
	if (!(per_tick > 0))
		return BPM_MAX;
	return keep_in_range(60.0 / (per_tick * TICKS_PER_BEAT));
}

void fx_tempo_clock_restart(FxTempo *t)
{
	times_clear(&t->ticks, CLOCK_TICKS);
}

double fx_tempo_tap(FxTempo *t, double seconds)
{
	Times *r = &t->taps;
	begin_again_after(r, seconds, TAP_PAUSE_S);
	times_push(r, seconds);
	if (r->n < 2)
		return 0;
	double span = newest(r) - at(r, 0);
	if (!(span > 0))
		return BPM_MAX;
	return keep_in_range(60.0 * (r->n - 1) / span);
}

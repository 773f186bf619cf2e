/* SPDX-License-Identifier: ISC */
/* Tempo from MIDI clock and taps (daemon/engine/tempo.h): a steady clock,
 * exact or stamped to JACK periods, settles to 0.1 BPM in
 * FX_TEMPO_SETTLE_BEATS beats and stays; a new tempo is followed; gaps and
 * pauses begin again; nothing outside 20..300 BPM comes out. */
#include "tests/fxtest.h"

#include <math.h>

#include "daemon/engine/tempo.h"

enum { TICKS_PER_BEAT = 24, RATE = 48000, PERIOD = 256 };

/* A clock's tick times: at @p bpm from @p start seconds, either exact or
 * stamped with the start of the JACK period it falls in. */
typedef struct {
	double start, bpm;
	int quantised;
} Clock;

static double tick_at(const Clock *c, long k)
{
	double t = c->start + k * 60.0 / (c->bpm * TICKS_PER_BEAT);
	return c->quantised ? floor(t * RATE / PERIOD) * PERIOD / RATE : t;
}

static const struct {
	double bpm;
	int quantised;
} steady[] = {{90, 0}, {120, 0}, {174, 0}, {90, 1}, {120, 1}, {174, 1}};

START_TEST(a_steady_clock_settles_within_a_tenth_and_stays)
{
	/* Several phases of the clock against the period grid. */
	for (int phase = 0; phase < 16; phase++) {
		Clock c = {1000 + phase * (PERIOD / 16.0) / RATE,
		           steady[_i].bpm, steady[_i].quantised};
		FxTempo *t = fx_tempo_new();
		ck_assert_ptr_nonnull(t);
		for (long k = 0; k <= 40 * TICKS_PER_BEAT; k++) {
			double bpm = fx_tempo_clock(t, tick_at(&c, k));
			if (k < TICKS_PER_BEAT)
				ck_assert_msg(bpm == 0, "tick %ld: %g", k, bpm);
			else if (k >= FX_TEMPO_SETTLE_BEATS * TICKS_PER_BEAT)
				ck_assert_msg(
					fabs(bpm - c.bpm) < 0.1,
					"%g BPM%s, phase %d, tick %ld: %.4f",
					c.bpm, c.quantised ? " stamped" : "",
					phase, k, bpm);
			else
				ck_assert(bpm > 0);
		}
		fx_tempo_free(t);
	}
}
END_TEST

/* 120 then 90: in between on the way, within 0.1 of 90 as many beats
 * after the change as a start takes, and there to stay. */
START_TEST(a_new_tempo_is_followed)
{
	Clock fast = {50, 120, _i}, slow = {0, 90, _i};
	long change = 20 * TICKS_PER_BEAT;
	slow.start = fast.start + change * 60.0 / (120 * TICKS_PER_BEAT);
	FxTempo *t = fx_tempo_new();
	double bpm = 0;
	for (long k = 0; k < change; k++)
		bpm = fx_tempo_clock(t, tick_at(&fast, k));
	ck_assert(fabs(bpm - 120) < 0.1);
	/* The slow clock's tick 0 is the fast one's tick at change. */
	for (long k = 0; k <= 30 * TICKS_PER_BEAT; k++) {
		bpm = fx_tempo_clock(t, tick_at(&slow, k));
		if (k >= FX_TEMPO_SETTLE_BEATS * TICKS_PER_BEAT)
			ck_assert_msg(fabs(bpm - 90) < 0.1, "tick %ld: %.4f", k,
			              bpm);
		else
			ck_assert_msg(bpm > 89.9 && bpm < 120.1,
			              "tick %ld: %.4f", k, bpm);
	}
	fx_tempo_free(t);
}
END_TEST

/* After a gap of over a second, or a restart, nothing of the old clock
 * counts: a beat of the new one gives its tempo alone. */
START_TEST(a_gap_or_a_restart_begins_again)
{
	for (int restart = 0; restart < 2; restart++) {
		FxTempo *t = fx_tempo_new();
		Clock old = {10, 150, 0};
		long k;
		for (k = 0; k < 10 * TICKS_PER_BEAT; k++)
			fx_tempo_clock(t, tick_at(&old, k));
		Clock next = {tick_at(&old, k - 1) + (restart ? 0.01 : 1.5), 90,
		              0};
		if (restart)
			fx_tempo_clock_restart(t);
		for (k = 0; k < TICKS_PER_BEAT; k++)
			ck_assert_double_eq(fx_tempo_clock(t, tick_at(&next, k)),
			                    0);
		double bpm = fx_tempo_clock(t, tick_at(&next, k));
		ck_assert_msg(fabs(bpm - 90) < 1e-6, "%s: %.9f",
		              restart ? "restart" : "gap", bpm);
		fx_tempo_free(t);
	}
}
END_TEST

/* Taps at 100 BPM: nothing from the first, 100 from the second on. */
START_TEST(taps_at_100_bpm_give_100)
{
	FxTempo *t = fx_tempo_new();
	ck_assert_double_eq(fx_tempo_tap(t, 500), 0);
	for (int k = 1; k < 12; k++) {
		double bpm = fx_tempo_tap(t, 500 + k * 0.6);
		ck_assert_msg(fabs(bpm - 100) < 0.01, "tap %d: %.6f", k, bpm);
	}
	fx_tempo_free(t);
}
END_TEST

/* After a pause of over 2 s the old taps are forgotten. */
START_TEST(a_long_pause_begins_the_taps_again)
{
	FxTempo *t = fx_tempo_new();
	double at = 20;
	for (int k = 0; k < 6; k++, at += 0.6)
		fx_tempo_tap(t, at);
	at += 2.5;
	ck_assert_double_eq(fx_tempo_tap(t, at), 0);
	ck_assert(fabs(fx_tempo_tap(t, at + 0.5) - 120) < 1e-9);
	ck_assert(fabs(fx_tempo_tap(t, at + 1.0) - 120) < 1e-9);
	fx_tempo_free(t);
}
END_TEST

/* Events too fast or too slow for a tempo: what comes out is 0 (nothing
 * known) or within 20..300, and the limit where the events demand more. */
static const struct {
	int clock;       ///< 1: clock ticks, 0: taps
	double interval; ///< seconds between events
	double last;     ///< what the last event gives
} extremes[] = {
	{0, 10, 0},      /* a tap every 10 s: each a first tap */
	{0, 0.01, 300},  /* every 10 ms: 6000 BPM asked */
	{0, 0, 300},     /* all at once */
	{1, 0.002, 300}, /* ticks of 1250 BPM */
	{1, 0.9, 20},    /* ticks of 2.8 BPM, under the 1 s gap */
	{1, 1.2, 0},     /* ticks over the gap: each a first tick */
};

START_TEST(out_of_range_events_stay_in_range)
{
	FxTempo *t = fx_tempo_new();
	double bpm = 0;
	for (int k = 0; k < 4 * TICKS_PER_BEAT; k++) {
		double at = 100 + k * extremes[_i].interval;
		bpm = extremes[_i].clock ? fx_tempo_clock(t, at)
		                         : fx_tempo_tap(t, at);
		ck_assert_msg(bpm == 0 || (bpm >= 20 && bpm <= 300),
		              "event %d: %g", k, bpm);
	}
	ck_assert_double_eq(bpm, extremes[_i].last);
	fx_tempo_free(t);
}
END_TEST

#define N_OF(table) ((int)(sizeof(table) / sizeof *(table)))

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"clock", 0, .tests = {
			{a_steady_clock_settles_within_a_tenth_and_stays,
			 N_OF(steady)},
			{a_new_tempo_is_followed, 2},
			{a_gap_or_a_restart_begins_again, 0},
		}},
		{"taps", 0, .tests = {
			{taps_at_100_bpm_give_100, 0},
			{a_long_pause_begins_the_taps_again, 0},
		}},
		{"range", 0, .tests = {
			{out_of_range_events_stay_in_range, N_OF(extremes)},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("tempo", cases));
}

/* SPDX-License-Identifier: ISC */
/* Black-box: fxd's audio, bit for bit, against its engine run offline.
 *
 * A player client feeds fxd a known signal and a separate recorder client
 * records fxd's outputs (one client doing both would see an extra period
 * from the feedback loop). The engine runs the same chain offline through
 * the fake-driver path, and every recorded period must equal the offline
 * chain output for the input period that is exactly fxd's reported latency
 * earlier, with no tolerance and no second try.
 *
 * That is judged while JACK freewheels, where no deadline exists and each
 * cycle runs player, fxd and recorder in that order (jack_harness.h): what
 * the machine's load does cannot change the recording. What load does to
 * realtime runs (silence when fxd's worker is late) is judged against
 * fxd's own counters from the same run, and the stream must come back
 * exact once JACK freewheels again.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/denormal.h"
#include "daemon/engine/engine.h"
#include "tests/integration/jack_harness.h"
#include "daemon/options.h"

enum { RATE = 48000, CH = 2 };

/* fxd's own default, whatever it is. */
#define DEFAULT_CHAIN FX_DEFAULT_CHAIN
#define DENSE_CHAIN                                                      \
	"hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 q=0.7 " \
	"gain=6 | lpf:lowpass cutoff=5000 order=4 | vol:gain db=-3"

/* Noise plus two tones per channel, peaks near 0.45: below the safety
 * ceiling's knee on the default chain, near it on the dense one. */
static float *make_signal(long frames, int ch)
{
	float *x = malloc((size_t)frames * sizeof *x);
	ck_assert_ptr_nonnull(x);
	uint32_t s = 0x9e3779b9u * (uint32_t)(ch + 1);
	for (long i = 0; i < frames; i++) {
		s ^= s << 13;
		s ^= s >> 17;
		s ^= s << 5;
		double noise = ((double)s / 4294967296.0 - 0.5) * 0.2;
		double t = (double)i / RATE;
		double tone = 0.18 * sin(2 * M_PI * (ch ? 660.0 : 440.0) * t) +
		              0.08 * sin(2 * M_PI * 3000.0 * t + ch);
		x[i] = (float)(noise + tone);
	}
	return x;
}

/* What fxd runs: the engine defaults (daemon/main.c starts from
 * fx_engine_config_default and sets the server's rate and period, the
 * channel counts and the options' glide, ceiling and safety, all left at
 * their defaults here). */
static FxEngineConfig daemon_engine_config(int period)
{
	FxEngineConfig c = fx_engine_config_default();
	c.sample_rate = RATE;
	c.period = period;
	c.latency_periods = 1;
	return c;
}

/* The chain's output for each input period: @p lead periods of silence
 * first (as fxd hears before the player starts; more than its fade-in),
 * then @p in, then silence. chunk[c][j * period + i] is the output made
 * from input period j - lead. @p n_chunks periods. */
static float **render_offline(int period, const char *chain,
                              const float *const *in, long frames, int lead,
                              long n_chunks)
{
	FxEngineConfig cfg = daemon_engine_config(period);
	FxChainSpec spec;
	FxSpecError err;
	ck_assert_msg(fx_spec_parse(chain, "chain", &spec, &err) == FX_OK, "%s",
	              err.message);
	FxStatus st;
	FxEngine *e = fx_engine_new(&cfg, &spec, &st);
	ck_assert_msg(e != NULL, "fx_engine_new: %s", fx_strerror(st));
	fx_denormals_off(); /* fxd's worker runs with FTZ and DAZ */
	float **chunk = calloc(CH, sizeof *chunk);
	float *ib[CH], *ob[CH];
	for (int c = 0; c < CH; c++) {
		chunk[c] = calloc((size_t)n_chunks * period, sizeof(float));
		ib[c] = calloc((size_t)period, sizeof(float));
		ob[c] = calloc((size_t)period, sizeof(float));
		ck_assert(chunk[c] && ib[c] && ob[c]);
	}
	/* Callback k plays the chunk made from input period k - 1. */
	for (long k = 0; k <= n_chunks; k++) {
		for (int c = 0; c < CH; c++)
			for (int i = 0; i < period; i++) {
				long n = (k - lead) * period + i;
				ib[c][i] = n >= 0 && n < frames ? in[c][n] : 0.0f;
			}
		fx_engine_process(e, (const float *const *)ib, ob, period);
		if (k >= 1)
			for (int c = 0; c < CH; c++)
				memcpy(chunk[c] + (k - 1) * period, ob[c],
				       (size_t)period * sizeof(float));
		ck_assert_int_eq(fx_engine_work(e), 1);
	}
	for (int c = 0; c < CH; c++) {
		free(ib[c]);
		free(ob[c]);
	}
	fx_engine_free(e);
	return chunk;
}

/* ---- one run: a server, fxd, a player and a recorder ------------------- */

typedef struct {
	char *dir;
	FxTestServer *srv;
	FxTestDaemon *fxd;
	FxTestPlayer *play;
	FxTestRecorder *rec;
	jack_client_t *ctl; ///< the player's client, for queries
	char name[64];
	int period;
} Rig;

static void rig_start(Rig *r, int period, const char *const *extra, long capacity)
{
	memset(r, 0, sizeof *r);
	r->period = period;
	ck_assert_ptr_nonnull(r->dir = fx_test_dir_new("audio"));
	r->srv = fx_test_server_up(r->dir, period);
	const char *srv = fx_test_server_name(r->srv);
	snprintf(r->name, sizeof r->name, "fxd-audio-%d", (int)getpid());
	r->fxd = fx_test_fxd_start(srv, r->dir, r->name, extra);
	r->ctl = fx_test_io_open(srv, r->name, CH, capacity, &r->play, &r->rec);
}

/* Stops fxd with SIGTERM (it must exit 0) and returns its counters. */
static FxTestStats rig_stop_daemon(Rig *r)
{
	ck_assert_int_eq(fx_test_daemon_signal(r->fxd, SIGTERM), 0);
	int code = fx_test_daemon_wait_exit(r->fxd, 10);
	ck_assert_msg(code == 0, "fxd exit code %d after SIGTERM; log %s", code,
	              fx_test_daemon_log_path(r->fxd));
	char *log = fx_test_daemon_log(r->fxd);
	FxTestStats st;
	ck_assert_msg(fx_test_parse_stats(log, &st) && st.callbacks > 0 &&
	                      st.underflows >= 0 && st.late >= 0 &&
	                      st.overflows >= 0 && st.nonfinite >= 0,
	              "no stats summary in fxd's log:\n%s", log);
	free(log);
	return st;
}

static void rig_free(Rig *r)
{
	fx_test_player_free(r->play);
	fx_test_recorder_free(r->rec);
	fx_test_daemon_free(r->fxd);
	fx_test_server_free(r->srv);
	fx_test_dir_remove(r->dir);
}

/* The latency fxd reports, from its ports: what its outputs' capture
 * latency adds to its inputs', which must equal what its inputs' playback
 * latency adds to its outputs'. */
static int reported_latency(Rig *r)
{
	char in[96], out[96];
	snprintf(in, sizeof in, "%s:in_1", r->name);
	snprintf(out, sizeof out, "%s:out_1", r->name);
	jack_latency_range_t ic = fx_test_port_latency(r->ctl, in,
	                                               JackCaptureLatency);
	jack_latency_range_t oc = fx_test_port_latency(r->ctl, out,
	                                               JackCaptureLatency);
	jack_latency_range_t ip = fx_test_port_latency(r->ctl, in,
	                                               JackPlaybackLatency);
	jack_latency_range_t op = fx_test_port_latency(r->ctl, out,
	                                               JackPlaybackLatency);
	ck_assert_msg(oc.min == oc.max && ip.min == ip.max,
	              "latency ranges not exact: capture [%u %u] playback [%u %u]",
	              oc.min, oc.max, ip.min, ip.max);
	int capture = (int)(oc.max - ic.max), playback = (int)(ip.max - op.max);
	ck_assert_msg(capture == playback,
	              "capture adds %d frames, playback %d", capture, playback);
	return capture;
}

/* fxd publishes its latency on activation; JACK propagates it after each
 * connection. Waits for the graph to settle on a value. */
static int settled_latency(Rig *r)
{
	int latency = 0;
	double end = fx_test_now() + 5;
	while ((latency = reported_latency(r)) <= 0 && fx_test_now() < end)
		fx_test_nap(0.01);
	ck_assert_int_gt(latency, 0);
	return latency;
}

/* Recorded period @p k against offline chunk @p e (silence outside the
 * render): 1 bit for bit equal. */
static int period_equals(const FxTestRecorder *rec, long k, float *const *chunk,
                         long n_chunks, long e, int period)
{
	long off = fx_test_recorder_period_offset(rec, k);
	for (int c = 0; c < CH; c++) {
		const float *got = fx_test_recorder_data(rec, c) + off;
		for (int i = 0; i < period; i++) {
			float want = e >= 0 && e < n_chunks
			                     ? chunk[c][e * period + i]
			                     : 0.0f;
			if (memcmp(&got[i], &want, sizeof want))
				return 0;
		}
	}
	return 1;
}

/* Plays a signal of @p seconds through fxd while freewheeling and checks
 * every recorded period, bit for bit, against the offline render: period k
 * is the chain's output for the input of period k - L, L the latency fxd
 * reports in periods. */
static void exact_while_freewheeling(Rig *r, const char *chain, double seconds,
                                     int latency_periods)
{
	int P = r->period;
	int latency = settled_latency(r);
	ck_assert_int_eq(latency, latency_periods * P);
	int L = latency / P;
	long frames = (long)(seconds * RATE + P - 1) / P * P;
	long periods = frames / P + L + 8; /* the signal, its latency, a tail */
	float *sig[CH];
	for (int c = 0; c < CH; c++)
		sig[c] = make_signal(frames, c);
	fx_test_freewheel_play(r->play, r->rec, (const float *const *)sig,
	                       frames, periods);
	ck_assert_int_eq(reported_latency(r), latency);

	/* fxd heard silence since it started, more than its fade-in. */
	int lead = 2 + 1920 / P;
	long n_chunks = lead + periods;
	float **chunk = render_offline(P, chain, (const float *const *)sig,
	                               frames, lead, n_chunks);
	long wrong = 0, first_wrong = -1, signal = 0;
	int shift = 99;
	for (long k = 0; k < periods; k++) {
		long e = lead + k - L;
		int sound = 0;
		for (int c = 0; c < CH && e >= 0 && !sound; c++)
			for (int i = 0; i < P && !sound; i++)
				sound = chunk[c][e * P + i] != 0.0f;
		signal += sound;
		if (period_equals(r->rec, k, chunk, n_chunks, e, P))
			continue;
		if (wrong++ == 0) {
			first_wrong = k;
			for (int s = -4; s <= 4; s++)
				if (s && period_equals(r->rec, k, chunk,
				                       n_chunks, e + s, P))
					shift = s;
		}
	}
	fprintf(stderr,
	        "# -p %d, latency %d: %ld periods, %ld with signal, "
	        "%ld wrong (first #%ld, matching %d periods off)\n",
	        P, latency, periods, signal, wrong, first_wrong, shift);
	ck_assert_msg(wrong == 0,
	              "-p %d: %ld of %ld periods differ from the "
	              "offline chain (first #%ld, matching %d periods off); logs "
	              "in %s",
	              P, wrong, periods, first_wrong, shift, r->dir);
	/* The whole signal went through. */
	ck_assert_int_ge(signal, frames / P);
	for (int c = 0; c < CH; c++) {
		free(chunk[c]);
		free(sig[c]);
	}
	free(chunk);
}

/* Loops noise (@p frames, a whole number of periods) in realtime. */
static float *play_noise_loop(Rig *r, long frames)
{
	float *x = make_signal(frames, 0);
	const float *bufs[CH] = {x, x};
	ck_assert_int_eq(fx_test_player_play(r->play, bufs, frames,
	                                     jack_frame_time(r->ctl), 1),
	                 0);
	return x;
}

/* The realtime part of a run, judged by what fxd counted: every stretch
 * of silence amid the sound is an underflow fxd counted, every chunk
 * dropped late or input refused left one silent period counted too (those
 * refused in the last L periods are not due yet at exit, and one more
 * callback may run while the counters are read), nothing non-finite. */
static void check_realtime(const char *what, long silent_runs, int finite,
                           const FxTestStats *st, int latency_periods)
{
	fprintf(stderr,
	        "# %s: %ld silent stretches recorded; fxd counted %lld "
	        "underflows, %lld late, %lld overflows, %lld JACK xruns in %lld "
	        "callbacks\n",
	        what, silent_runs, st->underflows, st->late, st->overflows,
	        st->xruns, st->callbacks);
	ck_assert_msg(finite, "%s: non-finite samples recorded", what);
	ck_assert_int_eq(st->nonfinite, 0);
	ck_assert_msg(silent_runs <= st->underflows,
	              "%s: %ld stretches of "
	              "silence, %lld underflows counted",
	              what, silent_runs, st->underflows);
	ck_assert_msg(st->late + st->overflows <=
	                      st->underflows + latency_periods + 1,
	              "%s: %lld late and %lld refused chunks, %lld underflows",
	              what, st->late, st->overflows, st->underflows);
}

/* Realtime, then freewheeling: the recorded stream, through a pass-through
 * chain, is the player's input exactly L cycles earlier, whatever
 * happened before. */
static void realigned_while_freewheeling(Rig *r, int latency_periods)
{
	fx_test_record_freewheeling(r->play, r->rec, 0.5, latency_periods + 1);
	long n = fx_test_recorder_periods(r->rec);
	for (long k = 0; k < n; k++) {
		int m = fx_test_recorded_vs_player(r->rec, k, r->play,
		                                   latency_periods);
		ck_assert_msg(m == 1,
		              "freewheeling after realtime: period %ld of "
		              "%ld %s",
		              k, n,
		              m == 0    ? "is silent"
		              : m == -2 ? "is not paired with an input"
		                        : "differs");
	}
	fprintf(stderr, "# freewheeling after realtime: %ld periods exact\n", n);
}

/* ---- tests ------------------------------------------------------------- */

typedef struct {
	int period, latency_periods;
	const char *chain; ///< NULL: the default chain (fxd's own default)
} AudioCase;

static const AudioCase exact_cases[] = {
	{256, 1, NULL},        /* the default chain */
	{256, 2, DENSE_CHAIN}, /* --latency-periods 2 */
	{1024, 1, DENSE_CHAIN},
	{64, 1, NULL}, /* the dummy backend's busiest period */
};

START_TEST(recording_is_offline_chain_delayed_by_reported_latency)
{
	const AudioCase *ac = &exact_cases[_i];
	double t0 = fx_test_now();
	char lp[16];
	snprintf(lp, sizeof lp, "%d", ac->latency_periods);
	const char *args[] = {"--latency-periods", lp,
	                      ac->chain ? "--chain" : NULL, ac->chain, NULL};
	Rig r;
	rig_start(&r, ac->period, args, 3 * RATE);
	exact_while_freewheeling(&r, ac->chain ? ac->chain : DEFAULT_CHAIN, 1.5,
	                         ac->latency_periods);
	FxTestStats st = rig_stop_daemon(&r);
	ck_assert_int_eq(st.nonfinite, 0);
	rig_free(&r);
	fprintf(stderr, "# -p %d took %.1f s\n", ac->period, fx_test_now() - t0);
}
END_TEST

/* At -p 64 in realtime the dummy backend runs callbacks back to back and
 * a loaded machine leaves fxd's unscheduled worker late: periods may come
 * out silent, each an underflow fxd counted; then, freewheeling, the
 * stream is exact again. */
START_TEST(small_period_silence_is_counted_underflow)
{
	const char *args[] = {"--no-safety", "--chain", "vol:gain db=0", NULL};
	Rig r;
	rig_start(&r, 64, args, 2 * RATE);
	ck_assert_int_eq(settled_latency(&r), 64);
	float *x = play_noise_loop(&r, 64 * 750);
	double end = fx_test_now() + 20;
	while (fx_test_player_periods(r.play) < 64 && fx_test_now() < end)
		fx_test_nap(0.005);
	fx_test_record(r.rec, 1.0);
	long runs = fx_test_recorder_silent_runs(r.rec, 0);
	int finite = fx_test_recorder_finite(r.rec);
	realigned_while_freewheeling(&r, 1);
	fx_test_player_stop(r.play);
	FxTestStats st = rig_stop_daemon(&r);
	check_realtime("-p 64 in realtime", runs, finite, &st, 1);
	free(x);
	rig_free(&r);
}
END_TEST

/* Fault injection (--enable-fault-injection builds): the worker sleeps
 * 12 ms, over two periods, every 40 chunks. Freewheeling, fxd waits for
 * it: the output is the offline chain's, bit for bit, nothing dropped. In
 * realtime the periods it misses come out silent and counted, the late
 * chunks are dropped, and the stream comes back exact. */
START_TEST(stalls_are_counted_dropped_and_recovered)
{
	if (!fx_effect_find("stall")) {
		fprintf(stderr, "# skipped: this build has no fault injection "
		                "(configure --enable-fault-injection)\n");
		return;
	}
	const char *chain = "stall ms=12 every=40 | " DENSE_CHAIN;
	const char *args[] = {"--chain", chain, NULL};
	Rig r;
	rig_start(&r, 256, args, 3 * RATE);
	exact_while_freewheeling(&r, chain, 1.5, 1);
	float *x = play_noise_loop(&r, 256 * 200);
	fx_test_record(r.rec, 1.5);
	long runs = fx_test_recorder_silent_runs(r.rec, 0);
	int finite = fx_test_recorder_finite(r.rec);
	fx_test_player_stop(r.play);
	FxTestStats st = rig_stop_daemon(&r);
	check_realtime("stalls in realtime", runs, finite, &st, 1);
	free(x);
	rig_free(&r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"exact", 120, .tests = {
			{recording_is_offline_chain_delayed_by_reported_latency,
			 sizeof exact_cases / sizeof exact_cases[0]},
		}},
		{"small period", 120, .tests = {
			{small_period_silence_is_counted_underflow, 0},
		}},
		{"fault injection", 120, .tests = {
			{stalls_are_counted_dropped_and_recovered, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_jack_main(fx_test_suite("jack audio", cases));
}

/* Black-box: fxd's audio, bit for bit, against its engine run offline.
 *
 * A player client feeds fxd a known signal and a separate recorder client
 * records fxd's outputs (one client doing both would see an extra period
 * from the feedback loop). The engine runs the same chain offline through
 * the fake-driver path, and every recorded period must equal the offline
 * chain output for the input period that is exactly fxd's reported latency
 * earlier.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "denormal.h"
#include "engine.h"
#include "jack_harness.h"
#include "options.h"

enum { RATE = 48000, CH = 2 };


/* fxd's own default, whatever it is. */
#define DEFAULT_CHAIN FX_DEFAULT_CHAIN
#define DENSE_CHAIN                                                          \
	"hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 q=0.7 "     \
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
	char name[64], play_name[64], rec_name[64];
	int period;
} Rig;

static void rig_start(Rig *r, int period, const char *const *extra,
                      long capacity)
{
	memset(r, 0, sizeof *r);
	r->period = period;
	ck_assert_ptr_nonnull(r->dir = fx_test_dir_new("audio"));
	r->srv = fx_test_server_start(r->dir, period);
	ck_assert_msg(r->srv != NULL, "jackd did not start (logs in %s)", r->dir);
	const char *srv = fx_test_server_name(r->srv);
	snprintf(r->name, sizeof r->name, "fxd-audio-%d", (int)getpid());
	snprintf(r->play_name, sizeof r->play_name, "fxdtest-play-%d",
	         (int)getpid());
	snprintf(r->rec_name, sizeof r->rec_name, "fxdtest-rec-%d", (int)getpid());
	const char *args[32] = {"-n", r->name};
	int n = 2;
	for (int i = 0; extra && extra[i] && n < 31; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	r->fxd = fx_test_daemon_start(srv, r->dir, args);
	ck_assert_ptr_nonnull(r->fxd);
	ck_assert_msg(fx_test_daemon_wait_ready(r->fxd, 15),
	              "fxd not ready; log %s", fx_test_daemon_log_path(r->fxd));
	r->play = fx_test_player_new(srv, r->play_name, CH);
	r->rec = fx_test_recorder_new(srv, r->rec_name, CH, capacity);
	ck_assert(r->play && r->rec);
	r->ctl = fx_test_player_client(r->play);
	ck_assert_int_eq(fx_test_wire(r->ctl, r->play_name, r->name, r->rec_name,
	                              CH), 0);
}

/* Stops fxd with SIGTERM (it must exit 0) and returns its log. */
static char *rig_stop_daemon(Rig *r)
{
	ck_assert_int_eq(fx_test_daemon_signal(r->fxd, SIGTERM), 0);
	int code = fx_test_daemon_wait_exit(r->fxd, 10);
	ck_assert_msg(code == 0, "fxd exit code %d after SIGTERM; log %s", code,
	              fx_test_daemon_log_path(r->fxd));
	return fx_test_daemon_log(r->fxd);
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

/* Waits until the recorder has a period starting at or after @p t. */
static void wait_recorded_past(Rig *r, jack_nframes_t t, double timeout)
{
	double end = fx_test_now() + timeout;
	for (;;) {
		long n = fx_test_recorder_periods(r->rec);
		if (n > 0 &&
		    (int32_t)(fx_test_recorder_period_time(r->rec, n - 1) - t) >= 0)
			return;
		ck_assert_msg(fx_test_now() < end,
		              "recording never reached frame %u (%ld periods)", t, n);
		fx_test_nap(0.01);
	}
}

/* How the recording compares with the offline chain output. */
typedef struct {
	long periods;   ///< recorded periods looked at
	long misaligned;///< not on the player's period grid, or wrong length
	long signal;    ///< periods where the expected output is not silent
	long exact;     ///< of those, equal to the expected
	long silent;    ///< of those, recorded as silence
	long wrong;     ///< anything else (beyond 1e-6)
	long bitdiff;   ///< periods equal within 1e-6 but not bit for bit
	double max_diff;
	long stamps;    ///< periods near a JACK disturbance (see run_case)
	long first_glitch; ///< first late stamp or repeated buffer, or -1
	long first_silent; ///< first silent period where sound was due, or -1
	long first_wrong; ///< recorded period index, or -1
	int shift;        ///< periods by which the first wrong one is off, or 99
} Compare;

static int period_matches(const FxTestRecorder *rec, long k,
                          float *const *chunk,
                          long n_chunks, long j, int period, double *max_diff,
                          int *bit_exact)
{
	long off = fx_test_recorder_period_offset(rec, k);
	double md = 0;
	int exact = 1;
	for (int c = 0; c < CH; c++) {
		const float *got = fx_test_recorder_data(rec, c) + off;
		for (int i = 0; i < period; i++) {
			float want = j >= 0 && j < n_chunks
			                     ? chunk[c][j * period + i]
			                     : 0.0f;
			if (got[i] != want) {
				exact = 0;
				double d = fabs((double)got[i] - want);
				if (!(d <= md))
					md = isnan(d) ? INFINITY : d;
			}
		}
	}
	if (max_diff)
		*max_diff = md;
	if (bit_exact)
		*bit_exact = exact;
	return md <= 1e-6;
}

/* Recorded period k must be the chain's output for the input period
 * that is exactly the reported latency earlier, counted in JACK cycles
 * (fxd delays by callbacks). The player's log is the ruler: it says which
 * of its periods ran in the recorder's cycle, and the one L cycles before
 * that says which input period fxd heard then. */
static Compare compare(const Rig *r, float *const *chunk, long n_chunks,
                       int lead, int latency)
{
	Compare cmp = {0};
	cmp.first_wrong = cmp.first_glitch = cmp.first_silent = -1;
	cmp.shift = 99;
	int P = r->period, L = latency / P;
	ck_assert_msg(latency % P == 0, "latency %d is not whole periods of %d",
	              latency, P);
	jack_nframes_t first = fx_test_player_first_frame(r->play);
	long played = fx_test_player_periods(r->play);
	long n = fx_test_recorder_periods(r->rec);
	for (long k = 0; k < n; k++) {
		cmp.periods++;
		int glitch;
		/* The player's period in this cycle, and the input period fxd
		 * heard: j < 0 is the silence before the signal. */
		long c = fx_test_player_period_of(r->rec, r->play, k, &glitch);
		long j = -1;
		jack_nframes_t pt;
		long pos;
		int plen;
		if (glitch) {
			cmp.stamps++;
			if (cmp.first_glitch < 0)
				cmp.first_glitch = k;
		}
		if (c == FX_TEST_NO_PERIOD &&
		    (int32_t)(fx_test_recorder_period_time(r->rec, k) - first) < 0)
			c = -1 - L; /* well before the player started */
		if (fx_test_recorder_period_frames(r->rec, k) != P || c >= played ||
		    c == FX_TEST_NO_PERIOD) {
			cmp.misaligned++;
			continue;
		}
		if (c - L >= 0) {
			fx_test_player_period(r->play, c - L, &pt, &pos, &plen);
			ck_assert_int_eq(pos % P, 0);
			j = pos / P;
		}
		long e = j >= 0 ? lead + j : -1;
		ck_assert_msg(e < n_chunks, "rendered %ld chunks, need %ld", n_chunks,
		              e + 1);
		int expect_signal = 0;
		if (e >= 0)
			for (int ch = 0; ch < CH && !expect_signal; ch++)
				for (int i = 0; i < P; i++)
					if (chunk[ch][e * P + i] != 0.0f) {
						expect_signal = 1;
						break;
					}
		double md;
		int bit_exact;
		int ok = period_matches(r->rec, k, chunk, n_chunks, e, P, &md,
		                        &bit_exact);
		if (expect_signal)
			cmp.signal++;
		if (ok) {
			cmp.exact += expect_signal;
			cmp.bitdiff += !bit_exact;
			if (md > cmp.max_diff)
				cmp.max_diff = md;
			continue;
		}
		/* Not a match: silence where signal was due, or wrong audio. */
		int silent = 1;
		for (int ch = 0; ch < CH && silent; ch++) {
			const float *got = fx_test_recorder_data(r->rec, ch) +
			                   fx_test_recorder_period_offset(r->rec, k);
			for (int i = 0; i < P; i++)
				if (got[i] != 0.0f) {
					silent = 0;
					break;
				}
		}
		if (silent) {
			if (cmp.first_silent < 0)
				cmp.first_silent = k;
			cmp.silent++;
			continue;
		}
		cmp.wrong++;
		if (cmp.first_wrong < 0) {
			cmp.first_wrong = k;
			for (int s = -4; s <= 4; s++)
				if (s && e >= 0 &&
				    period_matches(r->rec, k, chunk, n_chunks, e + s, P,
				                   NULL, NULL))
					cmp.shift = s;
		}
	}
	return cmp;
}

/* Plays the signal through fxd and compares. Returns the comparison and
 * the latency fxd reported. */
static Compare play_and_compare(Rig *r, const char *chain, double seconds,
                                int *latency_out)
{
	int P = r->period;
	long frames = (long)(seconds * RATE + P - 1) / P * P;
	float *sig[CH];
	for (int c = 0; c < CH; c++)
		sig[c] = make_signal(frames, c);

	/* fxd publishes its latency on activation; JACK propagates it after
	 * each connection. Wait for the graph to settle on a value. */
	int latency = 0;
	double end = fx_test_now() + 5;
	while ((latency = reported_latency(r)) <= 0 && fx_test_now() < end)
		fx_test_nap(0.01);
	ck_assert_int_gt(latency, 0);

	fx_test_recorder_start(r->rec);
	/* Start a quarter second out: fxd's 20 ms fade-in is long over. */
	jack_nframes_t start = jack_frame_time(r->ctl) + RATE / 4;
	ck_assert_int_eq(fx_test_player_play(r->play, (const float *const *)sig,
	                                     frames, start, 0),
	                 0);
	ck_assert(fx_test_player_wait_done(r->play, 20));
	/* Record the signal's tail too: the latency plus 8 periods, in
	 * cycles of the player's log. */
	long want = frames / P + latency / P + 8;
	end = fx_test_now() + 20;
	while (fx_test_player_periods(r->play) < want && fx_test_now() < end)
		fx_test_nap(0.01);
	jack_nframes_t last;
	long pos;
	int plen;
	ck_assert(fx_test_player_period(r->play, want - 1, &last, &pos, &plen));
	wait_recorded_past(r, last, 20);
	fx_test_recorder_stop(r->rec);
	ck_assert(fx_test_recorder_wait_done(r->rec, 5));
	fx_test_player_stop(r->play);
	ck_assert_int_eq(reported_latency(r), latency);

	/* Silence before the signal: more than fxd's fade-in, which is long
	 * over when the player starts (it only scales silence). */
	int lead = 2 + 1920 / P;
	long n_chunks = lead + fx_test_player_periods(r->play) + 2;
	float **chunk = render_offline(P, chain, (const float *const *)sig, frames,
	                               lead, n_chunks);
	Compare cmp = compare(r, chunk, n_chunks, lead, latency);
	for (int c = 0; c < CH; c++) {
		free(chunk[c]);
		free(sig[c]);
	}
	free(chunk);
	/* The whole signal went through: it must have been looked at. */
	ck_assert_msg(cmp.signal >= frames / P,
	              "only %ld signal periods recorded of %ld", cmp.signal,
	              frames / P);
	*latency_out = latency;
	return cmp;
}

static void print_compare(const char *what, const Compare *c, const Rig *r)
{
	fprintf(stderr,
	        "# %s: %ld periods, %ld with signal: %ld exact, %ld silent, "
	        "%ld wrong (first at %ld, off by %d periods), %ld misaligned; "
	        "max diff %g, %ld not bit-exact; %ld near a JACK disturbance\n",
	        what, c->periods, c->signal, c->exact, c->silent, c->wrong,
	        c->first_wrong, c->shift, c->misaligned, c->max_diff, c->bitdiff,
	        c->stamps);
}

/* ---- tests ------------------------------------------------------------- */

typedef struct {
	int period, latency_periods;
	const char *chain;  ///< NULL: the default chain (fxd's own default)
	int underflows_ok;  ///< silent periods fxd counted are allowed
	double seconds;     ///< signal length
	int attempts;       ///< runs tried when a JACK xrun disturbs one
	int faults;         ///< the chain stalls: underflows and late drops due
} AudioCase;

static const AudioCase exact_cases[] = {
	{256, 1, NULL, 0, 1.5, 3, 0},     /* the default chain */
	{256, 2, DENSE_CHAIN, 0, 1.5, 3, 0}, /* --latency-periods 2 */
	{1024, 1, DENSE_CHAIN, 0, 1.5, 3, 0},
};

/* At -p 64 the dummy backend runs callbacks back to back: periods may come
 * out silent, but each must be an underflow fxd counted. JACK's own xruns
 * are frequent there (about one run in four is disturbed on a busy
 * 2-core machine): a shorter signal and more runs. */
static const AudioCase small_case = {64, 1, NULL, 1, 1.0, 5, 0};

/* Fault injection (--enable-fault-injection builds): the worker sleeps
 * 12 ms, over two periods, every 40 chunks. The periods it misses come out
 * silent and counted, the late chunks are dropped, and every other period
 * is still exact and aligned: the daemon recovers each time. */
static const AudioCase fault_case = {
	256, 1, "stall ms=12 every=40 | " DENSE_CHAIN, 1, 1.5, 3, 1};

/* Runs @p ac and checks it. A JACK xrun can make a client miss a cycle or
 * read a port buffer of another cycle (seen here as a frame stamp out of
 * step with the player's, or a repeated buffer), which changes what fxd
 * heard or what the recorder got, and no offline render can follow that.
 * Only such a run, with the xrun counted by fxd and the first disturbance
 * at or before the first bad period, is tried again (ac->attempts runs at
 * most). Anything else fails at once. */
static void run_case(const AudioCase *ac)
{
	const char *chain = ac->chain ? ac->chain : DEFAULT_CHAIN;
	/* Under sanitizers the worker runs several times slower and without
	 * realtime scheduling: a period it misses may come out silent, but it
	 * must be one fxd counted, and every other period stays exact. */
	int underflows_ok = ac->underflows_ok || FX_TEST_SANITIZED;
	char lp[16], what[64];
	snprintf(lp, sizeof lp, "%d", ac->latency_periods);
	snprintf(what, sizeof what, "-p %d, latency %d period(s)", ac->period,
	         ac->latency_periods);
	const char *args[] = {"--latency-periods", lp, ac->chain ? "--chain" : NULL,
	                      ac->chain, NULL};
	for (int attempt = 1;; attempt++) {
		double t0 = fx_test_now();
		Rig r;
		rig_start(&r, ac->period, args, 3 * RATE);
		int latency;
		Compare cmp = play_and_compare(&r, chain, ac->seconds, &latency);
		print_compare(what, &cmp, &r);
		ck_assert_int_eq(latency, ac->latency_periods * ac->period);
		char *log = rig_stop_daemon(&r);
		FxTestStats st;
		ck_assert_msg(fx_test_parse_stats(log, &st) && st.callbacks > 0 &&
		                      st.underflows >= 0 && st.xruns >= 0,
		              "no stats summary in fxd's log:\n%s", log);
		free(log);
		fprintf(stderr, "# %s: fxd counted %lld underflows, %lld late, "
		        "%lld overflows, %lld JACK xruns in %lld callbacks\n",
		        what, st.underflows, st.late, st.overflows, st.xruns,
		        st.callbacks);
		long silent_bad = underflows_ok
		                          ? (cmp.silent > st.underflows
		                                     ? cmp.silent - st.underflows
		                                     : 0)
		                          : cmp.silent;
		long first_bad = cmp.first_wrong;
		if (silent_bad && (first_bad < 0 || cmp.first_silent < first_bad))
			first_bad = cmp.first_silent;
		int bad = cmp.misaligned || cmp.wrong || silent_bad;
		int glitch = st.xruns > 0 && cmp.first_glitch >= 0 &&
		             cmp.first_glitch <= first_bad + 2;
		/* An overloaded machine: the only fault is silence fxd counted
		 * (its worker, unscheduled by JACK under --no-realtime, was not
		 * run in time). Worth another run, not a verdict: one clean run
		 * out of ac->attempts is still required. */
		int overload = !cmp.misaligned && !cmp.wrong &&
		               cmp.silent <= st.underflows;
		if (!bad) {
			ck_assert_int_eq(cmp.exact + (underflows_ok ? cmp.silent : 0),
			                 cmp.signal);
			if (ac->faults)
				ck_assert_msg(st.underflows > 0 && st.late > 0 &&
				                      cmp.silent > 0 && cmp.exact > 0,
				              "stalls left no trace: %lld underflows, "
				              "%lld late, %ld silent periods",
				              st.underflows, st.late, cmp.silent);
			rig_free(&r);
			fprintf(stderr, "# %s took %.1f s\n", what, fx_test_now() - t0);
			return;
		}
		ck_assert_msg((glitch || overload) && attempt < ac->attempts,
		              "%s: %ld misaligned, %ld silent (%lld underflows), "
		              "%ld wrong periods (first wrong #%ld, off by %d "
		              "periods); %lld JACK xruns, first late stamp or repeat "
		              "at #%ld; attempt %d; logs in %s",
		              what, cmp.misaligned, cmp.silent, st.underflows,
		              cmp.wrong, cmp.first_wrong, cmp.shift, st.xruns,
		              cmp.first_glitch, attempt, r.dir);
		fprintf(stderr, "# %s: %s; running again\n", what,
		        glitch ? "a JACK xrun disturbed the graph"
		               : "only counted underflows: the machine is "
		                 "overloaded");
		rig_free(&r);
	}
}

START_TEST(recording_is_offline_chain_delayed_by_reported_latency)
{
	run_case(&exact_cases[_i]);
}
END_TEST

START_TEST(small_period_silence_is_counted_underflow)
{
	run_case(&small_case);
}
END_TEST

START_TEST(stalls_are_counted_dropped_and_recovered)
{
	if (!fx_effect_find("stall")) {
		fprintf(stderr, "# skipped: this build has no fault injection "
		                "(configure --enable-fault-injection)\n");
		return;
	}
	run_case(&fault_case);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jack audio");
	TCase *t = tcase_create("exact");
	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, recording_is_offline_chain_delayed_by_reported_latency,
	                    0, (int)(sizeof exact_cases / sizeof exact_cases[0]));
	suite_add_tcase(s, t);
	t = tcase_create("small period");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, small_period_silence_is_counted_underflow);
	suite_add_tcase(s, t);
	t = tcase_create("fault injection");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, stalls_are_counted_dropped_and_recovered);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return fx_test_jack_main(suite());
}

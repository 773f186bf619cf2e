/* SPDX-License-Identifier: ISC */
/* Black-box: the latency fxd reports and the latency it has.
 *
 * jack_iodelay measures a round trip through fxd; jack_lsp -l shows what
 * fxd's ports report; a buffer-size change while audio runs must keep fxd
 * running, keep the audio exact and move the reported latency to the new
 * period; an effect's own latency (the limiter's look-ahead) adds to what
 * fxd reports and to what it does. What is measured on the audio is
 * measured while JACK freewheels (jack_harness.h): the machine's load
 * cannot move it.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/jack_harness.h"

enum { RATE = 48000 };

/* The latency lines jack_lsp -l prints for @p port:
 *   NAME\n\tport playback latency = [ MIN MAX ] frames\n\tport capture ... */
static int lsp_latency(const char *lsp, const char *port, const char *mode,
                       unsigned *min, unsigned *max)
{
	char head[160];
	snprintf(head, sizeof head, "%s\n", port);
	const char *p = lsp;
	while ((p = strstr(p, head)) && p != lsp && p[-1] != '\n')
		p++;
	if (!p)
		return 0;
	p += strlen(head);
	char key[64];
	snprintf(key, sizeof key, "port %s latency = [", mode);
	/* Only within this port's indented lines. */
	while (*p == '\t' || *p == ' ') {
		const char *eol = strchr(p, '\n');
		const char *k = strstr(p, key);
		if (k && (!eol || k < eol))
			return sscanf(k + strlen(key), " %u %u", min, max) == 2;
		if (!eol)
			break;
		p = eol + 1;
	}
	return 0;
}

/* jack_iodelay reads the delay from the phase of its test tones, so a
 * chain that shifts phase moves the figure: an 80 Hz highpass and a 12 kHz
 * lowpass read about 0.63 frames more. A flat chain without the safety
 * stage reads the delay alone. (Not the default chain: its reverb and
 * delay would blur the phase.) */
#define FILTERS                                                          \
	"hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 q=0.7 " \
	"gain=0 | lpf:lowpass cutoff=12000 order=2 | vol:gain db=0"
static const struct {
	const char *chain; ///< the chain
	int safety;        ///< with the safety stage
	double tolerance;  ///< frames
} round_trips[] = {
	{FILTERS, 1, 1.0},
	{"vol:gain db=0", 0, 0.01},
};

START_TEST(round_trip_is_one_period_plus_what_fxd_reports)
{
	double t0 = fx_test_now();
	char *dir = fx_test_dir_new("latency");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	const char *sn = fx_test_server_name(srv);
	char name[64];
	snprintf(name, sizeof name, "fxd-rt-%d", (int)getpid());
	const char *extra[] = {"--chain", round_trips[_i].chain,
	                       round_trips[_i].safety ? NULL : "--no-safety",
	                       NULL};
	FxTestDaemon *fxd = fx_test_fxd_start(sn, dir, name, extra);

	/* What fxd's ports say, unconnected: inputs are heard 256 frames
	 * later at the outputs. */
	/* Not `jack_lsp -s NAME`: 1.9.21's jack_lsp copies NAME into
	 * malloc(strlen(NAME)) and aborts in malloc for some lengths. */
	char *lsp = NULL;
	ck_assert_int_eq(fx_test_sh(&lsp, 10,
	                            "JACK_DEFAULT_SERVER='%s' jack_lsp -l", sn),
	                 0);
	for (int k = 1; k <= 2; k++) {
		char in[96], out[96];
		unsigned lo = 0, hi = 0;
		snprintf(in, sizeof in, "%s:in_%d", name, k);
		snprintf(out, sizeof out, "%s:out_%d", name, k);
		ck_assert_msg(lsp_latency(lsp, in, "playback", &lo, &hi),
		              "no playback latency for %s in:\n%s", in, lsp);
		ck_assert_msg(lo == 256 && hi == 256, "%s playback [%u %u]", in,
		              lo, hi);
		ck_assert_msg(lsp_latency(lsp, out, "capture", &lo, &hi),
		              "no capture latency for %s in:\n%s", out, lsp);
		ck_assert_msg(lo == 256 && hi == 256, "%s capture [%u %u]", out,
		              lo, hi);
	}
	free(lsp);

	/* jack_iodelay has no -h and runs until killed: bounded by timeout
	 * and by the kill below; unbuffered so its lines show at once. */
	const char *iod_argv[] = {"timeout", "30",           "stdbuf",
	                          "-o0",     "jack_iodelay", NULL};
	FxTestDaemon *iod = fx_test_program_start(sn, dir, iod_argv);
	ck_assert_ptr_nonnull(iod);
	char ctl_name[64], in1[96], out1[96];
	snprintf(ctl_name, sizeof ctl_name, "fxdtest-ctl-%d", (int)getpid());
	snprintf(in1, sizeof in1, "%s:in_1", name);
	snprintf(out1, sizeof out1, "%s:out_1", name);
	jack_client_t *ctl = fx_test_client_open(sn, ctl_name);
	ck_assert_ptr_nonnull(ctl);
	ck_assert(fx_test_wait_port(ctl, "jack_delay:out", 10));
	ck_assert(fx_test_wait_port(ctl, "jack_delay:in", 10));
	/* Its ports exist before it is active, and JACK refuses to connect
	 * an inactive client's ports: retry until it is. */
	ck_assert(fx_test_connect_wait(ctl, "jack_delay:out", in1, 10));
	ck_assert(fx_test_connect_wait(ctl, out1, "jack_delay:in", 10));

	/* Freewheeling, three measurements, the last one counts (the
	 * 'extra loopback latency' line is wrong once a client reports its
	 * own latency; the total is what was measured). jack_iodelay prints
	 * on its own clock, by then over thousands of freewheeled cycles. */
	ck_assert_int_eq(fx_test_freewheel(ctl, 1), 0);
	size_t mark = fx_test_daemon_log_size(iod);
	const char *line = "total roundtrip latency";
	double end = fx_test_now() + 15;
	int seen = 0;
	char *log = NULL;
	while (fx_test_now() < end) {
		free(log);
		log = fx_test_daemon_log(iod);
		seen = 0;
		for (const char *p = log + mark; (p = strstr(p, line)); p++)
			seen++;
		if (seen >= 3)
			break;
		fx_test_nap(0.05);
	}
	ck_assert_int_eq(fx_test_freewheel(ctl, 0), 0);
	ck_assert_msg(seen >= 3, "jack_iodelay measured nothing:\n%s", log);
	const char *last = NULL;
	for (const char *p = log + mark; (p = strstr(p, line)); p++)
		last = p;
	const char *bol = last;
	while (bol > log && bol[-1] != '\n')
		bol--;
	double frames = 0;
	ck_assert_msg(sscanf(bol, " %lf frames", &frames) == 1,
	              "cannot parse: %.80s", bol);
	fprintf(stderr,
	        "# jack_iodelay: %.3f frames round trip through fxd "
	        "on %s\n",
	        frames, round_trips[_i].chain);
	ck_assert_msg(fabs(frames - 512) < round_trips[_i].tolerance,
	              "round trip %.3f frames, want 512 +- %g", frames,
	              round_trips[_i].tolerance);
	free(log);

	fx_test_daemon_signal(iod, SIGTERM);
	ck_assert_int_ne(fx_test_daemon_wait_exit(iod, 10), -1);
	fx_test_daemon_free(iod);
	fx_test_client_close(ctl, 5);
	ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGTERM), 0);
	ck_assert_int_eq(fx_test_daemon_wait_exit(fxd, 10), 0);
	fx_test_daemon_free(fxd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
	fprintf(stderr, "# round trip took %.1f s\n", fx_test_now() - t0);
}
END_TEST

/* Noise that loops seamlessly, its length a multiple of every period. */
static float *looped_noise(long frames, uint32_t seed)
{
	float *x = malloc((size_t)frames * sizeof *x);
	ck_assert_ptr_nonnull(x);
	for (long i = 0; i < frames; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		x[i] = (float)(((double)seed / 4294967296.0 - 0.5) * 0.5);
	}
	return x;
}

/* Freewheeling, about @p seconds are recorded: every period must be the
 * input one cycle earlier, bit for bit. Returns the periods checked. */
static long exact_one_period_late(FxTestPlayer *pl, FxTestRecorder *rc,
                                  double seconds, int period)
{
	fx_test_record_freewheeling(pl, rc, seconds, 2);
	long n = fx_test_recorder_periods(rc);
	for (long k = 0; k < n; k++) {
		ck_assert_int_eq(fx_test_recorder_period_frames(rc, k), period);
		int m = fx_test_recorded_vs_player(rc, k, pl, 1);
		ck_assert_msg(m == 1, "-p %d: period %ld of %ld %s", period, k, n,
		              m == 0    ? "is silent"
		              : m == -2 ? "is not paired"
		                        : "differs");
	}
	return n;
}

/* fxd on a pass-through chain without the safety stage: the output is the
 * input delayed by exactly one period, before and after a change to a
 * longer, a shorter, and a period longer than the chain's 1024-frame
 * block. The change happens in realtime; the audio is judged freewheeling
 * at each size. */
static const int new_sizes[] = {512, 128, 2048};

START_TEST(bufsize_change_keeps_audio_and_moves_latency)
{
	const int size = new_sizes[_i];
	double t0 = fx_test_now();
	char *dir = fx_test_dir_new("bufsize");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	const char *sn = fx_test_server_name(srv);
	char name[64];
	snprintf(name, sizeof name, "fxd-bs-%d", (int)getpid());
	const char *extra[] = {"--no-safety", "--chain", "vol:gain db=0", NULL};
	FxTestDaemon *fxd = fx_test_fxd_start(sn, dir, name, extra);
	FxTestPlayer *pl;
	FxTestRecorder *rc;
	jack_client_t *ctl = fx_test_io_open(sn, name, 2, 6 * RATE, &pl, &rc);
	char out1[96];
	snprintf(out1, sizeof out1, "%s:out_1", name);

	long len = 48 * 1024;
	float *sig[2] = {looped_noise(len, 1), looped_noise(len, 2)};
	ck_assert_int_eq(fx_test_player_play(pl, (const float *const *)sig, len,
	                                     jack_frame_time(ctl), 1),
	                 0);
	ck_assert_uint_eq(
		fx_test_port_latency(ctl, out1, JackCaptureLatency).max, 256);
	long before = exact_one_period_late(pl, rc, 0.25, 256);

	size_t mark = fx_test_daemon_log_size(fxd);
	char *out = NULL;
	int st = fx_test_sh(&out, 10, "JACK_DEFAULT_SERVER='%s' jack_bufsize %d",
	                    sn, size);
	ck_assert_msg(st == 0, "jack_bufsize exit %d: %s", st, out);
	free(out);
	/* fxd notices on its next tick and republishes its latency. */
	double end = fx_test_now() + 10;
	while (fx_test_port_latency(ctl, out1, JackCaptureLatency).max !=
	               (jack_nframes_t)size &&
	       fx_test_now() < end)
		fx_test_nap(0.01);
	ck_assert_uint_eq(
		fx_test_port_latency(ctl, out1, JackCaptureLatency).max, size);
	ck_assert_uint_eq(
		fx_test_port_latency(ctl, out1, JackCaptureLatency).min, size);
	char said[64];
	snprintf(said, sizeof said, "period is now %d frames", size);
	ck_assert_msg(fx_test_daemon_wait_log(fxd, mark, said, 5),
	              "no '%s' in the log %s", said,
	              fx_test_daemon_log_path(fxd));
	/* Half a second at the new size (a period of 2048 is longer than
	 * the chain's block: it splits it). */
	long after = exact_one_period_late(pl, rc, 0.5, size);
	fx_test_player_stop(pl);
	ck_assert(fx_test_daemon_running(fxd));
	fprintf(stderr,
	        "# bufsize 256 -> %d: %ld periods of 256 and %ld of %d "
	        "exact\n",
	        size, before, after, size);

	ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGTERM), 0);
	ck_assert_int_eq(fx_test_daemon_wait_exit(fxd, 10), 0);
	fx_test_player_free(pl);
	fx_test_recorder_free(rc);
	free(sig[0]);
	free(sig[1]);
	fx_test_daemon_free(fxd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
	fprintf(stderr, "# bufsize took %.1f s\n", fx_test_now() - t0);
}
END_TEST

/* fxd on `lim:limiter lookahead=5` at -p 256: its ports report one period
 * plus the limiter's look-ahead, round(5 ms * 48000 / 1000) = 240 frames,
 * and a pulse through it comes out exactly that much later (the pulse is
 * under the ceiling: the limiter passes it untouched). */
START_TEST(limiter_lookahead_adds_to_the_reported_latency)
{
	const int period = 256, want = 256 + 240;
	double t0 = fx_test_now();
	char *dir = fx_test_dir_new("limiter");
	FxTestServer *srv = fx_test_server_up(dir, period);
	const char *sn = fx_test_server_name(srv);
	char name[64];
	snprintf(name, sizeof name, "fxd-lim-%d", (int)getpid());
	const char *extra[] = {"--no-safety", "--chain",
	                       "lim:limiter lookahead=5", NULL};
	FxTestDaemon *fxd = fx_test_fxd_start(sn, dir, name, extra);
	FxTestPlayer *pl;
	FxTestRecorder *rc;
	jack_client_t *ctl = fx_test_io_open(sn, name, 2, 2 * RATE, &pl, &rc);

	/* JACK propagates latencies after each connection: wait for it. */
	for (int k = 1; k <= 2; k++) {
		char in[96], out[96];
		snprintf(in, sizeof in, "%s:in_%d", name, k);
		snprintf(out, sizeof out, "%s:out_%d", name, k);
		double end = fx_test_now() + 5;
		jack_latency_range_t ip, oc;
		for (;;) {
			ip = fx_test_port_latency(ctl, in, JackPlaybackLatency);
			oc = fx_test_port_latency(ctl, out, JackCaptureLatency);
			if ((ip.max == (jack_nframes_t)want &&
			     oc.max == (jack_nframes_t)want) ||
			    fx_test_now() > end)
				break;
			fx_test_nap(0.01);
		}
		ck_assert_msg(ip.min == (jack_nframes_t)want &&
		                      ip.max == (jack_nframes_t)want,
		              "%s playback [%u %u], want %d", in, ip.min,
		              ip.max, want);
		ck_assert_msg(oc.min == (jack_nframes_t)want &&
		                      oc.max == (jack_nframes_t)want,
		              "%s capture [%u %u], want %d", out, oc.min,
		              oc.max, want);
	}

	/* One pulse per channel at frame AT of a single play, freewheeling:
	 * recorded period k ran in the player's period k's cycle. */
	enum { LEN = 4 * 256, AT = 100 };
	float *sig[2] = {calloc(LEN, sizeof(float)), calloc(LEN, sizeof(float))};
	ck_assert(sig[0] && sig[1]);
	sig[0][AT] = 0.5f;
	sig[1][AT] = -0.25f;
	fx_test_freewheel_play(pl, rc, (const float *const *)sig, LEN,
	                       LEN / period + want / period + 4);

	/* Exactly one non-zero frame, the pulse unchanged on both channels. */
	long frames = fx_test_recorder_frames(rc), at = -1;
	const float *y0 = fx_test_recorder_data(rc, 0);
	const float *y1 = fx_test_recorder_data(rc, 1);
	for (long i = 0; i < frames; i++)
		if (y0[i] != 0.0f || y1[i] != 0.0f) {
			ck_assert_msg(at < 0,
			              "more than one pulse: frames %ld and %ld",
			              at, i);
			at = i;
		}
	ck_assert_msg(at >= 0, "no pulse in %ld recorded frames", frames);
	ck_assert(y0[at] == 0.5f && y1[at] == -0.25f);
	/* Recorded frame n is the player's frame n's cycle: the delay is the
	 * distance. */
	long delay = at - AT;
	fprintf(stderr,
	        "# limiter lookahead=5: fxd reports %d frames, the pulse "
	        "took %ld\n",
	        want, delay);
	ck_assert_msg(delay == want, "pulse delayed %ld frames, want %d", delay,
	              want);

	free(sig[0]);
	free(sig[1]);
	ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGTERM), 0);
	ck_assert_int_eq(fx_test_daemon_wait_exit(fxd, 10), 0);
	fx_test_player_free(pl);
	fx_test_recorder_free(rc);
	fx_test_daemon_free(fxd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
	fprintf(stderr, "# limiter latency took %.1f s\n", fx_test_now() - t0);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"round trip", 120, .tests = {
			{round_trip_is_one_period_plus_what_fxd_reports,
			 sizeof round_trips / sizeof round_trips[0]},
		}},
		{"bufsize", 120, .tests = {
			{bufsize_change_keeps_audio_and_moves_latency,
			 sizeof new_sizes / sizeof new_sizes[0]},
		}},
		{"effect latency", 120, .tests = {
			{limiter_lookahead_adds_to_the_reported_latency, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_jack_main(fx_test_suite("jack latency", cases));
}

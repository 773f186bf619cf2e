/* SPDX-License-Identifier: ISC */
/* Black-box: fxd while it runs: SIGHUP with a good and a bad config file,
 * checked on the audio, and freewheeling (JACK's export mode), where no
 * chunk may be late or dropped.
 *
 * The audio is judged while JACK freewheels (jack_harness.h), sample for
 * sample and with no excuses. Where the daemon's control thread must act
 * on running audio (a reload, a signal), the recorder paces the
 * freewheeled cycles to realtime speed: the graph still has no deadlines. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/jack_harness.h"

enum { RATE = 48000 };

typedef struct {
	char *dir;
	FxTestServer *srv;
	FxTestDaemon *fxd;
	FxTestPlayer *play;
	FxTestRecorder *rec;
	jack_client_t *ctl;
	char name[64];
} Rig;

static void rig_start(Rig *r, const char *tag, const char *const *extra)
{
	memset(r, 0, sizeof *r);
	ck_assert_ptr_nonnull(r->dir = fx_test_dir_new(tag));
	r->srv = fx_test_server_up(r->dir, 256);
	const char *sn = fx_test_server_name(r->srv);
	snprintf(r->name, sizeof r->name, "fxd-%s-%d", tag, (int)getpid());
	r->fxd = fx_test_fxd_start(sn, r->dir, r->name, extra);
	r->ctl = fx_test_io_open(sn, r->name, 2, 12 * RATE, &r->play, &r->rec);
}

/* Loops @p x (@p frames long, both channels) and waits until the player's
 * log covers a few periods. */
static void rig_play_loop(Rig *r, const float *x, long frames)
{
	const float *bufs[2] = {x, x};
	ck_assert_int_eq(fx_test_player_play(r->play, bufs, frames,
	                                     jack_frame_time(r->ctl), 1),
	                 0);
	double end = fx_test_now() + 10;
	while (fx_test_player_periods(r->play) < 8 && fx_test_now() < end)
		fx_test_nap(0.005);
	ck_assert_int_ge(fx_test_player_periods(r->play), 8);
}

/* Freewheeling at realtime speed from here on, once the player has played
 * a few periods that way. */
static void rig_freewheel_paced(Rig *r)
{
	fx_test_recorder_pace(r->rec, 1.0);
	ck_assert_int_eq(fx_test_freewheel(r->ctl, 1), 0);
	fx_test_wait_freewheeled(r->play, 4);
}

/* Stops fxd unless it stopped (it must exit 0), and the rest. The server
 * stops while still freewheeling, if it does: when freewheeling ends, JACK
 * restores the connections it saved when it began, and ones to a client
 * that left meanwhile would be signalled for good. */
static void rig_stop(Rig *r)
{
	if (fx_test_daemon_running(r->fxd))
		ck_assert_int_eq(fx_test_daemon_signal(r->fxd, SIGTERM), 0);
	int code = fx_test_daemon_wait_exit(r->fxd, 10);
	ck_assert_msg(code == 0, "fxd exit code %d after SIGTERM; log %s", code,
	              fx_test_daemon_log_path(r->fxd));
	fx_test_player_free(r->play);
	fx_test_recorder_free(r->rec);
	fx_test_daemon_free(r->fxd);
	fx_test_server_free(r->srv);
	fx_test_dir_remove(r->dir);
}

/* The gain of recorded period @p k against the input one cycle earlier
 * (fxd's latency); every recorded period must have freewheeled. */
static double gain_of(Rig *r, long k)
{
	double g = fx_test_period_gain(r->rec, r->play, k, 1);
	ck_assert_msg(!isnan(g),
	              "recorded period %ld is not paired with a "
	              "freewheeled input",
	              k);
	return g;
}

/* Every recorded period's gain is @p want (within @p tol). */
static void assert_gain(Rig *r, double want, double tol, const char *when)
{
	long n = fx_test_recorder_periods(r->rec);
	ck_assert_int_gt(n, 10);
	for (long k = 0; k < n; k++) {
		double g = gain_of(r, k);
		ck_assert_msg(fabs(g - want) <= tol,
		              "%s: period %ld of %ld has gain %.5f, want %.5f",
		              when, k, n, g, want);
	}
}

/* Stops fxd with @p sig while recording: the output must fade from
 * @p level to silence over several periods (about 20 ms), not stop dead,
 * and fxd must exit 0. */
static void stop_with_fade(Rig *r, int sig, double level)
{
	fx_test_recorder_start(r->rec);
	ck_assert(fx_test_recorder_wait_frames(r->rec, 10 * 256, 10));
	ck_assert_int_eq(fx_test_daemon_signal(r->fxd, sig), 0);
	int code = fx_test_daemon_wait_exit(r->fxd, 10);
	ck_assert_msg(code == 0, "fxd exit code %d after %s; log %s", code,
	              strsignal(sig), fx_test_daemon_log_path(r->fxd));
	long at = fx_test_recorder_frames(r->rec);
	ck_assert(fx_test_recorder_wait_frames(r->rec, at + 10 * 256, 10));
	fx_test_recorder_stop(r->rec);
	ck_assert(fx_test_recorder_wait_done(r->rec, 5));
	long n = fx_test_recorder_periods(r->rec), between = 0, silent = 0;
	double prev = level;
	for (long k = 0; k < n; k++) {
		double g = gain_of(r, k);
		ck_assert_msg(g <= prev + 2e-3,
		              "period %ld: gain rose to %.4f from "
		              "%.4f while stopping",
		              k, g, prev);
		between += g > 0.02 * level && g < 0.98 * level;
		silent += g == 0;
		prev = g;
	}
	fprintf(stderr, "# %s: %ld periods of fade, then %ld silent\n",
	        strsignal(sig), between, silent);

	ck_assert_msg(between >= 2,
	              "no fade: %ld periods between full and "
	              "silent",
	              between);
	ck_assert_int_ge(silent, 5);
}

static void write_config(const char *path, const char *text)
{
	ck_assert_int_eq(fx_test_write_file(path, text), 0);
}

START_TEST(sighup_reloads_a_good_file_and_keeps_the_chain_on_a_bad_one)
{
	double t0 = fx_test_now();
	Rig r;
	char *conf_dir = fx_test_dir_new("conf");
	char conf[512];
	snprintf(conf, sizeof conf, "%s/fxd.conf", conf_dir);
	write_config(conf, "# fxd test config\n"
	                   "[chain]\n"
	                   "vol:gain db=-6.0206\n");
	const char *args[] = {"-f", conf, NULL};
	rig_start(&r, "hup", args);
	/* A steady 1 kHz tone: 48 frames a cycle, 100 cycles a loop. */
	static float tone[4800];
	for (int i = 0; i < 4800; i++)
		tone[i] = (float)(0.5 * sin(2 * M_PI * i / 48.0));
	rig_play_loop(&r, tone, 4800);
	rig_freewheel_paced(&r);
	fx_test_record(r.rec, 0.3);
	assert_gain(&r, 0.5, 2e-3, "from the file");

	/* A bad file whose chain would be full level: an unknown key on
	 * line 2. The old chain must keep running, and the log say where. */
	write_config(conf, "# fxd test config\n"
	                   "bogus-key = 1\n"
	                   "[chain]\n"
	                   "vol:gain db=0\n");
	size_t mark = fx_test_daemon_log_size(r.fxd);
	ck_assert_int_eq(fx_test_daemon_signal(r.fxd, SIGHUP), 0);
	char where[600];
	snprintf(where, sizeof where, "%s:2:", conf);
	ck_assert_msg(fx_test_daemon_wait_log(r.fxd, mark, where, 10),
	              "no '%s' in the log %s", where,
	              fx_test_daemon_log_path(r.fxd));
	fx_test_record(r.rec, 0.5);
	assert_gain(&r, 0.5, 2e-3, "after the bad file");
	ck_assert(fx_test_daemon_running(r.fxd));

	/* A good file at full level: the recording spans the swap, which
	 * must be a crossfade from 0.5 to 1 without a gap. */
	write_config(conf, "# fxd test config\n"
	                   "[chain]\n"
	                   "vol:gain db=0\n");
	mark = fx_test_daemon_log_size(r.fxd);
	fx_test_recorder_start(r.rec);
	ck_assert(fx_test_recorder_wait_frames(r.rec, RATE / 10, 10));
	ck_assert_int_eq(fx_test_daemon_signal(r.fxd, SIGHUP), 0);
	ck_assert_msg(fx_test_daemon_wait_log(r.fxd, mark, "reloaded", 10),
	              "no reload in the log %s", fx_test_daemon_log_path(r.fxd));
	long at = fx_test_recorder_frames(r.rec);
	ck_assert(fx_test_recorder_wait_frames(r.rec, at + RATE / 2, 10));
	fx_test_recorder_stop(r.rec);
	ck_assert(fx_test_recorder_wait_done(r.rec, 5));
	long n = fx_test_recorder_periods(r.rec);
	double prev = 0.5, last = 0, g0 = NAN;
	long rising = 0;
	for (long k = 0; k < n; k++) {
		double g = gain_of(&r, k);
		int ok = g >= prev - 2e-3 && g <= 1 + 2e-3;
		ck_assert_msg(
			ok, "period %ld: gain %.5f after %.5f (a gap or a jump)",
			k, g, prev);
		if (isnan(g0))
			g0 = g;
		rising += g > prev + 2e-3;
		prev = g > prev ? g : prev;
		last = g;
	}
	ck_assert_double_eq_tol(g0, 0.5, 2e-3);
	ck_assert_double_eq_tol(last, 1.0, 2e-3);
	/* 20 ms at 48 kHz is about 4 periods of 256: not a switch. */
	ck_assert_int_ge(rising, 2);
	fx_test_record(r.rec, 0.3);
	assert_gain(&r, 1.0, 2e-3, "after the good file");

	stop_with_fade(&r, SIGINT, 1.0);
	rig_stop(&r);
	fx_test_dir_remove(conf_dir);
	fprintf(stderr, "# SIGHUP took %.1f s\n", fx_test_now() - t0);
}
END_TEST

/* Noise that loops seamlessly (a whole number of periods). */
static float *looped_noise(long frames)
{
	float *x = malloc((size_t)frames * sizeof *x);
	ck_assert_ptr_nonnull(x);
	uint32_t s = 12345;
	for (long i = 0; i < frames; i++) {
		s ^= s << 13;
		s ^= s >> 17;
		s ^= s << 5;
		x[i] = (float)(((double)s / 4294967296.0 - 0.5) * 0.5);
	}
	return x;
}

/* fxd on a pass-through chain without the safety stage, playing noise in
 * realtime, then freewheeling as fast as the graph goes (10 s of audio in
 * far less time), then in realtime again: every freewheeled period is the
 * input one period earlier, bit for bit (a chunk dropped or late would be
 * a silent or a wrong one); the realtime parts are judged against fxd's
 * counters. */
START_TEST(freewheel_drops_nothing)
{
	double t0 = fx_test_now();
	Rig r;
	const char *args[] = {"--no-safety", "--chain", "vol:gain db=0", NULL};
	rig_start(&r, "fw", args);
	long len = 48 * 256;
	float *noise = looped_noise(len);
	rig_play_loop(&r, noise, len);

	fx_test_record(r.rec, 0.3);
	long runs = fx_test_recorder_silent_runs(r.rec, 0);
	double fw_start = fx_test_now();
	fx_test_record_freewheeling(r.play, r.rec, 10, 2);
	double fw_wall = fx_test_now() - fw_start;
	long n = fx_test_recorder_periods(r.rec);
	for (long k = 0; k < n; k++) {
		int m = fx_test_recorded_vs_player(r.rec, k, r.play, 1);
		ck_assert_msg(m == 1, "freewheeling: period %ld of %ld at %u %s",
		              k, n, fx_test_recorder_period_time(r.rec, k),
		              m == 0    ? "is silent"
		              : m == -2 ? "is not paired"
		                        : "differs");
	}
	fprintf(stderr,
	        "# freewheel: %ld periods (%.1f s of audio in %.2f s) "
	        "exact\n",
	        n, (double)fx_test_recorder_frames(r.rec) / RATE, fw_wall);
	fx_test_record(r.rec, 0.3);
	runs += fx_test_recorder_silent_runs(r.rec, 0);
	ck_assert(fx_test_daemon_running(r.fxd));

	fx_test_player_stop(r.play);
	ck_assert_int_eq(fx_test_daemon_signal(r.fxd, SIGTERM), 0);
	ck_assert_int_eq(fx_test_daemon_wait_exit(r.fxd, 10), 0);
	char *log = fx_test_daemon_log(r.fxd);
	FxTestStats st;
	ck_assert_msg(fx_test_parse_stats(log, &st), "no stats in:\n%s", log);
	free(log);
	fprintf(stderr,
	        "# realtime before and after: %ld silent stretches; fxd "
	        "counted %lld underflows, %lld late, %lld JACK xruns\n",
	        runs, st.underflows, st.late, st.xruns);
	ck_assert_int_le(runs, st.underflows);
	ck_assert_int_ge(st.callbacks, n);
	rig_stop(&r);
	free(noise);
	fprintf(stderr, "# freewheel took %.1f s\n", fx_test_now() - t0);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"sighup", 120, .tests = {
			{sighup_reloads_a_good_file_and_keeps_the_chain_on_a_bad_one,
			 0},
		}},
		{"freewheel", 120, .tests = {
			{freewheel_drops_nothing, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_jack_main(fx_test_suite("jack runtime", cases));
}

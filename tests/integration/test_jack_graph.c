/* SPDX-License-Identifier: ISC */
/* Black-box: fxd as the graph around it changes (issue 17, on jackd).
 *
 * A second fxd with a name in use exits 4 with one line; a port that
 * matches --connect-out and appears after fxd started is linked, and a
 * peer that closes and comes back is linked again, by its pattern and by
 * a link made by hand; a client that stalls its own process callback
 * makes jackd count xruns, and fxd's counters move and name their source.
 * fxd's numbers are judged only against what JACK counted in the same
 * run (a client here with its own xrun callback), never against time.
 */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/jack_harness.h"

enum { EXIT_NAME_TAKEN = 4 }; ///< fxd(1): the client name is in use

/* Lines of @p log at syslog level err ("<3>") or worse. */
static int error_lines(const char *log)
{
	int n = 0;
	for (const char *p = log; p && *p;) {
		if (p[0] == '<' && p[1] >= '0' && p[1] <= '3' && p[2] == '>')
			n++;
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : NULL;
	}
	return n;
}

START_TEST(duplicate_name_exits_4_with_one_line)
{
	char *dir = fx_test_dir_new("dupname");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	const char *sn = fx_test_server_name(srv);
	char name[64];
	snprintf(name, sizeof name, "fxd-dup-%d", (int)getpid());
	FxTestDaemon *first = fx_test_fxd_start(sn, dir, name, NULL);
	const char *argv[] = {
		fx_test_fxd_bin(), "--no-mlock", "-n",        name,
		"--osc-port",      "0",          "--no-http", NULL};
	FxTestDaemon *second = fx_test_program_start(sn, dir, argv);
	ck_assert_ptr_nonnull(second);
	int code = fx_test_daemon_wait_exit(second, 20);
	char *log = fx_test_daemon_log(second);
	char quoted[80];
	snprintf(quoted, sizeof quoted, "'%s'", name);
	ck_assert_msg(code == EXIT_NAME_TAKEN, "second fxd: exit %d, log:\n%s",
	              code, log);
	ck_assert_msg(error_lines(log) == 1 && strstr(log, "already running") &&
	                      strstr(log, quoted),
	              "not one clear line:\n%s", log);
	ck_assert_msg(fx_test_daemon_running(first), "the first fxd exited");
	free(log);
	fx_test_daemon_free(second);
	fx_test_daemon_free(first);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
}
END_TEST

/* A client NAME with in_1, out_1, out_2, active. */
static jack_client_t *peer_open(const char *server, const char *name)
{
	jack_client_t *c = fx_test_client_open(server, name);
	ck_assert_ptr_nonnull(c);
	static const char *ports[] = {"in_1", "out_1", "out_2"};
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(jack_port_register(
			c, ports[i], JACK_DEFAULT_AUDIO_TYPE,
			i == 0 ? JackPortIsInput : JackPortIsOutput, 0));
	ck_assert_int_eq(jack_activate(c), 0);
	return c;
}

START_TEST(ports_that_appear_are_linked)
{
	char *dir = fx_test_dir_new("appear");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	const char *sn = fx_test_server_name(srv);
	char name[64], peer[64], pattern[96];
	snprintf(name, sizeof name, "fxd-appear-%d", (int)getpid());
	snprintf(peer, sizeof peer, "fxdtest-late-%d", (int)getpid());
	snprintf(pattern, sizeof pattern, "^%s:in_1$", peer);
	const char *extra[] = {"--connect-out", pattern, "--stats-interval",
	                       "0.1", NULL};
	FxTestDaemon *fxd = fx_test_fxd_start(sn, dir, name, extra);
	char f_out1[96], f_in2[96], p_in1[96], p_out2[96];
	snprintf(f_out1, sizeof f_out1, "%s:out_1", name);
	snprintf(f_in2, sizeof f_in2, "%s:in_2", name);
	snprintf(p_in1, sizeof p_in1, "%s:in_1", peer);
	snprintf(p_out2, sizeof p_out2, "%s:out_2", peer);

	/* The port fxd's pattern names appears only now. */
	jack_client_t *c = peer_open(sn, peer);
	ck_assert_msg(fx_test_wait_connection(c, f_out1, p_in1, 1, 10),
	              "%s was not linked to %s when it appeared; log %s",
	              f_out1, p_in1, fx_test_daemon_log_path(fxd));
	/* And one link by hand, which fxd remembers. */
	size_t mark = fx_test_daemon_log_size(fxd);
	ck_assert_int_eq(fx_test_connect_wait(c, p_out2, f_in2, 10), 1);
	fx_test_daemon_wait_two_ticks(fxd, mark);

	/* The peer closes and comes back (a restarted player, a netjack
	 * slave): both links come back without fxd reconnecting. */
	for (int round = 1; round <= 2; round++) {
		ck_assert_int_eq(fx_test_client_close(c, 10), 0);
		jack_client_t *w = fx_test_client_open(sn, "fxdtest-watch");
		ck_assert_ptr_nonnull(w);
		for (double end = fx_test_now() + 10;
		     jack_port_by_name(w, p_in1) && fx_test_now() < end;)
			fx_test_nap(0.02);
		ck_assert_ptr_null(jack_port_by_name(w, p_in1));
		mark = fx_test_daemon_log_size(fxd);
		fx_test_daemon_wait_two_ticks(
			fxd, mark); /* fxd has seen the peer gone */
		fx_test_client_close(w, 10);
		c = peer_open(sn, peer);
		ck_assert_msg(fx_test_wait_connection(c, f_out1, p_in1, 1, 10),
		              "round %d: %s not linked again; log %s", round,
		              p_in1, fx_test_daemon_log_path(fxd));
		ck_assert_msg(fx_test_wait_connection(c, p_out2, f_in2, 1, 10),
		              "round %d: %s -> %s not linked again; log %s",
		              round, p_out2, f_in2, fx_test_daemon_log_path(fxd));
		ck_assert(fx_test_daemon_wait_log(fxd, mark, "linked again", 5));
		fx_test_daemon_wait_two_ticks(fxd, fx_test_daemon_log_size(fxd));
	}
	fx_test_client_close(c, 10);
	ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGTERM), 0);
	ck_assert_int_eq(fx_test_daemon_wait_exit(fxd, 10), 0);
	fx_test_daemon_free(fxd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
}
END_TEST

/* ---- a client that stalls --------------------------------------------- */

typedef struct {
	atomic_int stalls_left; ///< process callbacks still to stall
	atomic_int xruns;       ///< what the server reported to this client
} Staller;

static int staller_process(jack_nframes_t n, void *arg)
{
	(void)n;
	Staller *s = arg;
	if (atomic_load(&s->stalls_left) > 0) {
		atomic_fetch_sub(&s->stalls_left, 1);
		/* The stall itself: 20 ms, about four periods of 256. */
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int staller_xrun(void *arg)
{
	Staller *s = arg;
	atomic_fetch_add(&s->xruns, 1);
	return 0;
}

/* fxd's xruns from its latest stats line: total, JACK's, frame gaps. */
static int fxd_xruns(FxTestDaemon *d, long long v[3])
{
	char *log = fx_test_daemon_log(d);
	const char *line = NULL;
	for (const char *p = log; (p = strstr(p, "xruns ")); p++)
		line = p;
	int ok = line && sscanf(line, "xruns %lld (jack %lld, frame gaps %lld)",
	                        &v[0], &v[1], &v[2]) == 3;
	free(log);
	return ok;
}

START_TEST(stalls_are_counted_with_their_source)
{
	char *dir = fx_test_dir_new("stall");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	const char *sn = fx_test_server_name(srv);
	char name[64];
	snprintf(name, sizeof name, "fxd-stall-%d", (int)getpid());
	const char *extra[] = {"--stats-interval", "0.1", NULL};
	FxTestDaemon *fxd = fx_test_fxd_start(sn, dir, name, extra);

	static Staller s;
	atomic_store(&s.stalls_left, 0);
	atomic_store(&s.xruns, 0);
	char cname[64];
	snprintf(cname, sizeof cname, "fxdtest-staller-%d", (int)getpid());
	jack_client_t *c = fx_test_client_open(sn, cname);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(jack_set_process_callback(c, staller_process, &s), 0);
	ck_assert_int_eq(jack_set_xrun_callback(c, staller_xrun, &s), 0);
	ck_assert_ptr_nonnull(jack_port_register(
		c, "out_1", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0));
	ck_assert_int_eq(jack_activate(c), 0);
	/* Upstream of fxd, so fxd waits for it in the cycle it stalls. */
	char src[96], dst[96];
	snprintf(src, sizeof src, "%s:out_1", cname);
	snprintf(dst, sizeof dst, "%s:in_1", name);
	ck_assert_int_eq(fx_test_connect_wait(c, src, dst, 10), 1);

	long long before[3];
	ck_assert(fx_test_daemon_wait_log(fxd, 0, "stats:", 10));
	ck_assert(fxd_xruns(fxd, before));
	int jack_before = atomic_load(&s.xruns);
	for (int i = 0; i < 7; i++) {
		atomic_store(&s.stalls_left, 1);
		for (double end = fx_test_now() + 10;
		     atomic_load(&s.stalls_left) > 0 && fx_test_now() < end;)
			fx_test_nap(0.01);
		fx_test_nap(0.05); /* spaced out, as separate stalls */
	}
	ck_assert_int_eq(atomic_load(&s.stalls_left), 0);

	/* fxd hears of every xrun JACK reported here: both are told by the
	 * same server. Waited for until both agree (more may come from the
	 * dummy backend meanwhile, to both alike). */
	long long now[3] = {0, 0, 0};
	int jack_counted = 0, agreed = 0;
	for (double end = fx_test_now() + 20; !agreed && fx_test_now() < end;) {
		fx_test_nap(0.1);
		jack_counted = atomic_load(&s.xruns) - jack_before;
		agreed = fxd_xruns(fxd, now) &&
		         now[1] - before[1] == jack_counted &&
		         atomic_load(&s.xruns) - jack_before == jack_counted;
	}
	fprintf(stderr,
	        "# 7 stalls of 20 ms: JACK reported %d xruns; fxd counts "
	        "%lld (jack %lld, frame gaps %lld)\n",
	        jack_counted, now[0] - before[0], now[1] - before[1],
	        now[2] - before[2]);
	ck_assert_msg(jack_counted > 0, "jackd counted no xrun for the stalls");
	ck_assert_msg(agreed, "fxd's JACK xruns +%lld, JACK reported %d; log %s",
	              now[1] - before[1], jack_counted,
	              fx_test_daemon_log_path(fxd));
	/* fxd, downstream of the stall, missed cycles itself: jackd starts
	 * no cycle while the last one is unfinished. */
	ck_assert_msg(now[2] - before[2] > 0, "fxd saw no frame-time gap");
	/* The total is the larger source, never the sum. */
	ck_assert_int_eq(now[0], now[1] > now[2] ? now[1] : now[2]);
	fx_test_client_close(c, 10);
	ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGTERM), 0);
	ck_assert_int_eq(fx_test_daemon_wait_exit(fxd, 10), 0);
	fx_test_daemon_free(fxd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
}
END_TEST

/* --period is a no-op under jackd, said so, and the real period logged. */
START_TEST(period_is_a_noop_under_jackd)
{
	char *dir = fx_test_dir_new("period");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	const char *sn = fx_test_server_name(srv);
	char name[64];
	snprintf(name, sizeof name, "fxd-period-%d", (int)getpid());
	const char *extra[] = {"--period", "512", NULL};
	FxTestDaemon *fxd = fx_test_fxd_start(sn, dir, name, extra);
	char *log = fx_test_daemon_log(fxd);
	ck_assert_msg(strstr(log, ": 48000 Hz, period 256 frames") &&
	                      strstr(log, "--period 512 does nothing under "
	                                  "jackd") &&
	                      strstr(log, "latency 256 frames"),
	              "log:\n%s", log);
	free(log);
	ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGTERM), 0);
	ck_assert_int_eq(fx_test_daemon_wait_exit(fxd, 10), 0);
	fx_test_daemon_free(fxd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
}
END_TEST

static Suite *suite(void)
{
	/* clang-format off */
	const FxTestCase cases[] = {
		{"name", 60, .tests = {
			{duplicate_name_exits_4_with_one_line, 0},
		}},
		{"appear", 120, .tests = {
			{ports_that_appear_are_linked, 0},
		}},
		{"stall", 120, .tests = {
			{stalls_are_counted_with_their_source, 0},
		}},
		{"period", 60, .tests = {
			{period_is_a_noop_under_jackd, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_suite("jack graph", cases);
}

int main(void)
{
	return fx_test_jack_main(suite());
}

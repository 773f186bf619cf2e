/* SPDX-License-Identifier: ISC */
/* Black-box: fxd's start-up against a real server: a taken name, the
 * --connect-in/--connect-out patterns, --wait-for-jack and no server.
 * Exit codes are the ones fxd(1) documents. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/jack_harness.h"

enum {
	EXIT_USAGE = 2,      ///< fxd(1): a chain that cannot run, among others
	EXIT_NO_JACK = 3,    ///< fxd(1): cannot connect to the JACK server
	EXIT_NAME_TAKEN = 4, ///< fxd(1): the client name is in use
};

static void stop_ok(FxTestDaemon *d)
{
	ck_assert_int_eq(fx_test_daemon_signal(d, SIGTERM), 0);
	int code = fx_test_daemon_wait_exit(d, 10);
	ck_assert_msg(code == 0, "fxd exit code %d after SIGTERM; log %s", code,
	              fx_test_daemon_log_path(d));
	fx_test_daemon_free(d);
}

/* The client name from the ready line: "ready: client 'NAME', ...". */
static void ready_name(FxTestDaemon *d, char *name, size_t size)
{
	char *log = fx_test_daemon_log(d);
	const char *p = strstr(log, "ready: client '");
	ck_assert_msg(p != NULL, "no ready line in:\n%s", log);
	p += strlen("ready: client '");
	size_t n = strcspn(p, "'");
	ck_assert_uint_lt(n, size);
	memcpy(name, p, n);
	name[n] = '\0';
	free(log);
}

START_TEST(taken_name_fails_unless_rename_is_allowed)
{
	double t0 = fx_test_now();
	char *dir = fx_test_dir_new("name");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	const char *sn = fx_test_server_name(srv);
	char name[64], ctl_name[64];
	snprintf(name, sizeof name, "fxd-same-%d", (int)getpid());
	snprintf(ctl_name, sizeof ctl_name, "fxdtest-ctl-%d", (int)getpid());
	const char *args[] = {"-n", name, NULL};
	FxTestDaemon *first = fx_test_daemon_start_ready(sn, dir, args);

	FxTestDaemon *second = fx_test_daemon_start(sn, dir, args);
	int code = fx_test_daemon_wait_exit(second, 15);
	char *log = fx_test_daemon_log(second);
	ck_assert_msg(code == EXIT_NAME_TAKEN, "second fxd: exit %d, log:\n%s",
	              code, log);
	char quoted[80];
	snprintf(quoted, sizeof quoted, "'%s'", name);
	ck_assert_msg(strstr(log, quoted) && strstr(log, "already running") &&
	                      strstr(log, "--allow-rename"),
	              "unclear message:\n%s", log);
	ck_assert_msg(!strstr(log, "ready:"), "second fxd said ready:\n%s", log);
	free(log);
	fx_test_daemon_free(second);

	const char *rename_args[] = {"-n", name, "--allow-rename", NULL};
	FxTestDaemon *third = fx_test_daemon_start_ready(sn, dir, rename_args);
	char real[64];
	ready_name(third, real, sizeof real);
	ck_assert_str_ne(real, name);
	log = fx_test_daemon_log(third);
	snprintf(quoted, sizeof quoted, "'%s'", real);
	ck_assert_msg(strstr(log, "taken") && strstr(log, quoted),
	              "the real name is not logged:\n%s", log);
	free(log);

	/* Both run, each with its own ports. */
	jack_client_t *ctl = fx_test_client_open(sn, ctl_name);
	ck_assert_ptr_nonnull(ctl);
	char port[128];
	snprintf(port, sizeof port, "%s:out_2", name);
	ck_assert(fx_test_wait_port(ctl, port, 5));
	snprintf(port, sizeof port, "%s:in_1", real);
	ck_assert(fx_test_wait_port(ctl, port, 5));
	ck_assert(fx_test_daemon_running(first));
	fx_test_client_close(ctl, 5);
	stop_ok(third);
	stop_ok(first);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
	fprintf(stderr, "# name collision took %.1f s\n", fx_test_now() - t0);
}
END_TEST

START_TEST(connect_patterns_make_the_connections)
{
	double t0 = fx_test_now();
	char *dir = fx_test_dir_new("connect");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	const char *sn = fx_test_server_name(srv);
	int pid = (int)getpid();
	char src[64], decoy_src[64], sink[64], decoy_sink[64], name[64];
	snprintf(src, sizeof src, "fxdtest-src-%d", pid);
	snprintf(decoy_src, sizeof decoy_src, "fxdtest-other-%d", pid);
	snprintf(sink, sizeof sink, "fxdtest-sink-%d", pid);
	snprintf(decoy_sink, sizeof decoy_sink, "fxdtest-drain-%d", pid);
	snprintf(name, sizeof name, "fxd-conn-%d", pid);
	FxTestPlayer *a = fx_test_player_new(sn, src, 2);
	FxTestPlayer *b = fx_test_player_new(sn, decoy_src, 2);
	FxTestRecorder *c = fx_test_recorder_new(sn, sink, 2, 1024);
	FxTestRecorder *d = fx_test_recorder_new(sn, decoy_sink, 2, 1024);
	ck_assert(a && b && c && d);
	jack_client_t *ctl = fx_test_player_client(a);

	/* Two input patterns, taken in order: in_1 gets out_2, in_2 out_1.
	 * One output pattern that matches both sink ports. */
	const char *args[] = {"-n",
	                      name,
	                      "--connect-in",
	                      "^fxdtest-src-[0-9]+:out_2$",
	                      "--connect-in",
	                      "src-[0-9]+:out_1$",
	                      "--connect-out",
	                      "^fxdtest-si[nk]+-[0-9]+:in_[0-9]",
	                      NULL};
	FxTestDaemon *fxd = fx_test_daemon_start_ready(sn, dir, args);
	char p1[128], p2[128], q1[128], q2[128];
	snprintf(p1, sizeof p1, "%s:in_1", name);
	snprintf(p2, sizeof p2, "%s:in_2", name);
	snprintf(q1, sizeof q1, "%s:out_1", name);
	snprintf(q2, sizeof q2, "%s:out_2", name);
	char s1[96], s2[96], k1[96], k2[96];
	snprintf(s1, sizeof s1, "%s:out_1", src);
	snprintf(s2, sizeof s2, "%s:out_2", src);
	snprintf(k1, sizeof k1, "%s:in_1", sink);
	snprintf(k2, sizeof k2, "%s:in_2", sink);
	/* Made before the ready line; a short wait covers the graph update
	 * reaching this client. */
	ck_assert_msg(fx_test_wait_connection(ctl, s2, p1, 1, 2), "%s -> %s",
	              s2, p1);
	ck_assert_msg(fx_test_wait_connection(ctl, s1, p2, 1, 2), "%s -> %s",
	              s1, p2);
	ck_assert_msg(fx_test_wait_connection(ctl, q1, k1, 1, 2), "%s -> %s",
	              q1, k1);
	ck_assert_msg(fx_test_wait_connection(ctl, q2, k2, 1, 2), "%s -> %s",
	              q2, k2);
	/* Nothing else: exactly one connection on each of fxd's ports. */
	const char *ours[] = {p1, p2, q1, q2};
	for (int i = 0; i < 4; i++) {
		const char **conns = jack_port_get_all_connections(
			ctl, jack_port_by_name(ctl, ours[i]));
		int n = 0;
		while (conns && conns[n])
			n++;
		ck_assert_msg(n == 1, "%s has %d connections (first %s)",
		              ours[i], n, n ? conns[0] : "-");
		jack_free(conns);
	}
	/* And jack_lsp -c agrees (JACK_DEFAULT_SERVER, not -s: see
	 * test_jack_latency.c). */
	char *lsp = NULL;
	ck_assert_int_eq(fx_test_sh(&lsp, 10,
	                            "JACK_DEFAULT_SERVER='%s' jack_lsp -c "
	                            "'%s'",
	                            sn, name),
	                 0);
	char want[256];
	snprintf(want, sizeof want, "%s\n   %s\n", p1, s2);
	ck_assert_msg(strstr(lsp, want), "jack_lsp -c:\n%s", lsp);
	snprintf(want, sizeof want, "%s\n   %s\n", q2, k2);
	ck_assert_msg(strstr(lsp, want), "jack_lsp -c:\n%s", lsp);
	free(lsp);

	stop_ok(fxd);
	fx_test_player_free(a);
	fx_test_player_free(b);
	fx_test_recorder_free(c);
	fx_test_recorder_free(d);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
	fprintf(stderr, "# connect patterns took %.1f s\n", fx_test_now() - t0);
}
END_TEST

START_TEST(wait_for_jack_outlasts_a_late_server)
{
	double t0 = fx_test_now();
	char *dir = fx_test_dir_new("wait");
	FxTestServer *srv = fx_test_server_new(dir, 256);
	ck_assert_ptr_nonnull(srv);
	const char *sn = fx_test_server_name(srv);
	char name[64], ctl_name[64];
	snprintf(name, sizeof name, "fxd-wait-%d", (int)getpid());
	snprintf(ctl_name, sizeof ctl_name, "fxdtest-ctl-%d", (int)getpid());
	/* Waits long enough for any machine to start jackd: only its
	 * coming matters here, not how soon. */
	const char *args[] = {"-n", name, "--wait-for-jack", "60", NULL};
	FxTestDaemon *fxd = fx_test_daemon_start(sn, dir, args);
	/* fxd has tried once and now waits. */
	ck_assert_msg(fx_test_daemon_wait_log(fxd, 0, "waiting", 10),
	              "fxd does not say it waits; log %s",
	              fx_test_daemon_log_path(fxd));
	ck_assert(fx_test_daemon_running(fxd));
	ck_assert_msg(fx_test_server_restart(srv), "jackd did not start");
	ck_assert_msg(fx_test_daemon_wait_ready(fxd, 60),
	              "fxd not ready; log %s", fx_test_daemon_log_path(fxd));
	jack_client_t *ctl = fx_test_client_open(sn, ctl_name);
	ck_assert_ptr_nonnull(ctl);
	char port[128];
	snprintf(port, sizeof port, "%s:in_1", name);
	ck_assert(fx_test_wait_port(ctl, port, 5));
	fx_test_client_close(ctl, 5);
	stop_ok(fxd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
	fprintf(stderr, "# wait-for-jack took %.1f s\n", fx_test_now() - t0);
}
END_TEST

START_TEST(no_server_is_the_documented_exit_code)
{
	double t0 = fx_test_now();
	char *dir = fx_test_dir_new("noserver");
	/* A name no server has: reserved, never started. */
	FxTestServer *srv = fx_test_server_new(dir, 256);
	const char *sn = fx_test_server_name(srv);
	const char *args[] = {"-n", "fxd-alone", NULL};
	FxTestDaemon *fxd = fx_test_daemon_start(sn, dir, args);
	int code = fx_test_daemon_wait_exit(fxd, 10);
	char *log = fx_test_daemon_log(fxd);
	ck_assert_msg(code == EXIT_NO_JACK, "exit %d, log:\n%s", code, log);
	ck_assert_msg(strstr(log, "cannot connect") && strstr(log, sn),
	              "unclear message:\n%s", log);
	free(log);
	fx_test_daemon_free(fxd);

	/* With a wait that runs out: the same code, after the wait. */
	const char *wait_args[] = {"-n", "fxd-alone", "--wait-for-jack", "0.6",
	                           NULL};
	double t1 = fx_test_now();
	fxd = fx_test_daemon_start(sn, dir, wait_args);
	code = fx_test_daemon_wait_exit(fxd, 10);
	double waited = fx_test_now() - t1;
	ck_assert_msg(code == EXIT_NO_JACK, "exit %d; log %s", code,
	              fx_test_daemon_log_path(fxd));
	ck_assert_msg(waited >= 0.6, "gave up after %.2f s", waited);
	fx_test_daemon_free(fxd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
	fprintf(stderr, "# no server took %.1f s\n", fx_test_now() - t0);
}
END_TEST

/* --memory-budget: a chain over it is refused at start (status 2) and on
 * SIGHUP (the running chain is kept), with its cost in the message. */
START_TEST(memory_budget_refuses_a_chain_at_start_and_on_sighup)
{
	double t0 = fx_test_now();
	char *dir = fx_test_dir_new("budget");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	const char *sn = fx_test_server_name(srv);
	/* A 30 s line at 48 kHz, 2 channels: 11.5 MB. */
	const char *over = "chain needs 11.6 MB of buffers, over the 10 MB "
			   "budget (--memory-budget)";
	const char *args[] = {"-n", "fxd-budget",   "--memory-budget",
	                      "10", "delay max=30", NULL};
	FxTestDaemon *fxd = fx_test_daemon_start(sn, dir, args);
	int code = fx_test_daemon_wait_exit(fxd, 15);
	char *log = fx_test_daemon_log(fxd);
	ck_assert_msg(code == EXIT_USAGE, "exit %d, log:\n%s", code, log);
	ck_assert_msg(strstr(log, over), "unclear message:\n%s", log);
	ck_assert_msg(!strstr(log, "ready:"), "fxd said ready:\n%s", log);
	free(log);
	fx_test_daemon_free(fxd);

	char conf[512];
	snprintf(conf, sizeof conf, "%s/fxd.conf", dir);
	ck_assert_int_eq(fx_test_write_file(conf, "memory-budget = 10\n"
	                                          "[chain]\ndly:delay max=2\n"),
	                 0);
	const char *conf_args[] = {"-n", "fxd-budget", "-f", conf, NULL};
	fxd = fx_test_daemon_start_ready(sn, dir, conf_args);
	ck_assert_int_eq(fx_test_write_file(conf, "memory-budget = 10\n"
	                                          "[chain]\ndly:delay max=30\n"),
	                 0);
	size_t mark = fx_test_daemon_log_size(fxd);
	ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGHUP), 0);
	ck_assert_msg(fx_test_daemon_wait_log(fxd, mark, over, 10),
	              "no '%s' in the log %s", over,
	              fx_test_daemon_log_path(fxd));
	ck_assert(fx_test_daemon_wait_log(fxd, mark, "running chain is kept", 10));
	ck_assert(fx_test_daemon_running(fxd));
	stop_ok(fxd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
	fprintf(stderr, "# memory budget took %.1f s\n", fx_test_now() - t0);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"name", 120, .tests = {
			{taken_name_fails_unless_rename_is_allowed, 0},
		}},
		{"connect", 120, .tests = {
			{connect_patterns_make_the_connections, 0},
		}},
		{"wait", 120, .tests = {
			{wait_for_jack_outlasts_a_late_server, 0},
			{no_server_is_the_documented_exit_code, 0},
		}},
		{"budget", 120, .tests = {
			{memory_budget_refuses_a_chain_at_start_and_on_sighup,
			 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_jack_main(fx_test_suite("jack cli", cases));
}

/* SPDX-License-Identifier: ISC */
/* Black-box: the JACK server goes away under fxd.
 *
 * Without --reconnect fxd exits with the documented code; with it, fxd
 * survives three restarts of the server and each time re-registers its
 * ports and restores its connections, its own --connect ones and ones
 * made by hand.
 *
 * The clients at the other end of those connections live in helper
 * processes (this program run with --peer), which die with each server
 * the way real clients do, and the test watches the graph with jack_lsp:
 * no client in this process ever sees a server die (jack2 issue #395:
 * jack_client_close can hang after that).
 */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/jack_harness.h"

enum { EXIT_JACK_GONE = 5 }; ///< fxd(1): the JACK server went away

/* ---- the peer helper process -------------------------------------------- */

static atomic_int peer_lost;

static void peer_shutdown(void *arg)
{
	(void)arg;
	atomic_store(&peer_lost, 1);
}

/* A client NAME with out_1, out_2, in_1, in_2 that lives until its server
 * goes away (or two minutes pass). */
static int peer_main(const char *server, const char *name)
{
	jack_client_t *c = fx_test_client_open(server, name);
	if (!c)
		return 2;
	static const char *ports[] = {"out_1", "out_2", "in_1", "in_2"};
	for (int i = 0; i < 4; i++)
		if (!jack_port_register(
			    c, ports[i], JACK_DEFAULT_AUDIO_TYPE,
			    i < 2 ? JackPortIsOutput : JackPortIsInput, 0))
			return 2;
	jack_on_shutdown(c, peer_shutdown, NULL);
	if (jack_activate(c))
		return 2;
	printf("peer ready\n");
	fflush(stdout);
	double end = fx_test_now() + 120;
	while (!atomic_load(&peer_lost) && fx_test_now() < end)
		fx_test_nap(0.01);
	_exit(0); /* no jack_client_close on a dead server */
}

static FxTestDaemon *peer_start(const char *server, const char *dir,
                                const char *name)
{
	const char *argv[] = {"/proc/self/exe", "--peer", server, name, NULL};
	FxTestDaemon *p = fx_test_program_start(server, dir, argv);
	ck_assert_ptr_nonnull(p);
	ck_assert_msg(fx_test_daemon_wait_log(p, 0, "peer ready", 10),
	              "peer did not start; log %s", fx_test_daemon_log_path(p));
	return p;
}

/* ---- the graph, read with jack_lsp -c ------------------------------------ */

/* jack_lsp -c prints each port, then its connections indented by three
 * spaces. (JACK_DEFAULT_SERVER, not -s: 1.9.21's jack_lsp copies -s into
 * malloc(strlen(NAME)) and aborts in malloc for some lengths.) */
static char *lsp(const char *server)
{
	char *out = NULL;
	int rc = fx_test_sh(&out, 10, "JACK_DEFAULT_SERVER='%s' jack_lsp -c",
	                    server);
	if (rc != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int has_port(const char *g, const char *port)
{
	size_t n = strlen(port);
	for (const char *p = g; (p = strstr(p, port)); p++)
		if ((p == g || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static int has_connection(const char *g, const char *a, const char *b)
{
	char want[300];
	snprintf(want, sizeof want, "%s\n", a);
	size_t n = strlen(want);
	for (const char *p = g; (p = strstr(p, want)); p++) {
		if (p != g && p[-1] != '\n')
			continue;
		/* a's block: the indented lines after it. */
		for (const char *q = p + n; !strncmp(q, "   ", 3);) {
			const char *eol = strchr(q, '\n');
			if (!eol)
				break;
			if ((size_t)(eol - q - 3) == strlen(b) &&
			    !strncmp(q + 3, b, strlen(b)))
				return 1;
			q = eol + 1;
		}
	}
	return 0;
}

typedef struct {
	const char *ports[8];
	const char *links[8][2];
} Graph;

/* Polls jack_lsp until every port and connection of @p want shows.
 * Returns NULL on success, else the last listing (malloc'd). */
static char *wait_graph(const char *server, const Graph *want, double timeout)
{
	double end = fx_test_now() + timeout;
	for (;;) {
		char *g = lsp(server);
		int ok = g != NULL;
		for (int i = 0; ok && want->ports[i]; i++)
			ok = has_port(g, want->ports[i]);
		for (int i = 0; ok && want->links[i][0]; i++)
			ok = has_connection(g, want->links[i][0],
			                    want->links[i][1]);
		if (ok) {
			free(g);
			return NULL;
		}
		if (fx_test_now() >= end)
			return g ? g : strdup("(jack_lsp failed)");
		free(g);
		fx_test_nap(0.05);
	}
}

/* ---- tests ------------------------------------------------------------- */

static const int kill_signals[] = {SIGTERM, SIGKILL};

START_TEST(server_gone_exits_with_the_documented_code)
{
	double t0 = fx_test_now();
	int sig = kill_signals[_i];
	char *dir = fx_test_dir_new("gone");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	char name[64];
	snprintf(name, sizeof name, "fxd-gone-%d", (int)getpid());
	const char *sn = fx_test_server_name(srv);
	FxTestDaemon *fxd = fx_test_fxd_start(sn, dir, name, NULL);
	fx_test_server_stop(srv, sig);
	double t1 = fx_test_now();
	int code = fx_test_daemon_wait_exit(fxd, 10);
	double took = fx_test_now() - t1;
	char *log = fx_test_daemon_log(fxd);
	ck_assert_msg(code == EXIT_JACK_GONE, "jackd %s: fxd exit %d, log:\n%s",
	              strsignal(sig), code, log);
	ck_assert_msg(strstr(log, "went away"), "no reason given:\n%s", log);
	free(log);
	fprintf(stderr, "# jackd %s: fxd exited %d after %.2f s\n",
	        strsignal(sig), code, took);
	fx_test_daemon_free(fxd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
	fprintf(stderr, "# server gone (%s) took %.1f s\n", strsignal(sig),
	        fx_test_now() - t0);
}
END_TEST

START_TEST(reconnect_survives_three_restarts)
{
	double t0 = fx_test_now();
	char *dir = fx_test_dir_new("reconnect");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	const char *sn = fx_test_server_name(srv);
	char name[64], peer[64];
	snprintf(name, sizeof name, "fxd-rc-%d", (int)getpid());
	snprintf(peer, sizeof peer, "fxdtest-peer-%d", (int)getpid());
	char in_pat[96], out_pat[96];
	snprintf(in_pat, sizeof in_pat, "^%s:out_1$", peer);
	snprintf(out_pat, sizeof out_pat, "^%s:in_1$", peer);
	char f_in1[96], f_in2[96], f_out1[96], f_out2[96];
	char p_out1[96], p_out2[96], p_in1[96], p_in2[96];
	snprintf(f_in1, sizeof f_in1, "%s:in_1", name);
	snprintf(f_in2, sizeof f_in2, "%s:in_2", name);
	snprintf(f_out1, sizeof f_out1, "%s:out_1", name);
	snprintf(f_out2, sizeof f_out2, "%s:out_2", name);
	snprintf(p_out1, sizeof p_out1, "%s:out_1", peer);
	snprintf(p_out2, sizeof p_out2, "%s:out_2", peer);
	snprintf(p_in1, sizeof p_in1, "%s:in_1", peer);
	snprintf(p_in2, sizeof p_in2, "%s:in_2", peer);

	FxTestDaemon *pd = peer_start(sn, dir, peer);
	const char *extra[] = {
		"--reconnect", "--connect-in",     in_pat, "--connect-out",
		out_pat,       "--stats-interval", "0.1",  NULL};
	FxTestDaemon *fxd = fx_test_fxd_start(sn, dir, name, extra);

	/* By hand, as in qjackctl: peer out_2 -> in_2 and out_2 -> peer in_2. */
	char *out = NULL;
	size_t mark = fx_test_daemon_log_size(fxd);
	ck_assert_int_eq(
		fx_test_sh(&out, 10,
	                   "export JACK_DEFAULT_SERVER='%s'; "
	                   "jack_connect '%s' '%s' && jack_connect '%s' '%s'",
	                   sn, p_out2, f_in2, f_out2, p_in2),
		0);
	free(out);
	Graph want = {
		.ports = {f_in1, f_in2, f_out1, f_out2, NULL},
		.links = {{f_in1, p_out1},
	                  {f_out1, p_in1},
	                  {f_in2, p_out2},
	                  {f_out2, p_in2},
	                  {NULL, NULL}},
	};
	char *g = wait_graph(sn, &want, 10);
	ck_assert_msg(g == NULL, "before any restart, the graph is:\n%s", g);
	fx_test_daemon_wait_two_ticks(fxd, mark);

	static const int sigs[] = {SIGKILL, SIGTERM, SIGKILL};
	for (int round = 0; round < 3; round++) {
		double r0 = fx_test_now();
		mark = fx_test_daemon_log_size(fxd);
		/* A clean stop deletes JACK's metadata store (jack_harness.h)
		 * as jackd exits: fxd, retrying meanwhile, would open it half
		 * deleted. fxd waits (SIGSTOP) until jackd is gone, then
		 * notices the loss. */
		int hold = sigs[round] != SIGKILL;
		if (hold)
			ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGSTOP), 0);
		if (fx_test_server_stop(srv, sigs[round]) != 0)
			fprintf(stderr, "# round %d: jackd needed SIGKILL\n",
			        round + 1);
		if (hold)
			ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGCONT), 0);
		ck_assert_msg(fx_test_daemon_wait_log(fxd, mark, "went away", 10),
		              "round %d: fxd did not notice; log %s", round + 1,
		              fx_test_daemon_log_path(fxd));
		ck_assert_msg(fx_test_daemon_running(fxd),
		              "round %d: fxd exited (%d); log %s", round + 1,
		              fx_test_daemon_wait_exit(fxd, 0),
		              fx_test_daemon_log_path(fxd));
		if (fx_test_daemon_wait_exit(pd, 5) < 0)
			fprintf(stderr,
			        "# round %d: the peer outlived its server\n",
			        round + 1);
		fx_test_daemon_free(pd);

		ck_assert_msg(fx_test_server_restart(srv),
		              "round %d: jackd did not restart", round + 1);
		pd = peer_start(sn, dir, peer);
		ck_assert_msg(fx_test_daemon_wait_log(fxd, mark, "ready:", 15),
		              "round %d: fxd did not come back; log %s",
		              round + 1, fx_test_daemon_log_path(fxd));
		g = wait_graph(sn, &want, 15);
		ck_assert_msg(g == NULL,
		              "round %d: the graph is:\n%s\nfxd log %s",
		              round + 1, g, fx_test_daemon_log_path(fxd));
		fprintf(stderr,
		        "# restart %d (%s): ports and connections back "
		        "after %.2f s\n",
		        round + 1, strsignal(sigs[round]), fx_test_now() - r0);
		/* fxd has seen the restored graph before the next kill. */
		fx_test_daemon_wait_two_ticks(fxd, fx_test_daemon_log_size(fxd));
	}

	ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGTERM), 0);
	int code = fx_test_daemon_wait_exit(fxd, 10);
	ck_assert_msg(code == 0, "fxd exit %d after SIGTERM; log %s", code,
	              fx_test_daemon_log_path(fxd));
	fx_test_daemon_free(fxd);
	fx_test_server_stop(srv, SIGTERM);
	fx_test_daemon_wait_exit(pd, 5);
	fx_test_daemon_free(pd);
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
	fprintf(stderr, "# reconnect took %.1f s\n", fx_test_now() - t0);
}
END_TEST

/* The registry in /dev/shm as text: the names of its server slots. */
static char *registry_text(void)
{
	FILE *f = fopen("/dev/shm/jack-shm-registry", "rb");
	ck_assert_ptr_nonnull(f);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		buf[i] = buf[i] ? buf[i] : '\n';
	buf[n] = '\0';
	return buf;
}

/* Starts `jackd -n NAME` as a plain program and kills it (SIGKILL) once it
 * answers: it leaves its slot in the registry. */
static void kill_a_server(const char *dir, const char *name)
{
	const char *argv[] = {"jackd", "-n",    name, "--no-realtime",
	                      "-d",    "dummy", "-r", "48000",
	                      "-p",    "256",   NULL};
	FxTestDaemon *jd = fx_test_program_start(NULL, dir, argv);
	ck_assert_ptr_nonnull(jd);
	jack_client_t *c = NULL;
	for (double end = fx_test_now() + 15; !c && fx_test_now() < end;
	     fx_test_nap(0.05))
		c = fx_test_client_open(name, "fxdregistry");
	ck_assert_msg(c != NULL, "jackd -n %s did not start", name);
	fx_test_client_close(c, 5);
	fx_test_daemon_signal(jd, SIGKILL);
	fx_test_daemon_wait_exit(jd, 5);
	fx_test_daemon_free(jd);
}

/* A killed jackd keeps its slot in JACK's shared registry (8 per user).
 * A test's own killed server is given back by fx_test_server_free, and
 * while the test runs its slot is left to it (it may restart the name);
 * any other dead test server's slot (a killed shell test, a run before
 * this one) is given back by fx_test_jack_reclaim, so leftovers can never
 * lock every later server out; a server not named like the tests' is
 * never touched. */
START_TEST(dead_servers_give_back_their_registry_slots)
{
	char *dir = fx_test_dir_new("registry");
	FxTestServer *own = fx_test_server_up(dir, 256);
	char own_slot[128], foreign_slot[128], foreign[64];
	snprintf(own_slot, sizeof own_slot, ":%s:", fx_test_server_name(own));
	fx_test_server_stop(own, SIGKILL);
	ck_assert_msg(strstr(registry_text(), own_slot),
	              "%s is not in the registry after SIGKILL", own_slot);

	/* A test server whose test is gone, and a user's own server. */
	char user[64], user_slot[128];
	snprintf(foreign, sizeof foreign, "fxdforeign-x%d", (int)getpid());
	snprintf(foreign_slot, sizeof foreign_slot, ":%s:", foreign);
	snprintf(user, sizeof user, "usersown-%d", (int)getpid());
	snprintf(user_slot, sizeof user_slot, ":%s:", user);
	kill_a_server(dir, foreign);
	kill_a_server(dir, user);
	/* Both slots stay behind (a sweep by a test running beside this one
	 * may already have given the first back; nothing touches the other). */
	bool user_left = strstr(registry_text(), user_slot) != NULL;

	/* A test program running beside this one may be sweeping it at the
	 * same moment (its jackd then holds the slot for a while): what
	 * counts is that the slot is free once the sweeps are done. */
	for (double end = fx_test_now() + 60;
	     strstr(registry_text(), foreign_slot) && fx_test_now() < end;
	     fx_test_nap(0.1))
		fx_test_jack_reclaim();
	bool foreign_freed = !strstr(registry_text(), foreign_slot);
	bool user_untouched = strstr(registry_text(), user_slot) != NULL;
	/* Give the user-named slot back before any assertion can end the
	 * test: no sweep ever frees it, so a failure must not leak it. */
	int user_reclaimed = fx_test_jack_reclaim_name(user);
	bool user_freed = !strstr(registry_text(), user_slot);

	ck_assert_msg(user_left, "%s left no registry slot", user_slot);
	ck_assert_msg(foreign_freed, "%s still holds a registry slot",
	              foreign_slot);
	ck_assert_msg(user_untouched,
	              "a server not of the tests' naming was started: %s",
	              user_slot);
	ck_assert_int_eq(user_reclaimed, 1);
	ck_assert(user_freed);
	ck_assert_msg(strstr(registry_text(), own_slot),
	              "the running test's own slot %s was taken from it",
	              own_slot);
	fx_test_server_free(own);
	ck_assert_msg(!strstr(registry_text(), own_slot),
	              "%s still holds a registry slot", own_slot);
	fx_test_dir_remove(dir);
}
END_TEST

static Suite *suite(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"gone", 120, .tests = {
			{server_gone_exits_with_the_documented_code,
			 sizeof kill_signals / sizeof kill_signals[0]},
		}},
		{"reconnect", 180, .tests = {
			{reconnect_survives_three_restarts, 0},
		}},
		{"registry", 120, .tests = {
			{dead_servers_give_back_their_registry_slots, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_suite("jack server", cases);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--peer"))
		return peer_main(argv[2], argv[3]);
	return fx_test_jack_main(suite());
}

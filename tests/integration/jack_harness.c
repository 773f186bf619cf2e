/* SPDX-License-Identifier: ISC */
/* fxd — integration-test harness (see jack_harness.h). */
#define _GNU_SOURCE
#include "tests/integration/jack_harness.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FX_BUILDDIR
#define FX_BUILDDIR "."
#endif

enum { MAX_CH = 8, MAX_ARGS = 64, PLAYER_LOG = 1 << 17 };

extern char **environ;

/* The pid of the test program before Check forks a child per test: server
 * names carry it, so fx_test_jack_main can sweep what its children left. */
static pid_t main_pid;
static atomic_int name_counter;
static atomic_int jack_quiet;

static void jack_message(const char *msg)
{
	if (!atomic_load(&jack_quiet))
		fprintf(stderr, "jack: %s\n", msg);
}

__attribute__((constructor)) static void harness_init(void)
{
	main_pid = getpid();
	jack_set_error_function(jack_message);
	jack_set_info_function(jack_message);
}

/* ---- small utilities --------------------------------------------------- */

double fx_test_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fx_test_nap(double seconds)
{
	struct timespec ts = {(time_t)seconds,
	                      (long)((seconds - (double)(time_t)seconds) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const char *fx_test_fxd_bin(void)
{
	const char *env = getenv("FXD_BIN");
	return env && *env ? env : FX_BUILDDIR "/daemon/fxd";
}

/* Finds @p prog on PATH; returns a malloc'd path or NULL. */
static char *which(const char *prog)
{
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? strdup(prog) : NULL;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		char *full;
		if (asprintf(&full, "%.*s/%s", (int)len, path, prog) < 0)
			return NULL;
		if (len && access(full, X_OK) == 0)
			return full;
		free(full);
		path += len + (path[len] == ':');
	}
	return NULL;
}

const char *fx_test_jack_missing(void)
{
	static const char *tools[] = {"jackd", "jack_lsp", "jack_connect",
	                              "timeout", NULL};
	for (int i = 0; tools[i]; i++) {
		char *p = which(tools[i]);
		if (!p)
			return "jackd or its tools (jackd2) are not installed";
		free(p);
	}
	return NULL;
}

/* Removes /dev/shm entries of servers whose name starts with @p prefix:
 * jack_NAME_* and jack_sem.UID_NAME_* (what a SIGKILLed jackd leaves). */
static void remove_shm(const char *prefix)
{
	char a[300], b[300];
	snprintf(a, sizeof a, "jack_%s", prefix);
	snprintf(b, sizeof b, "jack_sem.%u_%s", (unsigned)getuid(), prefix);
	DIR *dir = opendir("/dev/shm");
	if (!dir)
		return;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!strncmp(de->d_name, a, strlen(a)) ||
		    !strncmp(de->d_name, b, strlen(b))) {
			char path[600];
			snprintf(path, sizeof path, "/dev/shm/%s", de->d_name);
			unlink(path);
		}
	}
	closedir(dir);
}

int fx_test_jack_lock(void)
{
	static int held = -1;
	if (held >= 0 || getenv("FX_JACK_LOCK_HELD"))
		return 0;
	char path[64];
	snprintf(path, sizeof path, "/dev/shm/fxd-jack-tests-%u.lock",
	         (unsigned)geteuid());
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "harness: cannot open %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	double t0 = fx_test_now(), end = t0 + FX_TEST_JACK_LOCK_WAIT;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			fprintf(stderr, "harness: cannot lock %s: %s\n", path,
			        strerror(errno));
			close(fd);
			return -1;
		}
		if (fx_test_now() >= end) {
			fprintf(stderr,
			        "harness: %s still held after %d s (a JACK test "
			        "program that does not end?)\n",
			        path, FX_TEST_JACK_LOCK_WAIT);
			close(fd);
			return -1;
		}
		fx_test_nap(0.05);
	}
	held = fd;
	setenv("FX_JACK_LOCK_HELD", path, 1);
	if (fx_test_now() - t0 >= 0.5)
		fprintf(stderr, "# waited %.1f s for %s\n", fx_test_now() - t0,
		        path);
	return 0;
}

/* Where the tests' JACK state lives (jack_harness.h, "A JACK world per
 * test"). */
typedef enum {
	WORLD_SHARED,   ///< this user's /dev/shm, under the lock alone
	WORLD_PER_TEST, ///< each of Check's test processes gets its own
} WorldMode;
static WorldMode world_mode = WORLD_SHARED;

/* Enters a JACK world of this process's own: a mount namespace with a
 * fresh tmpfs on /dev/shm (JACK's sockets, semaphores, registry and
 * metadata store live there) and an IPC namespace (the registry's SysV
 * lock). Mounts are made private first, so that nothing propagates back.
 * Returns 0, or -1 with errno (no CAP_SYS_ADMIN: not root, or a container
 * that forbids it). */
static int enter_world(void)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC) != 0)
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("fxd-jack-test", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
	          "mode=1777") != 0)
		return -1;
	return 0;
}

/* The first @p size - 1 bytes of /proc/PID[/task/TID]/@p what, its last
 * newline dropped; "?" when it cannot be read. */
static void proc_read(const char *dir, const char *what, char *buf, size_t size)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, what);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!n)
		snprintf(buf, size, "?");
}

/* The state letter and parent in @p dir's stat (after the command's ')',
 * which may hold spaces and parentheses itself); '?' and 0 if unread. */
static void proc_stat(const char *dir, char *state, pid_t *parent)
{
	char stat[512];
	proc_read(dir, "stat", stat, sizeof stat);
	const char *close = strrchr(stat, ')');
	int ppid = 0;
	*state = '?';
	if (close)
		sscanf(close + 1, " %c %d", state, &ppid);
	*parent = (pid_t)ppid;
}

/* One line per thread of process @p pid: command, state, where it waits in
 * the kernel and the system call it is in (its number first). */
static void report_process(pid_t pid)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char task[128], comm[64], wchan[64], call[64], state;
		pid_t parent;
		snprintf(task, sizeof task, "%s/%.16s", dir, de->d_name);
		proc_read(task, "comm", comm, sizeof comm);
		proc_read(task, "wchan", wchan, sizeof wchan);
		proc_read(task, "syscall", call, sizeof call);
		call[strcspn(call, " ")] = '\0';
		proc_stat(task, &state, &parent);
		fprintf(stderr, "#   %d/%s %s state %c wchan %s syscall %s\n",
		        (int)pid, de->d_name, comm, state, wchan, call);
	}
	if (d)
		closedir(d);
}

enum { REPORT_MAX = 512 };

/* A test that runs on past FX_TEST_STUCK_REPORT seconds (35 unless the
 * environment says, under the shortest Check timeout of the JACK tests,
 * 40 s) says once what it and every process under it are doing: Check's
 * timeout kills a test without a word, and a hang inside a JACK call says
 * nothing of itself. A test that is only slow prints these lines too. */
static void *stuck_report(void *arg)
{
	(void)arg;
	const char *env = getenv("FX_TEST_STUCK_REPORT");
	double after = env ? atof(env) : 35;
	if (after <= 0)
		return NULL;
	fx_test_nap(after);
	pid_t family[REPORT_MAX];
	int n = 0;
	family[n++] = getpid();
	/* Descendants: passes over /proc until no process is added. */
	for (int added = 1; added && n < REPORT_MAX;) {
		added = 0;
		DIR *proc = opendir("/proc");
		struct dirent *de;
		while (proc && (de = readdir(proc)) && n < REPORT_MAX) {
			pid_t pid = (pid_t)atoi(de->d_name);
			if (pid <= 0)
				continue;
			int known = 0;
			for (int i = 0; i < n && !known; i++)
				known = family[i] == pid;
			char dir[32], state;
			pid_t parent = 0;
			snprintf(dir, sizeof dir, "/proc/%d", (int)pid);
			if (!known)
				proc_stat(dir, &state, &parent);
			for (int i = 0; parent && i < n; i++)
				if (family[i] == parent) {
					family[n++] = pid;
					added = 1;
					break;
				}
		}
		if (proc)
			closedir(proc);
	}
	fprintf(stderr, "# still running after %g s; its processes:\n", after);
	for (int i = 0; i < n; i++)
		report_process(family[i]);
	return NULL;
}

/* Once per test process, before its first JACK server, client or
 * command: its own world (where it may), and its stuck report. */
static void test_process_begins(void)
{
	static pid_t begun;
	if (getpid() == main_pid || begun == getpid())
		return;
	begun = getpid();
	/* The test program itself (main_pid, where Check forks the tests)
	 * stays in the shared world, where it reclaims what earlier runs
	 * left. */
	if (world_mode == WORLD_PER_TEST && enter_world() != 0)
		fprintf(stderr,
		        "harness: no JACK world of its own for this test (%s); "
		        "it shares /dev/shm\n",
		        strerror(errno));
	pthread_t t;
	if (pthread_create(&t, NULL, stuck_report, NULL) == 0)
		pthread_detach(t);
}

/* Whether a process may have a world of its own here: a child tries. */
static int worlds_possible(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(enter_world() == 0 ? 0 : 1);
	int status;
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int fx_test_jack_main(Suite *suite)
{
	setenv("JACK_NO_START_SERVER", "1", 1);
	const char *why = fx_test_jack_missing();
	if (why) {
		printf("1..0 # SKIP %s\n", why);
		srunner_free(srunner_create(suite)); /* frees the suite */
		return EXIT_SUCCESS;
	}
	if (fx_test_jack_lock() != 0) {
		printf("Bail out! no JACK test lock (see stderr)\n");
		srunner_free(srunner_create(suite));
		return EXIT_FAILURE;
	}
	fx_test_jack_reclaim();
	const char *fork_mode = getenv("CK_FORK");
	int forking = !fork_mode || strcmp(fork_mode, "no") != 0;
	if (!worlds_possible())
		fprintf(stderr, "# no private /dev/shm here (unshare needs "
		                "CAP_SYS_ADMIN): the tests share this user's "
		                "JACK state, one program at a time\n");
	else if (forking)
		world_mode = WORLD_PER_TEST;
	else if (enter_world() != 0) /* CK_FORK=no: one world for them all */
		fprintf(stderr, "harness: no JACK world of its own: %s\n",
		        strerror(errno));
	int status = fx_test_run(suite);
	fx_test_jack_reclaim();
	char prefix[64];
	snprintf(prefix, sizeof prefix, "fxdtest-%d-", (int)main_pid);
	remove_shm(prefix);
	return status;
}

char *fx_test_dir_new(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *dir;
	if (asprintf(&dir, "%s/fxdtest-%s-XXXXXX",
	             base && *base ? base : "/tmp", tag) < 0)
		return NULL;
	if (!mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	return dir;
}

void fx_test_dir_remove(char *dir)
{
	if (!dir)
		return;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *path;
			if (asprintf(&path, "%s/%s", dir, de->d_name) >= 0) {
				unlink(path);
				free(path);
			}
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}

int fx_test_write_file(const char *path, const char *text)
{
	char *tmp;
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -1;
	FILE *f = fopen(tmp, "w");
	int ok = f && fputs(text, f) >= 0;
	if (f && fclose(f) != 0)
		ok = 0;
	if (ok && rename(tmp, path) != 0)
		ok = 0;
	if (!ok)
		unlink(tmp);
	free(tmp);
	return ok ? 0 : -1;
}

char *fx_test_read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			char *more = realloc(buf, cap * 2);
			if (!more) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = more;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/* ---- child processes --------------------------------------------------- */

/* The environment for a child: ours, with JACK_NO_START_SERVER=1 and
 * JACK_DEFAULT_SERVER=@p server (removed when NULL). Built before fork,
 * because only async-signal-safe calls may follow fork in a process that
 * runs JACK threads. */
static char **child_env(const char *server)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 3, sizeof *env);
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "JACK_DEFAULT_SERVER=", 20) &&
		    strncmp(environ[i], "JACK_NO_START_SERVER=", 21))
			env[k++] = environ[i];
	env[k++] = "JACK_NO_START_SERVER=1";
	if (server && asprintf(&env[k++], "JACK_DEFAULT_SERVER=%s", server) < 0)
		env[--k] = NULL;
	return env;
}

static void child_env_free(char **env, const char *server)
{
	if (!env)
		return;
	size_t n = 0;
	while (env[n])
		n++;
	if (server && n && !strncmp(env[n - 1], "JACK_DEFAULT_SERVER=", 20))
		free(env[n - 1]);
	free(env);
}

/* In a child after fork: get SIGTERM when the test process dies. jackd
 * makes itself a session leader, so Check's kill of a failed test's
 * process group would miss it; this does not. SIGTERM, not SIGKILL: a
 * jackd that stops cleanly gives back its slot in JACK's shared registry
 * (see fx_test_server_free). */
static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
}

/* Starts argv[0] (a full path) with stdin from /dev/null and stdout and
 * stderr appended to @p log. Returns the pid or -1. */
static pid_t spawn(char *const *argv, const char *log, const char *server)
{
	test_process_begins();
	char **env = child_env(server);
	if (!env)
		return -1;
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t parent = getpid();
	pid_t pid = out >= 0 && in >= 0 ? fork() : -1;
	if (pid == 0) {
		die_with_parent(parent);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		/* No JACK sockets or test files leak into the child. */
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execve(argv[0], argv, env);
		static const char msg[] = "harness: exec failed\n";
		ssize_t ignored = write(2, msg, sizeof msg - 1);
		(void)ignored;
		_exit(127);
	}
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	child_env_free(env, server);
	return pid;
}

/* waitpid with a deadline. Returns 1 and the status if it exited. */
static int reap(pid_t pid, int *status, double timeout)
{
	double end = fx_test_now() + timeout;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1; /* not our child any more: treat as gone */
		if (fx_test_now() >= end)
			return 0;
		fx_test_nap(0.005);
	}
}

static int decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int fx_test_sh(char **out, double timeout, const char *fmt, ...)
{
	if (out)
		*out = NULL;
	char *cmd;
	va_list ap;
	va_start(ap, fmt);
	int len = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	test_process_begins();
	char *timeout_bin = which("timeout");
	char secs[32];
	snprintf(secs, sizeof secs, "%.3f", timeout);
	char *argv[] = {timeout_bin, "-k", "2", secs,
	                "/bin/sh",   "-c", cmd, NULL};
	char **env = child_env(NULL);
	/* Keep the caller's JACK_DEFAULT_SERVER choice out of it: commands name
	 * their server. child_env(NULL) drops it. */
	int fds[2];
	pid_t pid = -1;
	if (timeout_bin && env && pipe2(fds, O_CLOEXEC) == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		pid_t parent = getpid();
		pid = fork();
		if (pid == 0) {
			die_with_parent(parent);
			dup2(in, 0);
			dup2(fds[1], 1);
			dup2(fds[1], 2);
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
			execve(argv[0], argv, env);
			_exit(127);
		}
		close(in);
		close(fds[1]);
		size_t cap = 4096, n = 0;
		char *buf = malloc(cap);
		for (;;) {
			if (buf && n + 1 >= cap) {
				char *more = realloc(buf, cap *= 2);
				if (!more) {
					free(buf);
					buf = NULL;
				} else {
					buf = more;
				}
			}
			char sink[4096];
			ssize_t r = buf ? read(fds[0], buf + n, cap - 1 - n)
			                : read(fds[0], sink, sizeof sink);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			if (buf)
				n += (size_t)r;
		}
		close(fds[0]);
		if (buf)
			buf[n] = '\0';
		if (out)
			*out = buf;
		else
			free(buf);
	}
	child_env_free(env, NULL);
	free(timeout_bin);
	free(cmd);
	if (pid <= 0)
		return -1;
	int status = 0;
	if (!reap(pid, &status, timeout + 5)) {
		kill(pid, SIGKILL);
		reap(pid, &status, 5);
		return 124;
	}
	return decode_status(status);
}

/* ---- jackd -------------------------------------------------------------- */

struct FxTestServerImpl {
	char name[96];
	char *log;
	int period;
	pid_t pid;  ///< 0 when not running
	int killed; ///< the last stop was not clean (SIGKILL)
	char *jackd;
};

const char *fx_test_server_name(const FxTestServer *s)
{
	return s->name;
}

static int spawn_jackd(FxTestServer *s)
{
	char period[16];
	snprintf(period, sizeof period, "%d", s->period);
	char *argv[] = {s->jackd, "-n",    s->name, "--no-realtime",
	                "-d",     "dummy", "-r",    "48000",
	                "-p",     period,  NULL};
	s->pid = spawn(argv, s->log, NULL);
	if (s->pid < 0) {
		s->pid = 0;
		return 0;
	}
	return 1;
}

FxTestServer *fx_test_server_new(const char *dir, int period)
{
	FxTestServer *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	unsigned rnd = (unsigned)(fx_test_now() * 1e9) ^
	               (unsigned)getpid() * 2654435761u;
	snprintf(s->name, sizeof s->name, "fxdtest-%d-%d-%d-%04x", (int)main_pid,
	         (int)getpid(), atomic_fetch_add(&name_counter, 1), rnd & 0xffff);
	s->period = period;
	s->jackd = which("jackd");
	if (asprintf(&s->log, "%s/jackd-%s.log", dir, s->name) < 0)
		s->log = NULL;
	if (!s->jackd || !s->log) {
		fx_test_server_free(s);
		return NULL;
	}
	return s;
}

static FxTestServer *server_spawn(const char *dir, int period)
{
	FxTestServer *s = fx_test_server_new(dir, period);
	if (s && !spawn_jackd(s)) {
		fprintf(stderr, "harness: cannot start jackd\n");
		fx_test_server_free(s);
		return NULL;
	}
	return s;
}

int fx_test_server_wait_ready(FxTestServer *s, double timeout)
{
	double end = fx_test_now() + timeout;
	char probe[64];
	snprintf(probe, sizeof probe, "fxdtest-probe-%d", (int)getpid());
	while (s->pid > 0) {
		int status;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			fprintf(stderr,
			        "harness: jackd %s exited (%d) while starting; "
			        "see %s\n",
			        s->name, decode_status(status), s->log);
			s->pid = 0;
			return 0;
		}
		jack_client_t *c = fx_test_client_open(s->name, probe);
		if (c) {
			jack_client_close(c);
			return 1;
		}
		if (fx_test_now() >= end)
			break;
		fx_test_nap(0.02);
	}
	fprintf(stderr, "harness: jackd %s not ready after %.1f s; see %s\n",
	        s->name, timeout, s->log);
	return 0;
}

FxTestServer *fx_test_server_start(const char *dir, int period)
{
	FxTestServer *s = server_spawn(dir, period);
	if (s && !fx_test_server_wait_ready(s, 15)) {
		fx_test_server_free(s);
		return NULL;
	}
	return s;
}

int fx_test_server_stop(FxTestServer *s, int sig)
{
	int clean = 1, status;
	if (s->pid > 0) {
		kill(s->pid, sig);
		if (!reap(s->pid, &status, 5)) {
			clean = 0;
			kill(s->pid, SIGKILL);
			reap(s->pid, &status, 5);
		}
		s->killed = sig == SIGKILL || !clean;
		s->pid = 0;
	}
	char prefix[128];
	snprintf(prefix, sizeof prefix, "%s_", s->name);
	remove_shm(prefix);
	return clean ? 0 : -1;
}

int fx_test_server_restart(FxTestServer *s)
{
	if (s->pid > 0)
		fx_test_server_stop(s, SIGTERM);
	if (!spawn_jackd(s) || !fx_test_server_wait_ready(s, 15))
		return 0;
	s->killed = 0; /* the registry slot is the live server's again */
	return 1;
}

/* JACK's shared registry (/dev/shm/jack-shm-registry, jack2's shm.c): a
 * header, then 8 server slots of a pid and "jack-UID:NAME:". A slot whose
 * server died without stopping cleanly (SIGKILL, a hung stop, a test
 * killed by its timeout, any run before this one) is reclaimed only when a
 * server of the same name starts: with all 8 taken by dead servers, no
 * jackd of this user starts at all ("Too many servers already active").
 * So each dead slot's name is started once more and stopped cleanly. */
enum { REGISTRY_SLOTS = 8, REGISTRY_FIRST = 24 };

/* Test servers are named fxdWORD-PID-... after the test process that
 * owns them (fxdtest-PID-..., fxdprobe-$$-...). While that process lives
 * it may start the name again itself (a reconnect test), so its slot is
 * left to it. Only such names are touched: a user's own dead server (say
 * "default") is never started, not even for a moment. */
static int owner_gone(const char *name)
{
	if (strncmp(name, "fxd", 3))
		return 0;
	const char *dash = strchr(name, '-');
	if (!dash || dash[1] < '1' || dash[1] > '9')
		return 1;
	char *end;
	long pid = strtol(dash + 1, &end, 10);
	if (*end != '-' || pid <= 0 || pid > INT_MAX)
		return 1;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

enum { STORE_FILES = 32 };

/* 1 if a process maps one of the files in @p dir (by device and inode,
 * as /proc/PID/maps shows them, for the processes this user may read:
 * the store's owner's), or if that cannot be told. */
static int mapped_by_any(const char *dir)
{
	struct stat files[STORE_FILES];
	int n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 1;
	struct dirent *de;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%.255s", dir, de->d_name);
		if (de->d_name[0] == '.' || lstat(path, &files[n]) != 0 ||
		    !S_ISREG(files[n].st_mode))
			continue;
		if (++n == STORE_FILES)
			break;
	}
	closedir(d);
	DIR *proc = n < STORE_FILES ? opendir("/proc") : NULL;
	if (!proc)
		return 1;
	int found = 0;
	while (!found && (de = readdir(proc))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[300], line[1024];
		snprintf(path, sizeof path, "/proc/%s/maps", de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		while (!found && fgets(line, sizeof line, f)) {
			unsigned major, minor;
			unsigned long ino;
			if (sscanf(line, "%*s %*s %*s %x:%x %lu", &major,
			           &minor, &ino) != 3 ||
			    !ino)
				continue;
			for (int i = 0; i < n && !found; i++)
				found = files[i].st_ino == ino &&
				        major(files[i].st_dev) == major &&
				        minor(files[i].st_dev) == minor;
		}
		fclose(f);
	}
	closedir(proc);
	return found;
}

/* JACK's metadata store (jack_harness.h) that no process has open goes,
 * as it does when a jackd stops cleanly: a client that died while it
 * created the store (a crash, a SIGKILL, a test's timeout) leaves region
 * files shorter than the store says, and every later client, jackd as it
 * starts too, dies of SIGBUS opening them, until a server that was
 * already running stops cleanly. Only under fx_test_jack_lock. */
static void remove_unused_metadata_store(void)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/dev/shm/jack_db-%u", (unsigned)geteuid());
	struct stat st;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || mapped_by_any(dir))
		return;
	fx_test_dir_remove(strdup(dir));
}

int fx_test_jack_reclaim(void)
{
	remove_unused_metadata_store();
	int fd = open("/dev/shm/jack-shm-registry", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	unsigned char head[REGISTRY_FIRST];
	char names[REGISTRY_SLOTS][96];
	int n = 0;
	if (pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head &&
	    !memcmp(head, "KCAJ", 4)) {
		uint32_t hdr_len;
		memcpy(&hdr_len, head + 16, sizeof hdr_len);
		size_t stride = hdr_len > REGISTRY_FIRST
		                        ? (hdr_len - REGISTRY_FIRST) /
		                                  REGISTRY_SLOTS
		                        : 0;
		char prefix[32];
		snprintf(prefix, sizeof prefix, "jack-%d:", (int)getuid());
		for (int i = 0; stride > 4 && i < REGISTRY_SLOTS; i++) {
			unsigned char slot[4 + 256] = {0};
			size_t len = stride < sizeof slot ? stride : sizeof slot;
			if (pread(fd, slot, len,
			          (off_t)(REGISTRY_FIRST + i * stride)) !=
			    (ssize_t)len)
				break;
			int32_t pid;
			memcpy(&pid, slot, sizeof pid);
			char *name = (char *)slot + 4;
			name[len - 5] = '\0';
			size_t plen = strlen(prefix), nlen = strlen(name);
			/* Alive, or another user's, or not a name we can start. */
			if (pid <= 0 || (kill(pid, 0) == 0 || errno != ESRCH) ||
			    strncmp(name, prefix, plen) || nlen < plen + 2 ||
			    name[nlen - 1] != ':' ||
			    nlen - plen - 1 >= sizeof names[0])
				continue;
			snprintf(names[n], sizeof names[n], "%.*s",
			         (int)(nlen - plen - 1), name + plen);
			if (!owner_gone(names[n]))
				continue;
			n++;
		}
	}
	close(fd);
	int reclaimed = 0;
	for (int i = 0; i < n; i++)
		reclaimed += fx_test_jack_reclaim_name(names[i]);
	return reclaimed;
}

int fx_test_jack_reclaim_name(const char *name)
{
	FxTestServer s = {.period = 256};
	snprintf(s.name, sizeof s.name, "%.95s", name);
	s.jackd = which("jackd");
	s.log = strdup("/dev/null");
	int done = s.jackd && s.log && fx_test_server_restart(&s) &&
	           fx_test_server_stop(&s, SIGTERM) == 0;
	free(s.jackd);
	free(s.log);
	return done;
}

void fx_test_server_free(FxTestServer *s)
{
	if (!s)
		return;
	if (s->pid > 0)
		fx_test_server_stop(s, SIGTERM);
	/* JACK's shared registry has 8 server slots per user, and the slot
	 * of a killed server is reclaimed only when a server of the same
	 * name starts. Fresh names would use them all up ("Too many servers
	 * already active") for everyone on the machine: start the name once
	 * more and stop it cleanly. */
	if (s->killed && fx_test_server_restart(s))
		fx_test_server_stop(s, SIGTERM);
	free(s->log);
	free(s->jackd);
	free(s);
}

/* ---- fxd ----------------------------------------------------------------- */

struct FxTestDaemonImpl {
	pid_t pid;
	int exited, status;
	char *log;
};

/* Starts @p prog (a path) with @p args after argv[0]. */
static FxTestDaemon *start_child(const char *server, const char *dir,
                                 const char *prog, const char *tag,
                                 const char *const *args)
{
	static atomic_int counter;
	FxTestDaemon *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	if (asprintf(&d->log, "%s/%s-%d.log", dir, tag,
	             atomic_fetch_add(&counter, 1)) < 0) {
		free(d);
		return NULL;
	}
	char *argv[MAX_ARGS];
	int n = 0;
	argv[n++] = (char *)prog;
	for (int i = 0; args && args[i] && n < MAX_ARGS - 1; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	/* A line in the log saying how it was started helps reading failures. */
	FILE *f = fopen(d->log, "w");
	if (f) {
		fprintf(f, "# JACK_DEFAULT_SERVER=%s",
		        server ? server : "(unset)");
		for (int i = 0; i < n; i++)
			fprintf(f, " '%s'", argv[i]);
		fprintf(f, "\n");
		fclose(f);
	}
	d->pid = spawn(argv, d->log, server);
	if (d->pid < 0) {
		free(d->log);
		free(d);
		return NULL;
	}
	return d;
}

FxTestDaemon *fx_test_daemon_start(const char *server, const char *dir,
                                   const char *const *args)
{
	/* Tests run side by side: OSC and HTTP on free ports unless told
	 * otherwise (a later --osc-port or --http-port wins). */
	const char *with_osc[MAX_ARGS];
	int n = 0;
	with_osc[n++] = "--osc-port";
	with_osc[n++] = "0";
	with_osc[n++] = "--http-port";
	with_osc[n++] = "0";
	for (int i = 0; args && args[i] && n < MAX_ARGS - 1; i++)
		with_osc[n++] = args[i];
	with_osc[n] = NULL;
	return start_child(server, dir, fx_test_fxd_bin(), "fxd", with_osc);
}

FxTestDaemon *fx_test_program_start(const char *server, const char *dir,
                                    const char *const *argv)
{
	char *path = which(argv[0]);
	if (!path)
		return NULL;
	const char *base = strrchr(argv[0], '/');
	FxTestDaemon *d = start_child(server, dir, path,
	                              base ? base + 1 : argv[0], argv + 1);
	free(path);
	return d;
}

const char *fx_test_daemon_log_path(const FxTestDaemon *d)
{
	return d->log;
}

int fx_test_daemon_running(FxTestDaemon *d)
{
	if (d->exited)
		return 0;
	if (waitpid(d->pid, &d->status, WNOHANG) == d->pid)
		d->exited = 1;
	return !d->exited;
}

char *fx_test_daemon_log(FxTestDaemon *d)
{
	char *s = fx_test_read_file(d->log);
	return s ? s : strdup("");
}

size_t fx_test_daemon_log_size(FxTestDaemon *d)
{
	struct stat st;
	return stat(d->log, &st) == 0 ? (size_t)st.st_size : 0;
}

int fx_test_daemon_wait_log(FxTestDaemon *d, size_t from, const char *needle,
                            double timeout)
{
	double end = fx_test_now() + timeout;
	for (;;) {
		/* Look once more after an exit: the line may be its last words. */
		int running = fx_test_daemon_running(d);
		char *log = fx_test_read_file(d->log);
		int found = log && strlen(log) >= from &&
		            strstr(log + from, needle);
		free(log);
		if (found)
			return 1;
		if (!running || fx_test_now() >= end)
			return 0;
		fx_test_nap(0.01);
	}
}

void fx_test_daemon_wait_two_ticks(FxTestDaemon *d, size_t from)
{
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(fx_test_daemon_wait_log(d, from, "stats:", 10),
		              "no stats line; log %s",
		              fx_test_daemon_log_path(d));
		char *log = fx_test_daemon_log(d);
		from += (size_t)(strstr(log + from, "stats:") - (log + from)) + 1;
		free(log);
	}
}

int fx_test_daemon_wait_ready(FxTestDaemon *d, double timeout)
{
	return fx_test_daemon_wait_log(d, 0, "fxd: ready:", timeout);
}

int fx_test_daemon_signal(FxTestDaemon *d, int sig)
{
	if (!fx_test_daemon_running(d))
		return -1;
	return kill(d->pid, sig);
}

int fx_test_daemon_wait_exit(FxTestDaemon *d, double timeout)
{
	if (!d->exited) {
		if (!reap(d->pid, &d->status, timeout))
			return -1;
		d->exited = 1;
	}
	return decode_status(d->status);
}

void fx_test_daemon_free(FxTestDaemon *d)
{
	if (!d)
		return;
	if (fx_test_daemon_running(d)) {
		kill(d->pid, SIGKILL);
		reap(d->pid, &d->status, 5);
	}
	free(d->log);
	free(d);
}

/* Reads the integer that follows @p key (after spaces, '=' or ':') at the
 * first place in @p line where it starts a word; -1 if none. */
static long long stat_value(const char *line, size_t len, const char *key)
{
	size_t k = strlen(key);
	for (const char *p = line; p + k < line + len; p++) {
		if (strncmp(p, key, k) ||
		    (p > line && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z'))))
			continue;
		const char *q = p + k;
		while (q < line + len && *q >= 'a' && *q <= 'z')
			q++; /* a plural "s" or a longer word of the same stem */
		while (q < line + len && (*q == ' ' || *q == '=' || *q == ':'))
			q++;
		if (q < line + len && *q >= '0' && *q <= '9')
			return strtoll(q, NULL, 10);
	}
	return -1;
}

int fx_test_parse_stats(const char *log, FxTestStats *st)
{
	*st = (FxTestStats){-1, -1, -1, -1, -1, -1, -1};
	/* The last line that reports underflows is the summary at exit. */
	const char *line = NULL;
	size_t line_len = 0;
	for (const char *p = log; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (memmem(p, len, "underflow", 9)) {
			line = p;
			line_len = len;
		}
		p = nl ? nl + 1 : p + len;
	}
	if (!line)
		return 0;
	st->callbacks = stat_value(line, line_len, "callback");
	st->chunks = stat_value(line, line_len, "chunk");
	st->overflows = stat_value(line, line_len, "overflow");
	st->underflows = stat_value(line, line_len, "underflow");
	st->late = stat_value(line, line_len, "late");
	st->xruns = stat_value(line, line_len, "xrun");
	st->nonfinite = stat_value(line, line_len, "nonfinite");
	return 1;
}

/* ---- plain clients ---------------------------------------------------- */

jack_client_t *fx_test_client_open(const char *server, const char *name)
{
	test_process_begins();
	jack_status_t status;
	atomic_fetch_add(&jack_quiet, 1);
	jack_client_t *c = jack_client_open(
		name, JackNoStartServer | JackServerName | JackUseExactName,
		&status, server);
	atomic_fetch_sub(&jack_quiet, 1);
	return c;
}

typedef struct {
	jack_client_t *client;
	atomic_int done;
} Closer;

static void *close_thread(void *arg)
{
	Closer *c = arg;
	jack_client_close(c->client);
	atomic_store(&c->done, 1);
	return NULL;
}

int fx_test_client_close(jack_client_t *client, double timeout)
{
	if (!client)
		return 0;
	Closer *c = calloc(1, sizeof *c);
	pthread_t tid;
	if (!c)
		return -1;
	c->client = client;
	atomic_fetch_add(&jack_quiet, 1);
	if (pthread_create(&tid, NULL, close_thread, c) != 0) {
		atomic_fetch_sub(&jack_quiet, 1);
		free(c);
		return -1;
	}
	double end = fx_test_now() + timeout;
	while (!atomic_load(&c->done) && fx_test_now() < end)
		fx_test_nap(0.005);
	if (!atomic_load(&c->done)) {
		/* Leave it hanging (and the quiet count raised): the closer owns c. */
		pthread_detach(tid);
		fprintf(stderr, "harness: jack_client_close hung (jack2 #395)\n");
		return -1;
	}
	pthread_join(tid, NULL);
	atomic_fetch_sub(&jack_quiet, 1);
	free(c);
	return 0;
}

int fx_test_wait_port(jack_client_t *c, const char *port, double timeout)
{
	double end = fx_test_now() + timeout;
	for (;;) {
		if (jack_port_by_name(c, port))
			return 1;
		if (fx_test_now() >= end)
			return 0;
		fx_test_nap(0.01);
	}
}

int fx_test_wait_connection(jack_client_t *c, const char *a, const char *b,
                            int connected, double timeout)
{
	double end = fx_test_now() + timeout;
	for (;;) {
		jack_port_t *pa = jack_port_by_name(c, a);
		int now = pa && jack_port_connected_to(pa, b);
		if (now == (connected != 0))
			return 1;
		if (fx_test_now() >= end)
			return 0;
		fx_test_nap(0.01);
	}
}

jack_latency_range_t fx_test_port_latency(jack_client_t *c, const char *port,
                                          jack_latency_callback_mode_t mode)
{
	jack_latency_range_t r = {(jack_nframes_t)-1, (jack_nframes_t)-1};
	jack_port_t *p = jack_port_by_name(c, port);
	if (p)
		jack_port_get_latency_range(p, mode, &r);
	return r;
}

int fx_test_connect(jack_client_t *c, const char *src, const char *dst)
{
	int r = jack_connect(c, src, dst);
	return r == 0 || r == EEXIST ? 0 : -1;
}

int fx_test_connect_wait(jack_client_t *c, const char *src, const char *dst,
                         double timeout)
{
	double end = fx_test_now() + timeout;
	atomic_fetch_add(&jack_quiet, 1);
	int ok;
	while (!(ok = fx_test_connect(c, src, dst) == 0) && fx_test_now() < end)
		fx_test_nap(0.01);
	atomic_fetch_sub(&jack_quiet, 1);
	return ok;
}

FxTestServer *fx_test_server_up(const char *dir, int period)
{
	FxTestServer *s = fx_test_server_start(dir, period);
	ck_assert_msg(s != NULL, "jackd did not start; logs in %s", dir);
	return s;
}

FxTestDaemon *fx_test_daemon_start_ready(const char *server, const char *dir,
                                         const char *const *args)
{
	FxTestDaemon *d = fx_test_daemon_start(server, dir, args);
	ck_assert_ptr_nonnull(d);
	ck_assert_msg(fx_test_daemon_wait_ready(d, 15), "fxd not ready; log %s",
	              fx_test_daemon_log_path(d));
	return d;
}

FxTestDaemon *fx_test_fxd_start(const char *server, const char *dir,
                                const char *name, const char *const *extra)
{
	const char *args[40] = {"-n", name};
	int n = 2;
	for (int i = 0; extra && extra[i] && n < 39; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	return fx_test_daemon_start_ready(server, dir, args);
}

jack_client_t *fx_test_io_open(const char *server, const char *fxd_name,
                               int channels, long capacity, FxTestPlayer **play,
                               FxTestRecorder **rec)
{
	char play_name[64], rec_name[64];
	snprintf(play_name, sizeof play_name, "fxdtest-play-%d", (int)getpid());
	snprintf(rec_name, sizeof rec_name, "fxdtest-rec-%d", (int)getpid());
	*play = fx_test_player_new(server, play_name, channels);
	*rec = fx_test_recorder_new(server, rec_name, channels, capacity);
	ck_assert(*play && *rec);
	jack_client_t *ctl = fx_test_player_client(*play);
	ck_assert_int_eq(
		fx_test_wire(ctl, play_name, fxd_name, rec_name, channels), 0);
	return ctl;
}

int fx_test_wire(jack_client_t *c, const char *player, const char *daemon,
                 const char *recorder, int n)
{
	for (int k = 1; k <= n; k++) {
		char a[160], b[160];
		if (player) {
			snprintf(a, sizeof a, "%s:out_%d", player, k);
			snprintf(b, sizeof b, "%s:in_%d", daemon, k);
			if (!fx_test_wait_port(c, b, 5) ||
			    fx_test_connect(c, a, b) ||
			    !fx_test_wait_connection(c, a, b, 1, 5))
				return -1;
		}
		if (recorder) {
			snprintf(a, sizeof a, "%s:out_%d", daemon, k);
			snprintf(b, sizeof b, "%s:in_%d", recorder, k);
			if (!fx_test_wait_port(c, a, 5) ||
			    fx_test_connect(c, a, b) ||
			    !fx_test_wait_connection(c, a, b, 1, 5))
				return -1;
		}
	}
	return 0;
}

/* ---- player -------------------------------------------------------------- */

enum { IDLE, ARMED, RUNNING, STOPPED, DONE, FOLLOWING };

static int register_ports(jack_client_t *c, jack_port_t **ports, int n,
                          const char *stem, unsigned long flags)
{
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "%s_%d", stem, i + 1);
		ports[i] = jack_port_register(c, name, JACK_DEFAULT_AUDIO_TYPE,
		                              flags, 0);
		if (!ports[i])
			return 0;
	}
	return 1;
}

/* Fields the process callback reads are written by the control thread
 * only while the state is IDLE or STOPPED, before a release store of
 * ARMED. */
struct FxTestPlayerImpl {
	jack_client_t *client;
	int channels;
	jack_port_t *ports[MAX_CH];
	float *buf[MAX_CH];       ///< control
	long frames;              ///< control
	jack_nframes_t start;     ///< control
	int loop;                 ///< control
	jack_nframes_t *log_time; ///< JACK thread: per period, frame time
	long *log_pos;            ///< JACK thread: per period, position
	int *log_len;             ///< JACK thread: per period, frames
	int start_now;            ///< control: start at the next cycle
	char *log_fw;             ///< JACK thread: per period, freewheeling
	long pos;                 ///< JACK thread: position in the buffer
	atomic_int state;         ///< control: ARMED; JACK: RUNNING, STOPPED
	atomic_int stop;          ///< control
	atomic_int finished; ///< JACK thread: a single play reached its end
	_Atomic jack_nframes_t first; ///< JACK thread
	atomic_long periods;          ///< JACK thread, release after the log
	atomic_uint plays;            ///< control: plays asked for
	atomic_uint started;          ///< JACK thread: the last play started,
				      ///< stored (release) after `first`
	atomic_int freewheeling;      ///< notification thread
};

/* The server waits for this before it runs a cycle the new way. */
static void note_freewheel(int starting, void *arg)
{
	atomic_store((atomic_int *)arg, starting != 0);
}

/* Realtime: no allocation, locks or output. A single play goes on counting
 * (and logging) periods of silence after its end, until stopped, so
 * recordings of the tail can be placed. */
static int player_process(jack_nframes_t n, void *arg)
{
	FxTestPlayer *p = arg;
	int freewheeling = atomic_load_explicit(&p->freewheeling,
	                                        memory_order_relaxed);
	float *out[MAX_CH];
	for (int c = 0; c < p->channels; c++)
		out[c] = jack_port_get_buffer(p->ports[c], n);
	jack_nframes_t t = jack_last_frame_time(p->client);
	int was = atomic_load_explicit(&p->state, memory_order_acquire);
	int st = was;
	int stop = atomic_load_explicit(&p->stop, memory_order_relaxed);
	if ((st == ARMED || st == RUNNING) && stop)
		st = STOPPED;
	if (st == ARMED && (p->start_now || (int32_t)(t - p->start) >= 0)) {
		st = RUNNING;
		p->pos = 0;
		atomic_store_explicit(&p->first, t, memory_order_relaxed);
		atomic_store_explicit(&p->periods, 0, memory_order_relaxed);
		atomic_store_explicit(
			&p->started,
			atomic_load_explicit(&p->plays, memory_order_relaxed),
			memory_order_release);
	}
	jack_nframes_t i = 0;
	if (st == RUNNING) {
		long k = atomic_load_explicit(&p->periods, memory_order_relaxed);
		if (k < PLAYER_LOG) {
			p->log_time[k] = t;
			p->log_pos[k] = p->pos;
			p->log_len[k] = (int)n;
			p->log_fw[k] = (char)freewheeling;
			atomic_store_explicit(&p->periods, k + 1,
			                      memory_order_release);
		}
		if (p->loop) {
			while (i < n) {
				long take = p->frames - p->pos;
				if (take > (long)(n - i))
					take = (long)(n - i);
				for (int c = 0; c < p->channels; c++)
					memcpy(out[c] + i, p->buf[c] + p->pos,
					       (size_t)take * sizeof(float));
				i += (jack_nframes_t)take;
				p->pos = (p->pos + take) % p->frames;
			}
		} else {
			if (p->pos < p->frames) {
				long take = p->frames - p->pos;
				if (take > (long)n)
					take = (long)n;
				for (int c = 0; c < p->channels; c++)
					memcpy(out[c], p->buf[c] + p->pos,
					       (size_t)take * sizeof(float));
				i = (jack_nframes_t)take;
			}
			p->pos += n;
			if (p->pos >= p->frames)
				atomic_store_explicit(&p->finished, 1,
				                      memory_order_relaxed);
		}
	}
	for (int c = 0; c < p->channels; c++)
		memset(out[c] + i, 0, (size_t)(n - i) * sizeof(float));
	/* Only a change is written back, and only over the state this cycle
	 * began with: the control thread arms a STOPPED or IDLE player
	 * while this runs, and an unconditional store here undid that
	 * (the player never started, the recorder following it recorded
	 * nothing: "freewheeling recorded 0 of N periods" under load). */
	if (st != was)
		atomic_compare_exchange_strong_explicit(&p->state, &was, st,
		                                        memory_order_release,
		                                        memory_order_relaxed);
	return 0;
}

FxTestPlayer *fx_test_player_new(const char *server, const char *name,
                                 int channels)
{
	if (channels < 1 || channels > MAX_CH)
		return NULL;
	FxTestPlayer *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->channels = channels;
	p->log_time = calloc(PLAYER_LOG, sizeof *p->log_time);
	p->log_pos = calloc(PLAYER_LOG, sizeof *p->log_pos);
	p->log_len = calloc(PLAYER_LOG, sizeof *p->log_len);
	p->log_fw = calloc(PLAYER_LOG, sizeof *p->log_fw);
	if (p->log_time && p->log_pos && p->log_len && p->log_fw)
		p->client = fx_test_client_open(server, name);
	if (!p->client ||
	    !register_ports(p->client, p->ports, channels, "out",
	                    JackPortIsOutput) ||
	    jack_set_process_callback(p->client, player_process, p) ||
	    jack_set_freewheel_callback(p->client, note_freewheel,
	                                &p->freewheeling) ||
	    jack_activate(p->client)) {
		fx_test_player_free(p);
		return NULL;
	}
	return p;
}

jack_client_t *fx_test_player_client(FxTestPlayer *p)
{
	return p->client;
}

static int player_arm(FxTestPlayer *p, const float *const *bufs, long frames,
                      jack_nframes_t start, int now, int loop)
{
	int st = atomic_load_explicit(&p->state, memory_order_acquire);
	if ((st != IDLE && st != STOPPED) || frames < 1)
		return -1;
	for (int c = 0; c < p->channels; c++) {
		free(p->buf[c]);
		p->buf[c] = malloc((size_t)frames * sizeof(float));
		if (!p->buf[c])
			return -1;
		memcpy(p->buf[c], bufs[c], (size_t)frames * sizeof(float));
	}
	p->frames = frames;
	p->start = start;
	p->start_now = now;
	p->loop = loop;
	atomic_store(&p->stop, 0);
	atomic_store(&p->finished, 0);
	atomic_fetch_add_explicit(&p->plays, 1, memory_order_relaxed);
	atomic_store_explicit(&p->state, ARMED, memory_order_release);
	return 0;
}

int fx_test_player_play(FxTestPlayer *p, const float *const *bufs, long frames,
                        jack_nframes_t start, int loop)
{
	return player_arm(p, bufs, frames, start, 0, loop);
}

int fx_test_player_play_now(FxTestPlayer *p, const float *const *bufs,
                            long frames, int loop)
{
	return player_arm(p, bufs, frames, 0, 1, loop);
}

void fx_test_player_stop(FxTestPlayer *p)
{
	atomic_store(&p->stop, 1);
}

int fx_test_player_wait_done(FxTestPlayer *p, double timeout)
{
	double end = fx_test_now() + timeout;
	for (;;) {
		int st = atomic_load_explicit(&p->state, memory_order_acquire);
		if (st == STOPPED || st == IDLE || atomic_load(&p->finished))
			return 1;
		if (fx_test_now() >= end)
			return 0;
		fx_test_nap(0.005);
	}
}

jack_nframes_t fx_test_player_first_frame(const FxTestPlayer *p)
{
	return atomic_load((_Atomic jack_nframes_t *)&p->first);
}

long fx_test_player_periods(const FxTestPlayer *p)
{
	return atomic_load_explicit((atomic_long *)&p->periods,
	                            memory_order_acquire);
}

int fx_test_player_period(const FxTestPlayer *p, long i, jack_nframes_t *time,
                          long *pos, int *frames)
{
	if (i < 0 || i >= fx_test_player_periods(p))
		return 0;
	*time = p->log_time[i];
	*pos = p->log_pos[i];
	*frames = p->log_len[i];
	return 1;
}

int fx_test_player_freewheeling(const FxTestPlayer *p, long i)
{
	return i >= 0 && i < fx_test_player_periods(p) && p->log_fw[i];
}

long fx_test_player_find(const FxTestPlayer *p, jack_nframes_t t)
{
	long n = fx_test_player_periods(p);
	if (n < 1)
		return -1;
	jack_nframes_t first = p->log_time[0];
	int32_t d = (int32_t)(t - first);
	if (d < 0)
		return -1;
	long lo = 0, hi = n - 1; /* the last period starting at or before t */
	while (lo < hi) {
		long mid = (lo + hi + 1) / 2;
		if ((int32_t)(p->log_time[mid] - first) <= d)
			lo = mid;
		else
			hi = mid - 1;
	}
	return d - (int32_t)(p->log_time[lo] - first) < p->log_len[lo] ? lo : -1;
}

void fx_test_player_free(FxTestPlayer *p)
{
	if (!p)
		return;
	/* Closing deactivates. If it hangs, the callback may still run:
	 * leave the buffers to it. */
	if (p->client && fx_test_client_close(p->client, 5) != 0)
		return;
	for (int c = 0; c < p->channels; c++)
		free(p->buf[c]);
	free(p->log_time);
	free(p->log_pos);
	free(p->log_len);
	free(p->log_fw);
	free(p);
}

/* ---- recorder ------------------------------------------------------------ */

struct FxTestRecorderImpl {
	jack_client_t *client;
	int channels;
	jack_port_t *ports[MAX_CH];
	float *data[MAX_CH]; ///< written by JACK thread while RUNNING
	long capacity;
	long max_periods;
	jack_nframes_t *ptime;      ///< per period: frame time
	long *poff;                 ///< per period: first frame in data
	int *plen;                  ///< per period: frames
	char *pfw;                  ///< per period: freewheeling
	const FxTestPlayer *follow; ///< control, before FOLLOWING
	unsigned follow_play;       ///< control: the play to start with
	/** control: RUNNING, FOLLOWING; JACK thread: RUNNING, DONE */
	atomic_int state;
	atomic_int stop;             ///< control
	atomic_long frames, periods; ///< JACK thread, release after the data
	atomic_int freewheeling;     ///< notification thread
	_Atomic double pace;         ///< control: see fx_test_recorder_pace
	double rate;                 ///< frames per second
};

/* Realtime: no allocation, locks or output. */
static void record(FxTestRecorder *r, jack_nframes_t n)
{
	int st = atomic_load_explicit(&r->state, memory_order_acquire);
	if (st == FOLLOWING) {
		/* The player ran earlier in this cycle (graph order), or in
		 * an earlier one: its start is visible once it happened. */
		const FxTestPlayer *p = r->follow;
		if (atomic_load_explicit(&p->started, memory_order_acquire) !=
		            r->follow_play ||
		    (int32_t)(jack_last_frame_time(r->client) -
		              atomic_load_explicit(&p->first,
		                                   memory_order_relaxed)) < 0)
			return;
		atomic_store_explicit(&r->state, RUNNING, memory_order_relaxed);
		st = RUNNING;
	}
	if (st != RUNNING)
		return;
	long f = atomic_load_explicit(&r->frames, memory_order_relaxed);
	long k = atomic_load_explicit(&r->periods, memory_order_relaxed);
	if (atomic_load_explicit(&r->stop, memory_order_relaxed) ||
	    f + (long)n > r->capacity || k >= r->max_periods) {
		atomic_store_explicit(&r->state, DONE, memory_order_release);
		return;
	}
	for (int c = 0; c < r->channels; c++)
		memcpy(r->data[c] + f, jack_port_get_buffer(r->ports[c], n),
		       (size_t)n * sizeof(float));
	r->ptime[k] = jack_last_frame_time(r->client);
	r->poff[k] = f;
	r->plen[k] = (int)n;
	r->pfw[k] = (char)atomic_load_explicit(&r->freewheeling,
	                                       memory_order_relaxed);
	atomic_store_explicit(&r->frames, f + (long)n, memory_order_release);
	atomic_store_explicit(&r->periods, k + 1, memory_order_release);
}

/* The recorder's cycle; while freewheeling, where no deadline exists,
 * it may sleep for the pace. */
static int recorder_process(jack_nframes_t n, void *arg)
{
	FxTestRecorder *r = arg;
	record(r, n);
	double pace = atomic_load_explicit(&r->pace, memory_order_relaxed);
	if (pace > 0 &&
	    atomic_load_explicit(&r->freewheeling, memory_order_relaxed))
		fx_test_nap((double)n / (r->rate * pace));
	return 0;
}

FxTestRecorder *fx_test_recorder_new(const char *server, const char *name,
                                     int channels, long capacity)
{
	if (channels < 1 || channels > MAX_CH || capacity < 1)
		return NULL;
	FxTestRecorder *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->channels = channels;
	r->capacity = capacity;
	r->max_periods = capacity / 16 + 16;
	int ok = 1;
	for (int c = 0; c < channels; c++)
		ok &= (r->data[c] = calloc((size_t)capacity, sizeof(float))) !=
		      NULL;
	r->ptime = calloc((size_t)r->max_periods, sizeof *r->ptime);
	r->poff = calloc((size_t)r->max_periods, sizeof *r->poff);
	r->plen = calloc((size_t)r->max_periods, sizeof *r->plen);
	r->pfw = calloc((size_t)r->max_periods, sizeof *r->pfw);
	if (ok && r->ptime && r->poff && r->plen && r->pfw)
		r->client = fx_test_client_open(server, name);
	if (!r->client ||
	    !register_ports(r->client, r->ports, channels, "in", JackPortIsInput) ||
	    jack_set_process_callback(r->client, recorder_process, r) ||
	    jack_set_freewheel_callback(r->client, note_freewheel,
	                                &r->freewheeling) ||
	    jack_activate(r->client)) {
		fx_test_recorder_free(r);
		return NULL;
	}
	r->rate = jack_get_sample_rate(r->client);
	return r;
}

/* Recording or waiting to. */
static int recorder_busy(const FxTestRecorder *r)
{
	int st = atomic_load_explicit((atomic_int *)&r->state,
	                              memory_order_acquire);
	return st == RUNNING || st == FOLLOWING;
}

static void recorder_arm(FxTestRecorder *r, int state)
{
	atomic_store(&r->frames, 0);
	atomic_store(&r->periods, 0);
	atomic_store(&r->stop, 0);
	atomic_store_explicit(&r->state, state, memory_order_release);
}

void fx_test_recorder_start(FxTestRecorder *r)
{
	if (!recorder_busy(r))
		recorder_arm(r, RUNNING);
}

void fx_test_recorder_start_with(FxTestRecorder *r, const FxTestPlayer *p)
{
	if (recorder_busy(r))
		return;
	r->follow = p;
	r->follow_play = atomic_load((atomic_uint *)&p->plays) + 1;
	recorder_arm(r, FOLLOWING);
}

void fx_test_recorder_stop(FxTestRecorder *r)
{
	atomic_store(&r->stop, 1);
}

int fx_test_recorder_wait_frames(FxTestRecorder *r, long frames, double timeout)
{
	double end = fx_test_now() + timeout;
	for (;;) {
		if (atomic_load_explicit(&r->frames, memory_order_acquire) >=
		    frames)
			return 1;
		if (!recorder_busy(r) || fx_test_now() >= end)
			return atomic_load(&r->frames) >= frames;
		fx_test_nap(0.005);
	}
}

int fx_test_recorder_wait_done(FxTestRecorder *r, double timeout)
{
	double end = fx_test_now() + timeout;
	for (;;) {
		if (!recorder_busy(r))
			return 1;
		if (fx_test_now() >= end)
			return 0;
		fx_test_nap(0.005);
	}
}

long fx_test_recorder_frames(const FxTestRecorder *r)
{
	return atomic_load_explicit((atomic_long *)&r->frames,
	                            memory_order_acquire);
}

long fx_test_recorder_periods(const FxTestRecorder *r)
{
	return atomic_load_explicit((atomic_long *)&r->periods,
	                            memory_order_acquire);
}

const float *fx_test_recorder_data(const FxTestRecorder *r, int ch)
{
	return r->data[ch];
}

jack_nframes_t fx_test_recorder_period_time(const FxTestRecorder *r, long i)
{
	return r->ptime[i];
}

long fx_test_recorder_period_offset(const FxTestRecorder *r, long i)
{
	return r->poff[i];
}

int fx_test_recorder_period_frames(const FxTestRecorder *r, long i)
{
	return r->plen[i];
}

void fx_test_recorder_pace(FxTestRecorder *r, double speed)
{
	atomic_store(&r->pace, speed > 0 ? speed : 0);
}

int fx_test_recorder_freewheeling(const FxTestRecorder *r, long i)
{
	return i >= 0 && i < fx_test_recorder_periods(r) && r->pfw[i];
}

static int recorded_silence(const FxTestRecorder *r, long k)
{
	for (int c = 0; c < r->channels; c++)
		for (int i = 0; i < r->plen[k]; i++)
			if (r->data[c][r->poff[k] + i] != 0.0f)
				return 0;
	return 1;
}

long fx_test_recorder_silent_runs(const FxTestRecorder *r, long from)
{
	long runs = 0;
	int sound = 0, in_run = 0;
	for (long k = from > 0 ? from : 0; k < fx_test_recorder_periods(r); k++) {
		if (!recorded_silence(r, k)) {
			sound = 1;
			in_run = 0;
		} else if (sound && !in_run) {
			in_run = 1;
			runs++;
		}
	}
	return runs;
}

int fx_test_recorder_finite(const FxTestRecorder *r)
{
	long n = fx_test_recorder_frames(r);
	for (int c = 0; c < r->channels; c++)
		for (long i = 0; i < n; i++)
			if (!isfinite(r->data[c][i]))
				return 0;
	return 1;
}

void fx_test_recorder_free(FxTestRecorder *r)
{
	if (!r)
		return;
	if (r->client && fx_test_client_close(r->client, 5) != 0)
		return;
	for (int c = 0; c < r->channels; c++)
		free(r->data[c]);
	free(r->ptime);
	free(r->poff);
	free(r->plen);
	free(r->pfw);
	free(r);
}

int fx_test_freewheel(jack_client_t *c, int on)
{
	return jack_set_freewheel(c, on) == 0 ? 0 : -1;
}

long fx_test_player_period_of(const FxTestRecorder *r, const FxTestPlayer *p,
                              long k, int cycles)
{
	if (cycles < 0 || !fx_test_recorder_freewheeling(r, k))
		return FX_TEST_NO_PERIOD;
	long c = fx_test_player_find(p, r->ptime[k]);
	if (c < cycles || p->log_time[c] != r->ptime[k])
		return FX_TEST_NO_PERIOD;
	for (long i = c - cycles; i <= c; i++)
		if (!p->log_fw[i] || p->log_len[i] != r->plen[k] ||
		    (i > c - cycles && p->log_time[i] - p->log_time[i - 1] !=
		                               (jack_nframes_t)p->log_len[i - 1]))
			return FX_TEST_NO_PERIOD;
	return c - cycles;
}

int fx_test_player_sample(const FxTestPlayer *p, long period, int ch, int i,
                          float *v)
{
	*v = 0.0f;
	if (period < 0 || period >= fx_test_player_periods(p) || ch < 0 ||
	    ch >= p->channels || i < 0 || i >= p->log_len[period])
		return 0;
	long at = p->log_pos[period] + i;
	if (p->loop)
		at %= p->frames;
	if (at < p->frames)
		*v = p->buf[ch][at];
	return 1;
}

int fx_test_recorded_vs_player(const FxTestRecorder *r, long k,
                               const FxTestPlayer *p, int cycles)
{
	long src = fx_test_player_period_of(r, p, k, cycles);
	if (src == FX_TEST_NO_PERIOD)
		return -2;
	long off = fx_test_recorder_period_offset(r, k);
	int n = fx_test_recorder_period_frames(r, k);
	int equal = 1, silent = 1, expect_sound = 0;
	int channels = r->channels < p->channels ? r->channels : p->channels;
	for (int ch = 0; ch < channels; ch++) {
		const float *got = r->data[ch] + off;
		for (int i = 0; i < n; i++) {
			float want;
			fx_test_player_sample(p, src, ch, i, &want);
			equal &= got[i] == want;
			silent &= got[i] == 0.0f;
			expect_sound |= want != 0.0f;
		}
	}
	if (equal)
		return 1;
	return silent && expect_sound ? 0 : -1;
}

void fx_test_record(FxTestRecorder *r, double seconds)
{
	fx_test_recorder_start(r);
	ck_assert(fx_test_recorder_wait_frames(r, (long)(seconds * 48000), 20));
	fx_test_recorder_stop(r);
	ck_assert(fx_test_recorder_wait_done(r, 5));
}

double fx_test_period_gain(const FxTestRecorder *r, const FxTestPlayer *p,
                           long k, int cycles)
{
	long src = fx_test_player_period_of(r, p, k, cycles);
	const float *y = fx_test_recorder_data(r, 0) +
	                 fx_test_recorder_period_offset(r, k);
	double num = 0, den = 0;
	for (int i = 0; i < fx_test_recorder_period_frames(r, k); i++) {
		float x;
		if (src == FX_TEST_NO_PERIOD ||
		    !fx_test_player_sample(p, src, 0, i, &x))
			return NAN;
		num += (double)y[i] * x;
		den += (double)x * x;
	}
	return den > 0 ? num / den : NAN;
}

void fx_test_wait_freewheeled(const FxTestPlayer *p, long n)
{
	double end = fx_test_now() + 20;
	for (;;) {
		long last = fx_test_player_periods(p) - 1, run = 0;
		while (run < n && fx_test_player_freewheeling(p, last - run))
			run++;
		if (run >= n)
			return;
		ck_assert_msg(fx_test_now() < end,
		              "the player never freewheeled");
		fx_test_nap(0.005);
	}
}

void fx_test_freewheel_play(FxTestPlayer *p, FxTestRecorder *r,
                            const float *const *bufs, long frames, long periods)
{
	ck_assert_int_eq(fx_test_freewheel(p->client, 1), 0);
	fx_test_recorder_start_with(r, p);
	ck_assert_int_eq(fx_test_player_play_now(p, bufs, frames, 0), 0);
	long want = periods * (long)jack_get_buffer_size(p->client);
	/* What a failure needs to be told apart: a play that never started
	 * (its arm lost), a recorder still following, or a graph that
	 * stopped running (the player's periods stand still). */
	ck_assert_msg(fx_test_recorder_wait_frames(r, want, 60),
	              "freewheeling recorded %ld of %ld periods (player: "
	              "state %d, play %u asked, %u started, %ld periods; "
	              "recorder state %d)",
	              fx_test_recorder_periods(r), periods,
	              atomic_load(&p->state), atomic_load(&p->plays),
	              atomic_load(&p->started), fx_test_player_periods(p),
	              atomic_load(&r->state));
	fx_test_recorder_stop(r);
	ck_assert(fx_test_recorder_wait_done(r, 10));
	fx_test_player_stop(p);
	ck_assert(fx_test_player_wait_done(p, 10));
	ck_assert_int_eq(fx_test_freewheel(p->client, 0), 0);
	ck_assert_int_ge(fx_test_player_periods(p), periods);
	jack_nframes_t t = p->log_time[0];
	for (long k = 0; k < periods; k++) {
		ck_assert_msg(r->pfw[k] && p->log_fw[k],
		              "period %ld did not freewheel", k);
		ck_assert_msg(p->log_time[k] == t && r->ptime[k] == t &&
		                      p->log_len[k] == r->plen[k],
		              "period %ld: the player's frame time %u, the "
		              "recorder's %u, want %u",
		              k, p->log_time[k], r->ptime[k], t);
		t += (jack_nframes_t)p->log_len[k];
	}
}

void fx_test_record_freewheeling(FxTestPlayer *p, FxTestRecorder *r,
                                 double seconds, long warmup)
{
	ck_assert_int_eq(fx_test_freewheel(p->client, 1), 0);
	fx_test_wait_freewheeled(p, warmup);
	fx_test_record(r, seconds);
	ck_assert_int_eq(fx_test_freewheel(p->client, 0), 0);
}

/* ---- MIDI sender and listener --------------------------------------------
 * Kept apart from the audio clients above (its includes too). */
#include <jack/midiport.h>

/* The schedule's fields are written by the control thread only while the
 * state is IDLE or DONE, before a release store of ARMED. */
struct FxTestMidiImpl {
	jack_client_t *client;
	jack_port_t *out, *in;
	FxTestMidiEvent *ev;   ///< control: the schedule, data in @p bytes
	uint8_t *bytes;        ///< control
	int n;                 ///< control: events in the schedule
	long periods;          ///< control: the schedule's periods
	jack_nframes_t *ptime; ///< JACK thread: per schedule period
	char *pfw;             ///< JACK thread: per schedule period
	int *pwritten;         ///< JACK thread: per schedule period
	int next;              ///< JACK thread: the next event to write
	long k;                ///< JACK thread: the schedule's period now
	atomic_int state;      ///< control: ARMED; JACK thread: RUNNING, DONE
	atomic_long ran;       ///< JACK thread: schedule periods run (release)
	atomic_long written, refused; ///< JACK thread
	atomic_int freewheeling;      ///< notification thread

	/* Listening: JACK thread writes, release-stores rx_n after each. */
	long capacity;
	jack_nframes_t *rx_time;
	int *rx_size;
	uint8_t (*rx_bytes)[16];
	atomic_long rx_n;
	atomic_int listen; ///< control: 1 asks to restart; JACK thread: 2
};

/* Realtime: writes the events of the schedule's current period. */
static void midi_write(FxTestMidi *m, jack_nframes_t n)
{
	void *buf = jack_port_get_buffer(m->out, n);
	jack_midi_clear_buffer(buf);
	int st = atomic_load_explicit(&m->state, memory_order_acquire);
	if (st == ARMED) {
		m->next = 0;
		m->k = 0;
		st = RUNNING;
	}
	if (st != RUNNING)
		return;
	long written = 0, refused = 0;
	while (m->next < m->n && m->ev[m->next].period == m->k) {
		const FxTestMidiEvent *e = &m->ev[m->next++];
		/* A full buffer is checked first: JACK would log each
		 * refusal from this thread. */
		if ((jack_nframes_t)e->frame < n &&
		    jack_midi_max_event_size(buf) >= (size_t)e->size &&
		    jack_midi_event_write(buf, (jack_nframes_t)e->frame,
		                          e->data, (size_t)e->size) == 0)
			written++;
		else
			refused++;
	}
	m->pwritten[m->k] = (int)written;
	atomic_fetch_add_explicit(&m->written, written, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->refused, refused, memory_order_relaxed);
	m->ptime[m->k] = jack_last_frame_time(m->client);
	m->pfw[m->k] = (char)atomic_load_explicit(&m->freewheeling,
	                                          memory_order_relaxed);
	m->k++;
	atomic_store_explicit(&m->ran, m->k, memory_order_release);
	if (m->k >= m->periods)
		st = DONE;
	atomic_store_explicit(&m->state, st, memory_order_release);
}

/* Realtime: logs what reached midi_in. */
static void midi_read(FxTestMidi *m, jack_nframes_t n)
{
	void *buf = jack_port_get_buffer(m->in, n);
	int listen = atomic_load_explicit(&m->listen, memory_order_acquire);
	if (listen == 1) {
		atomic_store_explicit(&m->rx_n, 0, memory_order_relaxed);
		atomic_store_explicit(&m->listen, 2, memory_order_release);
	} else if (listen != 2) {
		return;
	}
	jack_nframes_t t = jack_last_frame_time(m->client);
	uint32_t count = jack_midi_get_event_count(buf);
	long k = atomic_load_explicit(&m->rx_n, memory_order_relaxed);
	for (uint32_t i = 0; i < count && k < m->capacity; i++) {
		jack_midi_event_t ev;
		if (jack_midi_event_get(&ev, buf, i) != 0)
			continue;
		m->rx_time[k] = t + ev.time;
		m->rx_size[k] = (int)ev.size;
		memcpy(m->rx_bytes[k], ev.buffer,
		       ev.size < sizeof m->rx_bytes[k] ? ev.size
		                                       : sizeof m->rx_bytes[k]);
		atomic_store_explicit(&m->rx_n, ++k, memory_order_release);
	}
}

static int midi_process(jack_nframes_t n, void *arg)
{
	midi_write(arg, n);
	midi_read(arg, n);
	return 0;
}

FxTestMidi *fx_test_midi_new(const char *server, const char *name, long capacity)
{
	FxTestMidi *m = calloc(1, sizeof *m);
	if (!m || capacity < 1) {
		free(m);
		return NULL;
	}
	m->capacity = capacity;
	m->rx_time = calloc((size_t)capacity, sizeof *m->rx_time);
	m->rx_size = calloc((size_t)capacity, sizeof *m->rx_size);
	m->rx_bytes = calloc((size_t)capacity, sizeof *m->rx_bytes);
	if (m->rx_time && m->rx_size && m->rx_bytes)
		m->client = fx_test_client_open(server, name);
	if (!m->client ||
	    !(m->out = jack_port_register(m->client, "midi_out",
	                                  JACK_DEFAULT_MIDI_TYPE,
	                                  JackPortIsOutput, 0)) ||
	    !(m->in = jack_port_register(m->client, "midi_in",
	                                 JACK_DEFAULT_MIDI_TYPE,
	                                 JackPortIsInput, 0)) ||
	    jack_set_process_callback(m->client, midi_process, m) ||
	    jack_set_freewheel_callback(m->client, note_freewheel,
	                                &m->freewheeling) ||
	    jack_activate(m->client)) {
		fx_test_midi_free(m);
		return NULL;
	}
	return m;
}

int fx_test_midi_send(FxTestMidi *m, const FxTestMidiEvent *ev, int n)
{
	int st = atomic_load_explicit(&m->state, memory_order_acquire);
	if ((st != IDLE && st != DONE) || n < 1)
		return -1;
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		if (ev[i].size < 0 || ev[i].period < 0 ||
		    (i && (ev[i].period < ev[i - 1].period ||
		           (ev[i].period == ev[i - 1].period &&
		            ev[i].frame < ev[i - 1].frame))))
			return -1;
		total += (size_t)ev[i].size;
	}
	free(m->ev);
	free(m->bytes);
	free(m->ptime);
	free(m->pfw);
	free(m->pwritten);
	m->periods = ev[n - 1].period + 1;
	m->ev = malloc((size_t)n * sizeof *m->ev);
	m->bytes = malloc(total ? total : 1);
	m->ptime = calloc((size_t)m->periods, sizeof *m->ptime);
	m->pfw = calloc((size_t)m->periods, sizeof *m->pfw);
	m->pwritten = calloc((size_t)m->periods, sizeof *m->pwritten);
	if (!m->ev || !m->bytes || !m->ptime || !m->pfw || !m->pwritten) {
		m->n = 0;
		return -1;
	}
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		m->ev[i] = ev[i];
		memcpy(m->bytes + at, ev[i].data, (size_t)ev[i].size);
		m->ev[i].data = m->bytes + at;
		at += (size_t)ev[i].size;
	}
	m->n = n;
	atomic_store(&m->ran, 0);
	atomic_store(&m->written, 0);
	atomic_store(&m->refused, 0);
	atomic_store_explicit(&m->state, ARMED, memory_order_release);
	return 0;
}

int fx_test_midi_wait_sent(FxTestMidi *m, double timeout)
{
	double end = fx_test_now() + timeout;
	while (atomic_load_explicit(&m->state, memory_order_acquire) != DONE) {
		if (fx_test_now() >= end)
			return 0;
		fx_test_nap(0.002);
	}
	return 1;
}

int fx_test_midi_period(const FxTestMidi *m, long k, jack_nframes_t *time,
                        int *freewheeling, int *written)
{
	if (k < 0 || k >= atomic_load_explicit((atomic_long *)&m->ran,
	                                       memory_order_acquire))
		return 0;
	*time = m->ptime[k];
	*freewheeling = m->pfw[k];
	if (written)
		*written = m->pwritten[k];
	return 1;
}

long fx_test_midi_written(const FxTestMidi *m)
{
	return atomic_load((atomic_long *)&m->written);
}

long fx_test_midi_refused(const FxTestMidi *m)
{
	return atomic_load((atomic_long *)&m->refused);
}

void fx_test_midi_listen(FxTestMidi *m)
{
	atomic_store_explicit(&m->listen, 1, memory_order_release);
	/* Wait for the JACK thread to take it, so no old event counts. */
	double end = fx_test_now() + 10;
	while (atomic_load(&m->listen) == 1 && fx_test_now() < end)
		fx_test_nap(0.002);
}

long fx_test_midi_received(const FxTestMidi *m)
{
	if (atomic_load((atomic_int *)&m->listen) != 2)
		return 0;
	return atomic_load_explicit((atomic_long *)&m->rx_n,
	                            memory_order_acquire);
}

int fx_test_midi_event(const FxTestMidi *m, long i, jack_nframes_t *time,
                       int *size, uint8_t *bytes, int max)
{
	if (i < 0 || i >= fx_test_midi_received(m))
		return -1;
	*time = m->rx_time[i];
	*size = m->rx_size[i];
	int k = m->rx_size[i] < max ? m->rx_size[i] : max;
	if (k > (int)sizeof m->rx_bytes[i])
		k = (int)sizeof m->rx_bytes[i];
	memcpy(bytes, m->rx_bytes[i], (size_t)k);
	return k;
}

jack_client_t *fx_test_midi_client(FxTestMidi *m)
{
	return m->client;
}

void fx_test_midi_free(FxTestMidi *m)
{
	if (!m)
		return;
	if (m->client && fx_test_client_close(m->client, 5) != 0)
		return;
	free(m->ev);
	free(m->bytes);
	free(m->ptime);
	free(m->pfw);
	free(m->pwritten);
	free(m->rx_time);
	free(m->rx_size);
	free(m->rx_bytes);
	free(m);
}

long long fx_test_stats_value(const char *log, const char *key)
{
	/* The summary at exit is the last line that reports underflows. */
	const char *hit = NULL;
	for (const char *p = log; (p = strstr(p, "underflow")); p++)
		hit = p;
	if (!hit)
		return -1;
	const char *bol = hit;
	while (bol > log && bol[-1] != '\n')
		bol--;
	size_t len = strcspn(bol, "\n");
	return stat_value(bol, len, key);
}

int fx_test_midi_wait_received(const FxTestMidi *m, long n, double timeout)
{
	double end = fx_test_now() + timeout;
	while (fx_test_midi_received(m) < n && fx_test_now() < end)
		fx_test_nap(0.01);
	return fx_test_midi_received(m) >= n;
}

/* Waits until NAME:in_1's playback latency and NAME:out_1's capture
 * latency agree on one figure: JACK propagates latencies after
 * connections. */
static unsigned settled_latency(const FxTestMidiRig *r)
{
	char in1[96], out1[96];
	snprintf(in1, sizeof in1, "%s:in_1", r->name);
	snprintf(out1, sizeof out1, "%s:out_1", r->name);
	double end = fx_test_now() + 5;
	jack_latency_range_t ip, oc;
	for (;;) {
		ip = fx_test_port_latency(r->ctl, in1, JackPlaybackLatency);
		oc = fx_test_port_latency(r->ctl, out1, JackCaptureLatency);
		if ((ip.min == ip.max && oc.min == oc.max && ip.max == oc.max &&
		     oc.max > 0 && oc.max != (jack_nframes_t)-1) ||
		    fx_test_now() > end)
			break;
		fx_test_nap(0.01);
	}
	ck_assert_msg(ip.min == ip.max && oc.min == oc.max && ip.max == oc.max,
	              "%s playback [%u %u], %s capture [%u %u]", in1, ip.min,
	              ip.max, out1, oc.min, oc.max);
	return oc.max;
}

/* Connects @p from to @p to and waits until JACK shows it. */
static void midi_wire(jack_client_t *c, const char *from, const char *to)
{
	ck_assert_int_eq(fx_test_connect(c, from, to), 0);
	ck_assert(fx_test_wait_connection(c, from, to, 1, 5));
}

FxTestMidiRig *fx_test_midi_rig_up(int period, const char *chain,
                                   const char *midi, long capacity)
{
	FxTestMidiRig *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	r->period = period;
	r->dir = fx_test_dir_new("midi");
	ck_assert_ptr_nonnull(r->dir);
	char conf[512], *text;
	snprintf(conf, sizeof conf, "%s/fxd.conf", r->dir);
	ck_assert_int_ge(
		asprintf(&text, "[chain]\n%s\n\n[midi]\n%s\n", chain, midi), 0);
	ck_assert_int_eq(fx_test_write_file(conf, text), 0);
	free(text);
	r->srv = fx_test_server_up(r->dir, period);
	const char *sn = fx_test_server_name(r->srv);
	snprintf(r->name, sizeof r->name, "fxd-midi-%d", (int)getpid());
	const char *extra[] = {"-f",           conf,   "--no-safety",
	                       "--preset-dir", r->dir, NULL};
	r->fxd = fx_test_fxd_start(sn, r->dir, r->name, extra);
	r->osc_port = fx_test_osc_port(r->fxd);
	ck_assert_int_gt(r->osc_port, 0);
	r->ctl = fx_test_io_open(sn, r->name, 1, capacity, &r->pl, &r->rc);

	char snd_name[64], lis_name[64], port[128], mine[128];
	snprintf(snd_name, sizeof snd_name, "fxdtest-msnd-%d", (int)getpid());
	snprintf(lis_name, sizeof lis_name, "fxdtest-mlis-%d", (int)getpid());
	r->snd = fx_test_midi_new(sn, snd_name, 1);
	r->lis = fx_test_midi_new(sn, lis_name, 4096);
	ck_assert(r->snd && r->lis);
	snprintf(port, sizeof port, "%s:midi_in", r->name);
	snprintf(mine, sizeof mine, "%s:midi_out", snd_name);
	ck_assert(fx_test_wait_port(r->ctl, port, 5));
	midi_wire(r->ctl, mine, port);
	snprintf(port, sizeof port, "%s:midi_out", r->name);
	snprintf(mine, sizeof mine, "%s:midi_in", lis_name);
	midi_wire(r->ctl, port, mine);

	r->latency = settled_latency(r);
	ck_assert_msg(r->latency % (unsigned)period == 0,
	              "latency %u is not whole periods of %d", r->latency,
	              period);
	return r;
}

char *fx_test_midi_rig_stop(FxTestMidiRig *r)
{
	ck_assert_msg(fx_test_daemon_running(r->fxd), "fxd died; log %s",
	              fx_test_daemon_log_path(r->fxd));
	ck_assert_int_eq(fx_test_daemon_signal(r->fxd, SIGTERM), 0);
	ck_assert_int_eq(fx_test_daemon_wait_exit(r->fxd, 10), 0);
	return fx_test_daemon_log(r->fxd);
}

void fx_test_midi_rig_free(FxTestMidiRig *r)
{
	fx_test_midi_free(r->snd);
	fx_test_midi_free(r->lis);
	fx_test_player_free(r->pl);
	fx_test_recorder_free(r->rc);
	fx_test_daemon_free(r->fxd);
	fx_test_server_free(r->srv);
	fx_test_dir_remove(r->dir);
	free(r);
}

const char *fx_test_fxctl_bin(void)
{
	static char path[PATH_MAX];
	const char *fxd = fx_test_fxd_bin();
	const char *slash = strrchr(fxd, '/');
	snprintf(path, sizeof path, "%.*s/../clients/fxctl",
	         slash ? (int)(slash - fxd) : 1, slash ? fxd : ".");
	return path;
}

int fx_test_fxctl(int port, char **out, const char *args)
{
	return fx_test_sh(out, 10, "'%s' --port %d %s", fx_test_fxctl_bin(),
	                  port, args);
}

int fx_test_osc_port(FxTestDaemon *d)
{
	char *log = fx_test_daemon_log(d);
	const char *osc = log ? strstr(log, ", osc udp ") : NULL;
	const char *colon = osc ? strchr(osc + 10, ':') : NULL;
	int port = colon ? (int)strtol(colon + 1, NULL, 10) : -1;
	free(log);
	return port;
}

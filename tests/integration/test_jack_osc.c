/* SPDX-License-Identifier: ISC */
/* Black-box: fxd's OSC control plane (doc/osc.md) against the real daemon
 * on a private jackd dummy server, with real clients: our own UDP (and
 * TCP) sockets speaking serialised liblo messages, liblo-tools' oscsend
 * and oscdump, and the harness's player and recorder for the audio. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <lo/lo.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/jack_harness.h"

/* liblo's arguments are only 4-byte aligned: read them by copying. */
static float arg_f(const lo_arg *a)
{
	float v;
	memcpy(&v, a, sizeof v);
	return v;
}

static int32_t arg_i(const lo_arg *a)
{
	int32_t v;
	memcpy(&v, a, sizeof v);
	return v;
}

static double arg_d(const lo_arg *a)
{
	double v;
	memcpy(&v, a, sizeof v);
	return v;
}

static const char *arg_s(const lo_arg *a)
{
	return (const char *)a;
}

enum { RATE = 48000, PERIOD = 256, MAX_UDP = 65536 };

/* ---- sockets and messages ---------------------------------------------- */

/* A UDP socket bound to @p ip, port chosen by the kernel (*@p port). */
static int udp_open(const char *ip, int *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof a) == 0,
	              "bind %s: %s", ip, strerror(errno));
	/* Room for a burst of feedback while nobody reads. */
	int rcvbuf = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	socklen_t len = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &len);
	if (port)
		*port = ntohs(a.sin_port);
	return fd;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A bundle of one element at @p tt (1: immediately). Returns its size. */
static size_t bundle(uint8_t *out, const void *elem, size_t n, lo_timetag tt)
{
	memcpy(out, "#bundle", 8);
	put_be32(out + 8, tt.sec);
	put_be32(out + 12, tt.frac);
	put_be32(out + 16, (uint32_t)n);
	memcpy(out + 20, elem, n);
	return 20 + n;
}

/* Sends raw bytes to 127.0.0.1:@p port. Returns what sendto returned. */
static ssize_t send_raw(int fd, int port, const void *data, size_t len)
{
	struct sockaddr_in to = loopback(port);
	return sendto(fd, data, len, 0, (struct sockaddr *)&to, sizeof to);
}

/* @p m serialised at @p path into a malloc'd buffer (*@p len). */
static void *serialise(lo_message m, const char *path, size_t *len)
{
	*len = lo_message_length(m, path);
	void *buf = lo_message_serialise(m, path, NULL, len);
	ck_assert_ptr_nonnull(buf);
	return buf;
}

/** A serialised packet (malloc'd). */
typedef struct {
	uint8_t *data;
	size_t len;
} Pkt;

/* A message built from liblo varargs (end with LO_ARGS_END), serialised. */
static Pkt build_internal(const char *path, const char *types, ...)
{
	lo_message m = lo_message_new();
	va_list ap;
	va_start(ap, types);
	int rc = lo_message_add_varargs(m, types, ap);
	va_end(ap);
	ck_assert_int_eq(rc, 0);
	Pkt p;
	p.data = serialise(m, path, &p.len);
	lo_message_free(m);
	return p;
}
#define build(path, ...) build_internal(path, __VA_ARGS__, LO_ARGS_END)

/* Sends @p p to 127.0.0.1:@p port and frees it. */
static void send_pkt(int fd, int port, Pkt p)
{
	ssize_t n = send_raw(fd, port, p.data, p.len);
	ck_assert_msg(n == (ssize_t)p.len, "sendto: %s", strerror(errno));
	free(p.data);
}
/* osend(fd, port, "/fx/vol/db", "f", -3.0f) */
#define osend(fd, port, path, ...) send_pkt(fd, port, build(path, __VA_ARGS__))

/** One received message. */
typedef struct {
	char path[512];
	lo_message m;
	const char *types;
	lo_arg **argv;
	int argc;
} Msg;

static void msg_free(Msg *m)
{
	if (m->m)
		lo_message_free(m->m);
	memset(m, 0, sizeof *m);
}

/* Parses one OSC packet (a message) into @p out. Returns 1 on success. */
static int parse(uint8_t *data, size_t len, Msg *out)
{
	memset(out, 0, sizeof *out);
	size_t plen = strnlen((const char *)data, len);
	if (plen == len || plen >= sizeof out->path)
		return 0;
	int result = 0;
	lo_message m = lo_message_deserialise(data, len, &result);
	if (!m)
		return 0;
	memcpy(out->path, data, plen + 1);
	out->m = m;
	out->types = lo_message_get_types(m);
	out->argv = lo_message_get_argv(m);
	out->argc = lo_message_get_argc(m);
	if (!out->types)
		out->types = "";
	return 1;
}

/* Waits up to @p timeout for the next message on @p fd. Returns 1, or 0 on
 * timeout. A packet that is not a valid OSC message fails the test. */
static int next_msg(int fd, Msg *out, double timeout)
{
	static uint8_t buf[MAX_UDP];
	double end = fx_test_now() + timeout;
	for (;;) {
		double left = end - fx_test_now();
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, left > 0 ? (int)(left * 1000) + 1 : 0) <= 0) {
			if (fx_test_now() >= end)
				return 0;
			continue;
		}
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0)
			continue;
		ck_assert_msg(parse(buf, (size_t)n, out),
		              "fxd sent %zd bytes that are not an OSC message",
		              n);
		return 1;
	}
}

/* Waits for a message at @p path with types @p types (NULL: any), skipping
 * others (feedback, meters); a /fxd/fail meanwhile fails the test. */
static void expect(int fd, const char *path, const char *types, Msg *out,
                   double timeout)
{
	double end = fx_test_now() + timeout;
	for (;;) {
		double left = end - fx_test_now();
		ck_assert_msg(left > 0 && next_msg(fd, out, left),
		              "no %s within %.1f s", path, timeout);
		if (!strcmp(out->path, path)) {
			ck_assert_msg(!types || !strcmp(out->types, types),
			              "%s came as ,%s, not ,%s", path,
			              out->types, types);
			return;
		}
		if (!strcmp(out->path, "/fxd/fail") && !strcmp(out->types, "ss"))
			ck_abort_msg("waiting for %s: /fxd/fail %s: %s", path,
			             arg_s(out->argv[0]), arg_s(out->argv[1]));
		msg_free(out);
	}
}

/* Expects /fxd/fail for @p address; returns with the reason in @p out. */
static void expect_fail(int fd, const char *address, Msg *out, double timeout)
{
	expect(fd, "/fxd/fail", NULL, out, timeout);
	ck_assert_str_eq(out->types, "ss");
	ck_assert_msg(!address || !strcmp(arg_s(out->argv[0]), address),
	              "/fxd/fail for '%s' (%s), want one for '%s'",
	              arg_s(out->argv[0]), arg_s(out->argv[1]), address);
}

/* Nothing arrives on @p fd within @p timeout. */
static void expect_silence(int fd, double timeout, const char *what)
{
	Msg m;
	if (next_msg(fd, &m, timeout)) {
		char path[512];
		snprintf(path, sizeof path, "%s", m.path);
		msg_free(&m);
		ck_abort_msg("%s: got %s", what, path);
	}
}

/* /fxd/ping, then everything up to the /fxd/pong: fxd has handled what
 * this socket sent before. Returns how many /fxd/fail came meanwhile
 * (other messages are dropped). */
static int barrier(int fd, int port)
{
	osend(fd, port, "/fxd/ping", "");
	int fails = 0;
	for (;;) {
		Msg m;
		ck_assert_msg(next_msg(fd, &m, 5), "no /fxd/pong");
		int pong = !strcmp(m.path, "/fxd/pong");
		fails += !strcmp(m.path, "/fxd/fail");
		msg_free(&m);
		if (pong)
			return fails;
	}
}

/* Queries a float parameter. */
static double get_float(int fd, int port, const char *path)
{
	osend(fd, port, path, "");
	Msg m;
	expect(fd, path, "f", &m, 5);
	double v = arg_f(m.argv[0]);
	msg_free(&m);
	return v;
}

static int get_int(int fd, int port, const char *path)
{
	osend(fd, port, path, "");
	Msg m;
	expect(fd, path, "i", &m, 5);
	int v = arg_i(m.argv[0]);
	msg_free(&m);
	return v;
}

/* /fxd/sync @p id -> /fxd/synced ,i id. */
static void sync_id(int fd, int port, int id)
{
	osend(fd, port, "/fxd/sync", "i", id);
	for (;;) {
		Msg m;
		expect(fd, "/fxd/synced", "i", &m, 5);
		int got = arg_i(m.argv[0]);
		msg_free(&m);
		if (got == id)
			return;
	}
}

/* /fxd/stats into @p out (,sdsd...). */
static void stats(int fd, int port, Msg *out)
{
	osend(fd, port, "/fxd/stats", "");
	expect(fd, "/fxd/stats", NULL, out, 5);
	ck_assert_int_eq(out->argc % 2, 0);
	for (int i = 0; i < out->argc; i += 2)
		ck_assert_msg(out->types[i] == 's' && out->types[i + 1] == 'd',
		              "/fxd/stats types ,%s", out->types);
}

/* A value from /fxd/stats; the key must be there. */
static double stat_of(const Msg *s, const char *key)
{
	for (int i = 0; i + 1 < s->argc; i += 2)
		if (!strcmp(arg_s(s->argv[i]), key))
			return arg_d(s->argv[i + 1]);
	ck_abort_msg("no '%s' in /fxd/stats", key);
	return NAN;
}

/* One stats query, one value. */
static double stat_now(int fd, int port, const char *key)
{
	Msg s;
	stats(fd, port, &s);
	double v = stat_of(&s, key);
	msg_free(&s);
	return v;
}

/* Memory growth allowed in kB. Under AddressSanitizer freed memory sits in
 * its quarantine (up to 256 MB), so RSS says nothing there: the plain build
 * checks it. */
#ifdef __SANITIZE_ADDRESS__
static const long RSS_SLACK_KB = 1L << 30;
#else
static const long RSS_SLACK_KB = 2048;
#endif

/* VmRSS of @p pid in kB. */
static long vm_rss_kb(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	char *st = fx_test_read_file(path);
	ck_assert_ptr_nonnull(st);
	char *line = strstr(st, "VmRSS:");
	ck_assert_ptr_nonnull(line);
	long kb = strtol(line + 6, NULL, 10);
	free(st);
	return kb;
}

/* ---- the rig: jackd, fxd, optional audio -------------------------------- */

typedef struct {
	char *dir;
	FxTestServer *srv;
	FxTestDaemon *fxd;
	FxTestPlayer *play;
	FxTestRecorder *rec;
	jack_client_t *ctl;
	char name[64], tag[16];
	int runs;  ///< fxd instances started
	int port;  ///< fxd's OSC port
	pid_t pid; ///< fxd's pid
	int sock;  ///< ours, on 127.0.0.1
	int sock_port;
} Rig;

static void rig_start(Rig *r, const char *tag)
{
	memset(r, 0, sizeof *r);
	r->sock = -1;
	snprintf(r->tag, sizeof r->tag, "%s", tag);
	ck_assert_ptr_nonnull(r->dir = fx_test_dir_new(tag));
	r->srv = fx_test_server_up(r->dir, PERIOD);
	r->sock = udp_open("127.0.0.1", &r->sock_port);
}

/* The port (and address) from fxd's ready line:
 * "fxd: ready: ..., osc udp 127.0.0.1:PORT, http ...". */
static int ready_port(FxTestDaemon *d, char *addr, size_t size, char *proto,
                      size_t proto_size)
{
	char *log = fx_test_daemon_log(d);
	int port = -1;
	char *line = strstr(log, "fxd: ready:");
	if (line) {
		char *eol = strchr(line, '\n');
		if (eol)
			*eol = '\0';
		char *osc = strstr(line, ", osc ");
		char *next = osc ? strchr(osc + 6, ',') : NULL; /* ", http" */
		if (next)
			*next = '\0';
		char *sp = osc ? strchr(osc + 6, ' ') : NULL;
		char *colon = sp ? strrchr(sp, ':') : NULL;
		if (colon) {
			snprintf(proto, proto_size, "%.*s",
			         (int)(sp - (osc + 6)), osc + 6);
			snprintf(addr, size, "%.*s", (int)(colon - sp - 1),
			         sp + 1);
			char *end;
			long p = strtol(colon + 1, &end, 10);
			if (end != colon + 1 && p > 0 && p < 65536)
				port = (int)p;
		}
	}
	free(log);
	return port;
}

/* The pid of our child process named fxd whose arguments hold @p name. */
static pid_t find_fxd(const char *name)
{
	DIR *d = opendir("/proc");
	ck_assert_ptr_nonnull(d);
	pid_t found = -1;
	struct dirent *de;
	while (found < 0 && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		char path[64];
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		char *st = fx_test_read_file(path);
		if (!st)
			continue;
		char *open_paren = strchr(st, '('),
		     *close_paren = strrchr(st, ')');
		int ppid = -1;
		int is_fxd = open_paren && close_paren &&
		             close_paren - open_paren == 4 &&
		             !strncmp(open_paren + 1, "fxd", 3) &&
		             sscanf(close_paren + 1, " %*c %d", &ppid) == 1 &&
		             ppid == (int)getpid();
		free(st);
		if (!is_fxd)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		char cmd[4096];
		size_t n = fread(cmd, 1, sizeof cmd - 1, f);
		fclose(f);
		cmd[n] = '\0';
		for (size_t i = 0; i < n; i += strlen(cmd + i) + 1)
			if (!strcmp(cmd + i, name))
				found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

/* Starts fxd with a fresh JACK name and @p extra, waits until it is ready
 * and learns its OSC port and pid. */
static void fxd_start(Rig *r, const char *const *extra)
{
	snprintf(r->name, sizeof r->name, "fxd-%s-%d-%d", r->tag, (int)getpid(),
	         r->runs++);
	r->fxd = fx_test_fxd_start(fx_test_server_name(r->srv), r->dir, r->name,
	                           extra);
	char addr[64], proto[16];
	r->port = ready_port(r->fxd, addr, sizeof addr, proto, sizeof proto);
	ck_assert_msg(r->port > 0, "no OSC port in the ready line; log %s",
	              fx_test_daemon_log_path(r->fxd));
	ck_assert_str_eq(addr, "127.0.0.1");
	r->pid = find_fxd(r->name);
	ck_assert_msg(r->pid > 0, "cannot find fxd's pid");
}

/* A player and a recorder wired through fxd. */
static void rig_audio(Rig *r)
{
	r->ctl = fx_test_io_open(fx_test_server_name(r->srv), r->name, 2,
	                         4 * RATE, &r->play, &r->rec);
}

/* Stops fxd with SIGTERM: it must exit 0. */
static void fxd_stop(Rig *r)
{
	if (!r->fxd)
		return;
	ck_assert_msg(fx_test_daemon_running(r->fxd), "fxd died; log %s",
	              fx_test_daemon_log_path(r->fxd));
	ck_assert_int_eq(fx_test_daemon_signal(r->fxd, SIGTERM), 0);
	int code = fx_test_daemon_wait_exit(r->fxd, 10);
	ck_assert_msg(code == 0, "fxd exit code %d after SIGTERM; log %s", code,
	              fx_test_daemon_log_path(r->fxd));
	fx_test_daemon_free(r->fxd);
	r->fxd = NULL;
}

static void rig_stop(Rig *r)
{
	fxd_stop(r);
	fx_test_player_free(r->play);
	fx_test_recorder_free(r->rec);
	fx_test_server_free(r->srv);
	if (r->sock >= 0)
		close(r->sock);
	char *out = NULL;
	/* Subfolders (presets) first: fx_test_dir_remove takes files only. */
	fx_test_sh(&out, 10, "find '%s' -mindepth 1 -type d -exec rm -rf {} +",
	           r->dir);
	free(out);
	fx_test_dir_remove(r->dir);
}

/* ---- audio checks (as in test_jack_runtime.c) --------------------------- */

static float tone[4800];

/* Loops a steady 1 kHz tone at 0.5 into fxd. */
static void play_tone(Rig *r)
{
	for (int i = 0; i < 4800; i++)
		tone[i] = (float)(0.5 * sin(2 * M_PI * i / 48.0));
	const float *bufs[2] = {tone, tone};
	ck_assert_int_eq(fx_test_player_play(r->play, bufs, 4800,
	                                     jack_frame_time(r->ctl), 1),
	                 0);
	double end = fx_test_now() + 10;
	while (fx_test_player_periods(r->play) < 8 && fx_test_now() < end)
		fx_test_nap(0.005);
	ck_assert_int_ge(fx_test_player_periods(r->play), 8);
}

/* Freewheeling (jack_harness.h), records about @p seconds; every recorded
 * period from frame @p skip on must have the gain @p want (within @p tol)
 * against the input one cycle earlier. */
static void assert_gain(Rig *r, double seconds, double want, double tol,
                        long skip, const char *when)
{
	fx_test_record_freewheeling(r->play, r->rec, seconds, 2);
	long n = fx_test_recorder_periods(r->rec), checked = 0;
	for (long k = 0; k < n; k++) {
		if (fx_test_recorder_period_offset(r->rec, k) < skip)
			continue;
		double g = fx_test_period_gain(r->rec, r->play, k, 1);
		ck_assert_msg(fabs(g - want) <= tol,
		              "%s: period %ld of %ld has gain %.5f, want %.5f",
		              when, k, n, g, want);
		checked++;
	}
	ck_assert_int_gt(checked, 10);
}

/* ---- 1. sockets ---------------------------------------------------------- */

/* The lines of `ss ARGS` that belong to @p pid: each must have the local
 * address 127.0.0.1:@p port (and, with @p listen, be a listener). Returns
 * the count. */
static int sockets_of(pid_t pid, const char *ss_args, int port, int listener)
{
	char *out = NULL;
	int st = fx_test_sh(&out, 10, "ss -H %s", ss_args);
	ck_assert_msg(st == 0, "ss %s: exit %d: %s", ss_args, st, out);
	char want_pid[32], want_local[32];
	snprintf(want_pid, sizeof want_pid, "pid=%d,", (int)pid);
	snprintf(want_local, sizeof want_local, "127.0.0.1:%d", port);
	int n = 0;
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(line, want_pid))
			continue;
		/* State Recv-Q Send-Q Local Peer Process */
		char state[32], local[128];
		ck_assert_msg(sscanf(line, "%31s %*s %*s %127s", state, local) ==
		                      2,
		              "cannot read ss line '%s'", line);
		ck_assert_msg(!strcmp(local, want_local),
		              "fxd (pid %d) holds a socket on %s, not only %s: %s",
		              (int)pid, local, want_local, line);
		ck_assert_msg(!listener || !strcmp(state, "LISTEN"),
		              "not a listener: %s", line);
		n++;
	}
	free(out);
	return n;
}

/* Writes all of @p len bytes or fails. */
static void write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		ck_assert_msg(n > 0, "write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Reads exactly @p len bytes within @p timeout. Returns 1 or 0. */
static int read_exact(int fd, void *data, size_t len, double timeout)
{
	uint8_t *p = data;
	double end = fx_test_now() + timeout;
	while (len) {
		double left = end - fx_test_now();
		struct pollfd pf = {fd, POLLIN, 0};
		if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			return 0;
		ssize_t n = read(fd, p, len);
		if (n <= 0)
			return 0;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

/* Sends one framed packet over TCP. */
static void tcp_send(int fd, Pkt p)
{
	uint8_t hdr[4] = {(uint8_t)(p.len >> 24), (uint8_t)(p.len >> 16),
	                  (uint8_t)(p.len >> 8), (uint8_t)p.len};
	write_all(fd, hdr, 4);
	write_all(fd, p.data, p.len);
	free(p.data);
}

/* Reads one framed message from TCP. */
static void tcp_recv(int fd, Msg *out)
{
	uint8_t hdr[4];
	ck_assert_msg(read_exact(fd, hdr, 4, 5), "no frame over TCP");
	uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	               (uint32_t)hdr[2] << 8 | hdr[3];
	ck_assert_uint_le(len, MAX_UDP);
	uint8_t *buf = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_msg(read_exact(fd, buf, len, 5), "short frame over TCP");
	ck_assert_msg(parse(buf, len, out), "a frame that is not a message");
	free(buf);
}

START_TEST(binds_one_udp_socket_and_with_tcp_one_listener)
{
	Rig r;
	rig_start(&r, "sock");
	/* HTTP has its own socket (test_http.sh); off here. */
	const char *udp_only[] = {"--chain", "vol:gain db=0", "--no-http", NULL};
	fxd_start(&r, udp_only);
	ck_assert_int_eq(sockets_of(r.pid, "-uanp", r.port, 0), 1);
	ck_assert_int_eq(sockets_of(r.pid, "-ltnp", r.port, 1), 0);
	ck_assert_int_eq(sockets_of(r.pid, "-tanp", r.port, 1), 0);
	barrier(r.sock, r.port);
	fxd_stop(&r);

	const char *with_tcp[] = {"--chain", "vol:gain db=0", "--osc-tcp",
	                          "--no-http", NULL};
	fxd_start(&r, with_tcp);
	char want[64];
	snprintf(want, sizeof want, "osc udp+tcp 127.0.0.1:%d", r.port);
	char *log = fx_test_daemon_log(r.fxd);
	ck_assert_msg(strstr(log, want), "no '%s' in the log", want);
	free(log);
	ck_assert_int_eq(sockets_of(r.pid, "-uanp", r.port, 0), 1);
	ck_assert_int_eq(sockets_of(r.pid, "-ltnp", r.port, 1), 1);
	ck_assert_int_eq(sockets_of(r.pid, "-tanp", r.port, 1), 1);

	int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(t, 0);
	struct sockaddr_in a = loopback(r.port);
	ck_assert_msg(connect(t, (struct sockaddr *)&a, sizeof a) == 0,
	              "connect: %s", strerror(errno));
	tcp_send(t, build("/fxd/ping", ""));
	Msg m;
	tcp_recv(t, &m);
	ck_assert_msg(!strcmp(m.path, "/fxd/pong"), "over TCP: %s ,%s %s %s",
	              m.path, m.types, m.argc > 0 ? arg_s(m.argv[0]) : "",
	              m.argc > 1 ? arg_s(m.argv[1]) : "");
	ck_assert_str_eq(m.types, "");
	msg_free(&m);
	/* Over TCP the namespace comes as one part. */
	tcp_send(t, build("/fxd/json", ""));
	tcp_recv(t, &m);
	ck_assert_str_eq(m.path, "/fxd/json");
	ck_assert_str_eq(m.types, "iis");
	ck_assert_int_eq(arg_i(m.argv[0]), 0);
	ck_assert_int_eq(arg_i(m.argv[1]), 1);
	ck_assert_ptr_nonnull(strstr(arg_s(m.argv[2]), "\"/fx/vol/db\""));
	msg_free(&m);
	/* Two frames in one write are two packets. */
	Pkt p1 = build("/fx/vol/db", "f", -2.0f), p2 = build("/fx/vol/db", "");
	uint8_t both[256];
	size_t len = p1.len, len2 = p2.len;
	ck_assert_uint_le(len + len2 + 8, sizeof both);
	put_be32(both, (uint32_t)len);
	memcpy(both + 4, p1.data, len);
	put_be32(both + 4 + len, (uint32_t)len2);
	memcpy(both + 8 + len, p2.data, len2);
	write_all(t, both, len + len2 + 8);
	free(p1.data);
	free(p2.data);
	tcp_recv(t, &m);
	ck_assert_str_eq(m.path, "/fx/vol/db");
	ck_assert_str_eq(m.types, "f");
	ck_assert_double_eq_tol(arg_f(m.argv[0]), -2.0, 1e-6);
	msg_free(&m);
	/* A frame split across writes (and segments) is one packet. */
	int one = 1;
	setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	Pkt ping = build("/fxd/ping", "");
	uint8_t hdr[4];
	put_be32(hdr, (uint32_t)ping.len);
	write_all(t, hdr, 2);
	write_all(t, hdr + 2, 2);
	write_all(t, ping.data, 3);
	write_all(t, ping.data + 3, ping.len - 3);
	free(ping.data);
	tcp_recv(t, &m);
	ck_assert_str_eq(m.path, "/fxd/pong");
	msg_free(&m);
	/* A frame longer than any packet: /fxd/fail, then the server
	 * closes the connection. */
	put_be32(hdr, 1u << 17);
	write_all(t, hdr, 4);
	tcp_recv(t, &m);
	ck_assert_str_eq(m.path, "/fxd/fail");
	msg_free(&m);
	ck_assert_msg(read_exact(t, hdr, 1, 5) == 0, "still connected");
	close(t);
	/* UDP still works. */
	barrier(r.sock, r.port);
	fxd_stop(&r);
	rig_stop(&r);
}
END_TEST

/* ---- 2. a gain set with oscsend reaches the audio ----------------------- */

START_TEST(gain_set_with_oscsend_is_heard_after_sync)
{
	Rig r;
	rig_start(&r, "gain");
	const char *args[] = {"--chain", "vol:gain db=0", NULL};
	fxd_start(&r, args);
	rig_audio(&r);
	play_tone(&r);
	assert_gain(&r, 0.2, 1.0, 2e-3, 0, "before the change");

	char *out = NULL;
	int st = fx_test_sh(&out, 10,
	                    "oscsend 127.0.0.1 %d /fx/vol/db f -6.0206", r.port);
	ck_assert_msg(st == 0, "oscsend: exit %d: %s", st, out);
	free(out);
	sync_id(r.sock, r.port, 1);
	/* The glide (20 ms) starts in the chunk the barrier saw; skip 30 ms
	 * and the period of latency after it. */
	assert_gain(&r, 0.35, 0.5, 2e-3, (long)(0.030 * RATE) + PERIOD,
	            "after /fx/vol/db -6.0206");
	ck_assert_double_eq_tol(get_float(r.sock, r.port, "/fx/vol/db"),
	                        -6.0206, 1e-4);
	rig_stop(&r);
}
END_TEST

/* ---- 3. every message in doc/osc.md gets its reply ---------------------- */

/* A port nobody listens on right now (for oscdump to take). */
static int free_udp_port(void)
{
	int port;
	int fd = udp_open("0.0.0.0", &port);
	close(fd);
	return port;
}

/* Sends /hello to oscdump until its log shows it: it listens. */
static void wait_oscdump(Rig *r, FxTestDaemon *dump, int port)
{
	double end = fx_test_now() + 10;
	for (;;) {
		osend(r->sock, port, "/hello", "");
		if (fx_test_daemon_wait_log(dump, 0, "/hello", 0.1))
			return;
		ck_assert_msg(fx_test_daemon_running(dump) && fx_test_now() < end,
		              "oscdump does not listen on %d; log %s", port,
		              fx_test_daemon_log_path(dump));
	}
}

#define CHAIN                                                            \
	"hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 q=0.7 " \
	"gain=0 | lpf:lowpass cutoff=12000 order=2 | vol:gain db=0"

START_TEST(every_message_gets_its_reply)
{
	Rig r;
	rig_start(&r, "reply");
	char preset_dir[600];
	snprintf(preset_dir, sizeof preset_dir, "%s/presets", r.dir);
	const char *args[] = {"--chain", CHAIN, "--preset-dir", preset_dir, NULL};
	fxd_start(&r, args);
	int s = r.sock, p = r.port;
	Msg m;

	osend(s, p, "/fxd/ping", "");
	expect(s, "/fxd/pong", "", &m, 5);
	msg_free(&m);

	/* Gets, by label, by index (answered on the canonical path), /norm,
	 * bypass and a pattern. */
	ck_assert_double_eq_tol(get_float(s, p, "/fx/vol/db"), 0, 1e-6);
	ck_assert_double_eq_tol(get_float(s, p, "/fx/hpf/cutoff"), 80, 1e-3);
	osend(s, p, "/fx/0/cutoff", "");
	expect(s, "/fx/hpf/cutoff", "f", &m, 5);
	ck_assert_double_eq_tol(arg_f(m.argv[0]), 80, 1e-3);
	msg_free(&m);
	ck_assert_double_eq_tol(get_float(s, p, "/fx/vol/db/norm"),
	                        96.0 / 120.0, 1e-5);
	ck_assert_int_eq(get_int(s, p, "/fx/vol/bypass"), 0);
	osend(s, p, "/fx/{hpf,vol}/bypass", "i", 1);
	ck_assert_int_eq(get_int(s, p, "/fx/vol/bypass"), 1);
	ck_assert_int_eq(get_int(s, p, "/fx/hpf/bypass"), 1);
	ck_assert_int_eq(get_int(s, p, "/fx/eq/bypass"), 0);
	osend(s, p, "/fx/*/bypass", "F");
	ck_assert_int_eq(get_int(s, p, "/fx/vol/bypass"), 0);
	osend(s, p, "/fx/3/bypass", "");
	expect(s, "/fx/vol/bypass", "i", &m, 5); /* the canonical path */
	ck_assert_int_eq(arg_i(m.argv[0]), 0);
	msg_free(&m);
	osend(s, p, "/fx/vol/db/norm", "d", 0.9);
	ck_assert_double_eq_tol(get_float(s, p, "/fx/vol/db"), 12, 1e-4);
	osend(s, p, "/fx/vol/db", "i", 0);
	ck_assert_double_eq_tol(get_float(s, p, "/fx/vol/db"), 0, 1e-6);
	/* Out of range: clamped. */
	osend(s, p, "/fx/vol/db", "h", (int64_t)1000);
	ck_assert_double_eq_tol(get_float(s, p, "/fx/vol/db"), 24, 1e-6);
	osend(s, p, "/fx/vol/db", "f", 0.0f);
	/* A bundle of a set and a get: handled in order. */
	Pkt set = build("/fx/vol/db", "f", -6.0f), get = build("/fx/vol/db", "");
	uint8_t two[128];
	lo_timetag immediately = {0, 1};
	size_t two_len = bundle(two, set.data, set.len, immediately);
	put_be32(two + two_len, (uint32_t)get.len);
	memcpy(two + two_len + 4, get.data, get.len);
	two_len += 4 + get.len;
	free(set.data);
	free(get.data);
	ck_assert_int_eq(send_raw(s, p, two, two_len), (ssize_t)two_len);
	expect(s, "/fx/vol/db", "f", &m, 5);
	ck_assert_double_eq_tol(arg_f(m.argv[0]), -6, 1e-6);
	msg_free(&m);
	osend(s, p, "/fx/vol/db", "f", 0.0f);

	/* list + list/done: the chain has 3 + 3 + 3 + 1 parameters. */
	osend(s, p, "/fxd/list", "");
	int params = 0;
	for (;;) {
		ck_assert(next_msg(s, &m, 5));
		if (!strcmp(m.path, "/fxd/list/done")) {
			ck_assert_str_eq(m.types, "ii");
			ck_assert_int_eq(arg_i(m.argv[0]), params);
			ck_assert_int_eq(arg_i(m.argv[1]), 0); /* no outputs */
			msg_free(&m);
			break;
		}
		ck_assert_str_eq(m.path, "/fxd/param");
		ck_assert_str_eq(m.types, "ssffffss");
		ck_assert(!strncmp(arg_s(m.argv[0]), "/fx/hpf/", 8) ||
		          !strncmp(arg_s(m.argv[0]), "/fx/eq/", 7) ||
		          !strncmp(arg_s(m.argv[0]), "/fx/lpf/", 8) ||
		          !strncmp(arg_s(m.argv[0]), "/fx/vol/", 8));
		params++;
		msg_free(&m);
	}
	ck_assert_int_eq(params, 10);

	/* info */
	osend(s, p, "/fxd/info", "s", "/fx/hpf/cutoff");
	expect(s, "/fxd/param", "ssffffss", &m, 5);
	ck_assert_str_eq(arg_s(m.argv[0]), "/fx/hpf/cutoff");
	ck_assert_str_eq(arg_s(m.argv[1]), "highpass");
	ck_assert_double_eq_tol(arg_f(m.argv[2]), 80, 1e-3);
	ck_assert_double_eq_tol(arg_f(m.argv[3]), 20, 1e-3);
	ck_assert_double_eq_tol(arg_f(m.argv[4]), 20000, 1e-2);
	ck_assert_double_eq_tol(arg_f(m.argv[5]), 80, 1e-3);
	ck_assert_str_eq(arg_s(m.argv[6]), "Hz");
	ck_assert_str_eq(arg_s(m.argv[7]), "log");
	msg_free(&m);
	osend(s, p, "/fxd/info", "s", "/fx/vol/nope");
	expect_fail(s, "/fxd/info", &m, 5);
	msg_free(&m);

	/* json, in parts of at most 1024 bytes */
	osend(s, p, "/fxd/json", "");
	char *json = calloc(1, 1);
	size_t json_len = 0;
	for (int part = 0, parts = 1; part < parts; part++) {
		expect(s, "/fxd/json", "iis", &m, 5);
		ck_assert_int_eq(arg_i(m.argv[0]), part);
		parts = arg_i(m.argv[1]);
		size_t n = strlen(arg_s(m.argv[2]));
		ck_assert_uint_le(n, 1024);
		json = realloc(json, json_len + n + 1);
		memcpy(json + json_len, arg_s(m.argv[2]), n + 1);
		json_len += n;
		msg_free(&m);
	}
	ck_assert_uint_gt(json_len, 1024); /* more than one part */
	ck_assert_int_eq(json[0], '{');
	ck_assert_int_eq(json[json_len - 1], '}');
	ck_assert_ptr_nonnull(strstr(json, "\"chain\":"));
	ck_assert_ptr_nonnull(strstr(json, "\"/fx/hpf/cutoff\""));
	ck_assert_ptr_nonnull(strstr(json, "\"/fx/vol/db\""));
	int depth = 0;
	for (size_t i = 0, in_str = 0; i < json_len; i++) {
		if (in_str) {
			if (json[i] == '\\')
				i++;
			else if (json[i] == '"')
				in_str = 0;
		} else if (json[i] == '"') {
			in_str = 1;
		} else {
			depth += (json[i] == '{' || json[i] == '[') -
			         (json[i] == '}' || json[i] == ']');
			ck_assert_int_ge(depth, 0);
		}
	}
	ck_assert_int_eq(depth, 0);
	free(json);

	/* stats: every documented name */
	static const char *const names[] = {"load",
	                                    "callbacks",
	                                    "chunks",
	                                    "underflows",
	                                    "late",
	                                    "xruns",
	                                    "nonfinite",
	                                    "overflows",
	                                    "osc.received",
	                                    "osc.rejected",
	                                    "osc.dropped",
	                                    "osc.kernel_drops",
	                                    "osc.send_errors",
	                                    "subscribers",
	                                    "rate",
	                                    "period",
	                                    "latency"};
	static const char *const whats[] = {"callback", "worker", "knob"};
	static const char *const fields[] = {"count", "min", "median", "mean",
	                                     "p95",   "p99", "max"};
	Msg st;
	stats(s, p, &st);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		ck_assert(isfinite(stat_of(&st, names[i])));
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 7; j++) {
			char key[64];
			snprintf(key, sizeof key, "%s.%s", whats[i], fields[j]);
			stat_of(&st, key);
		}
	ck_assert_double_eq(stat_of(&st, "rate"), RATE);
	ck_assert_double_eq(stat_of(&st, "period"), PERIOD);
	ck_assert_double_eq(stat_of(&st, "latency"), PERIOD);
	ck_assert_double_eq(stat_of(&st, "subscribers"), 0);
	ck_assert_double_gt(stat_of(&st, "callbacks"), 0);
	ck_assert_double_gt(stat_of(&st, "osc.received"), 10);
	ck_assert_double_eq(stat_of(&st, "osc.rejected"), 1); /* the bad info */
	msg_free(&st);

	/* chain, chain/load done and fail */
	osend(s, p, "/fxd/chain", "");
	expect(s, "/fxd/chain", "s", &m, 5);
	ck_assert_ptr_nonnull(strstr(arg_s(m.argv[0]), "hpf:highpass"));
	ck_assert_ptr_nonnull(strstr(arg_s(m.argv[0]), "vol:gain"));
	msg_free(&m);
	osend(s, p, "/fxd/chain/load", "s",
	      "hpf:highpass cutoff=100 order=2 | eq:peaking cutoff=1000 | "
	      "lpf:lowpass cutoff=12000 order=2 | vol:gain db=0");
	expect(s, "/fxd/done", "s", &m, 5);
	ck_assert_str_eq(arg_s(m.argv[0]), "/fxd/chain/load");
	msg_free(&m);
	osend(s, p, "/fxd/chain", "");
	expect(s, "/fxd/chain", "s", &m, 5);
	ck_assert_ptr_nonnull(strstr(arg_s(m.argv[0]), "cutoff=100"));
	msg_free(&m);
	ck_assert_double_eq_tol(get_float(s, p, "/fx/hpf/cutoff"), 100, 1e-3);
	osend(s, p, "/fxd/chain/load", "s", "nosuch:effect x=1");
	expect_fail(s, "/fxd/chain/load", &m, 5);
	ck_assert_str_ne(arg_s(m.argv[1]), "");
	msg_free(&m);

	/* bpm, mute */
	osend(s, p, "/fxd/bpm", "f", 100.0f);
	ck_assert_double_eq_tol(get_float(s, p, "/fxd/bpm"), 100, 1e-4);
	ck_assert_int_eq(get_int(s, p, "/fxd/mute"), 0);
	osend(s, p, "/fxd/mute", "T");
	ck_assert_int_eq(get_int(s, p, "/fxd/mute"), 1);
	osend(s, p, "/fxd/mute", "i", 0);
	ck_assert_int_eq(get_int(s, p, "/fxd/mute"), 0);

	/* panic, reset_state, reset_metrics, sync */
	static const char *const dones[] = {"/fxd/panic", "/fxd/reset_state",
	                                    "/fxd/reset_metrics"};
	for (int i = 0; i < 3; i++) {
		osend(s, p, dones[i], "");
		expect(s, "/fxd/done", "s", &m, 5);
		ck_assert_str_eq(arg_s(m.argv[0]), dones[i]);
		msg_free(&m);
	}
	ck_assert_int_eq(get_int(s, p, "/fxd/mute"), 0); /* panic unmutes */
	sync_id(s, p, 7);
	sync_id(s, p, -2147483647 - 1);

	/* presets: save two, list sorted, change, load back */
	static const char *const saves[] = {"p1", "a0"};
	for (int i = 0; i < 2; i++) {
		osend(s, p, "/fxd/preset/save", "s", saves[i]);
		expect(s, "/fxd/done", "s", &m, 5);
		ck_assert_str_eq(arg_s(m.argv[0]), "/fxd/preset/save");
		msg_free(&m);
	}
	char file[700];
	snprintf(file, sizeof file, "%s/p1.fxchain", preset_dir);
	char *text = fx_test_read_file(file);
	ck_assert_msg(text && strstr(text, "vol:gain"), "%s: %s", file, text);
	free(text);
	osend(s, p, "/fxd/preset/list", "");
	expect(s, "/fxd/preset/list", "ss", &m, 5);
	ck_assert_str_eq(arg_s(m.argv[0]), "a0");
	ck_assert_str_eq(arg_s(m.argv[1]), "p1");
	msg_free(&m);
	osend(s, p, "/fx/vol/db", "f", -10.0f);
	ck_assert_double_eq_tol(get_float(s, p, "/fx/vol/db"), -10, 1e-6);
	osend(s, p, "/fxd/preset/load", "s", "p1");
	expect(s, "/fxd/done", "s", &m, 5);
	ck_assert_str_eq(arg_s(m.argv[0]), "/fxd/preset/load");
	msg_free(&m);
	ck_assert_double_eq_tol(get_float(s, p, "/fx/vol/db"), 0, 1e-6);
	osend(s, p, "/fxd/preset/load", "s", "nosuch");
	expect_fail(s, "/fxd/preset/load", &m, 5);
	msg_free(&m);

	/* subscribe (the sender) -> subscribed, then the full state */
	osend(s, p, "/fxd/subscribe", "i", 250);
	expect(s, "/fxd/subscribed", "sii", &m, 5);
	ck_assert_str_eq(arg_s(m.argv[0]), "127.0.0.1");
	ck_assert_int_eq(arg_i(m.argv[1]), r.sock_port);
	ck_assert_int_eq(arg_i(m.argv[2]), 250);
	msg_free(&m);
	int seen_chain = 0, seen_db = 0, seen_norm = 0, seen_bypass = 0,
	    seen_mute = 0;
	for (;;) {
		ck_assert_msg(next_msg(s, &m, 5),
		              "no full state after subscribe");
		seen_chain += !strcmp(m.path, "/fxd/chain");
		seen_db += !strcmp(m.path, "/fx/vol/db");
		seen_norm += !strcmp(m.path, "/fx/hpf/cutoff/norm");
		seen_bypass += !strcmp(m.path, "/fx/hpf/bypass");
		seen_mute += !strcmp(m.path, "/fxd/mute");
		int end = !strcmp(m.path, "/fxd/bpm");
		if (end)
			ck_assert_double_eq_tol(arg_f(m.argv[0]), 100, 1e-4);
		msg_free(&m);
		if (end)
			break;
	}
	ck_assert(seen_chain && seen_db && seen_norm && seen_bypass && seen_mute);
	/* As a subscriber this socket also gets /fxd/stats every second: a
	 * barrier drops the stale ones before a query. */
	barrier(s, p);
	ck_assert_double_eq(stat_now(s, p, "subscribers"), 1);

	/* oscdump as a subscriber by host and port: the subscribed line and
	 * the state first, then feedback for a change. */
	int dump_port = free_udp_port();
	char dump_port_s[16];
	snprintf(dump_port_s, sizeof dump_port_s, "%d", dump_port);
	const char *dump_argv[] = {"oscdump", "-L", dump_port_s, NULL};
	FxTestDaemon *dump = fx_test_program_start(NULL, r.dir, dump_argv);
	ck_assert_ptr_nonnull(dump);
	wait_oscdump(&r, dump, dump_port);
	osend(s, p, "/fxd/subscribe", "si", "127.0.0.1", dump_port);
	char line[128];
	snprintf(line, sizeof line, "/fxd/subscribed sii \"127.0.0.1\" %d 100",
	         dump_port);
	ck_assert_msg(fx_test_daemon_wait_log(dump, 0, line, 5),
	              "no '%s' in %s", line, fx_test_daemon_log_path(dump));
	ck_assert(fx_test_daemon_wait_log(dump, 0, "/fx/vol/db f 0.000000", 5));
	ck_assert(fx_test_daemon_wait_log(dump, 0, "/fxd/bpm f 100.000000", 5));
	size_t mark = fx_test_daemon_log_size(dump);
	char *cmd_out = NULL;
	int rc = fx_test_sh(&cmd_out, 10,
	                    "oscsend 127.0.0.1 %d /fx/vol/db f -12", p);
	ck_assert_msg(rc == 0, "oscsend: %s", cmd_out);
	free(cmd_out);
	ck_assert_msg(fx_test_daemon_wait_log(dump, mark,
	                                      "/fx/vol/db f -12.000000", 5),
	              "no feedback in %s", fx_test_daemon_log_path(dump));
	ck_assert(fx_test_daemon_wait_log(dump, mark,
	                                  "/fx/vol/db/norm f 0.700000", 5));
	ck_assert(fx_test_daemon_wait_log(dump, mark, "/fxd/meters ffff", 5));
	ck_assert(fx_test_daemon_wait_log(dump, 0, "/fxd/stats sdsd", 5));
	barrier(s, p);
	ck_assert_double_eq(stat_now(s, p, "subscribers"), 2);

	/* unsubscribe both */
	osend(s, p, "/fxd/unsubscribe", "si", "127.0.0.1", dump_port);
	expect(s, "/fxd/unsubscribed", "si", &m, 5);
	ck_assert_str_eq(arg_s(m.argv[0]), "127.0.0.1");
	ck_assert_int_eq(arg_i(m.argv[1]), dump_port);
	msg_free(&m);
	osend(s, p, "/fxd/unsubscribe", "");
	expect(s, "/fxd/unsubscribed", "si", &m, 5);
	ck_assert_int_eq(arg_i(m.argv[1]), r.sock_port);
	msg_free(&m);
	ck_assert_double_eq(stat_now(s, p, "subscribers"), 0);
	/* Nothing more comes to a former subscriber. */
	barrier(s, p);
	expect_silence(s, 0.4, "after unsubscribing");
	osend(s, p, "/fxd/unsubscribe", "");
	expect_fail(s, "/fxd/unsubscribe", &m, 5);
	msg_free(&m);

	/* At most 16 subscribers: the 17th takes the place of the one renewed
	 * longest ago, which is told. */
	int subs[17], sub_port[17];
	for (int i = 0; i < 17; i++) {
		subs[i] = udp_open("127.0.0.1", &sub_port[i]);
		osend(s, p, "/fxd/subscribe", "sii", "127.0.0.1", sub_port[i],
		      10000);
		expect(subs[i], "/fxd/subscribed", "sii", &m, 5);
		msg_free(&m);
	}
	expect(subs[0], "/fxd/unsubscribed", "si", &m, 5);
	ck_assert_int_eq(arg_i(m.argv[1]), sub_port[0]);
	msg_free(&m);
	ck_assert_double_eq(stat_now(s, p, "subscribers"), 16);
	for (int i = 1; i < 17; i++) {
		osend(s, p, "/fxd/unsubscribe", "si", "127.0.0.1", sub_port[i]);
		expect(s, "/fxd/unsubscribed", "si", &m, 5);
		ck_assert_int_eq(arg_i(m.argv[1]), sub_port[i]);
		msg_free(&m);
	}
	for (int i = 0; i < 17; i++)
		close(subs[i]);
	ck_assert_double_eq(stat_now(s, p, "subscribers"), 0);

	fx_test_daemon_signal(dump, SIGTERM);
	fx_test_daemon_wait_exit(dump, 5);
	fx_test_daemon_free(dump);
	rig_stop(&r);
}
END_TEST

/* ---- 4. bad input ------------------------------------------------------- */

typedef struct {
	int fd, port;
	int bad;   ///< bad packets sent
	int pings; ///< barriers
} BadRun;

/* Sends one bad packet and the barrier: fxd must answer it with exactly
 * one /fxd/fail (at most one when @p may_be_silent). */
static void bad(BadRun *b, const char *what, const void *data, size_t len,
                int may_be_silent)
{
	ssize_t n = send_raw(b->fd, b->port, data, len);
	ck_assert_msg(n == (ssize_t)len, "%s: sendto: %s", what, strerror(errno));
	b->bad++;
	int fails = barrier(b->fd, b->port);
	b->pings++;
	ck_assert_msg(fails == 1 || (may_be_silent && fails == 0),
	              "%s: %d /fxd/fail replies, want 1", what, fails);
}

/* As bad(), and the reply names @p address and a reason. */
static void bad_msg(BadRun *b, const char *what, Pkt p, const char *address)
{
	ssize_t n = send_raw(b->fd, b->port, p.data, p.len);
	ck_assert_msg(n == (ssize_t)p.len, "%s: sendto: %s", what,
	              strerror(errno));
	free(p.data);
	b->bad++;
	Msg m;
	expect_fail(b->fd, address, &m, 5);
	ck_assert_msg(strlen(arg_s(m.argv[1])) > 0, "%s: no reason", what);
	msg_free(&m);
	ck_assert_msg(barrier(b->fd, b->port) == 0, "%s: more than one fail",
	              what);
	b->pings++;
}

START_TEST(bad_input_is_answered_counted_and_survived)
{
	Rig r;
	rig_start(&r, "bad");
	char preset_dir[600];
	snprintf(preset_dir, sizeof preset_dir, "%s/presets", r.dir);
	const char *args[] = {"--chain", "vol:gain db=0", "--preset-dir",
	                      preset_dir, NULL};
	fxd_start(&r, args);
	BadRun b = {r.sock, r.port, 0, 0};
	Msg m;
	Msg before;
	stats(b.fd, b.port, &before);

	bad_msg(&b, "wrong type", build("/fx/vol/db", "s", "x"), "/fx/vol/db");
	bad_msg(&b, "unknown path", build("/no/such/path", "f", 1.0f),
	        "/no/such/path");
	bad_msg(&b, "unknown parameter", build("/fx/vol/dbb", "f", 1.0f),
	        "/fx/vol/dbb");
	bad_msg(&b, "NaN", build("/fx/vol/db", "f", (float)NAN), "/fx/vol/db");
	bad_msg(&b, "Inf", build("/fx/vol/db", "f", (float)INFINITY),
	        "/fx/vol/db");
	bad_msg(&b, "-Inf double", build("/fx/vol/db", "d", -INFINITY),
	        "/fx/vol/db");
	bad_msg(&b, "NaN norm", build("/fx/vol/db/norm", "d", NAN),
	        "/fx/vol/db/norm");
	bad_msg(&b, "two numbers", build("/fx/vol/db", "ff", 1.0f, 2.0f),
	        "/fx/vol/db");

	char *big = malloc(60001);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 60000);
	big[60000] = '\0';
	bad_msg(&b, "60000-byte string", build("/fx/vol/db", "s", big),
	        "/fx/vol/db");
	bad_msg(&b, "60000-byte chain", build("/fxd/chain/load", "s", big),
	        "/fxd/chain/load");
	bad_msg(&b, "60000-byte preset name",
	        build("/fxd/preset/save", "s", big), "/fxd/preset/save");
	big[0] = '/';
	Pkt long_address = build(big, "f", 1.0f);
	bad(&b, "60000-byte address", long_address.data, long_address.len, 0);
	free(long_address.data);
	free(big);

	/* Truncated: the float cut off (still 4-aligned), and unaligned. */
	Pkt whole = build("/fx/vol/db", "f", -40.0f);
	ck_assert_uint_eq(whole.len, 20);
	bad(&b, "truncated argument", whole.data, 16, 0);
	bad(&b, "truncated unaligned", whole.data, 18, 0);
	bad(&b, "truncated type tags", whole.data, 13, 0);
	free(whole.data);

	/* Garbage, then garbage too short to carry an address. */
	uint8_t junk[128];
	uint32_t x = 0x2545f491u;
	for (size_t i = 0; i < sizeof junk; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		junk[i] = (uint8_t)x;
	}
	junk[0] = 0xa7;
	bad(&b, "random garbage", junk, sizeof junk, 0);
	junk[0] = '/';
	bad(&b, "garbage after a slash", junk, sizeof junk, 0);
	bad(&b, "two bytes", "\x01\x02", 2, 1);
	bad(&b, "an empty datagram", "", 0, 1);

	bad_msg(&b, "trailing slash", build("/fx/vol/", "f", 1.0f), "/fx/vol/");
	bad_msg(&b, "just a slash", build("/", ""), "/");

	/* Bundles: a well-formed one whose message is bad, and one whose
	 * element is garbage. */
	lo_timetag now_tt = {0, 1};
	uint8_t pkt[256];
	Pkt inner = build("/fx/vol/db", "s", "x");
	bad(&b, "bundle with a bad message", pkt,
	    bundle(pkt, inner.data, inner.len, now_tt), 0);
	free(inner.data);
	bad(&b, "bundle with garbage", pkt, bundle(pkt, junk + 4, 32, now_tt), 0);
	inner = build("/fx/vol/", "");
	bad(&b, "bundle with a trailing slash", pkt,
	    bundle(pkt, inner.data, inner.len, now_tt), 0);
	free(inner.data);
	uint8_t cut[24];
	memcpy(cut, "#bundle\0\0\0\0\0\0\0\0\1\0\0\1\0", 20);
	bad(&b, "bundle claiming more than it holds", cut, 20, 0);

	/* Preset names that climb out of the preset directory. */
	bad_msg(&b, "preset ../evil", build("/fxd/preset/save", "s", "../evil"),
	        "/fxd/preset/save");
	bad_msg(&b, "preset ../../evil",
	        build("/fxd/preset/save", "s", "../../evil"), "/fxd/preset/save");
	bad_msg(&b, "preset load ../evil",
	        build("/fxd/preset/load", "s", "../evil"), "/fxd/preset/load");
	bad_msg(&b, "preset .hidden", build("/fxd/preset/save", "s", ".hidden"),
	        "/fxd/preset/save");

	Msg after;
	stats(b.fd, b.port, &after);
	double rejected = stat_of(&after, "osc.rejected") -
	                  stat_of(&before, "osc.rejected");
	double received = stat_of(&after, "osc.received") -
	                  stat_of(&before, "osc.received");
	fprintf(stderr,
	        "# bad input: %d bad packets, osc.rejected +%.0f, "
	        "osc.received +%.0f (with %d pings and a stats query)\n",
	        b.bad, rejected, received, b.pings);
	ck_assert_double_eq(rejected, b.bad);
	ck_assert_double_eq(received, b.bad + b.pings + 1);
	ck_assert_double_eq(stat_of(&after, "osc.kernel_drops"), 0);
	msg_free(&before);
	msg_free(&after);

	/* fxd runs on, with nothing applied. */
	ck_assert(fx_test_daemon_running(r.fxd));
	ck_assert_double_eq_tol(get_float(r.sock, r.port, "/fx/vol/db"), 0, 1e-6);
	osend(r.sock, r.port, "/fxd/ping", "");
	expect(r.sock, "/fxd/pong", "", &m, 5);
	msg_free(&m);
	struct stat sb;
	char path[700];
	snprintf(path, sizeof path, "%s/evil.fxchain", r.dir);
	ck_assert_msg(stat(path, &sb) != 0, "%s was created", path);
	ck_assert_msg(stat(preset_dir, &sb) != 0 || rmdir(preset_dir) == 0,
	              "%s is not empty", preset_dir);
	rig_stop(&r);
}
END_TEST

/* A bundle timed in the near future: OSC 1.0 says it is dispatched then.
 * fxd must answer its /fxd/ping then (or refuse it with /fxd/fail), never
 * swallow it. */
START_TEST(future_bundle_is_not_swallowed)
{
	Rig r;
	rig_start(&r, "tt");
	const char *args[] = {"--chain", "vol:gain db=0", NULL};
	fxd_start(&r, args);
	lo_timetag tt;
	lo_timetag_now(&tt);
	tt.frac += 0x20000000u; /* 1/8 s */
	if (tt.frac < 0x20000000u)
		tt.sec++;
	Pkt inner = build("/fxd/ping", "");
	uint8_t pkt[128];
	size_t n = bundle(pkt, inner.data, inner.len, tt);
	free(inner.data);
	ck_assert_int_eq(send_raw(r.sock, r.port, pkt, n), (ssize_t)n);
	Msg m;
	int answered = 0;
	double end = fx_test_now() + 3;
	while (!answered && fx_test_now() < end) {
		if (!next_msg(r.sock, &m, 0.1))
			continue;
		answered = !strcmp(m.path, "/fxd/pong") ||
		           !strcmp(m.path, "/fxd/fail");
		msg_free(&m);
	}

	/* Whatever keeps such bundles must not grow without bound: 2000 of
	 * 8 kB each, timed an hour ahead. */
	char *blob = malloc(8000);
	ck_assert_ptr_nonnull(blob);
	memset(blob, 'b', 7999);
	blob[7999] = '\0';
	inner = build("/fxd/ping", "s", blob);
	free(blob);
	uint8_t *big = malloc(inner.len + 20);
	ck_assert_ptr_nonnull(big);
	tt.sec += 3600;
	n = bundle(big, inner.data, inner.len, tt);
	free(inner.data);
	barrier(r.sock, r.port);
	long rss0 = vm_rss_kb(r.pid);
	for (int i = 0; i < 2000; i++) {
		ck_assert_int_eq(send_raw(r.sock, r.port, big, n), (ssize_t)n);
		if (i % 100 == 99)
			barrier(r.sock, r.port); /* no kernel drops */
	}
	free(big);
	int fails = barrier(r.sock, r.port);
	long rss1 = vm_rss_kb(r.pid);
	fprintf(stderr,
	        "# future bundles: the 1/8 s one %s; 2000 an hour "
	        "ahead: %d /fxd/fail, VmRSS %ld -> %ld kB\n",
	        answered ? "answered" : "never answered", fails, rss0, rss1);
	ck_assert_msg(answered, "a bundle timed 1/8 s ahead got no /fxd/pong "
	                        "and no /fxd/fail within 3 s");
	ck_assert_msg(rss1 - rss0 < RSS_SLACK_KB,
	              "VmRSS grew %ld kB from 2000 bundles "
	              "timed an hour ahead",
	              rss1 - rss0);
	rig_stop(&r);
}
END_TEST

/* ---- 5. allowlist -------------------------------------------------------- */

START_TEST(allowlist_drops_and_counts_others)
{
	Rig r;
	rig_start(&r, "allow");
	const char *args[] = {"--chain", "vol:gain db=0", "--osc-allow",
	                      "127.0.0.2/32", NULL};
	fxd_start(&r, args);
	int in_port;
	int inside = udp_open("127.0.0.2", &in_port);
	int outside = r.sock, p = r.port;

	/* The allowed address is served. */
	Msg m;
	osend(inside, p, "/fxd/ping", "");
	expect(inside, "/fxd/pong", "", &m, 5);
	msg_free(&m);
	double dropped0 = stat_now(inside, p, "osc.dropped");
	double received0 = stat_now(inside, p, "osc.received");
	ck_assert_double_eq(dropped0, 0);

	/* 127.0.0.1 is not: nothing it sends is answered or applied. */
	osend(outside, p, "/fxd/ping", "");
	osend(outside, p, "/fx/vol/db", "f", -20.0f);
	osend(outside, p, "/fxd/stats", "");
	osend(outside, p, "/fxd/subscribe", "");
	osend(outside, p, "/fx/vol/db", "s", "bad");
	ck_assert_int_eq(send_raw(outside, p, "junk", 4), 4);
	const int sent_outside = 6;
	/* Sent before the barrier from the allowed address, so handled (and
	 * dropped) before it is answered. */
	barrier(inside, p);
	expect_silence(outside, 0.3, "a sender outside the allowlist");

	Msg st;
	stats(inside, p, &st);
	fprintf(stderr,
	        "# allowlist: %d packets from 127.0.0.1, osc.dropped "
	        "%.0f, osc.rejected %.0f\n",
	        sent_outside, stat_of(&st, "osc.dropped"),
	        stat_of(&st, "osc.rejected"));
	ck_assert_double_eq(stat_of(&st, "osc.dropped") - dropped0, sent_outside);
	/* Received since the query for received0: the ping and this query. */
	ck_assert_double_eq(stat_of(&st, "osc.received") - received0, 2);
	ck_assert_double_eq(stat_of(&st, "osc.rejected"), 0);
	ck_assert_double_eq(stat_of(&st, "subscribers"), 0);
	msg_free(&st);
	ck_assert_double_eq_tol(get_float(inside, p, "/fx/vol/db"), 0, 1e-6);
	expect_silence(outside, 0.05, "a sender outside the allowlist");
	close(inside);
	rig_stop(&r);
}
END_TEST

/* ---- 6. burst ------------------------------------------------------------ */

/* Burst message i sets /fx/vol/db to a value of its own, exact in a float
 * and inside the parameter's range: the value read back names it. */
static float burst_value(long i)
{
	return -80.0f + (float)i / 1024.0f;
}

static long burst_index(double v)
{
	double i = (v + 80.0) * 1024.0;
	return i == floor(i) ? (long)i : -1;
}

/* A flood fxd cannot keep up with: the kernel drops what arrives at a full
 * receive buffer, and counts it. Every packet sent is accounted for, as
 * received or as a kernel drop. Loopback UDP keeps order, so the last value
 * received is among the last D + 1 sent (D drops counted), and it is the
 * one in force: the last one sent when nothing was dropped. */
START_TEST(burst_of_100000_messages_is_accounted_for)
{
	enum { N = 100000 };
	Rig r;
	rig_start(&r, "burst");
	const char *args[] = {"--chain", "vol:gain db=0", NULL};
	fxd_start(&r, args);
	int s = r.sock, p = r.port;
	/* Settle: a barrier through the worker, then the baseline. */
	sync_id(s, p, 1);
	Msg before;
	stats(s, p, &before);
	long rss0 = vm_rss_kb(r.pid);

	/* One packet, its float (the last 4 bytes, big-endian) rewritten. */
	Pkt msg = build("/fx/vol/db", "f", 0.0f);
	char *sent = calloc(N, 1);
	ck_assert_ptr_nonnull(sent);
	struct sockaddr_in to = loopback(p);
	long ok = 0, failed = 0, last_sent = -1;
	double t0 = fx_test_now();
	for (long i = 0; i < N; i++) {
		float v = burst_value(i);
		uint32_t bits;
		memcpy(&bits, &v, sizeof bits);
		bits = htonl(bits);
		memcpy(msg.data + msg.len - 4, &bits, 4);
		ssize_t n = sendto(s, msg.data, msg.len, 0,
		                   (struct sockaddr *)&to, sizeof to);
		sent[i] = n == (ssize_t)msg.len;
		ok += sent[i];
		failed += !sent[i];
		if (sent[i])
			last_sent = i;
	}
	double t_sent = fx_test_now();
	free(msg.data);

	/* The barrier may itself meet a full queue: ask again until one is
	 * answered. Every sync is one more packet sent. */
	int syncs = 0, synced = 0;
	double end = t_sent + 60;
	while (!synced && fx_test_now() < end) {
		int id = 100 + syncs++;
		osend(s, p, "/fxd/sync", "i", id);
		double wait_until = fx_test_now() + 1.0;
		Msg m;
		while (!synced && fx_test_now() < wait_until &&
		       next_msg(s, &m, wait_until - fx_test_now())) {
			ck_assert_msg(strcmp(m.path, "/fxd/fail") != 0,
			              "/fxd/fail during the burst: %s",
			              m.argc > 1 ? arg_s(m.argv[1]) : "");
			synced = !strcmp(m.path, "/fxd/synced");
			msg_free(&m);
		}
	}
	double t_synced = fx_test_now();
	ck_assert_msg(synced, "no /fxd/synced within 60 s of the burst");
	Msg after;
	stats(s, p, &after);
	long rss1 = vm_rss_kb(r.pid);
	double applied = get_float(s, p, "/fx/vol/db");

	double received = stat_of(&after, "osc.received") -
	                  stat_of(&before, "osc.received");
	double drops = stat_of(&after, "osc.kernel_drops") -
	               stat_of(&before, "osc.kernel_drops");
	double underflows = stat_of(&after, "underflows") -
	                    stat_of(&before, "underflows");
	double xruns = stat_of(&after, "xruns") - stat_of(&before, "xruns");
	double late = stat_of(&after, "late") - stat_of(&before, "late");
	long at = burst_index(applied);
	fprintf(stderr,
	        "# burst: %ld sent in %.3f s (%.0f msg/s), %ld sendto "
	        "failed; fxd received %.0f (incl. %d syncs and 1 stats), "
	        "kernel drops %.0f (%.2f%%), all handled %.3f s after the "
	        "first send (%.0f msg/s); value in force: message #%ld of "
	        "%ld; underflows +%.0f, late +%.0f, JACK xruns +%.0f; VmRSS "
	        "%ld -> %ld kB\n",
	        ok, t_sent - t0, ok / (t_sent - t0), failed, received, syncs,
	        drops, 100.0 * drops / N, t_synced - t0,
	        (received - syncs - 1) / (t_synced - t0), at, last_sent,
	        underflows, late, xruns, rss0, rss1);
	ck_assert_double_eq(stat_of(&after, "osc.rejected"),
	                    stat_of(&before, "osc.rejected"));
	ck_assert_double_eq(received + drops, ok + syncs + 1);
	ck_assert_msg(rss1 - rss0 < RSS_SLACK_KB, "VmRSS grew %ld kB",
	              rss1 - rss0);
	/* The value in force is one sent, among the last drops + 1 sent. */
	ck_assert_msg(at >= 0 && at < N && sent[at],
	              "/fx/vol/db reads %g: no value the burst sent", applied);
	long newer = 0;
	for (long i = at + 1; i < N; i++)
		newer += sent[i];
	ck_assert_msg(newer <= drops,
	              "/fx/vol/db is message #%ld's value, but "
	              "%ld later ones were sent and only %.0f dropped",
	              at, newer, drops);
	if (drops == 0)
		ck_assert_int_eq(at, last_sent);
	ck_assert(fx_test_daemon_running(r.fxd));
	free(sent);
	msg_free(&before);
	msg_free(&after);
	rig_stop(&r);
}
END_TEST

/* ---- 7. state file ------------------------------------------------------- */

/* Entries of @p dir whose names contain ".tmp". */
static int tmp_leftovers(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".tmp") != NULL;
	closedir(d);
	return n;
}

START_TEST(state_file_survives_sigkill)
{
	Rig r;
	rig_start(&r, "state");
	char state[600];
	snprintf(state, sizeof state, "%s/state", r.dir);
	const char *args[] = {"--chain", "vol:gain db=0", "--state-file", state,
	                      NULL};
	fxd_start(&r, args);
	osend(r.sock, r.port, "/fx/vol/db", "f", -3.0f);
	sync_id(r.sock, r.port, 1);
	double t0 = fx_test_now();
	char *text = NULL;
	while (fx_test_now() < t0 + 2) {
		free(text);
		text = fx_test_read_file(state);
		if (text && strstr(text, "db=-3"))
			break;
		fx_test_nap(0.01);
	}
	ck_assert_msg(text && strstr(text, "db=-3"),
	              "no db=-3 in %s within 2 s: %s", state, text);
	fprintf(stderr, "# state file written %.3f s after the sync\n",
	        fx_test_now() - t0);
	ck_assert_msg(!strncmp(text, "fxd-state 1\n", 12), "%s", text);
	free(text);

	ck_assert_int_eq(fx_test_daemon_signal(r.fxd, SIGKILL), 0);
	ck_assert_int_eq(fx_test_daemon_wait_exit(r.fxd, 5), 128 + SIGKILL);
	fx_test_daemon_free(r.fxd);
	r.fxd = NULL;
	ck_assert_int_eq(tmp_leftovers(r.dir), 0);

	fxd_start(&r, args);
	ck_assert_double_eq_tol(get_float(r.sock, r.port, "/fx/vol/db"), -3,
	                        1e-6);
	fxd_stop(&r);
	text = fx_test_read_file(state);
	ck_assert_msg(text && strstr(text, "db=-3"), "after exit: %s", text);
	free(text);
	ck_assert_int_eq(tmp_leftovers(r.dir), 0);
	rig_stop(&r);
}
END_TEST

/* ---- 8. aliases and a static target -------------------------------------- */

START_TEST(alias_and_static_target)
{
	Rig r;
	rig_start(&r, "alias");
	int tport;
	int target = udp_open("127.0.0.1", &tport);
	char target_s[32];
	snprintf(target_s, sizeof target_s, "127.0.0.1:%d", tport);
	const char *args[] = {"--chain",
	                      "vol:gain db=0",
	                      "--alias",
	                      "/1/fader1=/fx/vol/db/norm",
	                      "--osc-target",
	                      target_s,
	                      NULL};
	fxd_start(&r, args);

	/* The full state, unasked, ending with /fxd/bpm. */
	int seen_chain = 0, seen_db = 0, seen_norm = 0, seen_alias = 0,
	    seen_bypass = 0, seen_mute = 0, seen_subscribed = 0;
	Msg m;
	for (;;) {
		ck_assert_msg(next_msg(target, &m, 5),
		              "no state at the --osc-target");
		seen_chain += !strcmp(m.path, "/fxd/chain");
		seen_db += !strcmp(m.path, "/fx/vol/db");
		seen_norm += !strcmp(m.path, "/fx/vol/db/norm");
		seen_bypass += !strcmp(m.path, "/fx/vol/bypass");
		seen_mute += !strcmp(m.path, "/fxd/mute");
		seen_subscribed += !strcmp(m.path, "/fxd/subscribed");
		if (!strcmp(m.path, "/1/fader1")) {
			seen_alias++;
			ck_assert_str_eq(m.types, "f");
			ck_assert_double_eq_tol(arg_f(m.argv[0]), 0.8, 1e-5);
		}
		int end = !strcmp(m.path, "/fxd/bpm");
		msg_free(&m);
		if (end)
			break;
	}
	ck_assert(seen_chain && seen_db && seen_norm && seen_alias &&
	          seen_bypass && seen_mute);
	ck_assert_int_eq(seen_subscribed, 0);

	/* The alias acts on /fx/vol/db/norm: 0.5 is -36 dB on -96..24. */
	osend(r.sock, r.port, "/1/fader1", "f", 0.5f);
	ck_assert_double_eq_tol(get_float(r.sock, r.port, "/fx/vol/db"), -36,
	                        1e-4);
	/* A query through the alias is answered on the canonical path. */
	osend(r.sock, r.port, "/1/fader1", "");
	expect(r.sock, "/fx/vol/db/norm", "f", &m, 5);
	ck_assert_double_eq_tol(arg_f(m.argv[0]), 0.5, 1e-6);
	msg_free(&m);
	/* Feedback at the target, on the alias and the canonical path. */
	int fb_alias = 0, fb_db = 0;
	double end = fx_test_now() + 5;
	while (!(fb_alias && fb_db) && fx_test_now() < end &&
	       next_msg(target, &m, end - fx_test_now())) {
		if (!strcmp(m.path, "/1/fader1") &&
		    fabs(arg_f(m.argv[0]) - 0.5) < 1e-6)
			fb_alias = 1;
		if (!strcmp(m.path, "/fx/vol/db") &&
		    fabs(arg_f(m.argv[0]) + 36) < 1e-4)
			fb_db = 1;
		msg_free(&m);
	}
	ck_assert_msg(fb_alias && fb_db,
	              "feedback at the target: /1/fader1 %d, "
	              "/fx/vol/db %d",
	              fb_alias, fb_db);
	ck_assert_double_eq(stat_now(r.sock, r.port, "subscribers"), 1);
	close(target);
	rig_stop(&r);
}
END_TEST

/* ---- 9. knob-to-ear statistics ------------------------------------------- */

START_TEST(knob_to_ear_stats)
{
	enum { CHANGES = 20 };
	Rig r;
	rig_start(&r, "knob");
	const char *args[] = {"--chain", "vol:gain db=0", NULL};
	fxd_start(&r, args);
	rig_audio(&r);
	play_tone(&r);
	int s = r.sock, p = r.port;
	for (int i = 0; i < CHANGES; i++) {
		osend(s, p, "/fx/vol/db", "f", (float)(-1.0 - i % 7));
		sync_id(s, p, i);
	}
	/* Timings settle once the changed audio has left fxd. */
	double end = fx_test_now() + 3;
	Msg st;
	for (;;) {
		stats(s, p, &st);
		if (stat_of(&st, "knob.count") >= CHANGES || fx_test_now() > end)
			break;
		msg_free(&st);
		fx_test_nap(0.02);
	}
	double count = stat_of(&st, "knob.count"), p99 = stat_of(&st, "knob.p99");
	double min = stat_of(&st, "knob.min"),
	       median = stat_of(&st, "knob.median");
	double p95 = stat_of(&st, "knob.p95"), max = stat_of(&st, "knob.max");
	fprintf(stderr,
	        "# knob-to-ear: count %.0f, min %.3f, median %.3f, "
	        "mean %.3f, p95 %.3f, p99 %.3f, max %.3f ms\n",
	        count, min, median, stat_of(&st, "knob.mean"), p95, p99, max);
	msg_free(&st);
	ck_assert_double_ge(count, CHANGES);
	/* How long a change takes depends on the machine (bench_knob
	 * measures it); here only that the figures are figures, in order. */
	ck_assert(isfinite(max));
	ck_assert_double_gt(min, 0);
	ck_assert(min <= median && median <= p95 && p95 <= p99 && p99 <= max);
	rig_stop(&r);
}
END_TEST

/* ---- 10. tempo follows JACK transport ------------------------------------ */

/* Timebase master: BBT at 140 bpm in 4/4, consistent with the frame. */
static void timebase_140(jack_transport_state_t state, jack_nframes_t nframes,
                         jack_position_t *pos, int new_pos, void *arg)
{
	(void)state;
	(void)nframes;
	(void)new_pos; /* every cycle is filled in full, new_pos or not */
	(void)arg;
	pos->valid = JackPositionBBT;
	pos->beats_per_minute = 140;
	pos->beats_per_bar = 4;
	pos->beat_type = 4;
	pos->ticks_per_beat = 1920;
	double rate = pos->frame_rate ? pos->frame_rate : RATE;
	long long ticks = (long long)(pos->frame / rate / 60 *
	                              pos->beats_per_minute *
	                              pos->ticks_per_beat);
	long long beats = ticks / 1920;
	pos->bar = (int32_t)(beats / 4 + 1);
	pos->beat = (int32_t)(beats % 4 + 1);
	pos->tick = (int32_t)(ticks % 1920);
	pos->bar_start_tick = (double)(pos->bar - 1) * 4 * 1920;
}

START_TEST(bpm_follows_jack_transport)
{
	Rig r;
	rig_start(&r, "bpm");
	const char *args[] = {"--chain", "vol:gain db=0", NULL};
	fxd_start(&r, args);
	/* r.sock subscribes and only listens: a /fxd/bpm on it is the state
	 * dump or feedback, never a reply. Queries go from q. */
	int q_port;
	int q = udp_open("127.0.0.1", &q_port);
	(void)q_port;
	int p = r.port;
	Msg m;
	osend(r.sock, p, "/fxd/subscribe", "");
	expect(r.sock, "/fxd/subscribed", "sii", &m, 5);
	msg_free(&m);
	ck_assert_double_eq_tol(get_float(q, p, "/fxd/bpm"), 120, 1e-4);

	char name[64];
	snprintf(name, sizeof name, "fxdtest-tb-%d", (int)getpid());
	jack_client_t *c = fx_test_client_open(fx_test_server_name(r.srv), name);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(jack_set_timebase_callback(c, 0, timebase_140, NULL), 0);
	ck_assert_int_eq(jack_activate(c), 0);
	jack_transport_start(c);

	double t0 = fx_test_now(), bpm = 0;
	while (fx_test_now() < t0 + 3) {
		bpm = get_float(q, p, "/fxd/bpm");
		if (fabs(bpm - 140) < 1e-4)
			break;
		fx_test_nap(0.02);
	}
	double followed = fx_test_now() - t0;
	jack_position_t pos;
	jack_transport_state_t ts = jack_transport_query(c, &pos);
	fprintf(stderr,
	        "# transport: fxd's bpm %.2f %.3f s after "
	        "jack_transport_start (transport %d, valid 0x%x, bpm %.1f, "
	        "%d|%d|%d)\n",
	        bpm, followed, (int)ts, (unsigned)pos.valid,
	        pos.beats_per_minute, pos.bar, pos.beat, pos.tick);
	ck_assert_msg(fabs(bpm - 140) < 1e-4,
	              "/fxd/bpm is %.3f, not 140, 3 s "
	              "after the transport rolled at 140 bpm (state %d, valid "
	              "0x%x, bpm %.1f)",
	              bpm, (int)ts, (unsigned)pos.valid, pos.beats_per_minute);

	/* Stopped: fxd's own tempo holds. Wait until the server has stopped
	 * and one of fxd's 100 ms polls has passed before setting it. */
	jack_transport_stop(c);
	double end = fx_test_now() + 2;
	while (jack_transport_query(c, NULL) != JackTransportStopped &&
	       fx_test_now() < end)
		fx_test_nap(0.01);
	ck_assert_int_eq(jack_transport_query(c, NULL), JackTransportStopped);
	fx_test_nap(0.25);
	osend(q, p, "/fxd/bpm", "f", 100.0f);
	ck_assert_double_eq_tol(get_float(q, p, "/fxd/bpm"), 100, 1e-4);
	fx_test_nap(0.35); /* three polls */
	ck_assert_double_eq_tol(get_float(q, p, "/fxd/bpm"), 100, 1e-4);
	ck_assert_int_eq(fx_test_client_close(c, 5), 0);

	/* The subscriber heard 140, then 100 (feedback). */
	int fb_140 = 0, fb_100 = 0;
	end = fx_test_now() + 2;
	while (!fb_100 && fx_test_now() < end &&
	       next_msg(r.sock, &m, end - fx_test_now())) {
		if (!strcmp(m.path, "/fxd/bpm")) {
			ck_assert_str_eq(m.types, "f");
			fb_140 |= fabs(arg_f(m.argv[0]) - 140) < 1e-4;
			fb_100 |= fb_140 && fabs(arg_f(m.argv[0]) - 100) < 1e-4;
		}
		msg_free(&m);
	}
	ck_assert_msg(fb_140, "the subscriber got no /fxd/bpm ,f 140");
	ck_assert_msg(fb_100, "the subscriber got no /fxd/bpm ,f 100 after 140");
	close(q);
	rig_stop(&r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"sockets", 40, .tests = {
			{binds_one_udp_socket_and_with_tcp_one_listener, 0},
		}},
		{"gain", 40, .tests = {
			{gain_set_with_oscsend_is_heard_after_sync, 0},
		}},
		{"replies", 40, .tests = {
			{every_message_gets_its_reply, 0},
		}},
		{"bad input", 40, .tests = {
			{bad_input_is_answered_counted_and_survived, 0},
		}},
		{"future bundle", 40, .tests = {
			{future_bundle_is_not_swallowed, 0},
		}},
		{"allowlist", 40, .tests = {
			{allowlist_drops_and_counts_others, 0},
		}},
		{"burst", 120, .tests = {
			{burst_of_100000_messages_is_accounted_for, 0},
		}},
		{"state file", 40, .tests = {
			{state_file_survives_sigkill, 0},
		}},
		{"alias", 40, .tests = {
			{alias_and_static_target, 0},
		}},
		{"knob", 40, .tests = {
			{knob_to_ear_stats, 0},
		}},
		{"bpm", 40, .tests = {
			{bpm_follows_jack_transport, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_jack_main(fx_test_suite("jack osc", cases));
}

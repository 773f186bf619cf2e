/* SPDX-License-Identifier: ISC */
/* fxctl: the command-line OSC client of fxd (doc/osc.md, doc/fxctl.1).
 *
 * fxctl owns one UDP socket, connected to fxd's address and port: the
 * kernel then drops datagrams from anyone else, and a port nobody listens
 * on is refused at once (ICMP) instead of after the whole timeout.
 * Messages are built and read with liblo's low-level calls, so no name is
 * ever resolved.
 * fxd answers in the order it receives, so a /fxd/ping sent after a request
 * closes its replies: once the pong is in, every reply before it is too. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <lo/lo.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dsp/effect.h"
#include "daemon/base/instance_port.h"
#include "clients/fxctl_find.h"

#ifdef PACKAGE_VERSION
#define FXCTL_VERSION "fxctl " PACKAGE_VERSION
#else
#define FXCTL_VERSION "fxctl"
#endif

enum {
	RC_OK = 0,
	RC_REFUSED = 1, ///< fxd answered /fxd/fail
	RC_USAGE = 2,
	RC_NO_ANSWER = 3, ///< no answer, or no complete one, in time
	RC_LOCAL = 4,     ///< socket or memory trouble here
};

enum { MAX_PAIRS = 256, MAX_METERS = 2 * 64 };

static const double SYNC_GRACE = 2.0; ///< fxd fails a /fxd/sync after 2 s

typedef struct {
	int fd;
	struct sockaddr_in to;
	char where[32];          ///< "127.0.0.1:8000", for messages
	double timeout;          ///< seconds, from --timeout
	double deadline;         ///< CLOCK_MONOTONIC; receive() gives up here
	double window;           ///< how long the current wait was given
	int pings, pongs;        ///< a pong closes every reply sent before it
	int heard;               ///< any datagram from fxd yet
	int unreadable;          ///< datagrams from fxd that are no OSC message
	const char *fail_ok;     ///< a /fxd/fail for this address is a reply
	const sigset_t *unblock; ///< signal mask while waiting (--watch)
	sigset_t unblock_mask;   ///< what unblock points at, while set
	unsigned char buf[65536];
} Link;

typedef struct {
	char *path;
	const char *types;
	lo_arg **argv;
	int argc;
	lo_message msg;
} Msg;

static struct {
	int json, watch, interval_ms;
} opt;

static volatile sig_atomic_t stop;
static volatile sig_atomic_t resized; ///< SIGWINCH: redraw at the new size
static Link *subscribed;              ///< unsubscribed at exit
static int cursor_hidden;

/* ---- errors ------------------------------------------------------------- */

static void die(int rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void die(int rc, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("fxctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(rc);
}

static void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	die(RC_USAGE, "%s (see fxctl --help)", why);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- text --------------------------------------------------------------- */

/* The shortest text that reads back as @p v; with @p single, as the float
 * (float)v: 0.3f is "0.3", not 0.30000001192092896. */
static const char *fmt_num(char *buf, size_t size, double v, int single)
{
	if (single && isfinite(v)) {
		float f = (float)v;
		for (int digits = 1; digits <= 9; digits++) {
			snprintf(buf, size, "%.*g", digits, v);
			if (strtof(buf, NULL) == f) {
				v = strtod(buf, NULL);
				break;
			}
		}
	}
	return fx_format_number(v, buf, size);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v, int single)
{
	char b[40];
	fputs(isfinite(v) ? fmt_num(b, sizeof b, v, single) : "null", f);
}

static int parse_bool(const char *v, int *out)
{
	static const char *const words[][2] = {
		{"off", "on"}, {"false", "true"}, {"no", "yes"}};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		for (int b = 0; b < 2; b++)
			if (!strcasecmp(v, words[i][b])) {
				*out = b;
				return 1;
			}
	return 0;
}

static int parse_num(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno == ERANGE || !isfinite(v))
		return 0;
	*out = v;
	return 1;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno == ERANGE || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

/* "lpf/cutoff" and "fx/lpf/cutoff" mean /fx/lpf/cutoff; an address that
 * starts with '/' (/fxd/..., an alias) is sent as it is. */
static char *osc_path(const char *p)
{
	size_t len = strlen(p);
	if (!len)
		usage_error("empty path");
	if (p[len - 1] == '/')
		usage_error("'%s': a path must not end in '/'", p);
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == '#' || *c == ',' ||
		    *c == 0x7f)
			usage_error("'%s' is not an OSC address", p);
	const char *prefix = p[0] == '/' ? ""
	                     : !strncmp(p, "fx/", 3) || !strncmp(p, "fxd/", 4)
	                             ? "/"
	                             : "/fx/";
	char *s = malloc(strlen(prefix) + len + 1);
	if (!s)
		die(RC_LOCAL, "out of memory");
	strcpy(s, prefix);
	strcat(s, p);
	return s;
}

static int is_pattern(const char *path)
{
	return strpbrk(path, "*?[]{}") != NULL;
}

/* ---- messages ----------------------------------------------------------- */

static int is(const Msg *m, const char *path)
{
	return !strcmp(m->path, path);
}

static int arg_num(const Msg *m, int i, double *v)
{
	if (i >= m->argc)
		return 0;
	lo_type t = (lo_type)m->types[i];
	if (t == LO_TRUE || t == LO_FALSE) {
		*v = t == LO_TRUE;
		return 1;
	}
	if (!lo_is_numerical_type(t))
		return 0;
	/* argv points into the packet, 4-byte aligned: a double there cannot
	 * be read through lo_arg in place. */
	lo_arg a;
	size_t size = lo_arg_size(t, m->argv[i]);
	if (size > sizeof a)
		return 0;
	memcpy(&a, m->argv[i], size);
	*v = (double)lo_hires_val(t, &a);
	return 1;
}

static const char *arg_str(const Msg *m, int i)
{
	if (i >= m->argc ||
	    (m->types[i] != LO_STRING && m->types[i] != LO_SYMBOL))
		return NULL;
	return (const char *)m->argv[i];
}

/* One argument as text, or as a JSON value. */
static void put_arg(FILE *f, const Msg *m, int i, int json)
{
	char b[40];
	double v;
	const char *s = arg_str(m, i);
	if (s) {
		if (json)
			json_str(f, s);
		else
			fputs(s, f);
	} else if (m->types[i] == LO_TRUE || m->types[i] == LO_FALSE) {
		fputs(m->types[i] == LO_TRUE ? "true" : "false", f);
	} else if (arg_num(m, i, &v)) {
		if (json)
			json_num(f, v, m->types[i] == LO_FLOAT);
		else
			fputs(fmt_num(b, sizeof b, v, m->types[i] == LO_FLOAT),
			      f);
	} else {
		fputs(json ? "null" : "?", f);
	}
}

static void msg_free(Msg *m)
{
	lo_message_free(m->msg);
	free(m->path);
}

static lo_message new_msg(void)
{
	lo_message m = lo_message_new();
	if (!m)
		die(RC_LOCAL, "out of memory");
	return m;
}

static lo_message msg_s(const char *s)
{
	lo_message m = new_msg();
	if (lo_message_add_string(m, s))
		die(RC_LOCAL, "out of memory");
	return m;
}

static lo_message msg_i(int32_t i)
{
	lo_message m = new_msg();
	if (lo_message_add_int32(m, i))
		die(RC_LOCAL, "out of memory");
	return m;
}

static lo_message msg_d(double d)
{
	lo_message m = new_msg();
	if (lo_message_add_double(m, d))
		die(RC_LOCAL, "out of memory");
	return m;
}

/* ---- transport ---------------------------------------------------------- */

static void link_open(Link *l, struct in_addr host, int port, double timeout)
{
	l->to.sin_family = AF_INET;
	l->to.sin_addr = host;
	l->to.sin_port = htons((uint16_t)port);
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &host, ip, sizeof ip);
	snprintf(l->where, sizeof l->where, "%s:%d", ip, port);
	l->timeout = timeout;
	l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		die(RC_LOCAL, "cannot open a UDP socket: %s", strerror(errno));
	if (connect(l->fd, (struct sockaddr *)&l->to, sizeof l->to))
		die(RC_LOCAL, "cannot address %s: %s", l->where, strerror(errno));
	/* /fxd/list answers in a burst; a bigger queue loses less of it. */
	int rcvbuf = 1 << 20;
	setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
}

/* Sends @p path with the arguments of @p args (none when NULL) and frees
 * them. Returns 0, or -1 with errno set. */
static int send_quiet(Link *l, const char *path, lo_message args)
{
	lo_message m = args ? args : lo_message_new();
	if (!m)
		return -1;
	size_t size;
	void *data = lo_message_serialise(m, path, NULL, &size);
	lo_message_free(m);
	if (!data) {
		errno = EINVAL;
		return -1;
	}
	ssize_t n = send(l->fd, data, size, 0);
	int err = errno;
	free(data);
	errno = err;
	if (n < 0)
		return -1;
	if (!strcmp(path, "/fxd/ping"))
		l->pings++;
	return 0;
}

static void nobody_listens(const Link *l) __attribute__((noreturn));

/* The kernel heard "port unreachable" for what fxctl sent. */
static void nobody_listens(const Link *l)
{
	die(RC_NO_ANSWER,
	    "nothing listens on %s (is fxd running with OSC on "
	    "that port?)",
	    l->where);
}

static void send_msg(Link *l, const char *path, lo_message args)
{
	if (send_quiet(l, path, args) == 0)
		return;
	if (errno == ECONNREFUSED)
		nobody_listens(l);
	die(RC_LOCAL, "cannot send %s to %s: %s", path, l->where,
	    strerror(errno));
}

static void set_window(Link *l, double seconds)
{
	l->window = seconds;
	l->deadline = now() + seconds;
}

static int decode(Link *l, size_t size, Msg *m)
{
	l->heard = 1;
	const char *path = lo_get_path(l->buf, (ssize_t)size);
	int res = 0;
	lo_message msg = path ? lo_message_deserialise(l->buf, size, &res) : NULL;
	if (!msg) {
		l->unreadable++; /* a bundle, or garbage */
		return 0;
	}
	*m = (Msg){.path = strdup(path),
	           .msg = msg,
	           .types = lo_message_get_types(msg),
	           .argv = lo_message_get_argv(msg),
	           .argc = lo_message_get_argc(msg)};
	if (!m->path)
		die(RC_LOCAL, "out of memory");
	if (!m->types)
		m->types = "";
	if ((int)strlen(m->types) < m->argc)
		m->argc = (int)strlen(m->types);
	return 1;
}

/* Waits until l->deadline for the next message from fxd. Returns 1 with
 * *m filled (msg_free it), 0 at the deadline, -1 when a signal came (stop
 * or resized set), -2 when the kernel says nothing listens there. */
static int receive(Link *l, Msg *m)
{
	for (;;) {
		if (stop || resized)
			return -1;
		double left = l->deadline - now();
		if (left <= 0)
			return 0;
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(l->fd, &rd);
		struct timespec ts = {(time_t)left,
		                      (long)((left - floor(left)) * 1e9)};
		/* Signals are blocked outside the wait, so none slips in
		 * between the check of stop and the wait. */
		int n = pselect(l->fd + 1, &rd, NULL, NULL, &ts, l->unblock);
		if (n < 0 && errno != EINTR)
			die(RC_LOCAL, "cannot wait for replies: %s",
			    strerror(errno));
		if (n <= 0)
			continue;
		ssize_t got = recv(l->fd, l->buf, sizeof l->buf, 0);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNREFUSED)
				return -2;
			die(RC_LOCAL, "cannot receive: %s", strerror(errno));
		}
		if (decode(l, (size_t)got, m))
			return 1;
	}
}

static void no_answer(const Link *l, const char *what)
{
	char extra[160] = "";
	if (l->unreadable)
		snprintf(extra, sizeof extra,
		         "; ignored %d datagram%s that are "
		         "no OSC message",
		         l->unreadable, l->unreadable == 1 ? "" : "s");
	if (!l->heard)
		die(RC_NO_ANSWER,
		    "no answer from fxd at %s within %g s (is fxd "
		    "running with OSC on that port?)%s",
		    l->where, l->window, extra);
	die(RC_NO_ANSWER, "fxd at %s sent no %s within %g s%s", l->where, what,
	    l->window, extra);
}

static void refused(const Msg *m)
{
	const char *addr = arg_str(m, 0), *why = arg_str(m, 1);
	die(RC_REFUSED, "%s: %s", addr ? addr : "fxd",
	    why ? why : "refused (no reason given)");
}

/* fxd forwards every client's failures to its subscribers as ,sssii
 * (address, reason, sender, count, skipped); fxctl's own come as ,ss. */
static int forwarded(const Msg *m)
{
	return is(m, "/fxd/fail") && arg_str(m, 2) != NULL;
}

/* A forwarded failure in one line: "fxd refused SENDER: ADDRESS: REASON",
 * with how often and what was held back; controls, which another client
 * chose, as '?'. */
static void forwarded_text(const Msg *m, char *buf, size_t size)
{
	const char *addr = arg_str(m, 0), *why = arg_str(m, 1),
		   *who = arg_str(m, 2);
	double count = 1, skipped = 0;
	arg_num(m, 3, &count);
	arg_num(m, 4, &skipped);
	int one = addr && *addr, n; /* else only a count of those held back */
	if (one)
		n = snprintf(buf, size, "fxd refused %s: %s: %s", who, addr,
		             why ? why : "(no reason given)");
	else
		n = snprintf(buf, size, "fxd: %s",
		             why ? why : "failures held back");
	if (one && n >= 0 && (size_t)n < size && count > 1)
		n += snprintf(buf + n, size - (size_t)n, " (%.0f times)", count);
	if (one && n >= 0 && (size_t)n < size && skipped > 0)
		snprintf(buf + n, size - (size_t)n,
		         " (%.0f before it not "
		         "forwarded)",
		         skipped);
	for (unsigned char *c = (unsigned char *)buf; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			*c = '?';
}

static void report_forwarded(const Msg *m)
{
	char text[512];
	forwarded_text(m, text, sizeof text);
	fflush(stdout);
	fprintf(stderr, "fxctl: %s\n", text);
}

/* Takes each message while waiting; returns 1 when the wait is over. */
typedef int (*Accept)(Link *l, const Msg *m, void *ctx);

/* Receives for @p window seconds until @p accept takes a message. A
 * /fxd/fail of fxctl's own ends it with status 1 (one forwarded from
 * another client is printed and passed over), the deadline with status 3
 * (@p what names the reply waited for). Returns 0 only when a signal
 * came. */
static int await(Link *l, double window, const char *what, Accept accept,
                 void *ctx)
{
	set_window(l, window);
	for (;;) {
		Msg m;
		int r = receive(l, &m);
		if (r == -2)
			nobody_listens(l);
		if (r < 0)
			return 0;
		if (r == 0)
			no_answer(l, what);
		if (forwarded(&m)) { /* another client's: said, not ours */
			report_forwarded(&m);
			msg_free(&m);
			continue;
		}
		const char *failed = arg_str(&m, 0);
		if (is(&m, "/fxd/fail") &&
		    !(l->fail_ok && failed && !strcmp(failed, l->fail_ok)))
			refused(&m);
		if (is(&m, "/fxd/pong"))
			l->pongs++;
		int done = accept(l, &m, ctx);
		msg_free(&m);
		if (done)
			return 1;
	}
}

static int accept_barrier(Link *l, const Msg *m, void *ctx)
{
	(void)ctx;
	return is(m, "/fxd/pong") && l->pongs == l->pings;
}

/* ---- enum labels -------------------------------------------------------- */

/* /fxd/param ,ssffffss has 8 arguments; an enum parameter's reply adds the
 * label of its value, then every label in order. */
enum { PARAM_ARGS = 8 };

/* Copies the labels a /fxd/param message lists into a NULL-terminated
 * array (NULL when it lists none: not an enum). */
static char **param_labels(const Msg *m)
{
	if (m->argc <= PARAM_ARGS + 1)
		return NULL;
	int n = m->argc - PARAM_ARGS - 1;
	char **labels = calloc((size_t)n + 1, sizeof *labels);
	if (!labels)
		die(RC_LOCAL, "out of memory");
	for (int i = 0; i < n; i++) {
		const char *s = arg_str(m, PARAM_ARGS + 1 + i);
		if (!(labels[i] = strdup(s ? s : "?")))
			die(RC_LOCAL, "out of memory");
	}
	return labels;
}

static void labels_free(char **labels)
{
	for (char **p = labels; p && *p; p++)
		free(*p);
	free(labels);
}

/* The label of @p v, or NULL when it is no index into @p labels. */
static const char *label_of(char *const *labels, double v)
{
	if (!labels || v < 0 || v != trunc(v))
		return NULL;
	for (int i = 0; labels[i]; i++)
		if (i == (int)v)
			return labels[i];
	return NULL;
}

/* What fxd said of a path. Kept under the path asked and under the
 * canonical one fxd names. */
typedef enum {
	NOT_PARAM, ///< no parameter (a bypass, a typo) or no answer
	NUMERIC,   ///< a parameter that takes numbers only
	ENUM,      ///< takes its labels too (listed when fxd sends them)
} Kind;

typedef struct {
	char *path;
	Kind kind;
	char **labels; ///< NULL-terminated, or NULL
} Known;

static struct {
	Known *k;
	int n, cap;
} known;

static Known *known_find(const char *path)
{
	for (int i = 0; i < known.n; i++)
		if (!strcmp(known.k[i].path, path))
			return &known.k[i];
	return NULL;
}

static void known_add(const char *path, Kind kind, char *const *labels)
{
	if (known_find(path))
		return;
	if (known.n == known.cap) {
		known.cap = known.cap ? 2 * known.cap : 16;
		if (!(known.k = realloc(known.k,
		                        (size_t)known.cap * sizeof *known.k)))
			die(RC_LOCAL, "out of memory");
	}
	Known *k = &known.k[known.n++];
	*k = (Known){.path = strdup(path), .kind = kind};
	int n = 0;
	while (labels && labels[n])
		n++;
	if (n && !(k->labels = calloc((size_t)n + 1, sizeof *k->labels)))
		die(RC_LOCAL, "out of memory");
	for (int i = 0; i < n; i++)
		if (!(k->labels[i] = strdup(labels[i])))
			die(RC_LOCAL, "out of memory");
	if (!k->path)
		die(RC_LOCAL, "out of memory");
}

/* The labels of the parameter a reply names, or NULL. */
static char *const *labels_at(const char *path)
{
	const Known *k = known_find(path);
	return k ? k->labels : NULL;
}

/* A path /fxd/info can describe: one parameter, not its /norm view. */
static int describable(const char *path)
{
	size_t len = strlen(path);
	return !strncmp(path, "/fx/", 4) && !is_pattern(path) &&
	       !(len > 5 && !strcmp(path + len - 5, "/norm"));
}

typedef struct {
	const char *asked;
} InfoAsk;

static int accept_info(Link *l, const Msg *m, void *ctx)
{
	InfoAsk *a = ctx;
	if (is(m, "/fxd/pong"))
		return l->pongs == l->pings;
	if (is(m, "/fxd/fail")) { /* no such parameter: fxd's set says why */
		known_add(a->asked, NOT_PARAM, NULL);
		return 0;
	}
	if (!is(m, "/fxd/param"))
		return 0;
	char **labels = param_labels(m);
	const char *canonical = arg_str(m, 0), *scale = arg_str(m, 7);
	Kind kind = labels || (scale && !strcmp(scale, "enum")) ? ENUM : NUMERIC;
	known_add(a->asked, kind, labels);
	if (canonical)
		known_add(canonical, kind, labels);
	labels_free(labels);
	return 0;
}

/* Asks fxd what @p path is, once: a parameter, and an enum's labels. */
static void learn(Link *l, const char *path)
{
	if (!describable(path) || known_find(path))
		return;
	InfoAsk a = {path};
	send_msg(l, "/fxd/info", msg_s(path));
	send_msg(l, "/fxd/ping", NULL);
	l->fail_ok = "/fxd/info";
	await(l, l->timeout, "/fxd/pong", accept_info, &a);
	l->fail_ok = NULL;
	if (!known_find(path)) /* the answer was lost: ask no more */
		known_add(path, NOT_PARAM, NULL);
}

/* ---- commands ----------------------------------------------------------- */

typedef struct Command Command;
typedef int (*CommandFn)(Link *l, const Command *c, char **args, int n);

enum {
	Q_BARE = 1 << 0,  ///< values only, one per line; JSON {key: value}
	Q_CHAIN = 1 << 1, ///< done: print the chain now running
};

struct Command {
	const char *name, *sub;
	int min_args, max_args; ///< max -1: any number, joined with spaces
	CommandFn run;
	const char *address;  ///< what the generic runners send
	unsigned flags;       ///< Q_*
	const char *json_key; ///< with Q_BARE
	const char *args;     ///< for --help
	const char *help;
};

typedef struct {
	const char *path;
	unsigned flags;
	FILE *out;
	char *text;
	size_t size;
	int n;
} Query;

/* The arguments; in JSON one value alone, more in an array. */
static void put_values(FILE *f, const Msg *m, int json)
{
	if (json && m->argc != 1)
		fputc('[', f);
	for (int i = 0; i < m->argc; i++) {
		if (i)
			fputs(json ? "," : " ", f);
		put_arg(f, m, i, json);
	}
	if (json && m->argc != 1)
		fputc(']', f);
}

static int accept_query(Link *l, const Msg *m, void *ctx)
{
	Query *q = ctx;
	if (is(m, "/fxd/pong"))
		return l->pongs == l->pings;
	/* Replies come on the canonical path, which is not always the one
	 * asked for (an index, a pattern); only fxd's own addresses are
	 * something else. */
	if (strcmp(m->path, q->path) && !strncmp(m->path, "/fxd/", 5))
		return 0;
	if (q->n++ && opt.json)
		fputc(',', q->out);
	double v;
	const char *label = m->argc == 1 && arg_num(m, 0, &v)
	                            ? label_of(labels_at(m->path), v)
	                            : NULL;
	if (label && opt.json) {
		fputs("{\"path\":", q->out);
		json_str(q->out, m->path);
		fputs(",\"value\":", q->out);
		put_arg(q->out, m, 0, 1);
		fputs(",\"label\":", q->out);
		json_str(q->out, label);
		fputc('}', q->out);
	} else if (label) {
		fprintf(q->out, "%s %s\n", m->path, label);
	} else if (opt.json && q->flags & Q_BARE) {
		put_values(q->out, m, 1);
	} else if (opt.json) {
		fputs("{\"path\":", q->out);
		json_str(q->out, m->path);
		fputs(",\"value\":", q->out);
		put_values(q->out, m, 1);
		fputc('}', q->out);
	} else if (q->flags & Q_BARE) {
		for (int i = 0; i < m->argc; i++) {
			put_arg(q->out, m, i, 0);
			fputc('\n', q->out);
		}
	} else {
		fprintf(q->out, "%s ", m->path);
		put_values(q->out, m, 0);
		fputc('\n', q->out);
	}
	return 0;
}

static void learn_all(Link *l);

/* Asks @p path for its value and prints every reply (an enum's by its
 * label, which fxd describes first). */
static int query(Link *l, const char *path, unsigned flags, const char *key)
{
	if (!strncmp(path, "/fx/", 4) && is_pattern(path))
		learn_all(l);
	else
		learn(l, path);
	Query q = {.path = path, .flags = flags};
	if (!(q.out = open_memstream(&q.text, &q.size)))
		die(RC_LOCAL, "out of memory");
	send_msg(l, path, NULL);
	send_msg(l, "/fxd/ping", NULL);
	await(l, l->timeout, path, accept_query, &q);
	fclose(q.out);
	if (!q.n)
		die(RC_REFUSED, "%s: fxd sent no value", path);
	if (opt.json && flags & Q_BARE) {
		fputc('{', stdout);
		json_str(stdout, key);
		printf(":%s}\n", q.text);
	} else if (opt.json && (q.n > 1 || is_pattern(path))) {
		printf("[%s]\n", q.text);
	} else {
		fputs(q.text, stdout);
		if (opt.json)
			fputc('\n', stdout);
	}
	free(q.text);
	return RC_OK;
}

static int accept_synced(Link *l, const Msg *m, void *ctx)
{
	double id;
	/* Alive: give fxd the time it takes to fail a sync itself. */
	if (is(m, "/fxd/pong") && l->pongs == l->pings)
		set_window(l, l->timeout + SYNC_GRACE);
	return is(m, "/fxd/synced") && arg_num(m, 0, &id) &&
	       (int32_t)id == *(int32_t *)ctx;
}

/* Returns once the audio worker has applied everything sent before. The
 * ping tells a live fxd (which answers a sync within 2 s) from none. */
static void sync_audio(Link *l)
{
	int32_t id = (int32_t)((uint32_t)getpid() * 2654435761u ^
	                       (uint32_t)(now() * 1e6)) &
	             0x7fffffff;
	send_msg(l, "/fxd/ping", NULL);
	send_msg(l, "/fxd/sync", msg_i(id));
	await(l, l->timeout, "/fxd/synced", accept_synced, &id);
}

static int cmd_get(Link *l, const Command *c, char **args, int n)
{
	(void)n;
	char *path = c->address ? NULL : osc_path(args[0]);
	int rc = query(l, path ? path : c->address, c->flags, c->json_key);
	free(path);
	return rc;
}

/* A number goes as a number, an enum's label (off included) as text, a
 * switch word as 0 or 1. Other text is refused here when fxd described
 * the parameter as numeric, and left to fxd otherwise (a pattern, an
 * alias). */
static int cmd_set(Link *l, const Command *c, char **args, int n)
{
	(void)c;
	(void)n;
	char *path = osc_path(args[0]);
	learn(l, path);
	const Known *k = known_find(path);
	double v;
	int b;
	if (parse_num(args[1], &v))
		send_msg(l, path, msg_d(v));
	else if (k && k->kind == ENUM)
		send_msg(l, path, msg_s(args[1]));
	else if (parse_bool(args[1], &b))
		send_msg(l, path, msg_i(b));
	else if (k && k->kind == NUMERIC)
		usage_error("set: '%s' is not a number (nor on/off)", args[1]);
	else
		send_msg(l, path, msg_s(args[1]));
	sync_audio(l);
	int rc = query(l, path, 0, NULL);
	free(path);
	return rc;
}

static int cmd_bpm(Link *l, const Command *c, char **args, int n)
{
	double v;
	if (n) {
		if (!parse_num(args[0], &v) || v <= 0)
			usage_error("bpm: '%s' is not a tempo", args[0]);
		send_msg(l, c->address, msg_d(v));
	}
	return query(l, c->address, c->flags, c->json_key);
}

static int cmd_mute(Link *l, const Command *c, char **args, int n)
{
	int on = strcmp(c->name, "unmute") != 0;
	if (n && !parse_bool(args[0], &on))
		usage_error("mute: '%s' is not on or off", args[0]);
	/* Handled in order: the answer is the state the mute left. */
	send_msg(l, c->address, msg_i(on));
	return query(l, c->address, 0, NULL);
}

static int cmd_sync(Link *l, const Command *c, char **args, int n)
{
	(void)c;
	(void)args;
	(void)n;
	sync_audio(l);
	return RC_OK;
}

static int cmd_ping(Link *l, const Command *c, char **args, int n)
{
	(void)c;
	(void)args;
	(void)n;
	double t0 = now();
	send_msg(l, "/fxd/ping", NULL);
	await(l, l->timeout, "/fxd/pong", accept_barrier, NULL);
	double ms = (now() - t0) * 1e3;
	if (opt.json) {
		fputs("{\"address\":", stdout);
		json_str(stdout, l->where);
		printf(",\"ms\":%.3f}\n", ms);
	} else {
		printf("pong from fxd at %s in %.3f ms\n", l->where, ms);
	}
	return RC_OK;
}

static int accept_done(Link *l, const Msg *m, void *ctx)
{
	(void)l;
	const char *what = arg_str(m, 0);
	return is(m, "/fxd/done") && what && !strcmp(what, ctx);
}

/* Sends c->address (with the arguments as one string, if any) and waits
 * for its /fxd/done. */
static int cmd_done(Link *l, const Command *c, char **args, int n)
{
	lo_message m = NULL;
	if (n) {
		size_t len = 1;
		for (int i = 0; i < n; i++)
			len += strlen(args[i]) + 1;
		char *s = malloc(len);
		if (!s)
			die(RC_LOCAL, "out of memory");
		*s = 0;
		for (int i = 0; i < n; i++)
			strcat(strcat(s, i ? " " : ""), args[i]);
		m = msg_s(s);
		free(s);
	}
	send_msg(l, c->address, m);
	await(l, l->timeout, "/fxd/done", accept_done, (void *)c->address);
	if (c->flags & Q_CHAIN)
		return query(l, "/fxd/chain", Q_BARE, "chain");
	return RC_OK;
}

/* ---- MIDI and morphing -------------------------------------------------- */

typedef struct {
	const char *path; ///< the learn asked for
	int channel, number;
} Learned;

static int accept_learned(Link *l, const Msg *m, void *ctx)
{
	(void)l;
	Learned *le = ctx;
	const char *path = arg_str(m, 0);
	double ch, num;
	if (!is(m, "/fxd/midi/learned") || !path || strcmp(path, le->path) ||
	    !arg_num(m, 1, &ch) || !arg_num(m, 2, &num))
		return 0;
	le->channel = (int)ch;
	le->number = (int)num;
	return 1;
}

/* Arms learn, then waits (until Ctrl-C) for the control fxd hears. */
static int cmd_midi_learn(Link *l, const Command *c, char **args, int n)
{
	(void)n;
	char *path = osc_path(args[0]);
	send_msg(l, c->address, msg_s(path));
	await(l, l->timeout, "/fxd/done", accept_done, (void *)c->address);
	fprintf(stderr, "fxctl: move a MIDI control for %s (Ctrl-C to stop)\n",
	        path);
	Learned le = {.path = path};
	if (!await(l, 1e9, "/fxd/midi/learned", accept_learned, &le))
		die(RC_NO_ANSWER, "midi learn: stopped before a control came");
	if (opt.json) {
		fputs("{\"path\":", stdout);
		json_str(stdout, path);
		printf(",\"channel\":%d,\"number\":%d}\n", le.channel, le.number);
	} else {
		printf("%s channel %d number %d\n", path, le.channel, le.number);
	}
	free(path);
	return RC_OK;
}

/* PATH CH NUM [MIN MAX] (CH 1..16 or *), or one [midi] line. */
static int cmd_midi_map(Link *l, const Command *c, char **args, int n)
{
	lo_message m = new_msg();
	double v;
	if (n == 1) {
		if (!strchr(args[0], '='))
			usage_error("midi map: expects PATH CH NUM [MIN MAX] or "
			            "one [midi] line ('cc 1 7 = /fx/vol/db')");
		lo_message_add_string(m, args[0]);
	} else {
		if (n != 3 && n != 5)
			usage_error("midi map: expects PATH CH NUM [MIN MAX]");
		char *path = osc_path(args[0]);
		lo_message_add_string(m, path);
		free(path);
		if (!strcmp(args[1], "*"))
			lo_message_add_string(m, "*");
		else if (parse_num(args[1], &v))
			lo_message_add_double(m, v);
		else
			usage_error("midi map: '%s' is not a channel (1..16 or *)",
			            args[1]);
		for (int i = 2; i < n; i++) {
			if (!parse_num(args[i], &v))
				usage_error("midi map: '%s' is not a number",
				            args[i]);
			lo_message_add_double(m, v);
		}
	}
	send_msg(l, c->address, m);
	await(l, l->timeout, "/fxd/done", accept_done, (void *)c->address);
	return RC_OK;
}

static int cmd_midi_unmap(Link *l, const Command *c, char **args, int n)
{
	(void)n;
	char *path = osc_path(args[0]);
	send_msg(l, c->address, msg_s(path));
	await(l, l->timeout, "/fxd/done", accept_done, (void *)c->address);
	free(path);
	return RC_OK;
}

typedef struct {
	FILE *out;
	int n, total; ///< lines taken; the count fxd gave (-1: none yet)
} MappingList;

static int accept_mappings(Link *l, const Msg *m, void *ctx)
{
	(void)l;
	MappingList *ml = ctx;
	const char *line = arg_str(m, 0);
	double v;
	if (is(m, "/fxd/midi/mapping") && line) {
		if (opt.json && ml->n)
			fputc(',', ml->out);
		if (opt.json)
			json_str(ml->out, line);
		else
			fprintf(ml->out, "%s\n", line);
		ml->n++;
	}
	if (is(m, "/fxd/midi/list/done") && arg_num(m, 0, &v)) {
		ml->total = (int)v;
		return 1;
	}
	return 0;
}

/* The live mapping table, one [midi] line each. */
static int cmd_midi_list(Link *l, const Command *c, char **args, int n)
{
	(void)args;
	(void)n;
	char *text = NULL;
	size_t size = 0;
	MappingList ml = {.total = -1};
	for (int attempt = 0;; attempt++) {
		if (!(ml.out = open_memstream(&text, &size)))
			die(RC_LOCAL, "out of memory");
		ml.n = 0;
		send_msg(l, c->address, NULL);
		await(l, l->timeout, "/fxd/midi/list/done", accept_mappings, &ml);
		fclose(ml.out);
		if (ml.n == ml.total)
			break;
		if (attempt)
			die(RC_NO_ANSWER,
			    "fxd at %s sent %d of its %d mappings (datagrams "
			    "lost); try again",
			    l->where, ml.n, ml.total);
		free(text);
		text = NULL;
	}
	if (opt.json)
		printf("{\"mappings\":[%s]}\n", text);
	else
		fputs(text, stdout);
	free(text);
	return RC_OK;
}

/* One tap; prints the tempo, which the taps set from the second on. */
static int cmd_tap(Link *l, const Command *c, char **args, int n)
{
	(void)args;
	(void)n;
	send_msg(l, c->address, NULL);
	return query(l, "/fxd/bpm", Q_BARE, "bpm");
}

/* Moves the morph (0..1) and prints its position. */
static int cmd_morph(Link *l, const Command *c, char **args, int n)
{
	double v;
	if (n) {
		if (!parse_num(args[0], &v) || v < 0 || v > 1)
			usage_error("morph: '%s' is not a position 0..1 (nor a "
			            "or b)",
			            args[0]);
		send_msg(l, c->address, msg_d(v));
	}
	return query(l, c->address, c->flags, c->json_key);
}

/* ---- presets ------------------------------------------------------------ */

/* /fxd/preset/list answers ,s... (the names, sorted) when they fit one
 * packet, else in parts ,ii s... (part, parts, names): joined here in part
 * order. */
typedef struct {
	char **name;
	int *part; ///< the part each name came in
	int n, cap;
	int parts;  ///< 0 until a message says
	char *seen; ///< parts received, by index
	int bad;    ///< messages fxctl cannot read
} PresetList;

static void preset_add(PresetList *pl, const char *name, int part)
{
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? 2 * pl->cap : 64;
		pl->name = realloc(pl->name, (size_t)pl->cap * sizeof *pl->name);
		pl->part = realloc(pl->part, (size_t)pl->cap * sizeof *pl->part);
		if (!pl->name || !pl->part)
			die(RC_LOCAL, "out of memory");
	}
	if (!(pl->name[pl->n] = strdup(name)))
		die(RC_LOCAL, "out of memory");
	pl->part[pl->n++] = part;
}

static void preset_clear(PresetList *pl)
{
	for (int i = 0; i < pl->n; i++)
		free(pl->name[i]);
	free(pl->name);
	free(pl->part);
	free(pl->seen);
	memset(pl, 0, sizeof *pl);
}

static int accept_presets(Link *l, const Msg *m, void *ctx)
{
	PresetList *pl = ctx;
	if (is(m, "/fxd/pong"))
		return l->pongs == l->pings;
	if (!is(m, "/fxd/preset/list"))
		return 0;
	double part = 0, parts = 1;
	int first = 0; /* the first name's argument */
	if (m->argc >= 2 && arg_num(m, 0, &part) && arg_num(m, 1, &parts))
		first = 2;
	if (parts < 1 || parts > 65536 || part < 0 || part >= parts ||
	    (pl->parts && pl->parts != (int)parts)) {
		pl->bad++;
		return 0;
	}
	if (!pl->parts) {
		pl->parts = (int)parts;
		if (!(pl->seen = calloc((size_t)pl->parts, 1)))
			die(RC_LOCAL, "out of memory");
	}
	if (pl->seen[(int)part]++) /* a duplicate datagram */
		return 0;
	for (int i = first; i < m->argc; i++) {
		const char *name = arg_str(m, i);
		if (name)
			preset_add(pl, name, (int)part);
		else
			pl->bad++;
	}
	return 0;
}

/* How many parts did not arrive. */
static int presets_missing(const PresetList *pl)
{
	int missing = pl->parts ? 0 : 1;
	for (int p = 0; p < pl->parts; p++)
		missing += !pl->seen[p];
	return missing;
}

static int cmd_preset_list(Link *l, const Command *c, char **args, int n)
{
	(void)args;
	(void)n;
	PresetList pl = {0};
	/* UDP may drop one of many parts; one retry usually gets them all. */
	for (int attempt = 0;; attempt++) {
		send_msg(l, c->address, NULL);
		send_msg(l, "/fxd/ping", NULL);
		await(l, l->timeout, "/fxd/pong", accept_presets, &pl);
		int missing = presets_missing(&pl);
		if (!missing && !pl.bad)
			break;
		if (attempt) {
			if (pl.bad)
				die(RC_NO_ANSWER,
				    "fxd sent a preset list fxctl cannot "
				    "read");
			if (!pl.parts)
				die(RC_NO_ANSWER,
				    "fxd at %s sent no preset list", l->where);
			die(RC_NO_ANSWER,
			    "fxd at %s sent %d of the %d parts of the "
			    "preset list (datagrams lost); try again",
			    l->where, pl.parts - missing, pl.parts);
		}
		preset_clear(&pl);
	}
	if (opt.json)
		fputs("{\"presets\":[", stdout);
	int k = 0;
	for (int p = 0; p < pl.parts; p++)
		for (int i = 0; i < pl.n; i++) {
			if (pl.part[i] != p)
				continue;
			if (opt.json) {
				if (k++)
					fputc(',', stdout);
				json_str(stdout, pl.name[i]);
			} else {
				puts(pl.name[i]);
			}
		}
	if (opt.json)
		fputs("]}\n", stdout);
	preset_clear(&pl);
	return RC_OK;
}

/* ---- parameters --------------------------------------------------------- */

enum {
	P_PATH,
	P_EFFECT,
	P_VALUE,
	P_MIN,
	P_MAX,
	P_DEFAULT,
	P_UNIT,
	P_SCALE,
	P_COLS
};

/* /fxd/param ,ssffffss in argument order. */
static const struct {
	const char *title;
	int numeric;
} param_cols[P_COLS] = {
	{"path", 0}, {"effect", 0},  {"value", 1}, {"min", 1},
	{"max", 1},  {"default", 1}, {"unit", 0},  {"scale", 0},
};

_Static_assert((int)P_COLS == (int)PARAM_ARGS,
               "one column per /fxd/param argument");

typedef struct {
	char *text[P_COLS]; ///< an enum's numbers as their labels
	double v[P_COLS];
	char **labels; ///< an enum's labels, NULL-terminated, or NULL
} Param;

static int param_parse(const Msg *m, Param *p)
{
	memset(p, 0, sizeof *p);
	/* A text parameter (a path): scale "text", its text after it. */
	const char *scale = arg_str(m, PARAM_ARGS - 1);
	if (scale && !strcmp(scale, "text")) {
		const char *text = arg_str(m, PARAM_ARGS);
		for (int i = 0; i < P_COLS; i++) {
			const char *s = param_cols[i].numeric ? ""
			                                      : arg_str(m, i);
			if (i == 2)
				s = text;
			if (!s || !(p->text[i] = strdup(s)))
				return 0;
		}
		return 1;
	}
	p->labels = param_labels(m);
	for (int i = 0; i < P_COLS; i++) {
		char b[40];
		const char *s = arg_str(m, i);
		if (param_cols[i].numeric) {
			if (!arg_num(m, i, &p->v[i]))
				return 0;
			s = label_of(p->labels, p->v[i]);
			if (!s)
				s = fmt_num(b, sizeof b, p->v[i],
				            m->types[i] == LO_FLOAT);
		}
		if (!s || !(p->text[i] = strdup(s)))
			return 0;
	}
	return 1;
}

static void param_free(Param *p)
{
	for (int i = 0; i < P_COLS; i++)
		free(p->text[i]);
	labels_free(p->labels);
	p->labels = NULL;
}

/* Numbers stay numbers in JSON; an enum adds "label" (its value's) and
 * "labels". */
static void param_json(const Param *p)
{
	for (int i = 0; i < P_COLS; i++) {
		fputs(i ? "," : "{", stdout);
		json_str(stdout, param_cols[i].title);
		fputc(':', stdout);
		if (param_cols[i].numeric)
			json_num(stdout, p->v[i], 1);
		else
			json_str(stdout, p->text[i]);
	}
	if (p->labels) {
		fputs(",\"label\":", stdout);
		json_str(stdout, p->text[P_VALUE]);
		fputs(",\"labels\":[", stdout);
		for (int i = 0; p->labels[i]; i++) {
			if (i)
				fputc(',', stdout);
			json_str(stdout, p->labels[i]);
		}
		fputc(']', stdout);
	}
	fputc('}', stdout);
}

typedef struct {
	Param *p;
	int n, cap;
	int expected;   ///< from /fxd/list/done
	int unreadable; ///< /fxd/param messages of other types
} ParamList;

static int accept_list(Link *l, const Msg *m, void *ctx)
{
	(void)l;
	ParamList *pl = ctx;
	double count;
	if (is(m, "/fxd/list/done") && arg_num(m, 0, &count)) {
		pl->expected = (int)count;
		return 1;
	}
	if (!is(m, "/fxd/param"))
		return 0;
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? 2 * pl->cap : 64;
		if (!(pl->p = realloc(pl->p, (size_t)pl->cap * sizeof *pl->p)))
			die(RC_LOCAL, "out of memory");
	}
	if (param_parse(m, &pl->p[pl->n]))
		pl->n++;
	else
		pl->unreadable++, param_free(&pl->p[pl->n]);
	return 0;
}

static void list_clear(ParamList *pl)
{
	for (int i = 0; i < pl->n; i++)
		param_free(&pl->p[i]);
	pl->n = pl->expected = pl->unreadable = 0;
}

static void print_table(const ParamList *pl)
{
	int width[P_COLS];
	for (int c = 0; c < P_COLS; c++) {
		width[c] = (int)strlen(param_cols[c].title);
		for (int i = 0; i < pl->n; i++)
			if ((int)strlen(pl->p[i].text[c]) > width[c])
				width[c] = (int)strlen(pl->p[i].text[c]);
	}
	for (int i = -1; i < pl->n; i++) {
		for (int c = 0; c < P_COLS; c++) {
			const char *s = i < 0 ? param_cols[c].title
			                      : pl->p[i].text[c];
			/* Numbers line up on the right; no blanks end a line. */
			if (c == P_COLS - 1)
				printf("%s\n", s);
			else
				printf(param_cols[c].numeric ? "%*s  " : "%-*s  ",
				       width[c], s);
		}
	}
}

/* Asks for every parameter (/fxd/list, with one retry), as cmd_list. */
static void fetch_list(Link *l, ParamList *pl)
{
	/* UDP may drop part of a burst; one retry usually gets it whole. */
	for (int attempt = 0;; attempt++) {
		send_msg(l, "/fxd/list", NULL);
		await(l, l->timeout, "/fxd/list/done", accept_list, pl);
		if (pl->n == pl->expected && !pl->unreadable)
			break;
		if (attempt) {
			if (pl->unreadable)
				die(RC_NO_ANSWER,
				    "fxd sent %d /fxd/param message%s "
				    "fxctl cannot read",
				    pl->unreadable,
				    pl->unreadable == 1 ? "" : "s");
			die(RC_NO_ANSWER,
			    "fxd at %s announced %d parameters but %d "
			    "arrived (datagrams lost); try again",
			    l->where, pl->expected, pl->n);
		}
		list_clear(pl);
	}
}

/* Learns every parameter's labels at once: what a pattern's replies need. */
static void learn_all(Link *l)
{
	ParamList pl = {0};
	fetch_list(l, &pl);
	for (int i = 0; i < pl.n; i++)
		known_add(pl.p[i].text[P_PATH],
		          pl.p[i].labels || !strcmp(pl.p[i].text[P_SCALE], "enum")
		                  ? ENUM
		                  : NUMERIC,
		          pl.p[i].labels);
	list_clear(&pl);
	free(pl.p);
}

static int cmd_list(Link *l, const Command *c, char **args, int n)
{
	(void)c;
	(void)args;
	(void)n;
	ParamList pl = {0};
	fetch_list(l, &pl);
	if (opt.json) {
		fputc('[', stdout);
		for (int i = 0; i < pl.n; i++) {
			if (i)
				fputc(',', stdout);
			param_json(&pl.p[i]);
		}
		fputs("]\n", stdout);
	} else {
		print_table(&pl);
	}
	list_clear(&pl);
	free(pl.p);
	return RC_OK;
}

static int accept_param(Link *l, const Msg *m, void *ctx)
{
	(void)l;
	if (!is(m, "/fxd/param"))
		return 0;
	if (!param_parse(m, ctx))
		die(RC_NO_ANSWER,
		    "fxd sent /fxd/param ,%s, which fxctl cannot "
		    "read",
		    m->types);
	return 1;
}

static int cmd_info(Link *l, const Command *c, char **args, int n)
{
	(void)n;
	char *path = osc_path(args[0]);
	Param p;
	send_msg(l, c->address, msg_s(path));
	await(l, l->timeout, "/fxd/param", accept_param, &p);
	if (opt.json) {
		param_json(&p);
		fputc('\n', stdout);
	} else {
		for (int i = 0; i < P_COLS; i++)
			if (i != P_UNIT) /* it follows each number */
				printf("%-8s %s%s%s\n", param_cols[i].title,
				       p.text[i],
				       param_cols[i].numeric && *p.text[P_UNIT]
				               ? " "
				               : "",
				       param_cols[i].numeric ? p.text[P_UNIT]
				                             : "");
		for (int i = 0; p.labels && p.labels[i]; i++)
			printf("%s%s", i ? ", " : "labels   ", p.labels[i]);
		if (p.labels)
			fputc('\n', stdout);
	}
	param_free(&p);
	free(path);
	return RC_OK;
}

/* ---- statistics --------------------------------------------------------- */

typedef struct {
	char name[64];
	double v;
} Pair;

typedef struct {
	Pair p[MAX_PAIRS];
	int n;
} Stats;

static const char *const lat_rows[] = {"callback", "worker", "knob"};
static const char *const lat_cols[] = {"count", "min", "median", "mean",
                                       "p95",   "p99", "max"};

/* The other names, grouped; "name:unit". */
static const struct {
	const char *title, *keys;
} stat_groups[] = {
	{"dsp", "load:%"},
	{"jack", "rate:Hz period:frames latency:frames"},
	{"counters", "callbacks chunks underflows late xruns nonfinite overflows"},
	{"osc", "osc.received osc.rejected osc.dropped osc.kernel_drops "
                "osc.send_errors subscribers"},
	{"http", "http.requests http.refused http.ws_clients http.dropped"},
	{"midi", "midi.events midi.overflows midi_frames.median:frames "
                 "midi_frames.p99:frames midi_frames.max:frames"},
};

enum {
	N_LAT_ROWS = 3,
	N_LAT_COLS = 7,
	N_GROUPS = sizeof stat_groups / sizeof stat_groups[0]
};

/* Name/value pairs (,sdsd...) replace or join the ones in @p s. */
static void stats_take(Stats *s, const Msg *m)
{
	for (int i = 0; i + 1 < m->argc; i += 2) {
		const char *name = arg_str(m, i);
		double v;
		if (!name || !arg_num(m, i + 1, &v))
			continue;
		int k = 0;
		while (k < s->n && strcmp(s->p[k].name, name))
			k++;
		if (k == MAX_PAIRS)
			continue;
		if (k == s->n)
			snprintf(s->p[s->n++].name, sizeof s->p[0].name, "%s",
			         name);
		s->p[k].v = v;
	}
}

static const double *stat(const Stats *s, const char *name)
{
	for (int k = 0; k < s->n; k++)
		if (!strcmp(s->p[k].name, name))
			return &s->p[k].v;
	return NULL;
}

/* Calls @p fn on each "name:unit" word of @p keys, split. */
static int each_key(const char *keys,
                    int (*fn)(const char *name, const char *unit, void *ctx),
                    void *ctx)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", keys);
	for (char *save, *w = strtok_r(buf, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		char *unit = strchr(w, ':');
		if (unit)
			*unit++ = 0;
		if (fn(w, unit ? unit : "", ctx))
			return 1;
	}
	return 0;
}

static int same_name(const char *name, const char *unit, void *ctx)
{
	(void)unit;
	return !strcmp(name, ctx);
}

static int known_stat(const char *name)
{
	char b[64];
	for (int r = 0; r < N_LAT_ROWS; r++)
		for (int c = 0; c < N_LAT_COLS; c++)
			if (snprintf(b, sizeof b, "%s.%s", lat_rows[r],
			             lat_cols[c]),
			    !strcmp(b, name))
				return 1;
	for (int g = 0; g < N_GROUPS; g++)
		if (each_key(stat_groups[g].keys, same_name, (void *)name))
			return 1;
	return 0;
}

typedef struct {
	FILE *f;
	const Stats *s;
	int col;   ///< 0 before a group's first item
	int width; ///< wrap before this column
} GroupOut;

static void group_item(GroupOut *g, const char *label, double v, const char *unit)
{
	char num[40], item[160];
	if (v == trunc(v) || !isfinite(v))
		fmt_num(num, sizeof num, v, 0);
	else
		snprintf(num, sizeof num, "%.4g", v);
	snprintf(item, sizeof item, "%s %s%s%s", label, num, *unit ? " " : "",
	         unit);
	int len = (int)strlen(item);
	if (g->col && g->col + 2 + len > g->width) {
		fprintf(g->f, "\n%-12s", "");
		g->col = 12;
	} else if (g->col > 12) {
		fputs("  ", g->f);
		g->col += 2;
	}
	fputs(item, g->f);
	g->col += len;
}

static int group_key(const char *name, const char *unit, void *ctx)
{
	GroupOut *g = ctx;
	const double *v = stat(g->s, name);
	const char *dot = strrchr(name, '.');
	if (v)
		group_item(g, dot ? dot + 1 : name, *v, unit);
	return 0;
}

/* The statistics, groups wrapped to @p width columns. */
static void print_stats(FILE *f, const Stats *s, int width)
{
	char b[64];
	int header = 0;
	for (int r = 0; r < N_LAT_ROWS; r++) {
		int any = 0;
		for (int c = 0; c < N_LAT_COLS; c++)
			snprintf(b, sizeof b, "%s.%s", lat_rows[r], lat_cols[c]),
				any |= stat(s, b) != NULL;
		if (!any)
			continue;
		if (!header++) {
			fprintf(f, "%-12s", "latency ms");
			for (int c = 0; c < N_LAT_COLS; c++)
				fprintf(f, "%9s", lat_cols[c]);
			fputc('\n', f);
		}
		fprintf(f, "%-12s", lat_rows[r]);
		int empty = 0; /* no samples: the other columns mean nothing */
		for (int c = 0; c < N_LAT_COLS; c++) {
			snprintf(b, sizeof b, "%s.%s", lat_rows[r], lat_cols[c]);
			const double *v = stat(s, b);
			if (!v || !isfinite(*v) || (c && empty))
				fprintf(f, "%9s", "-");
			else
				fprintf(f, c ? "%9.4f" : "%9.0f", *v);
			empty |= !c && v && *v == 0;
		}
		fputc('\n', f);
	}
	if (header)
		fputc('\n', f);
	for (int g = 0; g < N_GROUPS; g++) {
		GroupOut out = {f, s, 0, width};
		fprintf(f, "%-12s", stat_groups[g].title);
		out.col = 12;
		each_key(stat_groups[g].keys, group_key, &out);
		fputc('\n', f);
	}
	GroupOut other = {f, s, 12, width};
	int any_other = 0;
	for (int k = 0; k < s->n; k++) {
		if (known_stat(s->p[k].name))
			continue;
		if (!any_other++)
			fprintf(f, "%-12s", "other");
		group_item(&other, s->p[k].name, s->p[k].v, "");
	}
	if (any_other)
		fputc('\n', f);
}

static void stats_json(FILE *f, const Stats *s)
{
	fputc('{', f);
	for (int k = 0; k < s->n; k++) {
		if (k)
			fputc(',', f);
		json_str(f, s->p[k].name);
		fputc(':', f);
		json_num(f, s->p[k].v, 0);
	}
	fputc('}', f);
}

static int accept_stats(Link *l, const Msg *m, void *ctx)
{
	(void)l;
	if (!is(m, "/fxd/stats"))
		return 0;
	stats_take(ctx, m);
	return 1;
}

/* ---- stats --watch ------------------------------------------------------ */

typedef struct {
	Stats stats;
	double meter[MAX_METERS]; ///< peak, RMS per output port, linear
	int meters;
	int have_stats;
	int interval_ms;
	const char *where;
	char fail[512];      ///< the last failure forwarded, one line
	char fail_clock[16]; ///< when it came
} View;

static void take_stats(View *v, const Msg *m)
{
	stats_take(&v->stats, m);
	v->have_stats = 1;
}

static void take_meters(View *v, const Msg *m)
{
	v->meters = 0;
	for (int i = 0; i < m->argc && i < MAX_METERS; i++)
		if (arg_num(m, i, &v->meter[v->meters]))
			v->meters++;
	v->meters &= ~1;
}

static const struct {
	const char *path;
	void (*take)(View *v, const Msg *m);
	int line; ///< prints a line when stdout is no terminal
} feeds[] = {
	{"/fxd/stats", take_stats, 1},
	{"/fxd/meters", take_meters, 0},
	{"/fxd/counters", take_stats, 0},
};

static double dbfs(double x)
{
	return x > 1e-10 ? 20 * log10(x) : -INFINITY;
}

static const char *fmt_db(char *b, size_t size, double db)
{
	if (isfinite(db))
		snprintf(b, size, "%.1f", db);
	else
		snprintf(b, size, "-inf");
	return b;
}

/* A meter row is "out_N" and two numbers (34 columns with the brackets),
 * then the bar, as wide as the terminal allows within these bounds. */
enum { BAR_MIN = 8, BAR_MAX = 60, BAR_ROW = 34, BAR_FLOOR_DB = -60 };

/* RMS as '#', up to the peak '=' and '|' at the peak; -60..0 dBFS. */
static void meter_bar(char *bar, int width, double peak_db, double rms_db)
{
	int r = (int)lround((fmax(rms_db, BAR_FLOOR_DB) - BAR_FLOOR_DB) /
	                    -BAR_FLOOR_DB * width);
	int p = (int)lround((fmax(peak_db, BAR_FLOOR_DB) - BAR_FLOOR_DB) /
	                    -BAR_FLOOR_DB * width);
	r = r < 0 ? 0 : r > width ? width : r;
	p = p < 0 ? 0 : p > width ? width : p;
	for (int i = 0; i < width; i++)
		bar[i] = i < r ? '#' : i < p ? '=' : ' ';
	if (p > 0)
		bar[p - 1] = '|';
	bar[width] = 0;
}

/* The terminal's size; 24 x 80 when it does not say. */
static void screen_size(int *rows, int *cols)
{
	struct winsize ws;
	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

static void clock_text(char *b, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(b, size, "%H:%M:%S", &tm);
}

static void draw(const View *v)
{
	char *text = NULL, clk[16], pk[16], rm[16], bar[BAR_MAX + 1];
	size_t size = 0;
	int rows, cols;
	screen_size(&rows, &cols);
	int bar_w = cols - 1 - BAR_ROW;
	bar_w = bar_w < BAR_MIN ? BAR_MIN : bar_w > BAR_MAX ? BAR_MAX : bar_w;
	FILE *f = open_memstream(&text, &size);
	if (!f)
		die(RC_LOCAL, "out of memory");
	clock_text(clk, sizeof clk);
	fprintf(f, "fxd at %s, every %d ms, %s    (Ctrl-C quits)\n", v->where,
	        v->interval_ms, clk);
	if (*v->fail)
		fprintf(f, "%s %s\n", v->fail_clock, v->fail);
	fputc('\n', f);
	if (v->have_stats)
		print_stats(f, &v->stats, cols - 1);
	else
		fputs("waiting for /fxd/stats...\n", f);
	if (v->meters) {
		fprintf(f, "\n%-12s%9s%9s  %-*s0\n", "dBFS", "peak", "rms",
		        bar_w + 1, " -60");
		for (int i = 0; i < v->meters / 2; i++) {
			double p = dbfs(v->meter[2 * i]),
			       r = dbfs(v->meter[2 * i + 1]);
			meter_bar(bar, bar_w, p, r);
			fprintf(f, "out_%-8d%9s%9s  [%s]\n", i + 1,
			        fmt_db(pk, sizeof pk, p),
			        fmt_db(rm, sizeof rm, r), bar);
		}
	}
	fclose(f);
	/* Home, each line cleared to its end, the rest of the screen too: no
	 * flicker from clearing it all. Lines are cut to the width (a wrapped
	 * line would push the view down) and the view to the height less one
	 * (the newline after the last row would scroll it). */
	fputs("\033[H", stdout);
	int row = 0;
	for (char *line = text, *nl;
	     row < rows - 1 && (nl = strchr(line, '\n')); line = nl + 1, row++) {
		int len = (int)(nl - line);
		printf("%.*s\033[K\n", len < cols - 1 ? len : cols - 1, line);
	}
	fputs("\033[J", stdout);
	free(text);
}

static const char *const line_keys[] = {
	"load", "callback.p99", "worker.p99", "knob.p99", "underflows",
	"late", "xruns",        "nonfinite",  "overflows"};

static void print_line(const View *v)
{
	char clk[16], b[40];
	if (opt.json) {
		fputs("{\"time\":", stdout);
		clock_text(clk, sizeof clk);
		json_str(stdout, clk);
		fputs(",\"stats\":", stdout);
		stats_json(stdout, &v->stats);
		fputs(",\"meters\":[", stdout);
		for (int i = 0; i < v->meters / 2; i++) {
			printf("%s{\"peak\":", i ? "," : "");
			json_num(stdout, v->meter[2 * i], 0);
			fputs(",\"rms\":", stdout);
			json_num(stdout, v->meter[2 * i + 1], 0);
			fputc('}', stdout);
		}
		fputs("]}\n", stdout);
		return;
	}
	clock_text(clk, sizeof clk);
	fputs(clk, stdout);
	for (size_t i = 0; i < sizeof line_keys / sizeof line_keys[0]; i++) {
		const double *x = stat(&v->stats, line_keys[i]);
		if (x)
			printf(" %s=%.4g", line_keys[i], *x);
	}
	for (int i = 0; i < v->meters / 2; i++)
		printf("%s%s", i ? "," : " peak_dbfs=",
		       fmt_db(b, sizeof b, dbfs(v->meter[2 * i])));
	fputc('\n', stdout);
}

static int accept_subscribed(Link *l, const Msg *m, void *ctx)
{
	(void)l;
	double ms;
	if (!is(m, "/fxd/subscribed"))
		return 0;
	if (arg_num(m, 2, &ms) && ms > 0)
		*(int *)ctx = (int)ms;
	return 1;
}

static int accept_unsubscribed(Link *l, const Msg *m, void *ctx)
{
	(void)l;
	(void)ctx;
	return is(m, "/fxd/unsubscribed");
}

/* Sends /fxd/unsubscribe; with @p wait, gives fxd a moment to confirm. */
static void unsubscribe(Link *l, int wait)
{
	if (!subscribed)
		return;
	subscribed = NULL;
	if (send_quiet(l, "/fxd/unsubscribe", NULL) || !wait)
		return;
	stop = resized = 0;
	l->unblock = NULL; /* a second Ctrl-C waits for this short wait */
	set_window(l, fmin(l->timeout, 1.0));
	for (;;) {
		Msg m;
		if (receive(l, &m) <= 0)
			return;
		int done = accept_unsubscribed(l, &m, NULL);
		msg_free(&m);
		if (done)
			return;
	}
}

static void at_exit(void)
{
	if (cursor_hidden)
		fputs("\033[?25h", stdout);
	fflush(stdout);
	if (subscribed)
		unsubscribe(subscribed, 0);
}

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		resized = 1;
	else
		stop = 1;
}

static void gone(const Link *l) __attribute__((noreturn));

/* The kernel says nothing listens any more (a renewal was refused). */
static void gone(const Link *l)
{
	die(RC_NO_ANSWER, "fxd at %s went away (nothing listens there now)",
	    l->where);
}

/* A subscription is a lease (fxd's --osc-lease, "osc.lease" in its
 * statistics; 0: none): renewed, by sending the same /fxd/subscribe, at a
 * third of it. A subscriber that fxd drops (the lease ran out, or it gave
 * way to a newcomer when all places were taken) is sent /fxd/unsubscribed
 * at its own address, which is this socket's: subscribe again, but not
 * more than once per RESUBSCRIBE_S, so that more live watchers than fxd
 * has places take turns instead of evicting each other in a loop. */
static const double RESUBSCRIBE_S = 1.0;

typedef struct {
	double sent; ///< CLOCK_MONOTONIC of the last /fxd/subscribe
	int dropped; ///< fxd said /fxd/unsubscribed since
} Lease;

static void subscribe(Link *l, Lease *s)
{
	if (send_quiet(l, "/fxd/subscribe",
	               opt.interval_ms ? msg_i(opt.interval_ms) : NULL)) {
		if (errno == ECONNREFUSED)
			gone(l);
		die(RC_LOCAL, "cannot send /fxd/subscribe to %s: %s", l->where,
		    strerror(errno));
	}
	subscribed = l;
	s->sent = now();
	s->dropped = 0;
}

/* When to send /fxd/subscribe next; INFINITY: not before fxd says. */
static double next_subscribe(const Lease *s, const View *v)
{
	const double *lease = stat(&v->stats, "osc.lease");
	double renew = lease && *lease > 0 ? *lease / 3 : INFINITY;
	return s->sent + (s->dropped ? fmin(RESUBSCRIBE_S, renew) : renew);
}

static int watch(Link *l)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
	sigset_t block;
	sigemptyset(&block);
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigaddset(&block, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &block, &l->unblock_mask);
	l->unblock = &l->unblock_mask;
	/* A closed pipe shows up as a write error: unsubscribe, then go. */
	signal(SIGPIPE, SIG_IGN);

	static View v;
	v.where = l->where;
	v.interval_ms = opt.interval_ms ? opt.interval_ms : 100;
	Lease lease;
	subscribe(l, &lease);
	if (!await(l, l->timeout, "/fxd/subscribed", accept_subscribed,
	           &v.interval_ms)) {
		unsubscribe(l, 1);
		return RC_OK;
	}
	/* /fxd/stats comes at least once a second. */
	double stall = l->timeout + 2 * fmax(v.interval_ms, 1000) / 1e3;
	double heard = now();
	int tty = isatty(STDOUT_FILENO) && !opt.json;
	if (tty) {
		fputs("\033[?25l\033[H\033[2J", stdout);
		cursor_hidden = 1;
		draw(&v);
	}
	for (;;) {
		Msg m;
		double renew = next_subscribe(&lease, &v);
		if (now() >= renew) {
			subscribe(l, &lease);
			continue;
		}
		l->window = stall;
		l->deadline = fmin(heard + stall, renew);
		int r = receive(l, &m);
		if (r == -1 && resized && !stop) {
			resized = 0;
			if (tty)
				draw(&v);
			continue;
		}
		if (r == -2)
			gone(l);
		if (r < 0)
			break;
		if (r == 0) {
			if (now() < heard + stall)
				continue; /* time to renew */
			unsubscribe(l, 0);
			die(RC_NO_ANSWER,
			    "fxd at %s stopped sending (nothing for %g s)",
			    l->where, stall);
		}
		heard = now();
		int redraw = 0;
		if (forwarded(&m)) {
			if (tty) {
				forwarded_text(&m, v.fail, sizeof v.fail);
				clock_text(v.fail_clock, sizeof v.fail_clock);
				redraw = 1;
			} else {
				report_forwarded(&m);
			}
		} else if (is(&m, "/fxd/fail")) {
			refused(&m); /* a renewal refused: all places are static */
		} else if (is(&m, "/fxd/unsubscribed")) {
			lease.dropped = 1;
		} else if (is(&m, "/fxd/subscribed")) {
			accept_subscribed(l, &m, &v.interval_ms);
		}
		for (size_t i = 0; i < sizeof feeds / sizeof feeds[0]; i++) {
			if (!is(&m, feeds[i].path))
				continue;
			feeds[i].take(&v, &m);
			if (tty)
				redraw = 1;
			else if (feeds[i].line)
				print_line(&v);
		}
		if (redraw)
			draw(&v);
		if (fflush(stdout) == EOF) {
			int err = errno;
			unsubscribe(l, 0);
			if (err == EPIPE) /* | head: the reader has enough */
				exit(RC_OK);
			die(RC_LOCAL, "cannot write the output: %s",
			    strerror(err));
		}
		msg_free(&m);
	}
	unsubscribe(l, 1);
	return RC_OK;
}

static int cmd_stats(Link *l, const Command *c, char **args, int n)
{
	(void)args;
	(void)n;
	if (opt.watch)
		return watch(l);
	static Stats s;
	send_msg(l, c->address, NULL);
	await(l, l->timeout, "/fxd/stats", accept_stats, &s);
	if (opt.json) {
		stats_json(stdout, &s);
		fputc('\n', stdout);
	} else {
		print_stats(stdout, &s, 78);
	}
	return RC_OK;
}

static const Command commands[] = {
	{"set", NULL, 2, 2, cmd_set, NULL, 0, NULL, "PATH VALUE",
         "set a value (or on/off), print the value applied"},
	{"get", NULL, 1, 1, cmd_get, NULL, 0, NULL, "PATH", "print a value"},
	{"list", NULL, 0, 0, cmd_list, NULL, 0, NULL, "",
         "list every parameter with its value, range and unit"},
	{"info", NULL, 1, 1, cmd_info, "/fxd/info", 0, NULL, "PATH",
         "describe one parameter"},
	{"chain", NULL, 0, 0, cmd_get, "/fxd/chain", Q_BARE, "chain", "",
         "print the running chain"},
	{"load", NULL, 1, -1, cmd_done, "/fxd/chain/load", Q_CHAIN, NULL,
         "SPEC...", "crossfade to a new chain, print it"},
	{"preset", "save", 1, 1, cmd_done, "/fxd/preset/save", 0, NULL, "NAME",
         "save the running chain and values"},
	{"preset", "load", 1, 1, cmd_done, "/fxd/preset/load", Q_CHAIN, NULL,
         "NAME", "load a preset, print its chain"},
	{"preset", "list", 0, 0, cmd_preset_list, "/fxd/preset/list", 0, NULL,
         "", "list the presets"},
	{"mute", NULL, 0, 1, cmd_mute, "/fxd/mute", 0, NULL, "[on|off]",
         "fade the output out (on, the default) or back in; print the state"},
	{"unmute", NULL, 0, 0, cmd_mute, "/fxd/mute", 0, NULL, "",
         "same as mute off"},
	{"panic", NULL, 0, 0, cmd_done, "/fxd/panic", 0, NULL, "",
         "mute, reset every effect's state, unmute"},
	{"ping", NULL, 0, 0, cmd_ping, NULL, 0, NULL, "",
         "print the round-trip time"},
	{"sync", NULL, 0, 0, cmd_sync, NULL, 0, NULL, "",
         "wait until the audio has every change sent before"},
	{"bpm", NULL, 0, 1, cmd_bpm, "/fxd/bpm", Q_BARE, "bpm", "[VALUE]",
         "print or set the tempo"},
	{"reset-metrics", NULL, 0, 0, cmd_done, "/fxd/reset_metrics", 0, NULL,
         "", "clear the latency statistics and counters"},
	{"reset-state", NULL, 0, 0, cmd_done, "/fxd/reset_state", 0, NULL, "",
         "reset every effect's state (filter memories)"},
	{"stats", NULL, 0, 0, cmd_stats, "/fxd/stats", 0, NULL,
         "[--watch [--interval MS]]",
         "latency, DSP load, counters; --watch: live, with meters"},
	{"midi", "learn", 1, 1, cmd_midi_learn, "/fxd/midi/learn", 0, NULL,
         "PATH", "map the next MIDI CC or note fxd hears to PATH"},
	{"midi", "map", 1, 5, cmd_midi_map, "/fxd/midi/map", 0, NULL,
         "PATH CH NUM [MIN MAX]",
         "map CC NUM on channel CH (1..16 or *) to PATH (or one [midi] line)"},
	{"midi", "unmap", 1, 1, cmd_midi_unmap, "/fxd/midi/unmap", 0, NULL,
         "PATH", "remove the mappings that drive PATH"},
	{"midi", "list", 0, 0, cmd_midi_list, "/fxd/midi/list", 0, NULL, "",
         "list the live MIDI mappings, one [midi] line each"},
	{"tap", NULL, 0, 0, cmd_tap, "/fxd/tap", 0, NULL, "",
         "tap the tempo, print it"},
	{"morph", "a", 1, 1, cmd_done, "/fxd/morph/a", 0, NULL, "NAME",
         "preset NAME as morph end A"},
	{"morph", "b", 1, 1, cmd_done, "/fxd/morph/b", 0, NULL, "NAME",
         "preset NAME as morph end B"},
	{"morph", NULL, 0, 1, cmd_morph, "/fxd/morph", Q_BARE, "morph", "[X]",
         "move the morph between A and B (0..1), print its position"},
};

enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

/* ---- command line ------------------------------------------------------- */

typedef struct {
	const char *host, *port, *instance, *name, *timeout, *interval;
	int json, watch, find, help, version;
} Cli;

typedef struct {
	const char *name;
	char short_name;
	const char *arg; ///< value name; NULL for a flag
	size_t offset;   ///< a const char * for a value, an int for a flag
	const char *help;
} OptionInfo;

#define F(field) offsetof(Cli, field)
static const OptionInfo options[] = {
	{"host", 0, "ADDR", F(host),
         "fxd's IPv4 address ($FXD_OSC_HOST, else 127.0.0.1)"},
	{"port", 0, "N", F(port), "fxd's OSC port ($FXD_OSC_PORT, else 8000)"},
	{"instance", 0, "NAME", F(instance),
         "the fxd@NAME service: its OSC port from NAME (fxd(1))"},
	{"name", 'n', "NAME", F(name),
         "the fxd advertised as NAME over Zeroconf (see --find)"},
	{"find", 0, NULL, F(find),
         "list the fxd instances on the network (Zeroconf), then exit"},
	{"timeout", 0, "SEC", F(timeout),
         "how long to wait for an answer (default 2)"},
	{"json", 0, NULL, F(json), "print JSON"},
	{"watch", 0, NULL, F(watch), "stats: a live view until Ctrl-C"},
	{"interval", 0, "MS", F(interval),
         "stats --watch: update every MS, 20..10000 (default 100)"},
	{"version", 0, NULL, F(version), "print the version, then exit"},
	{"help", 'h', NULL, F(help), "print this help, then exit"},
};
#undef F

enum { N_OPTIONS = sizeof options / sizeof options[0] };

static void help(void)
{
	char left[64];
	printf("usage: fxctl [OPTIONS] COMMAND [ARGS]\n"
	       "Controls a running fxd over OSC (UDP).\n\nCommands:\n");
	for (int i = 0; i < N_COMMANDS; i++) {
		const Command *c = &commands[i];
		snprintf(left, sizeof left, "%s%s%s%s%s", c->name,
		         c->sub ? " " : "", c->sub ? c->sub : "",
		         *c->args ? " " : "", c->args);
		printf(strlen(left) > 20 ? "  %s\n%24s%s\n" : "  %-20s  %s%s\n",
		       left, "", c->help);
	}
	printf("\nOptions:\n");
	for (int i = 0; i < N_OPTIONS; i++) {
		const OptionInfo *o = &options[i];
		char shrt[8] = "    ";
		if (o->short_name)
			snprintf(shrt, sizeof shrt, "-%c, ", o->short_name);
		snprintf(left, sizeof left, "%s--%s%s%s", shrt, o->name,
		         o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-20s  %s\n", left, o->help);
	}
	printf("\nPATH is /fx/SLOT/PARAM, fx/SLOT/PARAM or SLOT/PARAM (also .../norm);\n"
	       "an address that starts with / is sent as it is (/fxd/mute, an "
	       "alias).\n\n"
	       "Exit status: 0 ok, 1 fxd refused (/fxd/fail), 2 usage error\n"
	       "or no Zeroconf, 3 no (complete) answer in time, nothing listens\n"
	       "there, or no fxd by that name, 4 local error (socket);\n"
	       "--find: 0 found, 1 none found, 2 no Zeroconf.\n");
}

/* A negative number is a value, not an option: set vol/db -6. */
static int is_number(const char *s)
{
	double v;
	return parse_num(s, &v);
}

static const OptionInfo *find_option(const char *name, size_t len, char c)
{
	for (int i = 0; i < N_OPTIONS; i++)
		if (c ? options[i].short_name == c
		      : strlen(options[i].name) == len &&
		                    !strncmp(options[i].name, name, len))
			return &options[i];
	return NULL;
}

/* Sorts argv into @p cli and the words left, in order; returns their
 * number. */
static int parse_cli(Cli *cli, int argc, char **argv, char **words)
{
	int n = 0, dashdash = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!dashdash && !strcmp(a, "--")) {
			dashdash = 1;
			continue;
		}
		if (dashdash || a[0] != '-' || !a[1] || is_number(a)) {
			words[n++] = argv[i];
			continue;
		}
		const char *name = a + 2, *eq = NULL;
		const OptionInfo *o;
		if (a[1] != '-') {
			if (a[2] || !(o = find_option(NULL, 0, a[1])))
				usage_error("unknown option '%s'", a);
		} else {
			eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			if (!(o = find_option(name, len, 0))) {
				char word[64];
				snprintf(word, sizeof word, "%.*s", (int)len,
				         name);
				FxSuggest sg = fx_suggest_start(word);
				for (int k = 0; k < N_OPTIONS; k++)
					fx_suggest_offer(&sg, options[k].name);
				if (sg.best)
					usage_error("unknown option '--%s' (did you mean "
					            "'--%s'?)",
					            word, sg.best);
				usage_error("unknown option '--%s'", word);
			}
		}
		char *field = (char *)cli + o->offset;
		if (!o->arg) {
			if (eq)
				usage_error("option '--%s' takes no value",
				            o->name);
			*(int *)field = 1;
			continue;
		}
		if (!eq && i + 1 >= argc)
			usage_error("option '--%s' needs a value", o->name);
		*(const char **)field = eq ? eq + 1 : argv[++i];
	}
	return n;
}

/* The value of an option: the command line, else @p env, else @p dflt;
 * @p source names where it came from, for messages. */
static const char *setting(const char *given, const char *opt_name,
                           const char *env, const char *dflt, char *source,
                           size_t size)
{
	const char *e = env ? getenv(env) : NULL;
	if (given) {
		snprintf(source, size, "--%s", opt_name);
		return given;
	}
	if (e && *e) {
		snprintf(source, size, "%s", env);
		return e;
	}
	snprintf(source, size, "--%s", opt_name);
	return dflt;
}

/* The subcommands of @p name as "save, load or list". */
static void subs_of(const char *name, char *buf, size_t size)
{
	int n = 0, k = 0;
	for (int i = 0; i < N_COMMANDS; i++)
		n += commands[i].sub && !strcmp(commands[i].name, name);
	*buf = '\0';
	for (int i = 0; i < N_COMMANDS; i++) {
		if (!commands[i].sub || strcmp(commands[i].name, name))
			continue;
		const char *sep = !k ? "" : k == n - 1 ? " or " : ", ";
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", sep, commands[i].sub);
		k++;
	}
}

/* A row with a subcommand matches its two words; a row of the same name
 * without one (morph X) takes what is left. */
static const Command *find_command(char **words, int n, int *used)
{
	const Command *bare = NULL;
	int named = 0;
	for (int i = 0; i < N_COMMANDS; i++) {
		const Command *c = &commands[i];
		if (strcmp(c->name, words[0]))
			continue;
		named = 1;
		if (!c->sub)
			bare = c;
		else if (n >= 2 && !strcmp(c->sub, words[1])) {
			*used = 2;
			return c;
		}
	}
	if (bare) {
		*used = 1;
		return bare;
	}
	if (named) {
		char subs[128];
		subs_of(words[0], subs, sizeof subs);
		if (n < 2)
			usage_error("%s: needs %s", words[0], subs);
		FxSuggest sg = fx_suggest_start(words[1]);
		for (int i = 0; i < N_COMMANDS; i++)
			if (commands[i].sub && !strcmp(commands[i].name, words[0]))
				fx_suggest_offer(&sg, commands[i].sub);
		if (sg.best)
			usage_error("%s: '%s' is not %s (did you mean '%s'?)",
			            words[0], words[1], subs, sg.best);
		usage_error("%s: '%s' is not %s", words[0], words[1], subs);
	}
	FxSuggest sg = fx_suggest_start(words[0]);
	for (int i = 0; i < N_COMMANDS; i++)
		fx_suggest_offer(&sg, commands[i].name);
	if (sg.best)
		usage_error("unknown command '%s' (did you mean '%s'?)",
		            words[0], sg.best);
	usage_error("unknown command '%s'", words[0]);
}

/* ---- Zeroconf ----------------------------------------------------------- */

enum { MAX_FOUND = 256 };

static void json_found(const FxFound *f)
{
	fputs("{\"name\":", stdout);
	json_str(stdout, f->name);
	fputs(",\"host\":", stdout);
	json_str(stdout, f->host);
	fputs(",\"address\":", stdout);
	if (*f->address)
		json_str(stdout, f->address);
	else
		fputs("null", stdout);
	printf(",\"osc_port\":");
	printf(f->osc_port ? "%d" : "null", f->osc_port);
	printf(",\"http_port\":");
	printf(f->http_port ? "%d}" : "null}", f->http_port);
}

/* --find: one line per instance, NAME HOST OSC_PORT HTTP_PORT, separated
 * by tabs (a name may hold spaces: "fxd #2"); "-" for no port. */
static int find_all(double wait_s)
{
	static FxFound found[MAX_FOUND];
	char err[256];
	int n = fx_find(NULL, wait_s, found, MAX_FOUND, err, sizeof err);
	if (n == FX_FIND_UNAVAILABLE)
		die(RC_USAGE, "%s", err);
	if (opt.json)
		fputc('[', stdout);
	for (int i = 0; i < n; i++) {
		const FxFound *f = &found[i];
		char osc[8] = "-", http[8] = "-";
		if (opt.json) {
			fputs(i ? "," : "", stdout);
			json_found(f);
			continue;
		}
		if (f->osc_port)
			snprintf(osc, sizeof osc, "%d", f->osc_port);
		if (f->http_port)
			snprintf(http, sizeof http, "%d", f->http_port);
		printf("%s\t%s\t%s\t%s\n", f->name, f->host, osc, http);
	}
	if (opt.json)
		fputs("]\n", stdout);
	if (fflush(stdout) == EOF)
		die(RC_LOCAL, "cannot write the output: %s", strerror(errno));
	if (n)
		return RC_OK;
	fprintf(stderr, "fxctl: no fxd found on the network (nothing "
	                "advertises _osc._udp or _oscjson._tcp)\n");
	return 1;
}

/* -n NAME: the address and OSC port NAME's _osc._udp service gives. */
static long find_name(const char *name, double wait_s, struct in_addr *addr)
{
	FxFound found;
	char err[256];
	int n = fx_find(name, wait_s, &found, 1, err, sizeof err);
	if (n == FX_FIND_UNAVAILABLE)
		die(RC_USAGE, "%s", err);
	if (n < 1 || !found.osc_port ||
	    inet_pton(AF_INET, found.address, addr) != 1)
		die(RC_NO_ANSWER,
		    "no fxd advertised as '%s' over Zeroconf within %g s "
		    "(fxctl --find lists those there are)",
		    name, wait_s);
	return found.osc_port;
}

int main(int argc, char **argv)
{
	Cli cli = {0};
	/* Static: a usage error exits from deep inside, still holding it. */
	static char **words;
	words = calloc((size_t)argc + 1, sizeof *words);
	if (!words)
		die(RC_LOCAL, "out of memory");
	int n = parse_cli(&cli, argc, argv, words);
	if (cli.help) {
		help();
		return RC_OK;
	}
	if (cli.version) {
		puts(FXCTL_VERSION);
		return RC_OK;
	}
	if (!n && !cli.find)
		usage_error("no command given");
	if (cli.find && n)
		usage_error("--find takes no command");
	if ((cli.find || cli.name) && (cli.host || cli.port || cli.instance))
		usage_error("--%s finds fxd's address and port: give no --host, "
		            "--port or --instance with it",
		            cli.find ? "find" : "name");
	if (cli.find && cli.name)
		usage_error("--find lists every fxd: give no --name with it");
	if (cli.name && !*cli.name)
		usage_error("--name: the name is empty");

	char src[32];
	const char *host = setting(cli.host, "host", "FXD_OSC_HOST",
	                           "127.0.0.1", src, sizeof src);
	struct in_addr addr;
	/* Found over Zeroconf instead, below. */
	if (cli.find || cli.name)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &addr) != 1)
		usage_error("%s: '%s' is not a numeric IPv4 address (fxctl looks "
		            "up no names; try 127.0.0.1)",
		            src, host);
	if (addr.s_addr == htonl(INADDR_ANY))
		usage_error("%s: 0.0.0.0 is no address to send to; try 127.0.0.1",
		            src);
	long port, interval = 0;
	if (cli.instance && cli.port)
		usage_error("--port and --instance both name a port; give one");
	if (cli.instance && !*cli.instance)
		usage_error("--instance: the name is empty");
	const char *p = setting(cli.port, "port", "FXD_OSC_PORT", "8000", src,
	                        sizeof src);
	if (cli.instance)
		port = fx_instance_osc_port(cli.instance);
	else if (cli.find || cli.name)
		port = 0;
	else if (!parse_long(p, 1, 65535, &port))
		usage_error("%s: '%s' is not a port number (1..65535)", src, p);
	double timeout = 2;
	if (cli.timeout && (!parse_num(cli.timeout, &timeout) || timeout <= 0 ||
	                    timeout > 3600))
		usage_error("--timeout: '%s' is not a number of seconds "
		            "(above 0, up to 3600)",
		            cli.timeout);
	if (cli.interval && !parse_long(cli.interval, 20, 10000, &interval))
		usage_error("--interval: '%s' is not a number of milliseconds "
		            "(20..10000)",
		            cli.interval);
	if (cli.find) {
		if (cli.watch || cli.interval)
			usage_error("--watch is for the stats command");
		opt.json = cli.json;
		return find_all(timeout);
	}

	int used;
	const Command *c = find_command(words, n, &used);
	int nargs = n - used;
	if (nargs < c->min_args || (c->max_args >= 0 && nargs > c->max_args))
		usage_error("%s%s%s: %s%s", c->name, c->sub ? " " : "",
		            c->sub ? c->sub : "",
		            *c->args ? "expects "
		                     : "takes no "
		                       "arguments",
		            c->args);
	if (cli.watch && c->run != cmd_stats)
		usage_error("--watch is for the stats command");
	if (cli.interval && !cli.watch)
		usage_error("--interval needs --watch");
	opt.json = cli.json;
	opt.watch = cli.watch;
	opt.interval_ms = (int)interval;

	if (cli.name)
		port = find_name(cli.name, timeout, &addr);
	static Link link;
	atexit(at_exit);
	link_open(&link, addr, (int)port, timeout);
	int rc = c->run(&link, c, words + used, nargs);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(RC_LOCAL, "cannot write the output: %s", strerror(errno));
	close(link.fd);
	free(words);
	return rc;
}

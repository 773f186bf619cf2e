/* The OSC server's transport: its own sockets, the allowlist, packet
 * checks, liblo dispatch, sending and the thread's loop. */
#define _GNU_SOURCE
#include "osc/osc_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How long the loop may sleep: short while a sync or a timed change waits,
 * so barriers answer within a few ms of the worker. */
static const int POLL_BUSY_MS = 2, POLL_IDLE_MS = 10;
/* Datagrams taken per wake-up before the periodic work gets a turn. */
static const int BATCH = 256;
/* Nice value of the OSC thread (threads have their own on Linux). */
static const int OSC_NICE = 5;

double fx_osc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double fx_osc_clock(const FxOsc *o)
{
	return fx_osc_now() + o->clock_offset;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

FxOscConfig fx_osc_config_default(void)
{
	return (FxOscConfig){.bind = "127.0.0.1", .port = 8000, .rate_hz = 30,
	                     .tcp_max = 8, .tcp_idle_s = 300, .lease_s = 60};
}

/* ---- option checks -------------------------------------------------------- */

static int parse_cidr(const char *text, size_t len, FxCidr *out)
{
	char buf[64];
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	long bits = 32;
	char *slash = strchr(buf, '/');
	if (slash) {
		char *end;
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || bits < 0 || bits > 32)
			return -1;
	}
	struct in_addr a;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	out->mask = bits ? 0xffffffffu << (32 - bits) : 0;
	out->net = ntohl(a.s_addr) & out->mask;
	return 0;
}

/* Splits "a,b,c" into up to @p max CIDRs. Returns the count or -1. */
static int parse_cidrs(const char *value, FxCidr *out, int max)
{
	int n = 0;
	for (const char *p = value;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		while (len && *p == ' ')
			p++, len--;
		while (len && p[len - 1] == ' ')
			len--;
		if (n == max || parse_cidr(p, len, &out[n]) != 0)
			return -1;
		n++;
		if (!comma)
			return n;
		p = comma + 1;
	}
}

const char *fx_osc_check_cidrs(const char *value, char *buf, size_t size)
{
	FxCidr tmp[FX_OSC_MAX_CIDRS];
	(void)buf;
	(void)size;
	return parse_cidrs(value, tmp, FX_OSC_MAX_CIDRS) < 0
	               ? "is not a list of IPv4 networks like "
	                 "192.168.1.0/24,10.0.0.5 (at most 16)"
	               : NULL;
}

static int parse_target(const char *value, struct sockaddr_in *out)
{
	const char *colon = strrchr(value, ':');
	char host[64];
	if (!colon || colon == value || (size_t)(colon - value) >= sizeof host)
		return -1;
	memcpy(host, value, (size_t)(colon - value));
	host[colon - value] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 1 || port > 65535)
		return -1;
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

const char *fx_osc_check_target(const char *value, char *buf, size_t size)
{
	struct sockaddr_in a;
	(void)buf;
	(void)size;
	return parse_target(value, &a) ? "is not HOST:PORT with a numeric "
	                                 "IPv4 host (no DNS names)"
	                               : NULL;
}

static int is_pattern(const char *s)
{
	return strpbrk(s, "*?[]{}") != NULL;
}

const char *fx_osc_check_alias(const char *value, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	const char *eq = strchr(value, '=');
	if (!eq || value[0] != '/' || eq[1] != '/')
		return "is not FROM=TO with two OSC addresses";
	if (eq[-1] == '/' || value[strlen(value) - 1] == '/' ||
	    is_pattern(value) || strchr(value, ' '))
		return "must not contain spaces, patterns or a trailing '/'";
	return NULL;
}

/* ---- sockets -------------------------------------------------------------- */

static void lo_error(int num, const char *msg, const char *where)
{
	/* Bad packets are counted and answered; liblo must not print. */
	(void)num;
	(void)msg;
	(void)where;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static FxOsc *fail_new(FxOsc *o, char *err, size_t size, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

/* Frees the half-built server and says why: returns NULL. */
static FxOsc *fail_new(FxOsc *o, char *err, size_t size, const char *fmt,
                       ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	fx_osc_free(o);
	return NULL;
}

static int bind_socket(FxOsc *o, int type, const struct sockaddr_in *addr,
                       char *err, size_t size)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
		int e = errno;
		close(fd);
		snprintf(err, size, "cannot listen for OSC (%s) on %s:%d: %s%s",
		         type == SOCK_STREAM ? "tcp" : "udp", o->cfg.bind,
		         ntohs(addr->sin_port), strerror(e),
		         e == EADDRINUSE ? " (is another fxd running? "
		                           "--osc-port picks another port)"
		                         : "");
		errno = e;
		return -1;
	}
	set_nonblock(fd);
	return fd;
}

FxOsc *fx_osc_new(const FxOscConfig *cfg, FxControl *control, char *err,
                  size_t err_size)
{
	FxOsc *o = calloc(1, sizeof *o);
	if (!o) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	o->cfg = *cfg;
	o->control = control;
	o->udp = o->tcp_listen = o->wake[0] = o->wake[1] = -1;
	if (cfg->tcp_max < 1 || cfg->tcp_max > FX_OSC_MAX_TCP)
		return fail_new(o, err, err_size, "--osc-tcp-max: %d is not "
		                "1..%d", cfg->tcp_max, FX_OSC_MAX_TCP);
	o->tcp = calloc((size_t)cfg->tcp_max, sizeof *o->tcp);
	o->fds = calloc(3 + (size_t)cfg->tcp_max, sizeof *o->fds);
	o->tcp_at = calloc((size_t)cfg->tcp_max, sizeof *o->tcp_at);
	if (!o->tcp || !o->fds || !o->tcp_at ||
	    !(o->rx = malloc(FX_OSC_MAX_PACKET)))
		return fail_new(o, err, err_size, "out of memory");
	for (int i = 0; i < cfg->tcp_max; i++)
		o->tcp[i].fd = -1;
	if (cfg->allow &&
	    (o->n_allow = parse_cidrs(cfg->allow, o->allow,
	                              FX_OSC_MAX_CIDRS)) < 0)
		return fail_new(o, err, err_size, "--osc-allow: bad list '%s'",
		                cfg->allow);
	o->aliases = calloc((size_t)cfg->n_aliases + 1, sizeof *o->aliases);
	if (!o->aliases)
		return fail_new(o, err, err_size, "out of memory");
	for (int i = 0; i < cfg->n_aliases; i++) {
		const char *a = cfg->aliases[i], *eq = strchr(a, '=');
		if (!eq || fx_osc_check_alias(a, NULL, 0))
			return fail_new(o, err, err_size, "bad alias '%s'", a);
		o->aliases[i].from = strndup(a, (size_t)(eq - a));
		o->aliases[i].to = strdup(eq + 1);
		o->n_aliases = i + 1;
		if (!o->aliases[i].from || !o->aliases[i].to)
			return fail_new(o, err, err_size, "out of memory");
	}

	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_port = htons((uint16_t)cfg->port)};
	if (inet_pton(AF_INET, cfg->bind, &addr.sin_addr) != 1)
		return fail_new(o, err, err_size, "--osc-bind: '%s' is not a "
		                "numeric IPv4 address", cfg->bind);
	if ((o->udp = bind_socket(o, SOCK_DGRAM, &addr, err, err_size)) < 0) {
		int e = errno; /* EADDRINUSE tells a taken port apart */
		fx_osc_free(o);
		errno = e;
		return NULL;
	}
	int one = 1;
	/* The kernel counts datagrams it dropped for a full queue. */
	setsockopt(o->udp, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
	/* ICMP errors for datagrams sent (port unreachable: a subscriber
	 * that quit) come back on the error queue, naming the destination;
	 * without this Linux drops them on an unconnected socket. */
	setsockopt(o->udp, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
	int rcvbuf = 1 << 20;
	setsockopt(o->udp, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	socklen_t alen = sizeof addr;
	getsockname(o->udp, (struct sockaddr *)&addr, &alen);
	o->port = ntohs(addr.sin_port);
	if (cfg->tcp) {
		if ((o->tcp_listen = bind_socket(o, SOCK_STREAM, &addr, err,
		                                 err_size)) < 0) {
			int e = errno;
			fx_osc_free(o);
			errno = e;
			return NULL;
		}
		listen(o->tcp_listen, 8);
	}
	snprintf(o->describe, sizeof o->describe, "%s %s:%d",
	         cfg->tcp ? "udp+tcp" : "udp", cfg->bind, o->port);

	/* The dispatch table: a liblo server on a private local socket that
	 * nothing ever connects to (lo_server_new(NULL) would open a UDP
	 * port on every interface). */
	char dir[] = "/tmp/fxd-osc-XXXXXX";
	if (!mkdtemp(dir))
		return fail_new(o, err, err_size, "cannot make a directory in "
		                "/tmp: %s", strerror(errno));
	snprintf(o->lo_path, sizeof o->lo_path, "%s/lo", dir);
	o->lo = lo_server_new_with_proto(o->lo_path, LO_UNIX, lo_error);
	unlink(o->lo_path);
	rmdir(dir);
	if (!o->lo)
		return fail_new(o, err, err_size, "cannot create the liblo "
		                "dispatch table");
	lo_server_add_method(o->lo, NULL, NULL, fx_osc_dispatch, o);
	if (pipe2(o->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		return fail_new(o, err, err_size, "pipe: %s", strerror(errno));

	for (int i = 0; i < cfg->n_targets; i++) {
		struct sockaddr_in t;
		if (parse_target(cfg->targets[i], &t) != 0)
			return fail_new(o, err, err_size, "bad --osc-target '%s'",
			                cfg->targets[i]);
		if (fx_osc_subscribe(o, &t, 100, 1) != 0)
			return fail_new(o, err, err_size, "too many OSC targets "
			                "(at most %d)", FX_OSC_MAX_SUBSCRIBERS);
	}
	return o;
}

int fx_osc_is_self(const FxOsc *o, const struct sockaddr_in *a)
{
	if (ntohs(a->sin_port) != o->port)
		return 0;
	struct in_addr bound;
	inet_pton(AF_INET, o->cfg.bind, &bound);
	uint32_t addr = ntohl(a->sin_addr.s_addr);
	/* Bound to every interface: any local address may be this socket;
	 * loopback and the bound address certainly are. */
	return a->sin_addr.s_addr == bound.s_addr || (addr >> 24) == 127 ||
	       (bound.s_addr == htonl(INADDR_ANY) && addr == INADDR_ANY);
}

int fx_osc_port(const FxOsc *o)
{
	return o->port;
}

const char *fx_osc_describe(const FxOsc *o)
{
	return o->describe;
}

void fx_osc_counters(FxOsc *o, FxOscCounters *out)
{
	out->received = atomic_load(&o->received);
	out->rejected = atomic_load(&o->rejected);
	out->dropped = atomic_load(&o->dropped);
	out->kernel_drops = atomic_load(&o->kernel_drops);
	out->send_errors = atomic_load(&o->send_errors);
	out->subscribers = atomic_load(&o->n_subs_seen);
	out->subs_unreachable = atomic_load(&o->subs_unreachable);
	out->subs_expired = atomic_load(&o->subs_expired);
	out->subs_evicted = atomic_load(&o->subs_evicted);
	out->tcp_timed_out = atomic_load(&o->tcp_timed_out);
	out->tcp_evicted = atomic_load(&o->tcp_evicted);
	out->fails_forwarded = atomic_load(&o->fails_forwarded);
	out->fails_skipped = atomic_load(&o->fails_skipped);
}

/* ---- sending -------------------------------------------------------------- */

static void close_tcp(FxOsc *o, int i)
{
	if (o->tcp[i].fd >= 0)
		close(o->tcp[i].fd);
	o->tcp[i].fd = -1;
	o->tcp[i].len = 0;
}

/* A reply that no packet can carry is answered with why, not dropped
 * without a word (the callers split what can grow; this is the net). */
static void too_big(FxOsc *o, const FxPeer *peer, const char *path,
                    size_t len)
{
	char why[160];
	snprintf(why, sizeof why, "the reply (%zu bytes) is larger than %s "
	         "can carry", len, peer->tcp < 0 ? "a UDP datagram" : "a "
	         "packet");
	lo_message m = lo_message_new();
	if (!m)
		return;
	lo_message_add_string(m, path);
	lo_message_add_string(m, why);
	fx_osc_send(o, peer, "/fxd/fail", m);
	lo_message_free(m);
}

void fx_osc_send(FxOsc *o, const FxPeer *peer, const char *path, lo_message m)
{
	uint8_t buf[FX_OSC_MAX_PACKET + 4];
	size_t len = lo_message_length(m, path);
	size_t max = peer->tcp < 0 ? FX_OSC_MAX_UDP : FX_OSC_MAX_PACKET;
	if (len == 0 || len > max) {
		atomic_fetch_add(&o->send_errors, 1);
		if (len)
			too_big(o, peer, path, len);
		return;
	}
	lo_message_serialise(m, path, buf + 4, &len);
	ssize_t sent;
	if (peer->tcp < 0) {
		sent = sendto(o->udp, buf + 4, len, MSG_DONTWAIT,
		              (const struct sockaddr *)&peer->addr,
		              sizeof peer->addr);
		/* An ICMP error for an earlier datagram (IP_RECVERR) fails the
		 * next send once, whatever its destination: send again. */
		if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			sent = sendto(o->udp, buf + 4, len, MSG_DONTWAIT,
			              (const struct sockaddr *)&peer->addr,
			              sizeof peer->addr);
		if (sent != (ssize_t)len)
			atomic_fetch_add(&o->send_errors, 1);
		return;
	}
	FxTcpConn *c = &o->tcp[peer->tcp];
	if (c->fd < 0 || c->serial != peer->tcp_serial)
		return; /* that connection is gone; the slot may be another's */
	uint32_t be = htonl((uint32_t)len);
	memcpy(buf, &be, 4);
	sent = send(c->fd, buf, len + 4, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent != (ssize_t)(len + 4)) {
		/* A client too slow to take a reply whole loses its
		 * connection rather than a torn stream. */
		atomic_fetch_add(&o->send_errors, 1);
		close_tcp(o, peer->tcp);
	}
}

void fx_osc_reply_internal(FxOsc *o, const char *path, const char *types,
                           ...)
{
	lo_message m = lo_message_new();
	if (!m)
		return;
	va_list ap;
	va_start(ap, types);
	int rc = lo_message_add_varargs(m, types, ap);
	va_end(ap);
	if (rc == 0)
		fx_osc_send(o, &o->from, path, m);
	lo_message_free(m);
}

/* Copies what fits of @p src; the reason may be longer than a forwarded
 * copy keeps. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Keeps a failure for the subscribers, merged with the same one from the
 * same sender: Pd's [netsend], TouchOSC and python-osc send from a socket
 * they do not listen on, and see failures only this way. */
static void queue_fail(FxOsc *o, const char *address, const char *why)
{
	char host[INET_ADDRSTRLEN], sender[40];
	inet_ntop(AF_INET, &o->from.addr.sin_addr, host, sizeof host);
	snprintf(sender, sizeof sender, "%s %s:%d",
	         o->from.tcp < 0 ? "udp" : "tcp", host,
	         ntohs(o->from.addr.sin_port));
	for (int i = 0; i < o->n_fails; i++) {
		FxPendingFail *f = &o->fails[i];
		if (!strcmp(f->sender, sender) &&
		    !strcmp(f->address, address) &&
		    !strncmp(f->why, why, sizeof f->why - 1)) {
			f->repeats++;
			return;
		}
	}
	if (o->n_fails == FX_OSC_PENDING_FAILS) {
		o->fails_overflow++;
		return;
	}
	FxPendingFail *f = &o->fails[o->n_fails++];
	copy_text(f->address, sizeof f->address, address);
	copy_text(f->why, sizeof f->why, why);
	memcpy(f->sender, sender, sizeof sender);
	f->peer = o->from;
	f->repeats = 0;
}

void fx_osc_fail(FxOsc *o, const char *address, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	/* One bad packet counts once, however many of its messages fail. */
	if (!o->failed++)
		atomic_fetch_add(&o->rejected, 1);
	/* Keep garbage addresses printable and short. */
	char addr[128];
	size_t n = 0;
	for (const char *p = address; *p && n < sizeof addr - 1; p++)
		addr[n++] = (*p >= 32 && *p < 127) ? *p : '?';
	addr[n] = '\0';
	fx_osc_reply(o, "/fxd/fail", "ss", addr, why);
	queue_fail(o, addr, why);
}

/* ---- receiving ------------------------------------------------------------ */

static int allowed(const FxOsc *o, const struct sockaddr_in *from)
{
	if (!o->n_allow)
		return 1;
	uint32_t a = ntohl(from->sin_addr.s_addr);
	for (int i = 0; i < o->n_allow; i++)
		if ((a & o->allow[i].mask) == o->allow[i].net)
			return 1;
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Checks what liblo would act on before it does: every message address in
 * the packet starts with '/', is terminated, and does not end in '/'
 * (liblo answers those itself, outside fxd's socket). Bundles are made
 * immediate: liblo would queue a future one where only its own receive
 * loop, which fxd does not run, takes it out again. Returns NULL or why
 * not; *@p address points at the offending address when there is one. */
static const char *check_packet(uint8_t *p, size_t len, int depth,
                                const char **address)
{
	static const uint8_t IMMEDIATE[8] = {0, 0, 0, 0, 0, 0, 0, 1};
	if (len < 4 || len % 4)
		return "truncated packet";
	if (len >= 16 && !memcmp(p, "#bundle", 8)) {
		if (depth > 4)
			return "bundles nested too deep";
		memcpy(p + 8, IMMEDIATE, sizeof IMMEDIATE);
		for (size_t at = 16; at < len;) {
			if (len - at < 4)
				return "truncated bundle";
			uint32_t n = be32(p + at);
			at += 4;
			if (n > len - at || n == 0)
				return "truncated bundle";
			const char *why = check_packet(p + at, n, depth + 1,
			                               address);
			if (why)
				return why;
			at += n;
		}
		return NULL;
	}
	const char *nul = memchr(p, '\0', len);
	if (!nul)
		return "unterminated address";
	*address = (const char *)p;
	if (p[0] != '/')
		return "address must start with '/'";
	if (nul[-1] == '/')
		return "address must not end with '/'";
	return NULL;
}

static void handle_packet(FxOsc *o, uint8_t *data, size_t len,
                          const FxPeer *from, uint64_t rx_ns)
{
	atomic_fetch_add(&o->received, 1);
	o->from = *from;
	o->rx_ns = rx_ns;
	o->failed = 0;
	const char *address = "";
	const char *why = check_packet(data, len, 0, &address);
	if (why) {
		fx_osc_fail(o, address, "%s", why);
		return;
	}
	if (lo_server_dispatch_data(o->lo, data, len) < 0)
		fx_osc_fail(o, address, "malformed OSC message");
}

void fx_osc_inject(FxOsc *o, const void *data, size_t len, int port)
{
	FxPeer peer = {.tcp = -1};
	peer.addr.sin_family = AF_INET;
	peer.addr.sin_port = htons((uint16_t)port);
	peer.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (len > FX_OSC_MAX_PACKET)
		len = FX_OSC_MAX_PACKET;
	memcpy(o->rx, data, len);
	handle_packet(o, o->rx, len, &peer, now_ns());
}

static void read_udp(FxOsc *o)
{
	for (int k = 0; k < BATCH; k++) {
		struct sockaddr_in from;
		char ctl[CMSG_SPACE(sizeof(uint32_t))];
		struct iovec iov = {o->rx, FX_OSC_MAX_PACKET};
		struct msghdr mh = {
			.msg_name = &from, .msg_namelen = sizeof from,
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl, .msg_controllen = sizeof ctl,
		};
		ssize_t n = recvmsg(o->udp, &mh, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0)
			continue; /* an ICMP error reported here: taken */
		uint64_t rx = now_ns();
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SO_RXQ_OVFL) {
				uint32_t drops;
				memcpy(&drops, CMSG_DATA(c), sizeof drops);
				atomic_store(&o->kernel_drops, drops);
			}
		if (!allowed(o, &from) || fx_osc_is_self(o, &from)) {
			atomic_fetch_add(&o->dropped, 1);
			continue;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			atomic_fetch_add(&o->received, 1);
			FxPeer p = {from, -1, 0};
			o->from = p;
			o->failed = 0;
			fx_osc_fail(o, "", "packet larger than %d bytes",
			            FX_OSC_MAX_PACKET);
			continue;
		}
		FxPeer peer = {from, -1, 0};
		handle_packet(o, o->rx, (size_t)n, &peer, rx);
	}
}

/* The socket's error queue: each entry is a datagram fxd sent that came
 * back undeliverable, named by its destination. */
static void read_errors(FxOsc *o)
{
	for (int k = 0; k < BATCH; k++) {
		struct sockaddr_in dest;
		char ctl[512];
		uint8_t byte;
		struct iovec iov = {&byte, 1};
		struct msghdr mh = {
			.msg_name = &dest, .msg_namelen = sizeof dest,
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl, .msg_controllen = sizeof ctl,
		};
		if (recvmsg(o->udp, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != IPPROTO_IP ||
			    c->cmsg_type != IP_RECVERR)
				continue;
			struct sock_extended_err e;
			memcpy(&e, CMSG_DATA(c), sizeof e);
			atomic_fetch_add(&o->send_errors, 1);
			/* Only "nothing listens on that port" is final: a host
			 * or network unreachable may be a Wi-Fi hiccup, which
			 * the lease covers. */
			if (e.ee_origin == SO_EE_ORIGIN_ICMP &&
			    e.ee_errno == ECONNREFUSED &&
			    mh.msg_namelen >= sizeof dest)
				fx_osc_unreachable(o, &dest);
		}
	}
	/* The same error is also pending on the socket; take it now rather
	 * than have it fail the next send. */
	int pending;
	socklen_t len = sizeof pending;
	getsockopt(o->udp, SOL_SOCKET, SO_ERROR, &pending, &len);
}

static void accept_tcp(FxOsc *o)
{
	struct sockaddr_in from;
	socklen_t len = sizeof from;
	int fd = accept4(o->tcp_listen, (struct sockaddr *)&from, &len,
	                 SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!allowed(o, &from)) {
		atomic_fetch_add(&o->dropped, 1);
		close(fd);
		return;
	}
	/* A free place, or else the connection silent the longest gives way:
	 * idle clients must not lock new ones out. */
	int at = -1;
	for (int i = 0; i < o->cfg.tcp_max; i++) {
		if (o->tcp[i].fd < 0) {
			at = i;
			break;
		}
		if (at < 0 || o->tcp[i].last_active < o->tcp[at].last_active)
			at = i;
	}
	FxTcpConn *c = &o->tcp[at];
	if (c->fd >= 0) {
		close_tcp(o, at);
		atomic_fetch_add(&o->tcp_evicted, 1);
	}
	if (!c->buf && !(c->buf = malloc(FX_OSC_MAX_PACKET + 4))) {
		close(fd); /* out of memory: the client sees it close */
		return;
	}
	c->fd = fd;
	c->serial = ++o->tcp_serial;
	c->addr = from;
	c->len = 0;
	c->last_active = fx_osc_clock(o);
}

/* Closes connections silent for longer than --osc-tcp-idle. */
static void expire_tcp(FxOsc *o)
{
	if (o->cfg.tcp_idle_s <= 0)
		return;
	double now = fx_osc_clock(o);
	for (int i = 0; i < o->cfg.tcp_max; i++)
		if (o->tcp[i].fd >= 0 &&
		    now - o->tcp[i].last_active >= o->cfg.tcp_idle_s) {
			close_tcp(o, i);
			atomic_fetch_add(&o->tcp_timed_out, 1);
		}
}

/* Reads OSC 1.0 stream frames (a 32-bit big-endian length, then the
 * packet). */
static void read_tcp(FxOsc *o, int i)
{
	FxTcpConn *c = &o->tcp[i];
	ssize_t n = recv(c->fd, c->buf + c->len,
	                 FX_OSC_MAX_PACKET + 4 - c->len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			close_tcp(o, i);
		return;
	}
	c->len += (size_t)n;
	c->last_active = fx_osc_clock(o);
	uint64_t rx = now_ns();
	while (c->fd >= 0 && c->len >= 4) {
		uint32_t size = be32(c->buf);
		if (size > FX_OSC_MAX_PACKET) {
			FxPeer p = {c->addr, i, c->serial};
			o->from = p;
			o->failed = 0;
			atomic_fetch_add(&o->received, 1);
			fx_osc_fail(o, "", "packet larger than %d bytes",
			            FX_OSC_MAX_PACKET);
			close_tcp(o, i);
			return;
		}
		if (c->len < 4 + size)
			return;
		FxPeer peer = {c->addr, i, c->serial};
		handle_packet(o, c->buf + 4, size, &peer, rx);
		if (c->fd < 0)
			return;
		memmove(c->buf, c->buf + 4 + size, c->len - 4 - size);
		c->len -= 4 + size;
	}
}

static void *thread_main(void *arg)
{
	FxOsc *o = arg;
	/* A flood of packets must not crowd out the audio worker when JACK
	 * runs without realtime scheduling: this thread yields to it. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), OSC_NICE) != 0) {
		/* not fatal: the worker is realtime whenever JACK is */
	}
	/* Static targets get the whole state first, like any subscriber. */
	for (int i = 0; i < o->n_subs; i++) {
		FxPeer peer = {o->subs[i].addr, -1, 0};
		fx_osc_send_state(o, &peer);
	}
	struct pollfd *fds = o->fds;
	int *tcp_at = o->tcp_at;
	while (!atomic_load(&o->stop)) {
		int n = 0;
		fds[n++] = (struct pollfd){o->wake[0], POLLIN, 0};
		fds[n++] = (struct pollfd){o->udp, POLLIN, 0};
		int listen_at = -1;
		if (o->tcp_listen >= 0) {
			listen_at = n;
			fds[n++] = (struct pollfd){o->tcp_listen, POLLIN, 0};
		}
		for (int i = 0; i < o->cfg.tcp_max; i++) {
			tcp_at[i] = -1;
			if (o->tcp[i].fd >= 0) {
				tcp_at[i] = n;
				fds[n++] = (struct pollfd){o->tcp[i].fd, POLLIN, 0};
			}
		}
		int busy = o->n_syncs > 0;
		poll(fds, (nfds_t)n, busy ? POLL_BUSY_MS : POLL_IDLE_MS);
		if (fds[1].revents & POLLERR)
			read_errors(o);
		if (fds[1].revents & POLLIN)
			read_udp(o);
		for (int i = 0; i < o->cfg.tcp_max; i++)
			if (tcp_at[i] >= 0 && fds[tcp_at[i]].revents)
				read_tcp(o, i);
		/* After reading: a connection that just spoke is not the one
		 * that gives way to a newcomer. */
		if (listen_at >= 0 && (fds[listen_at].revents & POLLIN))
			accept_tcp(o);
		expire_tcp(o);
		fx_osc_tick(o);
	}
	return NULL;
}

int fx_osc_start(FxOsc *o)
{
	if (pthread_create(&o->thread, NULL, thread_main, o) != 0)
		return -1;
	o->started = 1;
	return 0;
}

void fx_osc_free(FxOsc *o)
{
	if (!o)
		return;
	if (o->started) {
		atomic_store(&o->stop, 1);
		if (write(o->wake[1], "x", 1) < 0) {
			/* the loop wakes within POLL_IDLE_MS anyway */
		}
		pthread_join(o->thread, NULL);
	}
	for (int i = 0; o->tcp && i < o->cfg.tcp_max; i++) {
		close_tcp(o, i);
		free(o->tcp[i].buf);
	}
	free(o->tcp);
	free(o->fds);
	free(o->tcp_at);
	if (o->udp >= 0)
		close(o->udp);
	if (o->tcp_listen >= 0)
		close(o->tcp_listen);
	for (int i = 0; i < 2; i++)
		if (o->wake[i] >= 0)
			close(o->wake[i]);
	if (o->lo)
		lo_server_free(o->lo);
	for (int i = 0; o->aliases && i < o->n_aliases; i++) {
		free(o->aliases[i].from);
		free(o->aliases[i].to);
	}
	free(o->aliases);
	free(o->rx);
	free(o);
}

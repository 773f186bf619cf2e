/* SPDX-License-Identifier: ISC */
/* The OSC transport (transport.h): sockets, allowlist, framing, sending
 * and the thread's loop. */
#define _GNU_SOURCE
#include "osc/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
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

typedef struct {
	int fd;          ///< -1 when free
	uint32_t serial; ///< which connection this is, since start
	struct sockaddr_in addr;
	uint8_t *buf; ///< FX_OSC_MAX_PACKET + 4
	size_t len;
	double last_active; ///< accepted or last read (transport clock)
} TcpConn;

struct FxOscTransportImpl {
	FxOscTransportConfig cfg;
	FxOscHooks hooks;
	int udp, tcp_listen;
	int wake[2];         ///< a pipe: stop the thread's poll
	TcpConn *tcp;        ///< cfg.tcp_max of them
	uint32_t tcp_serial; ///< the last connection's serial
	struct pollfd *fds;  ///< the loop's poll set: 3 + cfg.tcp_max
	int *tcp_at;         ///< where each connection is in it
	FxCidr allow[FX_OSC_MAX_CIDRS];
	int n_allow;
	struct in_addr bound;
	int port;
	char describe[64];
	uint8_t *rx;         ///< FX_OSC_MAX_PACKET
	double clock_offset; ///< tests: seconds added to the clock
	pthread_t thread;
	int started;
	_Atomic int stop;
	_Atomic unsigned long long received, rejected, dropped, kernel_drops,
		send_errors, tcp_timed_out, tcp_evicted;
};

double fx_osc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double fx_osc_transport_clock(const FxOscTransport *t)
{
	return fx_osc_now() + t->clock_offset;
}

void fx_osc_transport_advance(FxOscTransport *t, double seconds)
{
	t->clock_offset += seconds;
}

uint64_t fx_osc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- addresses ------------------------------------------------------------ */

void fx_osc_peer_name(const FxOscPeer *peer, char *buf, size_t size)
{
	char host[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &peer->addr.sin_addr, host, sizeof host);
	snprintf(buf, size, "%s %s:%d",
	         peer->ws        ? "ws"
	         : peer->tcp < 0 ? "udp"
	                         : "tcp",
	         host, ntohs(peer->addr.sin_port));
}

int fx_osc_transport_is_self(const FxOscTransport *t, const struct sockaddr_in *a)
{
	if (ntohs(a->sin_port) != t->port)
		return 0;
	uint32_t addr = ntohl(a->sin_addr.s_addr);
	/* Bound to every interface: any local address may be this socket;
	 * loopback and the bound address certainly are. */
	return a->sin_addr.s_addr == t->bound.s_addr || (addr >> 24) == 127 ||
	       (t->bound.s_addr == htonl(INADDR_ANY) && addr == INADDR_ANY);
}

static int allowed(const FxOscTransport *t, const struct sockaddr_in *from)
{
	if (!t->n_allow)
		return 1;
	uint32_t a = ntohl(from->sin_addr.s_addr);
	for (int i = 0; i < t->n_allow; i++)
		if ((a & t->allow[i].mask) == t->allow[i].net)
			return 1;
	return 0;
}

/* ---- sockets -------------------------------------------------------------- */

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static FxOscTransport *fail_new(FxOscTransport *t, FxStatus *st, FxStatus code,
                                char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Frees the half-built transport and says why: returns NULL. */
static FxOscTransport *fail_new(FxOscTransport *t, FxStatus *st, FxStatus code,
                                char *err, size_t size, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, size, fmt, ap);
		va_end(ap);
	}
	int e = errno; /* EADDRINUSE tells a taken port apart */
	fx_osc_transport_free(t);
	errno = e;
	*st = code;
	return NULL;
}

static int bind_socket(const FxOscTransport *t, int type,
                       const struct sockaddr_in *addr, char *err, size_t size)
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
		         type == SOCK_STREAM ? "tcp" : "udp", t->cfg.bind,
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

/* The UDP socket: the kernel counts datagrams it dropped for a full
 * queue, and ICMP errors for datagrams sent (port unreachable: a
 * subscriber that quit) come back on the error queue, naming the
 * destination; without IP_RECVERR Linux drops them on an unconnected
 * socket. */
static void tune_udp(int fd)
{
	int one = 1, rcvbuf = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
	setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
}

FxOscTransport *fx_osc_transport_new(const FxOscTransportConfig *cfg,
                                     const FxOscHooks *hooks, FxStatus *st,
                                     char *err, size_t err_size)
{
	FxOscTransport *t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, err_size, "out of memory");
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	t->cfg = *cfg;
	t->hooks = *hooks;
	t->udp = t->tcp_listen = t->wake[0] = t->wake[1] = -1;
	if (cfg->tcp_max < 1 || cfg->tcp_max > FX_OSC_MAX_TCP)
		return fail_new(t, st, FX_ERR_RANGE, err, err_size,
		                "--osc-tcp-max: %d is not 1..%d", cfg->tcp_max,
		                FX_OSC_MAX_TCP);
	t->tcp = calloc((size_t)cfg->tcp_max, sizeof *t->tcp);
	t->fds = calloc(3 + (size_t)cfg->tcp_max, sizeof *t->fds);
	t->tcp_at = calloc((size_t)cfg->tcp_max, sizeof *t->tcp_at);
	if (!t->tcp || !t->fds || !t->tcp_at ||
	    !(t->rx = malloc(FX_OSC_MAX_PACKET)))
		return fail_new(t, st, FX_ERR_NOMEM, err, err_size,
		                "out of memory");
	for (int i = 0; i < cfg->tcp_max; i++)
		t->tcp[i].fd = -1;
	if (cfg->allow &&
	    fx_netaddr_parse_cidrs(cfg->allow, t->allow, FX_OSC_MAX_CIDRS,
	                           &t->n_allow, NULL, 0) != FX_OK)
		return fail_new(t, st, FX_ERR_SYNTAX, err, err_size,
		                "--osc-allow: bad list '%s'", cfg->allow);

	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_port = htons((uint16_t)cfg->port)};
	if (inet_pton(AF_INET, cfg->bind, &addr.sin_addr) != 1)
		return fail_new(t, st, FX_ERR_SYNTAX, err, err_size,
		                "--osc-bind: '%s' is not a numeric IPv4 "
		                "address",
		                cfg->bind);
	t->bound = addr.sin_addr;
	/* Port 0 with TCP: the port the kernel picks for UDP may be taken
	 * for TCP (a client's local port, a socket in TIME_WAIT), so a few
	 * picks are tried until both sockets have it. */
	for (int tries = cfg->port == 0 && cfg->tcp ? 32 : 1; tries > 0; tries--) {
		addr.sin_port = htons((uint16_t)cfg->port);
		if ((t->udp = bind_socket(t, SOCK_DGRAM, &addr, err, err_size)) <
		    0)
			return fail_new(t, st, FX_ERR_IO, err, err_size, NULL);
		socklen_t alen = sizeof addr;
		getsockname(t->udp, (struct sockaddr *)&addr, &alen);
		t->port = ntohs(addr.sin_port);
		if (!cfg->tcp)
			break;
		t->tcp_listen = bind_socket(t, SOCK_STREAM, &addr, err, err_size);
		if (t->tcp_listen >= 0)
			break;
		int e = errno;
		close(t->udp);
		t->udp = -1;
		errno = e;
		if (e != EADDRINUSE || tries == 1)
			return fail_new(t, st, FX_ERR_IO, err, err_size, NULL);
	}
	tune_udp(t->udp);
	if (t->tcp_listen >= 0)
		listen(t->tcp_listen, 8);
	snprintf(t->describe, sizeof t->describe, "%s %s:%d",
	         cfg->tcp ? "udp+tcp" : "udp", cfg->bind, t->port);
	if (pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		return fail_new(t, st, FX_ERR_IO, err, err_size, "pipe: %s",
		                strerror(errno));
	*st = FX_OK;
	return t;
}

int fx_osc_transport_port(const FxOscTransport *t)
{
	return t->port;
}

const char *fx_osc_transport_describe(const FxOscTransport *t)
{
	return t->describe;
}

int fx_osc_transport_udp_fd(const FxOscTransport *t)
{
	return t->udp;
}

void fx_osc_transport_counters(const FxOscTransport *t,
                               FxOscTransportCounters *out)
{
	out->received = atomic_load(&t->received);
	out->rejected = atomic_load(&t->rejected);
	out->dropped = atomic_load(&t->dropped);
	out->kernel_drops = atomic_load(&t->kernel_drops);
	out->send_errors = atomic_load(&t->send_errors);
	out->tcp_timed_out = atomic_load(&t->tcp_timed_out);
	out->tcp_evicted = atomic_load(&t->tcp_evicted);
}

/* ---- sending -------------------------------------------------------------- */

static void close_tcp(FxOscTransport *t, int i)
{
	if (t->tcp[i].fd >= 0)
		close(t->tcp[i].fd);
	t->tcp[i].fd = -1;
	t->tcp[i].len = 0;
}

/* A reply that no packet can carry is answered with why, not dropped
 * without a word (the callers split what can grow; this is the net). */
static void too_big(FxOscTransport *t, const FxOscPeer *peer, const char *path,
                    size_t len)
{
	char why[160];
	snprintf(why, sizeof why,
	         "the reply (%zu bytes) is larger than %s "
	         "can carry",
	         len,
	         peer->tcp < 0 ? "a UDP datagram"
	                       : "a "
	                         "packet");
	lo_message m = lo_message_new();
	if (!m)
		return;
	lo_message_add_string(m, path);
	lo_message_add_string(m, why);
	fx_osc_send_free(t, peer, "/fxd/fail", m);
}

static void send_udp(FxOscTransport *t, const FxOscPeer *peer,
                     const uint8_t *data, size_t len)
{
	ssize_t sent = sendto(t->udp, data, len, MSG_DONTWAIT,
	                      (const struct sockaddr *)&peer->addr,
	                      sizeof peer->addr);
	/* An ICMP error for an earlier datagram (IP_RECVERR) fails the next
	 * send once, whatever its destination: send again. */
	if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		sent = sendto(t->udp, data, len, MSG_DONTWAIT,
		              (const struct sockaddr *)&peer->addr,
		              sizeof peer->addr);
	if (sent != (ssize_t)len)
		atomic_fetch_add(&t->send_errors, 1);
}

void fx_osc_send(FxOscTransport *t, const FxOscPeer *peer, const char *path,
                 lo_message m)
{
	uint8_t buf[FX_OSC_MAX_PACKET + 4];
	size_t len = lo_message_length(m, path);
	size_t max = peer->tcp < 0 ? FX_OSC_MAX_UDP : FX_OSC_MAX_PACKET;
	if (len == 0 || len > max) {
		atomic_fetch_add(&t->send_errors, 1);
		if (len)
			too_big(t, peer, path, len);
		return;
	}
	lo_message_serialise(m, path, buf + 4, &len);
	if (peer->ws) {
		if (t->hooks.stream)
			t->hooks.stream(t->hooks.user, peer, path, buf + 4, len,
			                0);
		return;
	}
	if (peer->tcp < 0) {
		send_udp(t, peer, buf + 4, len);
		return;
	}
	TcpConn *c = &t->tcp[peer->tcp];
	if (c->fd < 0 || c->serial != peer->tcp_serial)
		return; /* that connection is gone; the slot may be another's */
	uint32_t be = htonl((uint32_t)len);
	memcpy(buf, &be, 4);
	ssize_t sent = send(c->fd, buf, len + 4, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent != (ssize_t)(len + 4)) {
		/* A client too slow to take a reply whole loses its
		 * connection rather than a torn stream. */
		atomic_fetch_add(&t->send_errors, 1);
		close_tcp(t, peer->tcp);
	}
}

void fx_osc_send_text(FxOscTransport *t, const FxOscPeer *peer, const char *text)
{
	if (peer->ws && t->hooks.stream)
		t->hooks.stream(t->hooks.user, peer, NULL, text, strlen(text), 1);
}

void fx_osc_transport_wake(FxOscTransport *t)
{
	if (write(t->wake[1], "w", 1) < 0) {
		/* full: a wake-up is pending already */
	}
}

void fx_osc_send_free(FxOscTransport *t, const FxOscPeer *peer,
                      const char *path, lo_message m)
{
	if (!m)
		return;
	fx_osc_send(t, peer, path, m);
	lo_message_free(m);
}

void fx_osc_reply_internal(FxOscRequest *req, const char *path,
                           const char *types, ...)
{
	lo_message m = lo_message_new();
	if (!m)
		return;
	va_list ap;
	va_start(ap, types);
	int rc = lo_message_add_varargs(m, types, ap);
	va_end(ap);
	if (rc == 0)
		fx_osc_send(req->transport, &req->peer, path, m);
	lo_message_free(m);
}

FxOscRequest fx_osc_request_to(FxOscTransport *t, const FxOscPeer *peer)
{
	return (FxOscRequest){.transport = t, .peer = *peer, .failed = 1};
}

void fx_osc_fail(FxOscRequest *req, const char *address, const char *fmt, ...)
{
	FxOscTransport *t = req->transport;
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	/* One bad packet counts once, however many of its messages fail. */
	if (!req->failed++)
		atomic_fetch_add(&t->rejected, 1);
	/* Keep garbage addresses printable and short. */
	char addr[128];
	size_t n = 0;
	for (const char *p = address; *p && n < sizeof addr - 1; p++)
		addr[n++] = (*p >= 32 && *p < 127) ? *p : '?';
	addr[n] = '\0';
	fx_osc_reply(req, "/fxd/fail", "ss", addr, why);
	if (t->hooks.failed)
		t->hooks.failed(t->hooks.user, req, addr, why);
}

/* ---- receiving ------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void handle_packet(FxOscTransport *t, uint8_t *data, size_t len,
                          const FxOscPeer *from, uint64_t rx_ns)
{
	atomic_fetch_add(&t->received, 1);
	FxOscRequest req = {.transport = t, .peer = *from, .rx_ns = rx_ns};
	t->hooks.receive(t->hooks.user, &req, data, len);
}

/* A packet larger than any fxd takes: answered, never handed on. */
static void refuse_oversize(FxOscTransport *t, const FxOscPeer *from)
{
	atomic_fetch_add(&t->received, 1);
	FxOscRequest req = {.transport = t, .peer = *from};
	fx_osc_fail(&req, "", "packet larger than %d bytes", FX_OSC_MAX_PACKET);
}

void fx_osc_transport_inject(FxOscTransport *t, const void *data, size_t len,
                             int port)
{
	FxOscPeer peer = {.tcp = -1};
	peer.addr.sin_family = AF_INET;
	peer.addr.sin_port = htons((uint16_t)port);
	peer.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (len > FX_OSC_MAX_PACKET)
		len = FX_OSC_MAX_PACKET;
	memcpy(t->rx, data, len);
	handle_packet(t, t->rx, len, &peer, fx_osc_now_ns());
}

static void count_kernel_drops(FxOscTransport *t, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t drops;
			memcpy(&drops, CMSG_DATA(c), sizeof drops);
			atomic_store(&t->kernel_drops, drops);
		}
}

static void read_udp(FxOscTransport *t)
{
	for (int k = 0; k < BATCH; k++) {
		struct sockaddr_in from;
		char ctl[CMSG_SPACE(sizeof(uint32_t))];
		struct iovec iov = {t->rx, FX_OSC_MAX_PACKET};
		struct msghdr mh = {
			.msg_name = &from,
			.msg_namelen = sizeof from,
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl,
			.msg_controllen = sizeof ctl,
		};
		ssize_t n = recvmsg(t->udp, &mh, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0)
			continue; /* an ICMP error reported here: taken */
		uint64_t rx = fx_osc_now_ns();
		count_kernel_drops(t, &mh);
		if (!allowed(t, &from) || fx_osc_transport_is_self(t, &from)) {
			atomic_fetch_add(&t->dropped, 1);
			continue;
		}
		FxOscPeer peer = {.addr = from, .tcp = -1};
		if (mh.msg_flags & MSG_TRUNC)
			refuse_oversize(t, &peer);
		else
			handle_packet(t, t->rx, (size_t)n, &peer, rx);
	}
}

/* One entry of the error queue: a datagram fxd sent that came back
 * undeliverable. Only "nothing listens on that port" is final: a host or
 * network unreachable may be a Wi-Fi hiccup, which the lease covers. */
static void take_error(FxOscTransport *t, struct msghdr *mh,
                       const struct sockaddr_in *dest)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_RECVERR)
			continue;
		struct sock_extended_err e;
		memcpy(&e, CMSG_DATA(c), sizeof e);
		atomic_fetch_add(&t->send_errors, 1);
		if (e.ee_origin == SO_EE_ORIGIN_ICMP &&
		    e.ee_errno == ECONNREFUSED &&
		    mh->msg_namelen >= sizeof *dest && t->hooks.unreachable)
			t->hooks.unreachable(t->hooks.user, dest);
	}
}

/* The socket's error queue: each entry is named by its destination. */
static void read_errors(FxOscTransport *t)
{
	for (int k = 0; k < BATCH; k++) {
		struct sockaddr_in dest;
		char ctl[512];
		uint8_t byte;
		struct iovec iov = {&byte, 1};
		struct msghdr mh = {
			.msg_name = &dest,
			.msg_namelen = sizeof dest,
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl,
			.msg_controllen = sizeof ctl,
		};
		if (recvmsg(t->udp, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		take_error(t, &mh, &dest);
	}
	/* The same error is also pending on the socket; take it now rather
	 * than have it fail the next send. */
	int pending;
	socklen_t len = sizeof pending;
	getsockopt(t->udp, SOL_SOCKET, SO_ERROR, &pending, &len);
}

/* A free place, or else the connection silent the longest gives way:
 * idle clients must not lock new ones out. */
static int tcp_place(FxOscTransport *t)
{
	int at = -1;
	for (int i = 0; i < t->cfg.tcp_max; i++) {
		if (t->tcp[i].fd < 0)
			return i;
		if (at < 0 || t->tcp[i].last_active < t->tcp[at].last_active)
			at = i;
	}
	return at;
}

static void accept_tcp(FxOscTransport *t)
{
	struct sockaddr_in from;
	socklen_t len = sizeof from;
	int fd = accept4(t->tcp_listen, (struct sockaddr *)&from, &len,
	                 SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!allowed(t, &from)) {
		atomic_fetch_add(&t->dropped, 1);
		close(fd);
		return;
	}
	int at = tcp_place(t);
	TcpConn *c = &t->tcp[at];
	if (c->fd >= 0) {
		close_tcp(t, at);
		atomic_fetch_add(&t->tcp_evicted, 1);
	}
	if (!c->buf && !(c->buf = malloc(FX_OSC_MAX_PACKET + 4))) {
		close(fd); /* out of memory: the client sees it close */
		return;
	}
	c->fd = fd;
	c->serial = ++t->tcp_serial;
	c->addr = from;
	c->len = 0;
	c->last_active = fx_osc_transport_clock(t);
}

/* Closes connections silent for longer than --osc-tcp-idle. */
static void expire_tcp(FxOscTransport *t)
{
	if (t->cfg.tcp_idle_s <= 0)
		return;
	double now = fx_osc_transport_clock(t);
	for (int i = 0; i < t->cfg.tcp_max; i++)
		if (t->tcp[i].fd >= 0 &&
		    now - t->tcp[i].last_active >= t->cfg.tcp_idle_s) {
			close_tcp(t, i);
			atomic_fetch_add(&t->tcp_timed_out, 1);
		}
}

/* Reads OSC 1.0 stream frames (a 32-bit big-endian length, then the
 * packet). */
static void read_tcp(FxOscTransport *t, int i)
{
	TcpConn *c = &t->tcp[i];
	ssize_t n = recv(c->fd, c->buf + c->len, FX_OSC_MAX_PACKET + 4 - c->len,
	                 MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			close_tcp(t, i);
		return;
	}
	c->len += (size_t)n;
	c->last_active = fx_osc_transport_clock(t);
	uint64_t rx = fx_osc_now_ns();
	while (c->fd >= 0 && c->len >= 4) {
		uint32_t size = be32(c->buf);
		FxOscPeer peer = {
			.addr = c->addr, .tcp = i, .tcp_serial = c->serial};
		if (size > FX_OSC_MAX_PACKET) {
			refuse_oversize(t, &peer);
			close_tcp(t, i);
			return;
		}
		if (c->len < 4 + size)
			return;
		handle_packet(t, c->buf + 4, size, &peer, rx);
		if (c->fd < 0)
			return;
		memmove(c->buf, c->buf + 4 + size, c->len - 4 - size);
		c->len -= 4 + size;
	}
}

/* The poll set: the wake pipe, UDP, the TCP listener, the connections.
 * Returns its size; *@p listen_at is the listener's place or -1. */
static int poll_set(FxOscTransport *t, int *listen_at)
{
	struct pollfd *fds = t->fds;
	int n = 0;
	fds[n++] = (struct pollfd){t->wake[0], POLLIN, 0};
	fds[n++] = (struct pollfd){t->udp, POLLIN, 0};
	*listen_at = -1;
	if (t->tcp_listen >= 0) {
		*listen_at = n;
		fds[n++] = (struct pollfd){t->tcp_listen, POLLIN, 0};
	}
	for (int i = 0; i < t->cfg.tcp_max; i++) {
		t->tcp_at[i] = -1;
		if (t->tcp[i].fd >= 0) {
			t->tcp_at[i] = n;
			fds[n++] = (struct pollfd){t->tcp[i].fd, POLLIN, 0};
		}
	}
	return n;
}

static void *thread_main(void *arg)
{
	FxOscTransport *t = arg;
	/* A flood of packets must not crowd out the audio worker when JACK
	 * runs without realtime scheduling: this thread yields to it. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), OSC_NICE) != 0) {
		/* not fatal: the worker is realtime whenever JACK is */
	}
	if (t->hooks.started)
		t->hooks.started(t->hooks.user);
	int busy = 0;
	while (!atomic_load(&t->stop)) {
		int listen_at;
		int n = poll_set(t, &listen_at);
		struct pollfd *fds = t->fds;
		poll(fds, (nfds_t)n, busy ? POLL_BUSY_MS : POLL_IDLE_MS);
		if (fds[0].revents & POLLIN) {
			char drain[64];
			if (read(t->wake[0], drain, sizeof drain) < 0) {
				/* nonblocking: nothing left */
			}
		}
		if (fds[1].revents & POLLERR)
			read_errors(t);
		if (fds[1].revents & POLLIN)
			read_udp(t);
		for (int i = 0; i < t->cfg.tcp_max; i++)
			if (t->tcp_at[i] >= 0 && fds[t->tcp_at[i]].revents)
				read_tcp(t, i);
		/* After reading: a connection that just spoke is not the one
		 * that gives way to a newcomer. */
		if (listen_at >= 0 && (fds[listen_at].revents & POLLIN))
			accept_tcp(t);
		expire_tcp(t);
		busy = t->hooks.tick ? t->hooks.tick(t->hooks.user) : 0;
	}
	return NULL;
}

FxStatus fx_osc_transport_start(FxOscTransport *t, char *err, size_t err_size)
{
	int e = pthread_create(&t->thread, NULL, thread_main, t);
	if (e != 0) {
		snprintf(err, err_size, "cannot start the OSC thread: %s",
		         strerror(e));
		return FX_ERR_IO;
	}
	t->started = 1;
	return FX_OK;
}

void fx_osc_transport_free(FxOscTransport *t)
{
	if (!t)
		return;
	if (t->started) {
		atomic_store(&t->stop, 1);
		if (write(t->wake[1], "x", 1) < 0) {
			/* the loop wakes within POLL_IDLE_MS anyway */
		}
		pthread_join(t->thread, NULL);
	}
	for (int i = 0; t->tcp && i < t->cfg.tcp_max; i++) {
		close_tcp(t, i);
		free(t->tcp[i].buf);
	}
	free(t->tcp);
	free(t->fds);
	free(t->tcp_at);
	if (t->udp >= 0)
		close(t->udp);
	if (t->tcp_listen >= 0)
		close(t->tcp_listen);
	for (int i = 0; i < 2; i++)
		if (t->wake[i] >= 0)
			close(t->wake[i]);
	free(t->rx);
	free(t);
}

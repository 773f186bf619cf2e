/* SPDX-License-Identifier: ISC */
/* fxd — the OSC transport: fxd's own UDP (and optional TCP) sockets on one
 * address, the allowlist, OSC 1.0 stream framing over TCP, sending that
 * never blocks, the IP_RECVERR error queue that names subscribers whose
 * port closed, and the limits on TCP connections. It knows nothing of the
 * namespace: each packet it takes is handed, with a request context
 * (peer, receive time, how to answer), to the receive hook given at
 * creation. Everything here runs on the OSC thread, except the counters.
 */
#ifndef FX_OSC_TRANSPORT_H
#define FX_OSC_TRANSPORT_H

#include <lo/lo.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/netaddr.h"
#include "dsp/status.h"

enum {
	FX_OSC_MAX_TCP = 1024, ///< the most --osc-tcp-max allows
	FX_OSC_MAX_CIDRS = FX_NETADDR_MAX_CIDRS,
	FX_OSC_MAX_PACKET = 65536, ///< the largest packet taken or sent
	FX_OSC_MAX_UDP = 65507,    ///< the largest UDP payload over IPv4
	/** Over TCP, parts of this many bytes when a reply would be larger
	 *  than FX_OSC_MAX_PACKET. */
	FX_OSC_TCP_PART = 60000,
};

typedef struct FxOscTransportImpl FxOscTransport;

/** Where a message came from and where its replies go. */
typedef struct {
	struct sockaddr_in addr;
	int tcp;             ///< index of the TCP connection, or -1: UDP
	uint32_t tcp_serial; ///< its serial: slots are reused
	/** A WebSocket client (osc/http.h's connection), 0: none. Its
	 *  packets go through the stream hook. */
	uint32_t ws;
	/** Feedback to a WebSocket client: only the addresses it listens
	 *  to pass (replies always do). */
	int listened;
} FxOscPeer;

/** One packet being handled: who sent it, when, and the transport that
 *  answers. Handlers reply and fail through it; it lives as long as the
 *  packet's dispatch. */
typedef struct {
	FxOscTransport *transport;
	FxOscPeer peer;
	uint64_t rx_ns; ///< CLOCK_MONOTONIC when it arrived
	int failed;     ///< the packet has been counted as rejected
} FxOscRequest;

/** What the transport calls, given at creation (all on the OSC thread). */
typedef struct {
	void *user;
	/** A packet from an allowed peer, at most FX_OSC_MAX_PACKET bytes
	 *  (writable: the dispatcher may rewrite bundle timetags). */
	void (*receive)(void *user, FxOscRequest *req, uint8_t *packet,
	                size_t len);
	/** A failure just answered to @p req's peer (fx_osc_fail), for
	 *  whoever else should hear of it. May be NULL. */
	void (*failed)(void *user, const FxOscRequest *req, const char *address,
	               const char *why);
	/** The host at @p addr said nothing listens there (ICMP port
	 *  unreachable for a datagram fxd sent). May be NULL. */
	void (*unreachable)(void *user, const struct sockaddr_in *addr);
	/** Once, on the thread, before the first packet. May be NULL. */
	void (*started)(void *user);
	/** After each wake-up; returns nonzero while work waits on time (a
	 *  sync), so the loop sleeps only briefly. May be NULL. */
	int (*tick)(void *user);
	/** A packet (or, with @p text, a JSON text) for a WebSocket peer
	 *  (peer->ws), to be carried by whoever serves it. May be NULL. */
	void (*stream)(void *user, const FxOscPeer *peer, const char *path,
	               const void *data, size_t len, int text);
} FxOscHooks;

typedef struct {
	const char *bind;  ///< numeric IPv4 address
	int port;          ///< 0 picks a free port
	int tcp;           ///< also listen on TCP
	const char *allow; ///< "CIDR[,CIDR...]", NULL: anyone
	int tcp_max;       ///< TCP connections at once (1..FX_OSC_MAX_TCP)
	double tcp_idle_s; ///< a silent connection is closed; 0: never
} FxOscTransportConfig;

/** Binds the sockets. NULL with *@p st and a one-line reason in @p err
 *  on failure; errno is EADDRINUSE when the port is taken. */
FxOscTransport *fx_osc_transport_new(const FxOscTransportConfig *cfg,
                                     const FxOscHooks *hooks, FxStatus *st,
                                     char *err, size_t err_size);

/** Stops the thread (if started), closes the sockets, frees. NULL is a
 *  no-op. */
void fx_osc_transport_free(FxOscTransport *t);

/** Starts the thread that polls the sockets and calls the hooks. */
FxStatus fx_osc_transport_start(FxOscTransport *t, char *err, size_t err_size);

/** The port bound, and "udp 127.0.0.1:8000" or "udp+tcp ...". */
int fx_osc_transport_port(const FxOscTransport *t);
const char *fx_osc_transport_describe(const FxOscTransport *t);

/** Hands @p data to the receive hook as if it came from
 *  127.0.0.1:@p port over UDP, on the calling thread. */
void fx_osc_transport_inject(FxOscTransport *t, const void *data, size_t len,
                             int port);

/** Sends @p m to @p peer at @p path without blocking (counted when it
 *  fails; a reply too large for the peer's protocol is answered with
 *  /fxd/fail). Does not free @p m. */
void fx_osc_send(FxOscTransport *t, const FxOscPeer *peer, const char *path,
                 lo_message m);

/** A JSON text to @p peer when it is a WebSocket client (PATH_CHANGED);
 *  nothing to others. */
void fx_osc_send_text(FxOscTransport *t, const FxOscPeer *peer, const char *text);

/** Wakes the thread's poll from another thread: work is waiting (the
 *  tick hook runs). */
void fx_osc_transport_wake(FxOscTransport *t);

/** fx_osc_send, then frees @p m (NULL: nothing sent). */
void fx_osc_send_free(FxOscTransport *t, const FxOscPeer *peer,
                      const char *path, lo_message m);

/** Sends a message built from @p types and the arguments that follow
 *  (liblo's varargs; end with LO_ARGS_END) to @p req's peer. */
void fx_osc_reply_internal(FxOscRequest *req, const char *path,
                           const char *types, ...);
#define fx_osc_reply(req, path, ...) \
	fx_osc_reply_internal(req, path, __VA_ARGS__, LO_ARGS_END)

/** /fxd/fail <address> <reason> to @p req's peer; the packet counts as
 *  rejected once, and the failed hook hears of it. */
void fx_osc_fail(FxOscRequest *req, const char *address, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** A request context for answering @p peer outside a packet's dispatch
 *  (a sync answered later); its failures do not count as rejected. */
FxOscRequest fx_osc_request_to(FxOscTransport *t, const FxOscPeer *peer);

/** "udp HOST:PORT" or "tcp HOST:PORT". */
void fx_osc_peer_name(const FxOscPeer *peer, char *buf, size_t size);

/** 1 if @p a is fxd's own socket: it must never talk to itself. */
int fx_osc_transport_is_self(const FxOscTransport *t,
                             const struct sockaddr_in *a);

/** The UDP socket, for tests that take its packets on their own thread
 *  (with the transport's thread not started). */
int fx_osc_transport_udp_fd(const FxOscTransport *t);

/** Monotonic seconds. */
double fx_osc_now(void);

/** CLOCK_MONOTONIC in nanoseconds (a request's receive time). */
uint64_t fx_osc_now_ns(void);

/** The transport's clock: fx_osc_now plus what tests added with
 *  fx_osc_transport_advance, for leases, idle connections and rates. */
double fx_osc_transport_clock(const FxOscTransport *t);
void fx_osc_transport_advance(FxOscTransport *t, double seconds);

/** What the transport counted since it started. */
typedef struct {
	unsigned long long received, rejected, dropped, kernel_drops,
		send_errors, tcp_timed_out, tcp_evicted;
} FxOscTransportCounters;
void fx_osc_transport_counters(const FxOscTransport *t,
                               FxOscTransportCounters *out);

#endif

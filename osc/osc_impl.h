/* fxd — the OSC server's private layout, shared by its transport
 * (osc/server.c) and its namespace (osc/namespace.c). Everything here
 * belongs to the OSC thread, except the counters, read by others. */
#ifndef FX_OSC_IMPL_H
#define FX_OSC_IMPL_H

#include <lo/lo.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "osc/osc.h"

enum {
	FX_OSC_MAX_SUBSCRIBERS = 16,
	FX_OSC_MAX_TCP = 1024,     ///< the most --osc-tcp-max allows
	FX_OSC_MAX_SYNCS = 64,
	FX_OSC_MAX_CIDRS = 16,
	FX_OSC_MAX_PACKET = 65536, ///< the largest packet taken or sent
	FX_OSC_MAX_UDP = 65507,    ///< the largest UDP payload over IPv4
	FX_OSC_MAX_PORTS = 64,
	/** Over UDP, replies that grow with the user's data (/fxd/json,
	 *  /fxd/preset/list) come in parts of about this many bytes, which
	 *  one Ethernet frame carries. */
	FX_OSC_JSON_PART = 1024,
	/** Over TCP, parts of this many bytes when a reply would be larger
	 *  than FX_OSC_MAX_PACKET. */
	FX_OSC_TCP_PART = 60000,
	FX_OSC_PENDING_FAILS = 8,  ///< distinct failures kept per feedback tick
	FX_OSC_FAILS_PER_S = 5,    ///< failures forwarded a second, each
};

/** Where a message came from and where its replies go. */
typedef struct {
	struct sockaddr_in addr;
	int tcp;                  ///< index of the TCP connection, or -1: UDP
	uint32_t tcp_serial;      ///< its serial: slots are reused
} FxPeer;

typedef struct {
	struct sockaddr_in addr;
	int interval_ms;
	int is_static;            ///< from --osc-target: not unsubscribed over
	                          ///< OSC, never expires or gives way
	double renewed;           ///< last /fxd/subscribe (fx_osc_clock)
	double next_meter, next_stats;
	float peak[FX_OSC_MAX_PORTS];
	double rms2[FX_OSC_MAX_PORTS];
	int reads;                ///< meter reads summed in rms2
	double fail_window;       ///< end of the current second of failures
	int fails_in_window;      ///< failures forwarded in it
	unsigned fails_skipped;   ///< not forwarded since the last one that was
} FxSubscriber;

/** A failure waiting to be forwarded to subscribers. */
typedef struct {
	char address[128], why[256];
	char sender[40];          ///< "udp HOST:PORT" or "tcp HOST:PORT"
	FxPeer peer;              ///< the sender, which has its own copy
	unsigned repeats;         ///< the same failure again, merged
} FxPendingFail;

typedef struct {
	int32_t id;
	uint32_t point;           ///< fx_control_sync_point when asked
	FxPeer peer;
	double deadline;
} FxPendingSync;

typedef struct {
	char *from, *to;
} FxAlias;

typedef struct {
	uint32_t net, mask;       ///< host byte order
} FxCidr;

typedef struct {
	int fd;                   ///< -1 when free
	uint32_t serial;          ///< which connection this is, since start
	struct sockaddr_in addr;
	uint8_t *buf;             ///< FX_OSC_MAX_PACKET + 4
	size_t len;
	double last_active;       ///< accepted or last read (fx_osc_clock)
} FxTcpConn;

struct FxOscImpl {
	FxOscConfig cfg;
	FxControl *control;
	int udp, tcp_listen;
	int wake[2];              ///< a pipe: stop the thread's poll
	FxTcpConn *tcp;           ///< cfg.tcp_max of them
	uint32_t tcp_serial;      ///< the last connection's serial
	struct pollfd *fds;       ///< the loop's poll set: 3 + cfg.tcp_max
	int *tcp_at;              ///< where each connection is in it
	lo_server lo;             ///< parser and dispatch table only
	char lo_path[128];        ///< its private socket path
	FxCidr allow[FX_OSC_MAX_CIDRS];
	int n_allow;
	FxAlias *aliases;
	int n_aliases;
	FxSubscriber subs[FX_OSC_MAX_SUBSCRIBERS];
	int n_subs;
	FxPendingSync syncs[FX_OSC_MAX_SYNCS];
	int n_syncs;
	FxPendingFail fails[FX_OSC_PENDING_FAILS];
	int n_fails;
	unsigned fails_overflow;  ///< failures beyond FX_OSC_PENDING_FAILS
	double clock_offset;      ///< tests: seconds added to fx_osc_clock
	FxPeer from;              ///< sender of the packet being dispatched
	uint64_t rx_ns;           ///< when it arrived
	int failed;               ///< the packet has been counted as rejected
	int port;
	char describe[64];
	uint8_t *rx;              ///< FX_OSC_MAX_PACKET
	double next_feedback, next_meter_read;
	uint64_t last_counters[5];
	pthread_t thread;
	int started;
	_Atomic int stop;
	_Atomic unsigned long long received, rejected, dropped, kernel_drops,
		send_errors, subs_unreachable, subs_expired, subs_evicted,
		tcp_timed_out, tcp_evicted, fails_forwarded, fails_skipped;
	_Atomic int n_subs_seen;
};

/** Monotonic seconds. */
double fx_osc_now(void);

/** The server's clock: fx_osc_now plus the offset a test may add, for
 *  leases, idle connections and the failure rate limit. */
double fx_osc_clock(const FxOsc *o);

/** Sends @p m to @p peer at @p path (counted when it fails). */
void fx_osc_send(FxOsc *o, const FxPeer *peer, const char *path, lo_message m);

/** Sends a message built from @p types and the arguments that follow
 *  (liblo's varargs; end with LO_ARGS_END) to the current sender. */
void fx_osc_reply_internal(FxOsc *o, const char *path, const char *types,
                           ...);
#define fx_osc_reply(o, path, ...)                                           \
	fx_osc_reply_internal(o, path, __VA_ARGS__, LO_ARGS_END)

/** /fxd/fail <address> <reason> to the current sender, counted, and
 *  queued for the subscribers (fx_osc_tick forwards it). */
void fx_osc_fail(FxOsc *o, const char *address, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** liblo's catch-all handler: the namespace. */
int fx_osc_dispatch(const char *path, const char *types, lo_arg **argv,
                    int argc, lo_message msg, void *user);

/** 1 if @p a is fxd's own socket: it must never talk to itself. */
int fx_osc_is_self(const FxOsc *o, const struct sockaddr_in *a);

/** Adds a subscriber or renews its lease (replying /fxd/subscribed and
 *  the full state). When all places are taken, the non-static one renewed
 *  longest ago gives way. Returns 0, or -1 when every place is static. */
int fx_osc_subscribe(FxOsc *o, const struct sockaddr_in *addr,
                     int interval_ms, int is_static);

/** The host at @p addr said nothing listens there (ICMP port
 *  unreachable): a subscriber there that is not static is removed. */
void fx_osc_unreachable(FxOsc *o, const struct sockaddr_in *addr);

/** Periodic work: syncs, feedback, meters, stats. */
void fx_osc_tick(FxOsc *o);

/** The full state to one subscriber. */
void fx_osc_send_state(FxOsc *o, const FxPeer *to);

#endif

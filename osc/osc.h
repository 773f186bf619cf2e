/* SPDX-License-Identifier: ISC */
/* fxd — the OSC control plane: one thread that owns fxd's UDP (and
 * optionally TCP) sockets, dispatches packets through liblo into the
 * control surface, answers queries and keeps subscribers up to date.
 *
 * liblo 0.31 cannot bind one address, so fxd binds its own sockets and
 * hands the bytes to a liblo server used only as a parser and dispatch
 * table. Nothing here runs on a realtime thread.
 */
#ifndef FX_OSC_H
#define FX_OSC_H

#include <stddef.h>

#include "daemon/engine/control.h"
#include "daemon/engine/midi.h"
#include "osc/counters.h"

typedef struct FxOscImpl FxOsc;

typedef struct {
	const char *bind;           ///< numeric IPv4 address, "127.0.0.1"
	int port;                   ///< 0 picks a free port
	int tcp;                    ///< also listen on TCP
	const char *allow;          ///< "CIDR[,CIDR...]", NULL: anyone
	const char *const *targets; ///< static subscribers, "HOST:PORT"
	int n_targets;
	const char *const *aliases; ///< "FROM=TO"
	int n_aliases;
	double rate_hz;    ///< parameter feedback rate limit
	int tcp_max;       ///< TCP connections at once; when full, the
			   ///< least recently active one gives way
	double tcp_idle_s; ///< a TCP connection silent this long is
			   ///< closed; 0: never
	double lease_s;    ///< a subscription ends this long after its
			   ///< last /fxd/subscribe; 0: never
	/** MIDI control (learn, mappings, tap, morph), polled on the OSC
	 *  thread; NULL (--no-midi): those methods fail. Not owned. */
	FxMidi *midi;
	/* The HTTP + WebSocket server (OSCQuery, the browser surface). */
	const char *name;      ///< the JACK client name, for ?HOST_INFO
	int http;              ///< serve HTTP
	const char *http_bind; ///< numeric IPv4 address, "127.0.0.1"
	int http_port;         ///< 0 picks a free port
	/** The port was not asked for: when it is taken, fxd runs without
	 *  HTTP and says why (fx_osc_web_note) rather than failing. */
	int http_port_default;
	int http_max; ///< WebSocket clients at once
} FxOscConfig;

/** Defaults: 127.0.0.1:8000, UDP only, no allowlist, 30 Hz, 8 TCP
 *  connections closed after 300 s of silence, 60 s subscription leases;
 *  no HTTP (with it: 127.0.0.1, 16 WebSocket clients). */
FxOscConfig fx_osc_config_default(void);

/** Binds the sockets. NULL with a one-line reason in @p err on failure;
 *  errno is EADDRINUSE when the port is taken. */
FxOsc *fx_osc_new(const FxOscConfig *cfg, FxControl *control, char *err,
                  size_t err_size);

/** The port bound (useful after asking for 0). */
int fx_osc_port(const FxOsc *o);

/** "udp 127.0.0.1:8000" or "udp+tcp 127.0.0.1:8000". */
const char *fx_osc_describe(const FxOsc *o);

/** The HTTP port bound, 0 when HTTP is off. */
int fx_osc_web_port(const FxOsc *o);

/** "http 127.0.0.1:9000", or NULL when HTTP is off. */
const char *fx_osc_web_describe(const FxOsc *o);

/** Why HTTP is off though it was asked for (its default port was taken),
 *  or NULL. */
const char *fx_osc_web_note(const FxOsc *o);

/** Starts the server thread. Returns 0 on success. */
int fx_osc_start(FxOsc *o);

/** Stops the thread (if started), closes the sockets, frees. NULL is a
 *  no-op. */
void fx_osc_free(FxOsc *o);

/** Dispatches one packet as if it came from 127.0.0.1:@p port over UDP,
 *  replies included, on the calling thread: for the fuzz test, with the
 *  server thread not started. */
void fx_osc_inject(FxOsc *o, const void *data, size_t len, int port);

void fx_osc_counters(FxOsc *o, FxOscCounters *out);

#endif

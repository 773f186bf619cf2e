/* SPDX-License-Identifier: ISC */
/* fxd — the HTTP + WebSocket server (libwebsockets) for OSCQuery and the
 * browser surface, on its own thread, never near the realtime path.
 *
 * HTTP requests are answered on that thread: the OSCQuery tree
 * (osc/oscquery.h, which reads the chain through the control surface's
 * own lock) and the page (osc/web_page.h). WebSocket traffic crosses to
 * the OSC thread, which owns the namespace, through two message rings:
 * binary frames (OSC packets), LISTEN/IGNORE commands and connections
 * opened and closed go there (fx_osc_http_take), and what the OSC thread
 * sends to a connection comes back (fx_osc_http_send). Requests, headers,
 * connections and idle time are bounded; paths never reach the file
 * system. */
#ifndef FX_OSC_HTTP_H
#define FX_OSC_HTTP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/engine/control.h"
#include "dsp/status.h"

typedef struct FxOscHttpImpl FxOscHttp;

enum {
	FX_OSC_HTTP_MAX_WS = 32,       ///< the most --http-max-clients allows
	FX_OSC_HTTP_MAX_FRAME = 65536, ///< the largest WebSocket message taken
};

typedef struct {
	const char *bind;  ///< numeric IPv4 address
	int port;          ///< 0 picks a free port
	const char *allow; ///< "CIDR[,CIDR...]", NULL: anyone
	int max_ws; ///< WebSocket clients at once (1..FX_OSC_HTTP_MAX_WS)
	/* For ?HOST_INFO. */
	const char *name; ///< the JACK client name
	const char *osc_ip;
	int osc_port;
	double feedback_hz;
	/** Called (on the HTTP thread) after something was queued for the
	 *  OSC thread, to wake it. */
	void (*wake)(void *user);
	void *user;
} FxOscHttpConfig;

/** What fx_osc_http_take hands the OSC thread. */
typedef enum {
	FX_OSC_HTTP_OPENED = 1, ///< a WebSocket client connected
	FX_OSC_HTTP_CLOSED,     ///< it went away
	FX_OSC_HTTP_PACKET,     ///< a binary frame: one OSC packet
	FX_OSC_HTTP_LISTEN,     ///< {"COMMAND":"LISTEN","DATA":path}
	FX_OSC_HTTP_IGNORE,     ///< {"COMMAND":"IGNORE","DATA":path}
} FxOscHttpKind;

typedef struct {
	FxOscHttpKind kind;
	uint32_t conn;           ///< the connection: never 0, never reused soon
	struct sockaddr_in addr; ///< its peer (OPENED only)
	size_t len;              ///< bytes in the caller's buffer (PACKET:
				 ///< the packet; LISTEN/IGNORE: the path)
} FxOscHttpEvent;

/** Binds the port. NULL with *@p st and a one-line reason in @p err on
 *  failure; errno is EADDRINUSE when the port is taken. */
FxOscHttp *fx_osc_http_new(const FxOscHttpConfig *cfg, FxControl *control,
                           FxStatus *st, char *err, size_t err_size);

/** Starts the server thread. */
FxStatus fx_osc_http_start(FxOscHttp *h, char *err, size_t err_size);

/** Stops the thread (the rings stay, so the OSC thread may still send);
 *  NULL is a no-op. */
void fx_osc_http_stop(FxOscHttp *h);

/** Stops the thread, closes every connection, frees. NULL is a no-op. */
void fx_osc_http_free(FxOscHttp *h);

/** The port bound. */
int fx_osc_http_port(const FxOscHttp *h);

/** "http 127.0.0.1:9000". */
const char *fx_osc_http_describe(const FxOscHttp *h);

/** OSC thread: the next event, its bytes into @p buf (@p size bytes, at
 *  least FX_OSC_HTTP_MAX_FRAME + 1; a path is NUL-terminated). Returns 0
 *  when there is none. */
int fx_osc_http_take(FxOscHttp *h, FxOscHttpEvent *ev, uint8_t *buf, size_t size);

/** OSC thread: queues a frame (binary: an OSC packet; text: JSON) to
 *  connection @p conn, if it is still there. Returns 0 when it was
 *  refused (the ring is full; counted). */
int fx_osc_http_send(FxOscHttp *h, uint32_t conn, int text, const void *data,
                     size_t len);

typedef struct {
	uint64_t requests;    ///< HTTP requests answered
	uint64_t refused;     ///< connections refused (allowlist, full)
	uint64_t ws_opened;   ///< WebSocket clients accepted
	uint64_t ws_received; ///< frames taken from them
	uint64_t dropped;     ///< frames lost: a ring or a client's queue full
} FxOscHttpCounters;

void fx_osc_http_counters(const FxOscHttp *h, FxOscHttpCounters *out);

#endif

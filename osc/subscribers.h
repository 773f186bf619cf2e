/* SPDX-License-Identifier: ISC */
/* fxd — OSC subscribers: clients that asked (/fxd/subscribe) or were
 * named (--osc-target) to hear parameter feedback (coalesced, rate
 * limited, the chain's text too), meters, stats and counters, and the
 * failures of every client's messages (rate limited, repeats merged).
 * Subscriptions have leases; when the table is full the stalest gives
 * way. Also the syncs waiting for the audio worker, and what MIDI
 * control asks of the OSC thread (a learn's answer, a program change's
 * preset, the morph position's feedback). Sends through the
 * transport; never called by it except through the hooks fxd's server
 * hands it. Everything here runs on the OSC thread. */
#ifndef FX_OSC_SUBSCRIBERS_H
#define FX_OSC_SUBSCRIBERS_H

#include <lo/lo.h>
#include <netinet/in.h>
#include <stdint.h>

#include "daemon/engine/control.h"
#include "daemon/engine/midi.h"
#include "osc/counters.h"
#include "osc/params.h"
#include "osc/transport.h"

enum {
	FX_OSC_MAX_SUBSCRIBERS = 16,
	/** WebSocket clients, kept beside the subscribers (never expire or
	 *  give way; they go when they disconnect). */
	FX_OSC_MAX_WS_CLIENTS = 32,
	FX_OSC_MAX_LISTENS = 4096, ///< addresses one WebSocket client listens to
	FX_OSC_MAX_SYNCS = 64,
	FX_OSC_MAX_PORTS = 64,    ///< meter channels reported
	FX_OSC_PENDING_FAILS = 8, ///< distinct failures kept per feedback tick
	FX_OSC_FAILS_PER_S = 5,   ///< failures forwarded a second, each
};

typedef struct FxOscSubsImpl FxOscSubs;

typedef struct {
	double lease_s; ///< a subscription ends this long after its
			///< last renewal; 0: never
	double rate_hz; ///< feedback flushes a second
	FxMidi *midi;   ///< polled each tick; NULL: MIDI is off
	/** Adds the HTTP server's counters; NULL: none. */
	void (*web_counters)(void *user, FxOscCounters *out);
	void *user;
} FxOscSubsConfig;

/** A WebSocket client connected (@p conn, osc/http.h) from @p addr: it
 *  gets replies, PATH_CHANGED on a chain swap and, for the addresses it
 *  listens to, feedback, meters, stats and counters. */
FxStatus fx_osc_subs_ws_open(FxOscSubs *s, uint32_t conn,
                             const struct sockaddr_in *addr);

/** It went away. */
void fx_osc_subs_ws_close(FxOscSubs *s, uint32_t conn);

/** LISTEN (@p on) or IGNORE @p path. */
FxStatus fx_osc_subs_ws_listen(FxOscSubs *s, uint32_t conn, const char *path,
                               int on);

/** 1 if WebSocket client @p conn listens to @p path. */
int fx_osc_subs_ws_wants(const FxOscSubs *s, uint32_t conn, const char *path);

/** An empty table; NULL when out of memory. */
FxOscSubs *fx_osc_subs_new(const FxOscSubsConfig *cfg, FxControl *control,
                           FxOscParams *params, FxOscTransport *transport);

/** Frees. NULL is a no-op. */
void fx_osc_subs_free(FxOscSubs *s);

/** Adds a subscriber or renews its lease (one that is not static gets
 *  /fxd/subscribed and the full state). When all places are taken, the
 *  non-static one renewed longest ago gives way. FX_OK, or FX_ERR_FULL
 *  when every place is static. */
FxStatus fx_osc_subs_add(FxOscSubs *s, const struct sockaddr_in *addr,
                         int interval_ms, int is_static);

/** Removes the subscriber at @p addr (/fxd/unsubscribe): FX_OK, or
 *  FX_ERR_INVALID with why in @p err when there is none or it is static. */
FxStatus fx_osc_subs_remove(FxOscSubs *s, const struct sockaddr_in *addr,
                            char *err, size_t err_size);

/** The host at @p addr said nothing listens there: a subscriber there
 *  that is not static is removed. */
void fx_osc_subs_unreachable(FxOscSubs *s, const struct sockaddr_in *addr);

/** Keeps a failure answered to @p req's peer, to forward to the others
 *  at the next feedback flush. */
void fx_osc_subs_queue_fail(FxOscSubs *s, const FxOscRequest *req,
                            const char *address, const char *why);

/** Waits for the worker to pass @p point, then answers @p peer
 *  /fxd/synced @p id (or fails after a timeout). FX_ERR_FULL when
 *  FX_OSC_MAX_SYNCS wait already. */
FxStatus fx_osc_subs_add_sync(FxOscSubs *s, const FxOscPeer *peer, int32_t id,
                              uint32_t point);

/** @p peer armed MIDI learn: it gets /fxd/midi/learned ,sii PATH CH NUM
 *  when the mapping is made (a later learn takes its place). */
void fx_osc_subs_learn(FxOscSubs *s, const FxOscPeer *peer);

/** The full state to every subscriber (static targets at start). */
void fx_osc_subs_send_state(FxOscSubs *s);

/** Periodic work: leases, syncs, MIDI notices, feedback, failures,
 *  meters, stats.
 *  Returns nonzero while syncs wait. */
int fx_osc_subs_tick(FxOscSubs *s);

/** The /fxd/stats message (name/value pairs); the caller frees it. */
lo_message fx_osc_subs_stats(FxOscSubs *s);

/** Every OSC counter: the transport's and the subscribers'. */
void fx_osc_subs_counters(const FxOscSubs *s, FxOscCounters *out);

#endif

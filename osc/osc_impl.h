/* SPDX-License-Identifier: ISC */
/* fxd — the OSC server's private layout: the glue that builds the
 * transport, the parameter addresses, the subscribers and the method
 * table, and hands each received packet to liblo for parsing. For
 * osc/server.c and the tests. Everything here belongs to the OSC thread. */
#ifndef FX_OSC_IMPL_H
#define FX_OSC_IMPL_H

#include <lo/lo.h>

#include "osc/http.h"
#include "osc/methods.h"
#include "osc/osc.h"
#include "osc/params.h"
#include "osc/subscribers.h"
#include "osc/transport.h"

struct FxOscImpl {
	FxOscConfig cfg;
	FxOscTransport *transport;
	FxOscParams *params;
	FxOscSubs *subs;
	FxOscNamespace ns; ///< what the method handlers work on
	lo_server lo;      ///< parser only: its handler dispatches
	/** The request whose packet liblo is parsing: set only for the
	 *  length of one lo_server_dispatch_data call, because liblo's
	 *  handler takes one fixed user pointer. */
	FxOscRequest *parsing;
	FxOscHttp *http; ///< NULL: HTTP is off
	char http_note[256];
	uint8_t *ws_packet; ///< one WebSocket message being handled
};

/** Periodic work (leases, syncs, feedback, meters, stats), as the
 *  server's thread does after each wake-up; for tests without it. */
void fx_osc_tick(FxOsc *o);

/** Moves the server's clock @p seconds ahead (tests: leases, rates). */
void fx_osc_clock_advance(FxOsc *o, double seconds);

#endif

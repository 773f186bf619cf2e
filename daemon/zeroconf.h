/* SPDX-License-Identifier: ISC */
/* fxd — advertising fxd on the local network over Zeroconf (DNS-SD).
 *
 * Two implementations behind this one header, chosen at link time:
 * zeroconf.c (avahi-client on its own thread, avahi's threaded poll) and
 * zeroconf_none.c (built without avahi: fx_zeroconf_new says why not).
 * Nothing here runs on, or waits for, the realtime path. Main thread only.
 */
#ifndef FX_ZEROCONF_H
#define FX_ZEROCONF_H

#include <stddef.h>

typedef struct FxZeroconfImpl FxZeroconf;

/** Advertises `_osc._udp` on @p osc_port and, when @p http_port > 0,
 *  `_oscjson._tcp` (OSCQuery) on @p http_port, both under the service name
 *  @p name (the JACK client name), with a "txtvers=1" TXT record. Runs on
 *  in the background: while avahi-daemon (or the D-Bus system bus) is not
 *  there it logs once that it is not advertising yet and advertises once
 *  it appears; a name taken on the network is renamed the way avahi
 *  suggests ("fxd #2") and logged. Returns NULL with a one-line reason in
 *  @p err only where it cannot start at all (built without avahi, out of
 *  memory): the caller logs "not advertising: REASON" and runs on. */
FxZeroconf *fx_zeroconf_new(const char *name, int osc_port, int http_port,
                            char *err, size_t err_size);

/** Withdraws the services and stops the thread. NULL is a no-op. */
void fx_zeroconf_free(FxZeroconf *z);

#endif

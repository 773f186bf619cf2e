/* SPDX-License-Identifier: ISC */
/* fxctl — finding fxd instances over Zeroconf (DNS-SD): `fxctl --find`
 * and `fxctl -n NAME`.
 *
 * Two implementations behind this one header, chosen at link time:
 * fxctl_find.c (avahi-client: browses _osc._udp and _oscjson._tcp through
 * a running avahi-daemon and resolves each instance) and
 * fxctl_find_none.c (built without avahi: always FX_FIND_UNAVAILABLE).
 * IPv4 only, like the rest of fxctl.
 */
#ifndef FX_FXCTL_FIND_H
#define FX_FXCTL_FIND_H

#include <stddef.h>

/** One fxd on the network: its _osc._udp and _oscjson._tcp services
 *  merged by service name. */
typedef struct {
	char name[64];    ///< the service name (fxd's JACK client name)
	char host[256];   ///< its mDNS host name, "vm.local"
	char address[16]; ///< numeric IPv4 to send OSC to; "" if unknown
	int osc_port;     ///< _osc._udp port, 0 if not advertised
	int http_port;    ///< _oscjson._tcp port, 0 if not advertised
} FxFound;

enum {
	FX_FIND_UNAVAILABLE = -1, ///< no avahi: not built in, or no daemon
};

/** Browses for up to @p wait_s seconds, or until avahi has reported
 *  everything it knows and every instance is resolved, and fills @p out
 *  (at most @p max rows, sorted by name). With @p only set, looks for
 *  that one _osc._udp service and returns as soon as it is resolved.
 *  An instance on this host is given the loopback address where avahi
 *  reports one. Returns the number of rows, or FX_FIND_UNAVAILABLE with a
 *  one-line reason in @p err. */
int fx_find(const char *only, double wait_s, FxFound *out, int max, char *err,
            size_t err_size);

#endif

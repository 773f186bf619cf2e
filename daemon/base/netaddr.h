/* SPDX-License-Identifier: ISC */
/* fxd — addresses given as option values, parsed and checked without
 * opening anything: IPv4 networks (--osc-allow), HOST:PORT targets
 * (--osc-target) and OSC alias pairs (--alias FROM=TO). daemon/options.c
 * checks values with the FxOptCheck validators below; osc/ parses the
 * same values with the same functions when it starts. */
#ifndef FX_NETADDR_H
#define FX_NETADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "dsp/status.h"

enum {
	FX_NETADDR_MAX_CIDRS = 16, ///< the most networks a list may name
};

/** One IPv4 network: an address matches when (addr & mask) == net. */
typedef struct {
	uint32_t net, mask; ///< host byte order
} FxCidr;

/** Parses "CIDR[,CIDR...]" ("192.168.1.0/24,10.0.0.5"; spaces around each
 *  allowed) into up to @p max networks, their count in *@p n. FX_OK, or
 *  FX_ERR_SYNTAX with why in @p err. */
FxStatus fx_netaddr_parse_cidrs(const char *value, FxCidr *out, int max, int *n,
                                char *err, size_t err_size);

/** Parses "HOST:PORT" with a numeric IPv4 host and a port in 1..65535
 *  into @p out. FX_OK, or FX_ERR_SYNTAX with why in @p err. */
FxStatus fx_netaddr_parse_host_port(const char *value, struct sockaddr_in *out,
                                    char *err, size_t err_size);

/** Checks one alias "FROM=TO" of two OSC addresses without spaces,
 *  patterns or a trailing '/': NULL if good, else why not. */
const char *fx_netaddr_alias_problem(const char *value);

/** FxOptCheck validators (daemon/base/optable.h): NULL if @p value is
 *  good, else why not (written into @p buf when it has room). A numeric
 *  IPv4 address. */
const char *fx_netaddr_check_ipv4(const char *value, char *buf, size_t size);
/** A list for fx_netaddr_parse_cidrs, at most FX_NETADDR_MAX_CIDRS. */
const char *fx_netaddr_check_cidrs(const char *value, char *buf, size_t size);
/** A target for fx_netaddr_parse_host_port. */
const char *fx_netaddr_check_target(const char *value, char *buf, size_t size);
/** An alias for fx_netaddr_alias_problem. */
const char *fx_netaddr_check_alias(const char *value, char *buf, size_t size);

#endif

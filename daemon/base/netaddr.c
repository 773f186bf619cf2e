/* SPDX-License-Identifier: ISC */
/* Addresses given as option values (netaddr.h). */
#include "daemon/base/netaddr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/fail.h"

static int parse_cidr(const char *text, size_t len, FxCidr *out)
{
	char buf[64];
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	long bits = 32;
	char *slash = strchr(buf, '/');
	if (slash) {
		char *end;
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || bits < 0 || bits > 32)
			return -1;
	}
	struct in_addr a;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	out->mask = bits ? 0xffffffffu << (32 - bits) : 0;
	out->net = ntohl(a.s_addr) & out->mask;
	return 0;
}

FxStatus fx_netaddr_parse_cidrs(const char *value, FxCidr *out, int max, int *n,
                                char *err, size_t err_size)
{
	*n = 0;
	for (const char *p = value;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		while (len && *p == ' ')
			p++, len--;
		while (len && p[len - 1] == ' ')
			len--;
		if (*n == max || parse_cidr(p, len, &out[*n]) != 0)
			return fx_fail(FX_ERR_SYNTAX, err, err_size,
			               "is not a list of IPv4 networks like "
			               "192.168.1.0/24,10.0.0.5 (at most %d)",
			               max);
		++*n;
		if (!comma)
			return FX_OK;
		p = comma + 1;
	}
}

FxStatus fx_netaddr_parse_host_port(const char *value, struct sockaddr_in *out,
                                    char *err, size_t err_size)
{
	const char *colon = strrchr(value, ':');
	char host[64];
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	if (colon && colon != value && (size_t)(colon - value) < sizeof host) {
		memcpy(host, value, (size_t)(colon - value));
		host[colon - value] = '\0';
		char *end;
		long port = strtol(colon + 1, &end, 10);
		out->sin_port = htons((uint16_t)port);
		if (end != colon + 1 && !*end && port >= 1 && port <= 65535 &&
		    inet_pton(AF_INET, host, &out->sin_addr) == 1)
			return FX_OK;
	}
	return fx_fail(FX_ERR_SYNTAX, err, err_size,
	               "is not HOST:PORT with a "
	               "numeric IPv4 host (no DNS names)");
}

const char *fx_netaddr_alias_problem(const char *value)
{
	const char *eq = strchr(value, '=');
	if (!eq || value[0] != '/' || eq[1] != '/')
		return "is not FROM=TO with two OSC addresses";
	if (eq[-1] == '/' || value[strlen(value) - 1] == '/' ||
	    strpbrk(value, "*?[]{}") || strchr(value, ' '))
		return "must not contain spaces, patterns or a trailing '/'";
	return NULL;
}

const char *fx_netaddr_check_ipv4(const char *value, char *buf, size_t size)
{
	struct in_addr a;
	(void)buf;
	(void)size;
	return inet_pton(AF_INET, value, &a) == 1 ? NULL
	                                          : "is not a numeric IPv4 "
	                                            "address";
}

const char *fx_netaddr_check_cidrs(const char *value, char *buf, size_t size)
{
	FxCidr tmp[FX_NETADDR_MAX_CIDRS];
	int n;
	if (fx_netaddr_parse_cidrs(value, tmp, FX_NETADDR_MAX_CIDRS, &n, buf,
	                           size) == FX_OK)
		return NULL;
	return size ? buf : "is not a list of IPv4 networks";
}

const char *fx_netaddr_check_target(const char *value, char *buf, size_t size)
{
	struct sockaddr_in a;
	if (fx_netaddr_parse_host_port(value, &a, buf, size) == FX_OK)
		return NULL;
	return size ? buf : "is not HOST:PORT";
}

const char *fx_netaddr_check_alias(const char *value, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	return fx_netaddr_alias_problem(value);
}

/* SPDX-License-Identifier: ISC */
/* fxctl's Zeroconf side through avahi-client, on avahi's simple poll: one
 * thread, driven here until the answer is complete or time is up. */
#include "clients/fxctl_find.h"

#include <arpa/inet.h>
#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/error.h>
#include <avahi-common/simple-watch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const types[] = {"_osc._udp", "_oscjson._tcp"};
enum { N_TYPES = sizeof types / sizeof types[0], OSC = 0 };

typedef struct {
	AvahiSimplePoll *poll;
	AvahiClient *client;
	const char *only;
	FxFound *rows;
	int n, max;
	int all_for_now[N_TYPES]; ///< the browser has said all it knows
	int pending;              ///< resolvers not yet answered
	int found_only;           ///< @p only resolved to a usable address
	int failed;               ///< the daemon went away meanwhile
} Find;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static FxFound *row_of(Find *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->rows[i].name, name))
			return &f->rows[i];
	return NULL;
}

static FxFound *row_for(Find *f, const char *name)
{
	FxFound *r = row_of(f, name);
	if (r)
		return r;
	if (f->n == f->max)
		return NULL;
	r = &f->rows[f->n++];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	return r;
}

static int is_loopback(const AvahiAddress *a)
{
	return a->proto == AVAHI_PROTO_INET &&
	       (ntohl(a->data.ipv4.address) >> 24) == 127;
}

/* An instance seen on several interfaces (lo and eth0 for one on this
 * host) keeps its loopback address: fxd listens on 127.0.0.1 unless told
 * otherwise, and that address always reaches it from here. */
static void take(Find *f, int type, const char *name, const char *host,
                 const AvahiAddress *a, uint16_t port, int local)
{
	FxFound *r = row_for(f, name);
	if (!r)
		return;
	if (!*r->host || (type == OSC && is_loopback(a)))
		snprintf(r->host, sizeof r->host, "%s", host);
	if (type != OSC) {
		r->http_port = port;
		return;
	}
	if (!r->osc_port || is_loopback(a)) {
		r->osc_port = port;
		avahi_address_snprint(r->address, sizeof r->address, a);
	}
	if (f->only && (is_loopback(a) || !local || f->all_for_now[OSC]))
		f->found_only = 1;
}

static void on_resolved(AvahiServiceResolver *r, AvahiIfIndex iface,
                        AvahiProtocol proto, AvahiResolverEvent event,
                        const char *name, const char *type, const char *domain,
                        const char *host, const AvahiAddress *a, uint16_t port,
                        AvahiStringList *txt, AvahiLookupResultFlags flags,
                        void *user)
{
	(void)iface;
	(void)proto;
	(void)domain;
	(void)txt;
	Find *f = user;
	if (event == AVAHI_RESOLVER_FOUND && a->proto == AVAHI_PROTO_INET)
		take(f, strcmp(type, types[OSC]) ? 1 : OSC, name, host, a, port,
		     !!(flags & AVAHI_LOOKUP_RESULT_LOCAL));
	f->pending--;
	avahi_service_resolver_free(r);
}

static void on_browse(AvahiServiceBrowser *b, AvahiIfIndex iface,
                      AvahiProtocol proto, AvahiBrowserEvent event,
                      const char *name, const char *type, const char *domain,
                      AvahiLookupResultFlags flags, void *user)
{
	(void)b;
	(void)flags;
	Find *f = user;
	int t = strcmp(type ? type : "", types[OSC]) ? 1 : OSC;
	switch (event) {
	case AVAHI_BROWSER_NEW:
		if (f->only && strcmp(name, f->only))
			break;
		if (avahi_service_resolver_new(f->client, iface, proto, name,
		                               type, domain, AVAHI_PROTO_INET,
		                               0, on_resolved, f))
			f->pending++;
		break;
	case AVAHI_BROWSER_ALL_FOR_NOW:
		f->all_for_now[t] = 1;
		/* A local instance resolved on eth0 before lo: good enough now. */
		if (f->only && t == OSC && row_of(f, f->only) &&
		    row_of(f, f->only)->osc_port)
			f->found_only = 1;
		break;
	case AVAHI_BROWSER_FAILURE:
		f->failed = 1;
		break;
	default:
		break;
	}
}

static void on_client(AvahiClient *c, AvahiClientState state, void *user)
{
	Find *f = user;
	(void)c;
	if (state == AVAHI_CLIENT_FAILURE)
		f->failed = 1;
}

static int done(const Find *f)
{
	if (f->failed || f->found_only)
		return 1;
	int types_done = f->only ? f->all_for_now[OSC]
	                         : f->all_for_now[0] && f->all_for_now[1];
	return types_done && !f->pending;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const FxFound *)a)->name, ((const FxFound *)b)->name);
}

int fx_find(const char *only, double wait_s, FxFound *out, int max, char *err,
            size_t err_size)
{
	Find f = {.only = only, .rows = out, .max = max};
	int error = 0;
	if (!(f.poll = avahi_simple_poll_new())) {
		snprintf(err, err_size, "out of memory");
		return FX_FIND_UNAVAILABLE;
	}
	f.client = avahi_client_new(avahi_simple_poll_get(f.poll), 0, on_client,
	                            &f, &error);
	if (!f.client) {
		snprintf(err, err_size,
		         "cannot reach avahi-daemon (%s): Zeroconf needs it "
		         "running",
		         avahi_strerror(error));
		avahi_simple_poll_free(f.poll);
		return FX_FIND_UNAVAILABLE;
	}
	int rc = 0;
	for (int t = 0; t < N_TYPES && !rc; t++) {
		if (only && t != OSC)
			continue;
		if (!avahi_service_browser_new(f.client, AVAHI_IF_UNSPEC,
		                               AVAHI_PROTO_INET, types[t], NULL,
		                               0, on_browse, &f)) {
			snprintf(err, err_size, "cannot browse %s: %s", types[t],
			         avahi_strerror(avahi_client_errno(f.client)));
			rc = FX_FIND_UNAVAILABLE;
		}
	}
	double deadline = now_s() + wait_s;
	while (!rc && !done(&f)) {
		double left = deadline - now_s();
		if (left <= 0)
			break;
		/* Wakes for each event; waits at most what is left. */
		if (avahi_simple_poll_iterate(f.poll, (int)(left * 1e3) + 1) != 0)
			break;
	}
	if (!rc && f.failed) {
		snprintf(err, err_size, "avahi-daemon failed: %s",
		         avahi_strerror(avahi_client_errno(f.client)));
		rc = FX_FIND_UNAVAILABLE;
	}
	/* Frees the browsers and the resolvers still out. */
	avahi_client_free(f.client);
	avahi_simple_poll_free(f.poll);
	if (rc)
		return rc;
	qsort(out, (size_t)f.n, sizeof *out, by_name);
	return f.n;
}

/* SPDX-License-Identifier: ISC */
/* Zeroconf through avahi-client. Every avahi call after fx_zeroconf_new
 * runs on the threaded poll's own thread (the callbacks below); the main
 * thread only creates and, once that thread has stopped, frees. Even the
 * first connection is made there: avahi_client_new blocks on D-Bus. */
#include <config.h>

#include "daemon/zeroconf.h"

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/log.h"

/* With no D-Bus system bus to reach, avahi_client_new fails even with
 * AVAHI_CLIENT_NO_FAIL: try again this often. */
static const unsigned RETRY_MS = 5000;

struct FxZeroconfImpl {
	AvahiThreadedPoll *poll;
	const AvahiPoll *api;
	AvahiTimeout *connect;  ///< (re)connects to the bus
	AvahiClient *client;    ///< NULL while there is no bus
	AvahiEntryGroup *group; ///< NULL until the daemon runs
	char *name;             ///< the service name now (avahi_malloc)
	int osc_port, http_port;
	int said_waiting; ///< "not advertising yet" logged since last running
};

static void publish(FxZeroconf *z, AvahiClient *c);

static void waiting(FxZeroconf *z, const char *why)
{
	if (!z->said_waiting++)
		fx_log(LOG_NOTICE,
		       "zeroconf: not advertising yet: %s; fxd advertises "
		       "once it is there",
		       why);
}

/* avahi's suggestion: "fxd" -> "fxd #2" -> "fxd #3". */
static void rename_service(FxZeroconf *z)
{
	char *next = avahi_alternative_service_name(z->name);
	if (!next)
		return;
	fx_log(LOG_NOTICE,
	       "zeroconf: '%s' is taken on the network; advertising as '%s'",
	       z->name, next);
	avahi_free(z->name);
	z->name = next;
}

static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *user)
{
	FxZeroconf *z = user;
	AvahiClient *c = avahi_entry_group_get_client(g);
	switch (state) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		if (z->http_port > 0)
			fx_log(LOG_INFO,
			       "zeroconf: advertising '%s': _osc._udp port %d, "
			       "_oscjson._tcp port %d",
			       z->name, z->osc_port, z->http_port);
		else
			fx_log(LOG_INFO,
			       "zeroconf: advertising '%s': _osc._udp port %d",
			       z->name, z->osc_port);
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		rename_service(z);
		avahi_entry_group_reset(g);
		publish(z, c);
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		fx_log(LOG_ERR, "zeroconf: not advertising: %s",
		       avahi_strerror(avahi_client_errno(c)));
		break;
	default:
		break;
	}
}

static int add_services(FxZeroconf *z)
{
	int rc = avahi_entry_group_add_service(
		z->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0, z->name,
		"_osc._udp", NULL, NULL, (uint16_t)z->osc_port, "txtvers=1",
		NULL);
	if (rc >= 0 && z->http_port > 0)
		rc = avahi_entry_group_add_service(
			z->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0,
			z->name, "_oscjson._tcp", NULL, NULL,
			(uint16_t)z->http_port, "txtvers=1", NULL);
	return rc >= 0 ? avahi_entry_group_commit(z->group) : rc;
}

/* Adds both services unless they are there already. A name another
 * program on this host holds is refused at once (AVAHI_ERR_COLLISION)
 * rather than through on_group. */
static void publish(FxZeroconf *z, AvahiClient *c)
{
	if (!z->group && !(z->group = avahi_entry_group_new(c, on_group, z))) {
		fx_log(LOG_ERR, "zeroconf: not advertising: %s",
		       avahi_strerror(avahi_client_errno(c)));
		return;
	}
	if (!avahi_entry_group_is_empty(z->group))
		return;
	int rc;
	/* Bounded: avahi's names grow "#2", "#3", ... */
	for (int tries = 0; tries < 100; tries++) {
		if ((rc = add_services(z)) != AVAHI_ERR_COLLISION)
			break;
		rename_service(z);
		avahi_entry_group_reset(z->group);
	}
	if (rc < 0)
		fx_log(LOG_ERR, "zeroconf: not advertising: %s",
		       avahi_strerror(rc));
}

static void connect_bus(FxZeroconf *z);

static void on_client(AvahiClient *c, AvahiClientState state, void *user)
{
	FxZeroconf *z = user;
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		z->said_waiting = 0;
		publish(z, c);
		break;
	case AVAHI_CLIENT_S_COLLISION:
	case AVAHI_CLIENT_S_REGISTERING:
		/* The host name changes: publish again once it is settled. */
		if (z->group)
			avahi_entry_group_reset(z->group);
		break;
	case AVAHI_CLIENT_CONNECTING:
		waiting(z, "avahi-daemon is not running");
		break;
	case AVAHI_CLIENT_FAILURE:
		if (avahi_client_errno(c) == AVAHI_ERR_DISCONNECTED)
			waiting(z, "avahi-daemon went away");
		else
			waiting(z, avahi_strerror(avahi_client_errno(c)));
		/* Frees the group too; a new client waits for the daemon. */
		avahi_client_free(c);
		z->client = NULL;
		z->group = NULL;
		connect_bus(z);
		break;
	}
}

static void connect_bus(FxZeroconf *z)
{
	int error = 0;
	z->client = avahi_client_new(z->api, AVAHI_CLIENT_NO_FAIL, on_client, z,
	                             &error);
	if (z->client)
		return;
	char why[160];
	snprintf(why, sizeof why, "no D-Bus system bus (%s)",
	         avahi_strerror(error));
	waiting(z, why);
	struct timeval tv;
	z->api->timeout_update(z->connect, avahi_elapse_time(&tv, RETRY_MS, 0));
}

static void on_connect(AvahiTimeout *t, void *user)
{
	(void)t;
	connect_bus(user);
}

FxZeroconf *fx_zeroconf_new(const char *name, int osc_port, int http_port,
                            char *err, size_t err_size)
{
	if (!name || !avahi_is_valid_service_name(name)) {
		snprintf(err, err_size, "'%s' is no valid service name",
		         name ? name : "");
		return NULL;
	}
	FxZeroconf *z = calloc(1, sizeof *z);
	if (!z || !(z->name = avahi_strdup(name)) ||
	    !(z->poll = avahi_threaded_poll_new())) {
		snprintf(err, err_size, "out of memory");
		fx_zeroconf_free(z);
		return NULL;
	}
	z->osc_port = osc_port;
	z->http_port = http_port;
	z->api = avahi_threaded_poll_get(z->poll);
	struct timeval now;
	/* Before the thread starts, so no lock is needed yet. */
	if (!(z->connect = z->api->timeout_new(
		      z->api, avahi_elapse_time(&now, 0, 0), on_connect, z)) ||
	    avahi_threaded_poll_start(z->poll) < 0) {
		snprintf(err, err_size, "cannot start the Zeroconf thread");
		fx_zeroconf_free(z);
		return NULL;
	}
	return z;
}

void fx_zeroconf_free(FxZeroconf *z)
{
	if (!z)
		return;
	if (z->poll)
		avahi_threaded_poll_stop(z->poll);
	/* Withdraws the services: the daemon sends goodbye packets. */
	if (z->client)
		avahi_client_free(z->client);
	if (z->poll)
		avahi_threaded_poll_free(z->poll); /* and the timeout */
	avahi_free(z->name);
	free(z);
}

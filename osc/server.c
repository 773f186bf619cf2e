/* SPDX-License-Identifier: ISC */
/* The OSC server: builds the transport, the parameter addresses, the
 * subscribers and the method table, and joins them. The transport hands
 * each packet here; it is checked for what liblo would act on by itself,
 * parsed by liblo and each message dispatched with its request context. */
#define _GNU_SOURCE
#include "osc/osc_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FxOscConfig fx_osc_config_default(void)
{
	return (FxOscConfig){.bind = "127.0.0.1",
	                     .port = 8000,
	                     .rate_hz = 30,
	                     .tcp_max = 8,
	                     .tcp_idle_s = 300,
	                     .lease_s = 60,
	                     .http_bind = "127.0.0.1",
	                     .http_max = 16};
}

/* ---- packets -------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Checks what liblo would act on before it does: every message address in
 * the packet starts with '/', is terminated, and does not end in '/'
 * (liblo answers those itself, outside fxd's socket). Bundles are made
 * immediate: liblo would queue a future one where only its own receive
 * loop, which fxd does not run, takes it out again. Returns NULL or why
 * not; *@p address points at the offending address when there is one. */
static const char *check_packet(uint8_t *p, size_t len, int depth,
                                const char **address)
{
	static const uint8_t IMMEDIATE[8] = {0, 0, 0, 0, 0, 0, 0, 1};
	if (len < 4 || len % 4)
		return "truncated packet";
	if (len >= 16 && !memcmp(p, "#bundle", 8)) {
		if (depth > 4)
			return "bundles nested too deep";
		memcpy(p + 8, IMMEDIATE, sizeof IMMEDIATE);
		for (size_t at = 16; at < len;) {
			if (len - at < 4)
				return "truncated bundle";
			uint32_t n = be32(p + at);
			at += 4;
			if (n > len - at || n == 0)
				return "truncated bundle";
			const char *why = check_packet(p + at, n, depth + 1,
			                               address);
			if (why)
				return why;
			at += n;
		}
		return NULL;
	}
	const char *nul = memchr(p, '\0', len);
	if (!nul)
		return "unterminated address";
	*address = (const char *)p;
	if (p[0] != '/')
		return "address must start with '/'";
	if (nul[-1] == '/')
		return "address must not end with '/'";
	return NULL;
}

/* liblo's handler for every message of the packet being parsed. */
static int on_message(const char *path, const char *types, lo_arg **argv,
                      int argc, lo_message msg, void *user)
{
	FxOsc *o = user;
	(void)msg;
	fx_osc_dispatch(&o->ns, o->parsing, path, types, argv, argc);
	return 0;
}

/* The transport's receive hook. */
static void on_packet(void *user, FxOscRequest *req, uint8_t *packet, size_t len)
{
	FxOsc *o = user;
	const char *address = "";
	const char *why = check_packet(packet, len, 0, &address);
	if (why) {
		fx_osc_fail(req, address, "%s", why);
		return;
	}
	o->parsing = req;
	int rc = lo_server_dispatch_data(o->lo, packet, len);
	o->parsing = NULL;
	if (rc < 0)
		fx_osc_fail(req, address, "malformed OSC message");
}

static void on_failed(void *user, const FxOscRequest *req, const char *address,
                      const char *why)
{
	FxOsc *o = user;
	fx_osc_subs_queue_fail(o->subs, req, address, why);
}

static void on_unreachable(void *user, const struct sockaddr_in *addr)
{
	FxOsc *o = user;
	fx_osc_subs_unreachable(o->subs, addr);
}

/* Static targets get the whole state first, like any subscriber. */
static void on_started(void *user)
{
	FxOsc *o = user;
	fx_osc_subs_send_state(o->subs);
}

/* ---- WebSocket clients ---------------------------------------------------- */

/* The transport's stream hook: to a WebSocket client, what it listens to
 * (feedback) or anything (replies). */
static void on_stream(void *user, const FxOscPeer *peer, const char *path,
                      const void *data, size_t len, int text)
{
	FxOsc *o = user;
	if (!o->http)
		return;
	if (peer->listened && path &&
	    !fx_osc_subs_ws_wants(o->subs, peer->ws, path))
		return;
	fx_osc_http_send(o->http, peer->ws, text, data, len);
}

static void web_counters(void *user, FxOscCounters *out)
{
	FxOsc *o = user;
	if (!o->http)
		return;
	FxOscHttpCounters h;
	fx_osc_http_counters(o->http, &h);
	out->http_requests = h.requests;
	out->http_refused = h.refused;
	out->ws_opened = h.ws_opened;
	out->ws_received = h.ws_received;
	out->http_dropped = h.dropped;
}

static void on_wake(void *user)
{
	FxOsc *o = user;
	fx_osc_transport_wake(o->transport);
}

static void on_packet(void *user, FxOscRequest *req, uint8_t *packet, size_t len);

/* What the HTTP thread handed over since the last tick. */
static void take_web(FxOsc *o)
{
	FxOscHttpEvent ev;
	uint8_t *buf = o->ws_packet;
	while (fx_osc_http_take(o->http, &ev, buf, FX_OSC_HTTP_MAX_FRAME + 1)) {
		switch (ev.kind) {
		case FX_OSC_HTTP_OPENED:
			fx_osc_subs_ws_open(o->subs, ev.conn, &ev.addr);
			break;
		case FX_OSC_HTTP_CLOSED:
			fx_osc_subs_ws_close(o->subs, ev.conn);
			break;
		case FX_OSC_HTTP_LISTEN:
		case FX_OSC_HTTP_IGNORE:
			fx_osc_subs_ws_listen(o->subs, ev.conn, (char *)buf,
			                      ev.kind == FX_OSC_HTTP_LISTEN);
			break;
		case FX_OSC_HTTP_PACKET: {
			FxOscRequest req = {.transport = o->transport,
			                    .peer = {.tcp = -1, .ws = ev.conn},
			                    .rx_ns = fx_osc_now_ns()};
			if (ev.len > FX_OSC_MAX_PACKET)
				fx_osc_fail(&req, "",
				            "packet larger than %d bytes",
				            FX_OSC_MAX_PACKET);
			else
				on_packet(o, &req, buf, ev.len);
			break;
		}
		}
	}
}

static int on_tick(void *user)
{
	FxOsc *o = user;
	if (o->http)
		take_web(o);
	return fx_osc_subs_tick(o->subs);
}

void fx_osc_tick(FxOsc *o)
{
	fx_osc_subs_tick(o->subs);
}

void fx_osc_clock_advance(FxOsc *o, double seconds)
{
	fx_osc_transport_advance(o->transport, seconds);
}

/* ---- the server ----------------------------------------------------------- */

static void lo_error(int num, const char *msg, const char *where)
{
	/* Bad packets are counted and answered; liblo must not print. */
	(void)num;
	(void)msg;
	(void)where;
}

/* Frees the half-built server, keeping errno (EADDRINUSE tells a taken
 * port apart): returns NULL. The reason is in err already. */
static FxOsc *give_up(FxOsc *o)
{
	int e = errno;
	fx_osc_free(o);
	errno = e;
	return NULL;
}

/* The parser: a liblo server on a private local socket that nothing ever
 * connects to (lo_server_new(NULL) would open a UDP port on every
 * interface). */
static lo_server new_parser(FxOsc *o, char *err, size_t size)
{
	char dir[] = "/tmp/fxd-osc-XXXXXX", path[64];
	if (!mkdtemp(dir)) {
		snprintf(err, size, "cannot make a directory in /tmp: %s",
		         strerror(errno));
		return NULL;
	}
	snprintf(path, sizeof path, "%s/lo", dir);
	lo_server lo = lo_server_new_with_proto(path, LO_UNIX, lo_error);
	unlink(path);
	rmdir(dir);
	if (!lo) {
		snprintf(err, size, "cannot create the liblo dispatch table");
		return NULL;
	}
	lo_server_add_method(lo, NULL, NULL, on_message, o);
	return lo;
}

/* The HTTP server, or a note saying why it is off when its default port
 * was taken. */
static FxStatus start_web(FxOsc *o, FxControl *control, char *err, size_t err_size)
{
	const FxOscConfig *cfg = &o->cfg;
	FxOscHttpConfig hc = {.bind = cfg->http_bind,
	                      .port = cfg->http_port,
	                      .allow = cfg->allow,
	                      .max_ws = cfg->http_max,
	                      .name = cfg->name,
	                      .osc_ip = cfg->bind,
	                      .osc_port = fx_osc_transport_port(o->transport),
	                      .feedback_hz = cfg->rate_hz,
	                      .wake = on_wake,
	                      .user = o};
	if (!(o->ws_packet = malloc(FX_OSC_HTTP_MAX_FRAME + 1))) {
		snprintf(err, err_size, "out of memory");
		return FX_ERR_NOMEM;
	}
	FxStatus st;
	char why[160];
	o->http = fx_osc_http_new(&hc, control, &st, why, sizeof why);
	if (o->http)
		return FX_OK;
	if (cfg->http_port_default && errno == EADDRINUSE) {
		snprintf(o->http_note, sizeof o->http_note,
		         "%s; running without HTTP (give --http-port)", why);
		return FX_OK;
	}
	snprintf(err, err_size, "%s", why);
	return st;
}

FxOsc *fx_osc_new(const FxOscConfig *cfg, FxControl *control, char *err,
                  size_t err_size)
{
	FxOsc *o = calloc(1, sizeof *o);
	if (!o) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	o->cfg = *cfg;
	FxStatus st;
	if (!(o->params = fx_osc_params_new(control, cfg->aliases,
	                                    cfg->n_aliases, &st, err, err_size)))
		return give_up(o);
	FxOscTransportConfig tc = {.bind = cfg->bind,
	                           .port = cfg->port,
	                           .tcp = cfg->tcp,
	                           .allow = cfg->allow,
	                           .tcp_max = cfg->tcp_max,
	                           .tcp_idle_s = cfg->tcp_idle_s};
	FxOscHooks hooks = {.user = o,
	                    .receive = on_packet,
	                    .failed = on_failed,
	                    .unreachable = on_unreachable,
	                    .started = on_started,
	                    .tick = on_tick,
	                    .stream = on_stream};
	if (!(o->transport = fx_osc_transport_new(&tc, &hooks, &st, err,
	                                          err_size)))
		return give_up(o);
	FxOscSubsConfig sc = {.lease_s = cfg->lease_s,
	                      .rate_hz = cfg->rate_hz,
	                      .midi = cfg->midi,
	                      .web_counters = web_counters,
	                      .user = o};
	if (!(o->subs = fx_osc_subs_new(&sc, control, o->params, o->transport))) {
		snprintf(err, err_size, "out of memory");
		return give_up(o);
	}
	o->ns = (FxOscNamespace){control, o->params, o->subs, cfg->midi};
	if (cfg->http && start_web(o, control, err, err_size) != FX_OK)
		return give_up(o);
	if (!(o->lo = new_parser(o, err, err_size)))
		return give_up(o);
	for (int i = 0; i < cfg->n_targets; i++) {
		struct sockaddr_in t;
		char why[128];
		if (fx_netaddr_parse_host_port(cfg->targets[i], &t, why,
		                               sizeof why) != FX_OK) {
			snprintf(err, err_size, "bad --osc-target '%s'",
			         cfg->targets[i]);
			return give_up(o);
		}
		if (fx_osc_subs_add(o->subs, &t, 100, 1) != FX_OK) {
			snprintf(err, err_size,
			         "too many OSC targets (at most "
			         "%d)",
			         FX_OSC_MAX_SUBSCRIBERS);
			return give_up(o);
		}
	}
	return o;
}

int fx_osc_port(const FxOsc *o)
{
	return fx_osc_transport_port(o->transport);
}

const char *fx_osc_describe(const FxOsc *o)
{
	return fx_osc_transport_describe(o->transport);
}

void fx_osc_counters(FxOsc *o, FxOscCounters *out)
{
	fx_osc_subs_counters(o->subs, out);
}

void fx_osc_inject(FxOsc *o, const void *data, size_t len, int port)
{
	fx_osc_transport_inject(o->transport, data, len, port);
}

int fx_osc_web_port(const FxOsc *o)
{
	return o->http ? fx_osc_http_port(o->http) : 0;
}

const char *fx_osc_web_describe(const FxOsc *o)
{
	return o->http ? fx_osc_http_describe(o->http) : NULL;
}

const char *fx_osc_web_note(const FxOsc *o)
{
	return o->http_note[0] ? o->http_note : NULL;
}

int fx_osc_start(FxOsc *o)
{
	char err[128];
	if (fx_osc_transport_start(o->transport, err, sizeof err) != FX_OK)
		return -1;
	return o->http && fx_osc_http_start(o->http, err, sizeof err) != FX_OK
	               ? -1
	               : 0;
}

void fx_osc_free(FxOsc *o)
{
	if (!o)
		return;
	/* The threads first: they use everything below, and each other
	 * (the HTTP thread wakes the OSC thread, which queues frames for the
	 * HTTP thread): stopped in turn, then freed. */
	fx_osc_http_stop(o->http);
	fx_osc_transport_free(o->transport);
	fx_osc_http_free(o->http);
	free(o->ws_packet);
	if (o->lo)
		lo_server_free(o->lo);
	fx_osc_subs_free(o->subs);
	fx_osc_params_free(o->params);
	free(o);
}

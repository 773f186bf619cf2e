/* SPDX-License-Identifier: ISC */
/* The HTTP + WebSocket server (http.h): one libwebsockets context served
 * by its own thread. Plain requests are answered here; WebSocket traffic
 * crosses to the OSC thread through two message rings. */
#define _GNU_SOURCE
#include "osc/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dsp/msgring.h"
#include "daemon/base/netaddr.h"
#include "osc/oscquery.h"
#include "osc/web_page.h"

enum {
	RING_BYTES = 1 << 20,     ///< each way
	CLIENT_QUEUE = 1 << 20,   ///< bytes waiting for one slow client
	HEADER_BYTES = 4096,      ///< a request's headers, at most
	HEADER_POOL = 32,         ///< requests reading headers at once
	CONNECTIONS = 256,        ///< sockets the server keeps at once
	HEADER_IDLE_S = 5,        ///< to send a whole request
	WS_PING_S = 20,           ///< a silent client is pinged
	WS_HANGUP_S = 45,         ///< and closed when still silent
	BODY_PIECE = 16384,       ///< bytes of a reply written at once
	MAX_PATH = 1024,          ///< a LISTEN path, at most
	SERIAL_BITS = 24,         ///< conn = serial << 8 | slot
	THREAD_STACK = 512 << 10, ///< the HTTP thread's stack
};

/* A frame waiting for its client. */
typedef struct Frame {
	struct Frame *next;
	int text;
	size_t len;
	unsigned char data[]; ///< LWS_PRE bytes, then the frame
} Frame;

/* One WebSocket client. */
typedef struct {
	struct lws *wsi; ///< NULL: the slot is free
	uint32_t conn;
	Frame *head, *tail;
	size_t queued;
} Client;

/* Per connection (libwebsockets allocates it). */
typedef struct {
	/* HTTP: the reply being written. */
	char *body;     ///< owned (NULL: the static page)
	const char *at; ///< what is left to write
	size_t left;
	/* WebSocket */
	int slot;          ///< -1: not a WebSocket client
	unsigned char *rx; ///< the message being assembled
	size_t rx_len;
	int rx_binary, rx_too_big;
} Session;

struct FxOscHttpImpl {
	FxOscHttpConfig cfg;
	char bind[INET_ADDRSTRLEN], name[128], osc_ip[INET_ADDRSTRLEN];
	FxControl *control;
	struct lws_context *ctx;
	int port;
	char describe[64];
	FxCidr allow[FX_NETADDR_MAX_CIDRS];
	int n_allow;
	FxMsgRing *to_osc, *from_osc;
	Client clients[FX_OSC_HTTP_MAX_WS];
	uint32_t serial;
	pthread_t thread;
	int started;
	atomic_int stop;
	unsigned char *scratch; ///< one frame from the OSC thread
	_Atomic uint64_t requests, refused, ws_opened, ws_received, dropped;
};

static const lws_retry_bo_t ws_idle = {
	.secs_since_valid_ping = WS_PING_S,
	.secs_since_valid_hangup = WS_HANGUP_S,
};

/* ---- WebSocket clients ---------------------------------------------------- */

static int to_osc(FxOscHttp *h, FxOscHttpKind kind, uint32_t conn,
                  const void *data, size_t len)
{
	if (!fx_msgring_write(h->to_osc, kind, conn, data, len)) {
		atomic_fetch_add(&h->dropped, 1);
		return 0;
	}
	if (h->cfg.wake)
		h->cfg.wake(h->cfg.user);
	return 1;
}

static void drop_frames(Client *c)
{
	while (c->head) {
		Frame *f = c->head;
		c->head = f->next;
		free(f);
	}
	c->tail = NULL;
	c->queued = 0;
}

static int open_client(FxOscHttp *h, struct lws *wsi, Session *s)
{
	int slot = -1;
	for (int i = 0; i < h->cfg.max_ws && slot < 0; i++)
		if (!h->clients[i].wsi)
			slot = i;
	if (slot < 0)
		return -1;
	s->rx = malloc(FX_OSC_HTTP_MAX_FRAME);
	if (!s->rx)
		return -1;
	h->serial = (h->serial + 1) & ((1u << SERIAL_BITS) - 1);
	if (!h->serial)
		h->serial = 1;
	Client *c = &h->clients[slot];
	*c = (Client){.wsi = wsi, .conn = h->serial << 8 | (uint32_t)slot};
	s->slot = slot;
	s->rx_len = 0;
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t alen = sizeof addr;
	getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&addr, &alen);
	atomic_fetch_add(&h->ws_opened, 1);
	to_osc(h, FX_OSC_HTTP_OPENED, c->conn, &addr, sizeof addr);
	return 0;
}

static void close_client(FxOscHttp *h, Session *s)
{
	if (s->slot < 0)
		return;
	Client *c = &h->clients[s->slot];
	to_osc(h, FX_OSC_HTTP_CLOSED, c->conn, NULL, 0);
	drop_frames(c);
	c->wsi = NULL;
	free(s->rx);
	s->rx = NULL;
	s->slot = -1;
}

/* A LISTEN or IGNORE command: {"COMMAND": ..., "DATA": path}. */
typedef struct {
	char command[16];
	char data[MAX_PATH];
	size_t command_len, data_len;
	int bad;
} Command;

static const char *const command_paths[] = {"COMMAND", "DATA"};

static signed char on_json(struct lejp_ctx *ctx, char reason)
{
	Command *cmd = ctx->user;
	if (!(reason & LEJP_FLAG_CB_IS_VALUE) || !ctx->path_match)
		return 0;
	if (reason != LEJPCB_VAL_STR_CHUNK && reason != LEJPCB_VAL_STR_END)
		return 0;
	/* path_match is 1 for "COMMAND", 2 for "DATA" (command_paths). */
	int is_command = ctx->path_match == 1;
	char *dst = is_command ? cmd->command : cmd->data;
	size_t size = is_command ? sizeof cmd->command : sizeof cmd->data;
	size_t *len = is_command ? &cmd->command_len : &cmd->data_len;
	if (*len + ctx->npos >= size) {
		cmd->bad = 1;
		return 0;
	}
	memcpy(dst + *len, ctx->buf, ctx->npos);
	*len += ctx->npos;
	dst[*len] = '\0';
	return 0;
}

static void take_command(FxOscHttp *h, const Client *c,
                         const unsigned char *text, size_t len)
{
	Command cmd = {0};
	struct lejp_ctx ctx;
	lejp_construct(&ctx, on_json, &cmd, command_paths,
	               LWS_ARRAY_SIZE(command_paths));
	int rc = lejp_parse(&ctx, text, (int)len);
	lejp_destruct(&ctx);
	if (rc < 0 || cmd.bad || cmd.data[0] != '/')
		return; /* not a command fxd knows: ignored, as the spec asks */
	FxOscHttpKind kind = !strcmp(cmd.command, "LISTEN") ? FX_OSC_HTTP_LISTEN
	                     : !strcmp(cmd.command, "IGNORE") ? FX_OSC_HTTP_IGNORE
	                                                      : 0;
	if (kind)
		to_osc(h, kind, c->conn, cmd.data, cmd.data_len);
}

/* A fragment of a message from client @p s. Returns -1 to close. */
static int receive(FxOscHttp *h, struct lws *wsi, Session *s, const void *in,
                   size_t len)
{
	if (s->slot < 0)
		return -1;
	if (lws_is_first_fragment(wsi)) {
		s->rx_len = 0;
		s->rx_too_big = 0;
		s->rx_binary = lws_frame_is_binary(wsi);
	}
	if (s->rx_len + len > FX_OSC_HTTP_MAX_FRAME)
		s->rx_too_big = 1;
	else {
		memcpy(s->rx + s->rx_len, in, len);
		s->rx_len += len;
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	if (s->rx_too_big) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL,
		                 0);
		return -1;
	}
	atomic_fetch_add(&h->ws_received, 1);
	Client *c = &h->clients[s->slot];
	if (s->rx_binary)
		to_osc(h, FX_OSC_HTTP_PACKET, c->conn, s->rx, s->rx_len);
	else
		take_command(h, c, s->rx, s->rx_len);
	return 0;
}

/* Frames from the OSC thread, each to its client's queue. */
static void take_from_osc(FxOscHttp *h)
{
	uint32_t kind, conn;
	size_t len;
	while (fx_msgring_read(h->from_osc, &kind, &conn, h->scratch,
	                       FX_OSC_HTTP_MAX_FRAME, &len)) {
		Client *c = &h->clients[conn & 0xff];
		if ((conn & 0xff) >= FX_OSC_HTTP_MAX_WS || !c->wsi ||
		    c->conn != conn)
			continue; /* gone; the slot may be another's */
		Frame *f = NULL;
		if (len <= FX_OSC_HTTP_MAX_FRAME &&
		    c->queued + len <= CLIENT_QUEUE)
			f = malloc(sizeof *f + LWS_PRE + len);
		if (!f) {
			/* A client that reads slower than fxd talks loses
			 * frames, not the server. */
			atomic_fetch_add(&h->dropped, 1);
			continue;
		}
		*f = (Frame){.text = kind != 0, .len = len};
		memcpy(f->data + LWS_PRE, h->scratch, len);
		if (c->tail)
			c->tail->next = f;
		else
			c->head = f;
		c->tail = f;
		c->queued += len;
		lws_callback_on_writable(c->wsi);
	}
}

static int write_frame(Session *s, FxOscHttp *h, struct lws *wsi)
{
	if (s->slot < 0)
		return 0;
	Client *c = &h->clients[s->slot];
	Frame *f = c->head;
	if (!f)
		return 0;
	int n = lws_write(wsi, f->data + LWS_PRE, f->len,
	                  f->text ? LWS_WRITE_TEXT : LWS_WRITE_BINARY);
	c->head = f->next;
	if (!c->head)
		c->tail = NULL;
	c->queued -= f->len;
	free(f);
	if (n < 0)
		return -1;
	if (c->head)
		lws_callback_on_writable(wsi);
	return 0;
}

/* ---- HTTP ----------------------------------------------------------------- */

static int wants_html(struct lws *wsi)
{
	char accept[512] = "";
	if (lws_hdr_copy(wsi, accept, sizeof accept, WSI_TOKEN_HTTP_ACCEPT) < 0)
		return 0;
	return strstr(accept, "text/html") != NULL;
}

/* Starts the reply: status, headers; the body follows when writable. */
static int reply(struct lws *wsi, Session *s, unsigned status, const char *type,
                 char *owned, const char *body, size_t len)
{
	unsigned char buf[LWS_PRE + 1024];
	unsigned char *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof buf - 1;
	s->body = owned;
	s->at = body;
	s->left = len;
	if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	                                 (const unsigned char *)"no-store", 8,
	                                 &p, end) ||
	    /* OSCQuery clients in browsers ask from other origins. */
	    lws_add_http_header_by_name(
		    wsi, (const unsigned char *)"Access-Control-Allow-Origin:",
		    (const unsigned char *)"*", 1, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (!len)
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_body(struct lws *wsi, Session *s)
{
	unsigned char buf[LWS_PRE + BODY_PIECE];
	size_t n = s->left < BODY_PIECE ? s->left : BODY_PIECE;
	memcpy(buf + LWS_PRE, s->at, n);
	s->at += n;
	s->left -= n;
	if (lws_write(wsi, buf + LWS_PRE, n,
	              s->left ? LWS_WRITE_HTTP : LWS_WRITE_HTTP_FINAL) != (int)n)
		return -1;
	if (s->left) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	free(s->body);
	s->body = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static const char *status_text(int status)
{
	return status == 404   ? "not found\n"
	       : status == 400 ? "bad request\n"
	       : status == 405 ? "only GET is served\n"
	                       : "";
}

static int serve(FxOscHttp *h, struct lws *wsi, Session *s, const char *path)
{
	atomic_fetch_add(&h->requests, 1);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
		const char *t = status_text(405);
		return reply(wsi, s, 405, "text/plain", NULL, t, strlen(t));
	}
	char query[256] = "";
	int has_query = lws_hdr_copy(wsi, query, sizeof query,
	                             WSI_TOKEN_HTTP_URI_ARGS) > 0;
	if (!strcmp(path, "/ui") ||
	    (!strcmp(path, "/") && !has_query && wants_html(wsi)))
		return reply(wsi, s, 200, "text/html; charset=utf-8", NULL,
		             fx_web_page, fx_web_page_len);
	FxOscQueryHost host = {.name = h->name,
	                       .osc_ip = h->osc_ip,
	                       .osc_port = h->cfg.osc_port,
	                       .ws_ip = h->bind,
	                       .ws_port = h->port,
	                       .feedback_hz = h->cfg.feedback_hz};
	char *body = NULL;
	size_t len = 0;
	int status = fx_oscquery_get(h->control, &host, path,
	                             has_query ? query : NULL, &body, &len);
	if (status == 200)
		return reply(wsi, s, 200, "application/json", body, body, len);
	free(body);
	const char *t = status_text(status);
	return reply(wsi, s, (unsigned)status, "text/plain", NULL, t, strlen(t));
}

/* ---- the callback ------------------------------------------------------------ */

static int allowed(const FxOscHttp *h, const struct sockaddr_storage *ss)
{
	if (!h->n_allow)
		return 1;
	if (ss->ss_family != AF_INET)
		return 0;
	uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
	for (int i = 0; i < h->n_allow; i++)
		if ((a & h->allow[i].mask) == h->allow[i].net)
			return 1;
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len)
{
	struct lws_context *ctx = wsi ? lws_get_context(wsi) : NULL;
	FxOscHttp *h = ctx ? lws_context_user(ctx) : NULL;
	if (!h)
		return 0;
	Session *s = user;
	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: {
		const struct lws_filter_network_conn_args *a = user;
		if (a && !allowed(h, &a->cli_addr)) {
			atomic_fetch_add(&h->refused, 1);
			return -1;
		}
		return 0;
	}
	case LWS_CALLBACK_HTTP:
		s->slot = -1;
		return serve(h, wsi, s, in ? (const char *)in : "/");
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return s->left ? write_body(wsi, s) : 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (s) {
			free(s->body);
			s->body = NULL;
			s->left = 0;
		}
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		s->slot = -1;
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		if (open_client(h, wsi, s) < 0) {
			atomic_fetch_add(&h->refused, 1);
			lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
			                 (unsigned char *)"full", 4);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return receive(h, wsi, s, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return write_frame(s, h, wsi);
	case LWS_CALLBACK_CLOSED:
		close_client(h, s);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		take_from_osc(h);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{"fxd", callback, sizeof(Session), FX_OSC_HTTP_MAX_FRAME, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- the server ----------------------------------------------------------- */

/* libwebsockets binds without saying why it could not; fxd tries the
 * address first so that a taken port is told apart. */
static int probe_bind(const char *ip, int port)
{
	if (!port)
		return 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, ip, &a.sin_addr);
	int e = bind(fd, (struct sockaddr *)&a, sizeof a) ? errno : 0;
	close(fd);
	return e;
}

static FxOscHttp *fail_new(FxOscHttp *h, FxStatus *st, FxStatus code, int e)
{
	fx_osc_http_free(h);
	*st = code;
	errno = e;
	return NULL;
}

FxOscHttp *fx_osc_http_new(const FxOscHttpConfig *cfg, FxControl *control,
                           FxStatus *st, char *err, size_t err_size)
{
	FxOscHttp *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(err, err_size, "out of memory");
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	h->cfg = *cfg;
	h->control = control;
	snprintf(h->bind, sizeof h->bind, "%s", cfg->bind);
	snprintf(h->name, sizeof h->name, "%s", cfg->name ? cfg->name : "fxd");
	snprintf(h->osc_ip, sizeof h->osc_ip, "%s",
	         cfg->osc_ip ? cfg->osc_ip : cfg->bind);
	h->cfg.bind = h->bind;
	h->cfg.name = h->name;
	h->cfg.osc_ip = h->osc_ip;
	if (h->cfg.max_ws < 1 || h->cfg.max_ws > FX_OSC_HTTP_MAX_WS)
		h->cfg.max_ws = FX_OSC_HTTP_MAX_WS;
	if (cfg->allow &&
	    fx_netaddr_parse_cidrs(cfg->allow, h->allow, FX_NETADDR_MAX_CIDRS,
	                           &h->n_allow, NULL, 0) != FX_OK) {
		snprintf(err, err_size, "bad allowlist '%s'", cfg->allow);
		return fail_new(h, st, FX_ERR_INVALID, EINVAL);
	}
	h->to_osc = fx_msgring_new(RING_BYTES);
	h->from_osc = fx_msgring_new(RING_BYTES);
	h->scratch = malloc(FX_OSC_HTTP_MAX_FRAME);
	if (!h->to_osc || !h->from_osc || !h->scratch) {
		snprintf(err, err_size, "out of memory");
		return fail_new(h, st, FX_ERR_NOMEM, ENOMEM);
	}
	int e = probe_bind(h->bind, cfg->port);
	if (e) {
		snprintf(err, err_size, "cannot listen on %s:%d (TCP): %s",
		         h->bind, cfg->port, strerror(e));
		return fail_new(h, st, FX_ERR_IO, e);
	}
	lws_set_log_level(LLL_ERR, NULL);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = cfg->port;
	info.iface = h->bind;
	info.protocols = protocols;
	info.user = h;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 |
	               LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.max_http_header_data = HEADER_BYTES;
	info.max_http_header_pool = HEADER_POOL;
	info.fd_limit_per_thread = CONNECTIONS;
	info.keepalive_timeout = HEADER_IDLE_S;
	info.timeout_secs = HEADER_IDLE_S;
	info.retry_and_idle_policy = &ws_idle;
	info.server_string = "fxd";
	h->ctx = lws_create_context(&info);
	if (!h->ctx) {
		snprintf(err, err_size, "cannot listen on %s:%d (HTTP)",
		         h->bind, cfg->port);
		return fail_new(h, st, FX_ERR_IO, EADDRINUSE);
	}
	struct lws_vhost *vh = lws_get_vhost_by_name(h->ctx, "default");
	h->port = vh ? lws_get_vhost_listen_port(vh) : cfg->port;
	snprintf(h->describe, sizeof h->describe, "http %s:%d", h->bind, h->port);
	*st = FX_OK;
	return h;
}

static void *thread_main(void *arg)
{
	FxOscHttp *h = arg;
	while (!atomic_load(&h->stop))
		if (lws_service(h->ctx, 0) < 0)
			break;
	return NULL;
}

FxStatus fx_osc_http_start(FxOscHttp *h, char *err, size_t err_size)
{
	/* fxd locks its memory: a default 8 MiB stack would be 8 MiB kept
	 * resident for a thread that needs a few pages. */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	int e = pthread_create(&h->thread, &attr, thread_main, h);
	pthread_attr_destroy(&attr);
	if (e) {
		snprintf(err, err_size, "cannot start the HTTP thread: %s",
		         strerror(e));
		return FX_ERR_IO;
	}
	h->started = 1;
	return FX_OK;
}

void fx_osc_http_stop(FxOscHttp *h)
{
	if (!h || !h->started)
		return;
	atomic_store(&h->stop, 1);
	lws_cancel_service(h->ctx);
	pthread_join(h->thread, NULL);
	h->started = 0;
}

void fx_osc_http_free(FxOscHttp *h)
{
	if (!h)
		return;
	fx_osc_http_stop(h);
	if (h->ctx)
		lws_context_destroy(h->ctx);
	for (int i = 0; i < FX_OSC_HTTP_MAX_WS; i++)
		drop_frames(&h->clients[i]);
	fx_msgring_free(h->to_osc);
	fx_msgring_free(h->from_osc);
	free(h->scratch);
	free(h);
}

int fx_osc_http_port(const FxOscHttp *h)
{
	return h->port;
}

const char *fx_osc_http_describe(const FxOscHttp *h)
{
	return h->describe;
}

int fx_osc_http_take(FxOscHttp *h, FxOscHttpEvent *ev, uint8_t *buf, size_t size)
{
	uint32_t kind, conn;
	size_t len;
	if (!fx_msgring_read(h->to_osc, &kind, &conn, buf, size - 1, &len))
		return 0;
	*ev = (FxOscHttpEvent){.kind = (FxOscHttpKind)kind, .conn = conn};
	if (len > size - 1)
		len = size - 1;
	if (kind == FX_OSC_HTTP_OPENED && len == sizeof ev->addr)
		memcpy(&ev->addr, buf, sizeof ev->addr);
	buf[len] = '\0';
	ev->len = len;
	return 1;
}

int fx_osc_http_send(FxOscHttp *h, uint32_t conn, int text, const void *data,
                     size_t len)
{
	if (!fx_msgring_write(h->from_osc, text ? 1 : 0, conn, data, len)) {
		atomic_fetch_add(&h->dropped, 1);
		return 0;
	}
	lws_cancel_service(h->ctx);
	return 1;
}

void fx_osc_http_counters(const FxOscHttp *h, FxOscHttpCounters *out)
{
	*out = (FxOscHttpCounters){
		.requests = atomic_load(&h->requests),
		.refused = atomic_load(&h->refused),
		.ws_opened = atomic_load(&h->ws_opened),
		.ws_received = atomic_load(&h->ws_received),
		.dropped = atomic_load(&h->dropped),
	};
}

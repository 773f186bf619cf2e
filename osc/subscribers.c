/* SPDX-License-Identifier: ISC */
/* OSC subscribers: feedback, failures, meters, stats, leases and syncs
 * (subscribers.h). */
#define _GNU_SOURCE
#include "osc/subscribers.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine/persist.h"

static const double SYNC_TIMEOUT_S = 2.0;
/* Meters are read this often while anyone subscribes. */
static const double METER_READ_S = 0.02;
/* MIDI notices taken a tick: more wait for the next. */
enum { MIDI_NOTICES = 16 };

typedef struct {
	struct sockaddr_in addr;
	int interval_ms;
	int is_static;  ///< from --osc-target: not unsubscribed over
			///< OSC, never expires or gives way
	double renewed; ///< last /fxd/subscribe (transport clock)
	double next_meter, next_stats;
	float peak[2 * FX_OSC_MAX_PORTS]; ///< output ports, then input ports
	double rms2[2 * FX_OSC_MAX_PORTS];
	int reads;              ///< meter reads summed in rms2
	int outputs_due;        ///< every output value to it next feedback
	double fail_window;     ///< end of the current second of failures
	int fails_in_window;    ///< failures forwarded in it
	unsigned fails_skipped; ///< not forwarded since the last one that was
	uint32_t ws;            ///< a WebSocket client's connection, 0: none
	char **listens;         ///< the addresses it listens to
	int n_listens;
} Subscriber;

/* A failure waiting to be forwarded to subscribers. */
typedef struct {
	char address[128], why[256];
	char sender[40];  ///< "udp HOST:PORT" or "tcp HOST:PORT"
	FxOscPeer peer;   ///< the sender, which has its own copy
	unsigned repeats; ///< the same failure again, merged
} PendingFail;

typedef struct {
	int32_t id;
	uint32_t point; ///< fx_control_sync_point when asked
	FxOscPeer peer;
	double deadline;
} PendingSync;

/* The chain's read-only outputs as they are now: each one's path and
 * value. An output that is not a number has no reading now (a tuner
 * hearing no clear pitch) and is left out. */
typedef struct {
	int n;
	char path[FX_MAX_SLOTS * FX_MAX_OUTPUTS][FX_LABEL_MAX + 96];
	float value[FX_MAX_SLOTS * FX_MAX_OUTPUTS];
} Outputs;

struct FxOscSubsImpl {
	FxOscSubsConfig cfg;
	FxControl *control;
	FxOscParams *params;
	FxOscTransport *t;
	Subscriber subs[FX_OSC_MAX_SUBSCRIBERS + FX_OSC_MAX_WS_CLIENTS];
	int n_subs, n_ws;
	PendingSync syncs[FX_OSC_MAX_SYNCS];
	int n_syncs;
	PendingFail fails[FX_OSC_PENDING_FAILS];
	int n_fails;
	unsigned fails_overflow; ///< failures beyond FX_OSC_PENDING_FAILS
	double next_feedback, next_meter_read;
	uint64_t last_counters[5];
	_Atomic unsigned long long subs_unreachable, subs_expired, subs_evicted,
		fails_forwarded, fails_skipped;
	_Atomic int n_subs_seen;
	FxOscPeer learner; ///< who armed MIDI learn last
	int has_learner;
	double morph_sent; ///< the morph position last fed back (NAN: none)
	/* Output values at their own paths go at the feedback rate when they
	 * change: what went last, and room for what there is now. */
	Outputs *outs_sent, *outs_now;
};

FxOscSubs *fx_osc_subs_new(const FxOscSubsConfig *cfg, FxControl *control,
                           FxOscParams *params, FxOscTransport *transport)
{
	FxOscSubs *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->control = control;
	s->params = params;
	s->t = transport;
	s->morph_sent = NAN;
	s->outs_sent = calloc(1, sizeof *s->outs_sent);
	s->outs_now = calloc(1, sizeof *s->outs_now);
	if (!s->outs_sent || !s->outs_now) {
		fx_osc_subs_free(s);
		return NULL;
	}
	return s;
}

static void free_listens(Subscriber *sub)
{
	for (int k = 0; k < sub->n_listens; k++)
		free(sub->listens[k]);
	free(sub->listens);
	sub->listens = NULL;
	sub->n_listens = 0;
}

void fx_osc_subs_free(FxOscSubs *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n_subs; i++)
		free_listens(&s->subs[i]);
	free(s->outs_sent);
	free(s->outs_now);
	free(s);
}

/* The morph position, once it was set, to @p peer (and its aliases). */
static void send_morph(FxOscSubs *s, const FxOscPeer *peer, double x)
{
	if (!isnan(x))
		fx_osc_params_send_daemon(s->params, s->t, peer, "/fxd/morph",
		                          x, 0);
}

static double morph_position(FxOscSubs *s)
{
	char a[FX_MIDI_TARGET_MAX], b[FX_MIDI_TARGET_MAX];
	return s->cfg.midi ? fx_midi_morph_position(s->cfg.midi, a, b, sizeof a)
	                   : NAN;
}

/* The full state: the parameters' and, with MIDI, the morph's. */
static void send_state_to(FxOscSubs *s, const FxOscPeer *peer)
{
	fx_osc_params_send_state(s->params, s->t, peer);
	send_morph(s, peer, morph_position(s));
}

/* Where a subscriber's messages go. */
static FxOscPeer sub_peer(const Subscriber *sub)
{
	return (FxOscPeer){.addr = sub->addr,
	                   .tcp = -1,
	                   .ws = sub->ws,
	                   .listened = sub->ws != 0};
}

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr &&
	       a->sin_port == b->sin_port;
}

static int find_sub(const FxOscSubs *s, const struct sockaddr_in *a)
{
	for (int i = 0; i < s->n_subs; i++)
		if (!s->subs[i].ws && same_addr(&s->subs[i].addr, a))
			return i;
	return -1;
}

static int find_ws(const FxOscSubs *s, uint32_t conn)
{
	for (int i = 0; i < s->n_subs; i++)
		if (s->subs[i].ws == conn)
			return i;
	return -1;
}

/* A message naming the subscriber's host and port (,si), to it. */
static void send_host_port(FxOscSubs *s, const Subscriber *sub,
                           const char *path, int with_interval)
{
	char host[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sub->addr.sin_addr, host, sizeof host);
	lo_message m = lo_message_new();
	if (!m)
		return;
	lo_message_add_string(m, host);
	lo_message_add_int32(m, ntohs(sub->addr.sin_port));
	if (with_interval)
		lo_message_add_int32(m, sub->interval_ms);
	FxOscPeer peer = sub_peer(sub);
	fx_osc_send_free(s->t, &peer, path, m);
}

/* Removes subscriber @p i; with @p tell, it gets /fxd/unsubscribed (a
 * live client whose lease ran out or that gave way learns it). */
static void drop_sub(FxOscSubs *s, int i, int tell)
{
	if (tell)
		send_host_port(s, &s->subs[i], "/fxd/unsubscribed", 0);
	s->n_ws -= s->subs[i].ws != 0;
	free_listens(&s->subs[i]);
	s->subs[i] = s->subs[--s->n_subs];
	atomic_store(&s->n_subs_seen, s->n_subs - s->n_ws);
}

/* The subscriber that renewed longest ago and is not static, or -1. */
static int stalest_sub(const FxOscSubs *s)
{
	int at = -1;
	for (int i = 0; i < s->n_subs; i++)
		if (!s->subs[i].is_static && !s->subs[i].ws &&
		    (at < 0 || s->subs[i].renewed < s->subs[at].renewed))
			at = i;
	return at;
}

FxStatus fx_osc_subs_add(FxOscSubs *s, const struct sockaddr_in *addr,
                         int interval_ms, int is_static)
{
	int i = find_sub(s, addr);
	if (i < 0) {
		/* Clients that quit without a word must not lock new ones
		 * out: the stalest gives way. */
		if (s->n_subs - s->n_ws == FX_OSC_MAX_SUBSCRIBERS) {
			int stale = stalest_sub(s);
			if (stale < 0)
				return FX_ERR_FULL;
			drop_sub(s, stale, 1);
			atomic_fetch_add(&s->subs_evicted, 1);
		}
		i = s->n_subs++;
		memset(&s->subs[i], 0, sizeof s->subs[i]);
		s->subs[i].addr = *addr;
	}
	Subscriber *sub = &s->subs[i];
	sub->interval_ms = interval_ms;
	sub->is_static |= is_static;
	sub->renewed = fx_osc_transport_clock(s->t);
	sub->next_meter = sub->next_stats = 0;
	sub->outputs_due = 1;
	atomic_store(&s->n_subs_seen, s->n_subs - s->n_ws);
	if (!is_static) {
		send_host_port(s, sub, "/fxd/subscribed", 1);
		FxOscPeer peer = sub_peer(sub);
		send_state_to(s, &peer);
	}
	return FX_OK;
}

FxStatus fx_osc_subs_remove(FxOscSubs *s, const struct sockaddr_in *addr,
                            char *err, size_t err_size)
{
	int i = find_sub(s, addr);
	char host[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr->sin_addr, host, sizeof host);
	if (i < 0 || s->subs[i].is_static) {
		snprintf(err, err_size,
		         i < 0 ? "%s:%d is not subscribed"
		               : "%s:%d is an --osc-target; it "
		                 "stays",
		         host, ntohs(addr->sin_port));
		return FX_ERR_INVALID;
	}
	drop_sub(s, i, 0);
	return FX_OK;
}

void fx_osc_subs_unreachable(FxOscSubs *s, const struct sockaddr_in *addr)
{
	int i = find_sub(s, addr);
	if (i < 0 || s->subs[i].is_static)
		return;
	drop_sub(s, i, 0);
	atomic_fetch_add(&s->subs_unreachable, 1);
}

/* Subscriptions not renewed within --osc-lease end. */
static void expire_subs(FxOscSubs *s, double now)
{
	if (s->cfg.lease_s <= 0)
		return;
	for (int i = 0; i < s->n_subs;) {
		if (s->subs[i].is_static || s->subs[i].ws ||
		    now - s->subs[i].renewed < s->cfg.lease_s) {
			i++;
			continue;
		}
		drop_sub(s, i, 1);
		atomic_fetch_add(&s->subs_expired, 1);
	}
}

FxStatus fx_osc_subs_ws_open(FxOscSubs *s, uint32_t conn,
                             const struct sockaddr_in *addr)
{
	if (!conn || s->n_ws == FX_OSC_MAX_WS_CLIENTS || find_ws(s, conn) >= 0)
		return FX_ERR_FULL;
	Subscriber *sub = &s->subs[s->n_subs++];
	memset(sub, 0, sizeof *sub);
	sub->addr = *addr;
	sub->ws = conn;
	sub->interval_ms = 100;
	sub->renewed = fx_osc_transport_clock(s->t);
	s->n_ws++;
	atomic_store(&s->n_subs_seen, s->n_subs - s->n_ws);
	return FX_OK;
}

void fx_osc_subs_ws_close(FxOscSubs *s, uint32_t conn)
{
	int i = find_ws(s, conn);
	if (i >= 0)
		drop_sub(s, i, 0);
}

static int find_listen(const Subscriber *sub, const char *path)
{
	for (int k = 0; k < sub->n_listens; k++)
		if (!strcmp(sub->listens[k], path))
			return k;
	return -1;
}

FxStatus fx_osc_subs_ws_listen(FxOscSubs *s, uint32_t conn, const char *path,
                               int on)
{
	int i = find_ws(s, conn);
	if (i < 0)
		return FX_ERR_INVALID;
	Subscriber *sub = &s->subs[i];
	int k = find_listen(sub, path);
	if (!on) {
		if (k >= 0) {
			free(sub->listens[k]);
			sub->listens[k] = sub->listens[--sub->n_listens];
		}
		return FX_OK;
	}
	if (k >= 0)
		return FX_OK;
	if (sub->n_listens == FX_OSC_MAX_LISTENS)
		return FX_ERR_FULL;
	char **grown = realloc(sub->listens,
	                       (size_t)(sub->n_listens + 1) * sizeof *grown);
	char *copy = strdup(path);
	if (grown)
		sub->listens = grown;
	if (!grown || !copy) {
		free(copy);
		return FX_ERR_NOMEM;
	}
	sub->listens[sub->n_listens++] = copy;
	return FX_OK;
}

int fx_osc_subs_ws_wants(const FxOscSubs *s, uint32_t conn, const char *path)
{
	int i = find_ws(s, conn);
	return i >= 0 && find_listen(&s->subs[i], path) >= 0;
}

void fx_osc_subs_send_state(FxOscSubs *s)
{
	for (int i = 0; i < s->n_subs; i++) {
		FxOscPeer peer = sub_peer(&s->subs[i]);
		send_state_to(s, &peer);
	}
}

/* ---- syncs ---------------------------------------------------------------- */

FxStatus fx_osc_subs_add_sync(FxOscSubs *s, const FxOscPeer *peer, int32_t id,
                              uint32_t point)
{
	if (s->n_syncs == FX_OSC_MAX_SYNCS)
		return FX_ERR_FULL;
	s->syncs[s->n_syncs++] = (PendingSync){
		id, point, *peer, fx_osc_transport_clock(s->t) + SYNC_TIMEOUT_S};
	return FX_OK;
}

/* Answers the syncs the worker has passed or that timed out, in the
 * order asked. */
static void answer_syncs(FxOscSubs *s, double now)
{
	for (int i = 0; i < s->n_syncs;) {
		PendingSync *sy = &s->syncs[i];
		int ok = fx_control_synced(s->control, sy->point);
		if (!ok && now < sy->deadline) {
			i++;
			continue;
		}
		FxOscRequest req = fx_osc_request_to(s->t, &sy->peer);
		if (ok)
			fx_osc_reply(&req, "/fxd/synced", "i", sy->id);
		else
			fx_osc_fail(&req, "/fxd/sync",
			            "timed out: no audio is "
			            "being processed");
		memmove(sy, sy + 1, (size_t)(--s->n_syncs - i) * sizeof *sy);
	}
}

/* ---- feedback ------------------------------------------------------------- */

/* The changes' values to every subscriber; the chain's text holds every
 * value, so it follows them, once per flush however many changed. */
static void flush_feedback(FxOscSubs *s)
{
	FxChanges ch;
	fx_control_take_changes(s->control, &ch);
	/* The morph moves by OSC and by a pedal the worker reads: its
	 * position is compared, not reported. */
	double x = morph_position(s);
	int morph_moved = !isnan(x) && x != s->morph_sent;
	s->morph_sent = x;
	if (!s->n_subs)
		return;
	if (ch.chain) {
		/* WebSocket clients rebuild from the tree. */
		for (int i = 0; i < s->n_subs; i++) {
			FxOscPeer peer = sub_peer(&s->subs[i]);
			fx_osc_send_text(s->t, &peer,
			                 "{\"COMMAND\":\"PATH_CHANGED\","
			                 "\"DATA\":\"/fx\"}");
		}
		fx_osc_subs_send_state(s);
		return;
	}
	FxChainSpec spec;
	int have_spec = 0;
	for (int w = 0; w < (int)(sizeof ch.entries / sizeof ch.entries[0]); w++)
		for (uint64_t bits = ch.entries[w]; bits; bits &= bits - 1) {
			int e = w * 64 + __builtin_ctzll(bits);
			if (!have_spec++)
				fx_control_get_spec(s->control, &spec);
			FxParamRef r = fx_param_at(e);
			int slot = r.slot, p = r.param;
			if (slot >= spec.n_slots)
				continue;
			if (p == FX_PARAM_BYPASS)
				p = spec.slots[slot].cls->n_params;
			else if (p >= spec.slots[slot].cls->n_params)
				continue;
			for (int i = 0; i < s->n_subs; i++) {
				FxOscPeer peer = sub_peer(&s->subs[i]);
				fx_osc_params_send_value(s->params, s->t, &peer,
				                         &spec, slot, p);
			}
		}
	char *text = have_spec ? fx_osc_chain_text(&spec) : NULL;
	for (int i = 0; i < s->n_subs; i++) {
		FxOscPeer peer = sub_peer(&s->subs[i]);
		if (text) {
			lo_message m = lo_message_new();
			if (m)
				lo_message_add_string(m, text);
			fx_osc_send_free(s->t, &peer, "/fxd/chain", m);
		}
		if (ch.mute)
			fx_osc_params_send_daemon(
				s->params, s->t, &peer, "/fxd/mute",
				fx_control_muted(s->control), 1);
		if (ch.bpm)
			fx_osc_params_send_daemon(s->params, s->t, &peer,
			                          "/fxd/bpm",
			                          fx_control_bpm(s->control), 0);
		if (morph_moved)
			send_morph(s, &peer, x);
	}
	free(text);
}

/* ---- failures ------------------------------------------------------------- */

/* Copies what fits of @p src; the reason may be longer than a forwarded
 * copy keeps. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Merged with the same failure from the same sender: Pd's [netsend],
 * TouchOSC and python-osc send from a socket they do not listen on, and
 * see failures only this way. */
static void queue_fail(FxOscSubs *s, const FxOscPeer *peer, const char *sender,
                       const char *address, const char *why)
{
	for (int i = 0; i < s->n_fails; i++) {
		PendingFail *f = &s->fails[i];
		if (!strcmp(f->sender, sender) && !strcmp(f->address, address) &&
		    !strncmp(f->why, why, sizeof f->why - 1)) {
			f->repeats++;
			return;
		}
	}
	if (s->n_fails == FX_OSC_PENDING_FAILS) {
		s->fails_overflow++;
		return;
	}
	PendingFail *f = &s->fails[s->n_fails++];
	copy_text(f->address, sizeof f->address, address);
	copy_text(f->why, sizeof f->why, why);
	copy_text(f->sender, sizeof f->sender, sender);
	f->peer = *peer;
	f->repeats = 0;
}

void fx_osc_subs_queue_fail(FxOscSubs *s, const FxOscRequest *req,
                            const char *address, const char *why)
{
	char sender[40];
	fx_osc_peer_name(&req->peer, sender, sizeof sender);
	queue_fail(s, &req->peer, sender, address, why);
}

/* /fxd/fail ,sssii <address> <reason> <sender> <count> <skipped>. */
static void send_fail(FxOscSubs *s, Subscriber *sub, const char *address,
                      const char *why, const char *sender, int count)
{
	lo_message m = lo_message_new();
	if (!m)
		return;
	lo_message_add_string(m, address);
	lo_message_add_string(m, why);
	lo_message_add_string(m, sender);
	lo_message_add_int32(m, count);
	lo_message_add_int32(m, (int32_t)sub->fails_skipped);
	FxOscPeer peer = sub_peer(sub);
	fx_osc_send_free(s->t, &peer, "/fxd/fail", m);
	sub->fails_skipped = 0;
	sub->fails_in_window++;
	atomic_fetch_add(&s->fails_forwarded, 1);
}

/* The pending failures to one subscriber (not its own: it has its copy):
 * at most FX_OSC_FAILS_PER_S a second, the rest counted and said in the
 * next one forwarded, or on their own once the second is over. */
static void forward_fails_to(FxOscSubs *s, Subscriber *sub, double now)
{
	if (now >= sub->fail_window) {
		sub->fail_window = now + 1;
		sub->fails_in_window = 0;
	}
	for (int f = 0; f < s->n_fails; f++) {
		const PendingFail *pf = &s->fails[f];
		/* Not back to the sender, who heard it already. */
		if (pf->peer.tcp < 0 && pf->peer.ws == sub->ws &&
		    same_addr(&pf->peer.addr, &sub->addr))
			continue;
		if (sub->fails_in_window < FX_OSC_FAILS_PER_S) {
			send_fail(s, sub, pf->address, pf->why, pf->sender,
			          1 + (int)pf->repeats);
			continue;
		}
		sub->fails_skipped += 1 + pf->repeats;
		atomic_fetch_add(&s->fails_skipped, 1 + pf->repeats);
	}
	/* More distinct failures than were kept: counted only. */
	sub->fails_skipped += s->fails_overflow;
	atomic_fetch_add(&s->fails_skipped, s->fails_overflow);
	if (sub->fails_skipped && sub->fails_in_window < FX_OSC_FAILS_PER_S) {
		char why[96];
		snprintf(why, sizeof why,
		         "%u failures were not forwarded (at "
		         "most %d a second)",
		         sub->fails_skipped, FX_OSC_FAILS_PER_S);
		send_fail(s, sub, "", why, "", 0);
	}
}

static void forward_fails(FxOscSubs *s, double now)
{
	for (int i = 0; i < s->n_subs; i++)
		forward_fails_to(s, &s->subs[i], now);
	s->n_fails = 0;
	s->fails_overflow = 0;
}

/* ---- MIDI ----------------------------------------------------------------- */

void fx_osc_subs_learn(FxOscSubs *s, const FxOscPeer *peer)
{
	s->learner = *peer;
	s->has_learner = 1;
}

/* A learn finished: /fxd/midi/learned ,sii PATH CH NUM to who armed it
 * (CH 1..16, as the [midi] syntax writes it). */
static void tell_learned(FxOscSubs *s, const FxMidiMapping *m)
{
	if (!s->has_learner)
		return;
	s->has_learner = 0;
	FxOscRequest req = fx_osc_request_to(s->t, &s->learner);
	fx_osc_reply(&req, "/fxd/midi/learned", "sii", m->target,
	             m->channel < 0 ? 0 : m->channel + 1, m->number);
}

/* A program change asks for a preset: loaded as /fxd/preset/load loads
 * it; a failure goes to the subscribers as a failure of "midi". */
static void load_program(FxOscSubs *s, const FxMidiMapping *m)
{
	char err[512] = "";
	if (fx_control_preset_load(s->control, m->target, err, sizeof err) ==
	    FX_OK)
		return;
	FxOscPeer nobody = {.tcp = -1};
	queue_fail(s, &nobody, "midi", "/fxd/preset/load", err);
}

static void poll_midi(FxOscSubs *s)
{
	if (!s->cfg.midi)
		return;
	FxMidiNotice notes[MIDI_NOTICES];
	int n = fx_midi_poll(s->cfg.midi, notes, MIDI_NOTICES);
	for (int i = 0; i < n && i < MIDI_NOTICES; i++) {
		if (notes[i].kind == FX_MIDI_NOTICE_LEARNED)
			tell_learned(s, &notes[i].mapping);
		else if (notes[i].kind == FX_MIDI_NOTICE_PRESET)
			load_program(s, &notes[i].mapping);
	}
}

/* ---- meters, stats, counters ---------------------------------------------- */

static void add_kv(lo_message m, const char *key, double v)
{
	lo_message_add_string(m, key);
	lo_message_add_double(m, v);
}

static void add_latency(lo_message m, const char *what, const FxLatencyStats *s)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{"min", offsetof(FxLatencyStats, min)},
		{"median", offsetof(FxLatencyStats, median)},
		{"mean", offsetof(FxLatencyStats, mean)},
		{"p95", offsetof(FxLatencyStats, p95)},
		{"p99", offsetof(FxLatencyStats, p99)},
		{"max", offsetof(FxLatencyStats, max)},
	};
	char key[32];
	snprintf(key, sizeof key, "%s.count", what);
	add_kv(m, key, (double)s->count);
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		snprintf(key, sizeof key, "%s.%s", what, fields[i].name);
		add_kv(m, key,
		       *(const double *)((const char *)s + fields[i].offset));
	}
}

void fx_osc_subs_counters(const FxOscSubs *s, FxOscCounters *out)
{
	FxOscTransportCounters t;
	fx_osc_transport_counters(s->t, &t);
	out->received = t.received;
	out->rejected = t.rejected;
	out->dropped = t.dropped;
	out->kernel_drops = t.kernel_drops;
	out->send_errors = t.send_errors;
	out->tcp_timed_out = t.tcp_timed_out;
	out->tcp_evicted = t.tcp_evicted;
	out->subscribers = atomic_load(&s->n_subs_seen);
	out->subs_unreachable = atomic_load(&s->subs_unreachable);
	out->subs_expired = atomic_load(&s->subs_expired);
	out->subs_evicted = atomic_load(&s->subs_evicted);
	out->fails_forwarded = atomic_load(&s->fails_forwarded);
	out->fails_skipped = atomic_load(&s->fails_skipped);
	if (s->cfg.web_counters)
		s->cfg.web_counters(s->cfg.user, out);
}

/* "slot.LABEL.us" (mean microseconds per chunk since the chain was built)
 * and "slot.LABEL.nonfinite" (chunks its effect muted) for every slot; an
 * unlabelled slot goes by its index. */
static void add_slot_stats(FxOscSubs *s, lo_message msg)
{
	FxChainSpec spec;
	FxEngineSlotStats st[FX_MAX_SLOTS];
	int n = fx_control_slot_stats(s->control, &spec, st, FX_MAX_SLOTS);
	for (int i = 0; i < n; i++) {
		char key[FX_LABEL_MAX + 32], idx[16];
		snprintf(idx, sizeof idx, "%d", i);
		const char *name = spec.slots[i].label[0] ? spec.slots[i].label
		                                          : idx;
		snprintf(key, sizeof key, "slot.%s.us", name);
		add_kv(msg, key, st[i].us);
		snprintf(key, sizeof key, "slot.%s.nonfinite", name);
		add_kv(msg, key, (double)st[i].faults);
	}
}

lo_message fx_osc_subs_stats(FxOscSubs *s)
{
	FxEngineMetrics m;
	fx_control_metrics(s->control, &m);
	FxEngineConfig cfg = fx_control_engine_config(s->control);
	FxOscCounters c;
	fx_osc_subs_counters(s, &c);
	lo_message msg = lo_message_new();
	if (!msg)
		return NULL;
	add_latency(msg, "callback", &m.callback);
	add_latency(msg, "worker", &m.worker);
	add_latency(msg, "knob", &m.knob);
	add_latency(msg, "midi_frames", &m.midi_frames);
	const struct {
		const char *key;
		double v;
	} kv[] = {
		{"load", m.dsp_load},
		{"callbacks", (double)m.callbacks},
		{"chunks", (double)m.chunks},
		{"underflows", (double)m.underflows},
		{"late", (double)m.late_dropped},
		{"xruns", (double)m.xruns},
		{"xruns.jack", (double)m.xruns_jack},
		{"xruns.gaps", (double)m.xruns_gaps},
		{"nonfinite", (double)m.nonfinite},
		{"overflows", (double)m.input_overflows},
		{"rerender.done", (double)m.rerenders},
		{"rerender.late", (double)m.rerenders_late},
		{"rerender.skipped", (double)m.rerenders_skipped},
		{"rerender.unable", (double)m.rerenders_unable},
		{"midi.events", (double)m.midi_events},
		{"midi.overflows", (double)m.midi_overflows},
		{"midi.out_dropped", (double)m.midi_out_dropped},
		{"midi.reports_dropped", (double)m.midi_reports_dropped},
		{"osc.received", (double)c.received},
		{"osc.rejected", (double)c.rejected},
		{"osc.dropped", (double)c.dropped},
		{"osc.kernel_drops", (double)c.kernel_drops},
		{"osc.send_errors", (double)c.send_errors},
		{"osc.subscribers_unreachable", (double)c.subs_unreachable},
		{"osc.subscribers_expired", (double)c.subs_expired},
		{"osc.subscribers_evicted", (double)c.subs_evicted},
		{"osc.tcp_timed_out", (double)c.tcp_timed_out},
		{"osc.tcp_evicted", (double)c.tcp_evicted},
		{"osc.fails_forwarded", (double)c.fails_forwarded},
		{"osc.fails_skipped", (double)c.fails_skipped},
		{"osc.lease", s->cfg.lease_s},
		{"http.requests", (double)c.http_requests},
		{"http.refused", (double)c.http_refused},
		{"http.ws_opened", (double)c.ws_opened},
		{"http.ws_received", (double)c.ws_received},
		{"http.dropped", (double)c.http_dropped},
		{"http.ws_clients", s->n_ws},
		{"subscribers", s->n_subs - s->n_ws},
		{"rate", cfg.sample_rate},
		{"period", cfg.period},
		{"latency", fx_control_latency(s->control)},
	};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
		add_kv(msg, kv[i].key, kv[i].v);
	add_slot_stats(s, msg);
	return msg;
}

/* Reads the meters into every subscriber's peak and RMS sums: output
 * ports, then input ports. Returns the number of ports; *@p outputs gets
 * how many are outputs. */
static int read_meters(FxOscSubs *s, int *outputs)
{
	float peak[2 * FX_OSC_MAX_PORTS], rms[2 * FX_OSC_MAX_PORTS];
	int n = fx_control_meters(s->control, peak, rms, 2 * FX_OSC_MAX_PORTS,
	                          outputs);
	for (int i = 0; i < s->n_subs; i++) {
		Subscriber *sub = &s->subs[i];
		for (int c = 0; c < n; c++) {
			sub->peak[c] = peak[c] > sub->peak[c] ? peak[c]
			                                      : sub->peak[c];
			sub->rms2[c] += (double)rms[c] * rms[c];
		}
		sub->reads++;
	}
	return n;
}

static void read_outputs(FxOscSubs *s, Outputs *o)
{
	FxChainSpec spec;
	FxEngineSlotStats st[FX_MAX_SLOTS];
	int n = fx_control_slot_stats(s->control, &spec, st, FX_MAX_SLOTS);
	o->n = 0;
	for (int i = 0; i < n; i++) {
		const FxEffectClass *cls = spec.slots[i].cls;
		for (int k = 0; k < cls->n_outputs; k++) {
			if (o->n == (int)(sizeof o->value / sizeof o->value[0]))
				return;
			if (!isfinite(st[i].outputs[k]))
				continue;
			fx_osc_output_path(&spec, i, k, o->path[o->n],
			                   sizeof o->path[0]);
			o->value[o->n++] = st[i].outputs[k];
		}
	}
}

/* /fxd/outputs ,sfsf...: every output by its path, with its value; NULL
 * when there is none. */
static lo_message outputs_message(const Outputs *o)
{
	lo_message msg = o->n ? lo_message_new() : NULL;
	for (int i = 0; msg && i < o->n; i++) {
		lo_message_add_string(msg, o->path[i]);
		lo_message_add_float(msg, o->value[i]);
	}
	return msg;
}

/* ,ffff...: peak and RMS since the last message for ports [from, to),
 * interleaved; the sums start again. */
static lo_message meters_message(Subscriber *sub, int from, int to)
{
	lo_message m = lo_message_new();
	for (int c = from; m && c < to; c++) {
		lo_message_add_float(m, sub->peak[c]);
		lo_message_add_float(
			m, sub->reads ? (float)sqrt(sub->rms2[c] / sub->reads)
				      : 0.0f);
		sub->peak[c] = 0;
		sub->rms2[c] = 0;
	}
	return m;
}

/* Each output value at its own path (/fx/comp/gr ,f), for a control
 * surface that binds one widget to one address: at the feedback rate,
 * those that changed since the last feedback, and all of them to a
 * subscriber that (re)subscribed. */
static void publish_output_values(FxOscSubs *s)
{
	Outputs *now = s->outs_now, *sent = s->outs_sent;
	read_outputs(s, now);
	for (int k = 0; k < now->n; k++) {
		int changed = k >= sent->n || now->value[k] != sent->value[k] ||
		              strcmp(now->path[k], sent->path[k]);
		for (int i = 0; i < s->n_subs; i++) {
			Subscriber *sub = &s->subs[i];
			if (!changed && !sub->outputs_due)
				continue;
			lo_message one = lo_message_new();
			if (one)
				lo_message_add_float(one, now->value[k]);
			FxOscPeer to = sub_peer(sub);
			fx_osc_send_free(s->t, &to, now->path[k], one);
		}
	}
	for (int i = 0; i < s->n_subs; i++)
		s->subs[i].outputs_due = 0;
	s->outs_sent = now;
	s->outs_now = sent;
}

/* /fxd/meters (output ports) and /fxd/meters/in (input ports, before the
 * chain) to each subscriber whose interval is over: the peak and the RMS
 * since its last one; with them every output value in one /fxd/outputs. */
static void publish_meters(FxOscSubs *s, double now, int n, int out_ports)
{
	Outputs *outs = NULL;
	lo_message outputs = NULL;
	for (int i = 0; i < s->n_subs; i++) {
		Subscriber *sub = &s->subs[i];
		if (now < sub->next_meter)
			continue;
		if (!outs && (outs = malloc(sizeof *outs))) {
			read_outputs(s, outs);
			outputs = outputs_message(outs);
		}
		FxOscPeer to = sub_peer(sub);
		if (outputs)
			fx_osc_send(s->t, &to, "/fxd/outputs", outputs);
		sub->next_meter = now + sub->interval_ms * 1e-3;
		fx_osc_send_free(s->t, &to, "/fxd/meters",
		                 meters_message(sub, 0, out_ports));
		if (n > out_ports)
			fx_osc_send_free(s->t, &to, "/fxd/meters/in",
			                 meters_message(sub, out_ports, n));
		sub->reads = 0;
	}
	if (outputs)
		lo_message_free(outputs);
	free(outs);
}

/* /fxd/stats every interval or every second, whichever is longer. */
static void publish_stats(FxOscSubs *s, double now)
{
	lo_message stats = NULL;
	for (int i = 0; i < s->n_subs; i++) {
		Subscriber *sub = &s->subs[i];
		if (now < sub->next_stats)
			continue;
		double every = sub->interval_ms < 1000 ? 1.0
		                                       : sub->interval_ms * 1e-3;
		sub->next_stats = now + every;
		if (!stats && !(stats = fx_osc_subs_stats(s)))
			return;
		FxOscPeer peer = sub_peer(sub);
		fx_osc_send(s->t, &peer, "/fxd/stats", stats);
	}
	if (stats)
		lo_message_free(stats);
}

/* /fxd/counters when one of them moved. */
static void publish_counters(FxOscSubs *s)
{
	FxEngineMetrics m;
	fx_control_counters(s->control, &m);
	uint64_t now[5] = {m.xruns, m.underflows, m.late_dropped, m.nonfinite,
	                   m.input_overflows};
	static const char *const names[5] = {"xruns", "underflows", "late",
	                                     "nonfinite", "overflows"};
	if (!memcmp(now, s->last_counters, sizeof now))
		return;
	memcpy(s->last_counters, now, sizeof now);
	lo_message msg = lo_message_new();
	if (!msg)
		return;
	for (int k = 0; k < 5; k++)
		add_kv(msg, names[k], (double)now[k]);
	for (int i = 0; i < s->n_subs; i++) {
		FxOscPeer peer = sub_peer(&s->subs[i]);
		fx_osc_send(s->t, &peer, "/fxd/counters", msg);
	}
	lo_message_free(msg);
}

int fx_osc_subs_tick(FxOscSubs *s)
{
	double now = fx_osc_transport_clock(s->t);
	expire_subs(s, now);
	fx_control_poll(s->control);
	poll_midi(s);
	answer_syncs(s, now);
	if (now >= s->next_feedback) {
		s->next_feedback = now + 1.0 / s->cfg.rate_hz;
		flush_feedback(s);
		forward_fails(s, now);
		if (s->n_subs) {
			publish_counters(s);
			publish_output_values(s);
		}
	}
	if (s->n_subs) {
		if (now >= s->next_meter_read) {
			s->next_meter_read = now + METER_READ_S;
			int outs = 0, n = read_meters(s, &outs);
			publish_meters(s, now, n, outs);
		}
		publish_stats(s, now);
	}
	return s->n_syncs > 0;
}

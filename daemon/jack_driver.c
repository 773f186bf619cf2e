/* SPDX-License-Identifier: ISC */
#define _GNU_SOURCE /* dladdr */
#include "daemon/jack_driver.h"

#include <dlfcn.h>
#include <errno.h>
#include <jack/jack.h>
#include <jack/metadata.h>
#include <jack/midiport.h>
#include <jack/transport.h>
#include <jack/thread.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"

enum {
	MAX_PORTS = 64,
	NAME_SIZE = 256,           ///< full port names
	CLIENT_SIZE = 128,         ///< client names (JACK allows 63 bytes)
	MIDI_OUT_PER_PERIOD = 256, ///< feedback events written per period
};

/* After a reconnect, lost connections are retried this long, so peers
 * that come back a little later are patched again. */
static const double RESTORE_WINDOW_S = 10.0;
/* How long jack_deactivate and jack_client_close may take before fxd
 * calls them hung: under PipeWire 0.3.65 both can block for good. */
static const double CALL_TIMEOUT_S = 5.0;
/* A connection whose peer port vanished is kept this long before it is
 * forgotten: a dying server removes ports before fxd hears it is gone,
 * and a peer that restarts (a netjack slave, a player) is linked again
 * when its port comes back within this time. */
static const double DORMANT_KEEP_S = 300.0;

/* One connection of one of fxd's ports, remembered across reconnects. */
typedef struct {
	int output; ///< 0: our in_(index+1), 1: our out_(index+1)
	int index;
	char *peer;           ///< the other port's full name
	int seen;             ///< in the latest snapshot
	double dormant_since; ///< when the peer vanished; 0 while it exists
	int pending;          ///< restore wanted (after a reconnect)
} Link;

struct FxJackImpl {
	/* Options, copied. */
	char *want_name;
	int allow_rename, inputs, outputs, auto_connect, midi;
	int want_period; ///< --period, 0: none
	char **connect_in, **connect_out;
	int n_connect_in, n_connect_out;

	/* Main thread. */
	jack_client_t *client;  ///< NULL when closed
	char name[CLIENT_SIZE]; ///< the client's real name
	/* Audio ports, then (with MIDI) the MIDI port at index inputs or
	 * outputs, so connections are remembered for both alike. */
	jack_port_t *in[MAX_PORTS + 1], *out[MAX_PORTS + 1];
	double rate;
	int known_period; ///< the period last reported by tick
	int active;
	pthread_t worker;
	int worker_started;
	int warned_not_rt; ///< the one "no realtime worker" warning
	int period_asked;  ///< --period was turned into PIPEWIRE_LATENCY
	int starts;        ///< fx_jack_start calls that succeeded
	Link *links;
	int n_links, cap_links;
	double restore_until; ///< CLOCK_MONOTONIC seconds
	unsigned published_latency;
	int pipewire; ///< pipewire-jack: ports' latency set by main
	/* The ranges set on the ports last, per mode (1: capture). */
	jack_latency_range_t latency_set[2];
	/* Every port of the graph at the last look, sorted (the strings are
	 * libjack's, from jack_get_ports): a port not in it is new. */
	const char **ports_seen;
	const char **ports_sorted;
	int n_ports_seen;

	/* Shared with JACK's threads. */
	_Atomic(FxEngine *) engine;   ///< main: set while inactive
	_Atomic int lost;             ///< notification thread: server gone
	_Atomic int latency_dirty;    ///< notification thread / main
	_Atomic int period;           ///< notification thread: server period
	_Atomic unsigned latency;     ///< frames added, read by the callback
	_Atomic int bufsize_error;    ///< notification thread: FxStatus
	_Atomic unsigned server_rate; ///< notification thread: its rate
	_Atomic int ports_changed;    ///< notification thread / main
	_Atomic int freewheeling;     ///< notification thread
	_Atomic int xrun_calls;       ///< on_xrun calls reading the engine now
	_Atomic int port_latency_due; ///< notification thread (PipeWire)
	/* The first shutdown callback to run writes the reason: jack2 calls
	 * the info one, PipeWire 0.3.65 only the plain one. */
	_Atomic int reason_taken;
	char lost_reason[256]; ///< notification thread, before `lost`
	/* The driver's own: `engine` against its unpublishing, and each
	 * computed `latency` against the next (the engine locks itself). */
	pthread_mutex_t lock;

	/* Process thread only. */
	jack_nframes_t next_frame; ///< where the next cycle should start
	int frame_known;           ///< next_frame is valid (main: 0 while
				   ///< inactive)
	float *in_buf[MAX_PORTS], *out_buf[MAX_PORTS];
	FxMidiEvent midi_events[FX_ENGINE_MIDI_EVENTS];
	FxMidiEvent midi_sends[MIDI_OUT_PER_PERIOD];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- callbacks: JACK's threads ------------------------------------------ */

/* Copies the period's MIDI input into the engine (raw, with frame
 * offsets: the worker parses and maps it) and its queued feedback out. */
static void process_midi(FxJack *j, FxEngine *e, jack_nframes_t n)
{
	void *in = jack_port_get_buffer(j->in[j->inputs], n);
	void *out = jack_port_get_buffer(j->out[j->outputs], n);
	jack_midi_clear_buffer(out);
	if (!e)
		return;
	uint32_t count = jack_midi_get_event_count(in);
	/* Too many for the ring: the engine refuses the period whole. */
	uint32_t take = count <= FX_ENGINE_MIDI_EVENTS ? count : 0;
	for (uint32_t i = 0; i < take; i++) {
		jack_midi_event_t ev;
		FxMidiEvent *m = &j->midi_events[i];
		*m = (FxMidiEvent){0};
		if (jack_midi_event_get(&ev, in, i) == 0) {
			m->frame = ev.time;
			m->size = ev.size > UINT16_MAX ? UINT16_MAX
			                               : (uint16_t)ev.size;
			memcpy(m->data, ev.buffer, ev.size < 3 ? ev.size : 3);
		}
	}
	fx_engine_midi_in(e, j->midi_events, (int)count);
	int k = fx_engine_midi_out(e, j->midi_sends, MIDI_OUT_PER_PERIOD);
	for (int i = 0; i < k; i++)
		jack_midi_event_write(out, 0, j->midi_sends[i].data,
		                      j->midi_sends[i].size);
}

/* A cycle that starts later than the previous one ended means the cycles
 * between were missed (a stall somewhere in the graph). Counted here
 * because PipeWire never calls the xrun callback. Not while
 * freewheeling, where frame time means nothing, nor across a jump back. */
static void count_missed(FxJack *j, FxEngine *e, jack_nframes_t n)
{
	jack_nframes_t start = jack_last_frame_time(j->client);
	if (atomic_load_explicit(&j->freewheeling, memory_order_relaxed)) {
		j->frame_known = 0;
		return;
	}
	jack_nframes_t late = start - j->next_frame; /* wraps like JACK's */
	if (j->frame_known && e && late >= n && late < UINT32_MAX / 2)
		fx_engine_count_missed(e, late / n);
	j->next_frame = start + n;
	j->frame_known = 1;
}

static int on_process(jack_nframes_t n, void *arg)
{
	FxJack *j = arg;
	FxEngine *e = atomic_load_explicit(&j->engine, memory_order_acquire);
	count_missed(j, e, n);
	if (j->midi)
		process_midi(j, e, n);
	for (int i = 0; i < j->inputs; i++)
		j->in_buf[i] = jack_port_get_buffer(j->in[i], n);
	for (int i = 0; i < j->outputs; i++)
		j->out_buf[i] = jack_port_get_buffer(j->out[i], n);
	if (e)
		fx_engine_process(e, (const float *const *)j->in_buf,
		                  j->out_buf, (int)n);
	else
		for (int i = 0; i < j->outputs; i++)
			memset(j->out_buf[i], 0, n * sizeof(float));
	return 0;
}

/* JACK stops the process thread around this call, so the engine can be
 * re-planned here (fx_engine_set_period takes the engine's control lock,
 * so no control call sees it half done); the main thread republishes the
 * latency. The period is published with the re-plan, under the driver's
 * lock, so the main thread never sees the new period with the old
 * latency. */
static int on_buffer_size(jack_nframes_t n, void *arg)
{
	FxJack *j = arg;
	/* The engine is read under the lock: fx_jack_stop unpublishes it
	 * under the same lock before stopping and freeing it. */
	pthread_mutex_lock(&j->lock);
	FxEngine *e = atomic_load(&j->engine);
	FxStatus st = FX_OK;
	if (e) {
		if (fx_engine_config(e).period != (int)n)
			st = fx_engine_set_period(e, (int)n);
		atomic_store(&j->latency, (unsigned)fx_engine_latency(e));
	}
	atomic_store(&j->period, (int)n);
	pthread_mutex_unlock(&j->lock);
	if (st != FX_OK)
		atomic_store(&j->bufsize_error, (int)st);
	atomic_store(&j->latency_dirty, 1);
	return 0;
}

/* No lock: PipeWire's libjack calls this on its realtime thread, just
 * before the process callback (jack2 on its notification thread). The call
 * counts itself in while it holds the engine; fx_jack_stop waits for that
 * count to drop after it unpublishes the engine, before it frees it. */
static int on_xrun(void *arg)
{
	FxJack *j = arg;
	atomic_fetch_add(&j->xrun_calls, 1);
	FxEngine *e = atomic_load(&j->engine);
	if (e)
		fx_engine_count_xrun(e);
	atomic_fetch_sub(&j->xrun_calls, 1);
	return 0;
}

/* Under the lock, so that fx_jack_start, publishing an engine, and this
 * agree on whether it freewheels. Both servers call it on a thread of
 * notifications (PipeWire queues it there), never the realtime one. */
static void on_freewheel(int starting, void *arg)
{
	FxJack *j = arg;
	atomic_store(&j->freewheeling, starting != 0);
	pthread_mutex_lock(&j->lock);
	FxEngine *e = atomic_load(&j->engine);
	if (e)
		fx_engine_set_freewheel(e, starting);
	pthread_mutex_unlock(&j->lock);
}

/* The pattern from JACK's latency documentation for a client that delays
 * its inputs: what arrives at the inputs leaves the outputs `latency`
 * frames later, in both directions. */
/* The latency fxd adds, on top of the most its ports in @p mode's
 * direction see upstream, for the ports on the other side; 1 when it
 * differs from what was set last in that mode. */
static int port_latency(FxJack *j, jack_latency_callback_mode_t mode,
                        jack_latency_range_t *all)
{
	unsigned add = atomic_load(&j->latency);
	int capture = mode == JackCaptureLatency;
	jack_port_t **from = capture ? j->in : j->out;
	/* midi_in (after the audio inputs) is an input like them: an event
	 * there is heard at the outputs exactly this much later. midi_out
	 * carries feedback, which no input's timing reaches. */
	int n_in = j->inputs + (j->midi ? 1 : 0);
	int n_from = capture ? n_in : j->outputs;
	*all = (jack_latency_range_t){UINT32_MAX, 0};
	for (int i = 0; i < n_from; i++) {
		jack_latency_range_t r;
		jack_port_get_latency_range(from[i], mode, &r);
		if (r.min < all->min)
			all->min = r.min;
		if (r.max > all->max)
			all->max = r.max;
	}
	if (all->min > all->max)
		all->min = all->max = 0;
	all->min += add;
	all->max += add;
	jack_latency_range_t *last = &j->latency_set[capture];
	int changed = all->min != last->min || all->max != last->max;
	*last = *all;
	return changed;
}

static void set_port_latency(FxJack *j, jack_latency_callback_mode_t mode,
                             const jack_latency_range_t *all)
{
	int capture = mode == JackCaptureLatency;
	jack_port_t **to = capture ? j->out : j->in;
	int n_in = j->inputs + (j->midi ? 1 : 0);
	int n_to = capture ? j->outputs : n_in;
	for (int i = 0; i < n_to; i++)
		jack_port_set_latency_range(to[i], mode,
		                            (jack_latency_range_t *)all);
}

/* jack2 asks here, as the API says. pipewire-jack 0.3.65 calls it on its
 * own thread, and setting a port's latency from there while the main
 * thread is in another libjack call (jack_get_ports, jack_connect)
 * crashes or deadlocks inside libjack: there it is only noted, and the
 * main thread sets the ports (fx_jack_tick), one libjack caller. */
static void on_latency(jack_latency_callback_mode_t mode, void *arg)
{
	FxJack *j = arg;
	if (j->pipewire) {
		atomic_store(&j->port_latency_due, 1);
		return;
	}
	jack_latency_range_t all;
	port_latency(j, mode, &all);
	set_port_latency(j, mode, &all);
}

/* The main thread's way (under PipeWire): both directions, each only
 * when it changed. */
static void publish_port_latency(FxJack *j)
{
	static const jack_latency_callback_mode_t modes[] = {
		JackCaptureLatency, JackPlaybackLatency};
	for (int m = 0; m < 2; m++) {
		jack_latency_range_t all;
		if (port_latency(j, modes[m], &all))
			set_port_latency(j, modes[m], &all);
	}
}

/* Only a flag: the main thread notices within one tick. */
static void on_shutdown(jack_status_t code, const char *reason, void *arg)
{
	FxJack *j = arg;
	if (!atomic_exchange(&j->reason_taken, 1))
		snprintf(j->lost_reason, sizeof j->lost_reason,
		         "%s (status 0x%x)", reason ? reason : "",
		         (unsigned)code);
	atomic_store(&j->lost, 1);
}

/* The callback without a reason: PipeWire 0.3.65 calls only this one
 * (jack2 calls only the info one when both are set). */
static void on_plain_shutdown(void *arg)
{
	FxJack *j = arg;
	if (!atomic_exchange(&j->reason_taken, 1))
		snprintf(j->lost_reason, sizeof j->lost_reason,
		         "the server shut the client down");
	atomic_store(&j->lost, 1);
}

/* Only noted: the main thread rebuilds the chain at the new rate. jack2
 * calls this once when it is set, with the rate already known. */
static int on_sample_rate(jack_nframes_t rate, void *arg)
{
	FxJack *j = arg;
	atomic_store(&j->server_rate, (unsigned)rate);
	return 0;
}

/* Only noted: the main thread links ports that came back or appeared,
 * and notes those that went (so their return reads as new). */
static void on_port_registration(jack_port_id_t port, int registered, void *arg)
{
	(void)port;
	(void)registered;
	FxJack *j = arg;
	atomic_store(&j->ports_changed, 1);
}

/* libjack's own messages: debug lines, so a missing server reads as one
 * clear error from fxd. The level is checked before anything else, so
 * without -v this costs nothing even on JACK's threads. */
static void on_jack_error(const char *msg)
{
	if (fx_log_enabled(LOG_DEBUG))
		fx_log(LOG_DEBUG, "libjack: %s", msg);
}

static void on_jack_info(const char *msg)
{
	if (fx_log_enabled(LOG_DEBUG))
		fx_log(LOG_DEBUG, "libjack: %s", msg);
}

/* ---- setup ------------------------------------------------------------- */

static void forget_ports_seen(FxJack *j);

static char **copy_list(const char *const *src, int n)
{
	char **dst = calloc((size_t)n + 1, sizeof *dst);
	for (int i = 0; dst && i < n; i++)
		if (!(dst[i] = strdup(src[i]))) {
			for (int k = 0; k < i; k++)
				free(dst[k]);
			free(dst);
			return NULL;
		}
	return dst;
}

static void free_list(char **list, int n)
{
	for (int i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

FxJack *fx_jack_new(const FxJackOptions *o)
{
	if (o->inputs < 1 || o->inputs > MAX_PORTS || o->outputs < 1 ||
	    o->outputs > MAX_PORTS)
		return NULL;
	FxJack *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->want_name = strdup(o->name);
	j->allow_rename = o->allow_rename;
	j->inputs = o->inputs;
	j->outputs = o->outputs;
	j->auto_connect = o->auto_connect;
	j->midi = o->midi;
	j->want_period = o->period;
	j->connect_in = copy_list(o->connect_in, o->n_connect_in);
	j->n_connect_in = o->n_connect_in;
	j->connect_out = copy_list(o->connect_out, o->n_connect_out);
	j->n_connect_out = o->n_connect_out;
	pthread_mutex_init(&j->lock, NULL);
	if (!j->want_name || !j->connect_in || !j->connect_out) {
		fx_jack_free(j);
		return NULL;
	}
	jack_set_error_function(on_jack_error);
	jack_set_info_function(on_jack_info);
	return j;
}

static void forget_links(FxJack *j)
{
	for (int i = 0; i < j->n_links; i++)
		free(j->links[i].peer);
	free(j->links);
	j->links = NULL;
	j->n_links = j->cap_links = 0;
}

void fx_jack_free(FxJack *j)
{
	if (!j)
		return;
	if (j->client && !atomic_load(&j->lost))
		fx_jack_close(j, 5.0);
	forget_links(j);
	forget_ports_seen(j);
	free(j->want_name);
	free_list(j->connect_in, j->n_connect_in);
	free_list(j->connect_out, j->n_connect_out);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

/* What a short-lived client saw of the server before fxd's own opens. */
typedef struct {
	int hung;       ///< closing it hung in libjack
	int no_server;  ///< it could not reach one
	int name_taken; ///< a client has the name fxd wants
	unsigned rate;  ///< 0 if unknown
} Probe;

static int call_bounded(int (*call)(jack_client_t *), jack_client_t *client,
                        double timeout_s);
static int close_bounded(jack_client_t *client, double timeout_s);

/* Asks the server through a throwaway client whether the wanted name is
 * in use, before opening: jack2 reports a taken exact name only as a
 * generic failure, and PipeWire 0.3.65 renames the client instead
 * (NAME-37). The probe's own name is unique to this process. */
static Probe probe_server(const FxJack *j)
{
	Probe p = {0, 0, 0, 0};
	char name[CLIENT_SIZE];
	snprintf(name, sizeof name, "fxdcheck-%ld", (long)getpid());
	jack_status_t st = 0;
	jack_client_t *probe = jack_client_open(name, JackNoStartServer, &st);
	if (!probe) {
		p.no_server = (st & JackServerFailed) != 0;
		return p;
	}
	p.rate = (unsigned)jack_get_sample_rate(probe);
	if (!j->allow_rename) {
		char *uuid = jack_get_uuid_for_client_name(probe, j->want_name);
		p.name_taken = uuid != NULL;
		jack_free(uuid);
	}
	if (close_bounded(probe, CALL_TIMEOUT_S) != 0) {
		fx_log(LOG_ERR, "closing the probe client hangs in libjack");
		p.hung = 1;
	}
	return p;
}

/* --period: asks PipeWire for a quantum through PIPEWIRE_LATENCY, which
 * pipewire-jack reads when a client opens (jackd ignores it). Only before
 * the first open, while fxd has no other thread that reads the
 * environment; a value the user set wins. */
static void ask_period(FxJack *j, unsigned rate)
{
	if (!j->want_period || j->period_asked || !rate)
		return;
	j->period_asked = 1;
	const char *user = getenv("PIPEWIRE_LATENCY");
	if (user && *user) {
		fx_log(LOG_INFO,
		       "--period %d: PIPEWIRE_LATENCY=%s is set already and "
		       "is kept",
		       j->want_period, user);
		return;
	}
	char value[64];
	snprintf(value, sizeof value, "%d/%u", j->want_period, rate);
	setenv("PIPEWIRE_LATENCY", value, 1);
}

int fx_jack_is_pipewire(void)
{
	/* pw-jack puts PipeWire's libjack first on the library path. */
	Dl_info info;
	void *fn;
	jack_client_t *(*open_fn)(const char *, jack_options_t, jack_status_t *,
	                          ...) = jack_client_open;
	memcpy(&fn, &open_fn, sizeof fn);
	return dladdr(fn, &info) && info.dli_fname &&
	       strstr(info.dli_fname, "pipewire") != NULL;
}

/* Shown by qjackctl, Carla and friends. */
static void set_pretty(FxJack *j, jack_port_t *port, const char *pretty)
{
	if (jack_set_property(j->client, jack_port_uuid(port),
	                      JACK_METADATA_PRETTY_NAME, pretty, NULL) != 0)
		fx_log(LOG_DEBUG, "cannot set the pretty name of '%s'",
		       jack_port_short_name(port));
}

static int register_ports(FxJack *j)
{
	for (int out = 0; out < 2; out++) {
		int n = out ? j->outputs : j->inputs;
		jack_port_t **ports = out ? j->out : j->in;
		for (int i = 0; i < n; i++) {
			char short_name[32], pretty[NAME_SIZE];
			snprintf(short_name, sizeof short_name, "%s_%d",
			         out ? "out" : "in", i + 1);
			ports[i] = jack_port_register(
				j->client, short_name, JACK_DEFAULT_AUDIO_TYPE,
				out ? JackPortIsOutput : JackPortIsInput, 0);
			if (!ports[i]) {
				fx_log(LOG_ERR, "cannot register JACK port '%s'",
				       short_name);
				return 0;
			}
			snprintf(pretty, sizeof pretty, "%s %s %d", j->name,
			         out ? "out" : "in", i + 1);
			set_pretty(j, ports[i], pretty);
		}
		if (!j->midi)
			continue;
		const char *short_name = out ? "midi_out" : "midi_in";
		ports[n] = jack_port_register(
			j->client, short_name, JACK_DEFAULT_MIDI_TYPE,
			out ? JackPortIsOutput : JackPortIsInput, 0);
		if (!ports[n]) {
			fx_log(LOG_ERR, "cannot register JACK port '%s'",
			       short_name);
			return 0;
		}
		char pretty[NAME_SIZE];
		snprintf(pretty, sizeof pretty, "%s MIDI %s", j->name,
		         out ? "out" : "in");
		set_pretty(j, ports[n], pretty);
	}
	return 1;
}

FxJackResult fx_jack_open(FxJack *j)
{
	jack_status_t st = 0;
	jack_options_t opt = JackNoStartServer;
	if (!j->allow_rename)
		opt |= JackUseExactName;
	atomic_store(&j->lost, 0);
	atomic_store(&j->reason_taken, 0);
	/* A new client of a new server: not freewheeling until told. */
	atomic_store(&j->freewheeling, 0);
	Probe probe = probe_server(j);
	if (probe.hung)
		return FX_JACK_HUNG;
	if (probe.no_server)
		return FX_JACK_NO_SERVER;
	if (probe.name_taken)
		return FX_JACK_NAME_TAKEN;
	ask_period(j, probe.rate);
	j->client = jack_client_open(j->want_name, opt, &st);
	if (!j->client) {
		if (st & JackServerFailed)
			return FX_JACK_NO_SERVER;
		fx_log(LOG_DEBUG,
		       "the JACK server refused client '%s' "
		       "(status 0x%x)",
		       j->want_name, (unsigned)st);
		return FX_JACK_REFUSED;
	}
	snprintf(j->name, sizeof j->name, "%s", jack_get_client_name(j->client));
	if (strcmp(j->name, j->want_name))
		fx_log(LOG_NOTICE,
		       "client name '%s' is taken; JACK named fxd "
		       "'%s'",
		       j->want_name, j->name);
	j->rate = jack_get_sample_rate(j->client);
	atomic_store(&j->server_rate, (unsigned)j->rate);
	atomic_store(&j->ports_changed, 0);
	j->known_period = (int)jack_get_buffer_size(j->client);
	atomic_store(&j->period, j->known_period);
	atomic_store(&j->latency_dirty, 0);
	j->pipewire = fx_jack_is_pipewire();
	memset(j->latency_set, 0, sizeof j->latency_set);
	atomic_store(&j->bufsize_error, 0);
	if (jack_set_process_callback(j->client, on_process, j) ||
	    jack_set_buffer_size_callback(j->client, on_buffer_size, j) ||
	    jack_set_xrun_callback(j->client, on_xrun, j) ||
	    jack_set_freewheel_callback(j->client, on_freewheel, j) ||
	    jack_set_latency_callback(j->client, on_latency, j) ||
	    jack_set_sample_rate_callback(j->client, on_sample_rate, j) ||
	    jack_set_port_registration_callback(j->client, on_port_registration,
	                                        j)) {
		fx_log(LOG_ERR, "cannot set JACK callbacks");
		fx_jack_close(j, 5.0);
		return FX_JACK_FAILED;
	}
	jack_on_info_shutdown(j->client, on_shutdown, j);
	jack_on_shutdown(j->client, on_plain_shutdown, j);
	if (!register_ports(j)) {
		fx_jack_close(j, 5.0);
		return FX_JACK_FAILED;
	}
	return FX_JACK_OK;
}

const char *fx_jack_name(const FxJack *j)
{
	return j->name;
}

double fx_jack_sample_rate(const FxJack *j)
{
	return j->rate;
}

int fx_jack_period(const FxJack *j)
{
	return atomic_load((_Atomic int *)&j->period);
}

/* ---- the worker -------------------------------------------------------- */

static int start_worker(FxJack *j, FxEngine *e)
{
	int prio = jack_client_real_time_priority(j->client);
	pthread_t tid;
	memset(&tid, 0, sizeof tid);
	static const pthread_t none;
	fx_engine_set_worker_running(e, 1);
	/* Below JACK's own threads, so a busy worker never delays the
	 * callback. prio is -1 when the server is not realtime. */
	if (prio > 1) {
		int rc = jack_client_create_thread(j->client, &tid, prio - 1, 1,
		                                   fx_engine_worker_main, e);
		if (rc == 0) {
			fx_log(LOG_DEBUG,
			       "worker thread at realtime priority %d", prio - 1);
			j->worker = tid;
			return 1;
		}
		/* libjack creates the thread, then raises its priority:
		 * a failure can leave a (normal) thread running. */
		if (memcmp(&tid, &none, sizeof tid)) {
			if (!j->warned_not_rt++)
				fx_log(LOG_WARNING,
				       "cannot give the worker "
				       "realtime priority %d; it runs "
				       "as a normal thread",
				       prio - 1);
			j->worker = tid;
			return 1;
		}
	}
	if (!j->warned_not_rt++)
		fx_log(LOG_WARNING, prio > 1 ? "cannot create a realtime worker; "
		                               "it runs as a normal thread"
		                             : "JACK is not running realtime; "
		                               "the worker runs as a normal "
		                               "thread");
	if (jack_client_create_thread(j->client, &tid, 0, 0,
	                              fx_engine_worker_main, e) != 0) {
		fx_engine_set_worker_running(e, 0);
		fx_log(LOG_ERR, "cannot create the worker thread");
		return 0;
	}
	j->worker = tid;
	return 1;
}

static void stop_worker(FxJack *j, FxEngine *e)
{
	if (!j->worker_started || !e)
		return;
	fx_engine_stop_worker(e);
	pthread_join(j->worker, NULL);
	fx_engine_set_worker_running(e, 0);
	j->worker_started = 0;
}

/* ---- connections -------------------------------------------------------- */

static jack_port_t *our_port(FxJack *j, int output, int index)
{
	return output ? j->out[index] : j->in[index];
}

/* Connects our port and @p peer the right way round. Returns 0 on
 * success, EEXIST if they were connected already, else non-zero. */
static int connect_peer(FxJack *j, int output, int index, const char *peer)
{
	jack_port_t *port = our_port(j, output, index);
	if (!port)
		return -1;
	const char *ours = jack_port_name(port);
	return output ? jack_connect(j->client, ours, peer)
	              : jack_connect(j->client, peer, ours);
}

static int is_ours(FxJack *j, const char *port)
{
	jack_port_t *p = jack_port_by_name(j->client, port);
	return p && jack_port_is_mine(j->client, p);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether @p port was in the graph at the last look. */
static int seen_before(const FxJack *j, const char *port)
{
	return j->ports_sorted &&
	       bsearch(&port, j->ports_sorted, (size_t)j->n_ports_seen,
	               sizeof *j->ports_sorted, cmp_names) != NULL;
}

static void forget_ports_seen(FxJack *j)
{
	jack_free(j->ports_seen);
	free(j->ports_sorted);
	j->ports_seen = j->ports_sorted = NULL;
	j->n_ports_seen = 0;
}

/* Notes every port of the graph now, so later ones read as new. */
static void look_at_ports(FxJack *j)
{
	forget_ports_seen(j);
	j->ports_seen = jack_get_ports(j->client, NULL, NULL, 0);
	int n = 0;
	while (j->ports_seen && j->ports_seen[n])
		n++;
	j->ports_sorted = n ? malloc((size_t)n * sizeof *j->ports_sorted) : NULL;
	if (!j->ports_sorted)
		return; /* every port then reads as new: harmless (EEXIST) */
	memcpy(j->ports_sorted, j->ports_seen,
	       (size_t)n * sizeof *j->ports_sorted);
	qsort(j->ports_sorted, (size_t)n, sizeof *j->ports_sorted, cmp_names);
	j->n_ports_seen = n;
}

/* Pairs the ports matching @p patterns (or the physical ones), in order,
 * with our inputs (output = 0) or outputs (1). With @p only_new, pairs
 * them the same way but links only ports that appeared since the last
 * look (a peer that started or came back): one that stayed and is not
 * linked was unlinked on purpose. */
static void connect_matching(FxJack *j, int output, char **patterns, int n,
                             int physical, int only_new)
{
	int ours = output ? j->outputs : j->inputs, next = 0;
	unsigned long flags = output ? JackPortIsInput : JackPortIsOutput;
	if (physical)
		flags |= JackPortIsPhysical;
	for (int p = 0; p < (physical ? 1 : n) && next < ours; p++) {
		const char *pattern = physical ? NULL : patterns[p];
		const char **found = jack_get_ports(
			j->client, pattern, JACK_DEFAULT_AUDIO_TYPE, flags);
		int matched = 0;
		for (int k = 0; found && found[k] && next < ours; k++) {
			if (is_ours(j, found[k]))
				continue;
			matched++;
			if (only_new && seen_before(j, found[k])) {
				next++;
				continue;
			}
			int rc = connect_peer(j, output, next, found[k]);
			if (rc == EEXIST)
				; /* restored after a reconnect */
			else if (rc)
				fx_log(LOG_WARNING, "cannot connect %s_%d %s %s",
				       output ? "out" : "in", next + 1,
				       output ? "to" : "from", found[k]);
			else if (output)
				fx_log(LOG_INFO, "connected %s:out_%d -> %s",
				       j->name, next + 1, found[k]);
			else
				fx_log(LOG_INFO, "connected %s -> %s:in_%d",
				       found[k], j->name, next + 1);
			next++;
		}
		jack_free(found);
		if (!matched && !only_new)
			fx_log(LOG_WARNING, "no %s%s port matches '%s'",
			       physical ? "physical " : "",
			       output ? "playback" : "capture",
			       pattern ? pattern : "*");
	}
}

static Link *find_link(FxJack *j, int output, int index, const char *peer)
{
	for (int i = 0; i < j->n_links; i++) {
		Link *l = &j->links[i];
		if (l->output == output && l->index == index &&
		    !strcmp(l->peer, peer))
			return l;
	}
	return NULL;
}

static Link *add_link(FxJack *j, int output, int index, const char *peer)
{
	if (j->n_links == j->cap_links) {
		int cap = j->cap_links ? 2 * j->cap_links : 16;
		Link *links = realloc(j->links, (size_t)cap * sizeof *links);
		if (!links)
			return NULL;
		j->links = links;
		j->cap_links = cap;
	}
	char *copy = strdup(peer);
	if (!copy)
		return NULL;
	Link *l = &j->links[j->n_links++];
	*l = (Link){output, index, copy, 0, 0, 0};
	return l;
}

static void drop_link(FxJack *j, int i)
{
	free(j->links[i].peer);
	j->links[i] = j->links[--j->n_links];
}

/* The short name of a link's port of ours (in_1, midi_out...). */
static const char *port_label(FxJack *j, const Link *l)
{
	jack_port_t *p = our_port(j, l->output, l->index);
	return p ? jack_port_short_name(p) : "?";
}

/* Remembers what fxd's ports are connected to now. A link that went away
 * while its peer still exists was disconnected on purpose and is
 * forgotten, unless a restore is pending; one whose peer vanished is kept
 * a while (the server may be going down) and retried after a reconnect. */
static void track_links(FxJack *j)
{
	double now = now_s();
	for (int i = 0; i < j->n_links; i++)
		j->links[i].seen = 0;
	for (int output = 0; output < 2; output++) {
		int n = (output ? j->outputs : j->inputs) + (j->midi ? 1 : 0);
		for (int i = 0; i < n; i++) {
			const char **peers = jack_port_get_all_connections(
				j->client, our_port(j, output, i));
			for (int k = 0; peers && peers[k]; k++) {
				Link *l = find_link(j, output, i, peers[k]);
				if (!l)
					l = add_link(j, output, i, peers[k]);
				if (l) {
					l->seen = 1;
					l->dormant_since = 0;
					l->pending = 0;
				}
			}
			jack_free(peers);
		}
	}
	int restoring = now < j->restore_until;
	for (int i = 0; i < j->n_links;) {
		Link *l = &j->links[i];
		if (!restoring)
			l->pending = 0;
		if (l->seen) {
			i++;
			continue;
		}
		if (jack_port_by_name(j->client, l->peer)) {
			/* A peer that vanished and is back was not unlinked
			 * on purpose (the registration callback may not have
			 * said so yet). */
			int back = l->dormant_since != 0;
			l->dormant_since = 0;
			if (!l->pending && back) {
				if (connect_peer(j, l->output, l->index,
				                 l->peer) == 0)
					fx_log(LOG_INFO,
					       "linked again %s:%s %s %s",
					       j->name, port_label(j, l),
					       l->output ? "->" : "<-", l->peer);
				i++;
				continue;
			}
			if (!l->pending) {
				fx_log(LOG_DEBUG, "forgetting %s %s %s",
				       port_label(j, l),
				       l->output ? "->" : "<-", l->peer);
				drop_link(j, i);
				continue;
			}
			int rc = connect_peer(j, l->output, l->index, l->peer);
			if (rc == 0 || rc == EEXIST)
				fx_log(LOG_INFO, "restored %s:%s %s %s",
				       j->name, port_label(j, l),
				       l->output ? "->" : "<-", l->peer);
		} else {
			if (!l->dormant_since)
				l->dormant_since = now;
			if (!l->pending &&
			    now - l->dormant_since > DORMANT_KEEP_S) {
				drop_link(j, i);
				continue;
			}
		}
		i++;
	}
}

/* After a reconnect: every remembered link is wanted back. */
static void restore_links(FxJack *j)
{
	int done = 0;
	j->restore_until = now_s() + RESTORE_WINDOW_S;
	for (int i = 0; i < j->n_links; i++) {
		Link *l = &j->links[i];
		l->pending = 1;
		l->dormant_since = 0;
		if (l->index >= (l->output ? j->outputs : j->inputs))
			continue;
		if (!jack_port_by_name(j->client, l->peer))
			continue;
		int rc = connect_peer(j, l->output, l->index, l->peer);
		if (rc == 0 || rc == EEXIST)
			done++;
	}
	if (j->n_links)
		fx_log(LOG_INFO, "restored %d of %d connections", done,
		       j->n_links);
}

/* The --connect-in, --connect-out and --auto-connect links; with
 * @p only_new, those of ports that appeared since the last look. */
static void connect_all(FxJack *j, int only_new)
{
	connect_matching(j, 0, j->connect_in, j->n_connect_in, 0, only_new);
	connect_matching(j, 1, j->connect_out, j->n_connect_out, 0, only_new);
	if (j->auto_connect) {
		connect_matching(j, 0, NULL, 0, 1, only_new);
		connect_matching(j, 1, NULL, 0, 1, only_new);
	}
}

/* Ports came or went (the registration callback said so): links a
 * remembered peer that came back and the new ports the patterns match,
 * then looks at the graph afresh. The next track_links sees them linked.
 * A port that goes and comes back between two ticks is not new. */
static void link_new_ports(FxJack *j)
{
	for (int i = 0; i < j->n_links; i++) {
		Link *l = &j->links[i];
		if (!l->dormant_since || seen_before(j, l->peer) ||
		    !jack_port_by_name(j->client, l->peer))
			continue;
		int rc = connect_peer(j, l->output, l->index, l->peer);
		if (rc == 0)
			fx_log(LOG_INFO, "linked again %s:%s %s %s", j->name,
			       port_label(j, l), l->output ? "->" : "<-",
			       l->peer);
		if (rc == 0 || rc == EEXIST)
			l->dormant_since = 0;
	}
	connect_all(j, 1);
	look_at_ports(j);
}

/* ---- running ----------------------------------------------------------- */

FxJackResult fx_jack_start(FxJack *j, FxEngine *e)
{
	/* The worker runs before the engine is published, so a buffer-size
	 * change from here on always finds it and parks it while re-planning. */
	if (!start_worker(j, e))
		return FX_JACK_FAILED;
	j->worker_started = 1;
	/* From here the buffer-size callback re-plans the engine; a change
	 * that came before is caught up with here. */
	pthread_mutex_lock(&j->lock);
	atomic_store(&j->engine, e);
	/* Freewheeling began while no engine was published (a rebuild at a
	 * new rate, a new chain's engine): this one freewheels too. */
	if (atomic_load(&j->freewheeling))
		fx_engine_set_freewheel(e, 1);
	int period = atomic_load(&j->period);
	FxStatus st = FX_OK;
	if (fx_engine_config(e).period != period)
		st = fx_engine_set_period(e, period);
	atomic_store(&j->latency, (unsigned)fx_engine_latency(e));
	pthread_mutex_unlock(&j->lock);
	if (st != FX_OK) {
		fx_log(LOG_ERR,
		       "cannot plan the engine for a period of %d "
		       "frames: %s",
		       period, fx_strerror(st));
		stop_worker(j, e);
		atomic_store(&j->engine, NULL);
		return FX_JACK_FAILED;
	}
	j->published_latency = atomic_load(&j->latency);
	j->frame_known = 0; /* the process thread is not running yet */
	if (jack_activate(j->client)) {
		fx_log(LOG_ERR, "cannot activate the JACK client");
		stop_worker(j, e);
		atomic_store(&j->engine, NULL);
		return FX_JACK_FAILED;
	}
	j->active = 1;
	/* A change that came before activation is in the latency the ready
	 * line reports: not news for fx_jack_tick. */
	j->known_period = atomic_load(&j->period);
	if (j->starts++ > 0)
		restore_links(j);
	connect_all(j, 0);
	if (j->pipewire)
		publish_port_latency(j);
	else
		jack_recompute_total_latencies(j->client);
	track_links(j);
	look_at_ports(j);
	return FX_JACK_OK;
}

int fx_jack_tick(FxJack *j)
{
	if (!j->client || !j->active || atomic_load(&j->lost))
		return 0;
	int st = atomic_exchange(&j->bufsize_error, 0);
	if (st)
		fx_log(LOG_ERR,
		       "cannot re-plan the engine for a period of %d "
		       "frames: %s",
		       atomic_load(&j->period), fx_strerror((FxStatus)st));
	if (atomic_exchange(&j->latency_dirty, 0) ||
	    atomic_load(&j->latency) != j->published_latency) {
		j->published_latency = atomic_load(&j->latency);
		if (!j->pipewire)
			jack_recompute_total_latencies(j->client);
		else
			atomic_store(&j->port_latency_due, 1);
	}
	if (j->pipewire && atomic_exchange(&j->port_latency_due, 0))
		publish_port_latency(j);
	if (atomic_exchange(&j->ports_changed, 0))
		link_new_ports(j);
	track_links(j);
	int period = atomic_load(&j->period);
	if (period != j->known_period) {
		j->known_period = period;
		return 1;
	}
	return 0;
}

void fx_jack_latency_changed(FxJack *j)
{
	/* Read under the lock, as on_buffer_size does: fx_jack_stop may be
	 * unpublishing it. */
	pthread_mutex_lock(&j->lock);
	FxEngine *e = atomic_load(&j->engine);
	if (e)
		atomic_store(&j->latency, (unsigned)fx_engine_latency(e));
	pthread_mutex_unlock(&j->lock);
	/* fx_jack_tick publishes it, from the main thread. */
}

double fx_jack_rate_changed(FxJack *j)
{
	if (!j->client || atomic_load(&j->lost))
		return 0;
	unsigned rate = atomic_load(&j->server_rate);
	if (!rate || rate == (unsigned)j->rate)
		return 0;
	j->rate = rate;
	return rate;
}

int fx_jack_server_lost(const FxJack *j)
{
	return atomic_load((_Atomic int *)&j->lost);
}

const char *fx_jack_lost_reason(const FxJack *j)
{
	return fx_jack_server_lost(j) ? j->lost_reason : "";
}

int fx_jack_stop(FxJack *j)
{
	/* A deactivate that hangs leaves the client running the engine:
	 * nothing here may be torn down then. */
	if (j->active && j->client && !atomic_load(&j->lost) &&
	    call_bounded(jack_deactivate, j->client, CALL_TIMEOUT_S) != 0)
		return -1;
	j->active = 0;
	/* Unpublished under the lock first: a buffer-size callback running
	 * now finishes its re-plan before the worker is told to stop. */
	pthread_mutex_lock(&j->lock);
	FxEngine *e = atomic_exchange(&j->engine, NULL);
	pthread_mutex_unlock(&j->lock);
	/* An xrun call that loaded the engine before the exchange is done
	 * with it once the count is 0 (it blocks on nothing: microseconds). */
	while (atomic_load(&j->xrun_calls)) {
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	stop_worker(j, e);
	return 0;
}

/* A libjack call that may never return, run in a helper thread. */
typedef struct {
	int (*call)(jack_client_t *);
	jack_client_t *client;
	sem_t done;
	_Atomic int refs; ///< the caller and the helper; the last frees
} BoundedJob;

static void release_job(BoundedJob *job)
{
	if (atomic_fetch_sub(&job->refs, 1) == 1) {
		sem_destroy(&job->done);
		free(job);
	}
}

static void *bounded_thread(void *arg)
{
	BoundedJob *job = arg;
	job->call(job->client);
	sem_post(&job->done);
	release_job(job);
	return NULL;
}

/* Runs @p call on @p client, waiting up to @p timeout_s. Returns 0 if it
 * returned, -1 if it hung (the helper stays blocked in libjack). Without
 * a helper thread (out of memory) it calls directly. */
static int call_bounded(int (*call)(jack_client_t *), jack_client_t *client,
                        double timeout_s)
{
	BoundedJob *job = calloc(1, sizeof *job);
	if (!job) {
		call(client);
		return 0;
	}
	job->call = call;
	job->client = client;
	sem_init(&job->done, 0, 0);
	atomic_store(&job->refs, 2);
	pthread_t tid;
	if (pthread_create(&tid, NULL, bounded_thread, job) != 0) {
		sem_destroy(&job->done);
		free(job);
		call(client);
		return 0;
	}
	pthread_detach(tid);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long ns = ts.tv_nsec + (long long)(timeout_s * 1e9);
	ts.tv_sec += ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	int rc;
	while ((rc = sem_timedwait(&job->done, &ts)) != 0 && errno == EINTR)
		;
	release_job(job);
	return rc == 0 ? 0 : -1;
}

static int close_bounded(jack_client_t *client, double timeout_s)
{
	return call_bounded(jack_client_close, client, timeout_s);
}

int fx_jack_close(FxJack *j, double timeout_s)
{
	if (!j->client)
		return 0;
	jack_client_t *client = j->client;
	int alive = !atomic_load(&j->lost);
	if (alive) {
		/* The metadata store outlives the server: leave no stale
		 * pretty names behind. */
		for (int output = 0; output < 2; output++)
			for (int i = 0; i < MAX_PORTS; i++) {
				jack_port_t *p = our_port(j, output, i);
				if (p)
					jack_remove_properties(
						client, jack_port_uuid(p));
			}
	}
	j->client = NULL;
	j->active = 0;
	memset(j->in, 0, sizeof j->in);
	memset(j->out, 0, sizeof j->out);
	forget_ports_seen(j);
	return close_bounded(client, timeout_s);
}

double fx_jack_transport_bpm(FxJack *j)
{
	if (!j->client)
		return 0;
	jack_position_t pos;
	if (jack_transport_query(j->client, &pos) != JackTransportRolling ||
	    !(pos.valid & JackPositionBBT) || !(pos.beats_per_minute > 0))
		return 0;
	return pos.beats_per_minute;
}

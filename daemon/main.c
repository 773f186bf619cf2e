/* SPDX-License-Identifier: ISC */
/* fxd — the daemon: options, the JACK client, the main loop.
 *
 * The main thread owns everything that is not realtime. It blocks SIGINT,
 * SIGTERM and SIGHUP before any thread exists and takes them with
 * sigtimedwait in its loop, so no signal handler runs until shutdown has
 * begun (then a second SIGINT exits at once). About every 100 ms it frees
 * retired chains, republishes latency, remembers connections, reports
 * stats and status, and pings the watchdog while audio flows.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine/control.h"
#include "daemon/engine/midi.h"
#include "dsp/describe.h"
#include "dsp/lv2.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/persist.h"
#include "daemon/jack_driver.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "daemon/options.h"
#include "osc/osc.h"
#include "daemon/realtime.h"
#include "daemon/zeroconf.h"

/* Fast enough for the shutdown flag and JACK's going away to feel
 * immediate; slow enough to cost nothing. */
static const int TICK_MS = 100;
/* The fade out before stopping is 20 ms; allow for scheduling noise. */
static const double FADE_WAIT_S = 0.2;
/* Retry period while waiting for a server at start-up. */
static const int WAIT_RETRY_MS = 250;
/* Reconnect backoff: 250 ms doubling up to 2 s. */
static const int BACKOFF_MIN_MS = 250, BACKOFF_MAX_MS = 2000;
/* How often STATUS= is refreshed. */
static const double STATUS_INTERVAL_S = 2.0;
/* No period processed for this long is a stall: far longer than any JACK
 * period, and soon enough to show in STATUS= long before WatchdogSec. */
static const double STALL_S = 1.0;

typedef struct {
	int argc;
	char **argv;
	FxOptions opts;
	FxJack *jack;
	FxEngine *engine;
	FxControl *control;
	FxMidi *midi;     ///< NULL with --no-midi
	int restore_midi; ///< the state file's mappings are wanted
	FxOsc *osc;
	FxZeroconf *zeroconf;   ///< NULL: not advertising
	FxChainSpec configured; ///< the options' chain, which the state records
	int state_failing;      ///< the last state save failed (said once)
	sigset_t signals;
	int stop;         ///< the signal that asked to stop, or 0
	int reload;       ///< SIGHUP seen
	uint64_t wd_usec; ///< watchdog interval, 0 off
	double wd_last;   ///< last check
	uint64_t seen_chunks, seen_callbacks; ///< counts at the last tick
	double chunk_at;    ///< when the worker last finished a period
	double callback_at; ///< when JACK last called fxd
	int stalled;        ///< no period finished for STALL_S
	double next_stats, next_status;
} Daemon;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The server as a user would name it: pw-jack ignores
 * JACK_DEFAULT_SERVER, so under PipeWire it is not named. */
static const char *server_name(void)
{
	static char text[160];
	if (fx_jack_is_pipewire())
		return "PipeWire's JACK server";
	const char *s = getenv("JACK_DEFAULT_SERVER");
	snprintf(text, sizeof text, "the JACK server '%s'",
	         s && *s ? s : "default");
	return text;
}

/* ---- signals ------------------------------------------------------------ */

static void exit_now(int sig)
{
	(void)sig;
	_exit(FX_EXIT_INTERRUPT);
}

/* Once shutdown has begun, a second SIGINT ends fxd at once, even inside a
 * JACK call that hangs. The handler only calls _exit. */
static void arm_second_sigint(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = exit_now;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Sleeps up to @p ms, returning early when a signal arrives. */
static void wait_signals(Daemon *d, int ms)
{
	double deadline = now_s() + ms * 1e-3;
	for (;;) {
		double left = deadline - now_s();
		if (left <= 0)
			return;
		struct timespec ts = {(time_t)left,
		                      (long)((left - (time_t)left) * 1e9)};
		int sig = sigtimedwait(&d->signals, NULL, &ts);
		if (sig == SIGHUP) {
			d->reload = 1;
			return;
		}
		if (sig == SIGINT || sig == SIGTERM) {
			d->stop = sig;
			return;
		}
		if (sig < 0 && errno != EINTR)
			return;
	}
}

/* ---- reporting ---------------------------------------------------------- */

static void log_stats(Daemon *d, const char *what)
{
	FxEngineMetrics m;
	fx_engine_metrics(d->engine, &m);
	fx_log(LOG_INFO,
	       "%s: callbacks %llu, chunks %llu, dsp load %.1f%%, callback "
	       "p99 %.4f ms, worker p99 %.4f ms, worker max %.4f ms, xruns "
	       "%llu (jack %llu, frame gaps %llu), underflows %llu, overflows "
	       "%llu, late %llu, nonfinite %llu, midi events %llu, midi "
	       "overflows %llu, midi-to-ear max %.0f frames, rerenders %llu "
	       "(late %llu, skipped %llu, unable %llu)",
	       what, (unsigned long long)m.callbacks,
	       (unsigned long long)m.chunks, m.dsp_load, m.callback.p99,
	       m.worker.p99, m.worker.max, (unsigned long long)m.xruns,
	       (unsigned long long)m.xruns_jack,
	       (unsigned long long)m.xruns_gaps, (unsigned long long)m.underflows,
	       (unsigned long long)m.input_overflows,
	       (unsigned long long)m.late_dropped,
	       (unsigned long long)m.nonfinite, (unsigned long long)m.midi_events,
	       (unsigned long long)m.midi_overflows, m.midi_frames.max,
	       (unsigned long long)m.rerenders,
	       (unsigned long long)m.rerenders_late,
	       (unsigned long long)m.rerenders_skipped,
	       (unsigned long long)m.rerenders_unable);
}

/* Why audio stopped, for STATUS= and the log: JACK calls fxd no more (a
 * stopped or stuck server), or the worker finishes nothing while JACK
 * runs. */
static void stall_text(const Daemon *d, double now, char *buf, size_t size)
{
	if (now - d->callback_at >= STALL_S)
		snprintf(buf, size, "no audio from JACK for %.0f s",
		         now - d->callback_at);
	else
		snprintf(buf, size,
		         "the worker has finished no period for "
		         "%.0f s while JACK runs",
		         now - d->chunk_at);
}

static void update_status(Daemon *d)
{
	FxEngineMetrics m;
	fx_engine_metrics(d->engine, &m);
	char stall[128] = "", line[512];
	if (d->stalled) {
		char why[96];
		stall_text(d, now_s(), why, sizeof why);
		snprintf(stall, sizeof stall, "stalled: %s, watchdog paused; ",
		         why);
	}
	snprintf(line, sizeof line,
	         "%sclient '%s': %d in, %d out, %.0f Hz, period %d, latency %d "
	         "frames, load %.1f%%, xruns %llu, underflows %llu, osc %s",
	         stall, fx_jack_name(d->jack), d->opts.inputs, d->opts.outputs,
	         fx_jack_sample_rate(d->jack), fx_jack_period(d->jack),
	         fx_engine_latency(d->engine), m.dsp_load,
	         (unsigned long long)m.xruns, (unsigned long long)m.underflows,
	         d->osc ? fx_osc_describe(d->osc) : "off");
	fx_notify_status(line);
}

/* Notes when JACK last called and when the worker last finished a
 * period; entering or leaving a stall is logged and shown in STATUS= at
 * once. */
static void track_progress(Daemon *d, double now)
{
	FxEngineMetrics m;
	fx_engine_metrics(d->engine, &m);
	double last_chunk = d->chunk_at;
	if (m.chunks != d->seen_chunks)
		d->chunk_at = now;
	if (m.callbacks != d->seen_callbacks)
		d->callback_at = now;
	d->seen_chunks = m.chunks;
	d->seen_callbacks = m.callbacks;
	int stalled = now - d->chunk_at >= STALL_S;
	if (stalled == d->stalled)
		return;
	d->stalled = stalled;
	if (stalled) {
		char why[96];
		stall_text(d, now, why, sizeof why);
		fx_log(LOG_WARNING, "stalled: %s%s", why,
		       d->wd_usec ? "; the watchdog is paused" : "");
	} else {
		fx_log(LOG_NOTICE, "audio flows again after %.0f s",
		       now - last_chunk);
	}
	update_status(d);
	d->next_status = now + STATUS_INTERVAL_S;
}

/* Starts the stall clock afresh: at start-up and after a reconnect. */
static void reset_progress(Daemon *d)
{
	FxEngineMetrics m;
	fx_engine_metrics(d->engine, &m);
	d->seen_chunks = m.chunks;
	d->seen_callbacks = m.callbacks;
	d->chunk_at = d->callback_at = now_s();
	d->stalled = 0;
}

/* WATCHDOG=1 only while the worker makes progress (or while fxd is
 * healthy but has no server to run on: @p idle). */
static void watchdog(Daemon *d, int idle)
{
	if (!d->wd_usec)
		return;
	double now = now_s();
	if (now - d->wd_last < d->wd_usec * 1e-6 / 3)
		return;
	d->wd_last = now;
	if (idle || !d->stalled)
		fx_notify_watchdog();
}

static void log_ready(Daemon *d)
{
	fx_log(LOG_NOTICE,
	       "ready: client '%s', %d in, %d out, latency %d "
	       "frames, osc %s, %s",
	       fx_jack_name(d->jack), d->opts.inputs, d->opts.outputs,
	       fx_engine_latency(d->engine),
	       d->osc ? fx_osc_describe(d->osc) : "off",
	       d->osc && fx_osc_web_describe(d->osc) ? fx_osc_web_describe(d->osc)
	                                             : "http off");
}

/* ---- control and OSC ---------------------------------------------------- */

static void jack_latency(void *jack)
{
	fx_jack_latency_changed(jack);
}

/* Starts from the state file instead of the configured chain when the
 * state was saved under this same configured chain; otherwise (none yet,
 * damaged, from an older fxd, the config changed) says so in one line and
 * starts from the configured chain. */
static void restore_state(Daemon *d, double *bpm)
{
	d->configured = d->opts.spec;
	const char *path = d->opts.state_file;
	if (!path)
		return;
	FxState state;
	char why[768];
	FxStateVerdict v = fx_state_restore_check(path, &d->opts.spec, &state,
	                                          why, sizeof why);
	if (v != FX_STATE_RESTORE) {
		fx_log(v == FX_STATE_MISSING ? LOG_INFO : LOG_WARNING, "%s", why);
		return;
	}
	d->opts.spec = state.spec;
	*bpm = state.bpm;
	d->restore_midi = 1;
	snprintf(d->opts.chain_origin, sizeof d->opts.chain_origin, "%s", path);
}

/* MIDI control: the config's [midi] mappings, then, with the state, those
 * mapped or learned since. */
static int start_midi(Daemon *d)
{
	const FxOptions *o = &d->opts;
	if (!(d->midi = fx_midi_new(d->control))) {
		fx_log(LOG_ERR, "out of memory");
		return FX_EXIT_FAILURE;
	}
	char err[512];
	for (int i = 0; i < o->n_midi; i++)
		if (fx_midi_map(d->midi, &o->midi[i], err, sizeof err) != FX_OK)
			fx_log(LOG_WARNING, "[midi]: %s", err);
	int refused = 0;
	if (d->restore_midi && fx_midi_restore(d->midi, o->state_file, &refused,
	                                       err, sizeof err) != FX_OK)
		fx_log(LOG_WARNING, "cannot restore the MIDI mappings: %s", err);
	else if (refused)
		fx_log(LOG_WARNING, "%d saved MIDI mapping%s left out: %s",
		       refused, refused == 1 ? "" : "s", err);
	return -1;
}

static int start_control(Daemon *d, double bpm)
{
	const FxOptions *o = &d->opts;
	int rc;
	FxControlConfig cc = {
		.preset_dir = o->preset_dir,
		.state_file = o->state_file,
		.latency_changed = jack_latency,
		.user = d->jack,
	};
	if (!(d->control = fx_control_new(d->engine, &cc))) {
		fx_log(LOG_ERR, "out of memory");
		return FX_EXIT_FAILURE;
	}
	fx_control_set_config_chain(d->control, &d->configured);
	fx_control_set_bpm(d->control, bpm);
	if (!o->no_midi && (rc = start_midi(d)) >= 0)
		return rc;
	if (o->no_osc)
		return -1;
	FxOscConfig oc = fx_osc_config_default();
	oc.bind = o->osc_bind;
	oc.port = o->osc_port;
	oc.tcp = o->osc_tcp;
	oc.allow = o->osc_allow;
	oc.targets = (const char *const *)o->osc_target.items;
	oc.n_targets = o->osc_target.n;
	oc.aliases = (const char *const *)o->alias.items;
	oc.n_aliases = o->alias.n;
	oc.rate_hz = o->osc_rate;
	oc.midi = d->midi;
	oc.tcp_max = o->osc_tcp_max;
	oc.tcp_idle_s = o->osc_tcp_idle;
	oc.lease_s = o->osc_lease;
	oc.name = fx_jack_name(d->jack);
	oc.http = !o->no_http;
	oc.http_bind = o->http_bind;
	oc.http_port = o->http_port;
	oc.http_port_default = o->http_port_default;
	oc.http_max = o->http_clients;
	char err[512];
	errno = 0;
	if (!(d->osc = fx_osc_new(&oc, d->control, err, sizeof err))) {
		fx_log(LOG_ERR, "%s", err);
		/* A restart would find the port taken again. */
		return errno == EADDRINUSE ? FX_EXIT_OSC_PORT_TAKEN
		                           : FX_EXIT_FAILURE;
	}
	if (fx_osc_web_note(d->osc))
		fx_log(LOG_WARNING, "%s", fx_osc_web_note(d->osc));
	return -1;
}

static void save_state(Daemon *d, int force)
{
	char err[512];
	if (!d->control)
		return;
	if (fx_control_save_state(d->control, force, err, sizeof err) == 0) {
		if (d->state_failing)
			fx_log(LOG_NOTICE, "the state file is written again");
		d->state_failing = 0;
	} else if (!d->state_failing++) {
		fx_log(LOG_ERR, "cannot save the state: %s", err);
	}
}

/* Without OSC nobody else takes what MIDI asks for: program changes load
 * their presets here. */
static void poll_midi(Daemon *d)
{
	FxMidiNotice notes[8];
	int n = fx_midi_poll(d->midi, notes, 8);
	for (int i = 0; i < n; i++) {
		char err[512];
		if (notes[i].kind == FX_MIDI_NOTICE_PRESET &&
		    fx_control_preset_load(d->control, notes[i].mapping.target,
		                           err, sizeof err) != FX_OK)
			fx_log(LOG_WARNING, "program change: %s", err);
	}
}

/* Follows JACK transport's tempo while it rolls with BBT. */
static void follow_transport(Daemon *d)
{
	double bpm = fx_jack_transport_bpm(d->jack);
	if (d->midi)
		fx_midi_set_transport(d->midi, bpm > 0);
	if (bpm > 0 && bpm != fx_control_bpm(d->control))
		fx_control_set_bpm(d->control, bpm);
}

static void log_chain(const FxChainSpec *spec, const char *origin)
{
	if (!fx_log_enabled(LOG_INFO))
		return;
	char text[4096];
	fx_spec_format(spec, text, sizeof text);
	fx_log(LOG_INFO, "chain (from %s): %s", origin,
	       spec->n_slots ? text : "(empty: audio passes through)");
}

/* ---- JACK ---------------------------------------------------------------- */

static FxEngineConfig engine_config(const FxOptions *o, double rate, int period)
{
	FxEngineConfig c = fx_engine_config_default();
	c.inputs = o->inputs;
	c.outputs = o->outputs;
	c.channels = o->channels;
	c.sample_rate = rate;
	c.period = period;
	c.latency_periods = o->latency_periods;
	c.latency_log = o->latency_log;
	c.glide_ms = o->glide_ms;
	c.safety = !o->no_safety;
	c.rerender = !o->no_rerender;
	c.ceiling_db = o->ceiling_db;
	c.memory_budget = (size_t)o->memory_budget_mb * 1000000;
	return c;
}

/* A chain that parsed but cannot run at this rate (a cutoff above
 * Nyquist) is a configuration error. */
static int chain_exit_code(FxStatus st)
{
	return st == FX_ERR_NOMEM ? FX_EXIT_FAILURE : FX_EXIT_USAGE;
}

/* A libjack call hung while fxd was opening a client: libjack holds its
 * open lock, so no client can be made in this process again. */
static void exit_hung(void)
{
	fx_log(LOG_ERR, "a JACK call hangs in libjack; exiting so fxd can be "
	                "restarted");
	_exit(FX_EXIT_JACK_GONE);
}

/* Opens a client, retrying every 250 ms for @p wait_s seconds. Returns an
 * exit code, or -1 on success. */
static int open_jack(Daemon *d, double wait_s)
{
	double deadline = now_s() + wait_s;
	int said = 0;
	for (;;) {
		FxJackResult r = fx_jack_open(d->jack);
		if (r == FX_JACK_OK)
			return -1;
		if (r == FX_JACK_NAME_TAKEN) {
			fx_log(LOG_ERR,
			       "a JACK client named '%s' is already "
			       "running (use --name or --allow-rename)",
			       d->opts.name);
			return FX_EXIT_NAME_TAKEN;
		}
		if (r == FX_JACK_FAILED)
			return FX_EXIT_FAILURE;
		if (r == FX_JACK_HUNG)
			exit_hung();
		if (r == FX_JACK_REFUSED && now_s() >= deadline) {
			fx_log(LOG_ERR,
			       "%s refused the client '%s' (-v shows why)",
			       server_name(), d->opts.name);
			return FX_EXIT_FAILURE;
		}
		if (now_s() >= deadline) {
			fx_log(LOG_ERR, "cannot connect to %s%s", server_name(),
			       wait_s > 0 ? " (gave up waiting)"
			       : fx_jack_is_pipewire()
			               ? " (is PipeWire running? --wait-for-jack "
			                 "SECONDS waits for it)"
			               : " (is jackd running, or PipeWire? Under "
			                 "PipeWire run fxd through pw-jack; "
			                 "--wait-for-jack SECONDS waits for it)");
			return FX_EXIT_NO_JACK;
		}
		if (!said++)
			fx_log(LOG_NOTICE, "waiting up to %g s for %s", wait_s,
			       server_name());
		watchdog(d, 1);
		wait_signals(d, WAIT_RETRY_MS);
		if (d->stop)
			return FX_EXIT_OK;
	}
}

/* What the server really runs at, as JACK tells it, whatever --period
 * asked for. */
static void log_server(Daemon *d)
{
	fx_log(LOG_INFO, "%s: %.0f Hz, period %d frames", server_name(),
	       fx_jack_sample_rate(d->jack), fx_jack_period(d->jack));
	const char *ignored = getenv("JACK_DEFAULT_SERVER");
	if (fx_jack_is_pipewire() && ignored && *ignored)
		fx_log(LOG_INFO,
		       "JACK_DEFAULT_SERVER=%s is ignored under pw-jack",
		       ignored);
}

/* Once, after the first open: what --period did. */
static void log_period_request(Daemon *d)
{
	int want = d->opts.period;
	if (!want)
		return;
	if (!fx_jack_is_pipewire()) {
		fx_log(LOG_NOTICE,
		       "--period %d does nothing under jackd (jackd -p sets "
		       "the period); the period is %d frames",
		       want, fx_jack_period(d->jack));
		return;
	}
	const char *asked = getenv("PIPEWIRE_LATENCY");
	fx_log(want == fx_jack_period(d->jack) ? LOG_INFO : LOG_NOTICE,
	       "--period %d: asked PipeWire for PIPEWIRE_LATENCY=%s; the "
	       "period is %d frames",
	       want, asked ? asked : "(unset)", fx_jack_period(d->jack));
}

/* The driver stops at once after a deactivate that hangs in libjack:
 * the client still runs the engine, so nothing can be torn down. */
static void stop_jack(Daemon *d)
{
	if (fx_jack_stop(d->jack) != 0) {
		fx_log(LOG_ERR, "jack_deactivate hangs in libjack (seen with "
		                "pipewire-jack 0.3.65); exiting so fxd can be "
		                "restarted");
		_exit(FX_EXIT_FAILURE);
	}
}

/* The server is back, or its rate changed: the engine follows its rate
 * and period (re-planned in place, or rebuilt from the running spec at a
 * new rate and handed to the control side), then runs again. Returns an
 * exit code, or -1 once running again. */
static int restart_engine(Daemon *d)
{
	double rate = fx_jack_sample_rate(d->jack);
	FxStatus st;
	FxEngine *e = fx_engine_renew(d->engine, rate, fx_jack_period(d->jack),
	                              &st);
	if (!e) {
		FxEngineConfig cfg = fx_engine_config(d->engine);
		FxChainSpec spec;
		fx_engine_get_spec(d->engine, &spec);
		cfg.sample_rate = rate;
		char why[256];
		fx_engine_explain(&cfg, &spec, st, why, sizeof why);
		fx_log(LOG_ERR, "cannot run the chain at %.0f Hz: %s", rate, why);
		return chain_exit_code(st);
	}
	if (e != d->engine) {
		fx_control_set_engine(d->control, e);
		fx_engine_free(d->engine);
		d->engine = e;
	}
	if (fx_jack_start(d->jack, d->engine) != FX_JACK_OK)
		return FX_EXIT_FAILURE;
	log_ready(d);
	reset_progress(d);
	update_status(d);
	return -1;
}

/* The server's rate changed under a running client (PipeWire's
 * clock.force-rate, a netjack master back at another rate): rebuilt as
 * after a reconnect. Returns an exit code, or -1 once running again. */
static int rate_changed(Daemon *d, double rate)
{
	double was = fx_engine_config(d->engine).sample_rate;
	fx_log(LOG_NOTICE,
	       "the sample rate is now %.0f Hz (was %.0f Hz); "
	       "rebuilding the chain",
	       rate, was);
	stop_jack(d);
	return restart_engine(d);
}

/* The server went away. Returns an exit code, or -1 once running again. */
static int server_lost(Daemon *d)
{
	fx_log(d->opts.reconnect ? LOG_WARNING : LOG_ERR,
	       "the JACK server went away: %s", fx_jack_lost_reason(d->jack));
	stop_jack(d);
	if (fx_jack_close(d->jack, 2.0) != 0) {
		/* libjack holds its open lock in the stuck close: no new
		 * client can be made in this process. */
		fx_log(LOG_ERR, "jack_client_close hangs after the server went "
		                "away (jack2 issue #395); exiting so fxd can be "
		                "restarted");
		_exit(FX_EXIT_JACK_GONE);
	}
	if (!d->opts.reconnect)
		return FX_EXIT_JACK_GONE;
	fx_notify_status("waiting for the JACK server to come back");
	int backoff = BACKOFF_MIN_MS, said_taken = 0, said_failed = 0;
	for (;;) {
		FxJackResult r = fx_jack_open(d->jack);
		if (r == FX_JACK_OK)
			break;
		if (r == FX_JACK_HUNG)
			exit_hung();
		if (r == FX_JACK_NAME_TAKEN && !said_taken++)
			fx_log(LOG_WARNING,
			       "a JACK client named '%s' is already "
			       "running; retrying",
			       d->opts.name);
		if ((r == FX_JACK_FAILED || r == FX_JACK_REFUSED) &&
		    !said_failed++)
			fx_log(LOG_WARNING,
			       "cannot open a JACK client; retrying");
		double until = now_s() + backoff * 1e-3;
		while (!d->stop && now_s() < until) {
			watchdog(d, 1);
			wait_signals(d, (int)((until - now_s()) * 1e3) + 1);
		}
		if (d->stop)
			return FX_EXIT_OK;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
		                                       : backoff * 2;
	}
	log_server(d);
	return restart_engine(d);
}

/* ---- SIGHUP ------------------------------------------------------------- */

static int same_list(const FxStrList *a, const FxStrList *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->items[i], b->items[i]))
			return 0;
	return 1;
}

static int same_text(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

typedef enum { KIND_INT, KIND_DOUBLE, KIND_TEXT, KIND_LIST } FieldKind;

/* Options a reload cannot change without a restart: the JACK client, the
 * engine's shape, the OSC server's sockets and the files it was given. */
static const struct {
	const char *name;
	size_t offset;
	FieldKind kind;
} restart_only[] = {
	{"name", offsetof(FxOptions, name), KIND_TEXT},
	{"channels", offsetof(FxOptions, channels), KIND_INT},
	{"inputs", offsetof(FxOptions, inputs), KIND_INT},
	{"outputs", offsetof(FxOptions, outputs), KIND_INT},
	{"connect-in", offsetof(FxOptions, connect_in), KIND_LIST},
	{"connect-out", offsetof(FxOptions, connect_out), KIND_LIST},
	{"auto-connect", offsetof(FxOptions, auto_connect), KIND_INT},
	{"wait-for-jack", offsetof(FxOptions, wait_for_jack), KIND_DOUBLE},
	{"reconnect", offsetof(FxOptions, reconnect), KIND_INT},
	{"allow-rename", offsetof(FxOptions, allow_rename), KIND_INT},
	{"period", offsetof(FxOptions, period), KIND_INT},
	{"latency-periods", offsetof(FxOptions, latency_periods), KIND_INT},
	{"latency-log", offsetof(FxOptions, latency_log), KIND_INT},
	{"glide-ms", offsetof(FxOptions, glide_ms), KIND_DOUBLE},
	{"ceiling", offsetof(FxOptions, ceiling_db), KIND_DOUBLE},
	{"no-safety", offsetof(FxOptions, no_safety), KIND_INT},
	{"no-rerender", offsetof(FxOptions, no_rerender), KIND_INT},
	{"memory-budget", offsetof(FxOptions, memory_budget_mb), KIND_INT},
	{"osc-port", offsetof(FxOptions, osc_port), KIND_INT},
	{"osc-bind", offsetof(FxOptions, osc_bind), KIND_TEXT},
	{"osc-allow", offsetof(FxOptions, osc_allow), KIND_TEXT},
	{"osc-tcp", offsetof(FxOptions, osc_tcp), KIND_INT},
	{"osc-target", offsetof(FxOptions, osc_target), KIND_LIST},
	{"osc-rate", offsetof(FxOptions, osc_rate), KIND_DOUBLE},
	{"osc-tcp-max", offsetof(FxOptions, osc_tcp_max), KIND_INT},
	{"osc-tcp-idle", offsetof(FxOptions, osc_tcp_idle), KIND_DOUBLE},
	{"osc-lease", offsetof(FxOptions, osc_lease), KIND_DOUBLE},
	{"osc-port-by-name", offsetof(FxOptions, osc_port_by_name), KIND_INT},
	{"alias", offsetof(FxOptions, alias), KIND_LIST},
	{"no-osc", offsetof(FxOptions, no_osc), KIND_INT},
	{"no-http", offsetof(FxOptions, no_http), KIND_INT},
	{"http-port", offsetof(FxOptions, http_port), KIND_INT},
	{"http-bind", offsetof(FxOptions, http_bind), KIND_TEXT},
	{"http-clients", offsetof(FxOptions, http_clients), KIND_INT},
	{"no-midi", offsetof(FxOptions, no_midi), KIND_INT},
	{"no-zeroconf", offsetof(FxOptions, no_zeroconf), KIND_INT},
	{"preset-dir", offsetof(FxOptions, preset_dir), KIND_TEXT},
	{"state-file", offsetof(FxOptions, state_file), KIND_TEXT},
	{"no-mlock", offsetof(FxOptions, no_mlock), KIND_INT},
};

static int same_field(const FxOptions *a, const FxOptions *b, size_t i)
{
	const void *x = (const char *)a + restart_only[i].offset;
	const void *y = (const char *)b + restart_only[i].offset;
	switch (restart_only[i].kind) {
	case KIND_INT:
		return *(const int *)x == *(const int *)y;
	case KIND_DOUBLE:
		return *(const double *)x == *(const double *)y;
	case KIND_TEXT:
		return same_text(*(char *const *)x, *(char *const *)y);
	case KIND_LIST:
		return same_list(x, y);
	}
	return 1;
}

/* Says which changed options wait for a restart: a reload that seems to
 * have taken them must not pass in silence. */
static void warn_restart_needed(const FxOptions *a, const FxOptions *b)
{
	for (size_t i = 0; i < sizeof restart_only / sizeof restart_only[0]; i++)
		if (!same_field(a, b, i))
			fx_log(LOG_WARNING,
			       "reload: '%s' changed in the config; "
			       "it takes effect on restart",
			       restart_only[i].name);
}

/* The config's [midi] lines as reloaded: those gone are unmapped, the
 * others (re)mapped; mappings made over OSC or learned stay. */
static void reload_midi(Daemon *d, FxOptions *fresh)
{
	if (!d->midi)
		return;
	for (int i = 0; i < d->opts.n_midi; i++) {
		int kept = 0;
		for (int k = 0; k < fresh->n_midi && !kept; k++)
			kept = fx_midi_mapping_same_source(&d->opts.midi[i],
			                                   &fresh->midi[k]) &&
			       !strcmp(d->opts.midi[i].target,
			               fresh->midi[k].target);
		if (!kept)
			fx_midi_unmap_mapping(d->midi, &d->opts.midi[i]);
	}
	char err[512];
	for (int i = 0; i < fresh->n_midi; i++)
		if (fx_midi_map(d->midi, &fresh->midi[i], err, sizeof err) !=
		    FX_OK)
			fx_log(LOG_WARNING, "reload: [midi]: %s", err);
	/* The reloaded lines are the config's from now on. */
	FxMidiMapping *old = d->opts.midi;
	d->opts.midi = fresh->midi;
	d->opts.n_midi = fresh->n_midi;
	fresh->midi = old;
}

static void reload(Daemon *d)
{
	d->reload = 0;
	if (!d->opts.config) {
		fx_log(LOG_NOTICE, "SIGHUP: no config file to reload");
		return;
	}
	fx_notify_reloading();
	FxOptions fresh;
	char err[768];
	if (fx_options_load(&fresh, d->argc, d->argv, err, sizeof err) != FX_OK) {
		fx_log(LOG_ERR, "reload failed, the running chain is kept: %s",
		       err);
		fx_options_free(&fresh);
		fx_notify_ready();
		return;
	}
	warn_restart_needed(&d->opts, &fresh);
	if (fx_control_swap(d->control, &fresh.spec, err, sizeof err) != FX_OK) {
		fx_log(LOG_ERR, "reload: cannot run the new chain: %s", err);
		fx_log(LOG_WARNING, "reload failed; the running chain is kept");
	} else {
		fx_log(LOG_NOTICE, "reloaded %s: chain swapped", d->opts.config);
		log_chain(&fresh.spec, fresh.chain_origin);
		fx_control_set_config_chain(d->control, &fresh.spec);
		d->opts.spec = fresh.spec;
		memcpy(d->opts.chain_origin, fresh.chain_origin,
		       sizeof d->opts.chain_origin);
	}
	reload_midi(d, &fresh);
	/* What can change live. */
	d->opts.verbose = fresh.verbose;
	fx_log_set_level(fresh.verbose ? LOG_DEBUG : LOG_INFO);
	if (fresh.stats_interval != d->opts.stats_interval) {
		d->opts.stats_interval = fresh.stats_interval;
		d->next_stats = now_s() + fresh.stats_interval;
	}
	fx_options_free(&fresh);
	fx_notify_ready();
}

/* ---- the daemon --------------------------------------------------------- */

/* Advertises the OSC port (and the HTTP one, once there is one) under the
 * JACK client name; fxd runs on without it. */
static void start_zeroconf(Daemon *d)
{
	if (!d->osc || d->opts.no_zeroconf)
		return;
	char err[256];
	d->zeroconf = fx_zeroconf_new(fx_jack_name(d->jack), fx_osc_port(d->osc),
	                              fx_osc_web_port(d->osc), err, sizeof err);
	if (!d->zeroconf)
		fx_log(LOG_NOTICE, "not advertising: %s", err);
	else if (!strcmp(d->opts.osc_bind, "127.0.0.1"))
		fx_log(LOG_INFO, "zeroconf: OSC listens on 127.0.0.1 only: "
		                 "other hosts find fxd but cannot reach it "
		                 "(--osc-bind 0.0.0.0)");
}

static int run(Daemon *d)
{
	const FxOptions *o = &d->opts;
	FxJackOptions jo = {
		.name = o->name,
		.allow_rename = o->allow_rename,
		.inputs = o->inputs,
		.outputs = o->outputs,
		.connect_in = (const char *const *)o->connect_in.items,
		.n_connect_in = o->connect_in.n,
		.connect_out = (const char *const *)o->connect_out.items,
		.n_connect_out = o->connect_out.n,
		.auto_connect = o->auto_connect,
		.midi = !o->no_midi,
		.period = o->period,
	};
	if (!(d->jack = fx_jack_new(&jo))) {
		fx_log(LOG_ERR, "out of memory");
		return FX_EXIT_FAILURE;
	}
	int rc = open_jack(d, o->wait_for_jack);
	if (rc >= 0)
		return rc;
	log_server(d);
	log_period_request(d);
	double bpm = 120;
	restore_state(d, &bpm);
	FxEngineConfig cfg = engine_config(o, fx_jack_sample_rate(d->jack),
	                                   fx_jack_period(d->jack));
	FxStatus st;
	if (!(d->engine = fx_engine_new(&cfg, &o->spec, &st))) {
		char why[256];
		fx_engine_explain(&cfg, &o->spec, st, why, sizeof why);
		fx_log(LOG_ERR, "cannot run the chain at %.0f Hz: %s",
		       cfg.sample_rate, why);
		fx_jack_close(d->jack, 2.0);
		return chain_exit_code(st);
	}
	log_chain(&o->spec, o->chain_origin);
	if ((rc = start_control(d, bpm)) >= 0) {
		fx_jack_close(d->jack, 2.0);
		return rc;
	}
	if (fx_jack_start(d->jack, d->engine) != FX_JACK_OK) {
		fx_jack_close(d->jack, 2.0);
		return FX_EXIT_FAILURE;
	}
	if (d->osc && fx_osc_start(d->osc) != 0) {
		fx_log(LOG_ERR, "cannot start the OSC thread");
		stop_jack(d);
		fx_jack_close(d->jack, 2.0);
		return FX_EXIT_FAILURE;
	}
	start_zeroconf(d);
	/* READY only now that JACK is active and the OSC port bound. */
	log_ready(d);
	fx_notify_ready();
	reset_progress(d);
	update_status(d);
	double now = now_s();
	d->next_status = now + STATUS_INTERVAL_S;
	d->next_stats = now + o->stats_interval;
	while (!d->stop) {
		wait_signals(d, TICK_MS);
		if (d->stop)
			break;
		if (d->reload)
			reload(d);
		if (fx_jack_server_lost(d->jack)) {
			if ((rc = server_lost(d)) >= 0)
				return rc;
			continue;
		}
		double rate = fx_jack_rate_changed(d->jack);
		if (rate > 0 && (rc = rate_changed(d, rate)) >= 0)
			return rc;
		FxStatus built = fx_engine_collect(d->engine);
		if (built != FX_OK)
			fx_log(LOG_ERR,
			       "a chain change could not be built (%s); "
			       "the running chain is kept",
			       fx_strerror(built));
		follow_transport(d);
		if (d->midi && !d->osc)
			poll_midi(d);
		save_state(d, 0);
		if (fx_jack_tick(d->jack))
			fx_log(LOG_NOTICE,
			       "period is now %d frames, latency %d "
			       "frames",
			       fx_jack_period(d->jack),
			       fx_engine_latency(d->engine));
		now = now_s();
		track_progress(d, now);
		if (o->stats_interval > 0 && now >= d->next_stats) {
			log_stats(d, "stats");
			d->next_stats = now + o->stats_interval;
		}
		if (now >= d->next_status) {
			update_status(d);
			d->next_status = now + STATUS_INTERVAL_S;
		}
		watchdog(d, 0);
	}

	arm_second_sigint();
	fx_log(LOG_NOTICE, "stopping (%s)", strsignal(d->stop));
	fx_notify_stopping();
	/* No more changes from the network while fading out. */
	fx_osc_free(d->osc);
	d->osc = NULL;
	save_state(d, 1);
	if (!fx_jack_server_lost(d->jack)) {
		fx_engine_fade(d->engine, 1);
		double until = now_s() + FADE_WAIT_S;
		while (!fx_engine_faded_out(d->engine) && now_s() < until) {
			struct timespec ts = {0, 5000000};
			nanosleep(&ts, NULL);
		}
	}
	log_stats(d, "stats at exit");
	stop_jack(d);
	if (fx_jack_close(d->jack, 2.0) != 0)
		fx_log(LOG_WARNING, "jack_client_close did not return");
	return FX_EXIT_OK;
}

int main(int argc, char **argv)
{
	fx_log_init("fxd");
	Daemon d;
	memset(&d, 0, sizeof d);
	d.argc = argc;
	d.argv = argv;
	char err[768];
	int rc = fx_options_load(&d.opts, argc, argv, err, sizeof err) == FX_OK
	                 ? FX_EXIT_OK
	                 : FX_EXIT_USAGE;
	if (rc != FX_EXIT_OK) {
		fx_log(LOG_ERR, "%s", err);
		fx_options_free(&d.opts);
		return rc;
	}
	if (d.opts.help || d.opts.version || d.opts.list_effects ||
	    d.opts.list_lv2 || d.opts.describe_lv2) {
		int ok = 1;
		if (d.opts.help)
			fx_options_usage(stdout);
		else if (d.opts.version)
			printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		else if (d.opts.list_lv2)
			fx_lv2_list(stdout);
		else if (d.opts.describe_lv2) {
			char why[512];
			ok = fx_lv2_describe(d.opts.describe_lv2, stdout, why,
			                     sizeof why) == FX_OK;
			if (!ok)
				fx_log(LOG_ERR, "%s", why);
		} else
			fx_describe_text(stdout);
		fx_options_free(&d.opts);
		fx_lv2_release();
		if (!ok)
			return FX_EXIT_USAGE;
		return fflush(stdout) == 0 ? FX_EXIT_OK : FX_EXIT_FAILURE;
	}
	if (d.opts.verbose)
		fx_log_set_level(LOG_DEBUG);
	fx_log_set_timestamps(1);

	/* Before any thread exists, so every thread inherits the mask and
	 * only sigtimedwait in the main loop sees these. */
	sigemptyset(&d.signals);
	sigaddset(&d.signals, SIGINT);
	sigaddset(&d.signals, SIGTERM);
	sigaddset(&d.signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &d.signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!d.opts.no_mlock)
		fx_realtime_lock_memory();
	d.wd_usec = fx_notify_watchdog_usec();
	if (d.wd_usec)
		fx_log(LOG_DEBUG, "watchdog every %.1f s", d.wd_usec * 1e-6);

	rc = run(&d);
	fx_zeroconf_free(d.zeroconf);
	fx_osc_free(d.osc);
	save_state(&d, 1);
	if (d.jack && d.engine)
		stop_jack(&d);
	fx_midi_free(d.midi);
	fx_control_free(d.control);
	fx_engine_free(d.engine);
	fx_jack_free(d.jack);
	fx_options_free(&d.opts);
	fx_lv2_release(); /* no chain or spec is left to point at a plugin */
	if (rc == FX_EXIT_OK)
		fx_log(LOG_NOTICE, "stopped");
	return rc;
}

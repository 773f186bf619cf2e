/* SPDX-License-Identifier: ISC */
/* fxd — the JACK client: the one file that includes <jack/jack.h>.
 *
 * An FxJack lives as long as fxd and survives the server going away: it
 * keeps the options, the worker thread and the list of connections fxd's
 * ports had, and fx_jack_open can make a new client on a new server.
 *
 * Threads: JACK's process thread runs only fx_engine_midi_in,
 * fx_engine_midi_out and fx_engine_process on the port buffers, and counts
 * cycles missed (frame-time gaps). JACK's notification thread runs the
 * buffer-size (re-plans the engine), latency, xrun, freewheel, sample-rate,
 * port-registration and shutdown callbacks, which touch atomics and the
 * engine only: a new rate and new ports are only noted there, and handled
 * by the main thread (fx_jack_rate_changed, fx_jack_tick). Everything else
 * is the main thread's.
 */
#ifndef FX_JACK_DRIVER_H
#define FX_JACK_DRIVER_H

#include "daemon/engine/engine.h"

typedef struct FxJackImpl FxJack;

/** What the client looks like. Strings are copied. */
typedef struct {
	const char *name;              ///< client name wanted
	int allow_rename;              ///< accept a name JACK changes
	int inputs, outputs;           ///< ports in_1..N, out_1..M
	const char *const *connect_in; ///< patterns for the inputs
	int n_connect_in;
	const char *const *connect_out; ///< patterns for the outputs
	int n_connect_out;
	int auto_connect; ///< physical ports too
	int midi;         ///< midi_in and midi_out too (JACK MIDI)
	/** --period: the quantum asked of PipeWire (PIPEWIRE_LATENCY =
	 *  period/rate, set before the first open unless the user set it);
	 *  jackd ignores it. 0: ask nothing. */
	int period;
} FxJackOptions;

/** Outcome of fx_jack_open and fx_jack_start. */
typedef enum {
	FX_JACK_OK,
	FX_JACK_NO_SERVER,  ///< no server to connect to (try again later)
	FX_JACK_NAME_TAKEN, ///< the exact name is in use
	FX_JACK_REFUSED,    ///< the server refused the client (debug log says
			    ///< why; a starting server may do this)
	FX_JACK_FAILED,     ///< anything else; the reason is logged
	FX_JACK_HUNG,       ///< a libjack call hung (logged): libjack holds
			    ///< its open lock, no client can be made now
} FxJackResult;

/** A driver with no client yet. NULL if out of memory. */
FxJack *fx_jack_new(const FxJackOptions *opts);

/** Closes the client if the server is alive, frees everything. The worker
 *  must have been stopped (fx_jack_stop). NULL is a no-op. */
void fx_jack_free(FxJack *j);

/** Opens a client (JackNoStartServer, the exact name unless renaming is
 *  allowed), registers the ports and callbacks. Not active yet. Any client
 *  left by a dead server must have gone through fx_jack_close first.
 *  Before opening, a short-lived client asks the server whether the name
 *  is taken (FX_JACK_NAME_TAKEN unless renaming is allowed: PipeWire would
 *  rename fxd instead of refusing) and, on the first call, for the rate
 *  that --period's PIPEWIRE_LATENCY needs. */
FxJackResult fx_jack_open(FxJack *j);

/** The client's real name (after fx_jack_open). */
const char *fx_jack_name(const FxJack *j);

/** 1 when the libjack in use is PipeWire's (pw-jack), found by the path
 *  of the library that holds jack_client_open. */
int fx_jack_is_pipewire(void);

/** The server's sample rate and period (after fx_jack_open). The rate is
 *  the one last taken by fx_jack_rate_changed. */
double fx_jack_sample_rate(const FxJack *j);
int fx_jack_period(const FxJack *j);

/** Runs @p e: starts its worker (realtime below JACK's priority when the
 *  server is realtime, else a normal thread with one warning), activates,
 *  makes the --connect / --auto-connect connections and, after a
 *  reconnect, restores those fxd had. The engine's period must equal
 *  fx_jack_period. */
FxJackResult fx_jack_start(FxJack *j, FxEngine *e);

/** Main-thread housekeeping, about every 100 ms: republishes latency when
 *  it changed (jack_recompute_total_latencies), links ports that appeared
 *  since the last call when they match --connect-in, --connect-out or
 *  --auto-connect or are the peer of a link whose port went away (a peer
 *  that restarted), remembers the current connections of fxd's ports,
 *  and retries restoring lost ones for a while after a reconnect. Returns 1 if the period changed since the last call
 *  (a jack_bufsize), else 0. */
int fx_jack_tick(FxJack *j);

/** Tells JACK the engine's latency changed (after a chain swap). */
void fx_jack_latency_changed(FxJack *j);

/** The server's new sample rate when it differs from fx_jack_sample_rate
 *  (the sample-rate callback saw a change), which it becomes; else 0.
 *  The caller rebuilds the engine at that rate (fx_jack_stop,
 *  fx_engine_renew, fx_jack_start). Main thread. */
double fx_jack_rate_changed(FxJack *j);

/** 1 once the server has gone away (either shutdown callback ran). */
int fx_jack_server_lost(const FxJack *j);

/** Why the server went away, as JACK said it ("" while it is there). */
const char *fx_jack_lost_reason(const FxJack *j);

/** Stops processing: deactivates (if the server is alive), then stops and
 *  joins the worker. The engine can then be freed or re-planned. The
 *  deactivate runs in a helper thread with a timeout (it can hang inside
 *  pipewire-jack 0.3.65): returns 0, or -1 if it hung, when the client
 *  still runs the engine and the process should exit. */
int fx_jack_stop(FxJack *j);

/** Closes the client. libjack can block in jack_client_close, after the
 *  server went away (jack2 issue #395, holding the lock every later
 *  jack_client_open needs) or under pipewire-jack 0.3.65, so the close
 *  runs in a helper thread and is given @p timeout_s. Returns 0 if it returned, -1 if it hung (the process
 *  cannot open another client then, and should exit). */
int fx_jack_close(FxJack *j, double timeout_s);

/** The tempo while JACK transport rolls with BBT information, else 0.
 *  Main thread. */
double fx_jack_transport_bpm(FxJack *j);

#endif

/* SPDX-License-Identifier: ISC */
/* fxd — the command line and the config file, merged into one struct.
 *
 * One table drives both: every long option is also a config-file key with
 * the same name and the same checks, and --help is printed from it. Values
 * are layered: defaults, then the file (-f), then the command line. SIGHUP
 * reloads by calling fx_options_load again with the same arguments.
 */
#ifndef FX_OPTIONS_H
#define FX_OPTIONS_H

#include "daemon/engine/midi_map.h"
#include <stddef.h>
#include <stdio.h>

#include "daemon/base/optable.h"
#include "dsp/status.h"
#include "dsp/spec.h"

/** Default chain when neither the command line nor the file gives one. */
#define FX_DEFAULT_CHAIN                                                 \
	"hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 q=0.7 " \
	"gain=0 | comp:compressor threshold=-18 ratio=3 | dly:delay "    \
	"time=350 feedback=0.3 mix=0 | verb:reverb room=0.4 mix=0.15 | " \
	"vol:gain db=0"

/** Exit codes, documented in fxd(1). */
enum {
	FX_EXIT_OK = 0,
	FX_EXIT_FAILURE = 1,    ///< a runtime failure
	FX_EXIT_USAGE = 2,      ///< bad command line, config file or chain
	FX_EXIT_NO_JACK = 3,    ///< cannot connect to the JACK server
	FX_EXIT_NAME_TAKEN = 4, ///< the JACK client name is in use
	FX_EXIT_JACK_GONE = 5,  ///< server gone (no --reconnect); libjack hung
	FX_EXIT_OSC_PORT_TAKEN =
		6, ///< the OSC port (or --http-port) is in use (a restart
		   ///< cannot help: not retried by the units)
	FX_EXIT_INTERRUPT = 130, ///< a second SIGINT during shutdown
};

/** Everything fxd is told (a [midi] line at most FX_MIDI_MAX_MAPPINGS
 *  times). */
typedef struct {
	char *name;            ///< JACK client name
	int channels;          ///< chain channels
	int inputs, outputs;   ///< ports (default: channels)
	FxStrList connect_in;  ///< port patterns for in_1.. in order
	FxStrList connect_out; ///< port patterns for out_1.. in order
	int auto_connect;      ///< physical capture -> in, out -> playback
	double wait_for_jack;  ///< seconds to retry at start-up
	int reconnect;         ///< survive the server going away
	int allow_rename;      ///< accept a name JACK makes unique
	int period;            ///< quantum asked of PipeWire; 0: none
	int latency_periods;   ///< periods of added latency
	int latency_log;       ///< entries kept for timing statistics
	double glide_ms;       ///< parameter glide time
	double ceiling_db;     ///< output soft-clip ceiling
	int no_safety;         ///< no DC blocker and ceiling
	int no_rerender;       ///< changes never re-render the unplayed chunk
	int memory_budget_mb;  ///< MB one chain's buffers may take
	double stats_interval; ///< seconds between stats lines; 0 off
	int no_mlock;          ///< do not lock memory
	int verbose;           ///< debug logging
	int no_osc;            ///< no OSC server
	int no_midi;           ///< no midi_in / midi_out ports
	int no_zeroconf;       ///< do not advertise over Zeroconf
	int osc_port;          ///< UDP (and TCP) port; 0 picks one
	int osc_port_by_name;  ///< default port from the name (fxd@ units)
	char *osc_bind;        ///< numeric IPv4 address to listen on
	char *osc_allow;       ///< "CIDR[,CIDR...]" or NULL
	int osc_tcp;           ///< also listen on TCP
	FxStrList osc_target;  ///< static subscribers, HOST:PORT
	double osc_rate;       ///< feedback rate limit, Hz
	int osc_tcp_max;       ///< TCP connections at once
	double osc_tcp_idle;   ///< close a silent TCP connection, s; 0 never
	double osc_lease;      ///< subscription lease, s; 0 never ends
	FxStrList alias;       ///< FROM=TO address aliases
	int no_http;           ///< no HTTP server
	int http_port;         ///< 0 picks one
	int http_port_default; ///< not asked for: taken, fxd runs without
	char *http_bind;       ///< numeric IPv4 address for HTTP
	int http_clients;      ///< WebSocket clients at once
	char *preset_dir;      ///< NULL: the XDG default
	char *state_file;      ///< NULL: none
	char *config;          ///< -f FILE, or NULL
	FxChainSpec spec;      ///< the parsed chain
	FxMidiMapping *midi;   ///< the [midi] section's mappings
	int n_midi;
	char chain_origin[256]; ///< "command line", the file, or "default"
	int help, version, list_effects, list_lv2; ///< print and exit
	char *describe_lv2; ///< --describe-lv2 URI: print and exit
} FxOptions;

/** Parses @p argv (and the file it names) into @p o, which it initialises.
 *  FX_OK, or a status with a one-line reason in @p err ("unknown option
 *  '--x'", "FILE:LINE: reason", a chain spec error); fxd exits with
 *  FX_EXIT_USAGE then. When help, version, list_effects, list_lv2 or
 *  describe_lv2 is set the file is not read. */
FxStatus fx_options_load(FxOptions *o, int argc, char *const argv[], char *err,
                         size_t err_size);

/** Frees what fx_options_load allocated; @p o may be half-filled. */
void fx_options_free(FxOptions *o);

/** Prints --help, generated from the option table. */
void fx_options_usage(FILE *out);

#endif

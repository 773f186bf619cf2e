/* SPDX-License-Identifier: ISC */
#include "daemon/options.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dsp/effect.h"
#include "daemon/engine/engine.h"
#include "daemon/base/instance_port.h"
#include "daemon/base/conf.h"
#include "daemon/base/optable.h"
#include "daemon/base/safefile.h"
#include "daemon/base/fail.h"
#include "daemon/base/netaddr.h"

typedef FxOptInfo OptionInfo;

static const char *check_name(const char *v, char *buf, size_t size)
{
	/* jack_client_name_size() is 64 with the terminator. */
	if (strlen(v) > 63)
		return "is longer than 63 characters";
	if (strchr(v, ':'))
		return "must not contain ':'";
	(void)buf;
	(void)size;
	return NULL;
}

static const char *check_regex(const char *v, char *buf, size_t size)
{
	/* jack_get_ports compiles patterns the same way. */
	regex_t re;
	int rc = regcomp(&re, v, REG_EXTENDED | REG_NOSUB);
	if (rc == 0) {
		regfree(&re);
		return NULL;
	}
	char why[128];
	regerror(rc, &re, why, sizeof why);
	snprintf(buf, size, "is not a valid regular expression (%s)", why);
	return buf;
}

/* The state file is replaced whole, and only a regular file (or none yet)
 * may be: never a device or a FIFO. */
static const char *check_state_file(const char *v, char *buf, size_t size)
{
	struct stat sb;
	if (lstat(v, &sb) != 0 || S_ISREG(sb.st_mode))
		return NULL;
	snprintf(buf, size, "is %s, not a regular file",
	         fx_file_kind(sb.st_mode));
	return buf;
}

#define F(field) offsetof(FxOptions, field)
static const OptionInfo options[] = {
	{"name", 'n', FX_OPT_STRING, F(name), 0, 0, 0, check_name, "NAME",
         "JACK client name (default fxd)", "JACK"},
	{"channels", 'c', FX_OPT_INT, F(channels), 1, 64, 0, NULL, "N",
         "chain channels, 1..64 (default 2)", NULL},
	{"inputs", 0, FX_OPT_INT, F(inputs), 1, 64, 0, NULL, "N",
         "input ports (default: channels)", NULL},
	{"outputs", 0, FX_OPT_INT, F(outputs), 1, 64, 0, NULL, "M",
         "output ports (default: channels)", NULL},
	{"connect-in", 0, FX_OPT_LIST, F(connect_in), 0, 0, 0, check_regex,
         "PATTERN",
         "connect ports matching PATTERN to in_1, in_2, ... "
         "(repeatable)",
         NULL},
	{"connect-out", 0, FX_OPT_LIST, F(connect_out), 0, 0, 0, check_regex,
         "PATTERN",
         "connect out_1, out_2, ... to ports matching PATTERN "
         "(repeatable)",
         NULL},
	{"auto-connect", 0, FX_OPT_FLAG, F(auto_connect), 0, 0, 0, NULL, NULL,
         "connect physical capture to inputs, outputs to physical playback", NULL},
	{"wait-for-jack", 0, FX_OPT_DOUBLE, F(wait_for_jack), 0, 86400, 0, NULL,
         "SECONDS", "retry connecting to JACK for up to SECONDS at start-up",
         NULL},
	{"reconnect", 0, FX_OPT_FLAG, F(reconnect), 0, 0, 0, NULL, NULL,
         "keep running when JACK goes away; reconnect when it is back", NULL},
	{"allow-rename", 0, FX_OPT_FLAG, F(allow_rename), 0, 0, 0, NULL, NULL,
         "accept another client name if NAME is taken", NULL},
	{"period", 0, FX_OPT_INT, F(period), 16, 8192, 0, NULL, "N",
         "ask PipeWire for a period (quantum) of N frames; jackd ignores "
         "it (jackd -p sets the period)",
         NULL},

	/* The chain is kept as text until the layers are merged: load(). */
	{"chain", 0, FX_OPT_STRING, 0, 0, 0, 0, NULL, "SPEC",
         "the effect chain (same as the CHAIN argument)", "Audio"},
	{"latency-periods", 0, FX_OPT_INT, F(latency_periods), 1, 64, 0, NULL,
         "N", "periods of latency fxd adds (default 1)", NULL},
	{"latency-log", 0, FX_OPT_INT, F(latency_log), 16, 1 << 20, 0, NULL, "N",
         "callbacks and chunks kept for timing statistics (default 4096)", NULL},
	{"glide-ms", 0, FX_OPT_DOUBLE, F(glide_ms), 0, 10000, 0, NULL, "MS",
         "parameter glide time (default 20)", NULL},
	{"ceiling", 0, FX_OPT_DOUBLE, F(ceiling_db), -60, 0, 0, NULL, "DB",
         "output soft-clip ceiling in dBFS (default -0.1)", NULL},
	{"no-safety", 0, FX_OPT_FLAG, F(no_safety), 0, 0, 0, NULL, NULL,
         "no DC blocker and ceiling after the chain", NULL},
	{"no-rerender", 0, FX_OPT_FLAG, F(no_rerender), 0, 0, 0, NULL, NULL,
         "never render the chunk not yet played again with a change: "
         "changes wait for the next chunk",
         NULL},
	{"memory-budget", 0, FX_OPT_INT, F(memory_budget_mb), 1, 1000000, 0,
         NULL, "MB",
         "most memory one chain's buffers may take, in MB; a "
         "bigger chain is refused (default 256)",
         NULL},

	{"osc-port", 0, FX_OPT_INT, F(osc_port), 0, 65535, 0, NULL, "PORT",
         "OSC port, UDP (default 8000; 0 picks a free one)", "OSC"},
	{"osc-port-by-name", 0, FX_OPT_FLAG, F(osc_port_by_name), 0, 0, 0, NULL,
         NULL,
         "default the OSC port to one derived from NAME, 8001..8999 "
         "(fxd@ units)",
         NULL},
	{"osc-bind", 0, FX_OPT_STRING, F(osc_bind), 0, 0, 0,
         fx_netaddr_check_ipv4, "ADDR",
         "numeric IPv4 address to listen on (default 127.0.0.1; 0.0.0.0 for "
         "every interface)",
         NULL},
	{"osc-allow", 0, FX_OPT_STRING, F(osc_allow), 0, 0, 0,
         fx_netaddr_check_cidrs, "CIDRS",
         "accept OSC only from these networks, "
         "e.g. 192.168.1.0/24,127.0.0.1",
         NULL},
	{"osc-tcp", 0, FX_OPT_FLAG, F(osc_tcp), 0, 0, 0, NULL, NULL,
         "also listen for OSC on TCP, same address and port", NULL},
	{"osc-target", 0, FX_OPT_LIST, F(osc_target), 0, 0, 0,
         fx_netaddr_check_target, "HOST:PORT",
         "send feedback, meters and stats "
         "there (repeatable)",
         NULL},
	{"osc-rate", 0, FX_OPT_DOUBLE, F(osc_rate), 1, 1000, 0, NULL, "HZ",
         "parameter feedback rate limit (default 30)", NULL},
	{"osc-tcp-max", 0, FX_OPT_INT, F(osc_tcp_max), 1, 1024, 0, NULL, "N",
         "TCP connections at once (default 8); when full, the one silent "
         "longest gives way",
         NULL},
	{"osc-tcp-idle", 0, FX_OPT_DOUBLE, F(osc_tcp_idle), 0, 86400, 0, NULL,
         "SECONDS",
         "close a TCP connection silent this long (default 300; "
         "0: never)",
         NULL},
	{"osc-lease", 0, FX_OPT_DOUBLE, F(osc_lease), 0, 86400, 0, NULL, "SECONDS",
         "a subscription ends this long after its last "
         "/fxd/subscribe (default 60; 0: never)",
         NULL},
	{"alias", 0, FX_OPT_LIST, F(alias), 0, 0, 0, fx_netaddr_check_alias,
         "FROM=TO",
         "handle OSC address FROM as TO (repeatable; in a file: "
         "alias FROM = TO)",
         NULL},
	{"no-osc", 0, FX_OPT_FLAG, F(no_osc), 0, 0, 0, NULL, NULL,
         "no OSC server", NULL},
	{"http-port", 0, FX_OPT_INT, F(http_port), 0, 65535, 0, NULL, "PORT",
         "HTTP port for OSCQuery, its WebSocket and the browser surface "
         "(default 9000, or the OSC port + 1000 with --osc-port-by-name; "
         "0 picks a free one)",
         "HTTP"},
	{"http-bind", 0, FX_OPT_STRING, F(http_bind), 0, 0, 0,
         fx_netaddr_check_ipv4, "ADDR",
         "numeric IPv4 address for HTTP (default 127.0.0.1; --osc-allow "
         "applies to HTTP too)",
         NULL},
	{"http-clients", 0, FX_OPT_INT, F(http_clients), 1, 32, 0, NULL, "N",
         "WebSocket clients at once (default 16)", NULL},
	{"no-http", 0, FX_OPT_FLAG, F(no_http), 0, 0, 0, NULL, NULL,
         "no HTTP server (no OSCQuery, no browser surface)", NULL},
	{"no-midi", 0, FX_OPT_FLAG, F(no_midi), 0, 0, 0, NULL, NULL,
         "no midi_in / midi_out ports (MIDI control off)", NULL},
	{"no-zeroconf", 0, FX_OPT_FLAG, F(no_zeroconf), 0, 0, 0, NULL, NULL,
         "do not advertise fxd over Zeroconf (_osc._udp, _oscjson._tcp)", NULL},
	{"preset-dir", 0, FX_OPT_STRING, F(preset_dir), 0, 0, 0, NULL, "DIR",
         "presets live here (default $XDG_DATA_HOME/fxd/presets)", NULL},
	{"state-file", 0, FX_OPT_STRING, F(state_file), 0, 0, 0,
         check_state_file, "FILE",
         "save the live state here after changes; restore it at start "
         "unless the configured chain changed",
         NULL},

	{"config", 'f', FX_OPT_STRING, F(config), 0, 0, FX_OPT_CLI_ONLY, NULL,
         "FILE", "read options and the chain from FILE (the command line wins)",
         "Daemon"},
	{"stats-interval", 0, FX_OPT_DOUBLE, F(stats_interval), 0, 86400, 0, NULL,
         "SECONDS", "log a metrics line every SECONDS (default 0: off)", NULL},
	{"no-mlock", 0, FX_OPT_FLAG, F(no_mlock), 0, 0, 0, NULL, NULL,
         "do not lock memory", NULL},
	{"verbose", 'v', FX_OPT_FLAG, F(verbose), 0, 0, 0, NULL, NULL,
         "log debug messages", NULL},
	{"list-effects", 0, FX_OPT_ACTION, F(list_effects), 0, 0, FX_OPT_CLI_ONLY,
         NULL, NULL, "list effects and their parameters, then exit", NULL},
	{"list-lv2", 0, FX_OPT_ACTION, F(list_lv2), 0, 0, FX_OPT_CLI_ONLY, NULL,
         NULL,
         "list the installed LV2 plugins fxd can host (and why not "
         "the others), then exit",
         NULL},
	{"describe-lv2", 0, FX_OPT_STRING, F(describe_lv2), 0, 0,
         FX_OPT_CLI_ONLY, NULL, "URI",
         "list the parameters of the LV2 plugin URI, then exit", NULL},
	{"version", 0, FX_OPT_ACTION, F(version), 0, 0, FX_OPT_CLI_ONLY, NULL,
         NULL, "print the version, then exit", NULL},
	{"help", 'h', FX_OPT_ACTION, F(help), 0, 0, FX_OPT_CLI_ONLY, NULL, NULL,
         "print this help, then exit", NULL},
};
#undef F

enum { N_OPTIONS = sizeof options / sizeof options[0] };

static int is_chain(const OptionInfo *info)
{
	return !strcmp(info->name, "chain");
}

/* Where a chain came from, until the spec is parsed. */
typedef struct {
	char *text;   ///< padded so positions match the file
	char *source; ///< name used in spec errors
	int from_file;
} ChainText;

/* ---- command line ------------------------------------------------------- */

typedef struct {
	FxOptGiven given;      ///< options, applied after the file
	char *chain_words;     ///< positional CHAIN arguments, joined
	const char *chain_opt; ///< --chain
} Cli;

static FxStatus on_option(void *ctx, const OptionInfo *info, const char *value,
                          char *err, size_t err_size)
{
	Cli *cli = ctx;
	return fx_opt_given_add(&cli->given, info, value, err, err_size);
}

/* A positional CHAIN argument, joined to the ones before. */
static FxStatus on_word(void *ctx, const char *word, char *err, size_t err_size)
{
	Cli *cli = ctx;
	size_t old = cli->chain_words ? strlen(cli->chain_words) : 0;
	char *s = realloc(cli->chain_words, old + strlen(word) + 2);
	if (!s)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	if (old)
		s[old++] = ' ';
	strcpy(s + old, word);
	cli->chain_words = s;
	return FX_OK;
}

/* ---- config file -------------------------------------------------------- */

/* [fxfile] belongs to fxfile: one file can serve both programs. */
static const char *const sections[] = {"fxd", "chain", "fxfile", "midi", NULL};

/* Where each [midi] line's target stands, to name it when the chain lacks
 * it: the chain may come later in the file. */
typedef struct {
	FxOptions *o;
	int line[FX_MIDI_MAX_MAPPINGS], col[FX_MIDI_MAX_MAPPINGS];
} FileCtx;

/* A [midi] line: "SOURCE CH NUM = TARGET ..." arrives split at '='. */
static FxStatus midi_entry(FileCtx *f, const FxConfEntry *e, char *err,
                           size_t err_size)
{
	FxOptions *o = f->o;
	if (o->n_midi == FX_MIDI_MAX_MAPPINGS)
		return fx_fail(FX_ERR_FULL, err, err_size,
		               "more than %d MIDI mappings",
		               FX_MIDI_MAX_MAPPINGS);
	if (!o->midi && !(o->midi = calloc(FX_MIDI_MAX_MAPPINGS, sizeof *o->midi)))
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	char line[1100];
	int klen = (int)strlen(e->key);
	snprintf(line, sizeof line, "%s = %s", e->key, e->value);
	int col;
	FxStatus st = fx_midi_mapping_parse(line, &o->midi[o->n_midi], &col,
	                                    err, err_size);
	if (st != FX_OK) {
		/* Back to the file's columns. */
		*e->col = col <= klen      ? e->key_col + col - 1
		          : col > klen + 3 ? e->value_col + col - (klen + 4)
		                           : e->key_col + klen;
		return st;
	}
	f->line[o->n_midi] = e->line;
	f->col[o->n_midi++] = e->value_col;
	return FX_OK;
}

static FxStatus on_entry(void *ctx, const FxConfEntry *e, char *err,
                         size_t err_size)
{
	FileCtx *f = ctx;
	if (!strcmp(e->section, "midi"))
		return midi_entry(f, e, err, err_size);
	ctx = f->o;
	/* "alias FROM = TO": the key holds FROM. */
	if (!strncmp(e->key, "alias", 5) &&
	    (e->key[5] == ' ' || e->key[5] == '\t')) {
		const char *from = e->key + 6;
		while (*from == ' ' || *from == '\t')
			from++;
		char pair[1024];
		snprintf(pair, sizeof pair, "%s=%s", from, e->value);
		return fx_opt_apply(
			ctx, fx_opt_find_long(options, N_OPTIONS, "alias", 5),
			pair, "alias", err, err_size);
	}
	return fx_conf_apply(ctx, options, N_OPTIONS, e, err, err_size);
}

static FxStatus load_file(FxOptions *o, const char *path, ChainText *chain,
                          FileCtx *f, char *err, size_t err_size)
{
	f->o = o;
	const FxConfFormat fmt = {.sections = sections,
	                          .skip = "fxfile",
	                          .text_name = "chain",
	                          .on_entry = on_entry,
	                          .ctx = f};
	FxConfText text;
	FxStatus st = fx_conf_load(path, &fmt, &text, err, err_size);
	if (st != FX_OK || !text.line)
		return st;
	chain->text = text.text;
	chain->from_file = 1;
	if (!(chain->source = strdup(path)))
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	return FX_OK;
}

/* ---- the whole thing ---------------------------------------------------- */

static void set_defaults(FxOptions *o)
{
	memset(o, 0, sizeof *o);
	o->name = strdup("fxd");
	o->channels = 2;
	o->latency_periods = 1;
	o->latency_log = 4096;
	o->glide_ms = 20;
	o->ceiling_db = -0.1;
	o->memory_budget_mb = FX_ENGINE_BUDGET_MB;
	o->osc_port = -1; /* until load(): 8000, or from the name */
	o->osc_bind = strdup("127.0.0.1");
	o->http_port = -1; /* until load(): 9000, or from the OSC port */
	o->http_bind = strdup("127.0.0.1");
	o->http_clients = 16;
	o->osc_rate = 30;
	o->osc_tcp_max = 8;
	o->osc_tcp_idle = 300;
	o->osc_lease = 60;
}

static FxStatus apply_cli(FxOptions *o, const Cli *cli, char *err, size_t err_size)
{
	const OptionInfo *cleared[N_OPTIONS];
	int n_cleared = 0;
	for (int i = 0; i < cli->given.n; i++) {
		const OptionInfo *info = cli->given.values[i].info;
		if (is_chain(info) || !strcmp(info->name, "config"))
			continue;
		/* A list on the command line replaces the file's. */
		if (info->type == FX_OPT_LIST) {
			int seen = 0;
			for (int k = 0; k < n_cleared; k++)
				seen |= cleared[k] == info;
			if (!seen) {
				cleared[n_cleared++] = info;
				fx_str_list_clear(
					(FxStrList *)((char *)o + info->offset));
			}
		}
		char nm[80];
		snprintf(nm, sizeof nm, "--%s", info->name);
		FxStatus st = fx_opt_apply(o, info, cli->given.values[i].value,
		                           nm, err, err_size);
		if (st != FX_OK)
			return st;
	}
	return FX_OK;
}

static FxStatus load(FxOptions *o, Cli *cli, int argc, char *const argv[],
                     ChainText *chain, FileCtx *f, char *err, size_t err_size)
{
	FxStatus st = fx_opt_parse_argv(
		options, N_OPTIONS, argc, argv, on_option, on_word, cli,
		" (fxd --help lists them)", err, err_size);
	if (st != FX_OK)
		return st;
	const char *config = NULL;
	for (int i = 0; i < cli->given.n; i++) {
		const OptionInfo *info = cli->given.values[i].info;
		if (info->type == FX_OPT_ACTION)
			*(int *)((char *)o + info->offset) = 1;
		else if (is_chain(info))
			cli->chain_opt = cli->given.values[i].value;
		else if (!strcmp(info->name, "config"))
			config = cli->given.values[i].value;
		else if (!strcmp(info->name, "describe-lv2")) {
			free(o->describe_lv2);
			if (!(o->describe_lv2 = strdup(cli->given.values[i].value)))
				return fx_fail(FX_ERR_NOMEM, err, err_size,
				               "out of memory");
		}
	}
	if (o->help || o->version || o->list_effects || o->list_lv2 ||
	    o->describe_lv2)
		return FX_OK;
	if (cli->chain_opt && cli->chain_words)
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "the chain is given "
		               "twice (--chain and an argument)");
	if (config) {
		if (!(o->config = strdup(config)))
			return fx_fail(FX_ERR_NOMEM, err, err_size,
			               "out of memory");
		if ((st = load_file(o, config, chain, f, err, err_size)) != FX_OK)
			return st;
	}
	if ((st = apply_cli(o, cli, err, err_size)) != FX_OK)
		return st;
	const char *cli_chain = cli->chain_opt ? cli->chain_opt
	                                       : cli->chain_words;
	if (cli_chain) {
		free(chain->text);
		free(chain->source);
		chain->text = strdup(cli_chain);
		chain->source = strdup("chain");
		chain->from_file = 0;
		snprintf(o->chain_origin, sizeof o->chain_origin,
		         "the command line");
	} else if (chain->from_file) {
		snprintf(o->chain_origin, sizeof o->chain_origin, "%s", config);
	} else {
		chain->text = strdup(FX_DEFAULT_CHAIN);
		chain->source = strdup("default chain");
		snprintf(o->chain_origin, sizeof o->chain_origin, "the default");
	}
	if (!chain->text || !chain->source)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	FxSpecError serr;
	if ((st = fx_spec_parse(chain->text, chain->source, &o->spec, &serr)) !=
	    FX_OK)
		return fx_fail(st, err, err_size, "%s", serr.message);
	for (int i = 0; i < o->n_midi; i++) {
		char why[512];
		if ((st = fx_midi_mapping_check(&o->midi[i], &o->spec, why,
		                                sizeof why)) != FX_OK)
			return fx_fail(st, err, err_size, "%s:%d:%d: %s",
			               config, f->line[i], f->col[i], why);
	}
	if (o->osc_port < 0)
		o->osc_port = o->osc_port_by_name ? fx_instance_osc_port(o->name)
		                                  : 8000;
	if (o->http_port < 0) {
		o->http_port_default = 1;
		o->http_port = o->osc_port_by_name ? o->osc_port + 1000 : 9000;
	}
	if (!o->inputs)
		o->inputs = o->channels;
	if (!o->outputs)
		o->outputs = o->channels;
	return FX_OK;
}

FxStatus fx_options_load(FxOptions *o, int argc, char *const argv[], char *err,
                         size_t err_size)
{
	set_defaults(o);
	if (err_size)
		err[0] = '\0';
	if (!o->name || !o->osc_bind || !o->http_bind)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	Cli cli = {0};
	ChainText chain = {0};
	FileCtx *f = calloc(1, sizeof *f);
	FxStatus st = f ? load(o, &cli, argc, argv, &chain, f, err, err_size)
	                : fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	free(f);
	fx_opt_given_free(&cli.given);
	free(cli.chain_words);
	free(chain.text);
	free(chain.source);
	return st;
}

void fx_options_free(FxOptions *o)
{
	free(o->name);
	free(o->config);
	fx_str_list_clear(&o->connect_in);
	fx_str_list_clear(&o->connect_out);
	fx_str_list_clear(&o->osc_target);
	fx_str_list_clear(&o->alias);
	free(o->osc_bind);
	free(o->osc_allow);
	free(o->http_bind);
	free(o->preset_dir);
	free(o->state_file);
	free(o->describe_lv2);
	o->describe_lv2 = NULL;
	free(o->midi);
	o->midi = NULL;
	o->n_midi = 0;
	o->name = o->config = o->osc_bind = o->osc_allow = o->http_bind = NULL;
	o->preset_dir = o->state_file = NULL;
}

void fx_options_usage(FILE *out)
{
	fputs("Usage: fxd [OPTIONS] [CHAIN]\n"
	      "Runs an effect chain as a JACK client: ports in_1..N feed the "
	      "chain's\nchannels, the chain feeds out_1..M.\n",
	      out);
	fx_opt_usage(out, options, N_OPTIONS);
	fputs("\nCHAIN is '[label:]effect name=value ... | ...' (fxd "
	      "--list-effects);\nthe default is\n ",
	      out);
	fx_opt_print_wrapped(out, FX_DEFAULT_CHAIN, 1);
	fputs("\nChannel routing: with fewer inputs than channels, input i feeds "
	      "every\nchannel c with c % inputs == i, so a mono input feeds "
	      "every channel;\nwith more, inputs are summed the same way. "
	      "Outputs follow the same rule.\n"
	      "\nA config file (-f) takes the long options as 'key = value' "
	      "lines and the\nchain as a [chain] section. SIGHUP reloads it "
	      "and swaps in its chain.\n"
	      "\nExit status: 0 ok, 1 runtime failure, 2 bad usage, config or "
	      "chain,\n3 cannot connect to JACK, 4 client name taken, 5 JACK "
	      "went away,\n6 OSC port in use, 130 a second SIGINT during "
	      "shutdown. See fxd(1).\n",
	      out);
}

/* SPDX-License-Identifier: ISC */
/* fxfile's command line and config file (fxfile_options.h). */
#include "clients/file/fxfile_options.h"

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsp/effect.h"
#include "daemon/base/conf.h"
#include "daemon/base/optable.h"
#include "daemon/base/fail.h"

typedef FxOptInfo OptionInfo;

static const char *const subtype_names[] = {"PCM_16", "PCM_24", "PCM_32",
                                            "FLOAT",  "DOUBLE", NULL};
static const int subtype_codes[] = {SF_FORMAT_PCM_16, SF_FORMAT_PCM_24,
                                    SF_FORMAT_PCM_32, SF_FORMAT_FLOAT,
                                    SF_FORMAT_DOUBLE};

static int find_word(const char *const *words, const char *w)
{
	for (int i = 0; words[i]; i++)
		if (!strcasecmp(words[i], w))
			return i;
	return -1;
}

static const char *check_subtype(const char *v, char *buf, size_t size)
{
	(void)buf, (void)size;
	return find_word(subtype_names, v) < 0
	               ? "is not PCM_16, PCM_24, PCM_32, FLOAT or DOUBLE"
	               : NULL;
}

static const char *const device_names[] = {"cpu", "cuda", "auto", NULL};

static const char *check_device(const char *v, char *buf, size_t size)
{
	(void)buf, (void)size;
	return find_word(device_names, v) < 0 ? "is not cpu, cuda or auto" : NULL;
}

#define F(field) offsetof(FxFileOptions, field)
static const OptionInfo options[] = {
	{"chain", 'c', FX_OPT_STRING, F(chain), 0, 0, 0, NULL, "SPEC",
         "the effect chain, written as for fxd (fxfile --list-effects)", "Chain"},
	{"config", 'f', FX_OPT_STRING, F(config), 0, 0, FX_OPT_CLI_ONLY, NULL,
         "FILE",
         "take the chain from an fxd config file, and options from its "
         "[fxfile] section (the command line wins)",
         NULL},
	{"tail", 0, FX_OPT_DOUBLE, F(tail), 0, 3600, 0, NULL, "SECONDS",
         "run on for SECONDS of silence past the input's end, so delays and "
         "reverbs ring out (default 0)",
         NULL},
	{"bpm", 0, FX_OPT_DOUBLE, F(bpm), 1, 999, 0, NULL, "BPM",
         "the rig's tempo, for effects that follow it (default 120)", NULL},

	{"format", 0, FX_OPT_STRING, F(format), 0, 0, 0, NULL, "FORMAT",
         "output format: wav, aiff, au, flac, caf, w64, rf64, raw, ... "
         "(default: from OUT's extension)",
         "Output"},
	{"subtype", 0, FX_OPT_STRING, F(subtype), 0, 0, 0, check_subtype, "SUB",
         "PCM_16, PCM_24, PCM_32, FLOAT or DOUBLE (default: the input's, "
         "when the format holds it)",
         NULL},
	{"normalize", 0, FX_OPT_DOUBLE, F(normalize), -120, 0, 0, NULL, "PEAK_DB",
         "scale the output so that its peak is PEAK_DB dBFS (two passes)", NULL},
	{"no-dither", 0, FX_OPT_FLAG, F(no_dither), 0, 0, 0, NULL, NULL,
         "no TPDF dither when writing 16-bit (or 8-bit) samples", NULL},
	{"force", 0, FX_OPT_FLAG, F(force), 0, 0, FX_OPT_CLI_ONLY, NULL, NULL,
         "replace OUT if it exists", NULL},

	{"raw-input", 0, FX_OPT_STRING, F(raw_input), 0, 0, FX_OPT_CLI_ONLY,
         NULL, "RATE:CH:SUB",
         "IN is headerless little-endian samples, e.g. "
         "48000:2:PCM_16",
         "Input"},
	{"chunk", 0, FX_OPT_INT, F(chunk), 1, 1 << 20, 0, NULL, "N",
         "frames per read (default 65536); the output does not depend on it",
         NULL},
	{"accept-truncated", 0, FX_OPT_FLAG, F(accept_truncated), 0, 0,
         FX_OPT_CLI_ONLY, NULL, NULL,
         "run over an input that holds fewer "
         "frames than its header gives, with a note (default: refuse it)",
         NULL},

	{"threads", 0, FX_OPT_INT, F(threads), 1, 256, 0, NULL, "N",
         "threads for filter cascades (default: the number of cores)",
         "Processing"},
	{"device", 0, FX_OPT_STRING, F(device_name), 0, 0, 0, check_device,
         "DEV", "cpu, cuda or auto (default auto: a GPU if there is one)", NULL},
	{"scan-threshold", 0, FX_OPT_INT, F(scan_threshold), 0, 1 << 24, 0,
         NULL, "N",
         "GPU: chunks of N frames or more use the parallel scan (default "
         "2048 for float32; 0: always)",
         NULL},
	{"quiet", 'q', FX_OPT_FLAG, F(quiet), 0, 0, 0, NULL, NULL,
         "no progress bar and no notes; errors only", NULL},
	{"verbose", 'v', FX_OPT_FLAG, F(verbose), 0, 0, 0, NULL, NULL,
         "describe the input, the pipeline's stages and the output", NULL},
	{"list-effects", 0, FX_OPT_ACTION, F(list_effects), 0, 0, FX_OPT_CLI_ONLY,
         NULL, NULL, "list effects and their parameters, then exit", NULL},
	{"version", 0, FX_OPT_ACTION, F(version), 0, 0, FX_OPT_CLI_ONLY, NULL,
         NULL, "print the version, then exit", NULL},
	{"help", 'h', FX_OPT_ACTION, F(help), 0, 0, FX_OPT_CLI_ONLY, NULL, NULL,
         "print this help, then exit", NULL},
};
#undef F

enum { N_OPTIONS = sizeof options / sizeof options[0] };

/* ---- the option table at work ------------------------------------------- */

/* A mistake on the command line: the reason, and where help is. Out of
 * memory is not one. */
static FxStatus usage(char *err, size_t size, FxStatus st)
{
	if (st != FX_OK && st != FX_ERR_NOMEM) {
		size_t n = strnlen(err, size);
		snprintf(err + n, size - n, " (see fxfile --help)");
	}
	return st;
}

typedef struct {
	FxOptGiven given;    ///< options, applied after the file
	const char *args[2]; ///< IN and OUT
	int n_args;
} Cli;

static FxStatus on_option(void *ctx, const OptionInfo *info, const char *value,
                          char *err, size_t err_size)
{
	Cli *cli = ctx;
	return fx_opt_given_add(&cli->given, info, value, err, err_size);
}

static FxStatus on_word(void *ctx, const char *word, char *err, size_t err_size)
{
	Cli *cli = ctx;
	if (cli->n_args == 2)
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "one input and one "
		               "output, not '%s' as well",
		               word);
	cli->args[cli->n_args++] = word;
	return FX_OK;
}

/* ---- the config file: fxd's format -------------------------------------- */

static const char *const sections[] = {"fxd", "chain", "fxfile", NULL};

/* Keys before any section and in [fxd] are fxd's and skipped (fxd checks
 * them); [fxfile] holds fxfile's own long options. */
static FxStatus on_entry(void *ctx, const FxConfEntry *e, char *err,
                         size_t err_size)
{
	if (strcasecmp(e->section, "fxfile"))
		return FX_OK;
	return fx_conf_apply(ctx, options, N_OPTIONS, e, err, err_size);
}

/* Prints @p text from column @p col, wrapped before column 80. */
void fxfile_usage(FILE *out)
{
	fputs("Usage: fxfile [OPTIONS] -c SPEC IN OUT\n"
	      "       fxfile [OPTIONS] -f CONFIG IN OUT\n"
	      "Runs an fxd effect chain over the sound file IN and writes OUT, "
	      "with IN's\nsample rate and channels. '-' is stdin or stdout.\n",
	      out);
	fx_opt_usage(out, options, N_OPTIONS);
	fputs("\nSPEC is '[label:]effect name=value ... | ...', as fxd takes "
	      "it. Filters run\nat rest as one cascade per run of filter "
	      "slots, in parallel in time.\nThe chain's latency is "
	      "compensated: OUT lines up with IN.\n"
	      "\nOUT's format comes from its extension or --format; writing "
	      "to stdout needs\n--format with a format that streams (au, flac, "
	      "raw). OUT is written to a\ntemporary file beside it and renamed "
	      "into place; IN is never overwritten.\n"
	      "\nExit status: 0 ok, 1 runtime failure (out of memory), 2 bad "
	      "usage, chain,\ninput, output or I/O error, 128 + N on signal N "
	      "(130: SIGINT).\nSee fxfile(1).\n",
	      out);
}

static FxStatus load(FxFileOptions *o, Cli *cli, FxConfText *chain, char *err,
                     size_t err_size)
{
	const char *config = NULL, *cli_chain = NULL;
	for (int i = 0; i < cli->given.n; i++) {
		const OptionInfo *info = cli->given.values[i].info;
		if (info->type == FX_OPT_ACTION)
			*(int *)((char *)o + info->offset) = 1;
		else if (!strcmp(info->name, "config"))
			config = cli->given.values[i].value;
		else if (!strcmp(info->name, "chain"))
			cli_chain = cli->given.values[i].value;
	}
	if (o->help || o->version || o->list_effects)
		return FX_OK;
	FxStatus st;
	if (config) {
		if (!(o->config = strdup(config)))
			return fx_fail(FX_ERR_NOMEM, err, err_size,
			               "out of memory");
		const FxConfFormat fmt = {.sections = sections,
		                          .text_name = "chain",
		                          .any_case = 1,
		                          .on_entry = on_entry,
		                          .ctx = o};
		if ((st = fx_conf_load(config, &fmt, chain, err, err_size)))
			return st;
	}
	for (int i = 0; i < cli->given.n; i++) {
		const OptionInfo *info = cli->given.values[i].info;
		if (info->type == FX_OPT_ACTION ||
		    !strcmp(info->name, "config") || !strcmp(info->name, "chain"))
			continue;
		char nm[64];
		snprintf(nm, sizeof nm, "--%s", info->name);
		if ((st = fx_opt_apply(o, info, cli->given.values[i].value, nm,
		                       err, err_size)))
			return usage(err, err_size, st);
	}
	/* auto either way; only an explicit one hears why there is no GPU. */
	o->device_asked = o->device_name != NULL;
	if (!o->device_asked && !(o->device_name = strdup("auto")))
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	o->device = (FxFileDevice)find_word(device_names, o->device_name);
	if (cli_chain) {
		free(chain->text);
		chain->text = strdup(cli_chain);
		o->chain_source = strdup("chain");
	} else if (!chain->text) {
		if (config)
			return usage(err, err_size,
			             fx_fail(FX_ERR_INVALID, err, err_size,
			                     "'%s' has no chain (a 'chain' key or "
			                     "a [chain] section); give -c SPEC",
			                     config));
		return usage(err, err_size,
		             fx_fail(FX_ERR_INVALID, err, err_size,
		                     "no chain: give -c SPEC or -f CONFIG"));
	} else {
		o->chain_source = strdup(config);
	}
	free(o->chain);
	o->chain = chain->text;
	chain->text = NULL;
	if (!o->chain || !o->chain_source)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	if (cli->n_args < 2)
		return usage(err, err_size,
		             fx_fail(FX_ERR_INVALID, err, err_size, "%s",
		                     cli->n_args ? "no output given"
		                                 : "no input and output given"));
	o->in = cli->args[0];
	o->out = cli->args[1];
	return FX_OK;
}

FxStatus fxfile_options_load(FxFileOptions *o, int argc, char *const argv[],
                             char *err, size_t err_size)
{
	memset(o, 0, sizeof *o);
	o->normalize = NAN;
	o->chunk = 65536;
	o->scan_threshold = -1;
	if (err_size)
		err[0] = '\0';
	Cli cli = {0};
	FxConfText chain = {0};
	FxStatus st = fx_opt_parse_argv(options, N_OPTIONS, argc, argv, on_option,
	                                on_word, &cli, "", err, err_size);
	if (st != FX_OK)
		usage(err, err_size, st);
	else
		st = load(o, &cli, &chain, err, err_size);
	fx_opt_given_free(&cli.given);
	free(chain.text);
	return st;
}

void fxfile_options_free(FxFileOptions *o)
{
	char **strings[] = {&o->chain,      &o->chain_source, &o->config,
	                    &o->format,     &o->subtype,      &o->raw_input,
	                    &o->device_name};
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
}

int fxfile_subtype_code(const char *name)
{
	int i = find_word(subtype_names, name);
	return i < 0 ? 0 : subtype_codes[i];
}

const char *fxfile_subtype_short_name(int subtype)
{
	for (int i = 0; subtype_names[i]; i++)
		if (subtype_codes[i] == (subtype & SF_FORMAT_SUBMASK))
			return subtype_names[i];
	return NULL;
}

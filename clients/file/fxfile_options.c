/* fxfile's command line and config file (fxfile_options.h). */
#include "clients/file/fxfile_options.h"

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsp/effect.h"
#include "clients/file/fxfile_util.h"
#include "daemon/base/optable.h"

typedef FxOptInfo OptionInfo;

static const char *const subtype_names[] = {"PCM_16", "PCM_24", "PCM_32",
                                            "FLOAT", "DOUBLE", NULL};
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
	return find_word(device_names, v) < 0 ? "is not cpu, cuda or auto"
	                                      : NULL;
}

#define F(field) offsetof(FxFileOptions, field)
static const OptionInfo options[] = {
	{"chain", 'c', FX_OPT_STRING, F(chain), 0, 0, 0, NULL, "SPEC",
	 "the effect chain, written as for fxd (fxfile --list-effects)",
	 "Chain"},
	{"config", 'f', FX_OPT_STRING, F(config), 0, 0, FX_OPT_CLI_ONLY, NULL, "FILE",
	 "take the chain from an fxd config file, and options from its "
	 "[fxfile] section (the command line wins)", NULL},
	{"tail", 0, FX_OPT_DOUBLE, F(tail), 0, 3600, 0, NULL, "SECONDS",
	 "run on for SECONDS of silence past the input's end, so delays and "
	 "reverbs ring out (default 0)", NULL},
	{"bpm", 0, FX_OPT_DOUBLE, F(bpm), 1, 999, 0, NULL, "BPM",
	 "the rig's tempo, for effects that follow it (default 120)", NULL},

	{"format", 0, FX_OPT_STRING, F(format), 0, 0, 0, NULL, "FORMAT",
	 "output format: wav, aiff, au, flac, caf, w64, rf64, raw, ... "
	 "(default: from OUT's extension)", "Output"},
	{"subtype", 0, FX_OPT_STRING, F(subtype), 0, 0, 0, check_subtype, "SUB",
	 "PCM_16, PCM_24, PCM_32, FLOAT or DOUBLE (default: the input's, "
	 "when the format holds it)", NULL},
	{"normalize", 0, FX_OPT_DOUBLE, F(normalize), -120, 0, 0, NULL, "PEAK_DB",
	 "scale the output so that its peak is PEAK_DB dBFS (two passes)",
	 NULL},
	{"no-dither", 0, FX_OPT_FLAG, F(no_dither), 0, 0, 0, NULL, NULL,
	 "no TPDF dither when writing 16-bit (or 8-bit) samples", NULL},
	{"force", 0, FX_OPT_FLAG, F(force), 0, 0, FX_OPT_CLI_ONLY, NULL, NULL,
	 "replace OUT if it exists", NULL},

	{"raw-input", 0, FX_OPT_STRING, F(raw_input), 0, 0, FX_OPT_CLI_ONLY, NULL,
	 "RATE:CH:SUB", "IN is headerless little-endian samples, e.g. "
	 "48000:2:PCM_16", "Input"},
	{"chunk", 0, FX_OPT_INT, F(chunk), 1, 1 << 20, 0, NULL, "N",
	 "frames per read (default 65536); the output does not depend on it",
	 NULL},
	{"accept-truncated", 0, FX_OPT_FLAG, F(accept_truncated), 0, 0,
	 FX_OPT_CLI_ONLY, NULL, NULL, "run over an input that holds fewer "
	 "frames than its header gives, with a note (default: refuse it)",
	 NULL},

	{"threads", 0, FX_OPT_INT, F(threads), 1, 256, 0, NULL, "N",
	 "threads for filter cascades (default: the number of cores)",
	 "Processing"},
	{"device", 0, FX_OPT_STRING, F(device_name), 0, 0, 0, check_device, "DEV",
	 "cpu, cuda or auto (default auto: a GPU if there is one)", NULL},
	{"scan-threshold", 0, FX_OPT_INT, F(scan_threshold), 0, 1 << 24, 0, NULL,
	 "N", "GPU: chunks of N frames or more use the parallel scan (default "
	 "2048 for float32; 0: always)", NULL},
	{"quiet", 'q', FX_OPT_FLAG, F(quiet), 0, 0, 0, NULL, NULL,
	 "no progress bar and no notes; errors only", NULL},
	{"verbose", 'v', FX_OPT_FLAG, F(verbose), 0, 0, 0, NULL, NULL,
	 "describe the input, the pipeline's stages and the output", NULL},
	{"list-effects", 0, FX_OPT_ACTION, F(list_effects), 0, 0, FX_OPT_CLI_ONLY, NULL,
	 NULL, "list effects and their parameters, then exit", NULL},
	{"version", 0, FX_OPT_ACTION, F(version), 0, 0, FX_OPT_CLI_ONLY, NULL, NULL,
	 "print the version, then exit", NULL},
	{"help", 'h', FX_OPT_ACTION, F(help), 0, 0, FX_OPT_CLI_ONLY, NULL, NULL,
	 "print this help, then exit", NULL},
};
#undef F

enum { N_OPTIONS = sizeof options / sizeof options[0] };

/* ---- the option table at work ------------------------------------------- */

typedef struct {
	char *buf;
	size_t size;
	const char *file; ///< NULL on the command line
	int line;
} Err;

static int fail(Err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(Err *e, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	if (e->file)
		snprintf(e->buf, e->size, "%s:%d: %s", e->file, e->line, reason);
	else
		snprintf(e->buf, e->size, "%s", reason);
	return FXFILE_USAGE;
}

/* Sets one option from its text; @p value is NULL for a command-line
 * flag. */
static int apply(FxFileOptions *o, const OptionInfo *info, const char *value,
                 Err *e)
{
	char nm[64], why[600];
	snprintf(nm, sizeof nm, "%s%s", e->file ? "" : "--", info->name);
	if (fx_opt_apply(o, info, value, nm, why, sizeof why) == 0)
		return FXFILE_OK;
	if (!strcmp(why, "out of memory"))
		fxfile_die(FXFILE_FAILURE, "out of memory");
	return fail(e, "%s", why);
}

static const OptionInfo *find_long(const char *name, size_t len)
{
	return fx_opt_find_long(options, N_OPTIONS, name, len);
}

static const char *suggest_option(const char *word, int file_keys)
{
	return fx_opt_suggest(options, N_OPTIONS, word, file_keys);
}

/* One option as given on the command line, applied after the file. */
typedef struct {
	const OptionInfo *info;
	const char *value;
} CliValue;

typedef struct {
	CliValue *values;
	int n;
	const char *args[2]; ///< IN and OUT
	int n_args;
} Cli;

static void cli_push(Cli *cli, const OptionInfo *info, const char *value)
{
	CliValue *v = realloc(cli->values, (size_t)(cli->n + 1) * sizeof *v);
	if (!v)
		fxfile_die(FXFILE_FAILURE, "out of memory");
	cli->values = v;
	v[cli->n++] = (CliValue){info, value};
}

static void cli_arg(Cli *cli, const char *a)
{
	if (cli->n_args == 2)
		fxfile_usage_error("one input and one output, not '%s' as "
		                   "well", a);
	cli->args[cli->n_args++] = a;
}

static int on_option(void *ctx, const OptionInfo *info, const char *value)
{
	cli_push(ctx, info, value);
	return 0;
}

static int on_word(void *ctx, const char *word)
{
	cli_arg(ctx, word);
	return 0;
}

static void parse_cli(Cli *cli, int argc, char *const argv[])
{
	char why[600];
	if (fx_opt_parse_argv(options, N_OPTIONS, argc, argv, on_option,
	                      on_word, cli, "", why, sizeof why) != 0)
		fxfile_usage_error("%s", why);
}

/* ---- the config file: fxd's format -------------------------------------- */

/* Where the chain came from. */
typedef struct {
	char *text;   ///< padded so that positions match the file
	char *source; ///< name in spec errors
	int line;     ///< where the file set it, for "given twice"
} ChainText;

/* Text whose line @p line, column @p col holds @p value. */
static char *padded(int line, int col, const char *value)
{
	char *s = fx_opt_padded(line, col, value);
	if (!s)
		fxfile_die(FXFILE_FAILURE, "out of memory");
	return s;
}

static char *slurp(const char *path, Err *e, int *rc)
{
	char why[600];
	char *text = fx_opt_read_file(path, why, sizeof why);
	if (!text)
		*rc = fail(e, "%s", why);
	return text;
}

static const char *const sections[] = {"fxd", "chain", "fxfile", NULL};
enum { SEC_FXD, SEC_CHAIN, SEC_FXFILE };

/* Reads fxd's config format: keys before any section and in [fxd] are
 * fxd's and skipped, but for the chain (a 'chain' key or a [chain]
 * section); [fxfile] holds fxfile's own long options. */
static int load_file(FxFileOptions *o, const char *path, ChainText *chain,
                     Err *e)
{
	int rc = FXFILE_OK;
	char *text = slurp(path, e, &rc);
	if (!text)
		return rc;
	e->file = path;
	char *chain_buf = fxfile_calloc(strlen(text) + 2, 1);
	char *chain_end = chain_buf;
	int section = SEC_FXD, chain_section = 0;
	char *line = text;
	for (int no = 1; line && rc == FXFILE_OK; no++) {
		e->line = no;
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *raw = line;
		line = next;
		char *s = fx_opt_trim(raw);
		if (section == SEC_CHAIN && *s != '[') {
			if (*s != ';') /* '#' is the spec's own comment */
				chain_end = stpcpy(chain_end, raw);
			*chain_end++ = '\n';
			continue;
		}
		*chain_end++ = '\n';
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			fx_opt_strip_comment(s);
			s = fx_opt_trim(s);
			size_t len = strlen(s);
			if (len < 3 || s[len - 1] != ']') {
				rc = fail(e, "expected '[section]', found '%s'", s);
				break;
			}
			s[len - 1] = '\0';
			const char *name = fx_opt_trim(s + 1);
			section = find_word(sections, name);
			if (section < 0) {
				FxSuggest sg = fx_suggest_start(name);
				for (int k = 0; sections[k]; k++)
					fx_suggest_offer(&sg, sections[k]);
				rc = sg.best ? fail(e, "unknown section '[%s]' (did "
				                       "you mean '[%s]'?)", name,
				                    sg.best)
				             : fail(e, "unknown section '[%s]' "
				                       "(known: [fxd], [chain], "
				                       "[fxfile])", name);
				break;
			}
			if (section == SEC_CHAIN) {
				if (chain->line) {
					rc = fail(e, "the chain is given twice (see "
					             "line %d)", chain->line);
					break;
				}
				chain->line = chain_section = no;
			}
			continue;
		}
		fx_opt_strip_comment(s);
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = fail(e, "expected 'key = value', found '%s'", s);
			break;
		}
		*eq = '\0';
		char *key = fx_opt_trim(s), *value = fx_opt_trim(eq + 1);
		if (!strcmp(key, "chain")) {
			if (chain->line) {
				rc = fail(e, "the chain is given twice (see line "
				             "%d)", chain->line);
				break;
			}
			chain->text = padded(no, (int)(value - raw) + 1, value);
			chain->line = no;
			continue;
		}
		if (section == SEC_FXD)
			continue; /* fxd checks its own keys */
		const OptionInfo *info = find_long(key, strlen(key));
		if (!info || (info->flags & FX_OPT_CLI_ONLY)) {
			const char *best = suggest_option(key, 1);
			if (info)
				rc = fail(e, "'%s' cannot be set in a config file",
				          key);
			else if (best)
				rc = fail(e, "unknown key '%s' (did you mean "
				             "'%s'?)", key, best);
			else
				rc = fail(e, "unknown key '%s'", key);
			break;
		}
		if (!*value) {
			rc = fail(e, "%s: empty value", key);
			break;
		}
		rc = apply(o, info, value, e);
	}
	*chain_end = '\0';
	if (rc == FXFILE_OK && chain_section) {
		free(chain->text);
		chain->text = chain_buf;
		chain_buf = NULL;
	}
	if (rc == FXFILE_OK && chain->line)
		chain->source = fxfile_strdup(path);
	free(chain_buf);
	free(text);
	e->file = NULL;
	return rc;
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

void fxfile_options_load(FxFileOptions *o, int argc, char *const argv[])
{
	memset(o, 0, sizeof *o);
	o->normalize = NAN;
	o->chunk = 65536;
	o->scan_threshold = -1;
	Cli cli = {0};
	parse_cli(&cli, argc, argv);
	const char *config = NULL, *cli_chain = NULL;
	for (int i = 0; i < cli.n; i++) {
		const OptionInfo *info = cli.values[i].info;
		if (info->type == FX_OPT_ACTION)
			*(int *)((char *)o + info->offset) = 1;
		else if (!strcmp(info->name, "config"))
			config = cli.values[i].value;
		else if (!strcmp(info->name, "chain"))
			cli_chain = cli.values[i].value;
	}
	if (o->help || o->version || o->list_effects) {
		free(cli.values);
		return;
	}
	char why[768];
	Err e = {why, sizeof why, NULL, 0};
	ChainText chain = {0};
	if (config) {
		o->config = fxfile_strdup(config);
		if (load_file(o, config, &chain, &e) != FXFILE_OK)
			fxfile_error("%s", why);
	}
	for (int i = 0; i < cli.n; i++) {
		const OptionInfo *info = cli.values[i].info;
		if (info->type == FX_OPT_ACTION || !strcmp(info->name, "config") ||
		    !strcmp(info->name, "chain"))
			continue;
		if (apply(o, info, cli.values[i].value, &e) != FXFILE_OK)
			fxfile_usage_error("%s", why);
	}
	free(cli.values);
	/* auto either way; only an explicit one hears why there is no GPU. */
	o->device_asked = o->device_name != NULL;
	if (!o->device_asked)
		o->device_name = fxfile_strdup("auto");
	o->device = (FxFileDevice)find_word(device_names, o->device_name);
	if (cli_chain) {
		free(chain.text);
		free(chain.source);
		chain.text = fxfile_strdup(cli_chain);
		chain.source = fxfile_strdup("chain");
	} else if (!chain.text) {
		if (config)
			fxfile_usage_error("'%s' has no chain (a 'chain' key or "
			                   "a [chain] section); give -c SPEC",
			                   config);
		fxfile_usage_error("no chain: give -c SPEC or -f CONFIG");
	}
	free(o->chain);
	o->chain = chain.text;
	o->chain_source = chain.source;
	if (cli.n_args < 2)
		fxfile_usage_error(cli.n_args ? "no output given"
		                              : "no input and output given");
	o->in = cli.args[0];
	o->out = cli.args[1];
}

void fxfile_options_free(FxFileOptions *o)
{
	char **strings[] = {&o->chain, &o->chain_source, &o->config,
	                    &o->format, &o->subtype, &o->raw_input,
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

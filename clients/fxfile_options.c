/* fxfile's command line and config file (fxfile_options.h). */
#include "fxfile_options.h"

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "effect.h"
#include "fxfile_util.h"

typedef enum {
	OPT_FLAG,   ///< no value on the command line; yes/no in a file
	OPT_INT,
	OPT_DOUBLE,
	OPT_STRING,
	OPT_ACTION, ///< --help and friends: nothing else is read
} OptType;

enum {
	CLI_ONLY = 1u << 0, ///< not a key of a config file's [fxfile] section
};

typedef const char *(*Check)(const char *value);

typedef struct {
	const char *name; ///< long option and [fxfile] key
	char short_name;  ///< 0 if none
	OptType type;
	size_t offset;    ///< field in FxFileOptions
	double min, max;  ///< OPT_INT and OPT_DOUBLE
	unsigned flags;
	Check check;
	const char *arg;  ///< value name in --help
	const char *help;
	const char *group; ///< starts a --help heading
} OptionInfo;

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

static const char *check_subtype(const char *v)
{
	return find_word(subtype_names, v) < 0
	               ? "is not PCM_16, PCM_24, PCM_32, FLOAT or DOUBLE"
	               : NULL;
}

static const char *const device_names[] = {"cpu", "cuda", "auto", NULL};

static const char *check_device(const char *v)
{
	return find_word(device_names, v) < 0 ? "is not cpu, cuda or auto"
	                                      : NULL;
}

#define F(field) offsetof(FxFileOptions, field)
static const OptionInfo options[] = {
	{"chain", 'c', OPT_STRING, F(chain), 0, 0, 0, NULL, "SPEC",
	 "the effect chain, written as for fxd (fxfile --list-effects)",
	 "Chain"},
	{"config", 'f', OPT_STRING, F(config), 0, 0, CLI_ONLY, NULL, "FILE",
	 "take the chain from an fxd config file, and options from its "
	 "[fxfile] section (the command line wins)", NULL},
	{"tail", 0, OPT_DOUBLE, F(tail), 0, 3600, 0, NULL, "SECONDS",
	 "run on for SECONDS of silence past the input's end, so delays and "
	 "reverbs ring out (default 0)", NULL},
	{"bpm", 0, OPT_DOUBLE, F(bpm), 1, 999, 0, NULL, "BPM",
	 "the rig's tempo, for effects that follow it (default 120)", NULL},

	{"format", 0, OPT_STRING, F(format), 0, 0, 0, NULL, "FORMAT",
	 "output format: wav, aiff, au, flac, caf, w64, rf64, raw, ... "
	 "(default: from OUT's extension)", "Output"},
	{"subtype", 0, OPT_STRING, F(subtype), 0, 0, 0, check_subtype, "SUB",
	 "PCM_16, PCM_24, PCM_32, FLOAT or DOUBLE (default: the input's, "
	 "when the format holds it)", NULL},
	{"normalize", 0, OPT_DOUBLE, F(normalize), -120, 0, 0, NULL, "PEAK_DB",
	 "scale the output so that its peak is PEAK_DB dBFS (two passes)",
	 NULL},
	{"no-dither", 0, OPT_FLAG, F(no_dither), 0, 0, 0, NULL, NULL,
	 "no TPDF dither when writing 16-bit (or 8-bit) samples", NULL},
	{"force", 0, OPT_FLAG, F(force), 0, 0, CLI_ONLY, NULL, NULL,
	 "replace OUT if it exists", NULL},

	{"raw-input", 0, OPT_STRING, F(raw_input), 0, 0, CLI_ONLY, NULL,
	 "RATE:CH:SUB", "IN is headerless little-endian samples, e.g. "
	 "48000:2:PCM_16", "Input"},
	{"chunk", 0, OPT_INT, F(chunk), 1, 1 << 20, 0, NULL, "N",
	 "frames per read (default 65536); the output does not depend on it",
	 NULL},

	{"threads", 0, OPT_INT, F(threads), 1, 256, 0, NULL, "N",
	 "threads for filter cascades (default: the number of cores)",
	 "Processing"},
	{"device", 0, OPT_STRING, F(device_name), 0, 0, 0, check_device, "DEV",
	 "cpu, cuda or auto (default auto: a GPU if there is one)", NULL},
	{"scan-threshold", 0, OPT_INT, F(scan_threshold), 0, 1 << 24, 0, NULL,
	 "N", "GPU: chunks of N frames or more use the parallel scan (default "
	 "2048 for float32; 0: always)", NULL},
	{"quiet", 'q', OPT_FLAG, F(quiet), 0, 0, 0, NULL, NULL,
	 "no progress bar and no notes; errors only", NULL},
	{"verbose", 'v', OPT_FLAG, F(verbose), 0, 0, 0, NULL, NULL,
	 "describe the input, the pipeline's stages and the output", NULL},
	{"list-effects", 0, OPT_ACTION, F(list_effects), 0, 0, CLI_ONLY, NULL,
	 NULL, "list effects and their parameters, then exit", NULL},
	{"version", 0, OPT_ACTION, F(version), 0, 0, CLI_ONLY, NULL, NULL,
	 "print the version, then exit", NULL},
	{"help", 'h', OPT_ACTION, F(help), 0, 0, CLI_ONLY, NULL, NULL,
	 "print this help, then exit", NULL},
};
#undef F

enum { N_OPTIONS = sizeof options / sizeof options[0] };

static int parse_bool(const char *v, int *out)
{
	static const char *const words[][2] = {
		{"no", "yes"}, {"false", "true"}, {"off", "on"}, {"0", "1"}};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		for (int b = 0; b < 2; b++)
			if (!strcasecmp(v, words[i][b])) {
				*out = b;
				return 1;
			}
	return 0;
}

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
	char *field = (char *)o + info->offset;
	char nm[64];
	snprintf(nm, sizeof nm, "%s%s", e->file ? "" : "--", info->name);
	switch (info->type) {
	case OPT_FLAG:
	case OPT_ACTION: {
		int b = 1;
		if (value && !parse_bool(value, &b))
			return fail(e, "%s: '%s' is not yes or no", nm, value);
		*(int *)field = b;
		return FXFILE_OK;
	}
	case OPT_INT: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (end == value || *end || errno == ERANGE)
			return fail(e, "%s: '%s' is not a whole number", nm, value);
		if (v < info->min || v > info->max)
			return fail(e, "%s: %s is out of range %.0f..%.0f", nm,
			            value, info->min, info->max);
		*(int *)field = (int)v;
		return FXFILE_OK;
	}
	case OPT_DOUBLE: {
		char *end;
		errno = 0;
		double v = strtod(value, &end);
		if (end == value || *end || errno == ERANGE || !isfinite(v))
			return fail(e, "%s: '%s' is not a number", nm, value);
		if (v < info->min || v > info->max)
			return fail(e, "%s: %s is out of range %g..%g", nm, value,
			            info->min, info->max);
		*(double *)field = v;
		return FXFILE_OK;
	}
	case OPT_STRING:
		if (!*value)
			return fail(e, "%s: empty value", nm);
		if (info->check) {
			const char *bad = info->check(value);
			if (bad)
				return fail(e, "%s: '%s' %s", nm, value, bad);
		}
		free(*(char **)field);
		*(char **)field = fxfile_strdup(value);
		return FXFILE_OK;
	}
	return fail(e, "%s: internal error", nm);
}

static const OptionInfo *find_long(const char *name, size_t len)
{
	for (int i = 0; i < N_OPTIONS; i++)
		if (strlen(options[i].name) == len &&
		    !strncmp(options[i].name, name, len))
			return &options[i];
	return NULL;
}

static const OptionInfo *find_short(char c)
{
	for (int i = 0; i < N_OPTIONS; i++)
		if (options[i].short_name == c)
			return &options[i];
	return NULL;
}

static const char *suggest_option(const char *word, int file_keys)
{
	FxSuggest s = fx_suggest_start(word);
	for (int i = 0; i < N_OPTIONS; i++)
		if (!file_keys || !(options[i].flags & CLI_ONLY))
			fx_suggest_offer(&s, options[i].name);
	return s.best;
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

static void parse_cli(Cli *cli, int argc, char *const argv[])
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			for (i++; i < argc; i++)
				cli_arg(cli, argv[i]);
			break;
		}
		if (a[0] != '-' || !a[1]) {
			cli_arg(cli, a);
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const OptionInfo *info = find_long(name, len);
			if (!info) {
				char word[128];
				snprintf(word, sizeof word, "%.*s", (int)len, name);
				const char *best = suggest_option(word, 0);
				if (best)
					fxfile_usage_error("unknown option '--%s' "
					                   "(did you mean '--%s'?)",
					                   word, best);
				fxfile_usage_error("unknown option '--%s'", word);
			}
			const char *value = eq ? eq + 1 : NULL;
			if (info->type == OPT_FLAG || info->type == OPT_ACTION) {
				if (value)
					fxfile_usage_error("option '--%s' takes no "
					                   "value", info->name);
			} else if (!value) {
				if (i + 1 >= argc)
					fxfile_usage_error("option '--%s' needs a "
					                   "value", info->name);
				value = argv[++i];
			}
			cli_push(cli, info, value);
			continue;
		}
		/* A cluster of short options: -q, -qv, -c SPEC, -cSPEC. */
		for (const char *c = a + 1; *c; c++) {
			const OptionInfo *info = find_short(*c);
			if (!info)
				fxfile_usage_error("unknown option '-%c'", *c);
			if (info->type == OPT_FLAG || info->type == OPT_ACTION) {
				cli_push(cli, info, NULL);
				continue;
			}
			const char *value = c[1] ? c + 1 : NULL;
			if (!value) {
				if (i + 1 >= argc)
					fxfile_usage_error("option '-%c' needs a "
					                   "value", *c);
				value = argv[++i];
			}
			cli_push(cli, info, value);
			break;
		}
	}
}

/* ---- the config file: fxd's format -------------------------------------- */

/* Where the chain came from. */
typedef struct {
	char *text;   ///< padded so that positions match the file
	char *source; ///< name in spec errors
	int line;     ///< where the file set it, for "given twice"
} ChainText;

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/* A '#' or ';' after a blank starts a comment. */
static void strip_comment(char *s)
{
	for (char *p = s + 1; *p; p++)
		if ((*p == '#' || *p == ';') && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

/* Text whose line @p line, column @p col holds @p value. */
static char *padded(int line, int col, const char *value)
{
	size_t n = (size_t)(line - 1) + (size_t)(col - 1) + strlen(value) + 1;
	char *s = fxfile_calloc(n, 1), *p = s;
	memset(p, '\n', (size_t)(line - 1));
	p += line - 1;
	memset(p, ' ', (size_t)(col - 1));
	p += col - 1;
	strcpy(p, value);
	return s;
}

static char *slurp(const char *path, Err *e, int *rc)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		*rc = fail(e, "cannot read config file '%s': %s", path,
		           strerror(errno));
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *buf = fxfile_calloc(cap, 1);
	for (;;) {
		len += fread(buf + len, 1, cap - len - 1, f);
		if (len < cap - 1)
			break;
		if (cap >= (1u << 20)) {
			*rc = fail(e, "config file '%s' is larger than 1 MiB", path);
			free(buf);
			fclose(f);
			return NULL;
		}
		char *more = realloc(buf, cap *= 2);
		if (!more)
			fxfile_die(FXFILE_FAILURE, "out of memory");
		buf = more;
	}
	if (ferror(f)) {
		*rc = fail(e, "cannot read config file '%s': %s", path,
		           strerror(errno));
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
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
		char *s = trim(raw);
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
			strip_comment(s);
			s = trim(s);
			size_t len = strlen(s);
			if (len < 3 || s[len - 1] != ']') {
				rc = fail(e, "expected '[section]', found '%s'", s);
				break;
			}
			s[len - 1] = '\0';
			const char *name = trim(s + 1);
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
		strip_comment(s);
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = fail(e, "expected 'key = value', found '%s'", s);
			break;
		}
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
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
		if (!info || (info->flags & CLI_ONLY)) {
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
static void print_wrapped(FILE *out, const char *text, int col)
{
	int at = col;
	while (*text) {
		const char *sp = strchr(text, ' ');
		int len = sp ? (int)(sp - text) : (int)strlen(text);
		if (at > col && at + 1 + len >= 80) {
			fprintf(out, "\n%*s", col, "");
			at = col;
		}
		at += fprintf(out, " %.*s", len, text);
		text += len;
		while (*text == ' ')
			text++;
	}
	fputc('\n', out);
}

void fxfile_usage(FILE *out)
{
	fputs("Usage: fxfile [OPTIONS] -c SPEC IN OUT\n"
	      "       fxfile [OPTIONS] -f CONFIG IN OUT\n"
	      "Runs an fxd effect chain over the sound file IN and writes OUT, "
	      "with IN's\nsample rate and channels. '-' is stdin or stdout.\n",
	      out);
	for (int i = 0; i < N_OPTIONS; i++) {
		const OptionInfo *info = &options[i];
		if (info->group)
			fprintf(out, "\n%s:\n", info->group);
		char left[64];
		snprintf(left, sizeof left, "%c%c%c --%s%s%s",
		         info->short_name ? '-' : ' ',
		         info->short_name ? info->short_name : ' ',
		         info->short_name ? ',' : ' ', info->name,
		         info->arg ? " " : "", info->arg ? info->arg : "");
		fprintf(out, "  %-28s", left);
		print_wrapped(out, info->help, 30);
	}
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
	o->device_name = fxfile_strdup("auto");
	Cli cli = {0};
	parse_cli(&cli, argc, argv);
	const char *config = NULL, *cli_chain = NULL;
	for (int i = 0; i < cli.n; i++) {
		const OptionInfo *info = cli.values[i].info;
		if (info->type == OPT_ACTION)
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
		if (info->type == OPT_ACTION || !strcmp(info->name, "config") ||
		    !strcmp(info->name, "chain"))
			continue;
		if (apply(o, info, cli.values[i].value, &e) != FXFILE_OK)
			fxfile_usage_error("%s", why);
	}
	free(cli.values);
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

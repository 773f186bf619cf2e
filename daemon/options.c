#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "effect.h"
#include "osc.h"

typedef enum {
	OPT_FLAG,   ///< no value on the command line; yes/no in a file
	OPT_INT,
	OPT_DOUBLE,
	OPT_STRING,
	OPT_LIST,   ///< repeatable; the command line replaces the file's list
	OPT_ACTION, ///< --help and friends: a flag that stops before the file
} OptType;

enum {
	CLI_ONLY = 1u << 0, ///< not a config-file key
};

/* A check beyond the type: returns NULL, or why @p value is refused. */
typedef const char *(*Check)(const char *value, char *buf, size_t size);

typedef struct {
	const char *name;  ///< long option and config key
	char short_name;   ///< 0 if none
	OptType type;
	size_t offset;     ///< field in FxOptions
	double min, max;   ///< OPT_INT and OPT_DOUBLE
	unsigned flags;
	Check check;
	const char *arg;   ///< value name in --help
	const char *help;
	const char *group; ///< starts a --help heading
} OptionInfo;

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

static const char *check_ipv4(const char *v, char *buf, size_t size)
{
	struct in_addr a;
	(void)buf;
	(void)size;
	return inet_pton(AF_INET, v, &a) == 1 ? NULL
	                                       : "is not a numeric IPv4 "
	                                         "address";
}

#define F(field) offsetof(FxOptions, field)
static const OptionInfo options[] = {
	{"name", 'n', OPT_STRING, F(name), 0, 0, 0, check_name, "NAME",
	 "JACK client name (default fxd)", "JACK"},
	{"channels", 'c', OPT_INT, F(channels), 1, 64, 0, NULL, "N",
	 "chain channels, 1..64 (default 2)", NULL},
	{"inputs", 0, OPT_INT, F(inputs), 1, 64, 0, NULL, "N",
	 "input ports (default: channels)", NULL},
	{"outputs", 0, OPT_INT, F(outputs), 1, 64, 0, NULL, "M",
	 "output ports (default: channels)", NULL},
	{"connect-in", 0, OPT_LIST, F(connect_in), 0, 0, 0, check_regex,
	 "PATTERN", "connect ports matching PATTERN to in_1, in_2, ... "
	 "(repeatable)", NULL},
	{"connect-out", 0, OPT_LIST, F(connect_out), 0, 0, 0, check_regex,
	 "PATTERN", "connect out_1, out_2, ... to ports matching PATTERN "
	 "(repeatable)", NULL},
	{"auto-connect", 0, OPT_FLAG, F(auto_connect), 0, 0, 0, NULL, NULL,
	 "connect physical capture to inputs, outputs to physical playback",
	 NULL},
	{"wait-for-jack", 0, OPT_DOUBLE, F(wait_for_jack), 0, 86400, 0, NULL,
	 "SECONDS", "retry connecting to JACK for up to SECONDS at start-up",
	 NULL},
	{"reconnect", 0, OPT_FLAG, F(reconnect), 0, 0, 0, NULL, NULL,
	 "keep running when JACK goes away; reconnect when it is back", NULL},
	{"allow-rename", 0, OPT_FLAG, F(allow_rename), 0, 0, 0, NULL, NULL,
	 "accept another client name if NAME is taken", NULL},

	/* The chain is kept as text until the layers are merged: load(). */
	{"chain", 0, OPT_STRING, 0, 0, 0, 0, NULL,
	 "SPEC", "the effect chain (same as the CHAIN argument)", "Audio"},
	{"latency-periods", 0, OPT_INT, F(latency_periods), 1, 64, 0, NULL,
	 "N", "periods of latency fxd adds (default 1)", NULL},
	{"latency-log", 0, OPT_INT, F(latency_log), 16, 1 << 20, 0, NULL, "N",
	 "callbacks and chunks kept for timing statistics (default 4096)",
	 NULL},
	{"glide-ms", 0, OPT_DOUBLE, F(glide_ms), 0, 10000, 0, NULL, "MS",
	 "parameter glide time (default 20)", NULL},
	{"ceiling", 0, OPT_DOUBLE, F(ceiling_db), -60, 0, 0, NULL, "DB",
	 "output soft-clip ceiling in dBFS (default -0.1)", NULL},
	{"no-safety", 0, OPT_FLAG, F(no_safety), 0, 0, 0, NULL, NULL,
	 "no DC blocker and ceiling after the chain", NULL},

	{"osc-port", 0, OPT_INT, F(osc_port), 0, 65535, 0, NULL, "PORT",
	 "OSC port, UDP (default 8000; 0 picks a free one)", "OSC"},
	{"osc-bind", 0, OPT_STRING, F(osc_bind), 0, 0, 0, check_ipv4, "ADDR",
	 "numeric IPv4 address to listen on (default 127.0.0.1; 0.0.0.0 for "
	 "every interface)", NULL},
	{"osc-allow", 0, OPT_STRING, F(osc_allow), 0, 0, 0,
	 fx_osc_check_cidrs, "CIDRS", "accept OSC only from these networks, "
	 "e.g. 192.168.1.0/24,127.0.0.1", NULL},
	{"osc-tcp", 0, OPT_FLAG, F(osc_tcp), 0, 0, 0, NULL, NULL,
	 "also listen for OSC on TCP, same address and port", NULL},
	{"osc-target", 0, OPT_LIST, F(osc_target), 0, 0, 0,
	 fx_osc_check_target, "HOST:PORT", "send feedback, meters and stats "
	 "there (repeatable)", NULL},
	{"osc-rate", 0, OPT_DOUBLE, F(osc_rate), 1, 1000, 0, NULL, "HZ",
	 "parameter feedback rate limit (default 30)", NULL},
	{"alias", 0, OPT_LIST, F(alias), 0, 0, 0, fx_osc_check_alias,
	 "FROM=TO", "handle OSC address FROM as TO (repeatable; in a file: "
	 "alias FROM = TO)", NULL},
	{"no-osc", 0, OPT_FLAG, F(no_osc), 0, 0, 0, NULL, NULL,
	 "no OSC server", NULL},
	{"preset-dir", 0, OPT_STRING, F(preset_dir), 0, 0, 0, NULL, "DIR",
	 "presets live here (default $XDG_DATA_HOME/fxd/presets)", NULL},
	{"state-file", 0, OPT_STRING, F(state_file), 0, 0, 0, NULL, "FILE",
	 "save the live state here after changes; restore it at start", NULL},

	{"config", 'f', OPT_STRING, F(config), 0, 0, CLI_ONLY, NULL, "FILE",
	 "read options and the chain from FILE (the command line wins)",
	 "Daemon"},
	{"stats-interval", 0, OPT_DOUBLE, F(stats_interval), 0, 86400, 0, NULL,
	 "SECONDS", "log a metrics line every SECONDS (default 0: off)", NULL},
	{"no-mlock", 0, OPT_FLAG, F(no_mlock), 0, 0, 0, NULL, NULL,
	 "do not lock memory", NULL},
	{"verbose", 'v', OPT_FLAG, F(verbose), 0, 0, 0, NULL, NULL,
	 "log debug messages", NULL},
	{"list-effects", 0, OPT_ACTION, F(list_effects), 0, 0, CLI_ONLY, NULL,
	 NULL, "list effects and their parameters, then exit", NULL},
	{"version", 0, OPT_ACTION, F(version), 0, 0, CLI_ONLY, NULL, NULL,
	 "print the version, then exit", NULL},
	{"help", 'h', OPT_ACTION, F(help), 0, 0, CLI_ONLY, NULL, NULL,
	 "print this help, then exit", NULL},
};
#undef F

enum { N_OPTIONS = sizeof options / sizeof options[0] };

static int is_chain(const OptionInfo *info)
{
	return !strcmp(info->name, "chain");
}

/* ---- errors ------------------------------------------------------------- */

typedef struct {
	char *buf;
	size_t size;
	const char *file; ///< NULL on the command line
	int line;
} Err;

static int fail(Err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
	return FX_EXIT_USAGE;
}

/* How an option is named in messages: "--name" or "name". */
static const char *shown(const Err *e, const OptionInfo *info, char *buf,
                         size_t size)
{
	snprintf(buf, size, "%s%s", e->file ? "" : "--", info->name);
	return buf;
}

/* ---- values ------------------------------------------------------------- */

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

static int list_add(FxStrList *l, const char *s)
{
	char **items = realloc(l->items, (size_t)(l->n + 1) * sizeof *items);
	if (!items)
		return 0;
	l->items = items;
	if (!(items[l->n] = strdup(s)))
		return 0;
	l->n++;
	return 1;
}

static void list_clear(FxStrList *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Where a chain came from, until the spec is parsed. */
typedef struct {
	char *text;      ///< padded so positions match the file
	char *source;    ///< name used in spec errors
	int from_file;
	int file_line;   ///< where a file's chain was set, for "given twice"
} ChainText;

/* Sets one option from its text. @p value is NULL for a command-line flag. */
static int apply(FxOptions *o, const OptionInfo *info, const char *value,
                 Err *e)
{
	char *field = (char *)o + info->offset;
	char nm[80], why[200];
	shown(e, info, nm, sizeof nm);
	switch (info->type) {
	case OPT_FLAG:
	case OPT_ACTION: {
		int b = 1;
		if (value && !parse_bool(value, &b))
			return fail(e, "%s: '%s' is not yes or no", nm, value);
		*(int *)field = b;
		return FX_EXIT_OK;
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
		return FX_EXIT_OK;
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
		return FX_EXIT_OK;
	}
	case OPT_STRING:
	case OPT_LIST:
		if (!*value)
			return fail(e, "%s: empty value", nm);
		if (info->check) {
			const char *bad = info->check(value, why, sizeof why);
			if (bad)
				return fail(e, "%s: '%s' %s", nm, value, bad);
		}
		if (info->type == OPT_LIST) {
			if (!list_add((FxStrList *)field, value))
				return fail(e, "out of memory");
			return FX_EXIT_OK;
		}
		free(*(char **)field);
		if (!(*(char **)field = strdup(value)))
			return fail(e, "out of memory");
		return FX_EXIT_OK;
	}
	return fail(e, "%s: internal error", nm);
}

/* ---- command line ------------------------------------------------------- */

/* One option as given on the command line, applied after the file. */
typedef struct {
	const OptionInfo *info;
	const char *value;
} CliValue;

typedef struct {
	CliValue *values;
	int n;
	char *chain_words; ///< positional CHAIN arguments, joined
	const char *chain_opt; ///< --chain
} Cli;

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

static int cli_push(Cli *cli, const OptionInfo *info, const char *value,
                    Err *e)
{
	CliValue *v = realloc(cli->values, (size_t)(cli->n + 1) * sizeof *v);
	if (!v)
		return fail(e, "out of memory");
	cli->values = v;
	v[cli->n++] = (CliValue){info, value};
	return FX_EXIT_OK;
}

static int add_chain_word(Cli *cli, const char *word, Err *e)
{
	size_t old = cli->chain_words ? strlen(cli->chain_words) : 0;
	char *s = realloc(cli->chain_words, old + strlen(word) + 2);
	if (!s)
		return fail(e, "out of memory");
	if (old)
		s[old++] = ' ';
	strcpy(s + old, word);
	cli->chain_words = s;
	return FX_EXIT_OK;
}

static int parse_cli(Cli *cli, int argc, char *const argv[], Err *e)
{
	int rc = FX_EXIT_OK;
	for (int i = 1; i < argc && rc == FX_EXIT_OK; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			for (i++; i < argc && rc == FX_EXIT_OK; i++)
				rc = add_chain_word(cli, argv[i], e);
			break;
		}
		if (a[0] != '-' || !a[1]) {
			rc = add_chain_word(cli, a, e);
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
					return fail(e, "unknown option '--%s' (did you "
					               "mean '--%s'?)", word, best);
				return fail(e, "unknown option '--%s' (fxd --help "
				               "lists them)", word);
			}
			const char *value = eq ? eq + 1 : NULL;
			if (info->type == OPT_FLAG || info->type == OPT_ACTION) {
				if (value)
					return fail(e, "option '--%s' takes no "
					               "value", info->name);
			} else if (!value) {
				if (i + 1 >= argc)
					return fail(e, "option '--%s' needs a "
					               "value", info->name);
				value = argv[++i];
			}
			rc = cli_push(cli, info, value, e);
			continue;
		}
		/* A cluster of short options: -v, -vn NAME, -nNAME, -c4. */
		for (const char *c = a + 1; *c && rc == FX_EXIT_OK; c++) {
			const OptionInfo *info = find_short(*c);
			if (!info)
				return fail(e, "unknown option '-%c' (fxd --help "
				               "lists them)", *c);
			if (info->type == OPT_FLAG || info->type == OPT_ACTION) {
				rc = cli_push(cli, info, NULL, e);
				continue;
			}
			const char *value = c[1] ? c + 1 : NULL;
			if (!value) {
				if (i + 1 >= argc)
					return fail(e, "option '-%c' needs a value",
					            *c);
				value = argv[++i];
			}
			rc = cli_push(cli, info, value, e);
			break;
		}
	}
	return rc;
}

/* ---- config file -------------------------------------------------------- */

static char *read_file(const char *path, Err *e, int *rc)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		*rc = fail(e, "cannot read config file '%s': %s", path,
		           strerror(errno));
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			*rc = fail(e, "out of memory");
			break;
		}
		len += fread(buf + len, 1, cap - len - 1, f);
		if (len < cap - 1)
			break;
		/* A config file is small; refuse anything absurd. */
		if (cap >= (1u << 20)) {
			*rc = fail(e, "config file '%s' is larger than 1 MiB", path);
			free(buf);
			buf = NULL;
			break;
		}
		char *more = realloc(buf, cap *= 2);
		if (!more)
			free(buf);
		buf = more;
	}
	if (buf && ferror(f)) {
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

/* [fxfile] belongs to fxfile: one file can serve both programs. */
static const char *const sections[] = {"fxd", "chain", "fxfile", NULL};

/* Text whose line @p line, column @p col holds @p value, so a spec error's
 * position is the file's. */
static char *padded(int line, int col, const char *value)
{
	size_t n = (size_t)(line - 1) + (size_t)(col - 1) + strlen(value) + 1;
	char *s = malloc(n), *p = s;
	if (!s)
		return NULL;
	memset(p, '\n', (size_t)(line - 1));
	p += line - 1;
	memset(p, ' ', (size_t)(col - 1));
	p += col - 1;
	strcpy(p, value);
	return s;
}

static int load_file(FxOptions *o, const char *path, ChainText *chain,
                     Err *e)
{
	int rc = FX_EXIT_OK;
	char *text = read_file(path, e, &rc);
	if (!text)
		return rc;
	e->file = path;
	/* The [chain] section's lines at their own line numbers, others blank. */
	char *chain_buf = calloc(strlen(text) + 2, 1), *chain_end = chain_buf;
	int in_chain = 0, in_other = 0, chain_section_line = 0;
	if (!chain_buf)
		rc = fail(e, "out of memory");
	char *line = text;
	for (int no = 1; line && rc == FX_EXIT_OK; no++) {
		e->line = no;
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *raw = line;
		line = next;
		char *s = trim(raw);
		if (in_other && *s != '[') {
			*chain_end++ = '\n';
			continue;
		}
		if (in_chain && *s != '[') {
			if (*s != ';') /* '#' is the spec's own comment */
				chain_end = stpcpy(chain_end, raw);
			*chain_end++ = '\n';
			continue;
		}
		if (!*s || *s == '#' || *s == ';') {
			*chain_end++ = '\n';
			continue;
		}
		*chain_end++ = '\n';
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
			int known = -1;
			for (int k = 0; sections[k]; k++)
				if (!strcmp(name, sections[k]))
					known = k;
			if (known < 0) {
				FxSuggest sg = fx_suggest_start(name);
				for (int k = 0; sections[k]; k++)
					fx_suggest_offer(&sg, sections[k]);
				rc = sg.best ? fail(e, "unknown section '[%s]' (did "
				                       "you mean '[%s]'?)", name,
				                    sg.best)
				             : fail(e, "unknown section '[%s]' "
				                       "(known: [fxd], [chain], [fxfile])",
				                    name);
				break;
			}
			in_chain = !strcmp(name, "chain");
			in_other = !strcmp(name, "fxfile");
			if (in_chain) {
				if (chain->from_file) {
					rc = fail(e, "the chain is given twice (see "
					             "line %d)", chain->file_line);
					break;
				}
				chain->from_file = 1;
				chain->file_line = chain_section_line = no;
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
		/* "alias FROM = TO": the key holds FROM. */
		if (!strncmp(key, "alias", 5) && (key[5] == ' ' ||
		                                  key[5] == '\t')) {
			char pair[1024];
			snprintf(pair, sizeof pair, "%s=%s", trim(key + 6),
			         value);
			rc = apply(o, find_long("alias", 5), pair, e);
			continue;
		}
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
		if (is_chain(info)) {
			if (chain->from_file) {
				rc = fail(e, "the chain is given twice (see line "
				             "%d)", chain->file_line);
				break;
			}
			free(chain->text);
			chain->text = padded(no, (int)(value - raw) + 1, value);
			chain->from_file = 1;
			chain->file_line = no;
			if (!chain->text)
				rc = fail(e, "out of memory");
			continue;
		}
		if (!*value) {
			rc = fail(e, "%s: empty value", key);
			break;
		}
		rc = apply(o, info, value, e);
	}
	*chain_end = '\0';
	if (rc == FX_EXIT_OK && chain_section_line) {
		free(chain->text);
		chain->text = chain_buf;
		chain_buf = NULL;
	}
	if (rc == FX_EXIT_OK && chain->from_file &&
	    !(chain->source = strdup(path)))
		rc = fail(e, "out of memory");
	free(chain_buf);
	free(text);
	e->file = NULL;
	return rc;
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
	o->osc_port = 8000;
	o->osc_bind = strdup("127.0.0.1");
	o->osc_rate = 30;
}

static int apply_cli(FxOptions *o, const Cli *cli, Err *e)
{
	const OptionInfo *cleared[N_OPTIONS];
	int n_cleared = 0;
	for (int i = 0; i < cli->n; i++) {
		const OptionInfo *info = cli->values[i].info;
		if (is_chain(info) || !strcmp(info->name, "config"))
			continue;
		/* A list on the command line replaces the file's. */
		if (info->type == OPT_LIST) {
			int seen = 0;
			for (int k = 0; k < n_cleared; k++)
				seen |= cleared[k] == info;
			if (!seen) {
				cleared[n_cleared++] = info;
				list_clear((FxStrList *)((char *)o +
				                         info->offset));
			}
		}
		int rc = apply(o, info, cli->values[i].value, e);
		if (rc != FX_EXIT_OK)
			return rc;
	}
	return FX_EXIT_OK;
}

static int load(FxOptions *o, Cli *cli, int argc, char *const argv[],
                ChainText *chain, Err *e)
{
	int rc = parse_cli(cli, argc, argv, e);
	if (rc != FX_EXIT_OK)
		return rc;
	const char *config = NULL;
	for (int i = 0; i < cli->n; i++) {
		const OptionInfo *info = cli->values[i].info;
		if (info->type == OPT_ACTION)
			*(int *)((char *)o + info->offset) = 1;
		else if (is_chain(info))
			cli->chain_opt = cli->values[i].value;
		else if (!strcmp(info->name, "config"))
			config = cli->values[i].value;
	}
	if (o->help || o->version || o->list_effects)
		return FX_EXIT_OK;
	if (cli->chain_opt && cli->chain_words)
		return fail(e, "the chain is given twice (--chain and an "
		               "argument)");
	if (config) {
		if (!(o->config = strdup(config)))
			return fail(e, "out of memory");
		if ((rc = load_file(o, config, chain, e)) != FX_EXIT_OK)
			return rc;
	}
	if ((rc = apply_cli(o, cli, e)) != FX_EXIT_OK)
		return rc;
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
		snprintf(o->chain_origin, sizeof o->chain_origin,
		         "the default");
	}
	if (!chain->text || !chain->source)
		return fail(e, "out of memory");
	FxSpecError serr;
	if (fx_spec_parse(chain->text, chain->source, &o->spec, &serr) != FX_OK)
		return fail(e, "%s", serr.message);
	if (!o->inputs)
		o->inputs = o->channels;
	if (!o->outputs)
		o->outputs = o->channels;
	return FX_EXIT_OK;
}

int fx_options_load(FxOptions *o, int argc, char *const argv[], char *err,
                    size_t err_size)
{
	set_defaults(o);
	Err e = {err, err_size, NULL, 0};
	if (err_size)
		err[0] = '\0';
	if (!o->name || !o->osc_bind)
		return fail(&e, "out of memory");
	Cli cli = {0};
	ChainText chain = {0};
	int rc = load(o, &cli, argc, argv, &chain, &e);
	free(cli.values);
	free(cli.chain_words);
	free(chain.text);
	free(chain.source);
	return rc;
}

void fx_options_free(FxOptions *o)
{
	free(o->name);
	free(o->config);
	list_clear(&o->connect_in);
	list_clear(&o->connect_out);
	list_clear(&o->osc_target);
	list_clear(&o->alias);
	free(o->osc_bind);
	free(o->osc_allow);
	free(o->preset_dir);
	free(o->state_file);
	o->name = o->config = o->osc_bind = o->osc_allow = NULL;
	o->preset_dir = o->state_file = NULL;
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

void fx_options_usage(FILE *out)
{
	fputs("Usage: fxd [OPTIONS] [CHAIN]\n"
	      "Runs an effect chain as a JACK client: ports in_1..N feed the "
	      "chain's\nchannels, the chain feeds out_1..M.\n",
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
	fputs("\nCHAIN is '[label:]effect name=value ... | ...' (fxd "
	      "--list-effects);\nthe default is\n ", out);
	print_wrapped(out, FX_DEFAULT_CHAIN, 1);
	fputs("\nChannel routing: with fewer inputs than channels, input i feeds "
	      "every\nchannel c with c % inputs == i, so a mono input feeds "
	      "every channel;\nwith more, inputs are summed the same way. "
	      "Outputs follow the same rule.\n"
	      "\nA config file (-f) takes the long options as 'key = value' "
	      "lines and the\nchain as a [chain] section. SIGHUP reloads it "
	      "and swaps in its chain.\n"
	      "\nExit status: 0 ok, 1 runtime failure, 2 bad usage, config or "
	      "chain,\n3 cannot connect to JACK, 4 client name taken, 5 JACK "
	      "went away,\n130 a second SIGINT during shutdown. See fxd(1).\n",
	      out);
}

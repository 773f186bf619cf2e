/* SPDX-License-Identifier: ISC */
/* Presets and the state file (persist.h). Never realtime. */
#include "daemon/engine/persist.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/conf.h"
#include "daemon/base/fail.h"
#include "daemon/base/safefile.h"

static const char PRESET_EXT[] = ".fxchain";
static const char STATE_MAGIC[] = "fxd-state 1";
/* Presets and the state file are a chain spec or two: anything larger is
 * not one of them. */
static const size_t TEXT_MAX = 1u << 20;

/* ---- presets ---------------------------------------------------------------- */

int fx_preset_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > FX_PRESET_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      ch == '.'))
			return 0;
	}
	return 1;
}

static char *preset_path(FxControl *c, const char *name)
{
	const char *dir = fx_control_preset_dir(c);
	size_t n = strlen(dir) + strlen(name) + sizeof PRESET_EXT + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s%s", dir, name, PRESET_EXT);
	return p;
}

/* A chain's canonical text and a newline, malloc'd. */
static char *chain_text(const FxChainSpec *spec)
{
	char *chain = fx_spec_format_new(spec);
	char *text = chain ? malloc(strlen(chain) + 2) : NULL;
	if (text)
		strcat(strcpy(text, chain), "\n");
	free(chain);
	return text;
}

FxStatus fx_control_preset_save(FxControl *c, const char *name, char *err,
                                size_t err_size)
{
	if (!fx_preset_name_ok(name))
		return fx_fail(FX_ERR_RANGE, err, err_size,
		               "bad preset name '%.80s' (1-64 of A-Z a-z 0-9 _ "
		               "- ., not starting with '.')",
		               name);
	FxChainSpec spec;
	fx_control_save_spec(c, &spec);
	FxStatus st = fx_make_dirs(fx_control_preset_dir(c), err, err_size);
	if (st != FX_OK)
		return st;
	char *text = chain_text(&spec), *path = preset_path(c, name);
	st = text && path
	             ? fx_safe_file_save(path, "preset", text, strlen(text),
	                                 0666, err, err_size)
	             : fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	free(text);
	free(path);
	return st;
}

FxStatus fx_control_preset_read(FxControl *c, const char *name,
                                FxChainSpec *spec, char *err, size_t err_size)
{
	if (!fx_preset_name_ok(name))
		return fx_fail(FX_ERR_RANGE, err, err_size,
		               "bad preset name '%.80s'", name);
	char *path = preset_path(c, name), *text = NULL;
	if (!path)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	FxStatus st = fx_safe_read_text(path, "preset", TEXT_MAX, &text, NULL,
	                                err, err_size);
	if (st != FX_OK && errno == ENOENT)
		fx_fail(st, err, err_size, "no preset '%s'", name);
	free(path);
	if (st != FX_OK)
		return st;
	FxSpecError e;
	st = fx_spec_parse(text, name, spec, &e);
	free(text);
	if (st != FX_OK)
		return fx_fail(st, err, err_size, "%s", e.message);
	return FX_OK;
}

FxStatus fx_control_preset_load(FxControl *c, const char *name, char *err,
                                size_t err_size)
{
	FxChainSpec spec;
	FxStatus st = fx_control_preset_read(c, name, &spec, err, err_size);
	return st == FX_OK ? fx_control_apply(c, &spec, err, err_size) : st;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void fx_control_free_list(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int fx_control_preset_list(FxControl *c, char ***names, char *err, size_t err_size)
{
	*names = NULL;
	const char *dir = fx_control_preset_dir(c);
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		fx_fail(FX_ERR_IO, err, err_size, "%s: %s", dir, strerror(errno));
		return -1;
	}
	int n = 0, cap = 0;
	char **list = NULL;
	for (struct dirent *de; (de = readdir(d));) {
		size_t len = strlen(de->d_name), ext = sizeof PRESET_EXT - 1;
		if (len <= ext || strcmp(de->d_name + len - ext, PRESET_EXT))
			continue;
		char *name = strndup(de->d_name, len - ext);
		if (name && !fx_preset_name_ok(name)) {
			free(name);
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			char **more = name ? realloc(list, cap * sizeof *list)
			                   : NULL;
			if (!more) {
				free(name);
				closedir(d);
				fx_control_free_list(list, n);
				fx_fail(FX_ERR_NOMEM, err, err_size,
				        "out of memory");
				return -1;
			}
			list = more;
		}
		list[n++] = name;
	}
	closedir(d);
	if (n)
		qsort(list, (size_t)n, sizeof *list, cmp_str);
	*names = list;
	return n;
}

/* ---- the state file ---------------------------------------------------------- */

/* The state file, written whole (safefile.h):
 *   fxd-state 1
 *   bpm 120
 *   config 5d1f0b0c8e7a2b11
 *   chain hpf:highpass cutoff=80 ... | vol:gain db=0
 *   midi cc 1 7 = /fx/vol/db -30 0
 *   end 0f3a5c7e9b1d2f40
 * "config" is the hash of the configured chain it was saved under, and
 * "end" the FNV-1a hash of every byte before that line: a file cut short
 * or damaged is told from a whole one. fxd before these two lines wrote
 * neither (and ignores them): such a file is read, but not restored. The
 * config line comes before the chain, so a file cut anywhere in the chain
 * still has it and is seen to lack its end. Lines after the chain come from
 * the surface's state hook (fx_control_set_state_hook: MIDI mappings);
 * readers skip lines they do not know, so older files read as before and
 * an older fxd reads newer files. */

/* Parses the chain on line @p no of @p path at its line and column, so that
 * errors point into the file. */
static FxStatus parse_chain_line(const char *chain, int no, int col,
                                 const char *path, FxChainSpec *spec, char *err,
                                 size_t err_size)
{
	char *padded = fx_conf_padded(no, col, chain);
	if (!padded)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	FxSpecError e;
	FxStatus st = fx_spec_parse(padded, path, spec, &e);
	free(padded);
	return st == FX_OK ? FX_OK : fx_fail(st, err, err_size, "%s", e.message);
}

/* Cuts the end line off @p text when there is one, after checking it.
 * Returns 1 if there was a good one, 0 if none, -1 on a bad one. */
static int take_end_line(char *text, size_t len)
{
	if (!len || text[len - 1] != '\n')
		return 0;
	char *start = text + len - 1;
	while (start > text && start[-1] != '\n')
		start--;
	if (strncmp(start, "end ", 4))
		return 0;
	char *e;
	errno = 0;
	unsigned long long sum = strtoull(start + 4, &e, 16);
	if (e != start + 4 + 16 || *e != '\n' || errno)
		return -1;
	if ((uint64_t)sum != fx_text_hash(text, (size_t)(start - text)))
		return -1;
	*start = '\0';
	return 1;
}

/* Reads the file: no file, cannot read and bad content apart (persist.h). */
static FxStatus read_state_text(const char *path, char **text, size_t *len,
                                char *err, size_t err_size)
{
	FxStatus st = fx_safe_read_text(path, "state file", TEXT_MAX, text, len,
	                                err, err_size);
	if (st == FX_OK || st == FX_ERR_SYNTAX)
		return st;
	if (errno == ENOENT)
		return fx_fail(FX_ERR_IO, err, err_size, "no state file '%s'",
		               path);
	/* There, but not to be read: never taken for "none yet". */
	return st == FX_ERR_IO ? FX_ERR_INVALID : st;
}

/* Lines of one key gathered while a state file is parsed. */
typedef struct {
	const char *key; ///< e.g. "midi"; NULL: gather nothing
	char **lines;
	int n, cap;
} Gathered;

/* Keeps @p line's text after "KEY " when its key is @p g's. */
static FxStatus gather(Gathered *g, const char *line)
{
	size_t k = g->key ? strlen(g->key) : 0;
	if (!k || strncmp(line, g->key, k) || line[k] != ' ')
		return FX_OK;
	if (g->n == g->cap) {
		int cap = g->cap ? 2 * g->cap : 8;
		char **more = realloc(g->lines, (size_t)cap * sizeof *more);
		if (!more)
			return FX_ERR_NOMEM;
		g->lines = more;
		g->cap = cap;
	}
	if (!(g->lines[g->n] = strdup(line + k + 1)))
		return FX_ERR_NOMEM;
	g->n++;
	return FX_OK;
}

/* The lines after the first: bpm, config and chain, and those of
 * @p extra's key. */
static FxStatus parse_state(char *text, const char *path, FxState *state,
                            int *have_chain, Gathered *extra, char *err,
                            size_t err_size)
{
	char *line = text, *next;
	for (int no = 1; line; line = next, no++) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		char *end;
		if (no == 1) {
			if (strcmp(line, STATE_MAGIC))
				return fx_fail(FX_ERR_SYNTAX, err, err_size,
				               "%s: not an fxd state file", path);
		} else if (!strncmp(line, "bpm ", 4)) {
			double v = strtod(line + 4, &end);
			if (end == line + 4 || *end || !isfinite(v))
				return fx_fail(FX_ERR_SYNTAX, err, err_size,
				               "%s:%d: bad bpm line", path, no);
			state->bpm = v;
		} else if (!strncmp(line, "config ", 7)) {
			errno = 0;
			state->config_hash = strtoull(line + 7, &end, 16);
			if (end != line + 7 + 16 || *end || errno)
				return fx_fail(FX_ERR_SYNTAX, err, err_size,
				               "%s:%d: bad config line", path,
				               no);
			state->has_config = 1;
		} else if (!strncmp(line, "chain ", 6)) {
			FxStatus st = parse_chain_line(line + 6, no, 7, path,
			                               &state->spec, err,
			                               err_size);
			if (st != FX_OK)
				return st;
			*have_chain = 1;
		} else if (gather(extra, line) != FX_OK) {
			return fx_fail(FX_ERR_NOMEM, err, err_size,
			               "out of memory");
		}
	}
	return FX_OK;
}

static FxStatus load_state(const char *path, FxState *state, Gathered *extra,
                           char *err, size_t err_size)
{
	memset(state, 0, sizeof *state);
	state->bpm = 120;
	char *text;
	size_t len;
	FxStatus st = read_state_text(path, &text, &len, err, err_size);
	if (st != FX_OK)
		return st;
	int ended = take_end_line(text, len), have_chain = 0;
	if (ended < 0)
		st = fx_fail(FX_ERR_SYNTAX, err, err_size,
		             "%s: damaged (its end "
		             "line does not match what comes before)",
		             path);
	else
		st = parse_state(text, path, state, &have_chain, extra, err,
		                 err_size);
	free(text);
	if (st != FX_OK)
		return st;
	if (state->has_config && !ended)
		return fx_fail(FX_ERR_SYNTAX, err, err_size,
		               "%s: cut short (no end line)", path);
	if (ended && !state->has_config)
		return fx_fail(FX_ERR_SYNTAX, err, err_size,
		               "%s: no config line", path);
	if (!have_chain)
		return fx_fail(FX_ERR_SYNTAX, err, err_size,
		               "%s: no chain line", path);
	return FX_OK;
}

FxStatus fx_state_load(const char *path, FxState *state, char *err,
                       size_t err_size)
{
	Gathered none = {0};
	return load_state(path, state, &none, err, err_size);
}

FxStatus fx_state_lines(const char *path, const char *key, char ***lines,
                        int *n, char *err, size_t err_size)
{
	*lines = NULL;
	*n = 0;
	FxState *state = malloc(sizeof *state);
	if (!state)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	Gathered g = {.key = key};
	FxStatus st = load_state(path, state, &g, err, err_size);
	free(state);
	if (st != FX_OK) {
		fx_control_free_list(g.lines, g.n);
		return st;
	}
	*lines = g.lines;
	*n = g.n;
	return FX_OK;
}

FxStatus fx_state_read(const char *path, FxChainSpec *spec, double *bpm,
                       char *err, size_t err_size)
{
	FxState *state = malloc(sizeof *state);
	if (!state)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	FxStatus st = fx_state_load(path, state, err, err_size);
	if (st == FX_OK) {
		*spec = state->spec;
		*bpm = state->bpm;
	}
	free(state);
	return st;
}

FxStateVerdict fx_state_restore_check(const char *path,
                                      const FxChainSpec *configured,
                                      FxState *state, char *why, size_t why_size)
{
	char err[512] = "";
	FxStatus st = fx_state_load(path, state, err, sizeof err);
	if (st == FX_ERR_IO) {
		fx_fail(st, why, why_size,
		        "no state in %s yet: starting from "
		        "the configured chain",
		        path);
		return FX_STATE_MISSING;
	}
	if (st != FX_OK) {
		fx_fail(st, why, why_size,
		        "cannot restore the state: %s; "
		        "starting from the configured chain",
		        err);
		return FX_STATE_DAMAGED;
	}
	if (!state->has_config) {
		fx_fail(st, why, why_size,
		        "%s was written by an older fxd (no "
		        "checksum, no config hash): starting from the "
		        "configured chain",
		        path);
		return FX_STATE_UNVERIFIED;
	}
	if (state->config_hash != fx_chain_hash(configured)) {
		fx_fail(st, why, why_size,
		        "the configured chain changed since "
		        "%s was saved: starting from the configured chain",
		        path);
		return FX_STATE_CONFIG_CHANGED;
	}
	return FX_STATE_RESTORE;
}

/* The state file's text, malloc'd, with @p extra's lines (may be NULL)
 * after the chain. */
static char *state_text(const FxControlSnapshot *snap, const char *extra)
{
	if (!extra)
		extra = "";
	char *chain = fx_spec_format_new(&snap->spec);
	size_t cap = chain ? strlen(chain) + strlen(extra) + 128 : 0;
	char *text = chain ? malloc(cap) : NULL;
	if (text) {
		char tempo[32];
		int n = snprintf(text, cap,
		                 "%s\nbpm %s\nconfig %016" PRIx64
		                 "\nchain %s\n%s",
		                 STATE_MAGIC,
		                 fx_format_number(snap->bpm, tempo, sizeof tempo),
		                 snap->config_hash, chain, extra);
		snprintf(text + n, cap - (size_t)n, "end %016" PRIx64 "\n",
		         fx_text_hash(text, (size_t)n));
	}
	free(chain);
	return text;
}

int fx_control_save_state(FxControl *c, int force, char *err, size_t err_size)
{
	const char *path = fx_control_state_file(c);
	FxControlSnapshot snap;
	if (!path || !fx_control_take_unsaved(c, force, &snap))
		return 0;
	char *extra = NULL;
	FxStatus st = fx_control_state_extra(c, &extra);
	char *text = st == FX_OK ? state_text(&snap, extra) : NULL;
	free(extra);
	st = text ? fx_safe_file_save(path, "state file", text, strlen(text),
	                              0666, err, err_size)
	          : fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	free(text);
	if (st == FX_OK)
		return 0;
	fx_control_keep_unsaved(c, &snap);
	return -1;
}

/* SPDX-License-Identifier: ISC */
/* The config-file walker (conf.h). */
#include "daemon/base/conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/base/safefile.h"
#include "dsp/effect.h"
#include "daemon/base/fail.h"

/* Strips blanks (and a CR) at both ends, in place. */
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

/* Cuts a comment: a '#' or ';' after a blank. */
static void strip_comment(char *s)
{
	for (char *p = s + 1; *p; p++)
		if ((*p == '#' || *p == ';') && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

char *fx_conf_padded(int line, int col, const char *value)
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

FxStatus fx_conf_read(const char *path, char **text, char *err, size_t err_size)
{
	size_t len;
	/* A config file is small; refuse anything absurd. */
	FxStatus st = fx_safe_read_text(path, "config file", 1u << 20, text,
	                                &len, err, err_size);
	if (st != FX_OK)
		return st;
	/* Likely one being written as it is read (an editor's truncate, then
	 * write): never taken for "nothing configured". */
	if (len == strspn(*text, " \t\r\n")) {
		free(*text);
		*text = NULL;
		return fx_fail(FX_ERR_SYNTAX, err, err_size,
		               "config file '%s' is empty", path);
	}
	return FX_OK;
}

FxStatus fx_conf_apply(void *opts, const FxOptInfo *table, int n,
                       const FxConfEntry *e, char *err, size_t err_size)
{
	const FxOptInfo *info = fx_opt_find_long(table, n, e->key,
	                                         strlen(e->key));
	if (info && (info->flags & FX_OPT_CLI_ONLY))
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "'%s' cannot be set in a config file", e->key);
	if (!info) {
		const char *best = fx_opt_suggest(table, n, e->key, 1);
		return best ? fx_fail(FX_ERR_INVALID, err, err_size,
		                      "unknown key '%s' (did you mean '%s'?)",
		                      e->key, best)
		            : fx_fail(FX_ERR_INVALID, err, err_size,
		                      "unknown key '%s'", e->key);
	}
	if (!*e->value)
		return fx_fail(FX_ERR_INVALID, err, err_size, "%s: empty value",
		               e->key);
	return fx_opt_apply(opts, info, e->value, info->name, err, err_size);
}

/* ---- the walk ------------------------------------------------------------- */

typedef struct {
	const FxConfFormat *fmt;
	FxConfText *text;
	char *text_buf, *text_end; ///< the text section's lines, others blank
	int text_section;          ///< the line of its header; 0: none
	const char *section;       ///< the one the walk is in
	char reason[512];
	int col; ///< the column of the error, when the callback knows it
} Walk;

static int find_section(const Walk *w, const char *name)
{
	for (int k = 0; w->fmt->sections[k]; k++)
		if (w->fmt->any_case ? !strcasecmp(name, w->fmt->sections[k])
		                     : !strcmp(name, w->fmt->sections[k]))
			return k;
	return -1;
}

static FxStatus twice(Walk *w)
{
	return fx_fail(FX_ERR_SYNTAX, w->reason, sizeof w->reason,
	               "the %s is given twice (see line %d)", w->fmt->text_name,
	               w->text->line);
}

/* "[name]", comment and blanks cut. */
static FxStatus header(Walk *w, char *s, int no)
{
	strip_comment(s);
	s = trim(s);
	size_t len = strlen(s);
	if (len < 3 || s[len - 1] != ']')
		return fx_fail(FX_ERR_SYNTAX, w->reason, sizeof w->reason,
		               "expected '[section]', found '%s'", s);
	s[len - 1] = '\0';
	const char *name = trim(s + 1);
	int k = find_section(w, name);
	if (k < 0) {
		FxSuggest sg = fx_suggest_start(name);
		char known[256] = "";
		for (int i = 0; w->fmt->sections[i]; i++) {
			fx_suggest_offer(&sg, w->fmt->sections[i]);
			size_t at = strlen(known);
			snprintf(known + at, sizeof known - at, "%s[%s]",
			         i ? ", " : "", w->fmt->sections[i]);
		}
		return sg.best ? fx_fail(FX_ERR_SYNTAX, w->reason,
		                         sizeof w->reason,
		                         "unknown section '[%s]' (did you mean "
		                         "'[%s]'?)",
		                         name, sg.best)
		               : fx_fail(FX_ERR_SYNTAX, w->reason,
		                         sizeof w->reason,
		                         "unknown section '[%s]' (known: %s)",
		                         name, known);
	}
	w->section = w->fmt->sections[k];
	if (!strcmp(w->section, w->fmt->text_name)) {
		if (w->text->line)
			return twice(w);
		w->text->line = w->text_section = no;
	}
	return FX_OK;
}

/* "key = value": the text's key, or the program's. */
static FxStatus entry(Walk *w, char *raw, char *s, int no)
{
	strip_comment(s);
	char *eq = strchr(s, '=');
	if (!eq)
		return fx_fail(FX_ERR_SYNTAX, w->reason, sizeof w->reason,
		               "expected 'key = value', found '%s'", s);
	*eq = '\0';
	char *key = trim(s), *value = trim(eq + 1);
	if (!strcmp(key, w->fmt->text_name)) {
		if (w->text->line)
			return twice(w);
		w->text->text = fx_conf_padded(no, (int)(value - raw) + 1, value);
		w->text->line = no;
		return w->text->text
		               ? FX_OK
		               : fx_fail(FX_ERR_NOMEM, w->reason,
		                         sizeof w->reason, "out of memory");
	}
	FxConfEntry e = {w->section,
	                 key,
	                 value,
	                 no,
	                 (int)(key - raw) + 1,
	                 (int)(value - raw) + 1,
	                 &w->col};
	return w->fmt->on_entry(w->fmt->ctx, &e, w->reason, sizeof w->reason);
}

/* One line; every line leaves one '\n' in the text buffer, after its own
 * words when it is a line of the text section. */
static FxStatus walk_line(Walk *w, char *raw, int no)
{
	char *s = trim(raw);
	const char *in = w->section;
	if (*s != '[' && w->fmt->skip && !strcmp(in, w->fmt->skip)) {
		*w->text_end++ = '\n';
		return FX_OK;
	}
	if (*s != '[' && !strcmp(in, w->fmt->text_name)) {
		if (*s != ';') /* '#' is the text's own comment */
			w->text_end = stpcpy(w->text_end, raw);
		*w->text_end++ = '\n';
		return FX_OK;
	}
	*w->text_end++ = '\n';
	if (!*s || *s == '#' || *s == ';')
		return FX_OK;
	return *s == '[' ? header(w, s, no) : entry(w, raw, s, no);
}

FxStatus fx_conf_load(const char *path, const FxConfFormat *fmt,
                      FxConfText *text, char *err, size_t err_size)
{
	text->text = NULL;
	text->line = 0;
	char *file;
	FxStatus st = fx_conf_read(path, &file, err, err_size);
	if (st != FX_OK)
		return st;
	Walk w = {.fmt = fmt, .text = text, .section = fmt->sections[0]};
	w.text_buf = w.text_end = calloc(strlen(file) + 2, 1);
	if (!w.text_buf) {
		free(file);
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	}
	int no = 1;
	for (char *line = file, *next; line && st == FX_OK; line = next, no++) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		st = walk_line(&w, line, no);
	}
	*w.text_end = '\0';
	if (st == FX_OK && w.text_section) {
		text->text = w.text_buf;
		w.text_buf = NULL;
	}
	free(w.text_buf);
	free(file);
	if (st == FX_ERR_NOMEM)
		return fx_fail(st, err, err_size, "out of memory");
	if (st != FX_OK) {
		free(text->text);
		text->text = NULL;
		text->line = 0;
		if (w.col > 0)
			return fx_fail(st, err, err_size, "%s:%d:%d: %s", path,
			               no - 1, w.col, w.reason);
		return fx_fail(st, err, err_size, "%s:%d: %s", path, no - 1,
		               w.reason);
	}
	return FX_OK;
}

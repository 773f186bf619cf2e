/* SPDX-License-Identifier: ISC */
/* Option tables (optable.h). */
#include "daemon/base/optable.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsp/effect.h"
#include "daemon/base/fail.h"

FxStatus fx_str_list_add(FxStrList *l, const char *s)
{
	char **items = realloc(l->items, (size_t)(l->n + 1) * sizeof *items);
	if (!items)
		return FX_ERR_NOMEM;
	l->items = items;
	if (!(l->items[l->n] = strdup(s)))
		return FX_ERR_NOMEM;
	l->n++;
	return FX_OK;
}

void fx_str_list_clear(FxStrList *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int fx_opt_parse_bool(const char *v, int *out)
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

FxStatus fx_opt_apply(void *opts, const FxOptInfo *info, const char *value,
                      const char *nm, char *why, size_t size)
{
	char *field = (char *)opts + info->offset;
	char buf[200];
	switch (info->type) {
	case FX_OPT_FLAG:
	case FX_OPT_ACTION: {
		int b = 1;
		if (value && !fx_opt_parse_bool(value, &b))
			return fx_fail(FX_ERR_SYNTAX, why, size,
			               "%s: '%s' is not yes or no", nm, value);
		*(int *)field = b;
		return FX_OK;
	}
	case FX_OPT_INT: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (end == value || *end || errno == ERANGE)
			return fx_fail(FX_ERR_SYNTAX, why, size,
			               "%s: '%s' is not a whole number", nm,
			               value);
		if (v < info->min || v > info->max)
			return fx_fail(FX_ERR_RANGE, why, size,
			               "%s: %s is out of range "
			               "%.0f..%.0f",
			               nm, value, info->min, info->max);
		*(int *)field = (int)v;
		return FX_OK;
	}
	case FX_OPT_DOUBLE: {
		char *end;
		errno = 0;
		double v = strtod(value, &end);
		if (end == value || *end || errno == ERANGE || !isfinite(v))
			return fx_fail(FX_ERR_SYNTAX, why, size,
			               "%s: '%s' is not a number", nm, value);
		if (v < info->min || v > info->max)
			return fx_fail(FX_ERR_RANGE, why, size,
			               "%s: %s is out of range %g..%g", nm,
			               value, info->min, info->max);
		*(double *)field = v;
		return FX_OK;
	}
	case FX_OPT_STRING:
	case FX_OPT_LIST:
		if (!*value)
			return fx_fail(FX_ERR_INVALID, why, size,
			               "%s: empty value", nm);
		if (info->check) {
			const char *bad = info->check(value, buf, sizeof buf);
			if (bad)
				return fx_fail(FX_ERR_INVALID, why, size,
				               "%s: '%s' %s", nm, value, bad);
		}
		if (info->type == FX_OPT_LIST)
			return fx_str_list_add((FxStrList *)field, value)
			               ? fx_fail(FX_ERR_NOMEM, why, size,
			                         "out of memory")
			               : FX_OK;
		free(*(char **)field);
		if (!(*(char **)field = strdup(value)))
			return fx_fail(FX_ERR_NOMEM, why, size, "out of memory");
		return FX_OK;
	}
	return fx_fail(FX_ERR_INVALID, why, size, "%s: internal error", nm);
}

const FxOptInfo *fx_opt_find_long(const FxOptInfo *t, int n, const char *name,
                                  size_t len)
{
	for (int i = 0; i < n; i++)
		if (strlen(t[i].name) == len && !strncmp(t[i].name, name, len))
			return &t[i];
	return NULL;
}

const FxOptInfo *fx_opt_find_short(const FxOptInfo *t, int n, char c)
{
	for (int i = 0; i < n; i++)
		if (t[i].short_name == c)
			return &t[i];
	return NULL;
}

const char *fx_opt_suggest(const FxOptInfo *t, int n, const char *word,
                           int file_keys)
{
	FxSuggest s = fx_suggest_start(word);
	for (int i = 0; i < n; i++)
		if (!file_keys || !(t[i].flags & FX_OPT_CLI_ONLY))
			fx_suggest_offer(&s, t[i].name);
	return s.best;
}

static int takes_value(const FxOptInfo *info)
{
	return info->type != FX_OPT_FLAG && info->type != FX_OPT_ACTION;
}

FxStatus fx_opt_parse_argv(const FxOptInfo *t, int n, int argc,
                           char *const argv[], FxOptOnOption on_option,
                           FxOptOnWord on_word, void *ctx, const char *hint,
                           char *why, size_t size)
{
	FxStatus rc = FX_OK;
	for (int i = 1; i < argc && !rc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			for (i++; i < argc && !rc; i++)
				rc = on_word(ctx, argv[i], why, size);
			break;
		}
		if (a[0] != '-' || !a[1]) {
			rc = on_word(ctx, a, why, size);
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const FxOptInfo *info = fx_opt_find_long(t, n, name, len);
			if (!info) {
				char word[128];
				snprintf(word, sizeof word, "%.*s", (int)len,
				         name);
				const char *best = fx_opt_suggest(t, n, word, 0);
				if (best)
					return fx_fail(
						FX_ERR_INVALID, why, size,
						"unknown option "
						"'--%s' (did you mean '--%s'?)",
						word, best);
				return fx_fail(FX_ERR_INVALID, why, size,
				               "unknown option '--%s'%s", word,
				               hint);
			}
			const char *value = eq ? eq + 1 : NULL;
			if (!takes_value(info) && value)
				return fx_fail(FX_ERR_INVALID, why, size,
				               "option '--%s' takes no "
				               "value",
				               info->name);
			if (takes_value(info) && !value) {
				if (i + 1 >= argc)
					return fx_fail(FX_ERR_INVALID, why, size,
					               "option '--%s' "
					               "needs a value",
					               info->name);
				value = argv[++i];
			}
			rc = on_option(ctx, info, value, why, size);
			continue;
		}
		/* A cluster of short options: -v, -vn NAME, -nNAME, -c4. */
		for (const char *c = a + 1; *c && !rc; c++) {
			const FxOptInfo *info = fx_opt_find_short(t, n, *c);
			if (!info)
				return fx_fail(FX_ERR_INVALID, why, size,
				               "unknown option '-%c'%s", *c,
				               hint);
			if (!takes_value(info)) {
				rc = on_option(ctx, info, NULL, why, size);
				continue;
			}
			const char *value = c[1] ? c + 1 : NULL;
			if (!value) {
				if (i + 1 >= argc)
					return fx_fail(FX_ERR_INVALID, why, size,
					               "option '-%c' needs "
					               "a value",
					               *c);
				value = argv[++i];
			}
			rc = on_option(ctx, info, value, why, size);
			break;
		}
	}
	return rc;
}

void fx_opt_print_wrapped(FILE *out, const char *text, int col)
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

void fx_opt_usage(FILE *out, const FxOptInfo *t, int n)
{
	for (int i = 0; i < n; i++) {
		const FxOptInfo *info = &t[i];
		if (info->group)
			fprintf(out, "\n%s:\n", info->group);
		char left[64];
		snprintf(left, sizeof left, "%c%c%c --%s%s%s",
		         info->short_name ? '-' : ' ',
		         info->short_name ? info->short_name : ' ',
		         info->short_name ? ',' : ' ', info->name,
		         info->arg ? " " : "", info->arg ? info->arg : "");
		fprintf(out, "  %-28s", left);
		fx_opt_print_wrapped(out, info->help, 30);
	}
}

FxStatus fx_opt_given_add(FxOptGiven *given, const FxOptInfo *info,
                          const char *value, char *err, size_t err_size)
{
	struct FxOptGiven *v = realloc(given->values,
	                               (size_t)(given->n + 1) * sizeof *v);
	if (!v)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	given->values = v;
	v[given->n++] = (struct FxOptGiven){info, value};
	return FX_OK;
}

void fx_opt_given_free(FxOptGiven *given)
{
	free(given->values);
	*given = (FxOptGiven){0};
}

/* SPDX-License-Identifier: ISC */
#include "dsp/effect.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scale_names[FX_SCALE_COUNT] = {
	[FX_SCALE_LIN] = "lin",
	[FX_SCALE_LOG] = "log",
	[FX_SCALE_DB] = "dB",
	[FX_SCALE_ENUM] = "enum",
};

const char *fx_scale_name(FxScale scale)
{
	return (unsigned)scale < FX_SCALE_COUNT ? scale_names[scale] : "?";
}

const FxEffectClass *fx_effect_find(const char *name)
{
	for (const FxEffectClass *const *c = fx_effects; *c; c++)
		if (!strcmp((*c)->name, name))
			return *c;
	return NULL;
}

int fx_param_find(const FxEffectClass *cls, const char *name)
{
	for (int i = 0; i < cls->n_params; i++)
		if (!strcmp(cls->params[i].name, name))
			return i;
	return -1;
}

/* Text parameters' texts, never freed: an id stays valid in every copy of
 * a spec. Specs are parsed on the control thread and in fxfile, chains
 * are built beside them, so the table is locked. */
static pthread_mutex_t texts_lock = PTHREAD_MUTEX_INITIALIZER;
static char **texts; ///< texts[id - 1], under texts_lock
static int n_texts, cap_texts;

int fx_text_intern(const char *text)
{
	if (!*text)
		return 0;
	int id = -1;
	pthread_mutex_lock(&texts_lock);
	for (int i = 0; i < n_texts && id < 0; i++)
		if (!strcmp(texts[i], text))
			id = i + 1;
	if (id < 0 && n_texts == cap_texts) {
		int cap = cap_texts ? 2 * cap_texts : 16;
		char **more = realloc(texts, (size_t)cap * sizeof *texts);
		if (more) {
			texts = more;
			cap_texts = cap;
		}
	}
	if (id < 0 && n_texts < cap_texts) {
		size_t len = strlen(text) + 1;
		char *copy = malloc(len);
		if (copy) {
			memcpy(copy, text, len);
			texts[n_texts++] = copy;
			id = n_texts;
		}
	}
	pthread_mutex_unlock(&texts_lock);
	return id;
}

const char *fx_text_of(double id)
{
	if (id == 0)
		return "";
	if (!(id >= 1 && id == nearbyint(id)))
		return NULL;
	const char *text = NULL;
	pthread_mutex_lock(&texts_lock);
	if (id <= n_texts)
		text = texts[(int)id - 1];
	pthread_mutex_unlock(&texts_lock);
	return text;
}

FxStatus fx_param_text(const FxEffectClass *cls, int param, const char *text,
                       double *value, char *why, size_t why_size)
{
	const char *key = cls->params[param].name;
	if (!*text) {
		snprintf(why, why_size, "%s: %s= needs a value", cls->name, key);
		return FX_ERR_SYNTAX;
	}
	char kept[FX_TEXT_MAX + 1];
	const char *final = text;
	if (cls->check_text) {
		char reason[360];
		FxStatus st = cls->check_text(param, text, kept, sizeof kept,
		                              reason, sizeof reason);
		if (st != FX_OK) {
			snprintf(why, why_size, "%s: %s", cls->name, reason);
			return st;
		}
		final = kept;
	}
	FxStatus st = fx_param_parse(&cls->params[param], final, value);
	if (st == FX_ERR_NOMEM)
		snprintf(why, why_size, "%s: out of memory", cls->name);
	else if (st != FX_OK)
		snprintf(why, why_size,
		         "%s: %s=%.*s cannot be written in a chain spec (at "
		         "most %d characters, no blanks, '|' or control "
		         "characters)",
		         cls->name, key, FX_TEXT_MAX, final, FX_TEXT_MAX);
	return st;
}

double fx_param_clamp(const FxParamInfo *p, double v)
{
	if (isnan(v))
		return p->def;
	if (p->flags & FX_PARAM_TEXT)
		return v >= 0 && v == nearbyint(v) ? v : p->def;
	if (p->scale == FX_SCALE_ENUM || (p->flags & FX_PARAM_INTEGER))
		v = nearbyint(v);
	return v < p->min ? p->min : v > p->max ? p->max : v;
}

double fx_param_to_norm(const FxParamInfo *p, double v)
{
	v = fx_param_clamp(p, v);
	if (p->max <= p->min)
		return 0.0;
	if (p->scale == FX_SCALE_LOG)
		return log(v / p->min) / log(p->max / p->min);
	return (v - p->min) / (p->max - p->min);
}

double fx_param_from_norm(const FxParamInfo *p, double norm)
{
	if (isnan(norm))
		return p->def;
	norm = norm < 0.0 ? 0.0 : norm > 1.0 ? 1.0 : norm;
	double v = p->scale == FX_SCALE_LOG ? p->min * pow(p->max / p->min, norm)
	                                    : p->min + norm * (p->max - p->min);
	return fx_param_clamp(p, v);
}

/* A text that one spec word can hold. */
static int is_word_text(const char *text)
{
	if (strlen(text) > FX_TEXT_MAX)
		return 0;
	for (const char *c = text; *c; c++)
		if (*c == '|' || isspace((unsigned char)*c) ||
		    iscntrl((unsigned char)*c))
			return 0;
	return 1;
}

FxStatus fx_param_parse(const FxParamInfo *p, const char *text, double *value)
{
	if (p->flags & FX_PARAM_TEXT) {
		if (!is_word_text(text))
			return FX_ERR_SYNTAX;
		int id = fx_text_intern(text);
		if (id < 0)
			return FX_ERR_NOMEM;
		*value = id;
		return FX_OK;
	}
	if (p->labels)
		for (int i = 0; p->labels[i]; i++)
			if (!strcmp(p->labels[i], text)) {
				*value = i;
				return FX_OK;
			}
	char *end;
	double v = strtod(text, &end);
	if (end == text || *end)
		return FX_ERR_SYNTAX;
	if (!isfinite(v))
		return FX_ERR_NONFINITE;
	*value = v;
	return FX_OK;
}

void fx_param_format(const FxParamInfo *p, double v, char *buf, size_t size)
{
	if (p->flags & FX_PARAM_TEXT) {
		const char *text = fx_text_of(v);
		snprintf(buf, size, "%s", text ? text : "");
		return;
	}
	if (p->labels && v >= 0 && v == nearbyint(v)) {
		int n = 0;
		while (p->labels[n])
			n++;
		if (v < n) {
			snprintf(buf, size, "%s", p->labels[(int)v]);
			return;
		}
	}
	fx_format_number(v, buf, size);
}

const char *fx_format_number(double v, char *buf, size_t size)
{
	if (!isfinite(v)) {
		snprintf(buf, size, "%s",
		         isnan(v) ? "nan"
		         : v < 0  ? "-inf"
		                  : "inf");
		return buf;
	}
	/* The fewest significant digits that read back as v (17 always do). */
	int digits = 1;
	for (;; digits++) {
		snprintf(buf, size, "%.*g", digits, v);
		if (digits == 17 || strtod(buf, NULL) == v)
			break;
	}
	/* %g takes an exponent for a whole number with more places than
	 * digits (100 as 1e+02, 1875000 as 1.875e+06): widen until it has
	 * none. */
	if (strchr(buf, 'e') && fabs(v) >= 1 && fabs(v) < 1e17) {
		char plain[32];
		for (int wide = digits + 1; wide <= 17; wide++) {
			snprintf(plain, sizeof plain, "%.*g", wide, v);
			if (!strchr(plain, 'e') && strtod(plain, NULL) == v) {
				snprintf(buf, size, "%s", plain);
				break;
			}
		}
	}
	return buf;
}

/* Levenshtein distance, bounded to names and URIs. */
static int edit_distance(const char *a, const char *b)
{
	enum { MAX = 256 }; /* plugin URIs are long */
	size_t la = strlen(a), lb = strlen(b);
	if (la >= MAX || lb >= MAX)
		return MAX;
	int row[MAX + 1];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j];
			int cost = a[i - 1] != b[j - 1];
			int best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

FxSuggest fx_suggest_start(const char *word)
{
	return (FxSuggest){word, NULL, 0};
}

void fx_suggest_offer(FxSuggest *s, const char *candidate)
{
	int d = edit_distance(s->word, candidate);
	/* A typo is at most a third of the word, and at least one edit. */
	int limit = (int)strlen(candidate) / 3;
	if (limit < 1)
		limit = 1;
	if (d <= limit && (!s->best || d < s->distance)) {
		s->best = candidate;
		s->distance = d;
	}
}

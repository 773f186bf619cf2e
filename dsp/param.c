/* SPDX-License-Identifier: ISC */
#include "dsp/effect.h"

#include <math.h>
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

double fx_param_clamp(const FxParamInfo *p, double v)
{
	if (isnan(v))
		return p->def;
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

FxStatus fx_param_parse(const FxParamInfo *p, const char *text, double *value)
{
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

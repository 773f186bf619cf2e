/* SPDX-License-Identifier: ISC */
#include "dsp/spec.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/lv2.h"

enum { WORD_MAX = 256, FX_SPEC_WHY = 360 };

typedef struct {
	const char *text, *pos, *source;
	int line, col;           ///< position of pos
	int word_line, word_col; ///< start of the last word read
	FxSpecError *err;
} Parser;

static FxStatus fail(Parser *p, FxStatus st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static FxStatus fail(Parser *p, FxStatus st, const char *fmt, ...)
{
	if (!p->err)
		return st;
	char reason[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	p->err->line = p->word_line;
	p->err->column = p->word_col;
	p->err->status = st;
	snprintf(p->err->message, sizeof p->err->message, "%s:%d:%d: %s",
	         p->source, p->word_line, p->word_col, reason);
	return st;
}

static void advance(Parser *p)
{
	if (*p->pos == '\n') {
		p->line++;
		p->col = 1;
	} else {
		p->col++;
	}
	p->pos++;
}

/* Skips blanks and '#' comments; stops at '|', a word or the end. */
static void skip_space(Parser *p)
{
	for (;;) {
		if (*p->pos == '#') {
			while (*p->pos && *p->pos != '\n')
				advance(p);
		} else if (*p->pos && isspace((unsigned char)*p->pos)) {
			advance(p);
		} else {
			return;
		}
	}
}

/* A '#' inside a word is part of it (plugin URIs such as
 * http://gareus.org/oss/lv2/fil4#stereo); one that begins a word starts a
 * comment, which skip_space has already passed. */
static int is_word_char(char c)
{
	return c && c != '|' && !isspace((unsigned char)c);
}

/* Skips to the next word and marks where it starts (for messages);
 * 0 when none follows in this slot. */
static int begin_word(Parser *p)
{
	skip_space(p);
	p->word_line = p->line;
	p->word_col = p->col;
	return is_word_char(*p->pos);
}

/* Reads one word into buf; returns its length, or -1 if too long. */
static int read_word(Parser *p, char *buf)
{
	p->word_line = p->line;
	p->word_col = p->col;
	int n = 0;
	while (is_word_char(*p->pos)) {
		if (n == WORD_MAX - 1)
			return -1;
		buf[n++] = *p->pos;
		advance(p);
	}
	buf[n] = '\0';
	return n;
}

static int valid_label(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* "lv2 uri=URI": the plugin's class, built on first use. */
static FxStatus parse_plugin(Parser *p, FxSlotSpec *slot)
{
	char word[WORD_MAX];
	if (!begin_word(p))
		return fail(p, FX_ERR_SYNTAX,
		            "%s: uri=URI must follow, naming the plugin",
		            FX_LV2_EFFECT);
	if (read_word(p, word) < 0)
		return fail(p, FX_ERR_SYNTAX, "word longer than %d characters",
		            WORD_MAX - 1);
	if (strncmp(word, "uri=", 4) || !word[4])
		return fail(p, FX_ERR_SYNTAX,
		            "%s: uri=URI must follow, naming the plugin, not "
		            "'%s'",
		            FX_LV2_EFFECT, word);
	char why[FX_SPEC_WHY];
	slot->cls = fx_lv2_class(word + 4, why, sizeof why);
	if (!slot->cls)
		return fail(p, FX_ERR_UNKNOWN_EFFECT, "%s: %s", FX_LV2_EFFECT,
		            why);
	return FX_OK;
}

static FxStatus parse_effect(Parser *p, char *word, FxChainSpec *spec,
                             FxSlotSpec *slot)
{
	char *name = word, *colon = strchr(word, ':');
	if (colon) {
		*colon = '\0';
		name = colon + 1;
		if (!valid_label(word))
			return fail(p, FX_ERR_SYNTAX,
			            "bad label '%s' (use a letter, then letters, "
			            "digits, '_' or '-')",
			            word);
		if (strlen(word) >= FX_LABEL_MAX)
			return fail(p, FX_ERR_SYNTAX,
			            "label '%s' is longer than %d characters",
			            word, FX_LABEL_MAX - 1);
		if (fx_spec_find_slot(spec, word) >= 0)
			return fail(p, FX_ERR_SYNTAX,
			            "label '%s' is used twice", word);
		strcpy(slot->label, word);
	}
	if (!*name)
		return fail(p, FX_ERR_SYNTAX, "missing effect name after '%s:'",
		            word);
	if (!strcmp(name, FX_LV2_EFFECT))
		slot->cls = NULL;
	else
		slot->cls = fx_effect_find(name);
	if (!slot->cls && !strcmp(name, FX_LV2_EFFECT)) {
		FxStatus st = parse_plugin(p, slot);
		if (st != FX_OK)
			return st;
	} else if (!slot->cls) {
		FxSuggest s = fx_suggest_start(name);
		for (const FxEffectClass *const *c = fx_effects; *c; c++)
			fx_suggest_offer(&s, (*c)->name);
		fx_suggest_offer(&s, FX_LV2_EFFECT);
		if (s.best)
			return fail(p, FX_ERR_UNKNOWN_EFFECT,
			            "unknown effect '%s' (did you mean '%s'?)",
			            name, s.best);
		return fail(p, FX_ERR_UNKNOWN_EFFECT,
		            "unknown effect '%s' (fxd --list-effects lists them)",
		            name);
	}
	for (int i = 0; i < slot->cls->n_params; i++)
		slot->values[i] = slot->cls->params[i].def;
	return FX_OK;
}

static FxStatus parse_bypass(Parser *p, const char *value, FxSlotSpec *slot)
{
	static const char *const names[][2] = {
		{"0", "1"}, {"off", "on"}, {"false", "true"}, {"no", "yes"}};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		for (int v = 0; v < 2; v++)
			if (!strcmp(value, names[i][v])) {
				slot->bypass = v;
				return FX_OK;
			}
	return fail(p, FX_ERR_SYNTAX, "%s: bypass must be 0 or 1, not '%s'",
	            slot->cls->name, value);
}

/* "name=TEXT" for a text parameter: the class checks the text (a file
 * that exists and reads) and may rewrite it (an absolute path); the slot
 * keeps its interned id. */
static FxStatus parse_text(Parser *p, FxSlotSpec *slot, int i, const char *text)
{
	char why[FX_SPEC_WHY];
	FxStatus st = fx_param_text(slot->cls, i, text, &slot->values[i], why,
	                            sizeof why);
	return st == FX_OK ? FX_OK : fail(p, st, "%s", why);
}

static FxStatus parse_assignment(Parser *p, char *word, FxSlotSpec *slot,
                                 unsigned *seen)
{
	const FxEffectClass *cls = slot->cls;
	char *eq = strchr(word, '=');
	if (!eq || eq == word)
		return fail(p, FX_ERR_SYNTAX,
		            "%s: expected name=value, found '%s'", cls->name,
		            word);
	*eq = '\0';
	const char *key = word, *text = eq + 1;
	if (!strcmp(key, "bypass"))
		return parse_bypass(p, text, slot);
	if (cls->uri && !strcmp(key, "uri"))
		return fail(p, FX_ERR_STRUCTURAL,
		            "%s: uri is given once, right after '%s'",
		            cls->name, FX_LV2_EFFECT);
	int i = fx_param_find(cls, key);
	if (i < 0) {
		FxSuggest s = fx_suggest_start(key);
		for (int j = 0; j < cls->n_params; j++)
			fx_suggest_offer(&s, cls->params[j].name);
		if (s.best)
			return fail(
				p, FX_ERR_UNKNOWN_PARAM,
				"%s: unknown parameter '%s' (did you mean '%s'?)",
				cls->name, key, s.best);
		return fail(p, FX_ERR_UNKNOWN_PARAM,
		            "%s: unknown parameter '%s'", cls->name, key);
	}
	const FxParamInfo *pi = &cls->params[i];
	if (*seen & (1u << i))
		return fail(p, FX_ERR_SYNTAX, "%s: %s is given twice",
		            cls->name, key);
	*seen |= 1u << i;
	if (pi->flags & FX_PARAM_TEXT)
		return parse_text(p, slot, i, text);
	double v;
	FxStatus st = fx_param_parse(pi, text, &v);
	if (st == FX_ERR_NONFINITE)
		return fail(p, st, "%s: %s=%s is not a finite number",
		            cls->name, key, text);
	if (st != FX_OK) {
		if (pi->labels) {
			char list[128] = "";
			for (int k = 0; pi->labels[k]; k++) {
				if (k)
					strncat(list, "|",
					        sizeof list - strlen(list) - 1);
				strncat(list, pi->labels[k],
				        sizeof list - strlen(list) - 1);
			}
			return fail(p, st, "%s: %s must be one of %s, not '%s'",
			            cls->name, key, list, text);
		}
		return fail(p, st, "%s: %s=%s is not a number", cls->name, key,
		            text);
	}
	if (v < pi->min || v > pi->max) {
		char lo[32], hi[32];
		fx_param_format(pi, pi->min, lo, sizeof lo);
		fx_param_format(pi, pi->max, hi, sizeof hi);
		return fail(p, FX_ERR_RANGE,
		            "%s: %s=%s is out of range %s..%s%s%s", cls->name,
		            key, text, lo, hi, *pi->unit ? " " : "", pi->unit);
	}
	if ((pi->flags & FX_PARAM_INTEGER) && v != nearbyint(v))
		return fail(p, FX_ERR_RANGE,
		            "%s: %s must be a whole number, not %s", cls->name,
		            key, text);
	slot->values[i] = v;
	return FX_OK;
}

/* "state=TEXT": an LV2 plugin's saved state, one long word (base64), read
 * in place rather than through the word buffer. */
static FxStatus parse_state(Parser *p, FxSlotSpec *slot)
{
	p->word_line = p->line;
	p->word_col = p->col;
	const char *name = slot->cls->name;
	if (slot->saved)
		return fail(p, FX_ERR_SYNTAX, "%s: state is given twice", name);
	for (int i = 0; i < 6; i++)
		advance(p);
	const char *start = p->pos;
	while (is_word_char(*p->pos))
		advance(p);
	char why[FX_SPEC_WHY];
	slot->saved = fx_lv2_state_intern(
		slot->cls, start, (size_t)(p->pos - start), why, sizeof why);
	if (!slot->saved)
		return fail(p, FX_ERR_SYNTAX, "%s: %s", name, why);
	return FX_OK;
}

static FxStatus parse_slot(Parser *p, FxChainSpec *spec)
{
	char word[WORD_MAX];
	if (!begin_word(p))
		return fail(p, FX_ERR_SYNTAX, "empty effect slot");
	if (spec->n_slots == FX_MAX_SLOTS)
		return fail(p, FX_ERR_FULL, "more than %d effects in one chain",
		            FX_MAX_SLOTS);
	FxSlotSpec *slot = &spec->slots[spec->n_slots];
	memset(slot, 0, sizeof *slot);
	if (read_word(p, word) < 0)
		return fail(p, FX_ERR_SYNTAX, "word longer than %d characters",
		            WORD_MAX - 1);
	FxStatus st = parse_effect(p, word, spec, slot);
	if (st != FX_OK)
		return st;
	unsigned seen = 0;
	for (skip_space(p); is_word_char(*p->pos); skip_space(p)) {
		if (slot->cls->save && !strncmp(p->pos, "state=", 6) &&
		    fx_param_find(slot->cls, "state") < 0) {
			if ((st = parse_state(p, slot)) != FX_OK)
				return st;
			continue;
		}
		if (read_word(p, word) < 0)
			return fail(p, FX_ERR_SYNTAX,
			            "word longer than %d characters",
			            WORD_MAX - 1);
		if ((st = parse_assignment(p, word, slot, &seen)) != FX_OK)
			return st;
	}
	for (int i = 0; i < slot->cls->n_params; i++)
		if ((slot->cls->params[i].flags & FX_PARAM_TEXT) &&
		    !(seen & (1u << i)))
			return fail(p, FX_ERR_SYNTAX, "%s: %s= must be given",
			            slot->cls->name, slot->cls->params[i].name);
	spec->n_slots++;
	return FX_OK;
}

FxStatus fx_spec_parse(const char *text, const char *source, FxChainSpec *spec,
                       FxSpecError *err)
{
	Parser p = {text, text, source ? source : "chain", 1, 1, 1, 1, err};
	spec->n_slots = 0;
	skip_space(&p);
	if (!*p.pos)
		return FX_OK; /* an empty chain passes audio through */
	for (;;) {
		FxStatus st = parse_slot(&p, spec);
		if (st != FX_OK)
			return st;
		if (!*p.pos)
			return FX_OK;
		advance(&p); /* the '|' */
	}
}

size_t fx_spec_format(const FxChainSpec *spec, char *buf, size_t size)
{
	size_t len = 0;
#define PUT(...)                                               \
	len += (size_t)snprintf(len < size ? buf + len : NULL, \
	                        len < size ? size - len : 0, __VA_ARGS__)
	if (size)
		buf[0] = '\0';
	for (int s = 0; s < spec->n_slots; s++) {
		const FxSlotSpec *slot = &spec->slots[s];
		PUT("%s%s%s%s", s ? " | " : "", slot->label,
		    *slot->label ? ":" : "", slot->cls->name);
		if (slot->cls->uri)
			PUT(" uri=%s", slot->cls->uri);
		for (int i = 0; i < slot->cls->n_params; i++) {
			char v[FX_TEXT_MAX + 64];
			fx_param_format(&slot->cls->params[i], slot->values[i],
			                v, sizeof v);
			PUT(" %s=%s", slot->cls->params[i].name, v);
		}
		if (slot->bypass)
			PUT(" bypass=1");
		if (slot->saved)
			PUT(" state=%s", slot->saved);
	}
#undef PUT
	return len;
}

char *fx_spec_format_new(const FxChainSpec *spec)
{
	size_t n = fx_spec_format(spec, NULL, 0) + 1;
	char *text = malloc(n);
	if (text)
		fx_spec_format(spec, text, n);
	return text;
}

int fx_spec_find_slot(const FxChainSpec *spec, const char *name)
{
	char *end;
	long i = strtol(name, &end, 10);
	if (*name && !*end && isdigit((unsigned char)*name))
		return i < spec->n_slots ? (int)i : -1;
	for (int s = 0; s < spec->n_slots; s++)
		if (!strcmp(spec->slots[s].label, name))
			return s;
	return -1;
}

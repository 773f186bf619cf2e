/* SPDX-License-Identifier: ISC */
/* MIDI mappings as text, and the table built from them. Not realtime. */
#include "daemon/engine/midi_map_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The source kinds as written, and what each takes. */
static const struct {
	const char *word;
	int has_number; ///< a number after the channel
	int max_number; ///< its largest value
} SOURCES[FX_MIDI_SRC_COUNT] = {
	[FX_MIDI_SRC_CC] = {"cc", 1, 127},
	[FX_MIDI_SRC_CC14] = {"cc14", 1, 31},
	[FX_MIDI_SRC_NOTE] = {"note", 1, 127},
	[FX_MIDI_SRC_PROGRAM] = {"program", 1, 127},
	[FX_MIDI_SRC_BEND] = {"bend", 0, 0},
};

static const char *const MODES[] = {
	[FX_MIDI_MODE_RANGE] = "range",
	[FX_MIDI_MODE_TOGGLE] = "toggle",
	[FX_MIDI_MODE_MOMENTARY] = "momentary",
};

/* Targets that are not parameters. */
static const struct {
	const char *path;
	FxMidiTo to;
} DAEMON_TARGETS[] = {
	{"/fxd/morph", FX_MIDI_TO_MORPH},
	{"/fxd/tap", FX_MIDI_TO_TAP},
	{"/fxd/panic", FX_MIDI_TO_PANIC},
	{"/fxd/mute", FX_MIDI_TO_MUTE},
};

static FxStatus say(char *err, size_t size, FxStatus st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static FxStatus say(char *err, size_t size, FxStatus st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && size)
		vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return st;
}

/* ---- parsing ---------------------------------------------------------------- */

enum { MAX_WORDS = 12 };

typedef struct {
	const char *line;
	int n;
	int start[MAX_WORDS], len[MAX_WORDS];
} Words;

/* Splits at blanks; '=' is a word of its own even when not spaced. */
static int split(const char *line, Words *w)
{
	w->line = line;
	w->n = 0;
	for (int i = 0; line[i];) {
		if (isspace((unsigned char)line[i])) {
			i++;
			continue;
		}
		if (w->n == MAX_WORDS)
			return -1;
		int j = i;
		if (line[i] == '=')
			j++;
		else
			while (line[j] && !isspace((unsigned char)line[j]) &&
			       line[j] != '=')
				j++;
		w->start[w->n] = i;
		w->len[w->n++] = j - i;
		i = j;
	}
	return 0;
}

static int word_is(const Words *w, int i, const char *s)
{
	return i < w->n && (int)strlen(s) == w->len[i] &&
	       !strncmp(w->line + w->start[i], s, (size_t)w->len[i]);
}

static void word_copy(const Words *w, int i, char *buf, size_t size)
{
	snprintf(buf, size, "%.*s", w->len[i], w->line + w->start[i]);
}

static int parse_int(const Words *w, int i, int lo, int hi, int *out)
{
	char buf[32];
	if (i >= w->n || w->len[i] >= (int)sizeof buf)
		return 0;
	word_copy(w, i, buf, sizeof buf);
	char *end;
	long v = strtol(buf, &end, 10);
	if (end == buf || *end || v < lo || v > hi)
		return 0;
	*out = (int)v;
	return 1;
}

static int parse_double(const Words *w, int i, double *out)
{
	char buf[64];
	if (i >= w->n || w->len[i] >= (int)sizeof buf)
		return 0;
	word_copy(w, i, buf, sizeof buf);
	char *end;
	double v = strtod(buf, &end);
	if (end == buf || *end || !isfinite(v))
		return 0;
	*out = v;
	return 1;
}

/* A failure at word @p i (its column), or at the end of the line. */
static FxStatus fail_at(const Words *w, int i, int *col, char *err,
                        size_t err_size, FxStatus st, const char *what)
{
	if (col)
		*col = i < w->n ? w->start[i] + 1 : (int)strlen(w->line) + 1;
	return say(err, err_size, st, "%s", what);
}

/* The options after the target: [MIN MAX] [invert] [toggle|momentary]. */
static FxStatus parse_options(const Words *w, int i, FxMidiMapping *m, int *col,
                              char *err, size_t err_size)
{
	if (i < w->n && parse_double(w, i, &m->min)) {
		if (!parse_double(w, i + 1, &m->max))
			return fail_at(w, i + 1, col, err, err_size,
			               FX_ERR_SYNTAX,
			               "MIN needs a MAX after it (a number)");
		i += 2;
	}
	for (; i < w->n; i++) {
		if (word_is(w, i, "invert")) {
			m->invert = 1;
			continue;
		}
		int mode = -1;
		for (int k = FX_MIDI_MODE_TOGGLE; k <= FX_MIDI_MODE_MOMENTARY; k++)
			if (word_is(w, i, MODES[k]))
				mode = k;
		if (mode < 0)
			return fail_at(w, i, col, err, err_size, FX_ERR_SYNTAX,
			               "expected MIN MAX, 'invert', 'toggle' "
			               "or 'momentary'");
		if (m->source != FX_MIDI_SRC_NOTE && m->source != FX_MIDI_SRC_CC)
			return fail_at(w, i, col, err, err_size, FX_ERR_SYNTAX,
			               "'toggle' and 'momentary' are for notes "
			               "and CCs");
		m->mode = (FxMidiMode)mode;
	}
	return FX_OK;
}

FxStatus fx_midi_mapping_parse(const char *line, FxMidiMapping *m, int *col,
                               char *err, size_t err_size)
{
	Words w;
	*m = (FxMidiMapping){.min = NAN, .max = NAN};
	if (col)
		*col = 1;
	if (split(line, &w) < 0)
		return fail_at(&w, MAX_WORDS - 1, col, err, err_size,
		               FX_ERR_SYNTAX, "too many words for a mapping");
	int kind = -1;
	for (int k = 0; k < FX_MIDI_SRC_COUNT; k++)
		if (word_is(&w, 0, SOURCES[k].word))
			kind = k;
	if (kind < 0)
		return fail_at(&w, 0, col, err, err_size, FX_ERR_SYNTAX,
		               "expected cc, cc14, note, program or bend");
	m->source = (FxMidiSource)kind;
	if (word_is(&w, 1, "*"))
		m->channel = FX_MIDI_ANY_CHANNEL;
	else if (parse_int(&w, 1, 1, 16, &m->channel))
		m->channel--;
	else
		return fail_at(&w, 1, col, err, err_size, FX_ERR_RANGE,
		               "the channel must be 1 to 16, or *");
	int i = 2;
	if (SOURCES[kind].has_number) {
		if (!parse_int(&w, i, 0, SOURCES[kind].max_number, &m->number)) {
			char why[64];
			snprintf(why, sizeof why, "the number must be 0 to %d",
			         SOURCES[kind].max_number);
			return fail_at(&w, i, col, err, err_size, FX_ERR_RANGE,
			               why);
		}
		i++;
	}
	if (!word_is(&w, i, "="))
		return fail_at(&w, i, col, err, err_size, FX_ERR_SYNTAX,
		               "expected '=' before the target");
	i++;
	if (kind == FX_MIDI_SRC_PROGRAM) {
		if (!word_is(&w, i, "preset"))
			return fail_at(&w, i, col, err, err_size, FX_ERR_SYNTAX,
			               "expected 'preset NAME'");
		if (i + 1 >= w.n || w.len[i + 1] >= FX_MIDI_TARGET_MAX)
			return fail_at(&w, i + 1, col, err, err_size,
			               FX_ERR_SYNTAX, "expected a preset name");
		word_copy(&w, i + 1, m->target, sizeof m->target);
		if (i + 2 < w.n)
			return fail_at(&w, i + 2, col, err, err_size,
			               FX_ERR_SYNTAX,
			               "nothing may follow the preset name");
		return FX_OK;
	}
	if (i >= w.n || w.line[w.start[i]] != '/' ||
	    w.len[i] >= FX_MIDI_TARGET_MAX)
		return fail_at(&w, i, col, err, err_size, FX_ERR_SYNTAX,
		               "expected a target address (/fx/SLOT/PARAM, "
		               "/fxd/morph, /fxd/tap, /fxd/panic, /fxd/mute)");
	word_copy(&w, i, m->target, sizeof m->target);
	FxStatus st = parse_options(&w, i + 1, m, col, err, err_size);
	if (st == FX_OK && m->source == FX_MIDI_SRC_NOTE &&
	    m->mode == FX_MIDI_MODE_RANGE)
		m->mode = FX_MIDI_MODE_TOGGLE;
	return st;
}

void fx_midi_mapping_format(const FxMidiMapping *m, char *buf, size_t size)
{
	char ch[16], num[16] = "", range[80] = "";
	if (m->channel == FX_MIDI_ANY_CHANNEL)
		snprintf(ch, sizeof ch, "*");
	else
		snprintf(ch, sizeof ch, "%d", m->channel + 1);
	if (SOURCES[m->source].has_number)
		snprintf(num, sizeof num, " %d", m->number);
	if (m->source == FX_MIDI_SRC_PROGRAM) {
		snprintf(buf, size, "program %s%s = preset %s", ch, num,
		         m->target);
		return;
	}
	if (!isnan(m->min) && !isnan(m->max)) {
		char a[32], b[32];
		snprintf(range, sizeof range, " %s %s",
		         fx_format_number(m->min, a, sizeof a),
		         fx_format_number(m->max, b, sizeof b));
	}
	snprintf(buf, size, "%s %s%s = %s%s%s%s%s", SOURCES[m->source].word, ch,
	         num, m->target, range, m->invert ? " invert" : "",
	         m->mode != FX_MIDI_MODE_RANGE ? " " : "",
	         m->mode != FX_MIDI_MODE_RANGE ? MODES[m->mode] : "");
}

int fx_midi_mapping_same_source(const FxMidiMapping *a, const FxMidiMapping *b)
{
	return a->source == b->source && a->channel == b->channel &&
	       a->number == b->number;
}

/* ---- targets ---------------------------------------------------------------- */

/* Resolves @p m's target in @p spec into @p e (range and curve). */
static FxStatus resolve(const FxMidiMapping *m, const FxChainSpec *spec,
                        FxMidiEntry *e, char *err, size_t err_size)
{
	*e = (FxMidiEntry){.mode = m->mode,
	                   .invert = m->invert,
	                   .lo = 0,
	                   .hi = 1,
	                   .slot = -1,
	                   .param = -1};
	if (m->source == FX_MIDI_SRC_PROGRAM) {
		e->to = FX_MIDI_TO_PRESET;
		return FX_OK;
	}
	for (size_t i = 0; i < sizeof DAEMON_TARGETS / sizeof DAEMON_TARGETS[0];
	     i++)
		if (!strcmp(m->target, DAEMON_TARGETS[i].path)) {
			e->to = DAEMON_TARGETS[i].to;
			goto range;
		}
	char slot[FX_LABEL_MAX + 8], param[64], extra[16] = "";
	int n = 0;
	if (strncmp(m->target, "/fx/", 4) ||
	    sscanf(m->target + 4, "%39[^/]/%63[^/]%n/%15s", slot, param, &n,
	           extra) < 2)
		return say(err, err_size, FX_ERR_SYNTAX,
		           "'%s' is not a target: /fx/SLOT/PARAM[/norm], "
		           "/fx/SLOT/bypass, /fxd/morph, /fxd/tap, /fxd/panic "
		           "or /fxd/mute",
		           m->target);
	int norm = !strcmp(extra, "norm");
	if (*extra && !norm)
		return say(err, err_size, FX_ERR_SYNTAX,
		           "'%s': only /norm may follow a parameter", m->target);
	e->slot = fx_spec_find_slot(spec, slot);
	if (e->slot < 0)
		return say(err, err_size, FX_ERR_RANGE,
		           "'%s': the chain has no slot '%s'", m->target, slot);
	const FxEffectClass *cls = spec->slots[e->slot].cls;
	if (!strcmp(param, "bypass") && !norm) {
		e->to = FX_MIDI_TO_BYPASS;
		goto range;
	}
	e->param = fx_param_find(cls, param);
	if (e->param < 0) {
		FxSuggest s = fx_suggest_start(param);
		for (int i = 0; i < cls->n_params; i++)
			fx_suggest_offer(&s, cls->params[i].name);
		return say(err, err_size, FX_ERR_UNKNOWN_PARAM,
		           "'%s': no parameter '%s' in slot %d (%s)%s%s%s",
		           m->target, param, e->slot, cls->name,
		           s.best ? "; did you mean '" : "",
		           s.best ? s.best : "", s.best ? "'?" : "");
	}
	const FxParamInfo *p = &cls->params[e->param];
	if (p->flags & FX_PARAM_STRUCTURAL)
		return say(err, err_size, FX_ERR_STRUCTURAL,
		           "'%s' rebuilds the chain when it changes; MIDI "
		           "cannot drive it",
		           m->target);
	e->to = FX_MIDI_TO_PARAM;
	e->info = p;
	if (norm) {
		e->curve = FX_MIDI_CURVE_NORM;
	} else {
		e->lo = p->min;
		e->hi = p->max;
		e->curve = p->scale == FX_SCALE_LOG && p->min > 0
		                   ? FX_MIDI_CURVE_LOG
		                   : FX_MIDI_CURVE_LIN;
	}
range:
	if (isnan(m->min))
		return FX_OK;
	double lo = e->lo, hi = e->hi;
	if (m->min < lo || m->min > hi || m->max < lo || m->max > hi) {
		char a[32], b[32];
		return say(err, err_size, FX_ERR_RANGE,
		           "'%s': MIN and MAX must lie in %s..%s", m->target,
		           fx_format_number(lo, a, sizeof a),
		           fx_format_number(hi, b, sizeof b));
	}
	if (e->curve == FX_MIDI_CURVE_LOG && (m->min <= 0 || m->max <= 0))
		return say(err, err_size, FX_ERR_RANGE,
		           "'%s': a logarithmic range must be above 0",
		           m->target);
	e->lo = m->min;
	e->hi = m->max;
	return FX_OK;
}

FxStatus fx_midi_mapping_check(const FxMidiMapping *m, const FxChainSpec *spec,
                               char *err, size_t err_size)
{
	FxMidiEntry e;
	return resolve(m, spec, &e, err, err_size);
}

int fx_midi_mapping_param(const FxMidiMapping *m, const FxChainSpec *spec,
                          int *slot, int *param)
{
	FxMidiEntry e;
	if (resolve(m, spec, &e, NULL, 0) != FX_OK ||
	    (e.to != FX_MIDI_TO_PARAM && e.to != FX_MIDI_TO_BYPASS))
		return 0;
	*slot = e.slot;
	*param = e.to == FX_MIDI_TO_BYPASS ? FX_MAX_PARAMS : e.param;
	return 1;
}

double fx_midi_mapping_position(const FxMidiMapping *m, const FxChainSpec *spec,
                                double value)
{
	FxMidiEntry e;
	if (resolve(m, spec, &e, NULL, 0) != FX_OK || e.to == FX_MIDI_TO_TAP ||
	    e.to == FX_MIDI_TO_PANIC || e.to == FX_MIDI_TO_PRESET || isnan(value))
		return NAN;
	double lo = e.lo, hi = e.hi, v = value;
	if (e.curve == FX_MIDI_CURVE_NORM)
		v = fx_param_to_norm(e.info, v);
	double x;
	if (hi == lo)
		x = v >= hi;
	else if (e.curve == FX_MIDI_CURVE_LOG)
		x = v > 0 ? log(v / lo) / log(hi / lo) : 0;
	else
		x = (v - lo) / (hi - lo);
	x = x < 0 ? 0 : x > 1 ? 1 : x;
	return e.invert ? 1 - x : x;
}

/* ---- the table -------------------------------------------------------------- */

/* Links entry @p entry under its source; `*` is every channel. */
static void link_entry(FxMidiTable *t, const FxMidiMapping *m, int entry)
{
	int from = m->channel == FX_MIDI_ANY_CHANNEL ? 0 : m->channel;
	int to = m->channel == FX_MIDI_ANY_CHANNEL ? FX_MIDI_CHANNELS - 1
	                                           : m->channel;
	for (int ch = from; ch <= to; ch++) {
		int16_t *first = &t->first[m->source][ch][m->number];
		t->links[t->n_links] = (FxMidiLink){entry, FX_MIDI_NO_LINK};
		/* Appended, so one control drives its targets in the
		 * order they were mapped. */
		if (*first == FX_MIDI_NO_LINK) {
			*first = (int16_t)t->n_links;
		} else {
			int at = *first;
			while (t->links[at].next != FX_MIDI_NO_LINK)
				at = t->links[at].next;
			t->links[at].next = t->n_links;
		}
		t->n_links++;
	}
}

FxMidiTable *fx_midi_table_new(const FxMidiMapping *maps, int n,
                               const FxChainSpec *spec, FxMorph *morph,
                               FxStatus *st)
{
	if (n < 0 || n > FX_MIDI_MAX_MAPPINGS) {
		fx_morph_free(morph);
		*st = FX_ERR_INVALID;
		return NULL;
	}
	FxMidiTable *t = calloc(1, sizeof *t);
	if (t) {
		t->entries = calloc((size_t)n + 1, sizeof *t->entries);
		t->links = calloc((size_t)n * FX_MIDI_CHANNELS + 1,
		                  sizeof *t->links);
		t->held = calloc((size_t)n + 1, 1);
	}
	if (!t || !t->entries || !t->links || !t->held) {
		if (t)
			t->morph = morph;
		fx_midi_table_free(t);
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	memset(t->first, 0xff, sizeof t->first); /* FX_MIDI_NO_LINK */
	t->morph = morph;
	for (int i = 0; i < n; i++) {
		FxMidiEntry e;
		if (resolve(&maps[i], spec, &e, NULL, 0) != FX_OK)
			continue; /* not in this chain */
		if (e.to == FX_MIDI_TO_MORPH && !morph)
			continue;
		e.mapping = i;
		t->entries[t->n_entries] = e;
		link_entry(t, &maps[i], t->n_entries++);
	}
	*st = FX_OK;
	return t;
}

void fx_midi_table_free(FxMidiTable *t)
{
	if (!t)
		return;
	fx_morph_free(t->morph);
	free(t->entries);
	free(t->links);
	free(t->held);
	free(t);
}

int fx_midi_table_size(const FxMidiTable *t)
{
	return t ? t->n_entries : 0;
}

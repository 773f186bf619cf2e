/* SPDX-License-Identifier: ISC */
/* Parameter addresses, aliases and argument coercion (params.h). */
#define _GNU_SOURCE
#include "osc/params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bypass is addressed like a parameter: index n_params of a slot. */
static const char BYPASS[] = "bypass";
/* Looking a slot up again after a swap moved it: more than a few swaps
 * during one message is a chain being reloaded in a loop. */
static const int STALE_RETRIES = 4;

typedef struct {
	char *from, *to;
} Alias;

struct FxOscParamsImpl {
	FxControl *control;
	Alias *aliases;
	int n_aliases;
};

/* ---- arguments ------------------------------------------------------------ */

/* The double a float argument stands for: the shortest decimal that reads
 * back as the same float (0.3f is 0.3, not 0.30000001192092896), so the
 * chain, presets and the state file show what the controller sent. */
static double float_value(float f)
{
	char text[32];
	for (int digits = 1; digits <= 9; digits++) {
		snprintf(text, sizeof text, "%.*g", digits, (double)f);
		if (strtof(text, NULL) == f)
			return strtod(text, NULL);
	}
	return f; /* NaN */
}

int fx_osc_arg_number(const char *types, lo_arg **argv, int i, double *out)
{
	char t = types[i];
	if (t == LO_TRUE || t == LO_FALSE) {
		*out = t == LO_TRUE;
		return 1;
	}
	if (t == LO_FLOAT) {
		float f;
		memcpy(&f, argv[i], sizeof f);
		*out = float_value(f);
		return 1;
	}
	if (t != LO_INT32 && t != LO_INT64 && t != LO_DOUBLE)
		return 0;
	*out = (double)lo_hires_val((lo_type)t, argv[i]);
	return 1;
}

const char *fx_osc_arg_string(const char *types, lo_arg **argv, int i)
{
	/* The address itself: liblo's arguments are only 4-byte aligned,
	 * so no member of the lo_arg union is read. */
	return types[i] == LO_STRING || types[i] == LO_SYMBOL
	               ? (const char *)argv[i]
	               : NULL;
}

int fx_osc_one_number(FxOscRequest *req, const char *path, const char *types,
                      lo_arg **argv, int argc, double *v)
{
	if (argc != 1 || !fx_osc_arg_number(types, argv, 0, v)) {
		fx_osc_fail(req, path,
		            argc == 1 ? "expects a number, got type "
		                        "'%c'"
		                      : "expects one number (%d "
		                        "given)",
		            argc == 1 ? types[0] : argc);
		return 0;
	}
	if (!isfinite(*v)) {
		fx_osc_fail(req, path, "not a finite number");
		return 0;
	}
	return 1;
}

/* What a write carries: a number, or text that an enum parameter reads as
 * one of its labels (each matched parameter reads it for itself). */
typedef struct {
	const char *text; ///< NULL: the number
	char type;        ///< the argument's OSC type
	double number;
} Value;

/* The one argument of a write, or a /fxd/fail and 0. */
static int one_value(FxOscRequest *req, const char *path, const char *types,
                     lo_arg **argv, int argc, Value *v)
{
	v->text = argc == 1 ? fx_osc_arg_string(types, argv, 0) : NULL;
	v->type = argc == 1 ? types[0] : 0;
	return v->text ||
	       fx_osc_one_number(req, path, types, argv, argc, &v->number);
}

/* ---- aliases -------------------------------------------------------------- */

int fx_osc_has_pattern(const char *s)
{
	return strpbrk(s, "*?[]{}") != NULL;
}

FxOscParams *fx_osc_params_new(FxControl *control, const char *const *aliases,
                               int n_aliases, FxStatus *st, char *err,
                               size_t err_size)
{
	FxOscParams *p = calloc(1, sizeof *p);
	if (p)
		p->aliases = calloc((size_t)n_aliases + 1, sizeof *p->aliases);
	if (!p || !p->aliases) {
		fx_osc_params_free(p);
		snprintf(err, err_size, "out of memory");
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	p->control = control;
	for (int i = 0; i < n_aliases; i++) {
		const char *a = aliases[i], *eq = strchr(a, '=');
		if (!eq || fx_netaddr_alias_problem(a)) {
			fx_osc_params_free(p);
			snprintf(err, err_size, "bad alias '%s'", a);
			*st = FX_ERR_SYNTAX;
			return NULL;
		}
		p->aliases[i].from = strndup(a, (size_t)(eq - a));
		p->aliases[i].to = strdup(eq + 1);
		p->n_aliases = i + 1;
		if (!p->aliases[i].from || !p->aliases[i].to) {
			fx_osc_params_free(p);
			snprintf(err, err_size, "out of memory");
			*st = FX_ERR_NOMEM;
			return NULL;
		}
	}
	*st = FX_OK;
	return p;
}

void fx_osc_params_free(FxOscParams *p)
{
	if (!p)
		return;
	for (int i = 0; p->aliases && i < p->n_aliases; i++) {
		free(p->aliases[i].from);
		free(p->aliases[i].to);
	}
	free(p->aliases);
	free(p);
}

const char *fx_osc_params_resolve(const FxOscParams *p, const char *path)
{
	for (int a = 0; a < p->n_aliases; a++)
		if (!strcmp(path, p->aliases[a].from))
			return p->aliases[a].to;
	return path;
}

/* ---- addresses ------------------------------------------------------------ */

static void slot_name(const FxChainSpec *spec, int slot, char *buf, size_t size)
{
	if (*spec->slots[slot].label)
		snprintf(buf, size, "%s", spec->slots[slot].label);
	else
		snprintf(buf, size, "%d", slot);
}

static const char *param_name(const FxChainSpec *spec, int slot, int param)
{
	const FxEffectClass *cls = spec->slots[slot].cls;
	return param == cls->n_params ? BYPASS : cls->params[param].name;
}

char *fx_osc_chain_text(const FxChainSpec *spec)
{
	FxChainSpec bare = *spec;
	for (int i = 0; i < bare.n_slots; i++)
		bare.slots[i].saved = NULL;
	return fx_spec_format_new(&bare);
}

void fx_osc_param_path(const FxChainSpec *spec, int slot, int param, int norm,
                       char *buf, size_t size)
{
	char s[FX_LABEL_MAX + 8];
	slot_name(spec, slot, s, sizeof s);
	snprintf(buf, size, "/fx/%s/%s%s", s, param_name(spec, slot, param),
	         norm ? "/norm" : "");
}

void fx_osc_output_path(const FxChainSpec *spec, int slot, int out, char *buf,
                        size_t size)
{
	char s[FX_LABEL_MAX + 8];
	slot_name(spec, slot, s, sizeof s);
	snprintf(buf, size, "/fx/%s/%s", s,
	         spec->slots[slot].cls->outputs[out].name);
}

/* The same address with the slot's index, which names it as well. */
static void index_path(const FxChainSpec *spec, int slot, int param, int norm,
                       char *buf, size_t size)
{
	snprintf(buf, size, "/fx/%d/%s%s", slot, param_name(spec, slot, param),
	         norm ? "/norm" : "");
}

int fx_osc_split_param_path(const char *path, char *slot, char *param, int *norm)
{
	const char *a = path + 4, *b = strchr(a, '/');
	if (!b || b == a || (size_t)(b - a) >= FX_LABEL_MAX + 8)
		return 0;
	memcpy(slot, a, (size_t)(b - a));
	slot[b - a] = '\0';
	b++;
	const char *c = strchr(b, '/');
	size_t len = c ? (size_t)(c - b) : strlen(b);
	if (!len || len >= 64)
		return 0;
	memcpy(param, b, len);
	param[len] = '\0';
	*norm = 0;
	if (c) {
		if (strcmp(c, "/norm"))
			return 0;
		*norm = 1;
	}
	return 1;
}

const char *fx_osc_enum_label(const FxParamInfo *p, double v)
{
	if (!p->labels || v < 0 || v != floor(v))
		return NULL;
	for (int i = 0; p->labels[i]; i++)
		if (i == (int)v)
			return p->labels[i];
	return NULL;
}

static int find_param(const FxEffectClass *cls, const char *name)
{
	if (!strcmp(name, BYPASS))
		return cls->n_params;
	return fx_param_find(cls, name);
}

/* ---- values sent ---------------------------------------------------------- */

static lo_message msg_float(double v)
{
	lo_message m = lo_message_new();
	if (m)
		lo_message_add_float(m, (float)v);
	return m;
}

static lo_message msg_text(double id)
{
	const char *text = fx_text_of(id);
	lo_message m = lo_message_new();
	if (m)
		lo_message_add_string(m, text ? text : "");
	return m;
}

static lo_message msg_int(int v)
{
	lo_message m = lo_message_new();
	if (m)
		lo_message_add_int32(m, v);
	return m;
}

/* Sends the value of one parameter (bit 1: real units, bit 2: /norm) or
 * bypass to @p peer. */
static void send_forms(FxOscTransport *t, const FxOscPeer *peer,
                       const FxChainSpec *spec, int slot, int param, int which)
{
	const FxSlotSpec *s = &spec->slots[slot];
	char path[160];
	if (param == s->cls->n_params) {
		fx_osc_param_path(spec, slot, param, 0, path, sizeof path);
		if (which & 1)
			fx_osc_send_free(t, peer, path, msg_int(s->bypass));
		return;
	}
	const FxParamInfo *p = &s->cls->params[param];
	int text = (p->flags & FX_PARAM_TEXT) != 0;
	if (which & 1) {
		fx_osc_param_path(spec, slot, param, 0, path, sizeof path);
		fx_osc_send_free(t, peer, path,
		                 text ? msg_text(s->values[param])
		                      : msg_float(s->values[param]));
	}
	if ((which & 2) && !text) { /* a text has no /norm form */
		fx_osc_param_path(spec, slot, param, 1, path, sizeof path);
		fx_osc_send_free(t, peer, path,
		                 msg_float(fx_param_to_norm(p, s->values[param])));
	}
}

/* Aliases whose target is this parameter get its value too. */
static void send_aliases(const FxOscParams *p, FxOscTransport *t,
                         const FxOscPeer *peer, const FxChainSpec *spec,
                         int slot, int param)
{
	const FxSlotSpec *s = &spec->slots[slot];
	int is_bypass = param == s->cls->n_params;
	int text = !is_bypass && (s->cls->params[param].flags & FX_PARAM_TEXT);
	for (int a = 0; a < p->n_aliases; a++) {
		/* bypass and texts have no normalised twin */
		for (int norm = 0; norm < (is_bypass || text ? 1 : 2); norm++) {
			char path[160], ipath[160];
			fx_osc_param_path(spec, slot, param, norm, path,
			                  sizeof path);
			index_path(spec, slot, param, norm, ipath, sizeof ipath);
			const char *to = p->aliases[a].to;
			if (strcmp(to, path) && strcmp(to, ipath))
				continue;
			double v = is_bypass ? s->bypass : s->values[param];
			if (norm)
				v = fx_param_to_norm(&s->cls->params[param], v);
			fx_osc_send_free(t, peer, p->aliases[a].from,
			                 is_bypass ? msg_int((int)v)
			                 : text    ? msg_text(v)
			                           : msg_float(v));
		}
	}
}

void fx_osc_params_send_value(FxOscParams *p, FxOscTransport *t,
                              const FxOscPeer *peer, const FxChainSpec *spec,
                              int slot, int param)
{
	send_forms(t, peer, spec, slot, param, 3);
	send_aliases(p, t, peer, spec, slot, param);
}

void fx_osc_params_send_daemon(FxOscParams *p, FxOscTransport *t,
                               const FxOscPeer *peer, const char *path,
                               double v, int is_int)
{
	fx_osc_send_free(t, peer, path, is_int ? msg_int((int)v) : msg_float(v));
	for (int a = 0; a < p->n_aliases; a++)
		if (!strcmp(p->aliases[a].to, path))
			fx_osc_send_free(t, peer, p->aliases[a].from,
			                 is_int ? msg_int((int)v) : msg_float(v));
}

void fx_osc_params_send_state(FxOscParams *p, FxOscTransport *t,
                              const FxOscPeer *peer)
{
	FxChainSpec spec;
	fx_control_get_spec(p->control, &spec);
	char *text = fx_osc_chain_text(&spec);
	if (text) {
		lo_message m = lo_message_new();
		if (m)
			lo_message_add_string(m, text);
		fx_osc_send_free(t, peer, "/fxd/chain", m);
	}
	free(text);
	for (int s = 0; s < spec.n_slots; s++)
		for (int i = 0; i <= spec.slots[s].cls->n_params; i++)
			fx_osc_params_send_value(p, t, peer, &spec, s, i);
	fx_osc_params_send_daemon(p, t, peer, "/fxd/mute",
	                          fx_control_muted(p->control), 1);
	fx_osc_params_send_daemon(p, t, peer, "/fxd/bpm",
	                          fx_control_bpm(p->control), 0);
}

/* ---- writes --------------------------------------------------------------- */

/* @p v as a value of parameter @p param of @p s (n_params: bypass), in
 * real units. NULL, or why not (in @p why). */
static const char *value_of(const FxSlotSpec *s, int param, int norm,
                            const Value *v, double *out, char *why, size_t size)
{
	const FxParamInfo *p = param < s->cls->n_params ? &s->cls->params[param]
	                                                : NULL;
	if (p && (p->flags & FX_PARAM_TEXT)) {
		/* A file's path: checked as the spec parser does; setting it
		 * rebuilds the chain (it is structural). */
		if (norm || !v->text) {
			snprintf(why, size,
			         "%s is text (a path): send a string%s",
			         p->name, norm ? " to it, not to /norm" : "");
			return why;
		}
		return fx_param_text(s->cls, param, v->text, out, why, size) ==
		                       FX_OK
		               ? NULL
		               : why;
	}
	if (!v->text) {
		*out = norm ? fx_param_from_norm(p, v->number) : v->number;
		return NULL;
	}
	if (norm || !p || !p->labels) {
		snprintf(why, size, "expects a number, got type '%c'", v->type);
		return why;
	}
	FxStatus st = fx_param_parse(p, v->text, out);
	if (st == FX_OK && isfinite(*out))
		return NULL;
	size_t n = (size_t)snprintf(why, size,
	                            "'%.40s' is not a number or "
	                            "one of %s's values:",
	                            v->text, p->name);
	for (int i = 0; p->labels[i] && n < size; i++)
		n += (size_t)snprintf(why + n, size - n, "%s %s", i ? "," : "",
		                      p->labels[i]);
	return why;
}

/* Writes one parameter (or bypass) found in the chain of generation
 * @p gen, if it still runs. Returns 0 when a swap came first. */
static int write_value(FxOscParams *p, FxOscRequest *req, const char *path,
                       uint32_t gen, int slot, int param, int is_bypass, double v)
{
	int stale;
	FxStatus st;
	if (is_bypass)
		st = fx_control_set_bypass_at(p->control, gen, slot, v >= 0.5,
		                              req->rx_ns, &stale);
	else
		st = fx_control_set_param_at(p->control, gen, slot, param, v,
		                             req->rx_ns, &stale);
	if (stale)
		return 0;
	if (st != FX_OK)
		fx_osc_fail(req, path, "%s", fx_strerror(st));
	return 1;
}

/* "has no parameter", with the nearest name when there is one. */
static void no_such_param(FxOscRequest *req, const char *path,
                          const FxEffectClass *cls, const char *name)
{
	FxSuggest sg = fx_suggest_start(name);
	for (int p = 0; p < cls->n_params; p++)
		fx_suggest_offer(&sg, cls->params[p].name);
	fx_suggest_offer(&sg, BYPASS);
	if (sg.best && strcmp(sg.best, name))
		fx_osc_fail(req, path,
		            "%s has no parameter '%s' (did you mean "
		            "'%s'?)",
		            cls->name, name, sg.best);
	else
		fx_osc_fail(req, path, "%s has no parameter '%s'", cls->name,
		            name);
}

static int find_output(const FxEffectClass *cls, const char *name)
{
	for (int i = 0; i < cls->n_outputs; i++)
		if (!strcmp(cls->outputs[i].name, name))
			return i;
	return -1;
}

/* A read-only output (a compressor's gain reduction, an LV2 plugin's
 * control output): a query answers its latest value (nil while it has no
 * reading, as a tuner hearing no pitch), a write is refused. */
static void output_value(FxOscParams *p, FxOscRequest *req, const char *path,
                         int slot, int out, int write)
{
	FxChainSpec spec;
	FxEngineSlotStats st[FX_MAX_SLOTS];
	int n = fx_control_slot_stats(p->control, &spec, st, FX_MAX_SLOTS);
	const FxEffectClass *cls = slot < n ? spec.slots[slot].cls : NULL;
	if (!cls || out >= cls->n_outputs)
		fx_osc_fail(req, path, "no such output now (the chain changed)");
	else if (write)
		fx_osc_fail(req, path, "'%s' is a read-only output of %s",
		            cls->outputs[out].name,
		            cls->uri ? cls->uri : cls->name);
	else if (!isfinite(st[slot].outputs[out]))
		fx_osc_reply(req, path, "N"); /* no reading now */
	else
		fx_osc_reply(req, path, "f", (double)st[slot].outputs[out]);
}

/* One parameter by name, in @p spec (generation @p gen); @p v NULL is a
 * query. Returns 0 when a swap came between looking up and writing. */
static int apply_one(FxOscParams *p, FxOscRequest *req, const char *path,
                     const FxChainSpec *spec, uint32_t gen, const char *slot_s,
                     const char *param_s, int norm, const Value *v)
{
	int slot = fx_spec_find_slot(spec, slot_s);
	if (slot < 0) {
		fx_osc_fail(req, path, "no slot '%s' in the chain", slot_s);
		return 1;
	}
	const FxEffectClass *cls = spec->slots[slot].cls;
	int param = find_param(cls, param_s), out = find_output(cls, param_s);
	if (param < 0 && out >= 0 && !norm) {
		output_value(p, req, path, slot, out, v != NULL);
		return 1;
	}
	if (param < 0 || (norm && param == cls->n_params)) {
		no_such_param(req, path, cls, param_s);
		return 1;
	}
	if (norm && (cls->params[param].flags & FX_PARAM_TEXT)) {
		fx_osc_fail(req, path, "%s is text (a path): it has no /norm",
		            cls->params[param].name);
		return 1;
	}
	if (!v) {
		send_forms(req->transport, &req->peer, spec, slot, param,
		           norm ? 2 : 1);
		return 1;
	}
	double x;
	char why[512];
	const char *bad = value_of(&spec->slots[slot], param, norm, v, &x, why,
	                           sizeof why);
	if (bad) {
		fx_osc_fail(req, path, "%s", bad);
		return 1;
	}
	return write_value(p, req, path, gen, slot, param,
	                   param == cls->n_params, x);
}

/* A pattern: each parameter it names is handled once, whether it matched
 * the label form or the index form; a bad value is refused once, not once
 * per match. Returns 0 when a swap came before a write. */
static int apply_pattern(FxOscParams *p, FxOscRequest *req, const char *path,
                         const FxChainSpec *spec, uint32_t gen, int norm,
                         const Value *v)
{
	int matched = 0, bad = 0;
	for (int s = 0; s < spec->n_slots; s++) {
		const FxEffectClass *cls = spec->slots[s].cls;
		for (int i = 0; i <= cls->n_params; i++) {
			if (norm && (i == cls->n_params ||
			             (cls->params[i].flags & FX_PARAM_TEXT)))
				continue;
			char lpath[160], ipath[160];
			fx_osc_param_path(spec, s, i, norm, lpath, sizeof lpath);
			index_path(spec, s, i, norm, ipath, sizeof ipath);
			if (!lo_pattern_match(lpath, path) &&
			    !lo_pattern_match(ipath, path))
				continue;
			matched++;
			if (!v) {
				send_forms(req->transport, &req->peer, spec, s,
				           i, norm ? 2 : 1);
				continue;
			}
			double x;
			char why[512];
			if (value_of(&spec->slots[s], i, norm, v, &x, why,
			             sizeof why)) {
				bad++;
				continue;
			}
			if (!write_value(p, req, path, gen, s, i,
			                 i == cls->n_params, x))
				return 0;
		}
	}
	if (!matched)
		fx_osc_fail(req, path, "the pattern matches no parameter");
	else if (bad)
		fx_osc_fail(req, path,
		            "'%.40s' is not a value of %d of the %d "
		            "parameters it matches",
		            v->text, bad, matched);
	return 1;
}

void fx_osc_params_handle(FxOscParams *p, FxOscRequest *req, const char *path,
                          const char *types, lo_arg **argv, int argc)
{
	char slot_s[FX_LABEL_MAX + 8], param_s[64];
	int norm;
	if (!fx_osc_split_param_path(path, slot_s, param_s, &norm)) {
		fx_osc_fail(req, path,
		            "unknown address (expected "
		            "/fx/<slot>/<param>[/norm])");
		return;
	}
	Value v;
	if (argc && !one_value(req, path, types, argv, argc, &v))
		return;
	/* The slot is looked up in one generation of the chain and written
	 * only while that generation runs: a swap in between (SIGHUP,
	 * /fxd/chain/load) may have moved the label to another index. */
	for (int tries = 0; tries < STALE_RETRIES; tries++) {
		FxChainSpec spec;
		uint32_t gen = fx_control_get_spec_gen(p->control, &spec);
		const Value *val = argc ? &v : NULL;
		int done = fx_osc_has_pattern(path)
		                   ? apply_pattern(p, req, path, &spec, gen,
		                                   norm, val)
		                   : apply_one(p, req, path, &spec, gen, slot_s,
		                               param_s, norm, val);
		if (done)
			return;
	}
	fx_osc_fail(req, path,
	            "the chain was swapped %d times while this was "
	            "being applied: not applied",
	            STALE_RETRIES);
}

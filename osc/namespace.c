/* The OSC namespace (doc/osc.md): /fx/<slot>/<param>[/norm], the /fxd/
 * methods, feedback and the periodic messages to subscribers. */
#define _GNU_SOURCE
#include "osc/osc_impl.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine/persist.h"

/* Bypass is addressed like a parameter: index n_params of a slot. */
static const char BYPASS[] = "bypass";
static const double SYNC_TIMEOUT_S = 2.0;
/* Meters are read this often while anyone subscribes. */
static const double METER_READ_S = 0.02;
static const int INTERVAL_MIN_MS = 20, INTERVAL_MAX_MS = 10000,
                 INTERVAL_DEFAULT_MS = 100;
/* Looking a slot up again after a swap moved it: more than a few swaps
 * during one message is a chain being reloaded in a loop. */
static const int STALE_RETRIES = 4;

typedef void (*Method)(FxOsc *o, const char *path, const char *types,
                       lo_arg **argv, int argc);

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

/* A number from any numeric type or a boolean. 0 if there is none. */
static int arg_number(const char *types, lo_arg **argv, int i, double *out)
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

static const char *arg_string(const char *types, lo_arg **argv, int i)
{
	/* The address itself: liblo's arguments are only 4-byte aligned,
	 * so no member of the lo_arg union is read. */
	return types[i] == LO_STRING || types[i] == LO_SYMBOL
	               ? (const char *)argv[i]
	               : NULL;
}

/* One finite number, or a /fxd/fail and 0. */
static int one_number(FxOsc *o, const char *path, const char *types,
                      lo_arg **argv, int argc, double *v)
{
	if (argc != 1 || !arg_number(types, argv, 0, v)) {
		fx_osc_fail(o, path, argc == 1 ? "expects a number, got type "
		                                 "'%c'"
		                               : "expects one number (%d given)",
		            argc == 1 ? types[0] : argc);
		return 0;
	}
	if (!isfinite(*v)) {
		fx_osc_fail(o, path, "not a finite number");
		return 0;
	}
	return 1;
}

static void send_to(FxOsc *o, const FxPeer *peer, const char *path,
                    lo_message m)
{
	fx_osc_send(o, peer, path, m);
	lo_message_free(m);
}

/* Where a subscriber's messages go. */
static FxPeer sub_peer(const FxSubscriber *s)
{
	return (FxPeer){.addr = s->addr, .tcp = -1};
}

static lo_message msg_float(double v)
{
	lo_message m = lo_message_new();
	lo_message_add_float(m, (float)v);
	return m;
}

static lo_message msg_int(int v)
{
	lo_message m = lo_message_new();
	lo_message_add_int32(m, v);
	return m;
}

static lo_message msg_string(const char *s)
{
	lo_message m = lo_message_new();
	lo_message_add_string(m, s);
	return m;
}

/* ---- parameters ----------------------------------------------------------- */

static void slot_name(const FxChainSpec *spec, int slot, char *buf,
                      size_t size)
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

/* The canonical address of a parameter (or bypass), with "/norm" when
 * @p norm. */
static void canonical(const FxChainSpec *spec, int slot, int param, int norm,
                      char *buf, size_t size)
{
	char s[FX_LABEL_MAX + 8];
	slot_name(spec, slot, s, sizeof s);
	snprintf(buf, size, "/fx/%s/%s%s", s, param_name(spec, slot, param),
	         norm ? "/norm" : "");
}

/* Sends the value of one parameter (both forms) or bypass to @p peer,
 * and to the aliases pointing at it. */
static void send_value(FxOsc *o, const FxPeer *peer, const FxChainSpec *spec,
                       int slot, int param, int which)
{
	const FxSlotSpec *s = &spec->slots[slot];
	char path[160];
	if (param == s->cls->n_params) {
		canonical(spec, slot, param, 0, path, sizeof path);
		if (which & 1)
			send_to(o, peer, path, msg_int(s->bypass));
	} else {
		const FxParamInfo *p = &s->cls->params[param];
		if (which & 1) {
			canonical(spec, slot, param, 0, path, sizeof path);
			send_to(o, peer, path, msg_float(s->values[param]));
		}
		if (which & 2) {
			canonical(spec, slot, param, 1, path, sizeof path);
			send_to(o, peer, path,
			        msg_float(fx_param_to_norm(p, s->values[param])));
		}
	}
}

/* Aliases whose target is this parameter get its value too. */
static void send_aliases(FxOsc *o, const FxPeer *peer,
                         const FxChainSpec *spec, int slot, int param)
{
	const FxSlotSpec *s = &spec->slots[slot];
	int is_bypass = param == s->cls->n_params;
	for (int a = 0; a < o->n_aliases; a++) {
		for (int norm = 0; norm <= !is_bypass; norm++) {
			char path[160], index_path[160];
			canonical(spec, slot, param, norm, path, sizeof path);
			snprintf(index_path, sizeof index_path, "/fx/%d/%s%s",
			         slot, param_name(spec, slot, param),
			         norm ? "/norm" : "");
			const char *to = o->aliases[a].to;
			if (strcmp(to, path) && strcmp(to, index_path))
				continue;
			double v = is_bypass ? s->bypass : s->values[param];
			if (norm)
				v = fx_param_to_norm(&s->cls->params[param], v);
			send_to(o, peer, o->aliases[a].from,
			        is_bypass ? msg_int((int)v) : msg_float(v));
		}
	}
}

/* A daemon-wide value (/fxd/mute, /fxd/bpm), and to its aliases. */
static void send_daemon_value(FxOsc *o, const FxPeer *peer, const char *path,
                              double v, int is_int)
{
	send_to(o, peer, path, is_int ? msg_int((int)v) : msg_float(v));
	for (int a = 0; a < o->n_aliases; a++)
		if (!strcmp(o->aliases[a].to, path))
			send_to(o, peer, o->aliases[a].from,
			        is_int ? msg_int((int)v) : msg_float(v));
}

static void feedback_one(FxOsc *o, const FxChainSpec *spec, int slot,
                         int param)
{
	for (int i = 0; i < o->n_subs; i++) {
		FxPeer peer = sub_peer(&o->subs[i]);
		send_value(o, &peer, spec, slot, param, 3);
		send_aliases(o, &peer, spec, slot, param);
	}
}

static int find_param(const FxEffectClass *cls, const char *name)
{
	if (!strcmp(name, BYPASS))
		return cls->n_params;
	return fx_param_find(cls, name);
}

/* What a write carries: a number, or text that an enum parameter reads as
 * one of its labels (each matched parameter reads it for itself). */
typedef struct {
	const char *text; ///< NULL: the number
	char type;        ///< the argument's OSC type
	double number;
} Value;

/* The one argument of a write, or a /fxd/fail and 0. */
static int one_value(FxOsc *o, const char *path, const char *types,
                     lo_arg **argv, int argc, Value *v)
{
	v->text = argc == 1 ? arg_string(types, argv, 0) : NULL;
	v->type = argc == 1 ? types[0] : 0;
	return v->text || one_number(o, path, types, argv, argc, &v->number);
}

/* @p v as a value of parameter @p param of @p s (n_params: bypass), in
 * real units. NULL, or why not (in @p why). */
static const char *value_of(const FxSlotSpec *s, int param, int norm,
                            const Value *v, double *out, char *why,
                            size_t size)
{
	const FxParamInfo *p =
		param < s->cls->n_params ? &s->cls->params[param] : NULL;
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
	size_t n = (size_t)snprintf(why, size, "'%.40s' is not a number or "
	                            "one of %s's values:", v->text, p->name);
	for (int i = 0; p->labels[i] && n < size; i++)
		n += (size_t)snprintf(why + n, size - n, "%s %s", i ? "," : "",
		                      p->labels[i]);
	return why;
}

/* Writes one parameter (or bypass) found in the chain of generation
 * @p gen, if it still runs. Returns 0 when a swap came first. */
static int write_value(FxOsc *o, const char *path, uint32_t gen, int slot,
                       int param, int is_bypass, double v)
{
	int stale;
	FxStatus st;
	if (is_bypass)
		st = fx_control_set_bypass_at(o->control, gen, slot, v >= 0.5,
		                              o->rx_ns, &stale);
	else
		st = fx_control_set_param_at(o->control, gen, slot, param, v,
		                             o->rx_ns, &stale);
	if (stale)
		return 0;
	if (st != FX_OK)
		fx_osc_fail(o, path, "%s", fx_strerror(st));
	return 1;
}

/* Splits "/fx/A/B[/norm]" into its parts. Returns 0 if it is not one. */
static int split_fx(const char *path, char *slot, char *param, int *norm)
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

static int has_pattern(const char *s)
{
	return strpbrk(s, "*?[]{}") != NULL;
}

/* One parameter by name, in @p spec (generation @p gen); @p v NULL is a
 * query. Returns 0 when a swap came between looking up and writing. */
static int fx_one(FxOsc *o, const char *path, const FxChainSpec *spec,
                  uint32_t gen, const char *slot_s, const char *param_s,
                  int norm, const Value *v)
{
	int slot = fx_spec_find_slot(spec, slot_s);
	if (slot < 0) {
		fx_osc_fail(o, path, "no slot '%s' in the chain", slot_s);
		return 1;
	}
	const FxEffectClass *cls = spec->slots[slot].cls;
	int param = find_param(cls, param_s);
	if (param < 0 || (norm && param == cls->n_params)) {
		FxSuggest sg = fx_suggest_start(param_s);
		for (int p = 0; p < cls->n_params; p++)
			fx_suggest_offer(&sg, cls->params[p].name);
		fx_suggest_offer(&sg, BYPASS);
		if (sg.best && strcmp(sg.best, param_s))
			fx_osc_fail(o, path, "%s has no parameter '%s' "
			            "(did you mean '%s'?)", cls->name, param_s,
			            sg.best);
		else
			fx_osc_fail(o, path, "%s has no parameter '%s'",
			            cls->name, param_s);
		return 1;
	}
	if (!v) {
		FxPeer peer = o->from;
		send_value(o, &peer, spec, slot, param, norm ? 2 : 1);
		return 1;
	}
	double x;
	char why[512];
	const char *bad = value_of(&spec->slots[slot], param, norm, v, &x, why,
	                           sizeof why);
	if (bad) {
		fx_osc_fail(o, path, "%s", bad);
		return 1;
	}
	return write_value(o, path, gen, slot, param, param == cls->n_params,
	                   x);
}

/* A pattern: each parameter it names is handled once, whether it matched
 * the label form or the index form; a bad value is refused once, not once
 * per match. Returns 0 when a swap came before a write. */
static int fx_pattern(FxOsc *o, const char *path, const FxChainSpec *spec,
                      uint32_t gen, int norm, const Value *v)
{
	int matched = 0, bad = 0;
	for (int s = 0; s < spec->n_slots; s++) {
		const FxEffectClass *cls = spec->slots[s].cls;
		for (int p = 0; p <= cls->n_params; p++) {
			if (norm && p == cls->n_params)
				continue;
			char label_path[160], index_path[160];
			canonical(spec, s, p, norm, label_path,
			          sizeof label_path);
			snprintf(index_path, sizeof index_path, "/fx/%d/%s%s", s,
			         param_name(spec, s, p), norm ? "/norm" : "");
			if (!lo_pattern_match(label_path, path) &&
			    !lo_pattern_match(index_path, path))
				continue;
			matched++;
			if (!v) {
				FxPeer peer = o->from;
				send_value(o, &peer, spec, s, p, norm ? 2 : 1);
				continue;
			}
			double x;
			char why[512];
			if (value_of(&spec->slots[s], p, norm, v, &x, why,
			             sizeof why)) {
				bad++;
				continue;
			}
			if (!write_value(o, path, gen, s, p, p == cls->n_params,
			                 x))
				return 0;
		}
	}
	if (!matched)
		fx_osc_fail(o, path, "the pattern matches no parameter");
	else if (bad)
		fx_osc_fail(o, path, "'%.40s' is not a value of %d of the %d "
		            "parameters it matches", v->text, bad, matched);
	return 1;
}

static void fx_method(FxOsc *o, const char *path, const char *types,
                      lo_arg **argv, int argc)
{
	char slot_s[FX_LABEL_MAX + 8], param_s[64];
	int norm;
	if (!split_fx(path, slot_s, param_s, &norm)) {
		fx_osc_fail(o, path, "unknown address (expected "
		                     "/fx/<slot>/<param>[/norm])");
		return;
	}
	Value v;
	if (argc && !one_value(o, path, types, argv, argc, &v))
		return;
	/* The slot is looked up in one generation of the chain and written
	 * only while that generation runs: a swap in between (SIGHUP,
	 * /fxd/chain/load) may have moved the label to another index. */
	for (int tries = 0; tries < STALE_RETRIES; tries++) {
		FxChainSpec spec;
		uint32_t gen = fx_control_get_spec_gen(o->control, &spec);
		const Value *val = argc ? &v : NULL;
		int done = has_pattern(path)
		                   ? fx_pattern(o, path, &spec, gen, norm, val)
		                   : fx_one(o, path, &spec, gen, slot_s,
		                            param_s, norm, val);
		if (done)
			return;
	}
	fx_osc_fail(o, path, "the chain was swapped %d times while this was "
	            "being applied: not applied", STALE_RETRIES);
}

/* ---- introspection -------------------------------------------------------- */

/* The label of an enum parameter's value, or NULL. */
static const char *enum_label(const FxParamInfo *p, double v)
{
	if (!p->labels || v < 0 || v != floor(v))
		return NULL;
	for (int i = 0; p->labels[i]; i++)
		if (i == (int)v)
			return p->labels[i];
	return NULL;
}

/* /fxd/param ,ssffffss; an enum parameter adds the label of its value and
 * then every label, in index order. */
static void send_param_info(FxOsc *o, const FxChainSpec *spec, int slot,
                            int param)
{
	const FxSlotSpec *s = &spec->slots[slot];
	const FxParamInfo *p = &s->cls->params[param];
	char path[160];
	canonical(spec, slot, param, 0, path, sizeof path);
	lo_message m = lo_message_new();
	if (!m)
		return;
	lo_message_add_string(m, path);
	lo_message_add_string(m, s->cls->name);
	lo_message_add_float(m, (float)s->values[param]);
	lo_message_add_float(m, (float)p->min);
	lo_message_add_float(m, (float)p->max);
	lo_message_add_float(m, (float)p->def);
	lo_message_add_string(m, p->unit);
	lo_message_add_string(m, fx_scale_name(p->scale));
	if (p->labels) {
		const char *label = enum_label(p, s->values[param]);
		lo_message_add_string(m, label ? label : "");
		for (int i = 0; p->labels[i]; i++)
			lo_message_add_string(m, p->labels[i]);
	}
	FxPeer peer = o->from;
	send_to(o, &peer, "/fxd/param", m);
}

static void m_list(FxOsc *o, const char *path, const char *types,
                   lo_arg **argv, int argc)
{
	(void)path, (void)types, (void)argv, (void)argc;
	FxChainSpec spec;
	fx_control_get_spec(o->control, &spec);
	int n = 0;
	for (int s = 0; s < spec.n_slots; s++)
		for (int p = 0; p < spec.slots[s].cls->n_params; p++, n++)
			send_param_info(o, &spec, s, p);
	fx_osc_reply(o, "/fxd/list/done", "i", n);
}

static void m_info(FxOsc *o, const char *path, const char *types,
                   lo_arg **argv, int argc)
{
	const char *target = argc == 1 ? arg_string(types, argv, 0) : NULL;
	char slot_s[FX_LABEL_MAX + 8], param_s[64];
	int norm;
	if (!target || strncmp(target, "/fx/", 4) ||
	    !split_fx(target, slot_s, param_s, &norm)) {
		fx_osc_fail(o, path, "expects a parameter path like "
		                     "/fx/lpf/cutoff");
		return;
	}
	FxChainSpec spec;
	fx_control_get_spec(o->control, &spec);
	int slot = fx_spec_find_slot(&spec, slot_s);
	int param = slot < 0 ? -1 : fx_param_find(spec.slots[slot].cls,
	                                          param_s);
	if (param < 0) {
		fx_osc_fail(o, path, "no parameter %s", target);
		return;
	}
	send_param_info(o, &spec, slot, param);
}

typedef struct {
	char *text;
	size_t len, cap;
} Buf;

static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(Buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !b->text)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)n + 1) * 2;
		char *t = realloc(b->text, cap);
		if (!t) {
			free(b->text);
			b->text = NULL;
			return;
		}
		b->text = t;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A JSON string; names here are plain, but a spec may hold anything. */
static void put_json_string(Buf *b, const char *s)
{
	put(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			put(b, "\\%c", ch);
		else if (ch < 32)
			put(b, "\\u%04x", ch);
		else
			put(b, "%c", ch);
	}
	put(b, "\"");
}

/* A JSON number: the shortest text that reads back as the same double. */
static void put_number(Buf *b, double v)
{
	char text[32];
	put(b, "%s", fx_format_number(v, text, sizeof text));
}

/* The namespace as JSON text (malloc'd), or NULL when out of memory. */
static char *namespace_json(const FxChainSpec *spec, size_t *len)
{
	Buf b = {malloc(4096), 0, 4096};
	char *chain = fx_spec_format_new(spec);
	put(&b, "{\"chain\":");
	put_json_string(&b, chain ? chain : "");
	free(chain);
	put(&b, ",\"slots\":[");
	for (int s = 0; s < spec->n_slots; s++) {
		const FxSlotSpec *sl = &spec->slots[s];
		put(&b, "%s{\"index\":%d,\"label\":", s ? "," : "", s);
		put_json_string(&b, sl->label);
		put(&b, ",\"effect\":");
		put_json_string(&b, sl->cls->name);
		put(&b, ",\"bypass\":%s,\"params\":[",
		    sl->bypass ? "true" : "false");
		for (int p = 0; p < sl->cls->n_params; p++) {
			const FxParamInfo *pi = &sl->cls->params[p];
			double v = sl->values[p];
			char cpath[160];
			canonical(spec, s, p, 0, cpath, sizeof cpath);
			put(&b, "%s{\"path\":", p ? "," : "");
			put_json_string(&b, cpath);
			put(&b, ",\"name\":");
			put_json_string(&b, pi->name);
			const double nums[] = {v, fx_param_to_norm(pi, v),
			                       pi->min, pi->max, pi->def};
			static const char *const keys[] = {
				"value", "norm", "min", "max", "default"};
			for (int k = 0; k < 5; k++) {
				put(&b, ",\"%s\":", keys[k]);
				put_number(&b, nums[k]);
			}
			put(&b, ",\"unit\":");
			put_json_string(&b, pi->unit);
			put(&b, ",\"scale\":\"%s\"", fx_scale_name(pi->scale));
			if (pi->labels) {
				const char *label = enum_label(pi, v);
				put(&b, ",\"label\":");
				put_json_string(&b, label ? label : "");
				put(&b, ",\"labels\":[");
				for (int i = 0; pi->labels[i]; i++) {
					put(&b, "%s", i ? "," : "");
					put_json_string(&b, pi->labels[i]);
				}
				put(&b, "]");
			}
			put(&b, "}");
		}
		put(&b, "]}");
	}
	put(&b, "]}");
	*len = b.len;
	return b.text;
}

static void m_json(FxOsc *o, const char *path, const char *types,
                   lo_arg **argv, int argc)
{
	(void)types, (void)argv, (void)argc;
	FxChainSpec spec;
	fx_control_get_spec(o->control, &spec);
	size_t len;
	char *text = namespace_json(&spec, &len);
	/* Parts: small ones over UDP; over TCP one, unless it would be
	 * larger than a packet (32 slots of 16 parameters can be). */
	size_t part = o->from.tcp < 0          ? FX_OSC_JSON_PART
	              : len < FX_OSC_TCP_PART ? len + 1
	                                      : FX_OSC_TCP_PART;
	char *piece = text ? malloc(part + 1) : NULL;
	if (!piece) {
		free(text);
		fx_osc_fail(o, path, "out of memory");
		return;
	}
	int parts = len ? (int)((len + part - 1) / part) : 1;
	for (int i = 0; i < parts; i++) {
		size_t at = (size_t)i * part;
		size_t n = len - at < part ? len - at : part;
		memcpy(piece, text + at, n);
		piece[n] = '\0';
		fx_osc_reply(o, "/fxd/json", "iis", i, parts, piece);
	}
	free(piece);
	free(text);
}

/* ---- stats ---------------------------------------------------------------- */

static void add_kv(lo_message m, const char *key, double v)
{
	lo_message_add_string(m, key);
	lo_message_add_double(m, v);
}

static void add_latency(lo_message m, const char *what,
                        const FxLatencyStats *s)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{"min", offsetof(FxLatencyStats, min)},
		{"median", offsetof(FxLatencyStats, median)},
		{"mean", offsetof(FxLatencyStats, mean)},
		{"p95", offsetof(FxLatencyStats, p95)},
		{"p99", offsetof(FxLatencyStats, p99)},
		{"max", offsetof(FxLatencyStats, max)},
	};
	char key[32];
	snprintf(key, sizeof key, "%s.count", what);
	add_kv(m, key, (double)s->count);
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		snprintf(key, sizeof key, "%s.%s", what, fields[i].name);
		add_kv(m, key, *(const double *)((const char *)s +
		                                 fields[i].offset));
	}
}

static lo_message stats_message(FxOsc *o)
{
	FxEngineMetrics m;
	fx_control_metrics(o->control, &m);
	FxEngineConfig cfg = fx_control_engine_config(o->control);
	FxOscCounters c;
	fx_osc_counters(o, &c);
	lo_message msg = lo_message_new();
	add_latency(msg, "callback", &m.callback);
	add_latency(msg, "worker", &m.worker);
	add_latency(msg, "knob", &m.knob);
	add_kv(msg, "load", m.dsp_load);
	add_kv(msg, "callbacks", (double)m.callbacks);
	add_kv(msg, "chunks", (double)m.chunks);
	add_kv(msg, "underflows", (double)m.underflows);
	add_kv(msg, "late", (double)m.late_dropped);
	add_kv(msg, "xruns", (double)m.xruns);
	add_kv(msg, "nonfinite", (double)m.nonfinite);
	add_kv(msg, "overflows", (double)m.input_overflows);
	add_kv(msg, "osc.received", (double)c.received);
	add_kv(msg, "osc.rejected", (double)c.rejected);
	add_kv(msg, "osc.dropped", (double)c.dropped);
	add_kv(msg, "osc.kernel_drops", (double)c.kernel_drops);
	add_kv(msg, "osc.send_errors", (double)c.send_errors);
	add_kv(msg, "osc.subscribers_unreachable", (double)c.subs_unreachable);
	add_kv(msg, "osc.subscribers_expired", (double)c.subs_expired);
	add_kv(msg, "osc.subscribers_evicted", (double)c.subs_evicted);
	add_kv(msg, "osc.tcp_timed_out", (double)c.tcp_timed_out);
	add_kv(msg, "osc.tcp_evicted", (double)c.tcp_evicted);
	add_kv(msg, "osc.fails_forwarded", (double)c.fails_forwarded);
	add_kv(msg, "osc.fails_skipped", (double)c.fails_skipped);
	add_kv(msg, "osc.lease", o->cfg.lease_s);
	add_kv(msg, "subscribers", o->n_subs);
	add_kv(msg, "rate", cfg.sample_rate);
	add_kv(msg, "period", cfg.period);
	add_kv(msg, "latency", fx_control_latency(o->control));
	return msg;
}

static void m_stats(FxOsc *o, const char *path, const char *types,
                    lo_arg **argv, int argc)
{
	(void)path, (void)types, (void)argv, (void)argc;
	FxPeer peer = o->from;
	send_to(o, &peer, "/fxd/stats", stats_message(o));
}

/* ---- daemon methods ------------------------------------------------------- */

static void done(FxOsc *o, const char *path)
{
	fx_osc_reply(o, "/fxd/done", "s", path);
}

static int no_args(FxOsc *o, const char *path, int argc)
{
	if (argc)
		fx_osc_fail(o, path, "takes no arguments");
	return argc == 0;
}

static void m_ping(FxOsc *o, const char *path, const char *types,
                   lo_arg **argv, int argc)
{
	(void)path, (void)types, (void)argv, (void)argc;
	fx_osc_reply(o, "/fxd/pong", "");
}

static void m_mute(FxOsc *o, const char *path, const char *types,
                   lo_arg **argv, int argc)
{
	double v;
	if (argc == 0)
		fx_osc_reply(o, "/fxd/mute", "i", fx_control_muted(o->control));
	else if (one_number(o, path, types, argv, argc, &v))
		fx_control_mute(o->control, v >= 0.5);
}

/* A button on a tablet sends 1 when pressed and 0 when released: only
 * the press (or a message with no argument) panics. */
static void m_panic(FxOsc *o, const char *path, const char *types,
                    lo_arg **argv, int argc)
{
	double v = 1;
	if (argc && !one_number(o, path, types, argv, argc, &v))
		return;
	if (v < 0.5)
		return;
	fx_control_panic(o->control);
	done(o, path);
}

static void m_reset_state(FxOsc *o, const char *path, const char *types,
                          lo_arg **argv, int argc)
{
	(void)types, (void)argv;
	if (!no_args(o, path, argc))
		return;
	fx_control_reset_state(o->control);
	done(o, path);
}

static void m_reset_metrics(FxOsc *o, const char *path, const char *types,
                            lo_arg **argv, int argc)
{
	(void)types, (void)argv;
	if (!no_args(o, path, argc))
		return;
	fx_control_reset_metrics(o->control);
	done(o, path);
}

static void m_sync(FxOsc *o, const char *path, const char *types,
                   lo_arg **argv, int argc)
{
	double v;
	if (!one_number(o, path, types, argv, argc, &v))
		return;
	if (v < INT32_MIN || v > INT32_MAX || v != floor(v)) {
		fx_osc_fail(o, path, "expects a 32-bit whole number id");
		return;
	}
	int32_t id = (int32_t)v;
	uint32_t point = fx_control_sync_point(o->control);
	if (fx_control_synced(o->control, point)) {
		fx_osc_reply(o, "/fxd/synced", "i", id);
		return;
	}
	if (o->n_syncs == FX_OSC_MAX_SYNCS) {
		fx_osc_fail(o, path, "too many syncs waiting");
		return;
	}
	o->syncs[o->n_syncs++] = (FxPendingSync){
		id, point, o->from, fx_osc_clock(o) + SYNC_TIMEOUT_S};
}

static void m_chain(FxOsc *o, const char *path, const char *types,
                    lo_arg **argv, int argc)
{
	(void)types, (void)argv;
	if (!no_args(o, path, argc))
		return;
	FxChainSpec spec;
	fx_control_get_spec(o->control, &spec);
	char *text = fx_spec_format_new(&spec);
	if (text)
		fx_osc_reply(o, "/fxd/chain", "s", text);
	else
		fx_osc_fail(o, path, "out of memory");
	free(text);
}

static void m_chain_load(FxOsc *o, const char *path, const char *types,
                         lo_arg **argv, int argc)
{
	const char *text = argc == 1 ? arg_string(types, argv, 0) : NULL;
	if (!text) {
		fx_osc_fail(o, path, "expects one string: a chain spec");
		return;
	}
	FxChainSpec spec;
	FxSpecError e;
	if (fx_spec_parse(text, "chain", &spec, &e) != FX_OK) {
		fx_osc_fail(o, path, "%s", e.message);
		return;
	}
	char why[256];
	if (fx_control_swap(o->control, &spec, why, sizeof why) != FX_OK)
		fx_osc_fail(o, path, "cannot run this chain: %s", why);
	else
		done(o, path);
}

static void m_bpm(FxOsc *o, const char *path, const char *types,
                  lo_arg **argv, int argc)
{
	double v;
	if (argc == 0)
		fx_osc_reply(o, "/fxd/bpm", "f", fx_control_bpm(o->control));
	else if (one_number(o, path, types, argv, argc, &v))
		fx_control_set_bpm(o->control, v);
}

static const char *preset_arg(FxOsc *o, const char *path, const char *types,
                              lo_arg **argv, int argc)
{
	const char *name = argc == 1 ? arg_string(types, argv, 0) : NULL;
	if (!name)
		fx_osc_fail(o, path, "expects one string: a preset name");
	return name;
}

static void m_preset_save(FxOsc *o, const char *path, const char *types,
                          lo_arg **argv, int argc)
{
	const char *name = preset_arg(o, path, types, argv, argc);
	char err[512] = "";
	if (!name)
		return;
	if (fx_control_preset_save(o->control, name, err, sizeof err) != FX_OK)
		fx_osc_fail(o, path, "%s", err);
	else
		done(o, path);
}

static void m_preset_load(FxOsc *o, const char *path, const char *types,
                          lo_arg **argv, int argc)
{
	const char *name = preset_arg(o, path, types, argv, argc);
	char err[512] = "";
	if (!name)
		return;
	if (fx_control_preset_load(o->control, name, err, sizeof err) != FX_OK)
		fx_osc_fail(o, path, "%s", err);
	else
		done(o, path);
}

/* The bytes a string argument takes in a message: its type tag and its
 * text, NUL-terminated and padded to four. */
static size_t name_cost(const char *name)
{
	return 1 + ((strlen(name) + 4) & ~(size_t)3);
}

static void m_preset_list(FxOsc *o, const char *path, const char *types,
                          lo_arg **argv, int argc)
{
	(void)types, (void)argv;
	if (!no_args(o, path, argc))
		return;
	char **names, err[512] = "";
	int n = fx_control_preset_list(o->control, &names, err, sizeof err);
	if (n < 0) {
		fx_osc_fail(o, path, "%s", err);
		return;
	}
	/* One message when the list fits one part, as clients before parts
	 * expect; otherwise ,ii s... parts: the part, the number of parts,
	 * then as many names as fit. */
	size_t part = o->from.tcp < 0 ? FX_OSC_JSON_PART : FX_OSC_TCP_PART;
	int parts = 1;
	size_t used = 0;
	for (int i = 0; i < n; i++) {
		size_t cost = name_cost(names[i]);
		if (used && used + cost > part) {
			parts++;
			used = 0;
		}
		used += cost;
	}
	FxPeer peer = o->from;
	for (int p = 0, i = 0; p < parts; p++) {
		lo_message m = lo_message_new();
		if (parts > 1) {
			lo_message_add_int32(m, p);
			lo_message_add_int32(m, parts);
		}
		for (used = 0; i < n; i++) {
			size_t cost = name_cost(names[i]);
			if (used && used + cost > part)
				break;
			used += cost;
			lo_message_add_string(m, names[i]);
		}
		send_to(o, &peer, "/fxd/preset/list", m);
	}
	fx_control_free_list(names, n);
}

/* ---- subscriptions -------------------------------------------------------- */

static int find_sub(FxOsc *o, const struct sockaddr_in *a)
{
	for (int i = 0; i < o->n_subs; i++)
		if (o->subs[i].addr.sin_addr.s_addr == a->sin_addr.s_addr &&
		    o->subs[i].addr.sin_port == a->sin_port)
			return i;
	return -1;
}

static void subscribed(FxOsc *o, const FxSubscriber *s)
{
	char host[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &s->addr.sin_addr, host, sizeof host);
	FxPeer peer = sub_peer(s);
	lo_message m = lo_message_new();
	lo_message_add_string(m, host);
	lo_message_add_int32(m, ntohs(s->addr.sin_port));
	lo_message_add_int32(m, s->interval_ms);
	send_to(o, &peer, "/fxd/subscribed", m);
	fx_osc_send_state(o, &peer);
}

/* Removes subscriber @p i; with @p tell, it gets /fxd/unsubscribed (a
 * live client whose lease ran out or that gave way learns it). */
static void drop_sub(FxOsc *o, int i, int tell)
{
	if (tell) {
		const struct sockaddr_in *a = &o->subs[i].addr;
		char host[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
		lo_message m = lo_message_new();
		lo_message_add_string(m, host);
		lo_message_add_int32(m, ntohs(a->sin_port));
		FxPeer peer = sub_peer(&o->subs[i]);
		send_to(o, &peer, "/fxd/unsubscribed", m);
	}
	o->subs[i] = o->subs[--o->n_subs];
	atomic_store(&o->n_subs_seen, o->n_subs);
}

/* The subscriber that renewed longest ago and is not static, or -1. */
static int stalest_sub(const FxOsc *o)
{
	int at = -1;
	for (int i = 0; i < o->n_subs; i++)
		if (!o->subs[i].is_static &&
		    (at < 0 || o->subs[i].renewed < o->subs[at].renewed))
			at = i;
	return at;
}

int fx_osc_subscribe(FxOsc *o, const struct sockaddr_in *addr,
                     int interval_ms, int is_static)
{
	int i = find_sub(o, addr);
	if (i < 0) {
		/* Clients that quit without a word must not lock new ones
		 * out: the stalest gives way. */
		if (o->n_subs == FX_OSC_MAX_SUBSCRIBERS) {
			int stale = stalest_sub(o);
			if (stale < 0)
				return -1;
			drop_sub(o, stale, 1);
			atomic_fetch_add(&o->subs_evicted, 1);
		}
		i = o->n_subs++;
		memset(&o->subs[i], 0, sizeof o->subs[i]);
		o->subs[i].addr = *addr;
	}
	FxSubscriber *s = &o->subs[i];
	s->interval_ms = interval_ms;
	s->is_static |= is_static;
	s->renewed = fx_osc_clock(o);
	s->next_meter = s->next_stats = 0;
	atomic_store(&o->n_subs_seen, o->n_subs);
	if (!is_static)
		subscribed(o, s);
	return 0;
}

void fx_osc_unreachable(FxOsc *o, const struct sockaddr_in *addr)
{
	int i = find_sub(o, addr);
	if (i < 0 || o->subs[i].is_static)
		return;
	drop_sub(o, i, 0);
	atomic_fetch_add(&o->subs_unreachable, 1);
}

/* Subscriptions not renewed within --osc-lease end. */
static void expire_subs(FxOsc *o, double now)
{
	if (o->cfg.lease_s <= 0)
		return;
	for (int i = 0; i < o->n_subs;) {
		if (o->subs[i].is_static ||
		    now - o->subs[i].renewed < o->cfg.lease_s) {
			i++;
			continue;
		}
		drop_sub(o, i, 1);
		atomic_fetch_add(&o->subs_expired, 1);
	}
}

/* [host port] [interval_ms] into an address and an interval. */
static int subscriber_args(FxOsc *o, const char *path, const char *types,
                           lo_arg **argv, int argc, int want_interval,
                           struct sockaddr_in *addr, int *interval)
{
	*interval = INTERVAL_DEFAULT_MS;
	int at = 0;
	double v;
	if (argc >= 1 && arg_string(types, argv, 0)) {
		const char *host = arg_string(types, argv, 0);
		memset(addr, 0, sizeof *addr);
		addr->sin_family = AF_INET;
		if (inet_pton(AF_INET, host, &addr->sin_addr) != 1) {
			fx_osc_fail(o, path, "host '%s' is not a numeric IPv4 "
			                     "address", host);
			return 0;
		}
		if (argc < 2 || !arg_number(types, argv, 1, &v) || v < 1 ||
		    v > 65535 || v != floor(v)) {
			fx_osc_fail(o, path, "expects a port 1..65535 after "
			                     "the host");
			return 0;
		}
		addr->sin_port = htons((uint16_t)v);
		if (fx_osc_is_self(o, addr)) {
			fx_osc_fail(o, path, "that is fxd's own OSC port");
			return 0;
		}
		at = 2;
	} else {
		if (o->from.tcp >= 0) {
			fx_osc_fail(o, path, "over TCP, give a UDP host and "
			                     "port to send to");
			return 0;
		}
		*addr = o->from.addr;
	}
	if (argc > at) {
		if (!want_interval || argc > at + 1 ||
		    !arg_number(types, argv, at, &v) || !isfinite(v)) {
			fx_osc_fail(o, path, "expects [host port]%s",
			            want_interval ? " [interval_ms]" : "");
			return 0;
		}
		v = v < INTERVAL_MIN_MS ? INTERVAL_MIN_MS
		    : v > INTERVAL_MAX_MS ? INTERVAL_MAX_MS : v;
		*interval = (int)v;
	}
	return 1;
}

static void m_subscribe(FxOsc *o, const char *path, const char *types,
                        lo_arg **argv, int argc)
{
	struct sockaddr_in addr;
	int interval;
	if (!subscriber_args(o, path, types, argv, argc, 1, &addr, &interval))
		return;
	if (fx_osc_subscribe(o, &addr, interval, 0) != 0)
		fx_osc_fail(o, path, "too many subscribers: all %d are "
		            "--osc-targets", FX_OSC_MAX_SUBSCRIBERS);
}

static void m_unsubscribe(FxOsc *o, const char *path, const char *types,
                          lo_arg **argv, int argc)
{
	struct sockaddr_in addr;
	int interval;
	if (!subscriber_args(o, path, types, argv, argc, 0, &addr, &interval))
		return;
	int i = find_sub(o, &addr);
	char host[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
	if (i < 0) {
		fx_osc_fail(o, path, "%s:%d is not subscribed", host,
		            ntohs(addr.sin_port));
		return;
	}
	if (o->subs[i].is_static) {
		fx_osc_fail(o, path, "%s:%d is an --osc-target; it stays",
		            host, ntohs(addr.sin_port));
		return;
	}
	drop_sub(o, i, 0);
	fx_osc_reply(o, "/fxd/unsubscribed", "si", host, ntohs(addr.sin_port));
}

/* ---- dispatch ------------------------------------------------------------- */

static const struct {
	const char *path;
	Method fn;
} methods[] = {
	{"/fxd/ping", m_ping},
	{"/fxd/mute", m_mute},
	{"/fxd/panic", m_panic},
	{"/fxd/reset_state", m_reset_state},
	{"/fxd/reset_metrics", m_reset_metrics},
	{"/fxd/sync", m_sync},
	{"/fxd/list", m_list},
	{"/fxd/info", m_info},
	{"/fxd/json", m_json},
	{"/fxd/stats", m_stats},
	{"/fxd/chain", m_chain},
	{"/fxd/chain/load", m_chain_load},
	{"/fxd/bpm", m_bpm},
	{"/fxd/preset/save", m_preset_save},
	{"/fxd/preset/load", m_preset_load},
	{"/fxd/preset/list", m_preset_list},
	{"/fxd/subscribe", m_subscribe},
	{"/fxd/unsubscribe", m_unsubscribe},
};

/* What fxd itself sends as replies and feedback. Coming in, they are
 * another fxd's (or a loop's) output: answering would start a storm. */
static const char *const replies[] = {
	"/fxd/fail", "/fxd/done", "/fxd/pong", "/fxd/subscribed",
	"/fxd/unsubscribed", "/fxd/synced", "/fxd/param", "/fxd/list/done",
	"/fxd/meters", "/fxd/counters", NULL,
};
/* Queries whose reply has the same address, with arguments. */
static const char *const echoed[] = {
	"/fxd/stats", "/fxd/chain", "/fxd/json", "/fxd/preset/list",
	"/fxd/list", NULL,
};

static int is_reply(const char *path, int argc)
{
	for (int i = 0; replies[i]; i++)
		if (!strcmp(path, replies[i]))
			return 1;
	for (int i = 0; argc && echoed[i]; i++)
		if (!strcmp(path, echoed[i]))
			return 1;
	return 0;
}

static int segments(const char *path)
{
	int n = 0;
	for (; *path; path++)
		n += *path == '/';
	return n;
}

int fx_osc_dispatch(const char *path, const char *types, lo_arg **argv,
                    int argc, lo_message msg, void *user)
{
	FxOsc *o = user;
	(void)msg;
	if (is_reply(path, argc))
		return 0;
	for (int a = 0; a < o->n_aliases; a++)
		if (!strcmp(path, o->aliases[a].from)) {
			path = o->aliases[a].to;
			break;
		}
	if (!strncmp(path, "/fx/", 4)) {
		fx_method(o, path, types, argv, argc);
		return 0;
	}
	int hits = 0;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		/* liblo's '*' crosses '/'; OSC matches part by part. */
		if (!strcmp(path, methods[i].path) ||
		    (has_pattern(path) &&
		     segments(path) == segments(methods[i].path) &&
		     lo_pattern_match(methods[i].path, path))) {
			methods[i].fn(o, methods[i].path, types, argv, argc);
			hits++;
		}
	if (!hits)
		fx_osc_fail(o, path, "unknown address");
	return 0;
}

/* ---- to subscribers ------------------------------------------------------- */

void fx_osc_send_state(FxOsc *o, const FxPeer *to)
{
	FxChainSpec spec;
	fx_control_get_spec(o->control, &spec);
	char *text = fx_spec_format_new(&spec);
	if (text)
		send_to(o, to, "/fxd/chain", msg_string(text));
	free(text);
	for (int s = 0; s < spec.n_slots; s++)
		for (int p = 0; p <= spec.slots[s].cls->n_params; p++) {
			send_value(o, to, &spec, s, p, 3);
			send_aliases(o, to, &spec, s, p);
		}
	send_daemon_value(o, to, "/fxd/mute", fx_control_muted(o->control), 1);
	send_daemon_value(o, to, "/fxd/bpm", fx_control_bpm(o->control), 0);
}

static void flush_feedback(FxOsc *o)
{
	FxChanges ch;
	fx_control_take_changes(o->control, &ch);
	if (!o->n_subs)
		return;
	if (ch.chain) {
		for (int i = 0; i < o->n_subs; i++) {
			FxPeer peer = sub_peer(&o->subs[i]);
			fx_osc_send_state(o, &peer);
		}
		return;
	}
	FxChainSpec spec;
	int have_spec = 0;
	for (int w = 0; w < (int)(sizeof ch.entries / sizeof ch.entries[0]);
	     w++)
		for (uint64_t bits = ch.entries[w]; bits; bits &= bits - 1) {
			int e = w * 64 + __builtin_ctzll(bits);
			if (!have_spec++)
				fx_control_get_spec(o->control, &spec);
			FxParamRef r = fx_param_at(e);
			int slot = r.slot, p = r.param;
			if (slot >= spec.n_slots)
				continue;
			if (p == FX_PARAM_BYPASS)
				p = spec.slots[slot].cls->n_params;
			else if (p >= spec.slots[slot].cls->n_params)
				continue;
			feedback_one(o, &spec, slot, p);
		}
	/* The chain's text holds every value: it follows them, once per
	 * flush however many changed. */
	char *text = have_spec ? fx_spec_format_new(&spec) : NULL;
	for (int i = 0; i < o->n_subs; i++) {
		FxPeer peer = sub_peer(&o->subs[i]);
		if (text)
			send_to(o, &peer, "/fxd/chain", msg_string(text));
		if (ch.mute)
			send_daemon_value(o, &peer, "/fxd/mute",
			                  fx_control_muted(o->control), 1);
		if (ch.bpm)
			send_daemon_value(o, &peer, "/fxd/bpm",
			                  fx_control_bpm(o->control), 0);
	}
	free(text);
}

/* /fxd/fail ,sssii <address> <reason> <sender> <count> <skipped>. */
static void send_fail(FxOsc *o, FxSubscriber *s, const char *address,
                      const char *why, const char *sender, int count)
{
	lo_message m = lo_message_new();
	lo_message_add_string(m, address);
	lo_message_add_string(m, why);
	lo_message_add_string(m, sender);
	lo_message_add_int32(m, count);
	lo_message_add_int32(m, (int32_t)s->fails_skipped);
	FxPeer peer = sub_peer(s);
	send_to(o, &peer, "/fxd/fail", m);
	s->fails_skipped = 0;
	s->fails_in_window++;
	atomic_fetch_add(&o->fails_forwarded, 1);
}

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr &&
	       a->sin_port == b->sin_port;
}

/* Failures since the last flush go to the subscribers too (but not back
 * to the sender, which has its copy): at most FX_OSC_FAILS_PER_S a
 * second each, repeats merged; what is held back is counted and said in
 * the next one forwarded, or on its own once the second is over. */
static void forward_fails(FxOsc *o, double now)
{
	for (int i = 0; i < o->n_subs; i++) {
		FxSubscriber *s = &o->subs[i];
		if (now >= s->fail_window) {
			s->fail_window = now + 1;
			s->fails_in_window = 0;
		}
		for (int f = 0; f < o->n_fails; f++) {
			const FxPendingFail *pf = &o->fails[f];
			int own = pf->peer.tcp < 0 &&
			          same_addr(&pf->peer.addr, &s->addr);
			if (own)
				continue;
			if (s->fails_in_window < FX_OSC_FAILS_PER_S) {
				send_fail(o, s, pf->address, pf->why,
				          pf->sender, 1 + (int)pf->repeats);
				continue;
			}
			s->fails_skipped += 1 + pf->repeats;
			atomic_fetch_add(&o->fails_skipped, 1 + pf->repeats);
		}
		/* More distinct failures than were kept: counted only. */
		s->fails_skipped += o->fails_overflow;
		atomic_fetch_add(&o->fails_skipped, o->fails_overflow);
		int room = s->fails_in_window < FX_OSC_FAILS_PER_S;
		if (s->fails_skipped && room) {
			char why[96];
			snprintf(why, sizeof why, "%u failures were not "
			         "forwarded (at most %d a second)",
			         s->fails_skipped, FX_OSC_FAILS_PER_S);
			send_fail(o, s, "", why, "", 0);
		}
	}
	o->n_fails = 0;
	o->fails_overflow = 0;
}

static void publish(FxOsc *o, double now)
{
	if (now >= o->next_meter_read) {
		o->next_meter_read = now + METER_READ_S;
		float peak[FX_OSC_MAX_PORTS], rms[FX_OSC_MAX_PORTS];
		int n = fx_control_meters(o->control, peak, rms,
		                          FX_OSC_MAX_PORTS);
		for (int i = 0; i < o->n_subs; i++) {
			FxSubscriber *s = &o->subs[i];
			for (int c = 0; c < n; c++) {
				s->peak[c] = peak[c] > s->peak[c] ? peak[c]
				                                  : s->peak[c];
				s->rms2[c] += (double)rms[c] * rms[c];
			}
			s->reads++;
		}
		for (int i = 0; i < o->n_subs; i++) {
			FxSubscriber *s = &o->subs[i];
			if (now < s->next_meter)
				continue;
			s->next_meter = now + s->interval_ms * 1e-3;
			lo_message m = lo_message_new();
			for (int c = 0; c < n; c++) {
				lo_message_add_float(m, s->peak[c]);
				lo_message_add_float(
					m, s->reads ? (float)sqrt(s->rms2[c] /
					                          s->reads)
					            : 0.0f);
				s->peak[c] = 0;
				s->rms2[c] = 0;
			}
			s->reads = 0;
			FxPeer peer = sub_peer(s);
			send_to(o, &peer, "/fxd/meters", m);
		}
	}
	lo_message stats = NULL;
	for (int i = 0; i < o->n_subs; i++) {
		FxSubscriber *s = &o->subs[i];
		if (now < s->next_stats)
			continue;
		double every = s->interval_ms < 1000 ? 1.0
		                                     : s->interval_ms * 1e-3;
		s->next_stats = now + every;
		if (!stats)
			stats = stats_message(o);
		FxPeer peer = sub_peer(s);
		fx_osc_send(o, &peer, "/fxd/stats", stats);
	}
	if (stats)
		lo_message_free(stats);
}

/* /fxd/counters when one of them moved. */
static void publish_counters(FxOsc *o)
{
	FxEngineMetrics m;
	fx_control_counters(o->control, &m);
	uint64_t now[5] = {m.xruns, m.underflows, m.late_dropped, m.nonfinite,
	                   m.input_overflows};
	static const char *const names[5] = {"xruns", "underflows", "late",
	                                     "nonfinite", "overflows"};
	if (!memcmp(now, o->last_counters, sizeof now))
		return;
	memcpy(o->last_counters, now, sizeof now);
	lo_message msg = lo_message_new();
	for (int k = 0; k < 5; k++)
		add_kv(msg, names[k], (double)now[k]);
	for (int i = 0; i < o->n_subs; i++) {
		FxPeer peer = sub_peer(&o->subs[i]);
		fx_osc_send(o, &peer, "/fxd/counters", msg);
	}
	lo_message_free(msg);
}

void fx_osc_tick(FxOsc *o)
{
	double now = fx_osc_clock(o);
	expire_subs(o, now);
	fx_control_poll(o->control);
	for (int i = 0; i < o->n_syncs;) {
		FxPendingSync *s = &o->syncs[i];
		int ok = fx_control_synced(o->control, s->point);
		if (!ok && now < s->deadline) {
			i++;
			continue;
		}
		FxPeer saved = o->from;
		o->from = s->peer;
		if (ok)
			fx_osc_reply(o, "/fxd/synced", "i", s->id);
		else
			fx_osc_fail(o, "/fxd/sync", "timed out: no audio is "
			                            "being processed");
		o->from = saved;
		/* Answered in the order asked. */
		memmove(s, s + 1, (size_t)(--o->n_syncs - i) * sizeof *s);
	}
	if (now >= o->next_feedback) {
		o->next_feedback = now + 1.0 / o->cfg.rate_hz;
		flush_feedback(o);
		forward_fails(o, now);
		if (o->n_subs)
			publish_counters(o);
	}
	if (o->n_subs)
		publish(o, now);
}

/* SPDX-License-Identifier: ISC */
/* The OSCQuery tree (oscquery.h): a snapshot of the chain, the tables and
 * the daemon's values is taken once a request, a tree of nodes is built
 * over it by path, and the node asked for is written with fx_json_new. */
#define _GNU_SOURCE
#include "osc/oscquery.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/json.h"
#include "osc/methods.h"
#include "osc/params.h"

enum {
	PATH_MAX_LEN = 160, ///< as fx_osc_param_path's callers size it
	MAX_OUTPUTS = 64,   ///< output ports whose meters TYPE spells
};

typedef enum {
	N_CONTAINER, ///< the root, /fx, /fxd/preset...: CONTENTS only
	N_SLOT,
	N_PARAM,
	N_NORM,
	N_BYPASS,
	N_OUTPUT, ///< a slot's read-only output (an LV2 control output)
	N_FXD,    ///< a method, a daemon value or an output (or several)
} Kind;

typedef struct Tree Tree;

/* A daemon-wide value that is a method too. */
typedef struct {
	const char *path;
	const char *type; ///< "i" or "f"
	double (*read)(const Tree *t);
	int ranged; ///< RANGE min..max
	double min, max;
} DaemonValue;

static double read_mute(const Tree *t);
static double read_bpm(const Tree *t);

/* /fxd/bpm's range is the control surface's clamp, not a table's: none
 * is claimed. */
static const DaemonValue DAEMON_VALUES[] = {
	{"/fxd/mute", "i", read_mute, 1, 0, 1},
	{"/fxd/bpm", "f", read_bpm, 0, 0, 0},
};

/* What fxd sends to subscribers, readable here. */
typedef struct {
	const char *path;
	const char *doc; ///< NULL: the method's
} Output;

static const Output OUTPUTS[] = {
	{"/fxd/meters", "peak and RMS (linear, 1 is full scale) of each output "
                        "port, to subscribers"},
	{"/fxd/counters", "xruns, underflows, late, nonfinite and overflows as "
                          "name/value pairs, to subscribers when one moves"},
	{"/fxd/stats", NULL},
};

typedef struct {
	char path[PATH_MAX_LEN];
	Kind kind;
	int slot, param; ///< N_SLOT, N_PARAM, N_NORM, N_BYPASS, N_OUTPUT
	const FxOscMethod *method;
	const DaemonValue *value;
	const Output *output;
	int first, last, next; ///< children and sibling (indices, -1: none)
} Node;

/* One request's snapshot and tree. */
struct Tree {
	const FxOscQueryHost *host;
	FxChainSpec spec;
	FxEngineSlotStats slots[FX_MAX_SLOTS]; ///< slot outputs' values
	int muted, outputs;
	double bpm;
	Node *nodes;
	int n, cap;
	int at;           ///< the node asked for
	const char *attr; ///< NULL: the whole node
};

static double read_mute(const Tree *t)
{
	return t->muted;
}

static double read_bpm(const Tree *t)
{
	return t->bpm;
}

static const char *key_of(const Node *n)
{
	return n->path[1] ? strrchr(n->path, '/') + 1 : n->path;
}

static int find(const Tree *t, const char *path)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->nodes[i].path, path))
			return i;
	return -1;
}

/* The node at @p path, made with its missing parents (containers) when
 * absent; -1 when out of memory. */
static int node_at(Tree *t, const char *path)
{
	int i = find(t, path);
	if (i >= 0)
		return i;
	int parent = -1;
	const char *slash = strrchr(path, '/');
	if (slash && path[1]) {
		char up[PATH_MAX_LEN];
		size_t n = slash == path ? 1 : (size_t)(slash - path);
		snprintf(up, sizeof up, "%.*s", (int)n, path);
		if ((parent = node_at(t, up)) < 0)
			return -1;
	}
	if (t->n == t->cap) {
		int cap = t->cap ? 2 * t->cap : 256;
		Node *nodes = realloc(t->nodes, (size_t)cap * sizeof *nodes);
		if (!nodes)
			return -1;
		t->nodes = nodes;
		t->cap = cap;
	}
	i = t->n++;
	Node *n = &t->nodes[i];
	*n = (Node){.kind = N_CONTAINER, .first = -1, .last = -1, .next = -1};
	snprintf(n->path, sizeof n->path, "%s", path);
	if (parent >= 0) {
		Node *p = &t->nodes[parent];
		if (p->last >= 0)
			t->nodes[p->last].next = i;
		else
			p->first = i;
		p->last = i;
	}
	return i;
}

/* A text parameter (a file's path): a string, with no range or /norm. */
static int is_text(const FxParamInfo *p)
{
	return (p->flags & FX_PARAM_TEXT) != 0;
}

static int add_param(Tree *t, int slot, int param, int norm, Kind kind)
{
	char path[PATH_MAX_LEN];
	fx_osc_param_path(&t->spec, slot, param, norm, path, sizeof path);
	int i = node_at(t, path);
	if (i >= 0) {
		t->nodes[i].kind = kind;
		t->nodes[i].slot = slot;
		t->nodes[i].param = param;
	}
	return i;
}

/* A slot's read-only outputs, beside its bypass. */
static int add_outputs(Tree *t, int slot)
{
	const FxEffectClass *cls = t->spec.slots[slot].cls;
	for (int k = 0; k < cls->n_outputs; k++) {
		char path[PATH_MAX_LEN];
		fx_osc_output_path(&t->spec, slot, k, path, sizeof path);
		int i = node_at(t, path);
		if (i < 0)
			return 0;
		t->nodes[i].kind = N_OUTPUT;
		t->nodes[i].slot = slot;
		t->nodes[i].param = k;
	}
	return 1;
}

static int build_fx(Tree *t)
{
	if (node_at(t, "/fx") < 0)
		return 0;
	for (int s = 0; s < t->spec.n_slots; s++) {
		int np = t->spec.slots[s].cls->n_params;
		for (int p = 0; p < np; p++)
			if (add_param(t, s, p, 0, N_PARAM) < 0 ||
			    (!is_text(&t->spec.slots[s].cls->params[p]) &&
			     add_param(t, s, p, 1, N_NORM) < 0))
				return 0;
		int b = add_param(t, s, np, 0, N_BYPASS);
		if (b < 0 || !add_outputs(t, s))
			return 0;
		/* The slot's node is the one its bypass made: the address's
		 * own form of the slot, label or index. */
		char path[PATH_MAX_LEN];
		snprintf(path, sizeof path, "%s", t->nodes[b].path);
		*strrchr(path, '/') = '\0';
		int i = find(t, path);
		t->nodes[i].kind = N_SLOT;
		t->nodes[i].slot = s;
	}
	return 1;
}

/* A node of /fxd/ (made if absent), or NULL when out of memory. */
static Node *fxd_node(Tree *t, const char *path)
{
	int k = node_at(t, path);
	if (k < 0)
		return NULL;
	t->nodes[k].kind = N_FXD;
	return &t->nodes[k];
}

static int build_fxd(Tree *t)
{
	size_t n;
	const FxOscMethod *m = fx_osc_methods(&n);
	Node *node;
	if (node_at(t, "/fxd") < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!(node = fxd_node(t, m[i].path)))
			return 0;
		node->method = &m[i];
	}
	for (size_t i = 0; i < sizeof DAEMON_VALUES / sizeof *DAEMON_VALUES; i++) {
		if (!(node = fxd_node(t, DAEMON_VALUES[i].path)))
			return 0;
		node->value = &DAEMON_VALUES[i];
	}
	for (size_t i = 0; i < sizeof OUTPUTS / sizeof *OUTPUTS; i++) {
		if (!(node = fxd_node(t, OUTPUTS[i].path)))
			return 0;
		node->output = &OUTPUTS[i];
	}
	return 1;
}

/* ---- attributes ----------------------------------------------------------- */

/* An attribute: with @p j NULL, says whether node @p n has it; otherwise
 * writes its value. */
typedef int (*AttrFn)(FxJson *j, const Tree *t, const Node *n);

static const FxSlotSpec *slot_of(const Tree *t, const Node *n)
{
	return &t->spec.slots[n->slot];
}

static const FxParamInfo *param_of(const Tree *t, const Node *n)
{
	return &slot_of(t, n)->cls->params[n->param];
}

static const FxParamInfo *output_of(const Tree *t, const Node *n)
{
	return &slot_of(t, n)->cls->outputs[n->param];
}

static int is_enum(const FxParamInfo *p)
{
	return p->scale == FX_SCALE_ENUM && p->labels;
}

/* A parameter's value as its TYPE has it: a label, a whole number or a
 * float. */
static void param_value(FxJson *j, const FxParamInfo *p, double v)
{
	const char *label = is_enum(p) ? fx_osc_enum_label(p, v) : NULL;
	const char *text = is_text(p) ? fx_text_of(v) : NULL;
	if (is_text(p))
		fx_json_string(j, text ? text : "");
	else if (is_enum(p))
		fx_json_string(j, label ? label : "");
	else if (p->flags & FX_PARAM_INTEGER)
		fx_json_int(j, (long long)llround(v));
	else
		fx_json_number(j, v);
}

static void string_or(FxJson *j, const char *s)
{
	if (j)
		fx_json_string(j, s);
}

static int a_full_path(FxJson *j, const Tree *t, const Node *n)
{
	(void)t;
	string_or(j, n->path);
	return 1;
}

static void write_node(FxJson *j, const Tree *t, const Node *n);

static int a_contents(FxJson *j, const Tree *t, const Node *n)
{
	if (!j || n->first < 0)
		return n->first >= 0;
	fx_json_object(j);
	for (int c = n->first; c >= 0; c = t->nodes[c].next) {
		fx_json_key(j, key_of(&t->nodes[c]));
		write_node(j, t, &t->nodes[c]);
	}
	fx_json_object_end(j);
	return 1;
}

/* A method's TYPE: its arguments when none is optional ("N", a number
 * or a boolean, as a float). */
static int method_type(const FxOscMethod *m, char *buf, size_t size)
{
	if (!*m->args || strchr(m->args, '[') || strlen(m->args) >= size)
		return 0;
	size_t i = 0;
	for (; m->args[i]; i++)
		buf[i] = m->args[i] == 'N' ? 'f' : m->args[i];
	buf[i] = '\0';
	return 1;
}

static int a_type(FxJson *j, const Tree *t, const Node *n)
{
	char buf[2 * MAX_OUTPUTS + 1];
	const char *type = NULL;
	if (n->kind == N_PARAM) {
		const FxParamInfo *p = param_of(t, n);
		type = is_enum(p) || is_text(p)      ? "s"
		       : p->flags & FX_PARAM_INTEGER ? "i"
		                                     : "f";
	} else if (n->kind == N_NORM) {
		type = "f";
	} else if (n->kind == N_BYPASS) {
		type = "i";
	} else if (n->kind == N_OUTPUT) {
		type = "f";
	} else if (n->value) {
		type = n->value->type;
	} else if (n->output && !strcmp(n->path, "/fxd/meters")) {
		int ports = t->outputs < MAX_OUTPUTS ? t->outputs : MAX_OUTPUTS;
		for (int c = 0; c < 2 * ports; c++)
			buf[c] = 'f';
		buf[2 * ports] = '\0';
		type = ports ? buf : NULL;
	} else if (n->method && method_type(n->method, buf, sizeof buf)) {
		type = buf;
	}
	string_or(j, type);
	return type != NULL;
}

static int a_value(FxJson *j, const Tree *t, const Node *n)
{
	int has = n->kind == N_PARAM || n->kind == N_NORM ||
	          n->kind == N_BYPASS || n->kind == N_OUTPUT || n->value;
	if (!j || !has)
		return has;
	fx_json_array(j);
	if (n->kind == N_OUTPUT)
		fx_json_number(j, t->slots[n->slot].outputs[n->param]);
	else if (n->kind == N_PARAM)
		param_value(j, param_of(t, n), slot_of(t, n)->values[n->param]);
	else if (n->kind == N_NORM)
		fx_json_number(
			j, fx_param_to_norm(param_of(t, n),
		                            slot_of(t, n)->values[n->param]));
	else if (n->kind == N_BYPASS)
		fx_json_int(j, slot_of(t, n)->bypass);
	else if (!strcmp(n->value->type, "i"))
		fx_json_int(j, (long long)n->value->read(t));
	else
		fx_json_number(j, n->value->read(t));
	fx_json_array_end(j);
	return 1;
}

static void min_max(FxJson *j, double min, double max, int whole)
{
	fx_json_array(j);
	fx_json_object(j);
	fx_json_key(j, "MIN");
	if (whole)
		fx_json_int(j, (long long)llround(min));
	else
		fx_json_number(j, min);
	fx_json_key(j, "MAX");
	if (whole)
		fx_json_int(j, (long long)llround(max));
	else
		fx_json_number(j, max);
	fx_json_object_end(j);
	fx_json_array_end(j);
}

static int a_range(FxJson *j, const Tree *t, const Node *n)
{
	int has = (n->kind == N_PARAM && !is_text(param_of(t, n))) ||
	          n->kind == N_NORM || n->kind == N_BYPASS ||
	          n->kind == N_OUTPUT || (n->value && n->value->ranged);
	if (!j || !has)
		return has;
	if (n->kind == N_PARAM && is_enum(param_of(t, n))) {
		const FxParamInfo *p = param_of(t, n);
		fx_json_array(j);
		fx_json_object(j);
		fx_json_key(j, "VALS");
		fx_json_array(j);
		for (int i = 0; p->labels[i]; i++)
			fx_json_string(j, p->labels[i]);
		fx_json_array_end(j);
		fx_json_object_end(j);
		fx_json_array_end(j);
	} else if (n->kind == N_PARAM) {
		const FxParamInfo *p = param_of(t, n);
		min_max(j, p->min, p->max, (p->flags & FX_PARAM_INTEGER) != 0);
	} else if (n->kind == N_NORM) {
		min_max(j, 0, 1, 0);
	} else if (n->kind == N_BYPASS) {
		min_max(j, 0, 1, 1);
	} else if (n->kind == N_OUTPUT) {
		const FxParamInfo *o = output_of(t, n);
		min_max(j, o->min, o->max, 0);
	} else {
		min_max(j, n->value->min, n->value->max,
		        !strcmp(n->value->type, "i"));
	}
	return 1;
}

static int a_access(FxJson *j, const Tree *t, const Node *n)
{
	(void)t;
	int access = 0;
	if (n->kind == N_PARAM || n->kind == N_NORM || n->kind == N_BYPASS ||
	    n->value)
		access = 3;
	if (n->method)
		access |= 2;
	if (n->output || n->kind == N_OUTPUT)
		access |= 1;
	if (j)
		fx_json_int(j, access);
	return 1;
}

static int a_description(FxJson *j, const Tree *t, const Node *n)
{
	char buf[256];
	const char *d = NULL;
	if (n->kind == N_SLOT) {
		const FxEffectClass *cls = slot_of(t, n)->cls;
		snprintf(buf, sizeof buf, "%s: %s", cls->name, cls->doc);
		d = buf;
	} else if (n->kind == N_PARAM) {
		d = param_of(t, n)->doc;
	} else if (n->kind == N_NORM) {
		snprintf(buf, sizeof buf, "%s, 0..1 through its scale (%s)",
		         param_of(t, n)->name,
		         fx_scale_name(param_of(t, n)->scale));
		d = buf;
	} else if (n->kind == N_BYPASS) {
		d = "bypasses the slot (crossfaded): 1 on, 0 off";
	} else if (n->kind == N_OUTPUT) {
		snprintf(buf, sizeof buf,
		         "%s (read-only; to subscribers in "
		         "/fxd/outputs)",
		         output_of(t, n)->doc);
		d = buf;
	} else if (n->output && n->output->doc) {
		d = n->output->doc;
	} else if (n->method) {
		d = n->method->doc;
	} else if (!strcmp(n->path, "/")) {
		d = t->host->name;
	} else if (!strcmp(n->path, "/fx")) {
		d = "the effect chain, a slot by a slot in chain order";
	} else if (!strcmp(n->path, "/fxd")) {
		d = "the daemon's methods, values and outputs";
	}
	string_or(j, d);
	return d != NULL;
}

static int a_unit(FxJson *j, const Tree *t, const Node *n)
{
	if (n->kind != N_PARAM && n->kind != N_OUTPUT)
		return 0;
	string_or(j, n->kind == N_OUTPUT ? output_of(t, n)->unit
	                                 : param_of(t, n)->unit);
	return 1;
}

static int a_clipmode(FxJson *j, const Tree *t, const Node *n)
{
	int has = (n->kind == N_PARAM && !is_text(param_of(t, n))) ||
	          n->kind == N_NORM || n->kind == N_BYPASS;
	string_or(j, has ? "both" : NULL);
	return has;
}

static int a_effect(FxJson *j, const Tree *t, const Node *n)
{
	if (n->kind != N_SLOT)
		return 0;
	string_or(j, slot_of(t, n)->cls->name);
	return 1;
}

/* The LV2 plugin a slot hosts (dsp/lv2.h); fxd's own effects have none. */
static int a_uri(FxJson *j, const Tree *t, const Node *n)
{
	if (n->kind != N_SLOT || !slot_of(t, n)->cls->uri)
		return 0;
	string_or(j, slot_of(t, n)->cls->uri);
	return 1;
}

static int a_index(FxJson *j, const Tree *t, const Node *n)
{
	(void)t;
	if (n->kind != N_SLOT)
		return 0;
	if (j)
		fx_json_int(j, n->slot);
	return 1;
}

static int a_scale(FxJson *j, const Tree *t, const Node *n)
{
	const char *s = n->kind == N_PARAM ? fx_scale_name(param_of(t, n)->scale)
	                : n->kind == N_BYPASS ? "toggle"
	                                      : NULL;
	string_or(j, s);
	return s != NULL;
}

static int a_default(FxJson *j, const Tree *t, const Node *n)
{
	if (n->kind != N_PARAM)
		return 0;
	if (j)
		param_value(j, param_of(t, n), param_of(t, n)->def);
	return 1;
}

static int a_args(FxJson *j, const Tree *t, const Node *n)
{
	(void)t;
	string_or(j, n->method ? n->method->args : NULL);
	return n->method != NULL;
}

static int a_none(FxJson *j, const Tree *t, const Node *n)
{
	(void)j, (void)t, (void)n;
	return 0;
}

/* Every attribute a query may name, in the order a node lists them: the
 * proposal's (those fxd never gives answer 204) and fxd's own. */
static const struct {
	const char *name;
	AttrFn fn;
} ATTRS[] = {
	{"FULL_PATH", a_full_path}, {"TYPE", a_type},
	{"VALUE", a_value},         {"RANGE", a_range},
	{"ACCESS", a_access},       {"UNIT", a_unit},
	{"CLIPMODE", a_clipmode},   {"DESCRIPTION", a_description},
	{"FXD_EFFECT", a_effect},   {"FXD_URI", a_uri},
	{"FXD_INDEX", a_index},     {"FXD_SCALE", a_scale},
	{"FXD_DEFAULT", a_default}, {"FXD_ARGS", a_args},
	{"TAGS", a_none},           {"EXTENDED_TYPE", a_none},
	{"CRITICAL", a_none},       {"OVERLOADS", a_none},
	{"HTML", a_none},           {"CONTENTS", a_contents},
};
enum { N_ATTRS = sizeof ATTRS / sizeof ATTRS[0] };

static int attr_find(const char *name)
{
	for (int i = 0; i < N_ATTRS; i++)
		if (!strcmp(ATTRS[i].name, name))
			return i;
	return -1;
}

static void write_attr(FxJson *j, const Tree *t, const Node *n, int a)
{
	if (!ATTRS[a].fn(NULL, t, n))
		return;
	fx_json_key(j, ATTRS[a].name);
	ATTRS[a].fn(j, t, n);
}

static void write_node(FxJson *j, const Tree *t, const Node *n)
{
	fx_json_object(j);
	for (int a = 0; a < N_ATTRS; a++)
		write_attr(j, t, n, a);
	fx_json_object_end(j);
}

/* The answer: the node, or {"ATTR": value}. */
static void write_answer(FxJson *j, const void *arg)
{
	const Tree *t = arg;
	const Node *n = &t->nodes[t->at];
	if (!t->attr) {
		write_node(j, t, n);
		return;
	}
	fx_json_object(j);
	write_attr(j, t, n, attr_find(t->attr));
	fx_json_object_end(j);
}

/* ---- HOST_INFO ------------------------------------------------------------ */

static const struct {
	const char *name;
	int on;
} EXTENSIONS[] = {
	{"ACCESS", 1},       {"VALUE", 1},        {"RANGE", 1},
	{"DESCRIPTION", 1},  {"TAGS", 0},         {"EXTENDED_TYPE", 0},
	{"UNIT", 1},         {"CRITICAL", 0},     {"CLIPMODE", 1},
	{"LISTEN", 1},       {"PATH_CHANGED", 1}, {"PATH_ADDED", 0},
	{"PATH_REMOVED", 0}, {"PATH_RENAMED", 0},
};

static void write_host_info(FxJson *j, const void *arg)
{
	const FxOscQueryHost *h = arg;
	fx_json_object(j);
	fx_json_key(j, "NAME");
	fx_json_string(j, h->name);
	fx_json_key(j, "EXTENSIONS");
	fx_json_object(j);
	for (size_t i = 0; i < sizeof EXTENSIONS / sizeof *EXTENSIONS; i++) {
		fx_json_key(j, EXTENSIONS[i].name);
		fx_json_bool(j, EXTENSIONS[i].on);
	}
	fx_json_object_end(j);
	fx_json_key(j, "OSC_IP");
	fx_json_string(j, h->osc_ip);
	fx_json_key(j, "OSC_PORT");
	fx_json_int(j, h->osc_port);
	fx_json_key(j, "OSC_TRANSPORT");
	fx_json_string(j, "UDP");
	fx_json_key(j, "WS_IP");
	fx_json_string(j, h->ws_ip);
	fx_json_key(j, "WS_PORT");
	fx_json_int(j, h->ws_port);
	fx_json_key(j, "FXD_FEEDBACK_HZ");
	fx_json_number(j, h->feedback_hz);
	fx_json_object_end(j);
}

/* ---- the request ---------------------------------------------------------- */

static int answer(char *text, size_t n, char **body, size_t *len)
{
	if (!text)
		return 500;
	*body = text;
	*len = n;
	return 200;
}

int fx_oscquery_get(FxControl *control, const FxOscQueryHost *host,
                    const char *path, const char *query, char **body, size_t *len)
{
	*body = NULL;
	*len = 0;
	char want[PATH_MAX_LEN];
	size_t plen = path ? strlen(path) : 0;
	if (plen > 1 && path[plen - 1] == '/')
		plen--; /* "/fx/vol/" is "/fx/vol" */
	if (!plen || path[0] != '/' || plen >= sizeof want)
		return 404;
	memcpy(want, path, plen);
	want[plen] = '\0';
	if (query && !*query)
		query = NULL;
	if (query && !strcmp(query, "HOST_INFO")) {
		if (strcmp(want, "/"))
			return 400;
		size_t n;
		char *text = fx_json_new(write_host_info, host, &n);
		return answer(text, n, body, len);
	}
	if (query && attr_find(query) < 0)
		return 400;

	Tree *t = calloc(1, sizeof *t);
	if (!t)
		return 500;
	t->host = host;
	fx_control_slot_stats(control, &t->spec, t->slots, FX_MAX_SLOTS);
	t->muted = fx_control_muted(control);
	t->bpm = fx_control_bpm(control);
	t->outputs = fx_control_engine_config(control).outputs;
	t->attr = query;
	int status = 500;
	if (node_at(t, "/") < 0 || !build_fx(t) || !build_fxd(t))
		goto out;
	t->at = find(t, want);
	status = 404;
	if (t->at < 0)
		goto out;
	status = 204;
	if (query && !ATTRS[attr_find(query)].fn(NULL, t, &t->nodes[t->at]))
		goto out;
	size_t n;
	char *text = fx_json_new(write_answer, t, &n);
	status = answer(text, n, body, len);
out:
	free(t->nodes);
	free(t);
	return status;
}

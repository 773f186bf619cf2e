/* SPDX-License-Identifier: ISC */
/* The /fxd/ method table and the namespace's dispatcher (methods.h). */
#define _GNU_SOURCE
#include "osc/methods.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/json.h"
#include "daemon/engine/persist.h"

static const int INTERVAL_MIN_MS = 20, INTERVAL_MAX_MS = 10000,
		 INTERVAL_DEFAULT_MS = 100;

#define UNUSED_ARGS (void)ns, (void)path, (void)types, (void)argv, (void)argc

static void done(FxOscRequest *req, const char *path)
{
	fx_osc_reply(req, "/fxd/done", "s", path);
}

static int no_args(FxOscRequest *req, const char *path, int argc)
{
	if (argc)
		fx_osc_fail(req, path, "takes no arguments");
	return argc == 0;
}

/* ---- introspection -------------------------------------------------------- */

/* /fxd/param ,ssffffss; an enum parameter adds the label of its value and
 * then every label, in index order. */
static void send_param_info(FxOscRequest *req, const FxChainSpec *spec,
                            int slot, int param)
{
	const FxSlotSpec *s = &spec->slots[slot];
	const FxParamInfo *p = &s->cls->params[param];
	char path[160];
	fx_osc_param_path(spec, slot, param, 0, path, sizeof path);
	lo_message m = lo_message_new();
	if (!m)
		return;
	lo_message_add_string(m, path);
	lo_message_add_string(m, s->cls->name);
	if (p->flags & FX_PARAM_TEXT) {
		/* A text (a path): no numbers, scale "text", then the text. */
		const char *text = fx_text_of(s->values[param]);
		for (int i = 0; i < 4; i++)
			lo_message_add_float(m, 0.0f);
		lo_message_add_string(m, p->unit);
		lo_message_add_string(m, "text");
		lo_message_add_string(m, text ? text : "");
		fx_osc_send_free(req->transport, &req->peer, "/fxd/param", m);
		return;
	}
	lo_message_add_float(m, (float)s->values[param]);
	lo_message_add_float(m, (float)p->min);
	lo_message_add_float(m, (float)p->max);
	lo_message_add_float(m, (float)p->def);
	lo_message_add_string(m, p->unit);
	lo_message_add_string(m, fx_scale_name(p->scale));
	if (p->labels) {
		const char *label = fx_osc_enum_label(p, s->values[param]);
		lo_message_add_string(m, label ? label : "");
		for (int i = 0; p->labels[i]; i++)
			lo_message_add_string(m, p->labels[i]);
	}
	fx_osc_send_free(req->transport, &req->peer, "/fxd/param", m);
}

/* /fxd/output ,ssfffs <path> <effect> <value> <min> <max> <unit>: a
 * read-only output; its value is nil while it has no reading. */
static void send_output_info(FxOscRequest *req, const FxChainSpec *spec,
                             int slot, int out, float value)
{
	const FxSlotSpec *s = &spec->slots[slot];
	const FxParamInfo *o = &s->cls->outputs[out];
	char path[FX_LABEL_MAX + 96];
	fx_osc_output_path(spec, slot, out, path, sizeof path);
	lo_message m = lo_message_new();
	if (!m)
		return;
	lo_message_add_string(m, path);
	lo_message_add_string(m, s->cls->name);
	if (isfinite(value))
		lo_message_add_float(m, value);
	else
		lo_message_add_nil(m);
	lo_message_add_float(m, (float)o->min);
	lo_message_add_float(m, (float)o->max);
	lo_message_add_string(m, o->unit);
	fx_osc_send_free(req->transport, &req->peer, "/fxd/output", m);
}

static void m_list(const FxOscNamespace *ns, FxOscRequest *req,
                   const char *path, const char *types, lo_arg **argv, int argc)
{
	UNUSED_ARGS;
	FxChainSpec spec;
	FxEngineSlotStats st[FX_MAX_SLOTS];
	int live = fx_control_slot_stats(ns->control, &spec, st, FX_MAX_SLOTS);
	int n = 0, outs = 0;
	for (int s = 0; s < spec.n_slots; s++)
		for (int p = 0; p < spec.slots[s].cls->n_params; p++, n++)
			send_param_info(req, &spec, s, p);
	for (int s = 0; s < live; s++)
		for (int o = 0; o < spec.slots[s].cls->n_outputs; o++, outs++)
			send_output_info(req, &spec, s, o, st[s].outputs[o]);
	fx_osc_reply(req, "/fxd/list/done", "ii", n, outs);
}

static void m_info(const FxOscNamespace *ns, FxOscRequest *req,
                   const char *path, const char *types, lo_arg **argv, int argc)
{
	const char *target = argc == 1 ? fx_osc_arg_string(types, argv, 0) : NULL;
	char slot_s[FX_LABEL_MAX + 8], param_s[64];
	int norm;
	if (!target || strncmp(target, "/fx/", 4) ||
	    !fx_osc_split_param_path(target, slot_s, param_s, &norm)) {
		fx_osc_fail(req, path,
		            "expects a parameter path like "
		            "/fx/lpf/cutoff");
		return;
	}
	FxChainSpec spec;
	fx_control_get_spec(ns->control, &spec);
	int slot = fx_spec_find_slot(&spec, slot_s);
	int param = slot < 0 ? -1 : fx_param_find(spec.slots[slot].cls, param_s);
	if (param < 0) {
		fx_osc_fail(req, path, "no parameter %s", target);
		return;
	}
	send_param_info(req, &spec, slot, param);
}

/* One parameter of the namespace as a JSON object. */
static void json_param(FxJson *j, const FxChainSpec *spec, int s, int p)
{
	const FxParamInfo *pi = &spec->slots[s].cls->params[p];
	double v = spec->slots[s].values[p];
	char cpath[160];
	fx_osc_param_path(spec, s, p, 0, cpath, sizeof cpath);
	fx_json_object(j);
	fx_json_key(j, "path");
	fx_json_string(j, cpath);
	fx_json_key(j, "name");
	fx_json_string(j, pi->name);
	if (pi->flags & FX_PARAM_TEXT) {
		const char *text = fx_text_of(v);
		fx_json_key(j, "value");
		fx_json_string(j, text ? text : "");
		fx_json_key(j, "unit");
		fx_json_string(j, pi->unit);
		fx_json_key(j, "scale");
		fx_json_string(j, "text");
		fx_json_object_end(j);
		return;
	}
	const double nums[] = {v, fx_param_to_norm(pi, v), pi->min, pi->max,
	                       pi->def};
	static const char *const keys[] = {"value", "norm", "min", "max",
	                                   "default"};
	for (int k = 0; k < 5; k++) {
		fx_json_key(j, keys[k]);
		fx_json_number(j, nums[k]);
	}
	fx_json_key(j, "unit");
	fx_json_string(j, pi->unit);
	fx_json_key(j, "scale");
	fx_json_string(j, fx_scale_name(pi->scale));
	if (pi->labels) {
		const char *label = fx_osc_enum_label(pi, v);
		fx_json_key(j, "label");
		fx_json_string(j, label ? label : "");
		fx_json_key(j, "labels");
		fx_json_array(j);
		for (int i = 0; pi->labels[i]; i++)
			fx_json_string(j, pi->labels[i]);
		fx_json_array_end(j);
	}
	fx_json_object_end(j);
}

/* The MIDI mappings (malloc'd) and their number in *@p n; NULL when out
 * of memory. */
static FxMidiMapping *midi_mappings(FxMidi *midi, int *n)
{
	FxMidiMapping *maps = malloc(FX_MIDI_MAX_MAPPINGS * sizeof *maps);
	*n = maps ? fx_midi_list(midi, maps, FX_MIDI_MAX_MAPPINGS) : 0;
	*n = *n < FX_MIDI_MAX_MAPPINGS ? *n : FX_MIDI_MAX_MAPPINGS;
	return maps;
}

/* "midi": the mappings as [midi] lines and the morph's ends and
 * position; null when MIDI is off. */
static void json_midi(FxJson *j, FxMidi *midi, const FxMidiMapping *maps, int n)
{
	fx_json_key(j, "midi");
	if (!midi) {
		fx_json_null(j);
		return;
	}
	fx_json_object(j);
	fx_json_key(j, "mappings");
	fx_json_array(j);
	for (int i = 0; i < n; i++) {
		char line[FX_MIDI_TARGET_MAX + 96];
		fx_midi_mapping_format(&maps[i], line, sizeof line);
		fx_json_string(j, line);
	}
	fx_json_array_end(j);
	char a[FX_MIDI_TARGET_MAX], b[FX_MIDI_TARGET_MAX];
	double x = fx_midi_morph_position(midi, a, b, sizeof a);
	fx_json_key(j, "morph");
	fx_json_object(j);
	fx_json_key(j, "a");
	fx_json_string(j, a);
	fx_json_key(j, "b");
	fx_json_string(j, b);
	fx_json_key(j, "position");
	fx_json_number(j, x); /* null until moved */
	fx_json_object_end(j);
	fx_json_object_end(j);
}

/* What /fxd/json describes besides the chain. */
typedef struct {
	FxMidi *midi;
	FxMidiMapping *maps;
	int n_maps;
	const FxEngineSlotStats *st; ///< the outputs' values ...
	int live;                    ///< ... for this many slots
} JsonExtra;

/* One read-only output as a JSON object; its value null while it has no
 * reading. */
static void json_output(FxJson *j, const FxChainSpec *spec, int s, int o,
                        float value)
{
	const FxSlotSpec *sl = &spec->slots[s];
	const FxParamInfo *oi = &sl->cls->outputs[o];
	char path[FX_LABEL_MAX + 96];
	fx_osc_output_path(spec, s, o, path, sizeof path);
	fx_json_object(j);
	fx_json_key(j, "path");
	fx_json_string(j, path);
	fx_json_key(j, "name");
	fx_json_string(j, oi->name);
	fx_json_key(j, "value");
	fx_json_number(j, value);
	fx_json_key(j, "min");
	fx_json_number(j, oi->min);
	fx_json_key(j, "max");
	fx_json_number(j, oi->max);
	fx_json_key(j, "unit");
	fx_json_string(j, oi->unit);
	fx_json_key(j, "doc");
	fx_json_string(j, oi->doc);
	fx_json_object_end(j);
}

static void json_namespace(FxJson *j, const FxChainSpec *spec,
                           const char *chain, const JsonExtra *x)
{
	fx_json_object(j);
	fx_json_key(j, "chain");
	fx_json_string(j, chain);
	fx_json_key(j, "slots");
	fx_json_array(j);
	for (int s = 0; s < spec->n_slots; s++) {
		const FxSlotSpec *sl = &spec->slots[s];
		fx_json_object(j);
		fx_json_key(j, "index");
		fx_json_int(j, s);
		fx_json_key(j, "label");
		fx_json_string(j, sl->label);
		fx_json_key(j, "effect");
		fx_json_string(j, sl->cls->name);
		if (sl->cls->uri) {
			fx_json_key(j, "uri");
			fx_json_string(j, sl->cls->uri);
		}
		fx_json_key(j, "bypass");
		fx_json_bool(j, sl->bypass);
		fx_json_key(j, "params");
		fx_json_array(j);
		for (int p = 0; p < sl->cls->n_params; p++)
			json_param(j, spec, s, p);
		fx_json_array_end(j);
		if (sl->cls->n_outputs) {
			fx_json_key(j, "outputs");
			fx_json_array(j);
			for (int o = 0; o < sl->cls->n_outputs; o++)
				json_output(j, spec, s, o,
				            s < x->live ? x->st[s].outputs[o]
				                        : NAN);
			fx_json_array_end(j);
		}
		fx_json_object_end(j);
	}
	fx_json_array_end(j);
	json_midi(j, x->midi, x->maps, x->n_maps);
	fx_json_object_end(j);
}

/* What json_namespace writes, for fx_json_new. */
typedef struct {
	const FxChainSpec *spec;
	const char *chain;
	const JsonExtra *x;
} JsonNamespace;

static void write_namespace(FxJson *j, const void *arg)
{
	const JsonNamespace *n = arg;
	json_namespace(j, n->spec, n->chain, n->x);
}

/* The namespace as JSON text (malloc'd), or NULL when out of memory. */
static char *namespace_json(const FxChainSpec *spec, const JsonExtra *x,
                            size_t *len)
{
	char *chain = fx_osc_chain_text(spec);
	JsonNamespace n = {spec, chain ? chain : "", x};
	char *text = fx_json_new(write_namespace, &n, len);
	free(chain);
	return text;
}

static void m_json(const FxOscNamespace *ns, FxOscRequest *req,
                   const char *path, const char *types, lo_arg **argv, int argc)
{
	(void)types, (void)argv, (void)argc;
	FxChainSpec spec;
	FxEngineSlotStats st[FX_MAX_SLOTS];
	int live = fx_control_slot_stats(ns->control, &spec, st, FX_MAX_SLOTS);
	JsonExtra x = {ns->midi, NULL, 0, st, live};
	if (ns->midi)
		x.maps = midi_mappings(ns->midi, &x.n_maps);
	size_t len;
	char *text = ns->midi && !x.maps ? NULL : namespace_json(&spec, &x, &len);
	free(x.maps);
	/* Parts: small ones over UDP; over TCP one, unless it would be
	 * larger than a packet (32 slots of 16 parameters can be). */
	size_t part = req->peer.tcp < 0 && !req->peer.ws ? FX_OSC_JSON_PART
	              : len < FX_OSC_TCP_PART            ? len + 1
	                                                 : FX_OSC_TCP_PART;
	char *piece = text ? malloc(part + 1) : NULL;
	if (!piece) {
		free(text);
		fx_osc_fail(req, path, "out of memory");
		return;
	}
	int parts = len ? (int)((len + part - 1) / part) : 1;
	for (int i = 0; i < parts; i++) {
		size_t at = (size_t)i * part;
		size_t n = len - at < part ? len - at : part;
		memcpy(piece, text + at, n);
		piece[n] = '\0';
		fx_osc_reply(req, "/fxd/json", "iis", i, parts, piece);
	}
	free(piece);
	free(text);
}

static void m_stats(const FxOscNamespace *ns, FxOscRequest *req,
                    const char *path, const char *types, lo_arg **argv, int argc)
{
	UNUSED_ARGS;
	fx_osc_send_free(req->transport, &req->peer, "/fxd/stats",
	                 fx_osc_subs_stats(ns->subs));
}

/* ---- daemon methods ------------------------------------------------------- */

static void m_ping(const FxOscNamespace *ns, FxOscRequest *req,
                   const char *path, const char *types, lo_arg **argv, int argc)
{
	UNUSED_ARGS;
	fx_osc_reply(req, "/fxd/pong", "");
}

static void m_mute(const FxOscNamespace *ns, FxOscRequest *req,
                   const char *path, const char *types, lo_arg **argv, int argc)
{
	double v;
	if (argc == 0)
		fx_osc_reply(req, "/fxd/mute", "i",
		             fx_control_muted(ns->control));
	else if (fx_osc_one_number(req, path, types, argv, argc, &v))
		fx_control_mute(ns->control, v >= 0.5);
}

/* A button on a tablet sends 1 when pressed and 0 when released: only
 * the press (or a message with no argument) panics. */
static void m_panic(const FxOscNamespace *ns, FxOscRequest *req,
                    const char *path, const char *types, lo_arg **argv, int argc)
{
	double v = 1;
	if (argc && !fx_osc_one_number(req, path, types, argv, argc, &v))
		return;
	if (v < 0.5)
		return;
	fx_control_panic(ns->control);
	done(req, path);
}

static void m_reset_state(const FxOscNamespace *ns, FxOscRequest *req,
                          const char *path, const char *types, lo_arg **argv,
                          int argc)
{
	(void)types, (void)argv;
	if (!no_args(req, path, argc))
		return;
	fx_control_reset_state(ns->control);
	done(req, path);
}

static void m_reset_metrics(const FxOscNamespace *ns, FxOscRequest *req,
                            const char *path, const char *types, lo_arg **argv,
                            int argc)
{
	(void)types, (void)argv;
	if (!no_args(req, path, argc))
		return;
	fx_control_reset_metrics(ns->control);
	done(req, path);
}

static void m_sync(const FxOscNamespace *ns, FxOscRequest *req,
                   const char *path, const char *types, lo_arg **argv, int argc)
{
	double v;
	if (!fx_osc_one_number(req, path, types, argv, argc, &v))
		return;
	if (v < INT32_MIN || v > INT32_MAX || v != floor(v)) {
		fx_osc_fail(req, path, "expects a 32-bit whole number id");
		return;
	}
	int32_t id = (int32_t)v;
	uint32_t point = fx_control_sync_point(ns->control);
	if (fx_control_synced(ns->control, point))
		fx_osc_reply(req, "/fxd/synced", "i", id);
	else if (fx_osc_subs_add_sync(ns->subs, &req->peer, id, point) != FX_OK)
		fx_osc_fail(req, path, "too many syncs waiting");
}

static void m_chain(const FxOscNamespace *ns, FxOscRequest *req,
                    const char *path, const char *types, lo_arg **argv, int argc)
{
	(void)types, (void)argv;
	if (!no_args(req, path, argc))
		return;
	FxChainSpec spec;
	fx_control_get_spec(ns->control, &spec);
	char *text = fx_osc_chain_text(&spec);
	if (text)
		fx_osc_reply(req, "/fxd/chain", "s", text);
	else
		fx_osc_fail(req, path, "out of memory");
	free(text);
}

static void m_chain_load(const FxOscNamespace *ns, FxOscRequest *req,
                         const char *path, const char *types, lo_arg **argv,
                         int argc)
{
	const char *text = argc == 1 ? fx_osc_arg_string(types, argv, 0) : NULL;
	if (!text) {
		fx_osc_fail(req, path, "expects one string: a chain spec");
		return;
	}
	FxChainSpec spec;
	FxSpecError e;
	if (fx_spec_parse(text, "chain", &spec, &e) != FX_OK) {
		fx_osc_fail(req, path, "%s", e.message);
		return;
	}
	char why[256];
	if (fx_control_swap(ns->control, &spec, why, sizeof why) != FX_OK)
		fx_osc_fail(req, path, "cannot run this chain: %s", why);
	else
		done(req, path);
}

static void m_bpm(const FxOscNamespace *ns, FxOscRequest *req, const char *path,
                  const char *types, lo_arg **argv, int argc)
{
	double v;
	if (argc == 0)
		fx_osc_reply(req, "/fxd/bpm", "f", fx_control_bpm(ns->control));
	else if (fx_osc_one_number(req, path, types, argv, argc, &v))
		fx_control_set_bpm(ns->control, v);
}

/* ---- presets -------------------------------------------------------------- */

typedef FxStatus (*PresetAction)(FxControl *c, const char *name, char *err,
                                 size_t err_size);

/* /fxd/preset/save and /load: one name, done or why not. */
static void preset_do(const FxOscNamespace *ns, FxOscRequest *req,
                      const char *path, const char *types, lo_arg **argv,
                      int argc, PresetAction action)
{
	const char *name = argc == 1 ? fx_osc_arg_string(types, argv, 0) : NULL;
	char err[512] = "";
	if (!name)
		fx_osc_fail(req, path, "expects one string: a preset name");
	else if (action(ns->control, name, err, sizeof err) != FX_OK)
		fx_osc_fail(req, path, "%s", err);
	else
		done(req, path);
}

static void m_preset_save(const FxOscNamespace *ns, FxOscRequest *req,
                          const char *path, const char *types, lo_arg **argv,
                          int argc)
{
	preset_do(ns, req, path, types, argv, argc, fx_control_preset_save);
}

static void m_preset_load(const FxOscNamespace *ns, FxOscRequest *req,
                          const char *path, const char *types, lo_arg **argv,
                          int argc)
{
	preset_do(ns, req, path, types, argv, argc, fx_control_preset_load);
}

/* The bytes a string argument takes in a message: its type tag and its
 * text, NUL-terminated and padded to four. */
static size_t name_cost(const char *name)
{
	return 1 + ((strlen(name) + 4) & ~(size_t)3);
}

/* How many parts of about @p part bytes the names need. */
static int count_parts(char *const *names, int n, size_t part)
{
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
	return parts;
}

static void m_preset_list(const FxOscNamespace *ns, FxOscRequest *req,
                          const char *path, const char *types, lo_arg **argv,
                          int argc)
{
	(void)types, (void)argv;
	if (!no_args(req, path, argc))
		return;
	char **names, err[512] = "";
	int n = fx_control_preset_list(ns->control, &names, err, sizeof err);
	if (n < 0) {
		fx_osc_fail(req, path, "%s", err);
		return;
	}
	/* One message when the list fits one part, as clients before parts
	 * expect; otherwise ,ii s... parts: the part, the number of parts,
	 * then as many names as fit. */
	size_t part = req->peer.tcp < 0 && !req->peer.ws ? FX_OSC_JSON_PART
	                                                 : FX_OSC_TCP_PART;
	int parts = count_parts(names, n, part);
	for (int p = 0, i = 0; p < parts; p++) {
		lo_message m = lo_message_new();
		if (parts > 1) {
			lo_message_add_int32(m, p);
			lo_message_add_int32(m, parts);
		}
		for (size_t used = 0; i < n; i++) {
			size_t cost = name_cost(names[i]);
			if (used && used + cost > part)
				break;
			used += cost;
			lo_message_add_string(m, names[i]);
		}
		fx_osc_send_free(req->transport, &req->peer, "/fxd/preset/list",
		                 m);
	}
	fx_control_free_list(names, n);
}

/* ---- MIDI and morphing ---------------------------------------------------- */

/* fxd's MIDI control, or a /fxd/fail and NULL when it runs without. */
static FxMidi *midi_on(const FxOscNamespace *ns, FxOscRequest *req,
                       const char *path)
{
	if (!ns->midi)
		fx_osc_fail(req, path, "MIDI is off (--no-midi)");
	return ns->midi;
}

/* The one string argument, or a /fxd/fail saying it is @p what. */
static const char *one_string(FxOscRequest *req, const char *path,
                              const char *types, lo_arg **argv, int argc,
                              const char *what)
{
	const char *s = argc == 1 ? fx_osc_arg_string(types, argv, 0) : NULL;
	if (!s)
		fx_osc_fail(req, path, "expects one string: %s", what);
	return s;
}

static void m_midi_learn(const FxOscNamespace *ns, FxOscRequest *req,
                         const char *path, const char *types, lo_arg **argv,
                         int argc)
{
	FxMidi *midi = midi_on(ns, req, path);
	const char *target =
		midi ? one_string(req, path, types, argv, argc,
	                          "a parameter path like /fx/lpf/cutoff")
		     : NULL;
	char err[256] = "";
	if (!target)
		return;
	if (fx_midi_learn(midi, target, err, sizeof err) != FX_OK) {
		fx_osc_fail(req, path, "%s", err);
		return;
	}
	fx_osc_subs_learn(ns->subs, &req->peer);
	done(req, path);
}

/* A whole number in @p lo..@p hi from argument @p i. */
static int whole_arg(const char *types, lo_arg **argv, int i, int lo, int hi,
                     int *out)
{
	double v;
	if (!fx_osc_arg_number(types, argv, i, &v) || v != floor(v) || v < lo ||
	    v > hi)
		return 0;
	*out = (int)v;
	return 1;
}

/* /fxd/midi/map's arguments as a CC mapping: PATH CH NUM [MIN MAX], CH
 * 1..16 or "*"; or one mapping line in the [midi] section's syntax. */
static int map_args(FxOscRequest *req, const char *path, const char *types,
                    lo_arg **argv, int argc, FxMidiMapping *m)
{
	const char *target = argc ? fx_osc_arg_string(types, argv, 0) : NULL;
	char err[256] = "";
	if (argc == 1 && target && strchr(target, '=')) {
		if (fx_midi_mapping_parse(target, m, NULL, err, sizeof err) ==
		    FX_OK)
			return 1;
		fx_osc_fail(req, path, "%s", err);
		return 0;
	}
	const char *any = argc > 1 ? fx_osc_arg_string(types, argv, 1) : NULL;
	*m = (FxMidiMapping){.source = FX_MIDI_SRC_CC,
	                     .min = NAN,
	                     .max = NAN,
	                     .mode = FX_MIDI_MODE_RANGE};
	const char *why = NULL;
	if ((argc != 3 && argc != 5) || !target)
		why = "expects PATH CH NUM [MIN MAX] (or one [midi] line)";
	else if (strlen(target) >= sizeof m->target)
		why = "the path is too long";
	else if (any ? strcmp(any, "*")
	             : !whole_arg(types, argv, 1, 1, 16, &m->channel))
		why = "CH is a channel 1..16 or \"*\"";
	else if (!whole_arg(types, argv, 2, 0, 127, &m->number))
		why = "NUM is a controller number 0..127";
	else if (argc == 5 && (!fx_osc_arg_number(types, argv, 3, &m->min) ||
	                       !fx_osc_arg_number(types, argv, 4, &m->max) ||
	                       !isfinite(m->min) || !isfinite(m->max)))
		why = "MIN and MAX are numbers in the parameter's units";
	if (why) {
		fx_osc_fail(req, path, "%s", why);
		return 0;
	}
	m->channel = any ? FX_MIDI_ANY_CHANNEL : m->channel - 1;
	snprintf(m->target, sizeof m->target, "%s", target);
	return 1;
}

static void m_midi_map(const FxOscNamespace *ns, FxOscRequest *req,
                       const char *path, const char *types, lo_arg **argv,
                       int argc)
{
	FxMidi *midi = midi_on(ns, req, path);
	FxMidiMapping m;
	char err[256] = "";
	if (!midi || !map_args(req, path, types, argv, argc, &m))
		return;
	if (fx_midi_map(midi, &m, err, sizeof err) != FX_OK)
		fx_osc_fail(req, path, "%s", err);
	else
		done(req, path);
}

static void m_midi_unmap(const FxOscNamespace *ns, FxOscRequest *req,
                         const char *path, const char *types, lo_arg **argv,
                         int argc)
{
	FxMidi *midi = midi_on(ns, req, path);
	const char *target = midi ? one_string(req, path, types, argv, argc,
	                                       "the path a mapping drives")
	                          : NULL;
	if (!target)
		return;
	if (fx_midi_unmap(midi, target) == 0)
		fx_osc_fail(req, path, "no mapping drives %s", target);
	else
		done(req, path);
}

/* Like /fxd/list: one /fxd/midi/mapping ,s per mapping, as a [midi]
 * line, then /fxd/midi/list/done ,i <count>. */
static void m_midi_list(const FxOscNamespace *ns, FxOscRequest *req,
                        const char *path, const char *types, lo_arg **argv,
                        int argc)
{
	(void)types, (void)argv;
	FxMidi *midi = midi_on(ns, req, path);
	if (!midi || !no_args(req, path, argc))
		return;
	int n;
	FxMidiMapping *maps = midi_mappings(midi, &n);
	if (!maps) {
		fx_osc_fail(req, path, "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		char line[FX_MIDI_TARGET_MAX + 96];
		fx_midi_mapping_format(&maps[i], line, sizeof line);
		fx_osc_reply(req, "/fxd/midi/mapping", "s", line);
	}
	free(maps);
	fx_osc_reply(req, "/fxd/midi/list/done", "i", n);
}

/* A tap at the message's arrival; like /fxd/panic, a button's release
 * (a number below 0.5) is not one. */
static void m_tap(const FxOscNamespace *ns, FxOscRequest *req, const char *path,
                  const char *types, lo_arg **argv, int argc)
{
	FxMidi *midi = midi_on(ns, req, path);
	double v = 1;
	if (!midi ||
	    (argc && !fx_osc_one_number(req, path, types, argv, argc, &v)))
		return;
	if (v >= 0.5)
		fx_midi_tap(midi, (double)req->rx_ns * 1e-9);
}

/* /fxd/morph/a and /b: a preset as that end; no argument: its name. */
static void morph_end(const FxOscNamespace *ns, FxOscRequest *req,
                      const char *path, const char *types, lo_arg **argv,
                      int argc, int end)
{
	FxMidi *midi = midi_on(ns, req, path);
	if (!midi)
		return;
	if (argc == 0) {
		char a[FX_MIDI_TARGET_MAX], b[FX_MIDI_TARGET_MAX];
		fx_midi_morph_position(midi, a, b, sizeof a);
		fx_osc_reply(req, path, "s", end ? b : a);
		return;
	}
	const char *name = one_string(req, path, types, argv, argc,
	                              "a preset name");
	FxChainSpec spec;
	char err[512] = "";
	if (!name)
		return;
	if (fx_control_preset_read(ns->control, name, &spec, err, sizeof err) !=
	            FX_OK ||
	    fx_midi_morph_end(midi, end, name, &spec, err, sizeof err) != FX_OK)
		fx_osc_fail(req, path, "%s", err);
	else
		done(req, path);
}

static void m_morph_a(const FxOscNamespace *ns, FxOscRequest *req,
                      const char *path, const char *types, lo_arg **argv,
                      int argc)
{
	morph_end(ns, req, path, types, argv, argc, 0);
}

static void m_morph_b(const FxOscNamespace *ns, FxOscRequest *req,
                      const char *path, const char *types, lo_arg **argv,
                      int argc)
{
	morph_end(ns, req, path, types, argv, argc, 1);
}

/* Moves the morph (clamped to 0..1, as parameters are); no argument: the
 * position, which fails until the morph has been moved. */
static void m_morph(const FxOscNamespace *ns, FxOscRequest *req,
                    const char *path, const char *types, lo_arg **argv, int argc)
{
	FxMidi *midi = midi_on(ns, req, path);
	double x;
	char err[256] = "";
	if (!midi)
		return;
	if (argc == 0) {
		char a[FX_MIDI_TARGET_MAX], b[FX_MIDI_TARGET_MAX];
		x = fx_midi_morph_position(midi, a, b, sizeof a);
		if (isnan(x))
			fx_osc_fail(req, path,
			            "the morph has not been moved yet");
		else
			fx_osc_reply(req, path, "f", x);
		return;
	}
	if (!fx_osc_one_number(req, path, types, argv, argc, &x))
		return;
	x = x < 0 ? 0 : x > 1 ? 1 : x;
	if (fx_midi_morph(midi, x, err, sizeof err) != FX_OK)
		fx_osc_fail(req, path, "%s", err);
}

/* ---- subscriptions -------------------------------------------------------- */

/* "<host> <port>" at the start of the arguments, or else the sender
 * (over UDP). Returns the arguments taken (0 or 2), or -1 after a fail. */
static int subscriber_addr(FxOscRequest *req, const char *path, const char *types,
                           lo_arg **argv, int argc, struct sockaddr_in *addr)
{
	const char *host = argc >= 1 ? fx_osc_arg_string(types, argv, 0) : NULL;
	double v;
	if (!host) {
		if (req->peer.tcp >= 0) {
			fx_osc_fail(req, path,
			            "over TCP, give a UDP host and "
			            "port to send to");
			return -1;
		}
		*addr = req->peer.addr;
		return 0;
	}
	memset(addr, 0, sizeof *addr);
	addr->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &addr->sin_addr) != 1) {
		fx_osc_fail(req, path,
		            "host '%s' is not a numeric IPv4 "
		            "address",
		            host);
		return -1;
	}
	if (argc < 2 || !fx_osc_arg_number(types, argv, 1, &v) || v < 1 ||
	    v > 65535 || v != floor(v)) {
		fx_osc_fail(req, path,
		            "expects a port 1..65535 after the "
		            "host");
		return -1;
	}
	addr->sin_port = htons((uint16_t)v);
	if (fx_osc_transport_is_self(req->transport, addr)) {
		fx_osc_fail(req, path, "that is fxd's own OSC port");
		return -1;
	}
	return 2;
}

/* [host port] [interval_ms] into an address and an interval. */
static int subscriber_args(FxOscRequest *req, const char *path, const char *types,
                           lo_arg **argv, int argc, int want_interval,
                           struct sockaddr_in *addr, int *interval)
{
	*interval = INTERVAL_DEFAULT_MS;
	int at = subscriber_addr(req, path, types, argv, argc, addr);
	if (at < 0)
		return 0;
	double v;
	if (argc > at) {
		if (!want_interval || argc > at + 1 ||
		    !fx_osc_arg_number(types, argv, at, &v) || !isfinite(v)) {
			fx_osc_fail(req, path, "expects [host port]%s",
			            want_interval ? " [interval_ms]" : "");
			return 0;
		}
		v = v < INTERVAL_MIN_MS   ? INTERVAL_MIN_MS
		    : v > INTERVAL_MAX_MS ? INTERVAL_MAX_MS
		                          : v;
		*interval = (int)v;
	}
	return 1;
}

static void m_subscribe(const FxOscNamespace *ns, FxOscRequest *req,
                        const char *path, const char *types, lo_arg **argv,
                        int argc)
{
	struct sockaddr_in addr;
	int interval;
	if (!subscriber_args(req, path, types, argv, argc, 1, &addr, &interval))
		return;
	if (fx_osc_subs_add(ns->subs, &addr, interval, 0) != FX_OK)
		fx_osc_fail(req, path,
		            "too many subscribers: all %d are "
		            "--osc-targets",
		            FX_OSC_MAX_SUBSCRIBERS);
}

static void m_unsubscribe(const FxOscNamespace *ns, FxOscRequest *req,
                          const char *path, const char *types, lo_arg **argv,
                          int argc)
{
	struct sockaddr_in addr;
	int interval;
	if (!subscriber_args(req, path, types, argv, argc, 0, &addr, &interval))
		return;
	char err[128];
	if (fx_osc_subs_remove(ns->subs, &addr, err, sizeof err) != FX_OK) {
		fx_osc_fail(req, path, "%s", err);
		return;
	}
	char host[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
	fx_osc_reply(req, "/fxd/unsubscribed", "si", host, ntohs(addr.sin_port));
}

/* ---- the table ------------------------------------------------------------ */

static const FxOscMethod METHODS[] = {
	{"/fxd/ping", "", m_ping, "answers /fxd/pong"},
	{"/fxd/mute", "[N]", m_mute,
         "mutes (fading) or unmutes; no "
         "argument: asks"},
	{"/fxd/panic", "[N]", m_panic,
         "mutes, resets every effect's state, "
         "unmutes"},
	{"/fxd/reset_state", "", m_reset_state,
         "resets every effect's "
         "state"},
	{"/fxd/reset_metrics", "", m_reset_metrics,
         "starts the statistics "
         "afresh"},
	{"/fxd/sync", "i", m_sync,
         "answers once the audio worker applied "
         "every change before it"},
	{"/fxd/list", "", m_list, "describes every parameter"},
	{"/fxd/info", "s", m_info, "describes one parameter"},
	{"/fxd/json", "", m_json, "the namespace as JSON, in parts"},
	{"/fxd/stats", "", m_stats,
         "timing, load and counters as "
         "name/value pairs"},
	{"/fxd/chain", "", m_chain, "the chain's text"},
	{"/fxd/chain/load", "s", m_chain_load, "swaps in a new chain"},
	{"/fxd/bpm", "[N]", m_bpm, "sets the tempo; no argument: asks"},
	{"/fxd/preset/save", "s", m_preset_save,
         "saves the chain as a "
         "preset"},
	{"/fxd/preset/load", "s", m_preset_load, "loads a preset"},
	{"/fxd/preset/list", "", m_preset_list,
         "the presets' names, in "
         "parts"},
	{"/fxd/subscribe", "[si][i]", m_subscribe,
         "feedback, meters and "
         "stats to the sender or a host"},
	{"/fxd/unsubscribe", "[si]", m_unsubscribe, "ends a subscription"},
	{"/fxd/midi/learn", "s", m_midi_learn,
         "maps the next CC or note received to a path"},
	{"/fxd/midi/map", "sNN[NN]", m_midi_map,
         "maps a CC (channel 1..16 or *) to a path"},
	{"/fxd/midi/unmap", "s", m_midi_unmap, "removes a path's mappings"},
	{"/fxd/midi/list", "", m_midi_list, "the MIDI mappings, one a reply"},
	{"/fxd/tap", "[N]", m_tap, "taps the tempo"},
	{"/fxd/morph/a", "[s]", m_morph_a,
         "a preset as morph end A; no argument: asks"},
	{"/fxd/morph/b", "[s]", m_morph_b,
         "a preset as morph end B; no argument: asks"},
	{"/fxd/morph", "[N]", m_morph,
         "moves the morph between A and B (0..1); no argument: asks"},
};

const FxOscMethod *fx_osc_methods(size_t *n)
{
	*n = sizeof METHODS / sizeof METHODS[0];
	return METHODS;
}

/* What fxd itself sends as replies and feedback. Coming in, they are
 * another fxd's (or a loop's) output: answering would start a storm. */
static const char *const replies[] = {
	"/fxd/fail",
	"/fxd/done",
	"/fxd/pong",
	"/fxd/subscribed",
	"/fxd/unsubscribed",
	"/fxd/synced",
	"/fxd/param",
	"/fxd/list/done",
	"/fxd/output",
	"/fxd/outputs",
	"/fxd/meters",
	"/fxd/meters/in",
	"/fxd/counters",
	"/fxd/midi/learned",
	"/fxd/midi/mapping",
	"/fxd/midi/list/done",
	NULL,
};
/* Queries whose reply has the same address, with arguments. */
static const char *const echoed[] = {
	"/fxd/stats",       "/fxd/chain", "/fxd/json",
	"/fxd/preset/list", "/fxd/list",  NULL,
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

void fx_osc_dispatch(const FxOscNamespace *ns, FxOscRequest *req,
                     const char *path, const char *types, lo_arg **argv, int argc)
{
	if (is_reply(path, argc))
		return;
	path = fx_osc_params_resolve(ns->params, path);
	if (!strncmp(path, "/fx/", 4)) {
		fx_osc_params_handle(ns->params, req, path, types, argv, argc);
		return;
	}
	int hits = 0;
	for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++) {
		const FxOscMethod *m = &METHODS[i];
		/* liblo's '*' crosses '/'; OSC matches part by part. */
		if (!strcmp(path, m->path) ||
		    (fx_osc_has_pattern(path) &&
		     segments(path) == segments(m->path) &&
		     lo_pattern_match(m->path, path))) {
			m->handler(ns, req, m->path, types, argv, argc);
			hits++;
		}
	}
	if (!hits)
		fx_osc_fail(req, path, "unknown address");
}

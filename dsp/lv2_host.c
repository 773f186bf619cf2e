/* SPDX-License-Identifier: ISC */
/* The LV2 host's setup side: the lilv world, the URID map, and the class
 * built for each plugin URI. Never on the realtime path. */
#include <config.h>
#include "dsp/lv2_impl.h"

#include <lv2/state/state.h>

#include <ctype.h>
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/describe.h"
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/port-props/port-props.h>
#include <lv2/units/units.h>

/* One world and one list of classes for the process: a class must outlive
 * every spec that points at it, and specs are plain values copied freely
 * between threads, so classes are interned and kept until exit. */
static pthread_mutex_t world_lock = PTHREAD_MUTEX_INITIALIZER;
static LilvWorld *world;
static Lv2Plugin *classes;

void fx_lv2_lock(void)
{
	pthread_mutex_lock(&world_lock);
}

void fx_lv2_unlock(void)
{
	pthread_mutex_unlock(&world_lock);
}

/* ---- URID map: one table for every instance, so URIDs agree. ---- */

static pthread_mutex_t urid_lock = PTHREAD_MUTEX_INITIALIZER;
static char **urid_uris; ///< URID n is urid_uris[n - 1]
static uint32_t urid_count, urid_room;

static LV2_URID urid_map(LV2_URID_Map_Handle h, const char *uri)
{
	(void)h;
	if (!uri)
		return 0;
	LV2_URID id = 0;
	pthread_mutex_lock(&urid_lock);
	for (uint32_t i = 0; i < urid_count && !id; i++)
		if (!strcmp(urid_uris[i], uri))
			id = i + 1;
	if (!id) {
		if (urid_count == urid_room) {
			uint32_t room = urid_room ? urid_room * 2 : 64;
			char **grown = realloc(urid_uris, room * sizeof *grown);
			if (grown) {
				urid_uris = grown;
				urid_room = room;
			}
		}
		char *copy = urid_count < urid_room ? strdup(uri) : NULL;
		if (copy) {
			urid_uris[urid_count++] = copy;
			id = urid_count;
		}
	}
	pthread_mutex_unlock(&urid_lock);
	return id; /* 0 when out of memory, as the spec allows */
}

static const char *urid_unmap(LV2_URID_Unmap_Handle h, LV2_URID id)
{
	(void)h;
	const char *uri = NULL;
	pthread_mutex_lock(&urid_lock);
	if (id >= 1 && id <= urid_count)
		uri = urid_uris[id - 1];
	pthread_mutex_unlock(&urid_lock);
	return uri;
}

static LV2_URID_Map map_feature = {NULL, urid_map};
static LV2_URID_Unmap unmap_feature = {NULL, urid_unmap};

LV2_URID_Map *fx_lv2_urid_map(void)
{
	return &map_feature;
}

LV2_URID_Unmap *fx_lv2_urid_unmap(void)
{
	return &unmap_feature;
}

/* ---- The world ---- */

/* Features fxd gives every instance (lv2_effect.c); a plugin that requires
 * any other is refused. isLive, hardRTCapable and inPlaceBroken ask
 * nothing fxd does not already do (it runs live, in real time, with
 * separate input and output buffers). */
static const char *const provided_features[] = {
	LV2_URID__map,
	LV2_URID__unmap,
	LV2_OPTIONS__options,
	LV2_BUF_SIZE__boundedBlockLength,
	LV2_LOG__log,
	LV2_CORE__isLive,
	LV2_CORE__hardRTCapable,
	LV2_CORE__inPlaceBroken,
	LV2_WORKER__schedule,
	NULL,
};

static LilvWorld *world_get(void)
{
	if (!world) {
		world = lilv_world_new();
		if (world)
			lilv_world_load_all(world); /* honours LV2_PATH */
	}
	return world;
}

/* Plugin binaries stay loaded for the life of the process, as in most
 * hosts: every chain rebuild would otherwise unload and reload them, and
 * some plugins' libraries do not survive being unloaded. It also keeps
 * their code named in leak reports (tests/lsan-plugins.supp). */
LilvWorld *fx_lv2_world_locked(void)
{
	return world_get();
}

void fx_lv2_pin_library(const Lv2Plugin *p)
{
	if (p->library)
		return;
	const LilvNode *lib = lilv_plugin_get_library_uri(p->plugin);
	char *path = lib ? lilv_file_uri_parse(lilv_node_as_uri(lib), NULL)
	                 : NULL;
	if (path)
		((Lv2Plugin *)p)->library = dlopen(path, RTLD_NOW | RTLD_NOLOAD |
		                                                 RTLD_LOCAL);
	lilv_free(path);
}

static int node_is(const LilvPlugin *pl, const LilvPort *port, const char *uri)
{
	LilvNode *n = lilv_new_uri(world, uri);
	int yes = n && lilv_port_is_a(pl, port, n);
	lilv_node_free(n);
	return yes;
}

static int has_property(const LilvPlugin *pl, const LilvPort *port,
                        const char *uri)
{
	LilvNode *n = lilv_new_uri(world, uri);
	int yes = n && lilv_port_has_property(pl, port, n);
	lilv_node_free(n);
	return yes;
}

/* The LV2 units fxd names; others show no unit. */
static const struct {
	const char *uri, *symbol;
	FxScale scale;
} units[] = {
	{LV2_UNITS__db, "dB", FX_SCALE_DB},
	{LV2_UNITS__hz, "Hz", FX_SCALE_LIN},
	{LV2_UNITS__khz, "kHz", FX_SCALE_LIN},
	{LV2_UNITS__ms, "ms", FX_SCALE_LIN},
	{LV2_UNITS__s, "s", FX_SCALE_LIN},
	{LV2_UNITS__pc, "%", FX_SCALE_LIN},
	{LV2_UNITS__cent, "cents", FX_SCALE_LIN},
	{LV2_UNITS__semitone12TET, "semitones", FX_SCALE_LIN},
	{LV2_UNITS__bpm, "BPM", FX_SCALE_LIN},
	{LV2_UNITS__degree, "degrees", FX_SCALE_LIN},
	{LV2_UNITS__oct, "octaves", FX_SCALE_LIN},
	{LV2_UNITS__frame, "frames", FX_SCALE_LIN},
	{LV2_UNITS__beat, "beats", FX_SCALE_LIN},
	{LV2_UNITS__coef, "", FX_SCALE_LIN},
	{LV2_UNITS__midiNote, "note", FX_SCALE_LIN},
};

static int unit_of(const LilvPlugin *pl, const LilvPort *port)
{
	LilvNode *pred = lilv_new_uri(world, LV2_UNITS__unit);
	LilvNodes *vals = pred ? lilv_port_get_value(pl, port, pred) : NULL;
	int found = -1;
	if (vals && lilv_nodes_size(vals)) {
		const LilvNode *u = lilv_nodes_get_first(vals);
		if (lilv_node_is_uri(u))
			for (size_t i = 0; i < sizeof units / sizeof *units; i++)
				if (!strcmp(lilv_node_as_uri(u), units[i].uri))
					found = (int)i;
	}
	lilv_nodes_free(vals);
	lilv_node_free(pred);
	return found;
}

/* The float as the plugin wrote it: 0.001, not 0.0010000000474974513. */
static double shortest(float f)
{
	char text[32];
	for (int digits = 1; digits < 10; digits++) {
		snprintf(text, sizeof text, "%.*g", digits, (double)f);
		if (strtof(text, NULL) == f)
			return strtod(text, NULL);
	}
	return f;
}

static float node_float(const LilvNode *n, float fallback)
{
	return n && (lilv_node_is_float(n) || lilv_node_is_int(n))
	               ? lilv_node_as_float(n)
	               : fallback;
}

/* A scale point label as a spec word: blanks and the spec's own
 * characters become '_'. */
static char *word_of(const char *label)
{
	char *w = strdup(label && *label ? label : "_");
	for (char *c = w; c && *c; c++)
		if (isspace((unsigned char)*c) || *c == '|' || *c == '#' ||
		    *c == '=' || *c == ':')
			*c = '_';
	return w;
}

typedef struct {
	float value;
	const char *label;
} Point;

static int point_cmp(const void *a, const void *b)
{
	float x = ((const Point *)a)->value, y = ((const Point *)b)->value;
	return (x > y) - (x < y);
}

/* An enumeration's scale points, by value, as labels and port values. */
static int enum_points(const LilvPlugin *pl, const LilvPort *port,
                       FxParamInfo *info, Lv2Control *ctl, float def)
{
	LilvScalePoints *sps = lilv_port_get_scale_points(pl, port);
	unsigned n = sps ? lilv_scale_points_size(sps) : 0;
	if (n < 1 || n > 256) {
		lilv_scale_points_free(sps);
		return 0;
	}
	Point pts[256] = {{0}};
	unsigned k = 0;
	for (LilvIter *i = lilv_scale_points_begin(sps);
	     k < n && !lilv_scale_points_is_end(sps, i);
	     i = lilv_scale_points_next(sps, i)) {
		const LilvScalePoint *sp = lilv_scale_points_get(sps, i);
		pts[k].value = node_float(lilv_scale_point_get_value(sp), 0);
		pts[k].label = lilv_node_as_string(lilv_scale_point_get_label(sp));
		k++;
	}
	qsort(pts, k, sizeof *pts, point_cmp);
	char **labels = calloc(k + 1, sizeof *labels);
	float *values = calloc(k, sizeof *values);
	int ok = labels && values;
	int best = 0;
	for (unsigned i = 0; ok && i < k; i++) {
		values[i] = pts[i].value;
		ok = (labels[i] = word_of(pts[i].label)) != NULL;
		if (fabsf(pts[i].value - def) < fabsf(pts[best].value - def))
			best = (int)i;
	}
	lilv_scale_points_free(sps);
	if (!ok) {
		for (unsigned i = 0; labels && i < k; i++)
			free(labels[i]);
		free(labels);
		free(values);
		return -1;
	}
	info->labels = (const char *const *)labels;
	info->scale = FX_SCALE_ENUM;
	info->min = 0;
	info->max = k - 1;
	info->def = best;
	info->flags = FX_PARAM_INTEGER;
	ctl->points = values;
	return 1;
}

static const char *const toggle_labels[] = {"off", "on", NULL};
static const float toggle_values[] = {0.0f, 1.0f};

/* Ranges of sampleRate ports are shown at this rate (see lv2_process.c,
 * which clamps at the instance's real rate). */
enum { NOMINAL_RATE = 48000 };

/* A control port's symbol and name into @p info, and its range (NaN
 * where the plugin gives none). */
static void port_info(const LilvPlugin *pl, const LilvPort *port,
                      FxParamInfo *info, float *lower, float *upper, float *def)
{
	info->name = strdup(lilv_node_as_string(lilv_port_get_symbol(pl, port)));
	LilvNode *nm = lilv_port_get_name(pl, port);
	info->doc = strdup(nm ? lilv_node_as_string(nm) : "");
	lilv_node_free(nm);
	LilvNode *d, *lo, *hi;
	lilv_port_get_range(pl, port, &d, &lo, &hi);
	*lower = node_float(lo, NAN);
	*upper = node_float(hi, NAN);
	*def = node_float(d, NAN);
	lilv_node_free(d);
	lilv_node_free(lo);
	lilv_node_free(hi);
}

/* Fills parameter @p i of @p p from a control input port. */
static int build_control(Lv2Plugin *p, const LilvPort *port, uint32_t index,
                         char *why, size_t why_size)
{
	int i = p->cls.n_params;
	FxParamInfo *info = &p->params[i];
	Lv2Control *ctl = &p->controls[i];
	const LilvPlugin *pl = p->plugin;
	ctl->port = index;
	float lower, upper, def;
	port_info(pl, port, info, &lower, &upper, &def);
	if (isnan(lower))
		lower = isnan(def) || def > 0 ? 0 : def;
	if (isnan(upper) || upper <= lower)
		upper = isnan(def) || def < lower + 1 ? lower + 1 : def;
	if (isnan(def) || def < lower || def > upper)
		def = lower;
	ctl->lower = lower;
	ctl->upper = upper;
	ctl->sample_rate = has_property(pl, port, LV2_CORE__sampleRate);
	double scale = ctl->sample_rate ? NOMINAL_RATE : 1;
	int u = unit_of(pl, port);
	info->unit = u >= 0 ? units[u].symbol : ctl->sample_rate ? "Hz" : "";
	info->scale = u >= 0 ? units[u].scale : FX_SCALE_LIN;
	info->min = shortest(lower) * scale;
	info->max = shortest(upper) * scale;
	info->def = shortest(def) * scale;
	info->flags = FX_PARAM_SMOOTHED;
	if (!info->name || !info->doc)
		return -1;
	if (has_property(pl, port, LV2_CORE__toggled)) {
		info->labels = toggle_labels;
		info->scale = FX_SCALE_ENUM;
		info->min = 0;
		info->max = 1;
		info->def = def > 0;
		info->flags = FX_PARAM_INTEGER;
		ctl->points = toggle_values;
	} else if (has_property(pl, port, LV2_CORE__enumeration)) {
		int got = enum_points(p->plugin, port, info, ctl, def);
		if (got < 0)
			return -1;
		if (!got) {
			snprintf(why, why_size,
			         "port '%s' is an enumeration without scale "
			         "points",
			         info->name);
			return 1;
		}
	} else if (has_property(pl, port, LV2_CORE__integer)) {
		info->flags = FX_PARAM_INTEGER;
		info->min = ceil(info->min);
		info->max = floor(info->max);
		info->def = nearbyint(info->def);
	} else if (has_property(pl, port, LV2_PORT_PROPS__logarithmic) &&
	           info->min > 0) {
		info->scale = FX_SCALE_LOG;
	}
	if (info->max < info->min) {
		snprintf(why, why_size, "port '%s' has an empty range",
		         info->name);
		return 1;
	}
	p->param_of[index] = i;
	p->cls.n_params++;
	return 0;
}

/* A control output as a read-only value; past FX_MAX_OUTPUTS (and the
 * latency port, which fxd reports its own way) it is connected but not
 * published. */
static int build_output(Lv2Plugin *p, const LilvPort *port, uint32_t index)
{
	int i = p->cls.n_outputs;
	if (i == FX_MAX_OUTPUTS || (int)index == p->latency_port)
		return 0;
	const LilvPlugin *pl = p->plugin;
	FxParamInfo *info = &p->outputs[i];
	float lower, upper, def;
	port_info(pl, port, info, &lower, &upper, &def);
	info->min = shortest(isnan(lower) ? 0 : lower);
	info->max = shortest(isnan(upper) ? 1 : upper);
	int u = unit_of(pl, port);
	info->unit = u >= 0 ? units[u].symbol : "";
	info->scale = u >= 0 ? units[u].scale : FX_SCALE_LIN;
	if (!info->name || !info->doc)
		return -1;
	p->output_port[i] = index;
	p->cls.n_outputs++;
	return 0;
}

static void plugin_free(Lv2Plugin *p)
{
	if (!p)
		return;
	/* A control that failed half-built has its name but no count. */
	for (int i = 0; i < FX_MAX_PARAMS; i++) {
		FxParamInfo *info = &p->params[i];
		free((char *)info->name);
		free((char *)info->doc);
		if (info->labels == toggle_labels)
			continue;
		for (int k = 0; info->labels && info->labels[k]; k++)
			free((char *)info->labels[k]);
		free((void *)info->labels);
		free((void *)p->controls[i].points);
	}
	if (p->library)
		dlclose(p->library);
	for (int i = 0; i < FX_MAX_OUTPUTS; i++) {
		free((char *)p->outputs[i].name);
		free((char *)p->outputs[i].doc);
	}
	free(p->uri);
	free(p->name);
	free(p);
}

/* Sorts every port of @p p into what fxd connects it to; 1 with @p why
 * set when a port cannot be hosted, -1 when out of memory. */
static int build_ports(Lv2Plugin *p, char *why, size_t why_size)
{
	const LilvPlugin *pl = p->plugin;
	p->n_ports = lilv_plugin_get_num_ports(pl);
	if (p->n_ports > LV2_MAX_PORTS) {
		snprintf(why, why_size, "has %u ports; fxd hosts at most %d",
		         p->n_ports, LV2_MAX_PORTS);
		return 1;
	}
	int controls = 0;
	for (uint32_t i = 0; i < p->n_ports; i++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(pl, i);
		int in = node_is(pl, port, LV2_CORE__InputPort);
		if (node_is(pl, port, LV2_CORE__ControlPort))
			controls += in;
	}
	if (controls > FX_MAX_PARAMS) {
		snprintf(why, why_size,
		         "has %d control inputs; fxd hosts at most %d",
		         controls, FX_MAX_PARAMS);
		return 1;
	}
	p->latency_port = lilv_plugin_has_latency(pl)
	                          ? (int)lilv_plugin_get_latency_port_index(pl)
	                          : -1;
	for (uint32_t i = 0; i < p->n_ports; i++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(pl, i);
		const char *sym = lilv_node_as_string(
			lilv_port_get_symbol(pl, port));
		int in = node_is(pl, port, LV2_CORE__InputPort);
		int out = node_is(pl, port, LV2_CORE__OutputPort);
		p->param_of[i] = -1;
		if (in == out) {
			snprintf(why, why_size,
			         "port '%s' is neither an input nor an output",
			         sym);
			return 1;
		}
		if (node_is(pl, port, LV2_CORE__ControlPort)) {
			p->kind[i] = in ? LV2_PORT_CONTROL_IN
			                : LV2_PORT_CONTROL_OUT;
			int r = in ? build_control(p, port, i, why, why_size)
			           : build_output(p, port, i);
			if (r)
				return r;
		} else if (node_is(pl, port, LV2_CORE__AudioPort)) {
			p->kind[i] = in ? LV2_PORT_AUDIO_IN : LV2_PORT_AUDIO_OUT;
			*(in ? &p->n_audio_in : &p->n_audio_out) += 1;
		} else if (node_is(pl, port, LV2_ATOM__AtomPort)) {
			p->kind[i] = in ? LV2_PORT_ATOM_IN : LV2_PORT_ATOM_OUT;
			p->n_atom++;
		} else {
			snprintf(why, why_size,
			         "port '%s' is of a type fxd cannot connect "
			         "(not control, audio or atom)",
			         sym);
			return 1;
		}
	}
	if (p->n_audio_in < 1 || p->n_audio_out < 1 ||
	    p->n_audio_in > LV2_MAX_CHANNELS ||
	    p->n_audio_out > LV2_MAX_CHANNELS) {
		snprintf(why, why_size,
		         "has %d audio inputs and %d outputs; fxd hosts "
		         "effects, with 1 to %d of each",
		         p->n_audio_in, p->n_audio_out, LV2_MAX_CHANNELS);
		return 1;
	}
	if (p->n_audio_in != p->n_audio_out) {
		snprintf(why, why_size,
		         "has %d audio inputs and %d outputs; a chain keeps its "
		         "channel count, so fxd hosts plugins with as many "
		         "outputs as inputs",
		         p->n_audio_in, p->n_audio_out);
		return 1;
	}
	return 0;
}

static int missing_feature(const LilvPlugin *pl, char *why, size_t why_size)
{
	LilvNodes *req = lilv_plugin_get_required_features(pl);
	int missing = 0;
	for (LilvIter *i = lilv_nodes_begin(req); !lilv_nodes_is_end(req, i);
	     i = lilv_nodes_next(req, i)) {
		const char *f = lilv_node_as_uri(lilv_nodes_get(req, i));
		int known = 0;
		for (int k = 0; provided_features[k] && !known; k++)
			known = f && !strcmp(f, provided_features[k]);
		if (!known && !missing) {
			snprintf(why, why_size,
			         "requires the feature %s, which fxd does not "
			         "provide",
			         f ? f : "(blank)");
			missing = 1;
		}
	}
	lilv_nodes_free(req);
	return missing;
}

static const FxEffectClass lv2_template = {
	.name = FX_LV2_EFFECT,
	.state_size = sizeof(Lv2State),
	.init = fx_lv2_init,
	.plan = fx_lv2_plan,
	.cleanup = fx_lv2_cleanup,
	.reset = fx_lv2_reset,
	.update = fx_lv2_update,
	.process = fx_lv2_process,
	.latency = fx_lv2_latency,
	.faults = fx_lv2_faults,
	.restart = fx_lv2_restart_muted,
	// A plugin's state is opaque: it cannot be rolled back cheaply.
	.no_rewind = 1,
	.keep_running = 1,
	.read_outputs = fx_lv2_read_outputs,
};

/* Builds the class of @p pl; NULL with @p why set when it cannot be
 * hosted. Called with the world locked. */
static Lv2Plugin *plugin_build(const LilvPlugin *pl, char *why, size_t why_size)
{
	Lv2Plugin *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(why, why_size, "out of memory");
		return NULL;
	}
	p->plugin = pl;
	p->cls = lv2_template;
	p->cls.params = p->params;
	p->cls.outputs = p->outputs;
	p->cls.priv = p;
	p->uri = strdup(lilv_node_as_uri(lilv_plugin_get_uri(pl)));
	LilvNode *nm = lilv_plugin_get_name(pl);
	p->name = strdup(nm ? lilv_node_as_string(nm) : "");
	lilv_node_free(nm);
	int r = !p->uri || !p->name ? -1 : missing_feature(pl, why, why_size);
	if (!r)
		r = build_ports(p, why, why_size);
	if (r) {
		if (r < 0)
			snprintf(why, why_size, "out of memory");
		plugin_free(p);
		return NULL;
	}
	p->cls.doc = p->name;
	p->cls.uri = p->uri;
	LilvNode *state = lilv_new_uri(world, LV2_STATE__interface);
	if (lilv_plugin_has_extension_data(pl, state))
		p->cls.save = fx_lv2_save;
	lilv_node_free(state);
	return p;
}

/* The closest installed URI to @p uri, for "did you mean". */
static void suggest(const LilvPlugins *all, const char *uri, char *why,
                    size_t why_size)
{
	FxSuggest s = fx_suggest_start(uri);
	for (LilvIter *i = lilv_plugins_begin(all);
	     !lilv_plugins_is_end(all, i); i = lilv_plugins_next(all, i))
		fx_suggest_offer(&s, lilv_node_as_uri(lilv_plugin_get_uri(
					     lilv_plugins_get(all, i))));
	if (s.best)
		snprintf(why, why_size,
		         "no LV2 plugin '%s' is installed (did you mean '%s'?)",
		         uri, s.best);
	else
		snprintf(why, why_size,
		         "no LV2 plugin '%s' is installed (fxd --list-lv2 "
		         "lists them)",
		         uri);
}

/* The class for @p pl, from the list or newly built. Locked. */
static Lv2Plugin *class_of(const LilvPlugin *pl, char *why, size_t why_size)
{
	const char *uri = lilv_node_as_uri(lilv_plugin_get_uri(pl));
	for (Lv2Plugin *p = classes; p; p = p->next)
		if (!strcmp(p->uri, uri))
			return p;
	Lv2Plugin *p = plugin_build(pl, why, why_size);
	if (p) {
		p->next = classes;
		classes = p;
	}
	return p;
}

const FxEffectClass *fx_lv2_class(const char *uri, char *why, size_t why_size)
{
	char spare[8];
	if (!why || !why_size) {
		why = spare;
		why_size = sizeof spare;
	}
	why[0] = '\0';
	fx_lv2_lock();
	Lv2Plugin *p = NULL;
	LilvWorld *w = world_get();
	LilvNode *node = w ? lilv_new_uri(w, uri) : NULL;
	if (!w || !node) {
		snprintf(why, why_size, "cannot read the LV2 world");
	} else {
		const LilvPlugins *all = lilv_world_get_all_plugins(w);
		const LilvPlugin *pl = lilv_plugins_get_by_uri(all, node);
		if (pl)
			p = class_of(pl, why, why_size);
		else
			suggest(all, uri, why, why_size);
	}
	lilv_node_free(node);
	fx_lv2_unlock();
	return p ? &p->cls : NULL;
}

int fx_lv2_is_plugin(const FxEffectClass *cls)
{
	return cls && cls->init == fx_lv2_init;
}

void fx_lv2_shape_text(const FxEffectClass *cls, int channels, char *buf,
                       size_t size)
{
	const Lv2Plugin *p = fx_lv2_is_plugin(cls) ? cls->priv : NULL;
	if (!p || (p->n_audio_in == channels && p->n_audio_out == channels) ||
	    (p->n_audio_in == 1 && p->n_audio_out == 1)) {
		if (size)
			buf[0] = '\0';
		return;
	}
	snprintf(buf, size,
	         "%s has %d audio inputs and %d outputs, which fit neither "
	         "the chain's %d channels nor one channel each",
	         p->uri, p->n_audio_in, p->n_audio_out, channels);
}

int fx_lv2_list(FILE *out)
{
	fx_lv2_lock();
	LilvWorld *w = world_get();
	int hosted = 0, refused = 0;
	if (!w) {
		fx_lv2_unlock();
		return 0;
	}
	const LilvPlugins *all = lilv_world_get_all_plugins(w);
	for (int pass = 0; pass < 2; pass++) {
		if (pass && refused)
			fputs("\nnot hostable:\n", out);
		for (LilvIter *i = lilv_plugins_begin(all);
		     !lilv_plugins_is_end(all, i); i = lilv_plugins_next(all, i)) {
			const LilvPlugin *pl = lilv_plugins_get(all, i);
			char why[256];
			Lv2Plugin *p = class_of(pl, why, sizeof why);
			const char *uri = lilv_node_as_uri(
				lilv_plugin_get_uri(pl));
			if (p && !pass) {
				fprintf(out, "%s\n  %s; %d in, %d out%s%s\n", uri,
				        p->name, p->n_audio_in, p->n_audio_out,
				        p->n_audio_in == 1
				                ? " (one instance per channel)"
				                : "",
				        p->latency_port >= 0 ? "; reports latency"
				                             : "");
				hosted++;
			} else if (!p && pass) {
				fprintf(out, "%s\n  %s\n", uri, why);
			} else if (!p) {
				refused++;
			}
		}
	}
	fx_lv2_unlock();
	return hosted;
}

FxStatus fx_lv2_describe(const char *uri, FILE *out, char *why, size_t why_size)
{
	const FxEffectClass *cls = fx_lv2_class(uri, why, why_size);
	if (!cls)
		return FX_ERR_UNKNOWN_EFFECT;
	const Lv2Plugin *p = cls->priv;
	fprintf(out, "%s %s=%s: %s; %d in, %d out%s\n", FX_LV2_EFFECT, "uri",
	        p->uri, p->name, p->n_audio_in, p->n_audio_out,
	        p->latency_port >= 0 ? "; reports latency" : "");
	fx_describe_params_text(cls, out);
	return FX_OK;
}

void fx_lv2_release(void)
{
	fx_lv2_lock();
	while (classes) {
		Lv2Plugin *next = classes->next;
		plugin_free(classes);
		classes = next;
	}
	fx_lv2_state_release_locked();
	if (world)
		lilv_world_free(world);
	world = NULL;
	fx_lv2_unlock();
	fx_lv2_work_stop();
	pthread_mutex_lock(&urid_lock);
	for (uint32_t i = 0; i < urid_count; i++)
		free(urid_uris[i]);
	free(urid_uris);
	urid_uris = NULL;
	urid_count = urid_room = 0;
	pthread_mutex_unlock(&urid_lock);
}

/* SPDX-License-Identifier: ISC */
/* Not a test by itself: tests/unit/check_oscquery.py drives it. An engine
 * (a fake driver, no JACK) under an FxControl, and fx_oscquery_get's
 * answers to the commands read on stdin, one a line:
 *   GET PATH[?QUERY]      "?" alone is the empty query, none is NULL
 *   TABLES                the parameter tables, the method table and the
 *                         running chain, as JSON, to check the tree by
 *   SWAP SPEC             fx_control_swap
 *   SET SLOT PARAM VALUE  fx_control_set_param
 *   BYPASS SLOT 0|1, MUTE 0|1, BPM VALUE
 * Each answer is "== STATUS LENGTH\n", LENGTH bytes and "\n"; a command
 * that is not a GET answers status 0 (done) or -1 (the body says why).
 * Options: --name --osc-ip --osc-port --ws-ip --ws-port --feedback-hz
 * (the host) and --outputs N, --chain SPEC (default: fxd's). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/json.h"
#include "daemon/engine/control.h"
#include "daemon/engine/engine.h"
#include "daemon/options.h"
#include "osc/methods.h"
#include "osc/oscquery.h"

enum { PERIOD = 64, MAX_CH = 64 };

typedef struct {
	FxEngine *e;
	FxControl *c;
	int outputs;
	float in[MAX_CH][PERIOD], out[MAX_CH][PERIOD];
} Rig;

static void reply(int status, const char *body, size_t len)
{
	printf("== %d %zu\n", status, len);
	fwrite(body, 1, len, stdout);
	printf("\n");
	fflush(stdout);
}

static void done(FxStatus st, const char *why)
{
	const char *text = st == FX_OK   ? ""
	                   : why && *why ? why
	                                 : fx_strerror(st);
	reply(st == FX_OK ? 0 : -1, text, strlen(text));
}

/* A few periods, so what was staged or swapped is applied. */
static void run(Rig *r)
{
	const float *in[MAX_CH];
	float *out[MAX_CH];
	for (int c = 0; c < MAX_CH; c++) {
		in[c] = r->in[c];
		out[c] = r->out[c];
	}
	for (int p = 0; p < 8; p++) {
		fx_engine_process(r->e, in, out, PERIOD);
		fx_engine_work(r->e);
		fx_control_poll(r->c);
	}
}

static void write_param(FxJson *j, const FxParamInfo *p)
{
	fx_json_object(j);
	fx_json_key(j, "name");
	fx_json_string(j, p->name);
	fx_json_key(j, "unit");
	fx_json_string(j, p->unit);
	fx_json_key(j, "min");
	fx_json_number(j, p->min);
	fx_json_key(j, "max");
	fx_json_number(j, p->max);
	fx_json_key(j, "def");
	fx_json_number(j, p->def);
	fx_json_key(j, "scale");
	fx_json_string(j, fx_scale_name(p->scale));
	fx_json_key(j, "enum");
	fx_json_bool(j, p->scale == FX_SCALE_ENUM);
	fx_json_key(j, "integer");
	fx_json_bool(j, (p->flags & FX_PARAM_INTEGER) != 0);
	fx_json_key(j, "labels");
	fx_json_array(j);
	for (int i = 0; p->labels && p->labels[i]; i++)
		fx_json_string(j, p->labels[i]);
	fx_json_array_end(j);
	fx_json_key(j, "doc");
	fx_json_string(j, p->doc);
	fx_json_object_end(j);
}

/* The tables and the running chain; norm is the project's own
 * fx_param_to_norm, the one the tree must show. */
static void write_tables(FxJson *j, const void *arg)
{
	Rig *r = (Rig *)arg;
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	fx_json_object(j);
	fx_json_key(j, "effects");
	fx_json_object(j);
	for (int e = 0; fx_effects[e]; e++) {
		const FxEffectClass *cls = fx_effects[e];
		fx_json_key(j, cls->name);
		fx_json_object(j);
		fx_json_key(j, "doc");
		fx_json_string(j, cls->doc);
		fx_json_key(j, "params");
		fx_json_array(j);
		for (int p = 0; p < cls->n_params; p++)
			write_param(j, &cls->params[p]);
		fx_json_array_end(j);
		fx_json_key(j, "outputs");
		fx_json_array(j);
		for (int o = 0; o < cls->n_outputs; o++)
			fx_json_string(j, cls->outputs[o].name);
		fx_json_array_end(j);
		fx_json_object_end(j);
	}
	fx_json_object_end(j);
	size_t n;
	const FxOscMethod *m = fx_osc_methods(&n);
	fx_json_key(j, "methods");
	fx_json_array(j);
	for (size_t i = 0; i < n; i++) {
		fx_json_object(j);
		fx_json_key(j, "path");
		fx_json_string(j, m[i].path);
		fx_json_key(j, "args");
		fx_json_string(j, m[i].args);
		fx_json_key(j, "doc");
		fx_json_string(j, m[i].doc);
		fx_json_object_end(j);
	}
	fx_json_array_end(j);
	fx_json_key(j, "slots");
	fx_json_array(j);
	for (int s = 0; s < spec.n_slots; s++) {
		const FxSlotSpec *sl = &spec.slots[s];
		fx_json_object(j);
		fx_json_key(j, "label");
		fx_json_string(j, sl->label);
		fx_json_key(j, "effect");
		fx_json_string(j, sl->cls->name);
		fx_json_key(j, "bypass");
		fx_json_int(j, sl->bypass);
		fx_json_key(j, "values");
		fx_json_array(j);
		for (int p = 0; p < sl->cls->n_params; p++)
			fx_json_number(j, sl->values[p]);
		fx_json_array_end(j);
		fx_json_key(j, "norms");
		fx_json_array(j);
		for (int p = 0; p < sl->cls->n_params; p++)
			fx_json_number(j, fx_param_to_norm(&sl->cls->params[p],
			                                   sl->values[p]));
		fx_json_array_end(j);
		fx_json_object_end(j);
	}
	fx_json_array_end(j);
	fx_json_key(j, "muted");
	fx_json_int(j, fx_control_muted(r->c));
	fx_json_key(j, "bpm");
	fx_json_number(j, fx_control_bpm(r->c));
	fx_json_key(j, "outputs");
	fx_json_int(j, r->outputs);
	fx_json_object_end(j);
}

static void get(Rig *r, const FxOscQueryHost *host, char *target)
{
	char *q = strchr(target, '?');
	if (q)
		*q++ = '\0';
	char *body;
	size_t len;
	int status = fx_oscquery_get(r->c, host, target, q, &body, &len);
	if ((status == 200) != (body != NULL)) {
		fprintf(stderr, "status %d with body %p\n", status, (void *)body);
		exit(1);
	}
	if (body && strlen(body) != len) {
		fprintf(stderr, "length %zu, text of %zu\n", len, strlen(body));
		exit(1);
	}
	reply(status, body ? body : "", body ? len : 0);
	free(body);
}

/* A slot of the running chain and (@p param_s not NULL) one of its
 * parameters; 0 if none. */
static int find_param(Rig *r, const char *slot_s, const char *param_s,
                      int *slot, int *param)
{
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	*slot = fx_spec_find_slot(&spec, slot_s);
	if (*slot < 0)
		return 0;
	*param = param_s ? fx_param_find(spec.slots[*slot].cls, param_s) : 0;
	return *param >= 0;
}

static void command(Rig *r, const FxOscQueryHost *host, char *line)
{
	char *arg = strchr(line, ' ');
	if (arg)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	char a[64], b[64];
	double v;
	int slot, param;
	char why[256] = "";
	if (!strcmp(line, "GET")) {
		get(r, host, arg);
	} else if (!strcmp(line, "TABLES")) {
		size_t len;
		char *text = fx_json_new(write_tables, r, &len);
		reply(text ? 0 : -1, text ? text : "", text ? len : 0);
		free(text);
	} else if (!strcmp(line, "SWAP")) {
		FxChainSpec spec;
		FxSpecError e;
		if (fx_spec_parse(arg, "chain", &spec, &e) != FX_OK) {
			done(e.status, e.message);
			return;
		}
		FxStatus st = fx_control_swap(r->c, &spec, why, sizeof why);
		run(r);
		done(st, why);
	} else if (!strcmp(line, "SET") &&
	           sscanf(arg, "%63s %63s %lf", a, b, &v) == 3 &&
	           find_param(r, a, b, &slot, &param)) {
		FxStatus st = fx_control_set_param(r->c, slot, param, v, NULL, 0);
		run(r);
		done(st, NULL);
	} else if (!strcmp(line, "BYPASS") &&
	           sscanf(arg, "%63s %lf", a, &v) == 2 &&
	           find_param(r, a, NULL, &slot, &param)) {
		FxStatus st = fx_control_set_bypass(r->c, slot, v >= 0.5, 0);
		run(r);
		done(st, NULL);
	} else if (!strcmp(line, "MUTE") && sscanf(arg, "%lf", &v) == 1) {
		fx_control_mute(r->c, v >= 0.5);
		run(r);
		done(FX_OK, NULL);
	} else if (!strcmp(line, "BPM") && sscanf(arg, "%lf", &v) == 1) {
		FxStatus st = fx_control_set_bpm(r->c, v);
		done(st, NULL);
	} else {
		done(FX_ERR_SYNTAX, "unknown command");
	}
}

int main(int argc, char **argv)
{
	FxOscQueryHost host = {"fxd", "127.0.0.1", 9000, "127.0.0.1", 9001, 30};
	/* Numbers: the checker passes only well-formed ones. */
	const char *chain = FX_DEFAULT_CHAIN;
	int outputs = 2;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (!strcmp(o, "--name"))
			host.name = v;
		else if (!strcmp(o, "--osc-ip"))
			host.osc_ip = v;
		else if (!strcmp(o, "--osc-port"))
			host.osc_port = (int)strtol(v, NULL, 10);
		else if (!strcmp(o, "--ws-ip"))
			host.ws_ip = v;
		else if (!strcmp(o, "--ws-port"))
			host.ws_port = (int)strtol(v, NULL, 10);
		else if (!strcmp(o, "--feedback-hz"))
			host.feedback_hz = strtod(v, NULL);
		else if (!strcmp(o, "--outputs"))
			outputs = (int)strtol(v, NULL, 10);
		else if (!strcmp(o, "--chain"))
			chain = v;
	}
	FxChainSpec spec;
	FxSpecError e;
	if (fx_spec_parse(chain, "chain", &spec, &e) != FX_OK) {
		fprintf(stderr, "%s\n", e.message);
		return 1;
	}
	static Rig r;
	FxEngineConfig ec = fx_engine_config_default();
	ec.period = PERIOD;
	ec.inputs = ec.outputs = ec.channels = r.outputs = outputs;
	FxStatus st;
	r.e = fx_engine_new(&ec, &spec, &st);
	if (!r.e) {
		fprintf(stderr, "fx_engine_new: %s\n", fx_strerror(st));
		return 1;
	}
	fx_engine_set_worker_running(r.e, 0);
	FxControlConfig cc = {.preset_dir = "/nonexistent/fxd-oscquery-dump"};
	r.c = fx_control_new(r.e, &cc);
	if (!r.c)
		return 1;
	run(&r);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		command(&r, &host, line);
	}
	free(line);
	fx_control_free(r.c);
	fx_engine_free(r.e);
	return 0;
}

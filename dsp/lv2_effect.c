/* SPDX-License-Identifier: ISC */
/* An LV2 slot's setup side: instantiation, features, buffers and teardown,
 * all off the realtime path (the engine builds chains there and swaps them
 * in). */
#include <config.h>
#include "dsp/lv2_impl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <lv2/buf-size/buf-size.h>
#include <lv2/parameters/parameters.h>

/* Frames per run call for a chain of @p max_block frames. */
static int run_frames(int max_block)
{
	return max_block < LV2_MAX_RUN ? max_block : LV2_MAX_RUN;
}

/* Instances and channels per instance for @p channels, or 0 when the
 * plugin's audio ports fit neither way. */
static int shape(const Lv2Plugin *p, int channels, int *width)
{
	if (p->n_audio_in == channels && p->n_audio_out == channels) {
		*width = channels;
		return 1;
	}
	if (p->n_audio_in == 1 && p->n_audio_out == 1) {
		*width = 1;
		return channels;
	}
	return 0;
}

/* Audio in and out per channel, then control outputs per instance, then
 * atom buffers per instance: one allocation, sized here and in plan. */
/* Where the atom buffers start, in floats: past the audio and control
 * buffers, rounded up to 64 bytes (sequences hold 64-bit event times). */
static size_t atoms_at(const Lv2Plugin *p, int channels, int n_inst, int max_block)
{
	size_t floats = 2 * (size_t)channels * (size_t)max_block +
	                (size_t)n_inst * p->n_ports;
	return (floats + 15) / 16 * 16;
}

static size_t buffer_floats(const Lv2Plugin *p, int channels, int n_inst,
                            int max_block)
{
	return atoms_at(p, channels, n_inst, max_block) +
	       (size_t)n_inst * (size_t)p->n_atom * (LV2_ATOM_CAPACITY / 4);
}

/* Messages while instantiating go to stderr, as fxd's own do; while run
 * is on the stack they are counted, not written (no I/O there). */
static int log_vprintf(LV2_Log_Handle h, LV2_URID type, const char *fmt,
                       va_list ap)
{
	Lv2State *s = h;
	if (s->running) {
		s->log_dropped++;
		return 0;
	}
	const char *level = type == s->urid.log_error     ? "error"
	                    : type == s->urid.log_warning ? "warning"
	                    : type == s->urid.log_trace   ? "trace"
	                                                  : "note";
	fprintf(stderr, "fxd: lv2: %s: %s: ", s->p->uri, level);
	return vfprintf(stderr, fmt, ap);
}

static int log_printf(LV2_Log_Handle h, LV2_URID type, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = log_vprintf(h, type, fmt, ap);
	va_end(ap);
	return n;
}

static void map_urids(Lv2Urids *u)
{
	LV2_URID_Map *m = fx_lv2_urid_map();
	u->atom_sequence = m->map(m->handle, LV2_ATOM__Sequence);
	u->atom_chunk = m->map(m->handle, LV2_ATOM__Chunk);
	u->atom_int = m->map(m->handle, LV2_ATOM__Int);
	u->atom_float = m->map(m->handle, LV2_ATOM__Float);
	u->param_sample_rate = m->map(m->handle, LV2_PARAMETERS__sampleRate);
	u->bufsz_min = m->map(m->handle, LV2_BUF_SIZE__minBlockLength);
	u->bufsz_max = m->map(m->handle, LV2_BUF_SIZE__maxBlockLength);
	u->bufsz_nominal = m->map(m->handle, LV2_BUF_SIZE__nominalBlockLength);
	u->log_error = m->map(m->handle, LV2_LOG__Error);
	u->log_warning = m->map(m->handle, LV2_LOG__Warning);
	u->log_note = m->map(m->handle, LV2_LOG__Note);
	u->log_trace = m->map(m->handle, LV2_LOG__Trace);
}

static void set_features(Lv2State *s)
{
	map_urids(&s->urid);
	const Lv2Urids *u = &s->urid;
	s->opt_rate = (float)s->rate;
	s->opt_min = 1; /* the chain runs glides in short sub-blocks */
	s->opt_max = s->max_block;
	s->options[0] = (LV2_Options_Option){
		LV2_OPTIONS_INSTANCE, 0,
		u->param_sample_rate, sizeof s->opt_rate,
		u->atom_float,        &s->opt_rate};
	s->options[1] = (LV2_Options_Option){
		LV2_OPTIONS_INSTANCE, 0,           u->bufsz_min,
		sizeof s->opt_min,    u->atom_int, &s->opt_min};
	s->options[2] = (LV2_Options_Option){
		LV2_OPTIONS_INSTANCE, 0,           u->bufsz_max,
		sizeof s->opt_max,    u->atom_int, &s->opt_max};
	s->options[3] = (LV2_Options_Option){
		LV2_OPTIONS_INSTANCE, 0,           u->bufsz_nominal,
		sizeof s->opt_max,    u->atom_int, &s->opt_max};
	s->options[4] = (LV2_Options_Option){
		LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL};
	s->log = (LV2_Log_Log){s, log_printf, log_vprintf};
	s->f_map = (LV2_Feature){LV2_URID__map, fx_lv2_urid_map()};
	s->f_unmap = (LV2_Feature){LV2_URID__unmap, fx_lv2_urid_unmap()};
	s->f_options = (LV2_Feature){LV2_OPTIONS__options, s->options};
	s->f_bounded = (LV2_Feature){LV2_BUF_SIZE__boundedBlockLength, NULL};
	s->f_log = (LV2_Feature){LV2_LOG__log, &s->log};
	for (int k = 0; k < s->n_inst; k++) {
		const LV2_Feature **f = s->features[k];
		f[0] = &s->f_map;
		f[1] = &s->f_unmap;
		f[2] = &s->f_options;
		f[3] = &s->f_bounded;
		f[4] = &s->f_log;
		f[5] = fx_lv2_work_feature(&s->work[k]);
		f[6] = NULL;
	}
}

FxStatus fx_lv2_plan(const FxEffectSetup *setup, FxEffectPlan *plan)
{
	const Lv2Plugin *p = setup->cls->priv;
	int width, n_inst = shape(p, setup->channels, &width);
	if (!n_inst)
		return FX_ERR_CHANNELS;
	plan->bytes = buffer_floats(p, setup->channels, n_inst,
	                            run_frames(setup->max_block)) *
	              sizeof(float);
	plan->latency = 0;
	if (p->latency_port < 0)
		return FX_OK;
	/* Only a running instance can say its latency: build one to ask.
	 * This allocates, off the realtime path, before the chain's own
	 * buffers are taken. */
	Lv2State *probe = calloc(1, sizeof *probe);
	if (!probe)
		return FX_ERR_NOMEM;
	FxStatus st = fx_lv2_init(probe, setup);
	if (st == FX_OK)
		plan->latency = probe->latency;
	fx_lv2_cleanup(probe);
	free(probe);
	return st == FX_ERR_NOMEM ? FX_OK : st;
}

/* Runs every instance over silence once, for the latency port to be
 * written, then starts them afresh. */
static void measure_latency(Lv2State *s)
{
	fx_lv2_run_silence(s, s->max_block < 64 ? s->max_block : 64);
	float v = s->ctl_out[s->p->latency_port];
	s->latency = v > 0 && v < 1e7f ? (int)(v + 0.5f) : 0;
	fx_lv2_restart(s);
}

void fx_lv2_restart(Lv2State *s)
{
	for (int k = 0; k < s->n_inst; k++) {
		lilv_instance_deactivate(s->inst[k]);
		lilv_instance_activate(s->inst[k]);
	}
}

int fx_lv2_restart_muted(void *state)
{
	Lv2State *s = state;
	if (!atomic_load_explicit(&s->muted, memory_order_acquire))
		return 0;
	/* The audio side no longer touches the instances; the LV2 worker
	 * thread might, so each leaves its list first (detach waits out a
	 * work() in progress; requests and answers queued for the instance
	 * as it was are dropped with it). */
	for (int k = 0; k < s->n_inst; k++)
		fx_lv2_work_detach(&s->work[k]);
	fx_lv2_restart(s);
	FxStatus st = FX_OK;
	for (int k = 0; k < s->n_inst && st == FX_OK; k++)
		st = fx_lv2_work_attach(&s->work[k], s->inst[k]);
	if (st != FX_OK)
		return -1; /* still muted: the chain is rebuilt instead */
	atomic_store_explicit(&s->muted, 0, memory_order_release);
	return 1;
}

FxStatus fx_lv2_init(void *state, const FxEffectSetup *setup)
{
	Lv2State *s = state;
	const Lv2Plugin *p = setup->cls->priv;
	s->p = p;
	s->rate = setup->sample_rate;
	s->max_block = run_frames(setup->max_block);
	if (!(s->n_inst = shape(p, setup->channels, &s->width)))
		return FX_ERR_CHANNELS;
	size_t floats = buffer_floats(p, setup->channels, s->n_inst,
	                              s->max_block);
	if (!(s->mem = calloc(floats, sizeof(float)))) {
		s->n_inst = 0;
		return FX_ERR_NOMEM;
	}
	float *m = s->mem;
	for (int ch = 0; ch < setup->channels; ch++) {
		s->in[ch] = m;
		s->out[ch] = m + s->max_block;
		m += 2 * (size_t)s->max_block;
	}
	s->ctl_out = m;
	s->atoms = (LV2_Atom_Sequence *)(void *)(s->mem +
	                                         atoms_at(p, setup->channels,
	                                                  s->n_inst,
	                                                  s->max_block));
	set_features(s);
	fx_lv2_update(s, setup->values);
	memcpy(s->ctl_in, s->ctl_next, sizeof s->ctl_in);
	FxStatus st = FX_OK;
	fx_lv2_lock();
	for (int k = 0; k < s->n_inst && st == FX_OK; k++) {
		s->inst[k] = lilv_plugin_instantiate(p->plugin, s->rate,
		                                     s->features[k]);
		st = s->inst[k] ? fx_lv2_work_attach(&s->work[k], s->inst[k])
		                : FX_ERR_PLUGIN;
	}
	if (st == FX_OK && setup->saved)
		st = fx_lv2_restore_locked(s, setup->saved);
	if (st == FX_OK)
		fx_lv2_pin_library(p);
	fx_lv2_unlock();
	if (st != FX_OK) {
		fx_lv2_cleanup(s); /* the chain cleans up only what succeeded */
		return st;
	}
	fx_lv2_connect(s);
	for (int k = 0; k < s->n_inst; k++)
		lilv_instance_activate(s->inst[k]);
	s->active = 1;
	if (p->latency_port >= 0)
		measure_latency(s);
	return FX_OK;
}

void fx_lv2_cleanup(void *state)
{
	Lv2State *s = state;
	for (int k = 0; k < s->n_inst; k++)
		if (s->inst[k]) {
			fx_lv2_work_detach(&s->work[k]);
			if (s->active)
				lilv_instance_deactivate(s->inst[k]);
			lilv_instance_free(s->inst[k]);
			s->inst[k] = NULL;
		}
	s->active = 0;
	free(s->mem);
	s->mem = NULL;
}

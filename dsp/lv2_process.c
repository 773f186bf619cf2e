/* SPDX-License-Identifier: ISC */
/* An LV2 slot's realtime side: control values in, audio through the
 * buffers connected at setup, run. No allocation, lock or system call on
 * fxd's side (what the plugin's run does is the plugin's business). */
#include <config.h>
#include "dsp/lv2_impl.h"

#include <string.h>

#include "dsp/finite.h"

void fx_lv2_connect(Lv2State *s)
{
	const Lv2Plugin *p = s->p;
	for (int k = 0; k < s->n_inst; k++) {
		int ai = 0, ao = 0, at = 0;
		for (uint32_t i = 0; i < p->n_ports; i++) {
			void *buf = NULL;
			switch ((Lv2PortKind)p->kind[i]) {
			case LV2_PORT_CONTROL_IN:
				buf = &s->ctl_in[p->param_of[i]];
				break;
			case LV2_PORT_CONTROL_OUT:
				buf = &s->ctl_out[(size_t)k * p->n_ports + i];
				break;
			case LV2_PORT_AUDIO_IN:
				buf = s->in[k * s->width + ai++];
				break;
			case LV2_PORT_AUDIO_OUT:
				buf = s->out[k * s->width + ao++];
				break;
			case LV2_PORT_ATOM_IN:
			case LV2_PORT_ATOM_OUT:
				buf = (char *)s->atoms +
				      ((size_t)k * p->n_atom + at++) *
				              LV2_ATOM_CAPACITY;
				break;
			}
			lilv_instance_connect_port(s->inst[k], i, buf);
		}
	}
}

void fx_lv2_update(void *state, const double *values)
{
	Lv2State *s = state;
	const Lv2Plugin *p = s->p;
	for (int i = 0; i < p->cls.n_params; i++) {
		const Lv2Control *c = &p->controls[i];
		double v = values[i];
		if (c->points) {
			int k = (int)v;
			k = k < 0                       ? 0
			    : k > (int)p->params[i].max ? (int)p->params[i].max
			                                : k;
			v = c->points[k];
		} else if (c->sample_rate) {
			/* The table shows these at 48 kHz; the plugin's bounds
			 * are per Hz of the rate it runs at. */
			double lo = c->lower * s->rate, hi = c->upper * s->rate;
			v = v < lo ? lo : v > hi ? hi : v;
		}
		s->ctl_next[i] = (float)v;
	}
}

/* Input sequences are empty; output sequences offer their whole room. */
static void prepare_atoms(Lv2State *s)
{
	const Lv2Plugin *p = s->p;
	for (int k = 0; k < s->n_inst; k++) {
		int at = 0;
		for (uint32_t i = 0; i < p->n_ports && at < p->n_atom; i++) {
			if (p->kind[i] != LV2_PORT_ATOM_IN &&
			    p->kind[i] != LV2_PORT_ATOM_OUT)
				continue;
			LV2_Atom_Sequence *seq =
				(void *)((char *)s->atoms +
			                 ((size_t)k * p->n_atom + at++) *
			                         LV2_ATOM_CAPACITY);
			if (p->kind[i] == LV2_PORT_ATOM_IN) {
				seq->atom.size = sizeof(LV2_Atom_Sequence_Body);
				seq->atom.type = s->urid.atom_sequence;
				seq->body.unit = 0;
				seq->body.pad = 0;
			} else {
				seq->atom.size = LV2_ATOM_CAPACITY -
				                 sizeof(LV2_Atom);
				seq->atom.type = s->urid.atom_chunk;
			}
		}
	}
}

static void run_all(Lv2State *s, int frames)
{
	if (s->p->n_atom)
		prepare_atoms(s);
	memcpy(s->ctl_in, s->ctl_next, sizeof s->ctl_in);
	s->running = 1;
	for (int k = 0; k < s->n_inst; k++) {
		fx_lv2_work_deliver(&s->work[k], s->response, sizeof s->response);
		lilv_instance_run(s->inst[k], (uint32_t)frames);
		fx_lv2_work_end_run(&s->work[k]);
	}
	s->running = 0;
}

void fx_lv2_process(void *state, float *const *buf, int frames)
{
	Lv2State *s = state;
	int channels = s->n_inst * s->width;
	for (int off = 0; off < frames; off += s->max_block) {
		int n = frames - off < s->max_block ? frames - off : s->max_block;
		size_t bytes = (size_t)n * sizeof(float);
		int muted = atomic_load_explicit(&s->muted, memory_order_acquire);
		if (!muted) {
			for (int ch = 0; ch < channels; ch++)
				memcpy(s->in[ch], buf[ch] + off, bytes);
			run_all(s, n);
			muted = !fx_audio_is_finite(s->out, channels, n);
			if (muted) {
				atomic_fetch_add_explicit(&s->faults, 1,
				                          memory_order_relaxed);
				atomic_store_explicit(&s->muted, 1,
				                      memory_order_release);
			}
		}
		for (int ch = 0; ch < channels; ch++) {
			if (muted)
				memset(buf[ch] + off, 0, bytes);
			else
				memcpy(buf[ch] + off, s->out[ch], bytes);
		}
	}
}

void fx_lv2_run_silence(Lv2State *s, int frames)
{
	for (int ch = 0; ch < s->n_inst * s->width; ch++)
		memset(s->in[ch], 0, (size_t)frames * sizeof(float));
	run_all(s, frames);
}

/* LV2's only reset, deactivate and activate, belongs to the instantiation
 * threading class (plugins allocate there), so nothing happens here: the
 * class keeps running while bypassed instead of being reset on its return,
 * and a plugin whose output was not finite stays muted (fx_lv2_process)
 * until a control thread restarts it (fx_lv2_restart_muted). */
void fx_lv2_reset(void *state)
{
	(void)state;
}

/* The first instance's (the first channel's, for a mono plugin run once
 * per channel). */
void fx_lv2_read_outputs(const void *state, float *values)
{
	const Lv2State *s = state;
	/* A muted plugin's ports may be written by its restart. */
	int muted = atomic_load_explicit(&s->muted, memory_order_acquire);
	for (int i = 0; i < s->p->cls.n_outputs; i++)
		values[i] = muted ? 0.0f : s->ctl_out[s->p->output_port[i]];
}

uint64_t fx_lv2_faults(const void *state)
{
	return atomic_load_explicit(&((const Lv2State *)state)->faults,
	                            memory_order_relaxed);
}

/* Realtime (the plugin's run): queues a request, never blocks. */
LV2_Worker_Status fx_lv2_schedule_work(LV2_Worker_Schedule_Handle h,
                                       uint32_t size, const void *data)
{
	Lv2Work *w = h;
	if (!w->requests || size > LV2_WORK_MAX ||
	    !fx_msgring_write(w->requests, 0, 0, data, size))
		return LV2_WORKER_ERR_NO_SPACE;
	fx_lv2_work_wake();
	return LV2_WORKER_SUCCESS;
}

void fx_lv2_work_deliver(Lv2Work *w, uint8_t *buf, size_t size)
{
	if (!w->iface || !w->responses)
		return;
	uint32_t tag, id;
	size_t len;
	while (fx_msgring_read(w->responses, &tag, &id, buf, size, &len))
		if (len <= size) /* a longer one was cut: not the plugin's */
			w->iface->work_response(lilv_instance_get_handle(w->inst),
			                        (uint32_t)len, buf);
}

void fx_lv2_work_end_run(Lv2Work *w)
{
	if (w->iface && w->iface->end_run)
		w->iface->end_run(lilv_instance_get_handle(w->inst));
}

int fx_lv2_latency(const void *state)
{
	return ((const Lv2State *)state)->latency;
}

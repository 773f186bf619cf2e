/* SPDX-License-Identifier: ISC */
/* The chain's realtime path: no allocation, locks or system calls. */
#include "dsp/chain_impl.h"

#include <math.h>
#include <string.h>
#include <time.h>

static int is_log(const FxParamInfo *p)
{
	return p->scale == FX_SCALE_LOG && p->min > 0.0;
}

static double to_glide(const FxParamInfo *p, double v)
{
	return is_log(p) ? log(v) : v;
}

static double from_glide(const FxParamInfo *p, double g)
{
	return is_log(p) ? exp(g) : g;
}

void fx_chain_set_glide_ms(FxChain *c, double ms)
{
	if (!(ms >= 0.0))
		ms = 0.0;
	double frames = ms * 1e-3 * c->cfg.sample_rate;
	c->cfg.glide_ms = ms;
	c->glide_frames = frames > 1e7 ? 10000000 : (int)frames;
}

FxStatus fx_chain_set_param(FxChain *c, int slot, int param, double value,
                            double *applied)
{
	if (slot < 0 || slot >= c->n_slots)
		return FX_ERR_RANGE;
	Slot *s = &c->slots[slot];
	if (param < 0 || param >= s->cls->n_params)
		return FX_ERR_UNKNOWN_PARAM;
	const FxParamInfo *p = &s->cls->params[param];
	if (!isfinite(value))
		return FX_ERR_NONFINITE;
	value = fx_param_clamp(p, value);
	if (applied)
		*applied = value;
	if (p->flags & FX_PARAM_STRUCTURAL)
		return value == s->targets[param] ? FX_OK : FX_ERR_STRUCTURAL;
	s->targets[param] = value;
	unsigned bit = 1u << param;
	if (!(p->flags & FX_PARAM_SMOOTHED) || c->glide_frames < 1) {
		s->values[param] = value;
		s->gliding &= ~bit;
		s->dirty = 1;
		return FX_OK;
	}
	/* A glide always takes the configured time from where it is now. */
	Glide *g = &s->glides[param];
	g->pos = to_glide(p, s->values[param]);
	g->goal = to_glide(p, value);
	g->step = (g->goal - g->pos) / c->glide_frames;
	g->remaining = c->glide_frames;
	s->gliding |= bit;
	return FX_OK;
}

double fx_chain_get_param(const FxChain *c, int slot, int param)
{
	if (slot < 0 || slot >= c->n_slots || param < 0 ||
	    param >= c->slots[slot].cls->n_params)
		return NAN;
	return c->slots[slot].targets[param];
}

FxStatus fx_chain_set_bypass(FxChain *c, int slot, int bypass)
{
	if (slot < 0 || slot >= c->n_slots)
		return FX_ERR_RANGE;
	c->slots[slot].bypass = bypass != 0;
	return FX_OK;
}

int fx_chain_get_bypass(const FxChain *c, int slot)
{
	return slot >= 0 && slot < c->n_slots ? c->slots[slot].bypass : 0;
}

void fx_chain_reset(FxChain *c)
{
	for (int i = 0; i < c->n_slots; i++) {
		Slot *s = &c->slots[i];
		s->cls->reset(s->state);
		if (s->ring)
			memset(s->ring, 0,
			       (size_t)c->cfg.channels * s->ring_len *
			               sizeof(float));
	}
	c->reset_since = 1;
}

int fx_chain_rewindable(const FxChain *c)
{
	return c->rewindable;
}

int fx_chain_can_rewind(const FxChain *c)
{
	return c->rewindable && !c->reset_since;
}

void fx_chain_checkpoint(FxChain *c)
{
	if (!c->rewindable)
		return;
	for (int i = 0; i < c->n_slots; i++) {
		const Slot *s = &c->slots[i];
		SlotCheckpoint *k = &c->saved_slots[i];
		memcpy(k->values, s->values, sizeof k->values);
		memcpy(k->targets, s->targets, sizeof k->targets);
		memcpy(k->glides, s->glides, sizeof k->glides);
		k->gliding = s->gliding;
		k->dirty = s->dirty;
		k->bypass = s->bypass;
		k->wet = s->wet;
		k->ring_pos = s->ring_pos;
		if (s->cls->checkpoint)
			s->cls->checkpoint(s->state, s->rewind);
	}
	c->saved_nonfinite = atomic_load_explicit(&c->nonfinite,
	                                          memory_order_relaxed);
	c->checkpointed = 1;
	c->reset_since = 0;
}

void fx_chain_rollback(FxChain *c)
{
	if (!c->checkpointed || !fx_chain_can_rewind(c))
		return;
	for (int i = 0; i < c->n_slots; i++) {
		Slot *s = &c->slots[i];
		const SlotCheckpoint *k = &c->saved_slots[i];
		memcpy(s->values, k->values, sizeof s->values);
		memcpy(s->targets, k->targets, sizeof s->targets);
		memcpy(s->glides, k->glides, sizeof s->glides);
		s->gliding = k->gliding;
		s->dirty = k->dirty;
		s->bypass = k->bypass;
		s->wet = k->wet;
		s->ring_pos = k->ring_pos;
		if (s->cls->rollback)
			s->cls->rollback(s->state, s->rewind);
	}
	atomic_store_explicit(&c->nonfinite, c->saved_nonfinite,
	                      memory_order_relaxed);
}

/* Copies @p frames between @p ring (of @p len) from @p pos and @p x, in
 * whole segments, never a modulo per sample. */
static void ring_copy(float *ring, int len, int pos, float *x, int frames,
                      int to_ring)
{
	for (int done = 0; done < frames;) {
		int n = len - pos < frames - done ? len - pos : frames - done;
		if (to_ring)
			memcpy(ring + pos, x + done, (size_t)n * sizeof(float));
		else
			memcpy(x + done, ring + pos, (size_t)n * sizeof(float));
		done += n;
		pos = pos + n == len ? 0 : pos + n;
	}
}

/* Pushes @p frames (at most max_block) of @p in through the slot's dry
 * delay line; what falls out goes to @p out (NULL: nowhere). @p in and
 * @p out must differ. The input is written first, so a latency shorter
 * than the chunk reads it back; the ring is a chunk longer than the
 * latency, so nothing read was overwritten. */
static void dry_delay(const FxChain *c, Slot *s, float *const *in,
                      float *const *out, int frames)
{
	int len = s->ring_len, pos = s->ring_pos;
	int read = pos - s->delay < 0 ? pos - s->delay + len : pos - s->delay;
	for (int ch = 0; ch < c->cfg.channels; ch++) {
		float *ring = s->ring + (size_t)ch * len;
		ring_copy(ring, len, pos, in[ch], frames, 1);
		if (out)
			ring_copy(ring, len, read, out[ch], frames, 0);
	}
	s->ring_pos = (int)((pos + (long)frames) % len);
}

void fx_chain_set_tempo(FxChain *c, double bpm)
{
	for (int i = 0; i < c->n_slots; i++)
		if (c->slots[i].cls->tempo)
			c->slots[i].cls->tempo(c->slots[i].state, bpm);
}

static void advance_glides(Slot *s, int frames)
{
	for (unsigned bits = s->gliding; bits; bits &= bits - 1) {
		int i = __builtin_ctz(bits);
		Glide *g = &s->glides[i];
		const FxParamInfo *p = &s->cls->params[i];
		if (g->remaining <= frames) {
			s->values[i] = s->targets[i];
			s->gliding &= ~(1u << i);
		} else {
			g->pos += g->step * frames;
			g->remaining -= frames;
			s->values[i] = from_glide(p, g->pos);
		}
	}
}

/* Jumps every glide to its end, for a slot that is not being heard. */
static void finish_glides(Slot *s)
{
	if (s->gliding) {
		memcpy(s->values, s->targets, sizeof s->values);
		s->gliding = 0;
		s->dirty = 1;
	}
}

static void run_effect(Slot *s, float *const *buf, int channels, int frames)
{
	if (!s->gliding) {
		if (s->dirty)
			s->cls->update(s->state, s->values);
		s->dirty = 0;
		s->cls->process(s->state, buf, frames);
		return;
	}
	/* Coefficients follow a glide in short sub-blocks. */
	float *sub[FX_MAX_CHANNELS];
	for (int off = 0; off < frames; off += FX_SUBBLOCK) {
		int n = frames - off < FX_SUBBLOCK ? frames - off : FX_SUBBLOCK;
		advance_glides(s, n);
		s->cls->update(s->state, s->values);
		for (int ch = 0; ch < channels; ch++)
			sub[ch] = buf[ch] + off;
		s->cls->process(s->state, sub, n);
	}
	s->dirty = 0;
}

static void run_slot(FxChain *c, Slot *s, float *const *buf, int frames)
{
	int channels = c->cfg.channels;
	float goal = s->bypass ? 0.0f : 1.0f;
	if (s->wet == goal) {
		if (!s->bypass) {
			if (s->ring)
				dry_delay(c, s, buf, NULL, frames);
			run_effect(s, buf, channels, frames);
		} else if (s->ring) {
			/* Bypassed with latency: the effect keeps running
			 * unheard, so it comes back without a gap, and the
			 * delayed dry signal is what is heard. */
			dry_delay(c, s, buf, c->dry, frames);
			run_effect(s, buf, channels, frames);
			for (int ch = 0; ch < channels; ch++)
				memcpy(buf[ch], c->dry[ch],
				       (size_t)frames * sizeof(float));
		} else if (s->cls->keep_running) {
			for (int ch = 0; ch < channels; ch++)
				memcpy(c->dry[ch], buf[ch],
				       (size_t)frames * sizeof(float));
			run_effect(s, buf, channels, frames);
			for (int ch = 0; ch < channels; ch++)
				memcpy(buf[ch], c->dry[ch],
				       (size_t)frames * sizeof(float));
		} else {
			finish_glides(s);
		}
		return;
	}
	/* An effect coming back from full bypass starts from silence rather
	 * than from the state it was left with (one with latency, or one that
	 * keeps running, never stopped). */
	if (s->wet == 0.0f && !s->ring && !s->cls->keep_running) {
		finish_glides(s);
		s->cls->reset(s->state);
	}
	if (s->ring)
		dry_delay(c, s, buf, c->dry, frames);
	else
		for (int ch = 0; ch < channels; ch++)
			memcpy(c->dry[ch], buf[ch],
			       (size_t)frames * sizeof(float));
	run_effect(s, buf, channels, frames);
	float step = s->bypass ? -c->bypass_step : c->bypass_step;
	float w0 = s->wet, w = w0;
	for (int ch = 0; ch < channels; ch++) {
		const float *restrict dry = c->dry[ch];
		float *restrict out = buf[ch];
		for (int i = 0; i < frames; i++) {
			w = w0 + (float)(i + 1) * step;
			w = w < 0.0f ? 0.0f : w > 1.0f ? 1.0f : w;
			out[i] = dry[i] + w * (out[i] - dry[i]);
		}
	}
	s->wet = w;
}

uint64_t fx_chain_slot_ns(const FxChain *c, int slot)
{
	return slot >= 0 && slot < c->n_slots ? c->slots[slot].ns : 0;
}

uint64_t fx_chain_slot_faults(const FxChain *c, int slot)
{
	const Slot *s = slot >= 0 && slot < c->n_slots ? &c->slots[slot] : NULL;
	return s && s->cls->faults ? s->cls->faults(s->state) : 0;
}

int fx_chain_slot_outputs(const FxChain *c, int slot, float *values)
{
	const Slot *s = slot >= 0 && slot < c->n_slots ? &c->slots[slot] : NULL;
	if (!s || !s->cls->n_outputs || !s->cls->read_outputs)
		return 0;
	s->cls->read_outputs(s->state, values);
	return s->cls->n_outputs;
}

uint64_t fx_chain_nonfinite_count(const FxChain *c)
{
	uint64_t n = atomic_load_explicit(&c->nonfinite, memory_order_relaxed);
	for (int i = 0; i < c->n_slots; i++)
		if (c->slots[i].cls->faults)
			n += c->slots[i].cls->faults(c->slots[i].state);
	return n;
}

/* CLOCK_MONOTONIC is read through the vDSO: no system call. */
static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void process_block(FxChain *c, float *const *buf, int frames)
{
	/* Each slot is timed, one clock read between slots, so a user can
	 * see which effect (which plugin) is expensive. */
	uint64_t t = now_ns();
	for (int i = 0; i < c->n_slots; i++) {
		run_slot(c, &c->slots[i], buf, frames);
		uint64_t next = now_ns();
		c->slots[i].ns += next - t;
		t = next;
	}
	if (!fx_audio_is_finite(buf, c->cfg.channels, frames)) {
		for (int ch = 0; ch < c->cfg.channels; ch++)
			memset(buf[ch], 0, (size_t)frames * sizeof(float));
		fx_chain_reset(c);
		atomic_fetch_add_explicit(&c->nonfinite, 1, memory_order_relaxed);
	}
}

void fx_chain_process(FxChain *c, float *const *buf, int frames)
{
	float *part[FX_MAX_CHANNELS];
	for (int off = 0; off < frames; off += c->cfg.max_block) {
		int n = frames - off;
		if (n > c->cfg.max_block)
			n = c->cfg.max_block;
		for (int ch = 0; ch < c->cfg.channels; ch++)
			part[ch] = buf[ch] + off;
		process_block(c, part, n);
	}
}

/* SPDX-License-Identifier: ISC */
/* Chain setup and queries: runs off the realtime path. */
#include "dsp/chain_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/pages.h"

FxChainConfig fx_chain_config_default(void)
{
	return (FxChainConfig){48000.0, 2, 1024, 20.0, 10.0};
}

static FxStatus check_config(const FxChainConfig *cfg)
{
	if (!(cfg->sample_rate >= 1000.0 && cfg->sample_rate <= 768000.0))
		return FX_ERR_RANGE;
	if (cfg->channels < 1 || cfg->channels > FX_MAX_CHANNELS)
		return FX_ERR_RANGE;
	if (cfg->max_block < 1 || cfg->max_block > 65536)
		return FX_ERR_RANGE;
	if (!(cfg->glide_ms >= 0.0 && cfg->glide_ms <= 10000.0))
		return FX_ERR_RANGE;
	if (!(cfg->bypass_ms >= 0.0 && cfg->bypass_ms <= 10000.0))
		return FX_ERR_RANGE;
	return FX_OK;
}

/* The setup a slot's effect is built with: its values clamped into
 * @p values. */
static FxEffectSetup slot_setup(const FxSlotSpec *spec,
                                const FxChainConfig *cfg, double *values)
{
	const FxEffectClass *cls = spec->cls;
	for (int i = 0; i < cls->n_params; i++)
		values[i] = fx_param_clamp(&cls->params[i], spec->values[i]);
	return (FxEffectSetup){cls,           cfg->sample_rate,
	                       cfg->channels, cfg->max_block,
	                       values,        spec->saved};
}

static size_t state_bytes(const FxEffectClass *cls)
{
	return cls->state_size ? cls->state_size : 1;
}

/* The dry path of an effect with latency runs through a line a chunk
 * longer (Slot.ring). */
static size_t ring_bytes(const FxChainConfig *cfg, int latency)
{
	return latency > 0 ? (size_t)cfg->channels *
	                             (size_t)(latency + cfg->max_block) *
	                             sizeof(float)
	                   : 0;
}

static int class_rewinds(const FxEffectClass *cls)
{
	return !cls->no_rewind &&
	       (cls->checkpoint ||
	        (!cls->rewind_size && !cls->rewind_channel_size));
}

/* A slot's effect checkpoint, rounded up so the next one stays aligned. */
static size_t effect_rewind_bytes(const FxEffectClass *cls, int channels)
{
	size_t n = cls->rewind_size + (size_t)channels * cls->rewind_channel_size;
	return (n + 15) & ~(size_t)15;
}

/* The checkpoint space of a chain whose slots all rewind (0 otherwise). */
static size_t rewind_bytes(const FxChainSpec *spec, const FxChainConfig *cfg)
{
	size_t n = (((size_t)spec->n_slots * sizeof(SlotCheckpoint)) + 15) &
	           ~(size_t)15;
	for (int i = 0; i < spec->n_slots; i++) {
		if (!class_rewinds(spec->slots[i].cls))
			return 0;
		n += effect_rewind_bytes(spec->slots[i].cls, cfg->channels);
	}
	return spec->n_slots ? n : 0;
}

FxStatus fx_chain_plan(const FxChainSpec *spec, const FxChainConfig *cfg,
                       FxChainPlan *plan)
{
	if (!spec || !cfg || spec->n_slots < 0 || spec->n_slots > FX_MAX_SLOTS)
		return FX_ERR_INVALID;
	FxStatus st = check_config(cfg);
	if (st != FX_OK)
		return st;
	/* The chain itself and its dry buffers for bypass fades. */
	*plan = (FxChainPlan){sizeof(FxChain) + (size_t)cfg->channels *
	                                                (size_t)cfg->max_block *
	                                                sizeof(float),
	                      0};
	for (int i = 0; i < spec->n_slots; i++) {
		const FxEffectClass *cls = spec->slots[i].cls;
		if (!cls || cls->n_params > FX_MAX_PARAMS)
			return FX_ERR_INVALID;
		double values[FX_MAX_PARAMS];
		FxEffectSetup setup = slot_setup(&spec->slots[i], cfg, values);
		FxEffectPlan fx = {0, 0};
		if (cls->plan && (st = cls->plan(&setup, &fx)) != FX_OK)
			return st;
		plan->bytes += state_bytes(cls) + fx.bytes +
		               ring_bytes(cfg, fx.latency);
		plan->latency += fx.latency;
	}
	plan->bytes += rewind_bytes(spec, cfg);
	return FX_OK;
}

static FxStatus init_slot(Slot *s, const FxSlotSpec *spec,
                          const FxChainConfig *cfg)
{
	const FxEffectClass *cls = spec->cls;
	s->cls = cls;
	memcpy(s->label, spec->label, sizeof s->label);
	s->label[FX_LABEL_MAX - 1] = '\0';
	s->saved = spec->saved;
	FxEffectSetup setup = slot_setup(spec, cfg, s->values);
	memcpy(s->targets, s->values, sizeof s->targets);
	s->bypass = spec->bypass != 0;
	s->wet = s->bypass ? 0.0f : 1.0f;
	s->state = calloc(1, state_bytes(cls));
	if (!s->state)
		return FX_ERR_NOMEM;
	FxStatus st = cls->init(s->state, &setup);
	s->ready = st == FX_OK;
	if (st == FX_OK && cls->latency &&
	    (s->delay = cls->latency(s->state)) > 0) {
		s->ring_len = s->delay + cfg->max_block;
		if (!(s->ring = fx_pages_new(ring_bytes(cfg, s->delay))))
			return FX_ERR_NOMEM;
	}
	return st;
}

FxChain *fx_chain_new(const FxChainSpec *spec, const FxChainConfig *cfg,
                      FxStatus *st)
{
	FxStatus dummy;
	if (!st)
		st = &dummy;
	/* Checked whole before anything is allocated. */
	FxChainPlan plan;
	if ((*st = fx_chain_plan(spec, cfg, &plan)) != FX_OK)
		return NULL;
	FxChain *c = calloc(1, sizeof *c);
	if (!c) {
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	c->cfg = *cfg;
	c->dry_mem = calloc((size_t)cfg->channels * cfg->max_block,
	                    sizeof *c->dry_mem);
	if (!c->dry_mem) {
		fx_chain_free(c);
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	for (int ch = 0; ch < cfg->channels; ch++)
		c->dry[ch] = c->dry_mem + (size_t)ch * cfg->max_block;
	fx_chain_set_glide_ms(c, cfg->glide_ms);
	double fade = cfg->bypass_ms * 1e-3 * cfg->sample_rate;
	c->bypass_step = fade >= 1.0 ? (float)(1.0 / fade) : 1.0f;
	for (int i = 0; i < spec->n_slots; i++) {
		c->n_slots = i + 1;
		*st = init_slot(&c->slots[i], &spec->slots[i], cfg);
		if (*st != FX_OK) {
			fx_chain_free(c);
			return NULL;
		}
	}
	/* Rewind space last: every class is known by now. */
	size_t rewind = rewind_bytes(spec, cfg);
	if (rewind && !(c->rewind_mem = calloc(1, rewind))) {
		fx_chain_free(c);
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	if (c->rewind_mem) {
		char *p = c->rewind_mem;
		c->saved_slots = c->rewind_mem;
		p += ((size_t)c->n_slots * sizeof(SlotCheckpoint) + 15) &
		     ~(size_t)15;
		for (int i = 0; i < c->n_slots; i++) {
			c->slots[i].rewind = p;
			p += effect_rewind_bytes(c->slots[i].cls, cfg->channels);
		}
	}
	c->rewindable = c->rewind_mem || spec->n_slots == 0;
	*st = FX_OK;
	return c;
}

void fx_chain_free(FxChain *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n_slots; i++) {
		Slot *s = &c->slots[i];
		if (s->ready && s->cls->cleanup)
			s->cls->cleanup(s->state);
		free(s->state);
		fx_pages_free(s->ring);
	}
	free(c->dry_mem);
	free(c->rewind_mem);
	free(c);
}

int fx_chain_slots(const FxChain *c)
{
	return c->n_slots;
}

const char *fx_chain_slot_save(FxChain *c, int slot)
{
	if (slot < 0 || slot >= c->n_slots)
		return NULL;
	Slot *s = &c->slots[slot];
	return s->ready && s->cls->save ? s->cls->save(s->state) : NULL;
}

int fx_chain_restart_muted(FxChain *c)
{
	int restarted = 0;
	for (int i = 0; i < c->n_slots; i++) {
		Slot *s = &c->slots[i];
		int r = s->ready && s->cls->restart ? s->cls->restart(s->state)
		                                    : 0;
		if (r < 0)
			return -1;
		restarted += r;
	}
	return restarted;
}

const FxEffectClass *fx_chain_slot_class(const FxChain *c, int slot)
{
	return slot >= 0 && slot < c->n_slots ? c->slots[slot].cls : NULL;
}

void fx_chain_get_spec(const FxChain *c, FxChainSpec *spec)
{
	memset(spec, 0, sizeof *spec);
	spec->n_slots = c->n_slots;
	for (int i = 0; i < c->n_slots; i++) {
		const Slot *s = &c->slots[i];
		FxSlotSpec *out = &spec->slots[i];
		out->cls = s->cls;
		memcpy(out->label, s->label, sizeof out->label);
		memcpy(out->values, s->targets, sizeof out->values);
		out->bypass = s->bypass;
		out->saved = s->saved;
	}
}

FxChainConfig fx_chain_config(const FxChain *c)
{
	return c->cfg;
}

int fx_chain_latency(const FxChain *c)
{
	int total = 0;
	for (int i = 0; i < c->n_slots; i++)
		if (c->slots[i].cls->latency)
			total += c->slots[i].cls->latency(c->slots[i].state);
	return total;
}

/* SPDX-License-Identifier: ISC */
/* The stages of fxfile's pipeline (fxfile_pipeline.h). */
#include "clients/file/fxfile_pipeline.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/chain.h"
#include "dsp/filter_effect.h"
#include "dsp/lv2.h"
#include "clients/file/ptime_run.h"

/* fx_pt_filter takes at most FX_MAX_SECTIONS sections and 64 channels:
 * a longer cascade runs as pieces one after the other, more channels as
 * groups side by side. */
enum { GROUP = 64 };

typedef struct {
	FxPtFilter **parts;  ///< [piece * groups + group], or NULL
	FxAccelPlan **plans; ///< the same on the device, or NULL
	int pieces, groups;
	FxChain *chain;          ///< a run of other slots, or NULL
	int slots[FX_MAX_SLOTS]; ///< the slots of the spec it runs
	int n_slots;
	int n_sections; ///< in all pieces
	uint64_t muted; ///< the chain's non-finite count last seen
} Stage;

struct FxFilePipelineImpl {
	FxFilePipelineConfig cfg;
	FxPtPool *pool; ///< NULL when no stage is a filter
	int n_stages;
	Stage stages[FX_MAX_SLOTS];
	char names[FX_MAX_SLOTS][FX_LABEL_MAX];
};

static const char *slot_name(const FxSlotSpec *s)
{
	return s->label[0] ? s->label : s->cls->name;
}

static int is_filter(const FxSlotSpec *s)
{
	return s->cls->init == fx_filter_effect_init;
}

static int is_gain(const FxSlotSpec *s)
{
	return s->cls == fx_effect_find("gain");
}

/* The linear gain of a gain slot at rest, rounded as fx_gain.c does. */
static double slot_gain(const FxSlotSpec *s)
{
	double db = fx_param_clamp(&s->cls->params[0], s->values[0]);
	return (float)pow(10.0, db / 20.0);
}

/* A bypassed slot that adds no latency changes nothing at rest. */
static int is_silent_bypass(const FxSlotSpec *s)
{
	return s->bypass && (is_filter(s) || !s->cls->latency);
}

static FxStatus design_slot(const FxSlotSpec *s, double fs, FxSection *out,
                            int *n)
{
	const FxFilterDesign *d = s->cls->priv;
	double values[FX_MAX_PARAMS];
	for (int i = 0; i < s->cls->n_params; i++)
		values[i] = fx_param_clamp(&s->cls->params[i], s->values[i]);
	FxStatus st = d->check ? d->check(d, values) : FX_OK;
	FxSvfSection sec[FX_MAX_SECTIONS];
	if (st == FX_OK && (st = d->design(d, values, fs, sec, n)) == FX_OK)
		for (int i = 0; i < *n; i++)
			fx_svf_to_sos(&sec[i], out[i]);
	return st;
}

/* The sections of a run of filter and gain slots into @p sec, in order;
 * the gains multiply the first section's numerator (one section of their
 * own when the run has no filter). */
static FxStatus design_run(const FxFilePipeline *p, const FxChainSpec *spec,
                           const int *slots, int n_slots, FxSection *sec,
                           int *total, char *err, size_t size)
{
	double scale = 1.0;
	int has_gain = 0;
	*total = 0;
	for (int i = 0; i < n_slots; i++) {
		const FxSlotSpec *s = &spec->slots[slots[i]];
		if (is_gain(s)) {
			scale *= slot_gain(s);
			has_gain = 1;
			continue;
		}
		int n = 0;
		FxStatus st = design_slot(s, p->cfg.sample_rate, sec + *total,
		                          &n);
		if (st != FX_OK) {
			snprintf(err, size, "slot %d (%s): %s", slots[i] + 1,
			         slot_name(s), fx_strerror(st));
			return st;
		}
		*total += n;
	}
	if (!has_gain)
		return FX_OK;
	if (!*total) {
		static const FxSection unity = {1, 0, 0, 1, 0, 0};
		memcpy(sec[0], unity, sizeof unity);
		*total = 1;
	}
	for (int k = 0; k < 3; k++)
		sec[0][k] *= scale;
	return FX_OK;
}

/* The leading run of filter and gain slots on the device. */
static FxStatus add_accel_stage(FxFilePipeline *p, const FxChainSpec *spec,
                                const int *slots, int n_slots, char *err,
                                size_t size)
{
	FxSection sec[FX_MAX_SLOTS * FX_MAX_SECTIONS];
	int total;
	FxStatus st = design_run(p, spec, slots, n_slots, sec, &total, err, size);
	if (st != FX_OK)
		return st;
	Stage *stage = &p->stages[p->n_stages];
	int channels = p->cfg.channels;
	stage->pieces = (total + FX_ACCEL_MAX_SECTIONS - 1) /
	                FX_ACCEL_MAX_SECTIONS;
	stage->groups = (channels + GROUP - 1) / GROUP;
	stage->plans = calloc((size_t)stage->pieces * stage->groups,
	                      sizeof *stage->plans);
	if (!stage->plans)
		st = FX_ERR_NOMEM;
	for (int k = 0; st == FX_OK && k < stage->pieces; k++) {
		int n = total - k * FX_ACCEL_MAX_SECTIONS;
		n = n < FX_ACCEL_MAX_SECTIONS ? n : FX_ACCEL_MAX_SECTIONS;
		for (int g = 0; st == FX_OK && g < stage->groups; g++) {
			int ch = channels - g * GROUP;
			ch = ch < GROUP ? ch : GROUP;
			stage->plans[k * stage->groups + g] = fx_accel_plan_new(
				p->cfg.accel, sec + k * FX_ACCEL_MAX_SECTIONS,
				n, ch, FXFILE_BLOCK, FX_ACCEL_F32,
				p->cfg.scan_threshold, &st);
		}
	}
	p->n_stages++;
	if (st != FX_OK) {
		snprintf(err, size, "CUDA: %s",
		         stage->plans ? fx_accel_error(p->cfg.accel)
		                      : fx_strerror(st));
		return st;
	}
	memcpy(stage->slots, slots, (size_t)n_slots * sizeof *slots);
	stage->n_slots = n_slots;
	stage->n_sections = total;
	return FX_OK;
}

static FxStatus add_filter_stage(FxFilePipeline *p, const FxChainSpec *spec,
                                 const int *slots, int n_slots, char *err,
                                 size_t size)
{
	FxSection sec[FX_MAX_SLOTS * FX_MAX_SECTIONS];
	int total;
	FxStatus st = design_run(p, spec, slots, n_slots, sec, &total, err, size);
	if (st != FX_OK)
		return st;
	Stage *stage = &p->stages[p->n_stages];
	if (!p->pool && !(p->pool = fx_pt_pool_new(p->cfg.threads, &st))) {
		snprintf(err, size, "cannot start %d threads: %s",
		         p->cfg.threads, fx_strerror(st));
		return st;
	}
	int channels = p->cfg.channels;
	stage->pieces = (total + FX_MAX_SECTIONS - 1) / FX_MAX_SECTIONS;
	stage->groups = (channels + GROUP - 1) / GROUP;
	stage->parts = calloc((size_t)stage->pieces * stage->groups,
	                      sizeof *stage->parts);
	if (!stage->parts)
		st = FX_ERR_NOMEM;
	for (int k = 0; st == FX_OK && k < stage->pieces; k++) {
		int n = total - k * FX_MAX_SECTIONS;
		n = n < FX_MAX_SECTIONS ? n : FX_MAX_SECTIONS;
		for (int g = 0; st == FX_OK && g < stage->groups; g++) {
			int ch = channels - g * GROUP;
			ch = ch < GROUP ? ch : GROUP;
			const FxSection *first = sec + k * FX_MAX_SECTIONS;
			stage->parts[k * stage->groups + g] = fx_pt_filter_new(
				first, n, ch, FXFILE_BLOCK, &st);
		}
	}
	/* A stage counts once it holds anything, so free() finds it. */
	p->n_stages++;
	if (st != FX_OK) {
		snprintf(err, size, "filter cascade: %s", fx_strerror(st));
		return st;
	}
	memcpy(stage->slots, slots, (size_t)n_slots * sizeof *slots);
	stage->n_slots = n_slots;
	stage->n_sections = total;
	return FX_OK;
}

static FxStatus add_chain_stage(FxFilePipeline *p, const FxChainSpec *spec,
                                const int *slots, int n_slots, char *err,
                                size_t size)
{
	if (p->cfg.channels > FXFILE_CHAIN_CHANNELS) {
		const FxSlotSpec *s = &spec->slots[slots[0]];
		snprintf(err, size,
		         "slot %d (%s): %s takes at most %d "
		         "channels, not %d (only filters take more)",
		         slots[0] + 1, slot_name(s), s->cls->name,
		         FXFILE_CHAIN_CHANNELS, p->cfg.channels);
		return FX_ERR_RANGE;
	}
	FxChainConfig cfg = fx_chain_config_default();
	cfg.sample_rate = p->cfg.sample_rate;
	cfg.channels = p->cfg.channels;
	cfg.max_block = FXFILE_BLOCK;
	FxChainSpec sub = {0};
	for (int i = 0; i < n_slots; i++)
		sub.slots[sub.n_slots++] = spec->slots[slots[i]];
	FxStatus st;
	Stage *stage = &p->stages[p->n_stages];
	if (!(stage->chain = fx_chain_new(&sub, &cfg, &st))) {
		/* Name the slot that failed: build each alone. */
		int bad = 0;
		for (int i = 0; st != FX_ERR_NOMEM && i < n_slots; i++) {
			FxStatus one;
			sub.n_slots = 1;
			sub.slots[0] = spec->slots[slots[i]];
			FxChain *c = fx_chain_new(&sub, &cfg, &one);
			fx_chain_free(c);
			if (!c) {
				bad = i;
				st = one;
				break;
			}
		}
		char shape[400] = "";
		if (st == FX_ERR_CHANNELS)
			fx_lv2_shape_text(spec->slots[slots[bad]].cls,
			                  p->cfg.channels, shape, sizeof shape);
		snprintf(err, size, "slot %d (%s): %s", slots[bad] + 1,
		         slot_name(&spec->slots[slots[bad]]),
		         shape[0] ? shape : fx_strerror(st));
		return st;
	}
	if (p->cfg.bpm > 0.0)
		fx_chain_set_tempo(stage->chain, p->cfg.bpm);
	memcpy(stage->slots, slots, (size_t)n_slots * sizeof *slots);
	stage->n_slots = n_slots;
	p->n_stages++;
	return FX_OK;
}

FxFilePipeline *fxfile_pipeline_new(const FxChainSpec *spec,
                                    const FxFilePipelineConfig *cfg,
                                    FxStatus *st, char *err, size_t size)
{
	FxFilePipeline *p = calloc(1, sizeof *p);
	if (!p) {
		*st = FX_ERR_NOMEM;
		snprintf(err, size, "%s", fx_strerror(*st));
		return NULL;
	}
	p->cfg = *cfg;
	for (int i = 0; i < spec->n_slots; i++)
		snprintf(p->names[i], sizeof p->names[i], "%s",
		         slot_name(&spec->slots[i]));
	int run[FX_MAX_SLOTS], n_run = 0, run_filter = 0, i = 0;
	*st = FX_OK;
	if (cfg->accel) {
		for (; i < spec->n_slots; i++) {
			const FxSlotSpec *s = &spec->slots[i];
			if (is_silent_bypass(s))
				continue;
			if (s->bypass || !(is_filter(s) || is_gain(s)))
				break;
			run[n_run++] = i;
		}
		if (n_run)
			*st = add_accel_stage(p, spec, run, n_run, err, size);
		n_run = 0;
	}
	for (; i <= spec->n_slots && *st == FX_OK; i++) {
		const FxSlotSpec *s = i < spec->n_slots ? &spec->slots[i] : NULL;
		if (s && is_silent_bypass(s))
			continue;
		if (n_run && (!s || is_filter(s) != run_filter)) {
			*st = run_filter ? add_filter_stage(p, spec, run, n_run,
			                                    err, size)
			                 : add_chain_stage(p, spec, run, n_run,
			                                   err, size);
			n_run = 0;
		}
		if (s) {
			run_filter = is_filter(s);
			run[n_run++] = i;
		}
	}
	if (*st != FX_OK) {
		fxfile_pipeline_free(p);
		return NULL;
	}
	return p;
}

void fxfile_pipeline_free(FxFilePipeline *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n_stages; i++) {
		Stage *s = &p->stages[i];
		for (int k = 0; s->parts && k < s->pieces * s->groups; k++)
			fx_pt_filter_free(s->parts[k]);
		for (int k = 0; s->plans && k < s->pieces * s->groups; k++)
			fx_accel_plan_free(s->plans[k]);
		free(s->parts);
		free(s->plans);
		fx_chain_free(s->chain);
	}
	fx_pt_pool_free(p->pool);
	free(p);
}

static void reset_all(FxFilePipeline *p)
{
	for (int i = 0; i < p->n_stages; i++) {
		Stage *s = &p->stages[i];
		for (int k = 0; s->parts && k < s->pieces * s->groups; k++)
			fx_pt_filter_reset(s->parts[k]);
		/* A failure here shows in the next forward. */
		for (int k = 0; s->plans && k < s->pieces * s->groups; k++)
			(void)fx_accel_plan_reset_state(s->plans[k]);
		if (s->chain)
			fx_chain_reset(s->chain);
	}
}

int fxfile_pipeline_process(FxFilePipeline *p, float *const *buf, int frames)
{
	int finite = 1;
	for (int i = 0; i < p->n_stages && finite; i++) {
		Stage *s = &p->stages[i];
		if (s->plans) {
			FxAccelPlan **plan = s->plans;
			for (int k = 0; k < s->pieces; k++)
				for (int g = 0; g < s->groups; g++, plan++)
					if (fx_accel_plan_forward(
						    *plan, buf + g * GROUP,
						    frames) != FX_OK)
						return -1;
			finite = fx_audio_is_finite(buf, p->cfg.channels, frames);
		} else if (s->parts) {
			FxPtFilter **part = s->parts;
			for (int k = 0; k < s->pieces; k++)
				for (int g = 0; g < s->groups; g++, part++)
					fx_pt_filter_process(*part, p->pool,
					                     buf + g * GROUP,
					                     frames);
			finite = fx_audio_is_finite(buf, p->cfg.channels, frames);
		} else {
			fx_chain_process(s->chain, buf, frames);
			uint64_t muted = fx_chain_nonfinite_count(s->chain);
			finite = muted == s->muted;
			s->muted = muted;
		}
	}
	/* The input itself, when there are no stages. */
	if (finite && !p->n_stages)
		finite = fx_audio_is_finite(buf, p->cfg.channels, frames);
	if (finite)
		return 0;
	for (int ch = 0; ch < p->cfg.channels; ch++)
		memset(buf[ch], 0, (size_t)frames * sizeof(float));
	reset_all(p);
	return 1;
}

int fxfile_pipeline_latency(const FxFilePipeline *p)
{
	int total = 0;
	for (int i = 0; i < p->n_stages; i++)
		if (p->stages[i].chain)
			total += fx_chain_latency(p->stages[i].chain);
	return total;
}

void fxfile_pipeline_describe(const FxFilePipeline *p, char *buf, size_t size)
{
	size_t at = 0;
	buf[0] = '\0';
	if (!p->n_stages)
		snprintf(buf, size, "no stages (the audio is copied)");
	for (int i = 0; i < p->n_stages && at < size; i++) {
		const Stage *s = &p->stages[i];
		at += (size_t)snprintf(buf + at, size - at, "%s%s (",
		                       i ? " | " : "",
		                       s->plans   ? "CUDA filter cascade"
		                       : s->parts ? "filter cascade"
		                                  : "chain");
		for (int k = 0; k < s->n_slots && at < size; k++)
			at += (size_t)snprintf(buf + at, size - at, "%s%s",
			                       k ? ", " : "",
			                       p->names[s->slots[k]]);
		if (at < size && (s->parts || s->plans))
			at += (size_t)snprintf(buf + at, size - at,
			                       "; %d section%s", s->n_sections,
			                       s->n_sections == 1 ? "" : "s");
		if (at < size)
			at += (size_t)snprintf(buf + at, size - at, ")");
	}
}

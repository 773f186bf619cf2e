/* SPDX-License-Identifier: ISC */
/* Engine setup, control and metrics: never on a realtime path. */
#include "daemon/engine/engine_impl.h"
#include "dsp/lv2.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

FxEngineConfig fx_engine_config_default(void)
{
	return (FxEngineConfig){
		.inputs = 2,
		.outputs = 2,
		.channels = 2,
		.sample_rate = 48000,
		.period = 256,
		.latency_periods = 1,
		.ring_periods = 8,
		.latency_log = 4096,
		.glide_ms = 20,
		.bypass_ms = 10,
		.fade_ms = 20,
		.safety = 1,
		.ceiling_db = -0.1,
		.memory_budget = (size_t)FX_ENGINE_BUDGET_MB * 1000000,
		.rerender = 1,
	};
}

/* The engine's control lock (engine_impl.h): every control entry holds it,
 * the realtime paths never take it. Getters take a const engine: the lock
 * is the one field they write. */
static void lock(const FxEngine *e)
{
	pthread_mutex_lock((pthread_mutex_t *)&e->lock);
}

static void unlock(const FxEngine *e)
{
	pthread_mutex_unlock((pthread_mutex_t *)&e->lock);
}

static void store_tempo(FxEngine *e, double bpm)
{
	uint64_t bits;
	memcpy(&bits, &bpm, sizeof bits);
	atomic_store_explicit(&e->tempo_bits, bits, memory_order_relaxed);
}

static FxStatus check_config(const FxEngineConfig *c)
{
	if (c->inputs < 1 || c->inputs > FX_ENGINE_MAX_PORTS ||
	    c->outputs < 1 || c->outputs > FX_ENGINE_MAX_PORTS ||
	    c->channels < 1 || c->channels > FX_ENGINE_MAX_PORTS)
		return FX_ERR_RANGE;
	if (!(c->sample_rate >= 1000 && c->sample_rate <= 768000))
		return FX_ERR_RANGE;
	if (c->period < 1 || c->period > 16384 || c->latency_periods < 1 ||
	    c->latency_periods > 64 || c->ring_periods < 2 ||
	    c->ring_periods > 256 || c->latency_log < 16 ||
	    c->latency_log > (1 << 20))
		return FX_ERR_RANGE;
	if (!(c->fade_ms >= 0 && c->fade_ms <= 10000))
		return FX_ERR_RANGE;
	return FX_OK;
}

static FxChainConfig chain_config(const FxEngineConfig *cfg)
{
	FxChainConfig cc = fx_chain_config_default();
	cc.sample_rate = cfg->sample_rate;
	cc.channels = cfg->channels;
	cc.max_block = FX_ENGINE_CHAIN_BLOCK;
	cc.glide_ms = cfg->glide_ms;
	cc.bypass_ms = cfg->bypass_ms;
	return cc;
}

/* What a chain of @p spec takes, and whether the budget allows it. */
static FxStatus plan_chain(const FxEngineConfig *cfg, const FxChainSpec *spec,
                           FxChainPlan *plan)
{
	FxChainConfig cc = chain_config(cfg);
	FxStatus st = fx_chain_plan(spec, &cc, plan);
	if (st == FX_OK && cfg->memory_budget && plan->bytes > cfg->memory_budget)
		st = FX_ERR_BUDGET;
	return st;
}

/* The first plugin whose audio ports do not fit the channels, or NULL. */
static const FxEffectClass *channels_misfit(const FxEngineConfig *cfg,
                                            const FxChainSpec *spec)
{
	for (int i = 0; i < spec->n_slots; i++) {
		char text[8];
		fx_lv2_shape_text(spec->slots[i].cls, cfg->channels, text,
		                  sizeof text);
		if (text[0])
			return spec->slots[i].cls;
	}
	return NULL;
}

void fx_engine_explain(const FxEngineConfig *cfg, const FxChainSpec *spec,
                       FxStatus st, char *why, size_t why_size)
{
	const FxEffectClass *shape;
	FxChainPlan plan;
	if (st == FX_ERR_BUDGET && plan_chain(cfg, spec, &plan) == FX_ERR_BUDGET)
		snprintf(why, why_size,
		         "chain needs %.1f MB of buffers, over the "
		         "%g MB budget (--memory-budget)",
		         (double)plan.bytes / 1e6,
		         (double)cfg->memory_budget / 1e6);
	else if (st == FX_ERR_CHANNELS && (shape = channels_misfit(cfg, spec)))
		fx_lv2_shape_text(shape, cfg->channels, why, why_size);
	else
		snprintf(why, why_size, "%s", fx_strerror(st));
}

/* Checked against the budget before anything is allocated. */
static FxChain *build_chain(const FxEngine *e, const FxChainSpec *spec,
                            FxStatus *st)
{
	FxChainPlan plan;
	if ((*st = plan_chain(&e->cfg, spec, &plan)) != FX_OK)
		return NULL;
	FxChainConfig cc = chain_config(&e->cfg);
	return fx_chain_new(spec, &cc, st);
}

static float *plan_buffers(float *mem, float **bufs, int n, int frames)
{
	for (int c = 0; c < n; c++)
		bufs[c] = mem + (size_t)c * frames;
	return mem;
}

/* What fx_engine_plan sizes for the period. */
static void free_plan(FxEngine *e)
{
	fx_ring_free(e->in_ring);
	fx_ring_free(e->out_ring);
	free(e->in_mem);
	free(e->ch_mem);
	free(e->old_mem);
	free(e->out_mem);
	free(e->patch_mem);
}

/* Periods a ring holds: latency_periods + ring_periods periods of room,
 * rounded up to a power of two frames, as fxd's rings always held. */
static size_t ring_records(const FxEngineConfig *c)
{
	size_t want = (size_t)c->period *
	              (size_t)(c->latency_periods + c->ring_periods);
	size_t room = 1;
	while (room < want)
		room <<= 1;
	return room / (size_t)c->period;
}

FxStatus fx_engine_plan(FxEngine *e)
{
	const FxEngineConfig *c = &e->cfg;
	int frames = c->period;
	size_t records = ring_records(c);
	free_plan(e);
	FxStatus st = FX_OK;
	/* Each period travels as one record: its number, then its frames. */
	e->in_ring = fx_ring_new_records(c->inputs, (size_t)frames, records, &st);
	e->out_ring = e->in_ring
	                      ? fx_ring_new_records(c->outputs, (size_t)frames,
	                                            records, &st)
	                      : NULL;
	e->in_mem = calloc((size_t)c->inputs * frames, sizeof(float));
	e->ch_mem = calloc((size_t)c->channels * frames, sizeof(float));
	e->old_mem = calloc((size_t)c->channels * frames, sizeof(float));
	e->out_mem = calloc((size_t)c->outputs * frames, sizeof(float));
	e->patch_mem = calloc((size_t)c->outputs * frames, sizeof(float));
	if (!e->out_ring)
		return st == FX_OK ? FX_ERR_NOMEM : st;
	if (!e->in_mem || !e->ch_mem || !e->old_mem || !e->out_mem ||
	    !e->patch_mem)
		return FX_ERR_NOMEM;
	plan_buffers(e->in_mem, e->in_buf, c->inputs, frames);
	plan_buffers(e->ch_mem, e->ch_buf, c->channels, frames);
	plan_buffers(e->old_mem, e->old_buf, c->channels, frames);
	plan_buffers(e->out_mem, e->out_buf, c->outputs, frames);
	plan_buffers(e->patch_mem, e->patch_buf, c->outputs, frames);
	/* Numbering starts again: nothing to re-render, every chunk before
	 * the first taken (the primed ones are never re-rendered). */
	e->pend = FX_PEND_NONE;
	atomic_store(&e->patch, (uint64_t)UINT32_MAX << 32 | FX_PATCH_TAKEN);
	/* Prime with latency_periods of silence numbered as the periods before
	 * the first, so period n plays chunk n - latency_periods. */
	e->seq = 0;
	/* Batches are numbered by period, and numbering starts again. */
	if (e->midi_in)
		fx_queue_clear(e->midi_in);
	if (e->midi_heard)
		fx_queue_clear(e->midi_heard);
	for (int k = 0; k < c->latency_periods; k++) {
		for (int ch = 0; ch < c->outputs; ch++)
			memset(e->out_buf[ch], 0, (size_t)frames * sizeof(float));
		uint32_t s = (uint32_t)(k - c->latency_periods);
		fx_ring_write_record(e->out_ring, s,
		                     (const float *const *)e->out_buf,
		                     (size_t)frames);
	}
	return FX_OK;
}

static FxStatus init_log(TimeLog *log, int size)
{
	log->ns = calloc((size_t)size, sizeof *log->ns);
	return log->ns ? FX_OK : FX_ERR_NOMEM;
}

/* The MIDI queues and the worker's MIDI buffers. */
static FxStatus new_midi(FxEngine *e, FxStatus *st)
{
	/* Room for a full period of events, its header, and a period more. */
	e->midi_in = fx_queue_new(sizeof(FxMidiEvent),
	                          2 * FX_ENGINE_MIDI_EVENTS + 2, st);
	e->midi_out = fx_queue_new(sizeof(FxMidiEvent), FX_ENGINE_MIDI_OUT, st);
	e->midi_tables = fx_queue_new(sizeof(FxMidiTable *),
	                              FX_MIDI_TABLE_QUEUE, st);
	e->midi_retired = fx_queue_new(sizeof(FxMidiTable *),
	                               FX_MIDI_TABLE_QUEUE, st);
	e->midi_reports = fx_queue_new(sizeof(FxMidiReport), FX_MIDI_REPORTS, st);
	e->midi_heard = fx_queue_new(sizeof(MidiHeard), FX_MIDI_HEARD, st);
	e->midi_buf = calloc(FX_ENGINE_MIDI_EVENTS, sizeof *e->midi_buf);
	e->midi_actions = calloc(FX_MIDI_MAX_MAPPINGS, sizeof *e->midi_actions);
	if (!e->midi_in || !e->midi_out || !e->midi_tables ||
	    !e->midi_retired || !e->midi_reports || !e->midi_heard ||
	    !e->midi_buf || !e->midi_actions ||
	    init_log(&e->midi_log, e->cfg.latency_log) != FX_OK)
		*st = FX_ERR_NOMEM;
	return *st;
}

static void free_midi_tables(FxQueue *q)
{
	FxMidiTable *t;
	while (q && fx_queue_pop(q, &t))
		fx_midi_table_free(t);
}

FxEngine *fx_engine_new(const FxEngineConfig *cfg, const FxChainSpec *spec,
                        FxStatus *st)
{
	FxStatus dummy;
	if (!st)
		st = &dummy;
	if ((*st = check_config(cfg)) != FX_OK)
		return NULL;
	FxEngine *e = aligned_alloc(64, (sizeof *e + 63) / 64 * 64);
	if (!e) {
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	memset(e, 0, sizeof *e);
	pthread_mutex_init(&e->lock, NULL);
	e->cfg = *cfg;
	sem_init(&e->work_sem, 0, 0);
	sem_init(&e->chunk_sem, 0, 0);
	sem_init(&e->paused_sem, 0, 0);
	sem_init(&e->resume_sem, 0, 0);
	e->fade_frames = (int)(cfg->fade_ms * 1e-3 * cfg->sample_rate);
	store_tempo(e, 120);
	e->spec = *spec;
	e->chain = build_chain(e, spec, st);
	e->newest = e->chain;
	if (e->chain)
		e->chain_latency = fx_chain_latency(e->chain);
	if (e->chain && (*st = fx_engine_plan(e)) == FX_OK &&
	    (*st = init_log(&e->cb_log, cfg->latency_log)) == FX_OK &&
	    (*st = init_log(&e->work_log, cfg->latency_log)) == FX_OK) {
		e->scratch_ns = calloc((size_t)cfg->latency_log,
		                       sizeof(uint32_t));
		e->swaps = fx_queue_new(sizeof(ChainMsg), FX_SWAP_QUEUE, st);
		e->knob = e->swaps ? fx_knob_timing_new(st) : NULL;
		if (!e->knob || init_log(&e->knob_log, cfg->latency_log))
			*st = FX_ERR_NOMEM;
		e->retired = e->swaps ? fx_queue_new(sizeof(ChainMsg),
		                                     2 * FX_SWAP_QUEUE, st)
		                      : NULL;
		if (cfg->safety && e->retired)
			e->safety = fx_safety_new(cfg->channels, cfg->sample_rate,
			                          cfg->ceiling_db, st);
		if (!e->scratch_ns)
			*st = FX_ERR_NOMEM;
		if (e->scratch_ns && e->retired && e->knob && e->knob_log.ns &&
		    (!cfg->safety || e->safety) && new_midi(e, st) == FX_OK)
			return e;
	}
	fx_engine_free(e);
	return NULL;
}

/* Frees the chains the worker retired: each ends a swap in flight. */
static void free_retired(FxEngine *e)
{
	ChainMsg msg;
	while (fx_queue_pop(e->retired, &msg)) {
		fx_chain_free(msg.chain);
		if (e->in_flight > 0)
			e->in_flight--;
	}
}

/* Builds @p spec's chain and queues it; nothing changes on failure. */
static FxStatus queue_chain(FxEngine *e, const FxChainSpec *spec)
{
	FxStatus st;
	FxChain *chain = build_chain(e, spec, &st);
	if (!chain)
		return st;
	/* Read before handing over: the worker owns the chain after the push. */
	int latency = fx_chain_latency(chain);
	ChainMsg msg = {chain, e->gen + 1};
	if (!fx_queue_push(e->swaps, &msg)) {
		fx_chain_free(chain);
		return FX_ERR_FULL;
	}
	e->gen++;
	e->in_flight++;
	e->newest = chain;
	e->chain_latency = latency;
	if (spec != &e->spec)
		e->spec = *spec;
	e->wanted = 0;
	atomic_fetch_add_explicit(&e->staged_seq, 1, memory_order_release);
	atomic_store_explicit(&e->swap_held, 0, memory_order_release);
	return FX_OK;
}

/* A swap asked for while one is in flight: it becomes the wanted spec. */
static void want_later(FxEngine *e, const FxChainSpec *spec, int latency)
{
	if (!e->wanted) {
		e->fallback = e->spec;
		e->fallback_latency = e->chain_latency;
		e->wanted = 1;
		atomic_store_explicit(&e->swap_held, 1, memory_order_relaxed);
	}
	e->spec = *spec;
	e->chain_latency = latency;
	/* Counted now (a sync point covers it); the hold keeps the worker
	 * from publishing it as applied before the chain runs. */
	atomic_fetch_add_explicit(&e->staged_seq, 1, memory_order_release);
}

/* A rebuild keeps what the running plugins hold: a slot of @p spec with
 * the label and class of a slot of @p running (the spec of e->newest), and
 * no state of its own (none, or the one running has), gets that plugin's
 * state, saved now. Locked. */
static void keep_states(FxEngine *e, FxChainSpec *spec, const FxChainSpec *running)
{
	for (int i = 0; e->newest && i < spec->n_slots; i++) {
		FxSlotSpec *s = &spec->slots[i];
		if (!s->cls->save || !*s->label)
			continue;
		int j = fx_spec_find_slot(running, s->label);
		if (j < 0 || running->slots[j].cls != s->cls ||
		    (s->saved && s->saved != running->slots[j].saved))
			continue;
		const char *now = fx_chain_slot_save(e->newest, j);
		if (now)
			s->saved = now;
	}
}

/* Frees what came back and queues the wanted chain once none is in flight. */
static void collect(FxEngine *e)
{
	free_retired(e);
	free_midi_tables(e->midi_retired);
	if (!e->wanted || e->in_flight)
		return;
	FxChainSpec spec = e->spec;
	keep_states(e, &spec, &e->fallback);
	FxStatus st = queue_chain(e, &spec);
	if (st != FX_OK) {
		/* Out of memory: the chain running is wanted again. */
		e->spec = e->fallback;
		e->chain_latency = e->fallback_latency;
		e->wanted = 0;
		atomic_store_explicit(&e->swap_held, 0, memory_order_release);
		e->build_error = st;
	}
}

FxStatus fx_engine_collect(FxEngine *e)
{
	lock(e);
	collect(e);
	FxStatus st = e->build_error;
	e->build_error = FX_OK;
	unlock(e);
	return st;
}

void fx_engine_free(FxEngine *e)
{
	if (!e)
		return;
	if (e->retired)
		free_retired(e);
	ChainMsg msg;
	while (e->swaps && fx_queue_pop(e->swaps, &msg))
		fx_chain_free(msg.chain);
	fx_chain_free(e->chain);
	fx_chain_free(e->old_chain);
	fx_queue_free(e->swaps);
	fx_queue_free(e->retired);
	free_midi_tables(e->midi_tables);
	free_midi_tables(e->midi_retired);
	fx_midi_table_free(e->midi_table);
	fx_queue_free(e->midi_in);
	fx_queue_free(e->midi_out);
	fx_queue_free(e->midi_tables);
	fx_queue_free(e->midi_retired);
	fx_queue_free(e->midi_reports);
	fx_queue_free(e->midi_heard);
	free(e->midi_buf);
	free(e->midi_actions);
	free(e->midi_log.ns);
	fx_knob_timing_free(e->knob);
	free(e->knob_log.ns);
	fx_safety_free(e->safety);
	free_plan(e);
	free(e->cb_log.ns);
	free(e->work_log.ns);
	free(e->scratch_ns);
	sem_destroy(&e->work_sem);
	sem_destroy(&e->chunk_sem);
	sem_destroy(&e->paused_sem);
	sem_destroy(&e->resume_sem);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void fx_engine_set_worker_running(FxEngine *e, int running)
{
	atomic_store(&e->stop, 0);
	atomic_store(&e->worker_running, running != 0);
}

void fx_engine_stop_worker(FxEngine *e)
{
	atomic_store(&e->stop, 1);
	sem_post(&e->work_sem);
}

/* ---- control ------------------------------------------------------------ */

static void stage(FxEngine *e, int idx, double v)
{
	Staged *s = &e->stage[idx];
	uint64_t raw;
	memcpy(&raw, &v, sizeof raw);
	uint32_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
	atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->gen, e->gen, memory_order_relaxed);
	atomic_store_explicit(&s->bits, raw, memory_order_relaxed);
	atomic_store_explicit(&s->seq, q + 2, memory_order_release);
	atomic_fetch_or_explicit(&e->dirty[idx / 64], 1ull << (idx % 64),
	                         memory_order_release);
	atomic_fetch_add_explicit(&e->staged_seq, 1, memory_order_release);
	/* A sleeping worker may still render its last chunk again with this
	 * value (issue 18). Dekker with wait_for_input: the dirty bit before
	 * the look at its state. */
	if (e->cfg.rerender) {
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load(&e->worker_state) == FX_WORKER_ASLEEP)
			sem_post(&e->work_sem);
	}
}

/* A value for the chain in `spec`: staged, or, while that chain is wanted
 * and not built yet, only counted (it is built with the value). */
static void stage_or_count(FxEngine *e, int idx, double v)
{
	if (e->wanted)
		atomic_fetch_add_explicit(&e->staged_seq, 1,
		                          memory_order_release);
	else
		stage(e, idx, v);
}

static FxStatus swap_locked(FxEngine *e, const FxChainSpec *wanted)
{
	FxChainPlan plan;
	FxStatus st = plan_chain(&e->cfg, wanted, &plan);
	if (st != FX_OK)
		return st;
	free_retired(e);
	if (!e->in_flight) {
		FxChainSpec spec = *wanted;
		keep_states(e, &spec, &e->spec);
		return queue_chain(e, &spec);
	}
	/* Its plugins' states are taken when it is queued (collect). */
	want_later(e, wanted, plan.latency);
	return FX_OK;
}

static FxStatus set_bypass_locked(FxEngine *e, int slot, double on,
                                  FxParamChange *change)
{
	int bypass = on != 0.0;
	change->applied = bypass;
	change->changed = e->spec.slots[slot].bypass != bypass;
	if (change->changed) {
		e->spec.slots[slot].bypass = bypass;
		stage_or_count(
			e, fx_param_index((FxParamRef){slot, FX_PARAM_BYPASS}),
			bypass);
	}
	return FX_OK;
}

static FxStatus set_param_locked(FxEngine *e, FxParamRef r, double value,
                                 FxParamChange *change)
{
	if (r.slot < 0 || r.slot >= e->spec.n_slots)
		return FX_ERR_RANGE;
	FxSlotSpec *s = &e->spec.slots[r.slot];
	if (r.param == FX_PARAM_BYPASS)
		return set_bypass_locked(e, r.slot, value, change);
	if (r.param < 0 || r.param >= s->cls->n_params)
		return FX_ERR_UNKNOWN_PARAM;
	if (!isfinite(value))
		return FX_ERR_NONFINITE;
	const FxParamInfo *p = &s->cls->params[r.param];
	value = fx_param_clamp(p, value);
	change->applied = value;
	change->changed = value != s->values[r.param];
	if (!change->changed)
		return FX_OK;
	if (p->flags & FX_PARAM_STRUCTURAL) {
		FxChainSpec next = e->spec;
		next.slots[r.slot].values[r.param] = value;
		FxStatus st = swap_locked(e, &next);
		change->changed = st == FX_OK;
		return st;
	}
	s->values[r.param] = value;
	stage_or_count(e, fx_param_index(r), value);
	return FX_OK;
}

FxStatus fx_engine_set_param(FxEngine *e, FxParamRef r, double value,
                             uint64_t rx_ns, FxParamChange *change)
{
	FxParamChange ignored;
	if (!change)
		change = &ignored;
	*change = (FxParamChange){.applied = NAN};
	lock(e);
	int latency = e->chain_latency;
	FxStatus st = set_param_locked(e, r, value, change);
	/* Timed from the count that includes this change (and its swap). */
	if (st == FX_OK && change->changed && rx_ns)
		fx_knob_timing_mark(e->knob,
		                    atomic_load_explicit(&e->staged_seq,
		                                         memory_order_relaxed),
		                    rx_ns);
	change->latency_moved = e->chain_latency != latency;
	unlock(e);
	return st;
}

double fx_engine_get_param(const FxEngine *e, FxParamRef r)
{
	double v = NAN;
	lock(e);
	if (r.slot >= 0 && r.slot < e->spec.n_slots) {
		const FxSlotSpec *s = &e->spec.slots[r.slot];
		if (r.param == FX_PARAM_BYPASS)
			v = s->bypass;
		else if (r.param >= 0 && r.param < s->cls->n_params)
			v = s->values[r.param];
	}
	unlock(e);
	return v;
}

FxStatus fx_engine_swap(FxEngine *e, const FxChainSpec *spec)
{
	lock(e);
	FxStatus st = swap_locked(e, spec);
	unlock(e);
	return st;
}

void fx_engine_get_spec(const FxEngine *e, FxChainSpec *spec)
{
	lock(e);
	*spec = e->spec;
	unlock(e);
}

int fx_engine_restart_muted(FxEngine *e)
{
	lock(e);
	int n = e->newest ? fx_chain_restart_muted(e->newest) : 0;
	unlock(e);
	return n;
}

void fx_engine_save_spec(FxEngine *e, FxChainSpec *spec)
{
	lock(e);
	/* A wanted spec is not built yet: its states are still to be
	 * restored, so they are what it holds. */
	for (int s = 0; !e->wanted && e->newest && s < e->spec.n_slots; s++)
		if (e->spec.slots[s].cls->save)
			e->spec.slots[s].saved = fx_chain_slot_save(e->newest, s);
	*spec = e->spec;
	unlock(e);
}

int fx_engine_latency(const FxEngine *e)
{
	lock(e);
	int latency = e->cfg.latency_periods * e->cfg.period + e->chain_latency;
	unlock(e);
	return latency;
}

static int wait_flag_clear(_Atomic int *flag)
{
	for (int i = 0; i < 20000; i++) {
		if (!atomic_load(flag))
			return 1;
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

static FxStatus set_period_locked(FxEngine *e, int period)
{
	if (period < 1 || period > 16384)
		return FX_ERR_RANGE;
	atomic_store(&e->paused, 1);
	if (!wait_flag_clear(&e->driver_busy)) {
		atomic_store(&e->paused, 0);
		return FX_ERR_IO;
	}
	int parked = atomic_load(&e->worker_running);
	if (parked) {
		atomic_store(&e->pause_worker, 1);
		sem_post(&e->work_sem);
		/* The worker parks, or (told to stop meanwhile) says so on its
		 * way out; never wait on a thread that is gone. */
		/* sem_timedwait rather than sem_clockwait: ThreadSanitizer
		 * sees the former's ordering and not the latter's. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		if (sem_timedwait(&e->paused_sem, &ts) != 0) {
			atomic_store(&e->pause_worker, 0);
			atomic_store(&e->paused, 0);
			return FX_ERR_IO;
		}
	}
	int old_period = e->cfg.period;
	e->cfg.period = period;
	FxStatus st = fx_engine_plan(e);
	if (st != FX_OK) {
		/* Keep running at the old period rather than not at all; if
		 * even that fails, stay paused and parked (silent, not broken). */
		e->cfg.period = old_period;
		if (fx_engine_plan(e) != FX_OK)
			return st;
	}
	/* Period numbers start again: changes being timed are forgotten. */
	fx_knob_timing_forget(e->knob);
	/* Drop wake-ups counted for the old period. */
	while (sem_trywait(&e->work_sem) == 0)
		;
	if (parked) {
		atomic_store(&e->pause_worker, 0);
		sem_post(&e->resume_sem);
	}
	atomic_store(&e->paused, 0);
	return st;
}

FxEngine *fx_engine_renew(FxEngine *e, double rate, int period, FxStatus *st)
{
	FxStatus dummy;
	if (!st)
		st = &dummy;
	FxEngineConfig cfg = fx_engine_config(e);
	if (cfg.sample_rate == rate &&
	    (*st = fx_engine_set_period(e, period)) == FX_OK) {
		fx_engine_reset_state(e);
		return e;
	}
	/* Designs, delay times, tunings and look-ahead all follow the rate:
	 * the running spec is built afresh, as a chain swap builds one. */
	FxChainSpec spec;
	fx_engine_get_spec(e, &spec);
	cfg.sample_rate = rate;
	cfg.period = period;
	return fx_engine_new(&cfg, &spec, st);
}

FxStatus fx_engine_set_period(FxEngine *e, int period)
{
	lock(e);
	FxStatus st = set_period_locked(e, period);
	unlock(e);
	return st;
}

void fx_engine_fade(FxEngine *e, int out)
{
	lock(e);
	if (!out)
		atomic_store(&e->faded_out, 0);
	atomic_store(&e->fade_out, out != 0);
	unlock(e);
}

int fx_engine_faded_out(const FxEngine *e)
{
	lock(e);
	int done = atomic_load((_Atomic int *)&e->faded_out);
	unlock(e);
	return done;
}

void fx_engine_reset_state(FxEngine *e)
{
	lock(e);
	atomic_store(&e->want_reset, 1);
	unlock(e);
}

void fx_engine_set_tempo(FxEngine *e, double bpm)
{
	lock(e);
	store_tempo(e, bpm);
	unlock(e);
}

void fx_engine_panic(FxEngine *e)
{
	lock(e);
	atomic_store(&e->want_panic, 1);
	unlock(e);
}

uint32_t fx_engine_staged_seq(const FxEngine *e)
{
	lock(e);
	uint32_t seq = atomic_load((_Atomic uint32_t *)&e->staged_seq);
	unlock(e);
	return seq;
}

int fx_engine_applied(const FxEngine *e, uint32_t seq)
{
	lock(e);
	uint32_t done = atomic_load((_Atomic uint32_t *)&e->applied_seq);
	unlock(e);
	return (int32_t)(done - seq) >= 0;
}

int fx_engine_meters(FxEngine *e, float *peak, float *rms, int max, int *outputs)
{
	lock(e);
	Meters *m = &e->meters;
	int ports = e->cfg.outputs + e->cfg.inputs;
	int n = ports < max ? ports : max;
	if (outputs)
		*outputs = e->cfg.outputs < n ? e->cfg.outputs : n;
	uint32_t epoch = atomic_load_explicit(&m->epoch, memory_order_relaxed);
	uint64_t frames = 0;
	/* A reader that keeps losing to the writer gives up and reports
	 * silence for this interval rather than wait. */
	for (int tries = 0; tries < 16; tries++) {
		uint32_t q0 = atomic_load_explicit(&m->seq, memory_order_acquire);
		if (q0 & 1)
			continue;
		frames = atomic_load_explicit(&m->frames, memory_order_relaxed);
		uint32_t pub = atomic_load_explicit(&m->pub_epoch,
		                                    memory_order_relaxed);
		for (int c = 0; c < n; c++) {
			peak[c] = atomic_load_explicit(&m->peak[c],
			                               memory_order_relaxed);
			double s = atomic_load_explicit(&m->sumsq[c],
			                                memory_order_relaxed);
			rms[c] = frames ? (float)sqrt(s / (double)frames) : 0.0f;
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&m->seq, memory_order_relaxed) != q0)
			continue;
		if (pub == epoch && frames)
			break;
		frames = 0;
		break;
	}
	if (!frames)
		for (int c = 0; c < n; c++)
			peak[c] = rms[c] = 0.0f;
	atomic_fetch_add_explicit(&m->epoch, 1, memory_order_release);
	unlock(e);
	return n;
}

void fx_engine_poll(FxEngine *e)
{
	lock(e);
	collect(e);
	uint64_t heard[FX_KNOB_MARKS];
	int n = fx_knob_timing_settle(e->knob, fx_engine_now_ns(), heard);
	for (int i = 0; i < n; i++)
		fx_engine_log_time(&e->knob_log, e->cfg.latency_log, heard[i]);
	unlock(e);
}

FxEngineConfig fx_engine_config(const FxEngine *e)
{
	lock(e);
	FxEngineConfig cfg = e->cfg;
	unlock(e);
	return cfg;
}

/* ---- metrics ------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Statistics of @p log's entries, each multiplied by @p unit (1e-6: ns
 * to ms). */
static void stats(FxEngine *e, TimeLog *log, FxLatencyStats *out, double unit)
{
	int size = e->cfg.latency_log;
	uint64_t written = atomic_load_explicit(&log->written,
	                                        memory_order_acquire);
	uint64_t n = written - log->baseline;
	if (n > (uint64_t)size)
		n = (uint64_t)size;
	memset(out, 0, sizeof *out);
	out->count = n;
	if (!n)
		return;
	double sum = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = (written - n + i) % (uint64_t)size;
		e->scratch_ns[i] = atomic_load_explicit(&log->ns[k],
		                                        memory_order_relaxed);
		sum += e->scratch_ns[i];
	}
	qsort(e->scratch_ns, n, sizeof *e->scratch_ns, cmp_u32);
	/* Nearest-rank percentiles. */
#define RANK(p) e->scratch_ns[(size_t)ceil((p) / 100.0 * n) - 1] * unit
	out->min = e->scratch_ns[0] * unit;
	out->median = RANK(50);
	out->p95 = RANK(95);
	out->p99 = RANK(99);
	out->max = e->scratch_ns[n - 1] * unit;
	out->mean = sum / n * unit;
#undef RANK
}

enum {
	M_CALLBACKS,
	M_CHUNKS,
	M_OVERFLOWS,
	M_UNDERFLOWS,
	M_LATE,
	M_XRUNS,
	M_MISSED,
	M_NONFINITE,
	M_MIDI_EVENTS,
	M_MIDI_OVERFLOWS,
	M_MIDI_OUT_DROPPED,
	M_MIDI_REPORTS_DROPPED,
	M_RERENDERS,
	M_RERENDERS_LATE,
	M_RERENDERS_SKIPPED,
	M_RERENDERS_UNABLE,
	M_COUNT
};

int fx_engine_slot_stats(FxEngine *e, FxEngineSlotStats *out, int max)
{
	/* Only for the chain the spec describes: during a swap, a slot's
	 * numbers would be another effect's under this one's name. */
	lock(e);
	int current = !e->wanted &&
	              atomic_load_explicit(&e->slot_gen, memory_order_relaxed) ==
	                      e->gen;
	unlock(e);
	if (!current)
		return 0;
	int n = atomic_load_explicit(&e->slot_count, memory_order_relaxed);
	uint64_t chunks = atomic_load_explicit(&e->slot_chunks,
	                                       memory_order_relaxed);
	n = n < max ? n : max;
	for (int i = 0; i < n; i++) {
		uint64_t ns = atomic_load_explicit(&e->slot_ns[i],
		                                   memory_order_relaxed);
		out[i].us = chunks ? (double)ns / (double)chunks / 1e3 : 0.0;
		out[i].faults = atomic_load_explicit(&e->slot_faults[i],
		                                     memory_order_relaxed);
		for (int j = 0; j < FX_MAX_OUTPUTS; j++) {
			uint32_t bits = atomic_load_explicit(
				&e->slot_out[i][j], memory_order_relaxed);
			memcpy(&out[i].outputs[j], &bits, sizeof bits);
		}
	}
	return n;
}

uint64_t fx_engine_nonfinite(FxEngine *e)
{
	return atomic_load(&e->nonfinite);
}

static void read_counters(FxEngine *e, uint64_t v[M_COUNT])
{
	v[M_MIDI_EVENTS] = atomic_load(&e->midi_events);
	v[M_MIDI_OVERFLOWS] = atomic_load(&e->midi_overflows);
	v[M_MIDI_OUT_DROPPED] = atomic_load(&e->midi_out_dropped);
	v[M_MIDI_REPORTS_DROPPED] = atomic_load(&e->midi_reports_dropped);
	v[M_CALLBACKS] = atomic_load(&e->callbacks);
	v[M_CHUNKS] = atomic_load(&e->chunks);
	v[M_OVERFLOWS] = atomic_load(&e->overflows);
	v[M_UNDERFLOWS] = atomic_load(&e->underflows);
	v[M_LATE] = atomic_load(&e->late);
	v[M_XRUNS] = atomic_load(&e->xruns);
	v[M_MISSED] = atomic_load(&e->missed);
	v[M_NONFINITE] = atomic_load(&e->nonfinite);
	v[M_RERENDERS] = atomic_load(&e->rerenders);
	v[M_RERENDERS_LATE] = atomic_load(&e->rerenders_late);
	v[M_RERENDERS_SKIPPED] = atomic_load(&e->rerenders_skipped);
	v[M_RERENDERS_UNABLE] = atomic_load(&e->rerenders_unable);
}
_Static_assert(M_COUNT <= sizeof((FxEngine *)0)->base / sizeof(uint64_t),
               "FxEngine.base holds every counter");

static void counters(FxEngine *e, FxEngineMetrics *m);

void fx_engine_metrics(FxEngine *e, FxEngineMetrics *m)
{
	lock(e);
	counters(e, m);
	stats(e, &e->cb_log, &m->callback, 1e-6);
	stats(e, &e->work_log, &m->worker, 1e-6);
	stats(e, &e->knob_log, &m->knob, 1e-6);
	stats(e, &e->midi_log, &m->midi_frames, 1.0);
	double period_ms = 1e3 * e->cfg.period / e->cfg.sample_rate;
	m->dsp_load = m->worker.count ? 100.0 * m->worker.mean / period_ms : 0;
	unlock(e);
}

static void counters(FxEngine *e, FxEngineMetrics *m)
{
	memset(m, 0, sizeof *m);
	uint64_t v[M_COUNT];
	read_counters(e, v);
	m->midi_events = v[M_MIDI_EVENTS] - e->base[M_MIDI_EVENTS];
	m->midi_overflows = v[M_MIDI_OVERFLOWS] - e->base[M_MIDI_OVERFLOWS];
	m->midi_out_dropped = v[M_MIDI_OUT_DROPPED] - e->base[M_MIDI_OUT_DROPPED];
	m->midi_reports_dropped = v[M_MIDI_REPORTS_DROPPED] -
	                          e->base[M_MIDI_REPORTS_DROPPED];
	m->callbacks = v[M_CALLBACKS] - e->base[M_CALLBACKS];
	m->chunks = v[M_CHUNKS] - e->base[M_CHUNKS];
	m->input_overflows = v[M_OVERFLOWS] - e->base[M_OVERFLOWS];
	m->underflows = v[M_UNDERFLOWS] - e->base[M_UNDERFLOWS];
	m->late_dropped = v[M_LATE] - e->base[M_LATE];
	m->xruns_jack = v[M_XRUNS] - e->base[M_XRUNS];
	m->xruns_gaps = v[M_MISSED] - e->base[M_MISSED];
	/* Both sources see the same stall under jackd (JACK reports it, and
	 * the cycles it cost are missing from fxd's frame times): the larger
	 * count, never their sum. */
	m->xruns = m->xruns_jack > m->xruns_gaps ? m->xruns_jack : m->xruns_gaps;
	m->nonfinite = v[M_NONFINITE] - e->base[M_NONFINITE];
	m->rerenders = v[M_RERENDERS] - e->base[M_RERENDERS];
	m->rerenders_late = v[M_RERENDERS_LATE] - e->base[M_RERENDERS_LATE];
	m->rerenders_skipped = v[M_RERENDERS_SKIPPED] -
	                       e->base[M_RERENDERS_SKIPPED];
	m->rerenders_unable = v[M_RERENDERS_UNABLE] - e->base[M_RERENDERS_UNABLE];
}

void fx_engine_counters(FxEngine *e, FxEngineMetrics *m)
{
	lock(e);
	counters(e, m);
	unlock(e);
}

void fx_engine_reset_metrics(FxEngine *e)
{
	lock(e);
	read_counters(e, e->base);
	e->cb_log.baseline = atomic_load(&e->cb_log.written);
	e->work_log.baseline = atomic_load(&e->work_log.written);
	e->knob_log.baseline = atomic_load(&e->knob_log.written);
	e->midi_log.baseline = atomic_load(&e->midi_log.written);
	unlock(e);
}

/* ---- MIDI (control side) ------------------------------------------------- */

FxStatus fx_engine_set_midi_table(FxEngine *e, FxMidiTable *table)
{
	lock(e);
	free_midi_tables(e->midi_retired);
	/* Each table queued retires at most one: the retired queue, emptied
	 * just now, has room for every one the worker may take. */
	int ok = fx_queue_push(e->midi_tables, &table);
	unlock(e);
	if (!ok) {
		fx_midi_table_free(table);
		return FX_ERR_FULL;
	}
	return FX_OK;
}

void fx_engine_midi_learn(FxEngine *e, int armed)
{
	atomic_store_explicit(&e->midi_learn, armed != 0, memory_order_release);
}

int fx_engine_midi_send(FxEngine *e, const uint8_t *bytes, int size)
{
	if (size < 1 || size > 3)
		return 0;
	FxMidiEvent ev = {.size = (uint16_t)size};
	memcpy(ev.data, bytes, (size_t)size);
	lock(e); /* one producer: whoever holds the lock */
	int ok = fx_queue_push(e->midi_out, &ev);
	unlock(e);
	if (!ok)
		atomic_fetch_add_explicit(&e->midi_out_dropped, 1,
		                          memory_order_relaxed);
	return ok;
}

int fx_engine_midi_reports(FxEngine *e, FxMidiReport *out, int max)
{
	lock(e); /* one consumer: whoever holds the lock */
	int n = 0;
	while (n < max && fx_queue_pop(e->midi_reports, &out[n]))
		n++;
	unlock(e);
	return n;
}

/* ---- MIDI values the worker applied ---------------------------------------- */

FxStatus fx_engine_note_param(FxEngine *e, FxParamRef r, double value,
                              FxParamChange *change)
{
	FxParamChange ignored;
	if (!change)
		change = &ignored;
	*change = (FxParamChange){.applied = NAN};
	FxStatus st = FX_OK;
	lock(e);
	FxSlotSpec *s = r.slot >= 0 && r.slot < e->spec.n_slots
	                        ? &e->spec.slots[r.slot]
	                        : NULL;
	const FxParamInfo *p = s && r.param >= 0 && r.param < s->cls->n_params
	                               ? &s->cls->params[r.param]
	                               : NULL;
	if (!s)
		st = FX_ERR_RANGE;
	else if (r.param == FX_PARAM_BYPASS) {
		change->applied = value != 0.0;
		change->changed = s->bypass != (value != 0.0);
		s->bypass = value != 0.0;
	} else if (!p)
		st = FX_ERR_UNKNOWN_PARAM;
	else if (!isfinite(value))
		st = FX_ERR_NONFINITE;
	else if (p->flags & FX_PARAM_STRUCTURAL)
		st = FX_ERR_STRUCTURAL;
	else {
		change->applied = fx_param_clamp(p, value);
		change->changed = change->applied != s->values[r.param];
		s->values[r.param] = change->applied;
	}
	unlock(e);
	return st;
}

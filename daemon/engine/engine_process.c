/* SPDX-License-Identifier: ISC */
/* The engine's realtime paths: the driver's period and the worker's chunks.
 * No allocation, locks, logging or blocking calls here, except where
 * freewheeling waits for the worker (realtime rules are off then). */
#include "daemon/engine/engine_impl.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "dsp/denormal.h"

uint64_t fx_engine_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fx_engine_log_time(TimeLog *log, int size, uint64_t ns)
{
	uint64_t i = atomic_load_explicit(&log->written, memory_order_relaxed);
	atomic_store_explicit(&log->ns[i % (uint64_t)size],
	                      ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns,
	                      memory_order_relaxed);
	atomic_store_explicit(&log->written, i + 1, memory_order_release);
}

static void bump(_Atomic uint64_t *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static void silence(float *const *out, int n, int frames)
{
	for (int c = 0; c < n; c++)
		memset(out[c], 0, (size_t)frames * sizeof(float));
}

/* Drops chunks older than @p due from the head of the output ring: they
 * came too late. Returns 1 if a chunk, due or newer, then heads it.
 * Bounded: each pass drops one whole chunk, and only chunks older than
 * @p due, of which the rings hold a finite number, are dropped. */
static int drop_late(FxEngine *e, size_t frames, uint32_t due)
{
	for (int tries = 0;
	     tries <= e->cfg.latency_periods + e->cfg.ring_periods; tries++) {
		uint32_t seq;
		if (!fx_ring_peek_header(e->out_ring, frames, &seq))
			return 0;
		if ((int32_t)(due - seq) <= 0)
			return 1;
		fx_ring_drop_record(e->out_ring, frames);
		bump(&e->late);
	}
	return 0;
}

static uint64_t patch_word(uint32_t seq, int state)
{
	return (uint64_t)seq << 32 | (uint64_t)state;
}

/* Takes chunk @p due from the re-render if it was published (engine_impl.h
 * says how the word moves): 1 with the word READING(due), for the caller to
 * copy patch_buf and then store TAKEN(due). Otherwise the word is moved to
 * TAKEN(due), so that chunk can no longer be published, unless it already
 * names a newer chunk. Bounded: between two tries the worker can move the
 * word only once (TAKEN to READY), so the third never comes. */
static int claim_patch(FxEngine *e, uint32_t due)
{
	uint64_t w = atomic_load_explicit(&e->patch, memory_order_acquire);
	for (int tries = 0; tries < 3; tries++) {
		uint32_t s = (uint32_t)(w >> 32);
		int ready = s == due && (w & 3) == FX_PATCH_READY;
		if ((int32_t)(s - due) > 0 ||
		    (s == due && (w & 3) == FX_PATCH_TAKEN))
			return 0;
		uint64_t to = patch_word(due, ready ? FX_PATCH_READING
		                                    : FX_PATCH_TAKEN);
		if (atomic_compare_exchange_strong_explicit(
			    &e->patch, &w, to, memory_order_acq_rel,
			    memory_order_acquire))
			return ready;
	}
	return 0;
}

/* Reads the chunk due now into out, dropping any that came too late: the
 * re-rendered one when the worker published it in time, else the ring's.
 * Returns 0 (an underflow) if it is not there. */
static int take_due_chunk(FxEngine *e, float *const *out, int frames, uint32_t due)
{
	uint32_t seq;
	if (!drop_late(e, (size_t)frames, due) ||
	    !fx_ring_peek_header(e->out_ring, (size_t)frames, &seq) || seq != due)
		return 0; /* not made yet, or its input never made it in */
	if (claim_patch(e, due)) {
		for (int c = 0; c < e->cfg.outputs; c++)
			memcpy(out[c], e->patch_buf[c],
			       (size_t)frames * sizeof(float));
		/* Release: the copy is done before the worker writes again. */
		atomic_store_explicit(&e->patch, patch_word(due, FX_PATCH_TAKEN),
		                      memory_order_release);
		return fx_ring_drop_record(e->out_ring, (size_t)frames) != 0;
	}
	return fx_ring_read_record(e->out_ring, &seq, out, (size_t)frames) != 0;
}

/* Wakes the worker if it sleeps. Dekker with wait_for_input: the fence
 * orders this period's ring stores (the input written, late or due chunks
 * taken out) before the load, so either the worker sees them or this load
 * sees it asleep. */
static void wake_worker(FxEngine *e)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&e->worker_state) == FX_WORKER_ASLEEP)
		sem_post(&e->work_sem);
}

/* Freewheeling has no deadline: wait until the chunk due now, or a newer
 * one, heads the output ring, so that a chunk still being made is never
 * taken for a missing one; older ones came late and are dropped. Called
 * only when this period's input went in, so a chunk at least as new as
 * the due one is on its way. Bounded by a timeout, so a dead worker cannot
 * hang the server. */
static void wait_for_due_chunk(FxEngine *e, size_t frames, uint32_t due)
{
	for (;;) {
		/* Posts for chunks made while nobody waited: the check below
		 * sees those chunks, so they must not end a later wait. */
		while (sem_trywait(&e->chunk_sem) == 0)
			;
		if (drop_late(e, frames, due))
			return;
		wake_worker(e); /* dropping may have made the room it waits for */
		/* sem_timedwait rather than sem_clockwait: ThreadSanitizer
		 * sees the former's ordering and not the latter's. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		if (sem_timedwait(&e->chunk_sem, &ts) != 0 && errno == ETIMEDOUT)
			return;
	}
}

int fx_engine_midi_in(FxEngine *e, const FxMidiEvent *ev, int n)
{
	if (n <= 0 || atomic_load(&e->paused))
		return n == 0;
	/* The header names the period fx_engine_process numbers next. */
	FxMidiEvent head = {.frame = e->seq, .size = (uint16_t)n};
	if (n > FX_ENGINE_MIDI_EVENTS ||
	    !fx_queue_push_batch(e->midi_in, &head, ev, (size_t)n)) {
		bump(&e->midi_overflows);
		return 0;
	}
	atomic_fetch_add_explicit(&e->midi_events, (uint64_t)n,
	                          memory_order_relaxed);
	return 1;
}

int fx_engine_midi_out(FxEngine *e, FxMidiEvent *ev, int max)
{
	int n = 0;
	while (n < max && fx_queue_pop(e->midi_out, &ev[n]))
		n++;
	return n;
}

/* MIDI-to-ear: when chunk @p due plays in period @p now, a chunk that
 * applied MIDI from frame f is heard from frame f of this period. */
static void time_midi(FxEngine *e, uint32_t due, uint32_t now, int frames)
{
	MidiHeard h;
	/* Bounded by the queue's size; older chunks were never heard. */
	while (fx_queue_peek(e->midi_heard, &h) && (int32_t)(due - h.chunk) > 0)
		fx_queue_pop(e->midi_heard, &h);
	if (fx_queue_peek(e->midi_heard, &h) && h.chunk == due) {
		fx_queue_pop(e->midi_heard, &h);
		uint64_t frames_later = (uint64_t)(now - due) * (uint64_t)frames;
		fx_engine_log_time(&e->midi_log, e->cfg.latency_log,
		                   frames_later);
	}
}

void fx_engine_process(FxEngine *e, const float *const *in, float *const *out,
                       int frames)
{
	uint64_t t0 = fx_engine_now_ns();
	/* Dekker-style handshake with fx_engine_set_period: announce, then
	 * look; both sides use sequentially consistent order. */
	atomic_store(&e->driver_busy, 1);
	if (atomic_load(&e->paused) || frames != e->cfg.period) {
		atomic_store(&e->driver_busy, 0);
		silence(out, e->cfg.outputs, frames);
		return;
	}
	/* The due chunk was written on the worker's core: start pulling it
	 * over while the input is copied. */
	fx_ring_prefetch(e->out_ring, fx_ring_record_room((size_t)frames));
	uint32_t seq = e->seq++;
	/* The re-render's deadline; the input record's release publishes it. */
	atomic_store_explicit(&e->cb_start_ns[seq % FX_CB_STARTS], t0,
	                      memory_order_relaxed);
	int pushed = fx_ring_write_record(e->in_ring, seq, in, (size_t)frames) !=
	             0;
	if (!pushed)
		bump(&e->overflows);

	uint32_t due = seq - (uint32_t)e->cfg.latency_periods;
	if (pushed && atomic_load_explicit(&e->freewheel, memory_order_relaxed))
		wait_for_due_chunk(e, (size_t)frames, due);
	if (!take_due_chunk(e, out, frames, due)) {
		silence(out, e->cfg.outputs, frames);
		bump(&e->underflows);
	} else {
		time_midi(e, due, seq, frames);
	}
	/* When chunk `due` left, for the knob-to-ear measurement. */
	fx_knob_timing_played(e->knob, due, t0);
	bump(&e->callbacks);
	/* The worker sleeps on its semaphore between periods: one post per
	 * period wakes it for the input written above. */
	wake_worker(e);
	fx_engine_log_time(&e->cb_log, e->cfg.latency_log,
	                   fx_engine_now_ns() - t0);
	atomic_store(&e->driver_busy, 0);
}

void fx_engine_count_xrun(FxEngine *e)
{
	bump(&e->xruns);
}

void fx_engine_count_missed(FxEngine *e, uint32_t cycles)
{
	atomic_fetch_add_explicit(&e->missed, cycles, memory_order_relaxed);
}

void fx_engine_set_freewheel(FxEngine *e, int on)
{
	atomic_store(&e->freewheel, on != 0);
}

/* ---- worker ------------------------------------------------------------ */

/* Maps n_src planar buffers onto n_dst: with fewer sources each one feeds
 * every destination d with d % n_src == s (a mono input feeds every chain
 * channel); with more, sources s with s % n_dst == d are summed into d. */
static void route(float *const *src, int n_src, float *const *dst, int n_dst,
                  int frames)
{
	size_t bytes = (size_t)frames * sizeof(float);
	if (n_src <= n_dst) {
		for (int d = 0; d < n_dst; d++)
			memcpy(dst[d], src[d % n_src], bytes);
		return;
	}
	for (int d = 0; d < n_dst; d++) {
		memcpy(dst[d], src[d], bytes);
		for (int s = d + n_dst; s < n_src; s += n_dst)
			for (int i = 0; i < frames; i++)
				dst[d][i] += src[s][i];
	}
}

static void retire(FxEngine *e, FxChain *chain)
{
	ChainMsg msg = {chain, 0};
	/* The retired queue is as deep as the swap queue, so this fits. */
	fx_queue_push(e->retired, &msg);
}

static void take_swaps(FxEngine *e)
{
	ChainMsg msg;
	/* One crossfade at a time: a swap queued during one waits for it. */
	if (!e->old_chain && fx_queue_pop(e->swaps, &msg)) {
		e->old_chain = e->chain;
		e->chain = msg.chain;
		e->chain_gen = msg.gen;
		e->chain_nonfinite = 0;
		atomic_store_explicit(&e->slot_chunks, 0, memory_order_relaxed);
		e->xfade_pos = 0;
	}
}

/* Applies what the control thread staged for the chain now running, and
 * says in @p taken (FX_STAGE_WORDS words) which entries it took. Returns
 * how many entries must wait for a later chunk. */
static int drain_staging(FxEngine *e, uint64_t *taken)
{
	int deferred = 0;
	for (int w = 0; w < FX_STAGE_WORDS; w++) {
		uint64_t bits = atomic_exchange_explicit(&e->dirty[w], 0,
		                                         memory_order_acquire);
		taken[w] = bits;
		for (; bits; bits &= bits - 1) {
			int idx = w * 64 + __builtin_ctzll(bits);
			Staged *s = &e->stage[idx];
			uint32_t q0 = atomic_load_explicit(&s->seq,
			                                   memory_order_acquire);
			uint32_t gen = atomic_load_explicit(
				&s->gen, memory_order_relaxed);
			uint64_t raw = atomic_load_explicit(
				&s->bits, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			uint32_t q1 = atomic_load_explicit(&s->seq,
			                                   memory_order_relaxed);
			int32_t age = (int32_t)(e->chain_gen - gen);
			if ((q0 & 1) || q0 != q1 || age < 0) {
				/* Mid-write, or for a chain not swapped in yet:
				 * look again next chunk. */
				atomic_fetch_or_explicit(&e->dirty[w],
				                         1ull << (idx % 64),
				                         memory_order_relaxed);
				deferred++;
				continue;
			}
			if (age > 0)
				continue; /* staged for a chain already gone */
			double v;
			memcpy(&v, &raw, sizeof v);
			FxParamRef r = fx_param_at(idx);
			if (r.param == FX_PARAM_BYPASS)
				fx_chain_set_bypass(e->chain, r.slot, v != 0.0);
			else
				fx_chain_set_param(e->chain, r.slot, r.param, v,
				                   NULL);
		}
	}
	return deferred;
}

/* Publishes that every change staged up to @p staged is in force from
 * chunk @p chunk on, unless some still wait (a swap, a deferred entry). */
static void publish_applied(FxEngine *e, uint32_t staged, int deferred,
                            uint32_t chunk, uint64_t t0)
{
	ChainMsg pending;
	/* The hold before the queue: a chain queued as the hold is lifted is
	 * seen there (engine_impl.h). */
	if (staged == e->applied || deferred ||
	    atomic_load_explicit(&e->swap_held, memory_order_acquire) ||
	    fx_queue_peek(e->swaps, &pending))
		return;
	e->applied = staged;
	atomic_store_explicit(&e->applied_seq, staged, memory_order_release);
	fx_knob_timing_applied(e->knob, staged, chunk, t0);
}

/* Ramps the chunk to silence and clears every effect's state; the fade
 * brings the sound back from the next chunk on. */
static void panic(FxEngine *e, int frames)
{
	for (int c = 0; c < e->cfg.channels; c++) {
		float *x = e->ch_buf[c];
		for (int i = 0; i < frames; i++)
			x[i] *= 1.0f - (float)(i + 1) / (float)frames;
	}
	fx_chain_reset(e->chain);
	if (e->old_chain)
		fx_chain_reset(e->old_chain);
	if (e->safety)
		fx_safety_reset(e->safety);
	e->fade_gain = 0.0f;
}

/* Adds this chunk to the meters, its output ports then its input ports
 * as they came in, and publishes them (a seqlock write). */
static void meter(FxEngine *e, int frames)
{
	Meters *m = &e->meters;
	int outs = e->cfg.outputs, ports = outs + e->cfg.inputs;
	uint32_t epoch = atomic_load_explicit(&m->epoch, memory_order_acquire);
	if (epoch != m->seen_epoch) {
		m->seen_epoch = epoch;
		e->meter_frames = 0;
		memset(e->meter_peak, 0, sizeof e->meter_peak);
		memset(e->meter_sumsq, 0, sizeof e->meter_sumsq);
	}
	for (int c = 0; c < ports; c++) {
		const float *x = c < outs ? e->out_buf[c] : e->in_buf[c - outs];
		float peak = e->meter_peak[c];
		double sum = 0;
		for (int i = 0; i < frames; i++) {
			float a = fabsf(x[i]);
			peak = a > peak ? a : peak;
			sum += (double)x[i] * x[i];
		}
		e->meter_peak[c] = peak;
		e->meter_sumsq[c] += sum;
	}
	e->meter_frames += (uint64_t)frames;
	uint32_t q = atomic_load_explicit(&m->seq, memory_order_relaxed);
	atomic_store_explicit(&m->seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (int c = 0; c < ports; c++) {
		atomic_store_explicit(&m->peak[c], e->meter_peak[c],
		                      memory_order_relaxed);
		atomic_store_explicit(&m->sumsq[c], e->meter_sumsq[c],
		                      memory_order_relaxed);
	}
	atomic_store_explicit(&m->frames, e->meter_frames, memory_order_relaxed);
	atomic_store_explicit(&m->pub_epoch, epoch, memory_order_relaxed);
	atomic_store_explicit(&m->seq, q + 2, memory_order_release);
}

static void crossfade(FxEngine *e, int frames)
{
	int len = e->fade_frames > 0 ? e->fade_frames : 1;
	int pos = e->xfade_pos;
	for (int c = 0; c < e->cfg.channels; c++) {
		float *restrict now = e->ch_buf[c];
		const float *restrict old = e->old_buf[c];
		for (int i = 0; i < frames; i++) {
			float w = pos + i + 1 >= len
			                  ? 1.0f
			                  : (float)(pos + i + 1) / (float)len;
			now[i] = old[i] + w * (now[i] - old[i]);
		}
	}
	e->xfade_pos += frames;
	if (e->xfade_pos >= len) {
		retire(e, e->old_chain);
		e->old_chain = NULL;
	}
}

static void apply_fade(FxEngine *e, int frames)
{
	float target = atomic_load_explicit(&e->fade_out, memory_order_relaxed)
	                       ? 0.0f
	                       : 1.0f;
	float g0 = e->fade_gain;
	if (g0 == target) {
		if (target == 0.0f) {
			for (int c = 0; c < e->cfg.channels; c++)
				memset(e->ch_buf[c], 0,
				       (size_t)frames * sizeof(float));
			atomic_store_explicit(&e->faded_out, 1,
			                      memory_order_release);
		}
		return;
	}
	float step = 1.0f / (float)(e->fade_frames > 0 ? e->fade_frames : 1);
	if (target < g0)
		step = -step;
	float g = g0;
	for (int c = 0; c < e->cfg.channels; c++) {
		float *x = e->ch_buf[c];
		for (int i = 0; i < frames; i++) {
			g = g0 + step * (float)(i + 1);
			g = g < 0.0f ? 0.0f : g > 1.0f ? 1.0f : g;
			x[i] *= g;
		}
	}
	e->fade_gain = g;
	if (g == 0.0f && target == 0.0f)
		atomic_store_explicit(&e->faded_out, 1, memory_order_release);
	if (target == 1.0f)
		atomic_store_explicit(&e->faded_out, 0, memory_order_relaxed);
}

/* Each slot's cost so far, for fx_engine_slot_stats (relaxed: a reader
 * may see one chunk's worth of skew between the figures). */
static void publish_slots(FxEngine *e)
{
	int n = fx_chain_slots(e->chain);
	for (int i = 0; i < n; i++) {
		atomic_store_explicit(&e->slot_ns[i],
		                      fx_chain_slot_ns(e->chain, i),
		                      memory_order_relaxed);
		atomic_store_explicit(&e->slot_faults[i],
		                      fx_chain_slot_faults(e->chain, i),
		                      memory_order_relaxed);
		float out[FX_MAX_OUTPUTS];
		int k = fx_chain_slot_outputs(e->chain, i, out);
		for (int j = 0; j < k; j++) {
			uint32_t bits;
			memcpy(&bits, &out[j], sizeof bits);
			atomic_store_explicit(&e->slot_out[i][j], bits,
			                      memory_order_relaxed);
		}
	}
	atomic_fetch_add_explicit(&e->slot_chunks, 1, memory_order_relaxed);
	atomic_store_explicit(&e->slot_count, n, memory_order_relaxed);
	atomic_store_explicit(&e->slot_gen, e->chain_gen, memory_order_relaxed);
}

/* What follows the chain, for a chunk and for its re-render (@p again:
 * then a panic waits for the next chunk): faults counted, safety, fades,
 * the panic, nothing non-finite out, and the routing to @p out. Returns 0
 * when the chain's state was cleared, which no checkpoint holds. */
static int finish_chunk(FxEngine *e, float *const *out, int again)
{
	int frames = e->cfg.period, kept = 1;
	uint64_t nf = fx_chain_nonfinite_count(e->chain);
	if (nf != e->chain_nonfinite) {
		/* Release: a plugin's muted flag, set before, is seen by
		 * whoever sees the count move (the control's restart). */
		atomic_fetch_add_explicit(&e->nonfinite, nf - e->chain_nonfinite,
		                          memory_order_release);
		e->chain_nonfinite = nf;
	}
	if (e->safety)
		fx_safety_process(e->safety, e->ch_buf, frames);
	apply_fade(e, frames);
	if (!again &&
	    atomic_exchange_explicit(&e->want_panic, 0, memory_order_relaxed)) {
		panic(e, frames);
		kept = 0;
	}
	/* Huge finite input can still overflow the crossfade or, without
	 * safety, leave the chain: nothing non-finite reaches the output. */
	if (!fx_audio_is_finite(e->ch_buf, e->cfg.channels, frames)) {
		for (int c = 0; c < e->cfg.channels; c++)
			memset(e->ch_buf[c], 0, (size_t)frames * sizeof(float));
		fx_chain_reset(e->chain);
		if (e->safety)
			fx_safety_reset(e->safety);
		atomic_fetch_add_explicit(&e->nonfinite, 1, memory_order_release);
		kept = 0;
	}
	route(e->ch_buf, e->cfg.channels, out, e->cfg.outputs, frames);
	return kept;
}

static uint64_t period_ns(const FxEngine *e)
{
	return (uint64_t)(1e9 * e->cfg.period / e->cfg.sample_rate);
}

/* Before chunk @p seq runs: checkpoints the chain and the safety when the
 * chunk could be rendered again (issue 18). Not across a crossfade, a
 * fade, MIDI (its events and reports would happen twice) or freewheeling.
 */
static void keep_pending(FxEngine *e, uint32_t seq, int midi)
{
	e->pend = FX_PEND_NONE;
	if (!e->cfg.rerender || midi || e->old_chain || e->fade_gain != 1.0f ||
	    atomic_load_explicit(&e->freewheel, memory_order_relaxed))
		return;
	/* Not fx_chain_can_rewind: after a reset it stays 0 until the next
	 * checkpoint, which this is. */
	if (!fx_chain_rewindable(e->chain) ||
	    e->cfg.period > FX_ENGINE_CHAIN_BLOCK) {
		e->pend = FX_PEND_UNABLE;
		return;
	}
	fx_chain_checkpoint(e->chain);
	fx_safety_checkpoint(e->safety);
	e->pend = FX_PEND_OK;
	e->pend_fade_out = atomic_load_explicit(&e->fade_out,
	                                        memory_order_relaxed);
	e->pend_seq = seq;
	e->pend_nonfinite = e->chain_nonfinite;
	/* The driver that wrote this input takes its chunk latency_periods
	 * later. */
	uint64_t start = atomic_load_explicit(
		&e->cb_start_ns[seq % FX_CB_STARTS], memory_order_relaxed);
	e->pend_deadline = start +
	                   (uint64_t)e->cfg.latency_periods * period_ns(e);
}

static void run_chunk(FxEngine *e)
{
	int frames = e->cfg.period, ins = e->cfg.inputs;
	uint64_t t0 = fx_engine_now_ns();
	uint32_t seq = 0;
	fx_ring_read_record(e->in_ring, &seq, e->in_buf, (size_t)frames);

	/* Read before draining: every change counted in it is visible. */
	uint32_t staged = atomic_load_explicit(&e->staged_seq,
	                                       memory_order_acquire);
	uint64_t taken[FX_STAGE_WORDS];
	take_swaps(e);
	publish_applied(e, staged, drain_staging(e, taken), seq, t0);
	fx_engine_take_midi_tables(e);
	int midi = fx_engine_take_midi(e, seq);
	uint64_t tempo = atomic_load_explicit(&e->tempo_bits,
	                                      memory_order_relaxed);
	if (tempo != e->told_tempo || e->chain != e->told_chain) {
		double bpm;
		memcpy(&bpm, &tempo, sizeof bpm);
		fx_chain_set_tempo(e->chain, bpm);
		e->told_tempo = tempo;
		e->told_chain = e->chain;
	}
	if (atomic_exchange_explicit(&e->want_reset, 0, memory_order_relaxed)) {
		fx_chain_reset(e->chain);
		fx_safety_reset(e->safety);
	}
	keep_pending(e, seq, midi);
	route(e->in_buf, ins, e->ch_buf, e->cfg.channels, frames);
	if (e->old_chain) {
		for (int c = 0; c < e->cfg.channels; c++)
			memcpy(e->old_buf[c], e->ch_buf[c],
			       (size_t)frames * sizeof(float));
		fx_chain_process(e->old_chain, e->old_buf, frames);
	}
	fx_engine_run_chain_midi(e, midi, seq, frames);
	if (e->old_chain)
		crossfade(e, frames);
	publish_slots(e);
	/* A chunk during which the chain reset itself (a slot's output not
	 * finite) or that finish_chunk cleared cannot be rolled back. */
	if (!finish_chunk(e, e->out_buf, 0) ||
	    (e->pend == FX_PEND_OK && !fx_chain_can_rewind(e->chain)))
		e->pend = FX_PEND_NONE;
	meter(e, frames);
	fx_ring_write_record(e->out_ring, seq, (const float *const *)e->out_buf,
	                     (size_t)frames);
	bump(&e->chunks);
	if (atomic_load_explicit(&e->freewheel, memory_order_relaxed))
		sem_post(&e->chunk_sem);
	uint64_t ns = fx_engine_now_ns() - t0;
	fx_engine_log_time(&e->work_log, e->cfg.latency_log, ns);
	/* A peak that decays by 1/128 a chunk: near this chain's p99, and
	 * cheap enough to keep per chunk. */
	e->chunk_peak_ns = ns > e->chunk_peak_ns
	                           ? ns
	                           : e->chunk_peak_ns - e->chunk_peak_ns / 128;
}

static int staged_dirty(FxEngine *e)
{
	for (int w = 0; w < FX_STAGE_WORDS; w++)
		if (atomic_load_explicit(&e->dirty[w], memory_order_relaxed))
			return 1;
	return 0;
}

/* Something other than staged values waits for the next chunk: a reset,
 * a panic, a chain swap, freewheeling. */
static int held_back(FxEngine *e)
{
	ChainMsg pending;
	return atomic_load_explicit(&e->want_reset, memory_order_relaxed) ||
	       atomic_load_explicit(&e->want_panic, memory_order_relaxed) ||
	       atomic_load_explicit(&e->swap_held, memory_order_acquire) ||
	       atomic_load_explicit(&e->freewheel, memory_order_relaxed) ||
	       /* A fade asked for since: rendered again, the chunk would
	        * fade where the one played did not. */
	       atomic_load_explicit(&e->fade_out, memory_order_relaxed) !=
	               e->pend_fade_out ||
	       fx_queue_peek(e->swaps, &pending);
}

/* Renders the pending chunk again into @p out, the chain rolled back to
 * its checkpoint (and given whatever was set since): what follows the
 * chain is rolled back here. */
static void render_pending(FxEngine *e, float *const *out)
{
	int frames = e->cfg.period;
	fx_safety_rollback(e->safety);
	e->fade_gain = 1.0f; /* keep_pending saw it so */
	e->chain_nonfinite = e->pend_nonfinite;
	e->frames_in -= (uint64_t)frames;
	route(e->in_buf, e->cfg.inputs, e->ch_buf, e->cfg.channels, frames);
	fx_engine_run_chain_midi(e, 0, e->pend_seq, frames);
	finish_chunk(e, out, 1);
}

/* Publishes the re-rendered chunk unless the driver took the original
 * first. Bounded: each failed try saw the driver take an older chunk. */
static int publish_patch(FxEngine *e)
{
	uint64_t w = atomic_load_explicit(&e->patch, memory_order_acquire);
	for (int tries = 0;
	     tries <= e->cfg.latency_periods + e->cfg.ring_periods; tries++) {
		if ((w & 3) != FX_PATCH_TAKEN ||
		    (int32_t)((uint32_t)(w >> 32) - e->pend_seq) >= 0)
			return 0;
		/* Release: patch_buf's samples before the word. */
		if (atomic_compare_exchange_strong_explicit(
			    &e->patch, &w, patch_word(e->pend_seq, FX_PATCH_READY),
			    memory_order_release, memory_order_acquire))
			return 1;
	}
	return 0;
}

/* Issue 18: when values were staged after the last chunk was rendered and
 * the driver has not taken it, renders it again with them, once, and
 * publishes it for the driver. If the driver took the original first, it
 * renders the original again (to the bit, from the checkpoint) so the
 * chain's state is what was played, and the values wait for the next
 * chunk as they always did. Returns 1 when it rendered. */
static int rerender(FxEngine *e)
{
	if (e->pend == FX_PEND_NONE || !staged_dirty(e))
		return 0;
	int unable = e->pend == FX_PEND_UNABLE;
	e->pend = FX_PEND_NONE; /* once a period: later values wait */
	if (unable) {
		bump(&e->rerenders_unable);
		return 0;
	}
	if (held_back(e))
		return 0;
	uint64_t t0 = fx_engine_now_ns();
	/* Acquire: a TAKEN word means the driver is done with patch_buf. */
	uint64_t w = atomic_load_explicit(&e->patch, memory_order_acquire);
	if ((w & 3) != FX_PATCH_TAKEN ||
	    (int32_t)((uint32_t)(w >> 32) - e->pend_seq) >= 0 ||
	    (!e->rerender_no_deadline &&
	     t0 + 2 * e->chunk_peak_ns > e->pend_deadline)) {
		bump(&e->rerenders_skipped);
		return 0;
	}
	uint32_t staged = atomic_load_explicit(&e->staged_seq,
	                                       memory_order_acquire);
	fx_chain_rollback(e->chain);
	uint64_t taken[FX_STAGE_WORDS];
	int deferred = drain_staging(e, taken);
	render_pending(e, e->patch_buf);
	if (e->rerender_hook)
		e->rerender_hook(e->rerender_hook_arg);
	if (publish_patch(e)) {
		bump(&e->rerenders);
		publish_applied(e, staged, deferred, e->pend_seq, t0);
		return 1;
	}
	bump(&e->rerenders_late);
	for (int i = 0; i < FX_STAGE_WORDS; i++)
		atomic_fetch_or_explicit(&e->dirty[i], taken[i],
		                         memory_order_relaxed);
	fx_chain_rollback(e->chain);
	render_pending(e, e->out_buf);
	return 1;
}

int fx_engine_work(FxEngine *e)
{
	int done = 0;
	size_t room = fx_ring_record_room((size_t)e->cfg.period);
	/* Bounded by what the input ring can hold. */
	int most = e->cfg.latency_periods + e->cfg.ring_periods;
	while (done < most && fx_ring_available_read(e->in_ring) >= room &&
	       fx_ring_available_write(e->out_ring) >= room) {
		run_chunk(e);
		done++;
	}
	return done ? done : rerender(e);
}

/* Input to process and room for its chunk, or a request to stop or park. */
static int chunk_waiting(FxEngine *e)
{
	size_t room = fx_ring_record_room((size_t)e->cfg.period);
	return (fx_ring_available_read(e->in_ring) >= room &&
	        fx_ring_available_write(e->out_ring) >= room) ||
	       (e->pend != FX_PEND_NONE && staged_dirty(e)) ||
	       atomic_load(&e->stop) || atomic_load(&e->pause_worker);
}

/* Between chunks: one sleep on the semaphore until the driver's next
 * period posts it. Announces sleep, then looks once more (Dekker with
 * wake_worker), so a period that came meanwhile is never slept through. */
static void wait_for_input(FxEngine *e)
{
	atomic_store(&e->worker_state, FX_WORKER_ASLEEP);
	atomic_thread_fence(memory_order_seq_cst);
	if (!chunk_waiting(e))
		sem_wait(&e->work_sem); /* EINTR: the caller's loop looks again */
	atomic_store(&e->worker_state, FX_WORKER_AWAKE);
}

void *fx_engine_worker_main(void *engine)
{
	FxEngine *e = engine;
	fx_denormals_off();
	while (!atomic_load(&e->stop)) {
		if (atomic_load(&e->pause_worker)) {
			sem_post(&e->paused_sem);
			sem_wait(&e->resume_sem);
			continue;
		}
		if (!fx_engine_work(e))
			wait_for_input(e);
	}
	/* A period change may be waiting for this thread to park. */
	if (atomic_load(&e->pause_worker))
		sem_post(&e->paused_sem);
	return NULL;
}

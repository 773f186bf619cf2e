/* SPDX-License-Identifier: ISC */
/* Issue 18 on the fake driver: a change staged after chunk k was rendered
 * and before the driver takes it is heard in chunk k, to the bit what a
 * chain given the change before chunk k plays; one too late, or refused
 * (freewheeling, --no-rerender, no time left, a chain that cannot rewind),
 * lands in chunk k + 1 exactly as before, and the chain goes on as what
 * was played. A last test races the exchange on a real worker thread, for
 * ThreadSanitizer. */
#define _GNU_SOURCE /* mkdtemp */
#include "tests/fxtest.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <sndfile.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/engine/engine.h"
#include "daemon/engine/engine_impl.h"
#include "dsp/safety.h"

enum { P = 64, CH = 2, K = 12, RUN = 40 };

/* The allocators, wrapped at link time (-Wl,--wrap=...), counted while
 * armed: a re-render and the driver's claim allocate nothing. */
static volatile int armed;
static volatile long calls;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

void *__wrap_malloc(size_t n)
{
	calls += armed;
	return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
	calls += armed;
	return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
	calls += armed;
	return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
	calls += armed;
	__real_free(p);
}

typedef struct {
	FxEngine *e;
	FxEngineConfig cfg;
	float in[CH][P], out[CH][P], ref[CH][P];
	const float *inp[CH];
	float *outp[CH];
	long period_no; ///< next period
	/* The reference: the same chain and safety driven offline, given
	 * the change before chunk change_at. */
	FxChain *chain;
	FxSafety *safety;
	long ref_next; ///< next chunk it renders
	long change_at;
	int arm_driver; ///< count the driver's allocations
	FxParamRef what;
	double value;
} Rig;

static float signal_at(long p, int i, int c)
{
	long n = p * P + i;
	return (float)(0.4 * sin(0.013 * n + c) + 0.2 * sin(0.21 * n));
}

static Rig *rig_new(FxEngineConfig cfg, const char *text)
{
	Rig *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	FxChainSpec spec = fx_test_spec(text);
	FxStatus st;
	r->cfg = cfg;
	r->e = fx_engine_new(&cfg, &spec, &st);
	ck_assert_msg(r->e, "fx_engine_new: %s", fx_strerror(st));
	r->e->rerender_no_deadline = 1;
	/* As the engine configures its chains (engine.c, chain_config). */
	FxChainConfig cc = fx_chain_config_default();
	cc.sample_rate = cfg.sample_rate;
	cc.channels = cfg.channels;
	cc.max_block = FX_ENGINE_CHAIN_BLOCK;
	cc.glide_ms = cfg.glide_ms;
	cc.bypass_ms = cfg.bypass_ms;
	r->chain = fx_chain_new(&spec, &cc, &st);
	ck_assert_msg(r->chain, "fx_chain_new: %s", fx_strerror(st));
	if (cfg.safety) {
		r->safety = fx_safety_new(cfg.channels, cfg.sample_rate,
		                          cfg.ceiling_db, &st);
		ck_assert_ptr_nonnull(r->safety);
	}
	for (int c = 0; c < CH; c++) {
		r->inp[c] = r->in[c];
		r->outp[c] = r->out[c];
	}
	r->change_at = -1;
	return r;
}

static void rig_free(Rig *r)
{
	fx_engine_free(r->e);
	fx_chain_free(r->chain);
	fx_safety_free(r->safety);
	free(r);
}

/* The reference's next chunk into r->ref. */
static void ref_chunk(Rig *r)
{
	long k = r->ref_next++;
	if (k == r->change_at)
		ck_assert_int_eq(fx_chain_set_param(r->chain, r->what.slot,
		                                    r->what.param, r->value, NULL),
		                 FX_OK);
	float *bufs[CH];
	for (int c = 0; c < CH; c++) {
		bufs[c] = r->ref[c];
		for (int i = 0; i < P; i++)
			r->ref[c][i] = signal_at(k, i, c);
	}
	fx_chain_process(r->chain, bufs, P);
	if (r->safety)
		fx_safety_process(r->safety, bufs, P);
}

/* One period through the driver side; what it played must be the
 * reference's chunk to the bit. */
static void step(Rig *r)
{
	long p = r->period_no++;
	for (int c = 0; c < CH; c++)
		for (int i = 0; i < P; i++)
			r->in[c][i] = signal_at(p, i, c);
	armed = r->arm_driver;
	fx_engine_process(r->e, r->inp, r->outp, P);
	armed = 0;
	long k = p - r->cfg.latency_periods;
	if (k < 0)
		return;
	ref_chunk(r);
	for (int c = 0; c < CH; c++)
		for (int i = 0; i < P; i++)
			ck_assert_msg(r->out[c][i] == r->ref[c][i],
			              "chunk %ld channel %d frame %d: %.9g, not "
			              "%.9g (change at %ld)",
			              k, c, i, (double)r->out[c][i],
			              (double)r->ref[c][i], r->change_at);
}

/* Periods and chunks up to chunk K rendered and not yet taken. */
static void run_to_k(Rig *r)
{
	for (int p = 0; p <= K; p++) {
		step(r);
		ck_assert_int_eq(fx_engine_work(r->e), 1);
	}
}

static void stage(Rig *r, FxParamRef what, double value, long heard_in)
{
	r->what = what;
	r->value = value;
	r->change_at = heard_in;
	ck_assert_int_eq(fx_engine_set_param(r->e, what, value, 0, NULL), FX_OK);
}

static void run_on(Rig *r)
{
	for (int p = 0; p < RUN; p++) {
		fx_engine_work(r->e);
		step(r);
	}
}

static FxEngineMetrics metrics(Rig *r)
{
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	return m;
}

static FxEngineConfig config(int latency)
{
	FxEngineConfig cfg = fx_test_engine_config(P);
	cfg.latency_periods = latency;
	cfg.glide_ms = 3; /* the re-rendered chunk starts the glide */
	cfg.safety = 1;   /* rolled back with the chain */
	return cfg;
}

static const char *CHAIN = "hpf:highpass cutoff=120 order=4 | "
			   "eq:peaking cutoff=900 q=0.7 gain=3 | vol:gain db=0";

/* Slot 2's gain, slot 0's cutoff: a plain and a filter parameter. */
static const FxParamRef CHANGES[] = {{2, 0}, {0, 0}};
static const double VALUES[] = {-9, 700};

START_TEST(a_change_before_the_driver_is_heard_in_that_chunk)
{
	int latency = 1 + _i % 2;
	Rig *r = rig_new(config(latency), CHAIN);
	run_to_k(r);
	stage(r, CHANGES[_i / 2], VALUES[_i / 2], K);
	calls = 0;
	armed = 1;
	int rendered = fx_engine_work(r->e); /* rendered again */
	armed = 0;
	ck_assert_int_eq(rendered, 1);
	ck_assert_int_eq(fx_engine_work(r->e), 0); /* once */
	r->arm_driver = 1;
	step(r); /* the driver claims it */
	r->arm_driver = 0;
	ck_assert_int_eq(calls, 0);
	run_on(r);
	FxEngineMetrics m = metrics(r);
	ck_assert_uint_eq(m.rerenders, 1);
	ck_assert_uint_eq(m.rerenders_late, 0);
	ck_assert_uint_eq(m.underflows, 0);
	ck_assert_uint_eq(m.late_dropped, 0);
	ck_assert(fx_engine_applied(r->e, fx_engine_staged_seq(r->e)));
	rig_free(r);
}
END_TEST

/* The driver takes chunk K between its re-render and the publication. */
static void driver_first(void *arg)
{
	Rig *r = arg;
	for (int i = 0; i < r->cfg.latency_periods; i++)
		step(r);
}

START_TEST(a_change_too_late_lands_in_the_next_chunk)
{
	int latency = 1 + _i;
	Rig *r = rig_new(config(latency), CHAIN);
	run_to_k(r);
	r->e->rerender_hook = driver_first;
	r->e->rerender_hook_arg = r;
	stage(r, CHANGES[0], VALUES[0], K + 1);
	ck_assert_int_eq(fx_engine_work(r->e), 1);
	r->e->rerender_hook = NULL;
	FxEngineMetrics m = metrics(r);
	ck_assert_uint_eq(m.rerenders, 0);
	ck_assert_uint_eq(m.rerenders_late, 1);
	/* Not applied yet: chunk K + 1 applies it. */
	ck_assert(!fx_engine_applied(r->e, fx_engine_staged_seq(r->e)));
	run_on(r);
	ck_assert(fx_engine_applied(r->e, fx_engine_staged_seq(r->e)));
	ck_assert_uint_eq(metrics(r).underflows, 0);
	rig_free(r);
}
END_TEST

/* Cases where nothing is rendered again: the change lands in K + 1. */
enum { REFUSE_FREEWHEEL, REFUSE_OFF, REFUSE_NO_TIME, REFUSE_TAKEN, REFUSALS };

START_TEST(refused_changes_land_in_the_next_chunk)
{
	FxEngineConfig cfg = config(1);
	cfg.rerender = _i != REFUSE_OFF;
	Rig *r = rig_new(cfg, CHAIN);
	if (_i == REFUSE_FREEWHEEL)
		fx_engine_set_freewheel(r->e, 1);
	run_to_k(r);
	if (_i == REFUSE_NO_TIME) {
		r->e->rerender_no_deadline = 0;
		r->e->chunk_peak_ns = UINT64_MAX / 4; /* no margin fits */
	}
	if (_i == REFUSE_TAKEN) {
		/* The driver took chunk K already; its input K + 1 is in. */
		step(r);
	}
	stage(r, CHANGES[0], VALUES[0], K + 1);
	if (_i == REFUSE_TAKEN)
		ck_assert_int_eq(fx_engine_work(r->e), 1); /* chunk K + 1 */
	else
		ck_assert_int_eq(fx_engine_work(r->e), 0);
	run_on(r);
	FxEngineMetrics m = metrics(r);
	ck_assert_uint_eq(m.rerenders, 0);
	ck_assert_uint_eq(m.rerenders_late, 0);
	ck_assert_uint_eq(m.rerenders_skipped, _i == REFUSE_NO_TIME);
	ck_assert_uint_eq(m.rerenders_unable, 0);
	rig_free(r);
}
END_TEST

/* A one-second decaying noise response as a float WAV: a convolver, which
 * cannot rewind. */
static void write_ir(const char *path)
{
	SF_INFO info = {.samplerate = 48000,
	                .channels = 1,
	                .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	ck_assert_msg(f, "%s: %s", path, sf_strerror(NULL));
	static float h[4800];
	uint32_t s = 7;
	for (int i = 0; i < 4800; i++) {
		s ^= s << 13;
		s ^= s >> 17;
		s ^= s << 5;
		h[i] = (float)((double)(s >> 8) / 8388608.0 - 1.0) *
		       (float)(1.0 - i / 4800.0) * 0.05f;
	}
	ck_assert_int_eq(sf_writef_float(f, h, 4800), 4800);
	sf_close(f);
}

START_TEST(a_chain_that_cannot_rewind_is_counted)
{
	char dir[] = "/tmp/fxd-rerender-XXXXXX", path[64], text[160];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/ir.wav", dir);
	write_ir(path);
	snprintf(text, sizeof text,
	         "cab:convolver ir=%s normalize=off | vol:gain db=0", path);
	Rig *r = rig_new(config(1), text);
	run_to_k(r);
	stage(r, (FxParamRef){1, 0}, -9, K + 1);
	ck_assert_int_eq(fx_engine_work(r->e), 0);
	run_on(r);
	FxEngineMetrics m = metrics(r);
	ck_assert_uint_eq(m.rerenders, 0);
	ck_assert_uint_eq(m.rerenders_unable, 1);
	rig_free(r);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* A period longer than the chain's block (1,024 frames; longer periods
 * are split by the chain) is never rendered again: the effects' lines
 * keep one block spare, not a period. Counted as unable; the change
 * lands in the next chunk. */
START_TEST(a_period_over_the_chain_block_is_not_rendered_again)
{
	enum { LONG = 2048 };
	FxEngineConfig cfg = fx_test_engine_config(LONG);
	cfg.latency_periods = 1;
	FxChainSpec spec = fx_test_spec(CHAIN);
	FxStatus st;
	FxEngine *e = fx_engine_new(&cfg, &spec, &st);
	ck_assert_msg(e, "fx_engine_new: %s", fx_strerror(st));
	e->rerender_no_deadline = 1;
	static float in[CH][LONG], out[CH][LONG];
	const float *inp[CH] = {in[0], in[1]};
	float *outp[CH] = {out[0], out[1]};
	for (int p = 0; p < 4; p++) {
		fx_engine_process(e, inp, outp, LONG);
		ck_assert_int_eq(fx_engine_work(e), 1);
	}
	ck_assert_int_eq(fx_engine_set_param(e, CHANGES[0], VALUES[0], 0, NULL),
	                 FX_OK);
	ck_assert_int_eq(fx_engine_work(e), 0); /* not rendered again */
	FxEngineMetrics m;
	fx_engine_metrics(e, &m);
	ck_assert_uint_eq(m.rerenders, 0);
	ck_assert_uint_eq(m.rerenders_unable, 1);
	fx_engine_process(e, inp, outp, LONG);
	ck_assert_int_eq(fx_engine_work(e), 1);
	ck_assert(fx_engine_applied(e, fx_engine_staged_seq(e)));
	fx_engine_free(e);
}
END_TEST

/* ---- the exchange on a real worker thread (ThreadSanitizer) ----------- */

/* The driver (this thread) runs periods back to back while values are
 * staged right after each chunk: re-renders race the driver's claim. Every
 * period plays the due chunk, finite and no louder than its input. */
START_TEST(the_exchange_races_the_driver_cleanly)
{
	FxEngineConfig cfg = config(1);
	cfg.glide_ms = 0;
	cfg.safety = 0;
	Rig *r = rig_new(cfg, "vol:gain db=0");
	r->e->rerender_no_deadline = _i;
	fx_engine_set_worker_running(r->e, 1);
	pthread_t tid;
	ck_assert_int_eq(pthread_create(&tid, NULL, fx_engine_worker_main, r->e),
	                 0);
	FxEngineMetrics m;
	for (long p = 0; p < 400; p++) {
		for (int c = 0; c < CH; c++)
			for (int i = 0; i < P; i++)
				r->in[c][i] = signal_at(p, i, c);
		fx_engine_process(r->e, r->inp, r->outp, P);
		for (long spins = 0;; spins++) {
			fx_engine_counters(r->e, &m);
			if (m.chunks >= (uint64_t)p + 1)
				break;
			ck_assert_msg(spins < 200000000, "no chunk %ld", p);
			sched_yield();
		}
		ck_assert_int_eq(fx_engine_set_param(r->e, (FxParamRef){0, 0},
		                                     p % 2 ? -6 : -1, 0, NULL),
		                 FX_OK);
		for (int c = 0; p > 0 && c < CH; c++)
			for (int i = 0; i < P; i++)
				ck_assert(isfinite(r->out[c][i]) &&
				          fabsf(r->out[c][i]) <=
				                  fabsf(signal_at(p - 1, i, c)));
	}
	fx_engine_stop_worker(r->e);
	pthread_join(tid, NULL);
	fx_engine_set_worker_running(r->e, 0);
	fx_engine_counters(r->e, &m);
	ck_assert_uint_eq(m.underflows, 0);
	ck_assert_uint_le(m.rerenders + m.rerenders_late, 400);
	rig_free(r);
}
END_TEST

/* A reset (fx_engine_reset_state, as a reconnect at the same rate does)
 * clears what no checkpoint holds; the next chunk's checkpoint makes the
 * chain re-renderable again. */
START_TEST(re_rendering_comes_back_after_a_reset)
{
	Rig *r = rig_new(config(1), CHAIN);
	fx_engine_reset_state(r->e);
	for (int p = 0; p < 20; p++) {
		fx_engine_process(r->e, r->inp, r->outp, P);
		ck_assert_int_eq(fx_engine_work(r->e), 1);
	}
	ck_assert_int_eq(
		fx_engine_set_param(r->e, CHANGES[0], VALUES[0], 0, NULL), FX_OK);
	ck_assert_int_eq(fx_engine_work(r->e), 1);
	FxEngineMetrics m = metrics(r);
	ck_assert_uint_eq(m.rerenders, 1);
	ck_assert_uint_eq(m.rerenders_unable, 0);
	rig_free(r);
}
END_TEST

/* A fade asked for after chunk K ran is not rendered into it: the chunk
 * played had no fade (and if the driver took it first, the original
 * rendered again must not fade either). The value waits for K + 1. */
START_TEST(a_fade_asked_for_since_holds_the_re_render)
{
	Rig *r = rig_new(config(1), CHAIN);
	run_to_k(r);
	fx_engine_fade(r->e, 1);
	stage(r, CHANGES[0], VALUES[0], K + 1);
	ck_assert_int_eq(fx_engine_work(r->e), 0);
	ck_assert(r->e->fade_gain == 1.0f);
	FxEngineMetrics m = metrics(r);
	ck_assert_uint_eq(m.rerenders, 0);
	ck_assert_uint_eq(m.rerenders_late, 0);
	rig_free(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("rerender");
	TCase *t = tcase_create("rerender");
	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, a_change_before_the_driver_is_heard_in_that_chunk,
	                    0, 4);
	tcase_add_loop_test(t, a_change_too_late_lands_in_the_next_chunk, 0, 2);
	tcase_add_loop_test(t, refused_changes_land_in_the_next_chunk, 0,
	                    REFUSALS);
	tcase_add_test(t, a_chain_that_cannot_rewind_is_counted);
	tcase_add_test(t, a_period_over_the_chain_block_is_not_rendered_again);
	tcase_add_test(t, re_rendering_comes_back_after_a_reset);
	tcase_add_test(t, a_fade_asked_for_since_holds_the_re_render);
	tcase_add_loop_test(t, the_exchange_races_the_driver_cleanly, 0, 2);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return fx_test_run_forking(suite(), CK_FORK_GETENV);
}

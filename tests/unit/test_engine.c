/* SPDX-License-Identifier: ISC */
/* The engine driven without JACK: a fake driver calls fx_engine_process
 * per period and runs the worker's step itself (or a real worker thread). */
#define _GNU_SOURCE /* clock_nanosleep, syscall */
#include "tests/fxtest.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine/control.h"
#include "daemon/engine/engine.h"
#include "dsp/pages.h"

enum { MAXP = 4096, MAXCH = 4 };

typedef struct {
	FxEngine *e;
	FxEngineConfig cfg;
	float in[MAXCH][MAXP], out[MAXCH][MAXP];
	const float *inp[MAXCH];
	float *outp[MAXCH];
	long period_no; ///< next period index
} Rig;

static Rig *rig_new(FxEngineConfig cfg, const char *chain)
{
	Rig *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	FxChainSpec spec = fx_test_spec(chain);
	FxStatus st;
	r->cfg = cfg;
	r->e = fx_engine_new(&cfg, &spec, &st);
	ck_assert_msg(r->e, "fx_engine_new: %s", fx_strerror(st));
	for (int c = 0; c < MAXCH; c++) {
		r->inp[c] = r->in[c];
		r->outp[c] = r->out[c];
	}
	return r;
}

static void rig_free(Rig *r)
{
	fx_engine_free(r->e);
	free(r);
}

/* Input sample for period p, frame i, input channel c: distinct values. */
static float signal_at(long p, int i, int c, int period)
{
	long n = p * period + i;
	return (float)(0.25 * sin(0.01 * n + c) + 0.001 * c);
}

static void fill(Rig *r, long p)
{
	for (int c = 0; c < r->cfg.inputs; c++)
		for (int i = 0; i < r->cfg.period; i++)
			r->in[c][i] = signal_at(p, i, c, r->cfg.period);
}

/* One period through the driver side. */
static void period(Rig *r)
{
	fill(r, r->period_no++);
	fx_engine_process(r->e, r->inp, r->outp, r->cfg.period);
}

static int out_equals_input_of(Rig *r, long p)
{
	for (int c = 0; c < r->cfg.outputs; c++)
		for (int i = 0; i < r->cfg.period; i++)
			if (r->out[c][i] != signal_at(p, i, c, r->cfg.period))
				return 0;
	return 1;
}

static int out_silent(Rig *r)
{
	for (int c = 0; c < r->cfg.outputs; c++)
		for (int i = 0; i < r->cfg.period; i++)
			if (r->out[c][i] != 0.0f)
				return 0;
	return 1;
}

START_TEST(output_is_input_delayed_by_the_latency)
{
	static const int latencies[] = {1, 2, 3};
	FxEngineConfig cfg = fx_test_engine_config(64);
	cfg.latency_periods = latencies[_i];
	Rig *r = rig_new(cfg, "");
	ck_assert_int_eq(fx_engine_latency(r->e), 64 * latencies[_i]);
	for (long p = 0; p < 200; p++) {
		period(r);
		ck_assert_int_eq(fx_engine_work(r->e), 1);
		if (p < latencies[_i])
			ck_assert(out_silent(r));
		else
			ck_assert_msg(out_equals_input_of(r, p - latencies[_i]),
			              "period %ld", p);
	}
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.callbacks, 200);
	ck_assert_uint_eq(m.chunks, 200);
	ck_assert_uint_eq(m.underflows, 0);
	ck_assert_uint_eq(m.late_dropped, 0);
	rig_free(r);
}
END_TEST

START_TEST(output_equals_the_offline_chain)
{
	const char *text = "hpf:highpass cutoff=80 order=2 | eq:peaking "
			   "cutoff=1000 q=0.7 gain=6 | lpf:lowpass cutoff=5000 "
			   "order=4 | vol:gain db=-3";
	FxEngineConfig cfg = fx_test_engine_config(256);
	Rig *r = rig_new(cfg, text);
	FxChainSpec spec;
	fx_spec_parse(text, "t", &spec, NULL);
	FxChainConfig cc = fx_chain_config_default();
	FxStatus st;
	FxChain *ref = fx_chain_new(&spec, &cc, &st);
	float a[256], b[256];
	float *bufs[2] = {a, b};
	for (long p = 0; p < 100; p++) {
		period(r);
		fx_engine_work(r->e);
		if (p == 0)
			continue;
		for (int i = 0; i < 256; i++) {
			a[i] = signal_at(p - 1, i, 0, 256);
			b[i] = signal_at(p - 1, i, 1, 256);
		}
		fx_chain_process(ref, bufs, 256);
		ck_assert_msg(!memcmp(a, r->out[0], sizeof a) &&
		                      !memcmp(b, r->out[1], sizeof b),
		              "period %ld differs", p);
	}
	fx_chain_free(ref);
	rig_free(r);
}
END_TEST

START_TEST(late_chunks_become_silence_and_are_dropped)
{
	Rig *r = rig_new(fx_test_engine_config(64), "");
	for (int p = 0; p < 10; p++) {
		period(r);
		fx_engine_work(r->e);
	}
	/* The worker stalls for two periods. */
	period(r); /* period 10 plays chunk 9: still made in time */
	ck_assert(out_equals_input_of(r, 9));
	period(r); /* period 11 wants chunk 10: not made */
	ck_assert(out_silent(r));
	period(r); /* period 12 wants chunk 11: not made */
	ck_assert(out_silent(r));
	ck_assert_int_eq(fx_engine_work(r->e), 3); /* chunks 10, 11, 12 late */
	period(r); /* period 13: 10 and 11 are dropped, 12 plays */
	ck_assert(out_equals_input_of(r, 12));
	for (int p = 14; p < 40; p++) {
		fx_engine_work(r->e);
		period(r);
		ck_assert_msg(out_equals_input_of(r, p - 1), "period %d", p);
	}
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.underflows, 2);
	ck_assert_uint_eq(m.late_dropped, 2);
	rig_free(r);
}
END_TEST

START_TEST(input_overflow_keeps_alignment)
{
	FxEngineConfig cfg = fx_test_engine_config(64);
	cfg.ring_periods = 3;
	Rig *r = rig_new(cfg, "");
	/* The worker is gone for 12 periods: the input ring (4 periods) fills. */
	for (int p = 0; p < 12; p++)
		period(r);
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.input_overflows, 8);
	fx_engine_work(r->e);
	int aligned = 0;
	for (int p = 12; p < 60; p++) {
		period(r);
		fx_engine_work(r->e);
		if (out_silent(r))
			continue;
		ck_assert_msg(out_equals_input_of(r, p - 1), "period %d", p);
		aligned++;
	}
	ck_assert_int_ge(aligned, 40);
	rig_free(r);
}
END_TEST

/* Level of channel 0 in the last output period, relative to the input. */
static double gain_of_last(Rig *r, long p)
{
	double num = 0, den = 0;
	for (int i = 0; i < r->cfg.period; i++) {
		double x = signal_at(p, i, 0, r->cfg.period);
		num += r->out[0][i] * x;
		den += x * x;
	}
	return num / den;
}

START_TEST(staged_values_apply_at_chunk_start_latest_wins)
{
	Rig *r = rig_new(fx_test_engine_config(64), "vol:gain db=0");
	FxParamChange ch;
	for (int k = 0; k < 10; k++)
		ck_assert_int_eq(fx_engine_set_param(r->e, (FxParamRef){0, 0},
		                                     -k, 0, &ch),
		                 FX_OK);
	ck_assert_int_eq(
		fx_engine_set_param(r->e, (FxParamRef){0, 0}, -500, 0, &ch),
		FX_OK);
	ck_assert(ch.applied == -96);
	ck_assert_int_eq(
		fx_engine_set_param(r->e, (FxParamRef){0, 0}, -12, 0, &ch),
		FX_OK);
	ck_assert(fx_engine_get_param(r->e, (FxParamRef){0, 0}) == -12);
	ck_assert_int_eq(
		fx_engine_set_param(r->e, (FxParamRef){0, 0}, NAN, 0, NULL),
		FX_ERR_NONFINITE);
	ck_assert_int_eq(fx_engine_set_param(r->e, (FxParamRef){3, 0}, 0, 0, NULL),
	                 FX_ERR_RANGE);
	period(r);
	fx_engine_work(r->e);
	period(r);
	fx_engine_work(r->e);
	/* Glide 0: the first chunk ramps within its block, the second is flat. */
	period(r);
	ck_assert_double_eq_tol(gain_of_last(r, 1), pow(10, -12 / 20.0), 1e-6);
	rig_free(r);
}
END_TEST

START_TEST(values_staged_for_an_old_chain_never_land_on_a_new_one)
{
	Rig *r = rig_new(fx_test_engine_config(64), "a:gain db=0");
	ck_assert_int_eq(
		fx_engine_set_param(r->e, (FxParamRef){0, 0}, -20, 0, NULL),
		FX_OK);
	FxChainSpec next;
	fx_spec_parse("b:gain db=0", "t", &next, NULL);
	ck_assert_int_eq(fx_engine_swap(r->e, &next), FX_OK);
	/* And one staged for the new chain, which must land. */
	ck_assert_int_eq(
		fx_engine_set_param(r->e, (FxParamRef){0, 0}, -6, 0, NULL),
		FX_OK);
	for (int p = 0; p < 4; p++) {
		period(r);
		fx_engine_work(r->e);
	}
	period(r);
	ck_assert_double_eq_tol(gain_of_last(r, 3), pow(10, -6 / 20.0), 1e-6);
	FxChainSpec now;
	fx_engine_get_spec(r->e, &now);
	ck_assert_str_eq(now.slots[0].label, "b");
	fx_engine_collect(r->e);
	rig_free(r);
}
END_TEST

START_TEST(swaps_crossfade)
{
	FxEngineConfig cfg = fx_test_engine_config(64);
	cfg.fade_ms = 10; /* 480 frames */
	Rig *r = rig_new(cfg, "gain db=0");
	for (int p = 0; p < 20; p++) { /* past the start-up fade in */
		period(r);
		fx_engine_work(r->e);
	}
	FxChainSpec next;
	fx_spec_parse("gain db=-6.0206", "t", &next, NULL);
	ck_assert_int_eq(fx_engine_swap(r->e, &next), FX_OK);
	/* The output is the input times a gain that must fall from 1 to 0.5
	 * by at most 0.5/480 per frame: read it sample by sample. */
	double prev = 1.0;
	long prev_n = 19 * 64 - 1;
	for (int p = 20; p < 40; p++) {
		period(r);
		fx_engine_work(r->e);
		for (int i = 0; i < 64; i++) {
			double x = signal_at(p - 1, i, 0, 64);
			if (fabs(x) < 0.05)
				continue;
			long n = (p - 1) * 64L + i;
			double g = r->out[0][i] / x;
			ck_assert_msg(g <= prev + 1e-5, "gain rose at %ld", n);
			ck_assert_msg(prev - g <= 0.5 / 480 * (n - prev_n) + 1e-5,
			              "jump at %ld: %g", n, prev - g);
			prev = g;
			prev_n = n;
		}
	}
	ck_assert_double_eq_tol(prev, 0.5, 1e-5);
	fx_engine_collect(r->e);
	rig_free(r);
}
END_TEST

START_TEST(structural_change_rebuilds_through_a_swap)
{
	Rig *r = rig_new(fx_test_engine_config(64),
	                 "lpf:lowpass cutoff=1000 order=2");
	FxParamChange ch;
	ck_assert_int_eq(
		fx_engine_set_param(r->e, (FxParamRef){0, 2}, 6.4, 0, &ch),
		FX_OK);
	ck_assert(ch.applied == 6);
	ck_assert(fx_engine_get_param(r->e, (FxParamRef){0, 2}) == 6);
	for (int p = 0; p < 10; p++) {
		period(r);
		fx_engine_work(r->e);
	}
	fx_engine_collect(r->e);
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.underflows, 0);
	rig_free(r);
}
END_TEST

START_TEST(nonfinite_input_is_muted_and_counted)
{
	Rig *r = rig_new(fx_test_engine_config(64), "lowpass cutoff=1000");
	period(r);
	fx_engine_work(r->e);
	fill(r, 1);
	r->in[1][10] = INFINITY;
	r->period_no++;
	fx_engine_process(r->e, r->inp, r->outp, 64);
	fx_engine_work(r->e);
	period(r);
	ck_assert(out_silent(r));
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.nonfinite, 1);
	fx_engine_reset_metrics(r->e);
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.nonfinite, 0);
	ck_assert_uint_eq(m.callbacks, 0);
	ck_assert_uint_eq(m.callback.count, 0);
	rig_free(r);
}
END_TEST

START_TEST(safety_ceiling_and_dc_blocker)
{
	FxEngineConfig cfg = fx_test_engine_config(256);
	cfg.safety = 1;
	cfg.ceiling_db = -0.1;
	Rig *r = rig_new(cfg, "gain db=24");
	double ceiling = pow(10, -0.1 / 20), peak = 0;
	for (int p = 0; p < 50; p++) {
		period(r);
		fx_engine_work(r->e);
		for (int i = 0; i < 256; i++)
			peak = fmax(peak, fabs(r->out[0][i]));
	}
	ck_assert_msg(peak <= ceiling, "peak %g", peak);
	ck_assert(peak > 0.9 * ceiling);
	rig_free(r);

	r = rig_new(cfg, "");
	for (int p = 0; p < 400; p++) { /* DC: 0.3 for ~2 s */
		for (int c = 0; c < 2; c++)
			for (int i = 0; i < 256; i++)
				r->in[c][i] = 0.3f;
		fx_engine_process(r->e, r->inp, r->outp, 256);
		fx_engine_work(r->e);
	}
	ck_assert_msg(fabs(r->out[0][255]) < 1e-3, "DC left: %g", r->out[0][255]);
	rig_free(r);
}
END_TEST

/* Finite but huge samples (a misbehaving JACK peer) must not overflow the
 * DC blocker into inf - inf = NaN that sticks: the output stays finite. */
START_TEST(huge_finite_input_never_turns_into_nan)
{
	FxEngineConfig cfg = fx_test_engine_config(64);
	cfg.safety = 1;
	Rig *r = rig_new(cfg, "");
	for (int p = 0; p < 6; p++) {
		for (int c = 0; c < 2; c++)
			for (int i = 0; i < 64; i++)
				r->in[c][i] = p < 3 ? ((i & 1) ? -3e38f : 3e38f)
				                    : 0.1f;
		fx_engine_process(r->e, r->inp, r->outp, 64);
		fx_engine_work(r->e);
		for (int c = 0; c < 2; c++)
			for (int i = 0; i < 64; i++)
				ck_assert_msg(isfinite(r->out[c][i]) &&
				                      fabsf(r->out[c][i]) < 1.0f,
				              "period %d: %g", p, r->out[c][i]);
	}
	ck_assert(r->out[0][63] != 0.0f); /* and it recovered */
	rig_free(r);
}
END_TEST

/* A 1 kHz tone through a 1 kHz order-2 Butterworth lowpass is -3.01 dB at
 * every sample rate: the engine designs for the rate it is given. */
START_TEST(sample_rate_is_honoured)
{
	static const double rates[] = {44100, 48000, 96000};
	FxEngineConfig cfg = fx_test_engine_config(256);
	cfg.sample_rate = rates[_i];
	Rig *r = rig_new(cfg, "lowpass cutoff=1000 order=2");
	double num = 0, den = 0;
	for (long p = 0; p < 400; p++) {
		for (int c = 0; c < 2; c++)
			for (int i = 0; i < 256; i++)
				r->in[c][i] = (float)sin(2 * M_PI * 1000 *
				                         (p * 256 + i) /
				                         rates[_i]);
		fx_engine_process(r->e, r->inp, r->outp, 256);
		fx_engine_work(r->e);
		if (p < 200)
			continue;
		for (int i = 0; i < 256; i++) {
			num += r->out[0][i] * r->out[0][i];
			den += r->in[0][i] * r->in[0][i];
		}
	}
	ck_assert_double_eq_tol(10 * log10(num / den), -3.0103, 0.01);
	rig_free(r);
}
END_TEST

START_TEST(period_change_replans)
{
	Rig *r = rig_new(fx_test_engine_config(64), "");
	for (int p = 0; p < 5; p++) {
		period(r);
		fx_engine_work(r->e);
	}
	ck_assert_int_eq(fx_engine_set_period(r->e, 128), FX_OK);
	ck_assert_int_eq(fx_engine_latency(r->e), 128);
	r->cfg.period = 128;
	r->period_no = 0;
	/* A callback with the old size while the server switches: silence. */
	fx_engine_process(r->e, r->inp, r->outp, 64);
	for (long p = 0; p < 20; p++) {
		period(r);
		fx_engine_work(r->e);
		if (p > 0)
			ck_assert_msg(out_equals_input_of(r, p - 1),
			              "period %ld", p);
	}
	ck_assert_int_eq(fx_engine_set_period(r->e, 0), FX_ERR_RANGE);
	rig_free(r);
}
END_TEST

START_TEST(routing_mono_in_and_folded_out)
{
	FxEngineConfig cfg = fx_test_engine_config(64);
	cfg.inputs = 1;
	cfg.channels = 2;
	cfg.outputs = 2;
	Rig *r = rig_new(cfg, "b:gain db=0");
	ck_assert_int_eq(
		fx_engine_set_param(r->e, (FxParamRef){0, 0}, -6.0206, 0, NULL),
		FX_OK);
	for (int p = 0; p < 3; p++) {
		period(r);
		fx_engine_work(r->e);
	}
	for (int i = 0; i < 64; i++)
		ck_assert(r->out[0][i] == r->out[1][i] && r->out[0][i] != 0);
	rig_free(r);

	cfg.inputs = 2;
	cfg.channels = 1;
	cfg.outputs = 2;
	r = rig_new(cfg, "");
	period(r);
	fx_engine_work(r->e);
	period(r);
	for (int i = 0; i < 64; i++) {
		float sum = signal_at(0, i, 0, 64) + signal_at(0, i, 1, 64);
		ck_assert(r->out[0][i] == sum && r->out[1][i] == sum);
	}
	rig_free(r);
}
END_TEST

START_TEST(fade_out_and_back_in)
{
	FxEngineConfig cfg = fx_test_engine_config(64);
	cfg.fade_ms = 4; /* 192 frames: 3 periods */
	Rig *r = rig_new(cfg, "");
	for (int p = 0; p < 6; p++) {
		period(r);
		fx_engine_work(r->e);
	}
	ck_assert(out_equals_input_of(r, 4));
	fx_engine_fade(r->e, 1);
	ck_assert_int_eq(fx_engine_faded_out(r->e), 0);
	for (int p = 6; p < 12; p++) {
		period(r);
		fx_engine_work(r->e);
	}
	ck_assert_int_eq(fx_engine_faded_out(r->e), 1);
	ck_assert(out_silent(r));
	fx_engine_fade(r->e, 0);
	for (int p = 12; p < 18; p++) {
		period(r);
		fx_engine_work(r->e);
	}
	ck_assert(out_equals_input_of(r, 16));
	rig_free(r);
}
END_TEST

/* ---- JACK's disturbances, deterministically ------------------------------ */

/* A chain with memory (filters, an echo), so that a chunk processed twice,
 * or out of order, or one that went missing shows in every later one. */
#define STATEFUL_CHAIN                                                    \
	"hpf:highpass cutoff=80 order=2 | dly:delay time=3 feedback=0.5 " \
	"mix=0.5 max=0.1 | lpf:lowpass cutoff=5000 order=4"

/* The engine's chain built apart, as fx_engine_new builds it. */
static FxChain *reference_chain(const FxEngineConfig *cfg, const char *text)
{
	FxChainSpec spec;
	ck_assert_int_eq(fx_spec_parse(text, "t", &spec, NULL), FX_OK);
	FxChainConfig cc = fx_chain_config_default();
	cc.sample_rate = cfg->sample_rate;
	cc.channels = cfg->channels;
	cc.max_block = 1024;
	cc.glide_ms = cfg->glide_ms;
	cc.bypass_ms = cfg->bypass_ms;
	FxStatus st;
	FxChain *c = fx_chain_new(&spec, &cc, &st);
	ck_assert_msg(c != NULL, "%s", fx_strerror(st));
	return c;
}

/* What a schedule did, callback by callback (index k = fxd's k-th call of
 * fx_engine_process). The reference chain runs the inputs the engine took
 * in, in the order and at the moments its worker step processed them. */
typedef struct {
	long n; ///< callbacks planned
	int period;
	FxChain *ref;
	float *heard;       ///< [n][2][period]: the input of callback k
	float *made;        ///< [n][2][period]: reference output for it
	char *accepted;     ///< its input went into the input ring
	long *made_at;      ///< callbacks done when it was processed, or -1
	long next;          ///< first callback not processed yet
	long exact, silent; ///< outputs checked
} Model;

static float *model_buf(Model *m, float *base, long k, int c)
{
	return base + ((size_t)k * 2 + (size_t)c) * (size_t)m->period;
}

static Model *model_new(const FxEngineConfig *cfg, const char *chain, long n)
{
	Model *m = calloc(1, sizeof *m);
	ck_assert_ptr_nonnull(m);
	m->n = n;
	m->period = cfg->period;
	m->ref = reference_chain(cfg, chain);
	m->heard = calloc((size_t)n * 2 * cfg->period, sizeof(float));
	m->made = calloc((size_t)n * 2 * cfg->period, sizeof(float));
	m->accepted = calloc((size_t)n, 1);
	m->made_at = malloc((size_t)n * sizeof *m->made_at);
	ck_assert(m->heard && m->made && m->accepted && m->made_at);
	for (long k = 0; k < n; k++)
		m->made_at[k] = -1;
	return m;
}

static void model_free(Model *m)
{
	fx_chain_free(m->ref);
	free(m->heard);
	free(m->made);
	free(m->accepted);
	free(m->made_at);
	free(m);
}

/* The worker's step: the engine processes what waits, and the reference
 * the same inputs, oldest first. @p done callbacks have been made. */
static void model_work(Rig *r, Model *m, long done)
{
	int chunks = fx_engine_work(r->e);
	while (chunks > 0) {
		ck_assert_int_lt(m->next, done);
		long k = m->next++;
		if (!m->accepted[k])
			continue;
		float *bufs[2] = {model_buf(m, m->made, k, 0),
		                  model_buf(m, m->made, k, 1)};
		for (int c = 0; c < 2; c++)
			memcpy(bufs[c], model_buf(m, m->heard, k, c),
			       (size_t)m->period * sizeof(float));
		fx_chain_process(m->ref, bufs, m->period);
		m->made_at[k] = done;
		chunks--;
	}
}

/* Callback @p k hears graph cycle @p src's input. Its output must be the
 * reference output for callback k - L's input if the worker processed
 * that before this callback, and otherwise silence counted as one
 * underflow: never another chunk, never a part of one. */
static void model_callback(Rig *r, Model *m, long k, long src)
{
	int P = m->period, L = r->cfg.latency_periods;
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < P; i++)
			r->in[c][i] = model_buf(m, m->heard, k,
			                        c)[i] = signal_at(src, i, c, P);
	FxEngineMetrics before, after;
	fx_engine_counters(r->e, &before);
	fx_engine_process(r->e, r->inp, r->outp, P);
	fx_engine_counters(r->e, &after);
	m->accepted[k] = after.input_overflows == before.input_overflows;
	long due = k - L;
	uint64_t underflows = after.underflows - before.underflows;
	if (due >= 0 && m->made_at[due] >= 0) {
		ck_assert_msg(underflows == 0,
		              "callback %ld: due chunk there, "
		              "but an underflow was counted",
		              k);
		for (int c = 0; c < 2; c++)
			ck_assert_msg(
				!memcmp(r->out[c], model_buf(m, m->made, due, c),
			                (size_t)P * sizeof(float)),
				"callback %ld (L %d): output is not the chain's "
				"output for callback %ld's input",
				k, L, due);
		m->exact++;
		return;
	}
	ck_assert_msg(out_silent(r),
	              "callback %ld: chunk %ld was not made in "
	              "time, yet the output is not silent",
	              k, due);
	/* The primed periods before the first are silence, not underflows. */
	ck_assert_uint_eq(underflows, due >= 0 ? 1 : 0);
	m->silent += due >= 0;
}

/* A fake driver plays the JACK cycles a loaded machine produces: cycles
 * fxd's callback missed (its input never heard), stale input buffers (the
 * last cycle's input again), runs of callbacks while the worker is
 * descheduled (chunks late, the input ring overflowing when the run is
 * longer than the rings), then the worker catching up. fxd numbers its
 * callbacks, not JACK's cycles, so every output must be the chain's output
 * for the input it took L callbacks earlier, or counted silence: late
 * chunks are dropped and nothing drifts. The schedule is a fixed
 * pseudo-random sequence. */
START_TEST(disturbed_periods_play_the_due_chunk_or_counted_silence)
{
	static const int cases[][2] = {{1, 2}, {1, 8}, {2, 2}, {3, 8}};
	const int L = cases[_i][0], ring = cases[_i][1];
	enum { N = 3000 };
	FxEngineConfig cfg = fx_test_engine_config(64);
	cfg.latency_periods = L;
	cfg.ring_periods = ring;
	Rig *r = rig_new(cfg, STATEFUL_CHAIN);
	Model *m = model_new(&cfg, STATEFUL_CHAIN, N);
	uint32_t rnd = 0x2545f491u + (uint32_t)_i;
	long g = 0, k = 0, skipped = 0, repeated = 0, stalls = 0;
	int stall = 0;
	while (k < N) {
		rnd ^= rnd << 13;
		rnd ^= rnd >> 17;
		rnd ^= rnd << 5;
		uint32_t x = rnd % 100;
		if (x < 4) { /* a cycle fxd's callback missed */
			g++;
			skipped++;
			continue;
		}
		long src = g;
		if (x < 9 && g > 0) { /* a stale buffer: last cycle's input */
			src = g - 1;
			repeated++;
		}
		model_callback(r, m, k++, src);
		g++;
		if (stall > 0) {
			stall--;
			continue;
		}
		if (x >= 9 && x < 17) { /* the worker is descheduled */
			stall = 1 + (int)((rnd >> 8) % (uint32_t)(L + ring + 4));
			stalls++;
			continue;
		}
		model_work(r, m, k);
	}
	/* Chunks made after their callback passed are dropped as late at the
	 * next callback, each counted once. */
	uint64_t late = 0, refused = 0;
	for (long j = 0; j < N; j++) {
		refused += !m->accepted[j];
		late += m->made_at[j] >= 0 && j + L < m->made_at[j] &&
		        m->made_at[j] < N;
	}
	FxEngineMetrics mt;
	fx_engine_counters(r->e, &mt);
	fprintf(stderr,
	        "# L %d, ring %d: %ld callbacks over %ld cycles (%ld "
	        "missed, %ld stale, %ld stalls): %ld exact, %ld silent; %llu "
	        "underflows, %llu late, %llu overflows\n",
	        L, ring, k, g, skipped, repeated, stalls, m->exact, m->silent,
	        (unsigned long long)mt.underflows,
	        (unsigned long long)mt.late_dropped,
	        (unsigned long long)mt.input_overflows);
	ck_assert_uint_eq(mt.underflows, (uint64_t)m->silent);
	ck_assert_uint_eq(mt.late_dropped, late);
	ck_assert_uint_eq(mt.input_overflows, refused);
	ck_assert_uint_eq(mt.callbacks, N);
	/* The schedule did disturb it, every way, and it recovered. */
	ck_assert(late > 0 && refused > 0 && m->silent > 0);
	ck_assert_int_gt(m->exact, N / 2);
	model_free(m);
	rig_free(r);
}
END_TEST

/* ---- with a real worker thread ------------------------------------------ */

/* Starts a worker thread running @p body (fx_engine_worker_main, or a
 * wrapper) on the rig's engine. */
static pthread_t worker_start(Rig *r, void *(*body)(void *))
{
	pthread_t tid;
	fx_engine_set_worker_running(r->e, 1);
	ck_assert_int_eq(pthread_create(&tid, NULL, body, r->e), 0);
	return tid;
}

/* Stops and joins it. */
static void worker_stop(Rig *r, pthread_t tid)
{
	fx_engine_stop_worker(r->e);
	pthread_join(tid, NULL);
	fx_engine_set_worker_running(r->e, 0);
}

static void wait_chunks(FxEngine *e, uint64_t n)
{
	FxEngineMetrics m;
	for (long spins = 0; spins < 200000000; spins++) {
		fx_engine_metrics(e, &m);
		if (m.chunks >= n)
			return;
		sched_yield();
	}
	ck_abort_msg("worker never processed chunk %lu", (unsigned long)n);
}

START_TEST(worker_thread_keeps_alignment_and_period_change)
{
	Rig *r = rig_new(fx_test_engine_config(128), "vol:gain db=0");
	pthread_t tid = worker_start(r, fx_engine_worker_main);
	for (long p = 0; p < 500; p++) {
		period(r);
		wait_chunks(r->e, (uint64_t)p + 1);
		if (p > 0)
			ck_assert_msg(out_equals_input_of(r, p - 1),
			              "period %ld", p);
		if (p == 250) {
			ck_assert_int_eq(fx_engine_set_period(r->e, 256), FX_OK);
			fx_engine_reset_metrics(r->e);
			r->cfg.period = 256;
			r->period_no = 0;
			period(r);
			wait_chunks(r->e, 1);
			p = 0;
			break;
		}
	}
	for (long p = 1; p < 200; p++) {
		period(r);
		wait_chunks(r->e, (uint64_t)p + 1);
		ck_assert_msg(out_equals_input_of(r, p - 1), "period %ld", p);
	}
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.underflows, 0);
	ck_assert(m.callback.min <= m.callback.median &&
	          m.callback.median <= m.callback.p95 &&
	          m.callback.p95 <= m.callback.p99 &&
	          m.callback.p99 <= m.callback.max);
	ck_assert_uint_eq(m.worker.count, 200);
	ck_assert(m.dsp_load > 0 && m.dsp_load < 100);
	worker_stop(r, tid);
	rig_free(r);
}
END_TEST

START_TEST(freewheel_never_drops)
{
	Rig *r = rig_new(fx_test_engine_config(64),
	                 "lowpass cutoff=2000 order=8");
	pthread_t tid = worker_start(r, fx_engine_worker_main);
	fx_engine_set_freewheel(r->e, 1);
	for (long p = 0; p < 3000; p++)
		period(r); /* as fast as the test can call it */
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.underflows, 0);
	ck_assert_uint_eq(m.late_dropped, 0);
	fx_engine_set_freewheel(r->e, 0);
	worker_stop(r, tid);
	rig_free(r);
}
END_TEST

/* ---- chain buffers: memory budget, memory given back, swaps coalescing */

enum { TONE_HZ = 1300 }; /* a lowpass at 1 kHz: order 15 and 16 differ 30% */

/* One period of a tone on every input, numbered like period(). */
static void tone_period(Rig *r)
{
	long p = r->period_no++;
	for (int c = 0; c < r->cfg.inputs; c++)
		for (int i = 0; i < r->cfg.period; i++)
			r->in[c][i] = (float)(0.5 *
			                      sin(2 * M_PI * TONE_HZ *
			                          (double)(p * r->cfg.period + i) /
			                          r->cfg.sample_rate));
	fx_engine_process(r->e, r->inp, r->outp, r->cfg.period);
}

/* Peak of output 0 once the chain has settled on the tone. */
static double settled_tone_peak(Rig *r)
{
	double peak = 0;
	for (int p = 0; p < 150; p++) {
		tone_period(r);
		fx_engine_work(r->e);
		for (int i = 0; p >= 100 && i < r->cfg.period; i++)
			peak = fmax(peak, fabs(r->out[0][i]));
	}
	return peak;
}

/* The same through a chain of @p text built offline. */
static double offline_tone_peak(const char *text)
{
	FxChainSpec spec;
	ck_assert_int_eq(fx_spec_parse(text, "t", &spec, NULL), FX_OK);
	FxChainConfig cc = fx_chain_config_default();
	FxStatus st;
	FxChain *c = fx_chain_new(&spec, &cc, &st);
	ck_assert_ptr_nonnull(c);
	static float x[2][64];
	float *buf[2] = {x[0], x[1]};
	double peak = 0;
	for (long p = 0; p < 150; p++) {
		for (int i = 0; i < 64; i++)
			x[0][i] = x[1][i] = (float)(0.5 *
			                            sin(2 * M_PI * TONE_HZ *
			                                (double)(p * 64 + i) /
			                                48000.0));
		fx_chain_process(c, buf, 64);
		for (int i = 0; p >= 100 && i < 64; i++)
			peak = fmax(peak, fabs(x[0][i]));
	}
	fx_chain_free(c);
	return peak;
}

/* The chain heard is a 1 kHz lowpass of order 16, not 15. */
static void assert_order_16_runs(Rig *r)
{
	double want = offline_tone_peak("lowpass cutoff=1000 order=16");
	double other = offline_tone_peak("lowpass cutoff=1000 order=15");
	ck_assert_msg(fabs(other / want - 1) > 0.2, "the tone tells 15 from 16");
	double got = settled_tone_peak(r);
	ck_assert_msg(fabs(got / want - 1) < 0.02,
	              "peak %g: order 16 gives %g, order 15 %g", got, want,
	              other);
}

/* Sixteen structural changes with no chunk in between: none is refused
 * (the swap queue holds 8), and the last one is what runs. */
START_TEST(structural_sweep_coalesces_to_the_last_value)
{
	Rig *r = rig_new(fx_test_engine_config(64),
	                 "lpf:lowpass cutoff=1000 order=1");
	for (int order = 1; order <= 16; order++)
		ck_assert_int_eq(fx_engine_set_param(r->e, (FxParamRef){0, 2},
		                                     order, 0, NULL),
		                 FX_OK);
	ck_assert(fx_engine_get_param(r->e, (FxParamRef){0, 2}) == 16);
	uint32_t sync = fx_engine_staged_seq(r->e);
	tone_period(r);
	fx_engine_work(r->e);
	/* The first change runs now; the last one is not built yet. */
	ck_assert(!fx_engine_applied(r->e, sync));
	int periods = 1;
	for (; !fx_engine_applied(r->e, sync) && periods < 50; periods++) {
		ck_assert_int_eq(fx_engine_collect(r->e), FX_OK);
		tone_period(r);
		fx_engine_work(r->e);
	}
	ck_assert_msg(fx_engine_applied(r->e, sync),
	              "not applied after %d "
	              "periods",
	              periods);
	ck_assert_int_le(periods, 3); /* two swaps: the first and the last */
	ck_assert_int_eq(fx_engine_collect(r->e), FX_OK);
	assert_order_16_runs(r);
	FxChainSpec spec;
	fx_engine_get_spec(r->e, &spec);
	ck_assert(spec.slots[0].values[2] == 16);
	rig_free(r);
}
END_TEST

/* The same through the control surface, whose poll builds the wanted
 * chain; its sync point is reached only when the last chain runs. */
START_TEST(structural_sweep_through_control_syncs_on_the_last_chain)
{
	Rig *r = rig_new(fx_test_engine_config(64),
	                 "lpf:lowpass cutoff=1000 order=1");
	FxControl *c = fx_control_new(r->e, NULL);
	ck_assert_ptr_nonnull(c);
	for (int order = 1; order <= 16; order++) {
		double applied;
		ck_assert_int_eq(
			fx_control_set_param(c, 0, 2, order, &applied, 0), FX_OK);
		ck_assert(applied == order);
	}
	/* A value set meanwhile rides along in the wanted chain. */
	ck_assert_int_eq(fx_control_set_param(c, 0, 0, 1000, NULL, 0), FX_OK);
	uint32_t point = fx_control_sync_point(c);
	int periods = 0;
	for (; !fx_control_synced(c, point) && periods < 50; periods++) {
		tone_period(r);
		fx_engine_work(r->e);
		if (periods == 0) /* the order 2 chain runs, not the last */
			ck_assert(!fx_control_synced(c, point));
		fx_control_poll(c);
		if (periods == 0) /* the last is queued, not running yet */
			ck_assert(!fx_control_synced(c, point));
	}
	ck_assert_msg(fx_control_synced(c, point),
	              "not synced after %d "
	              "periods",
	              periods);
	assert_order_16_runs(r);
	FxChainSpec spec;
	fx_control_get_spec(c, &spec);
	ck_assert(spec.slots[0].values[2] == 16);
	fx_control_free(c);
	rig_free(r);
}
END_TEST

/* Every way a chain arrives checks its cost first: refused with a reason
 * that names it, with nothing allocated and nothing changed. */
START_TEST(chains_over_the_memory_budget_are_refused_naming_their_cost)
{
	FxEngineConfig cfg = fx_test_engine_config(64);
	cfg.memory_budget = 20000000;
	/* Two lines of 30 s at 48 kHz, 2 channels: 11.5 MB each. */
	FxChainSpec big = fx_test_spec("a:delay max=30 | b:delay max=30");
	size_t pages = fx_pages_in_use();
	FxStatus st;
	ck_assert_ptr_null(fx_engine_new(&cfg, &big, &st));
	ck_assert_int_eq(st, FX_ERR_BUDGET);
	ck_assert_uint_eq(fx_pages_in_use(), pages);
	char why[256];
	fx_engine_explain(&cfg, &big, st, why, sizeof why);
	ck_assert_str_eq(why, "chain needs 23.1 MB of buffers, over the 20 MB "
	                      "budget (--memory-budget)");

	Rig *r = rig_new(cfg, "a:delay max=1 | b:delay max=30");
	pages = fx_pages_in_use();
	ck_assert_int_eq(fx_engine_swap(r->e, &big), FX_ERR_BUDGET);
	ck_assert_int_eq(
		fx_engine_set_param(r->e, (FxParamRef){0, 6}, 30, 0, NULL),
		FX_ERR_BUDGET);
	ck_assert_uint_eq(fx_pages_in_use(), pages);
	ck_assert(fx_engine_get_param(r->e, (FxParamRef){0, 6}) == 1);
	FxChainSpec now;
	fx_engine_get_spec(r->e, &now);
	ck_assert(now.slots[1].values[6] == 30);
	ck_assert_int_eq(
		fx_engine_set_param(r->e, (FxParamRef){0, 6}, 10, 0, NULL),
		FX_OK);

	FxControl *c = fx_control_new(r->e, NULL);
	char err[256] = "";
	ck_assert_int_eq(fx_control_swap(c, &big, err, sizeof err),
	                 FX_ERR_BUDGET);
	ck_assert_str_eq(err, why);
	err[0] = '\0';
	ck_assert_int_eq(fx_control_apply(c, &big, err, sizeof err),
	                 FX_ERR_BUDGET);
	ck_assert_str_eq(err, why);
	FxChainSpec bad;
	fx_engine_get_spec(r->e, &bad);
	bad.slots[0].values[0] = NAN; /* time: no rebuild, a glide */
	ck_assert_int_ne(fx_control_apply(c, &bad, err, sizeof err), FX_OK);
	ck_assert_str_eq(err, fx_strerror(FX_ERR_NONFINITE));
	fx_control_free(c);
	rig_free(r);
}
END_TEST

/* The default: a rig's reverb and delays at 8 channels (96 kHz too) fit;
 * 32 delays of 30 s at 2 channels do not. */
START_TEST(the_default_budget_fits_a_rig_not_32_long_delays)
{
	char text[1024] = "";
	for (int i = 0; i < 32; i++)
		strcat(text, i ? " | delay max=30" : "delay max=30");
	FxChainSpec spec = fx_test_spec(text);
	FxEngineConfig cfg = fx_engine_config_default();
	FxStatus st;
	ck_assert_ptr_null(fx_engine_new(&cfg, &spec, &st));
	ck_assert_int_eq(st, FX_ERR_BUDGET);
	char why[256];
	fx_engine_explain(&cfg, &spec, st, why, sizeof why);
	ck_assert_str_eq(why, "chain needs 369.0 MB of buffers, over the 256 MB "
	                      "budget (--memory-budget)");
	spec = fx_test_spec("comp:compressor | d1:delay max=30 | d2:delay max=30 | "
	                    "d3:delay max=10 | d4:delay | verb:reverb | "
	                    "lim:limiter lookahead=20");
	cfg.inputs = cfg.outputs = cfg.channels = 8;
	for (int k = 0; k < 2; k++) {
		cfg.sample_rate = k ? 96000 : 48000;
		FxEngine *e = fx_engine_new(&cfg, &spec, &st);
		ck_assert_msg(e, "%g Hz: %s", cfg.sample_rate, fx_strerror(st));
		fx_engine_free(e);
	}
}
END_TEST

/* A "Key:   N kB" line of /proc/self/status, in kB. */
static double status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	ck_assert_ptr_nonnull(f);
	char line[256];
	double kb = -1;
	size_t n = strlen(key);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, n) && line[n] == ':' &&
		    sscanf(line + n + 1, "%lf", &kb) == 1)
			break;
	fclose(f);
	ck_assert_msg(kb >= 0, "no %s in /proc/self/status", key);
	return kb;
}

static long rss_kb(void)
{
	return (long)status_kb("VmRSS");
}

/* Runs periods until every change staged so far is applied, then frees
 * what the worker retired. */
static void run_until_applied(Rig *r)
{
	uint32_t seq = fx_engine_staged_seq(r->e);
	for (int p = 0; p < 50 && !fx_engine_applied(r->e, seq); p++) {
		period(r);
		fx_engine_work(r->e);
		fx_engine_collect(r->e);
	}
	ck_assert(fx_engine_applied(r->e, seq));
	period(r);
	fx_engine_work(r->e);
	ck_assert_int_eq(fx_engine_collect(r->e), FX_OK);
}

/* 46 MB of delay lines, touched (as mlockall would), then replaced by a
 * small chain: the process's resident memory returns to where it was.
 * Twice: after the first free, malloc would keep blocks this big. */
START_TEST(a_replaced_chain_gives_its_memory_back)
{
	Rig *r = rig_new(fx_test_engine_config(64), "g:gain");
	FxChainSpec big = fx_test_spec("a:delay max=30 | b:delay max=30 | "
	                               "c:delay max=30 | d:delay max=30");
	FxChainSpec small = fx_test_spec("g:gain db=-1");
	for (int round = 0; round < 2; round++) {
		long before = rss_kb();
		ck_assert_int_eq(fx_engine_swap(r->e, &big), FX_OK);
		run_until_applied(r);
		fx_engine_reset_state(r->e); /* clears, so touches, every line */
		period(r);
		fx_engine_work(r->e);
		long loaded = rss_kb();
		ck_assert_msg(loaded - before > 40000,
		              "round %d: the lines took "
		              "%ld kB",
		              round, loaded - before);
		ck_assert_int_eq(fx_engine_swap(r->e, &small), FX_OK);
		run_until_applied(r);
		long after = rss_kb();
		ck_assert_msg(after - before < 12000,
		              "round %d: %ld kB of %ld "
		              "kept",
		              round, after - before, loaded - before);
	}
	rig_free(r);
}
END_TEST

/* The worker thread's id, for its counters in /proc. */
static atomic_int worker_tid;

static void *worker_with_tid(void *engine)
{
	atomic_store(&worker_tid, (int)syscall(SYS_gettid));
	return fx_engine_worker_main(engine);
}

/* Times the worker thread blocked (voluntary context switches). */
static long worker_sleeps(void)
{
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/self/task/%d/status",
	         atomic_load(&worker_tid));
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	long n = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	ck_assert_int_ge(n, 0);
	return n;
}

/* The worker sleeps until the driver's period wakes it: one sleep per
 * period, none while periods stop, instead of napping and polling. The
 * fake driver keeps the pace of a 256-frame period (a pace, not a
 * synchronisation: the result is counted, not timed). */
START_TEST(idle_worker_sleeps_once_per_period)
{
	enum { PERIODS = 200 };
	Rig *r = rig_new(fx_test_engine_config(256), "vol:gain db=0");
	pthread_t tid = worker_start(r, worker_with_tid);
	for (long p = 0; p < 10; p++) {
		period(r);
		wait_chunks(r->e, (uint64_t)p + 1);
	}
	long before = worker_sleeps();
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	const long period_ns = 256L * 1000000000L / 48000;
	for (long p = 10; p < 10 + PERIODS; p++) {
		next.tv_nsec += period_ns;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		period(r);
	}
	wait_chunks(r->e, 10 + PERIODS);
	long during = worker_sleeps() - before;
	/* Periods stop: the worker must not wake at all. */
	before = worker_sleeps();
	struct timespec idle = {0, 50000000};
	nanosleep(&idle, NULL);
	long idle_sleeps = worker_sleeps() - before;
	fprintf(stderr,
	        "# worker: %ld sleeps in %d periods, %ld in 50 ms "
	        "without periods\n",
	        during, PERIODS, idle_sleeps);
	ck_assert_int_le(during, PERIODS + PERIODS / 4);
	ck_assert_int_le(idle_sleeps, 1);
	FxEngineMetrics m;
	fx_engine_metrics(r->e, &m);
	ck_assert_uint_eq(m.chunks, 10 + PERIODS);
	worker_stop(r, tid);
	rig_free(r);
}
END_TEST

/* A wanted chain that cannot be built when its turn comes (out of memory
 * under an address-space limit) is dropped: the chain that runs is wanted
 * again, nothing stays held, and fx_engine_collect says so once. */
START_TEST(a_wanted_chain_that_cannot_be_built_is_dropped)
{
	Rig *r = rig_new(fx_test_engine_config(64), "g:gain");
	FxChainSpec half = fx_test_spec("a:gain db=-6.0206");
	FxChainSpec big = fx_test_spec("d:delay max=30 | e:delay max=30");
	ck_assert_int_eq(fx_engine_swap(r->e, &half), FX_OK);
	ck_assert_int_eq(fx_engine_swap(r->e, &big), FX_OK); /* wanted */
	uint32_t seq = fx_engine_staged_seq(r->e);
	struct rlimit was, lim;
	ck_assert_int_eq(getrlimit(RLIMIT_AS, &was), 0);
	lim = was;
	lim.rlim_cur = (rlim_t)(status_kb("VmSize") * 1024 + 4e6); /* 11.5 MB lines */
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
	FxStatus built = FX_OK;
	for (int p = 0; p < 10 && built == FX_OK; p++) {
		period(r);
		fx_engine_work(r->e);
		built = fx_engine_collect(r->e);
	}
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &was), 0);
	ck_assert_int_eq(built, FX_ERR_NOMEM);
	ck_assert_int_eq(fx_engine_collect(r->e), FX_OK);
	FxChainSpec now;
	fx_engine_get_spec(r->e, &now);
	ck_assert_str_eq(now.slots[0].label, "a");
	for (int p = 0; p < 3; p++) {
		period(r);
		fx_engine_work(r->e);
	}
	ck_assert(fx_engine_applied(r->e, seq));
	ck_assert_double_eq_tol(gain_of_last(r, r->period_no - 2), 0.5, 1e-4);
	rig_free(r);
}
END_TEST

/* /fxd/reset (and a period change) clear the chain's state; with the
 * output safety off there is none to clear: the worker goes on. */
START_TEST(reset_state_without_safety_keeps_running)
{
	Rig *r = rig_new(fx_test_engine_config(64), "");
	fx_engine_reset_state(r->e);
	for (long p = 0; p < 4; p++) {
		period(r);
		ck_assert_int_eq(fx_engine_work(r->e), 1);
		if (p > 0)
			ck_assert(out_equals_input_of(r, p - 1));
	}
	rig_free(r);
}
END_TEST

/* Freewheeling right after a realtime underflow: the late chunk heads the
 * output ring while the worker still makes the due one. The freewheeling
 * driver must drop the late chunk and wait for the due one, not take the
 * late one's arrival for its own and play silence. A long chunk (16
 * 16th-order filters over 4096 frames) keeps the worker busy for a while
 * after the late chunk is out. A fresh engine per round: a stopped worker
 * cannot be started again. */
START_TEST(freewheel_waits_for_the_due_chunk_after_an_underflow)
{
	enum { ROUNDS = 8, P = 4096 };
	char heavy[1024] = "";
	for (int i = 0; i < 16; i++)
		strcat(heavy, i ? " | lowpass cutoff=3000 order=16"
		                : "lowpass cutoff=3000 order=16");
	FxEngineConfig cfg = fx_test_engine_config(P);
	for (int round = 0; round < ROUNDS; round++) {
		Rig *r = rig_new(cfg, heavy);
		Model *m = model_new(&cfg, heavy, 8);
		/* Two periods on time, then one the worker does not process
		 * before the next callback: that one underflows. */
		for (long k = 0; k < 2; k++) {
			model_callback(r, m, k, k);
			model_work(r, m, k + 1);
		}
		model_callback(r, m, 2, 2);
		model_callback(r, m, 3, 3); /* wants chunk 2: an underflow */
		ck_assert_int_eq(m->silent, 1);
		/* Reference outputs for the chunks the thread will make: 2, 3
		 * and 4 (first, so the thread gets no head start). */
		for (long k = 2; k < 5; k++) {
			float *bufs[2] = {model_buf(m, m->made, k, 0),
			                  model_buf(m, m->made, k, 1)};
			for (int c = 0; c < 2; c++)
				for (int i = 0; i < P; i++)
					bufs[c][i] = signal_at(k, i, c, P);
			fx_chain_process(m->ref, bufs, P);
			m->made_at[k] = 5; /* made by the time callback 4 waits */
		}
		/* The worker thread takes over; JACK starts freewheeling. */
		fx_engine_set_freewheel(r->e, 1);
		pthread_t tid = worker_start(r, fx_engine_worker_main);
		FxEngineMetrics before, after;
		fx_engine_counters(r->e, &before);
		model_callback(r, m, 4, 4); /* wants chunk 3; chunk 2 is late */
		fx_engine_counters(r->e, &after);
		ck_assert_uint_eq(after.late_dropped - before.late_dropped, 1);
		ck_assert_int_eq(m->silent, 1);
		ck_assert_int_eq(m->exact, 3);
		fx_engine_set_freewheel(r->e, 0);
		worker_stop(r, tid);
		model_free(m);
		rig_free(r);
	}
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"fake driver", 60, .tests = {
			{output_is_input_delayed_by_the_latency, 3},
			{output_equals_the_offline_chain, 0},
			{late_chunks_become_silence_and_are_dropped, 0},
			{input_overflow_keeps_alignment, 0},
			{staged_values_apply_at_chunk_start_latest_wins, 0},
			{values_staged_for_an_old_chain_never_land_on_a_new_one,
			 0},
			{swaps_crossfade, 0},
			{structural_change_rebuilds_through_a_swap, 0},
			{nonfinite_input_is_muted_and_counted, 0},
			{safety_ceiling_and_dc_blocker, 0},
			{huge_finite_input_never_turns_into_nan, 0},
			{sample_rate_is_honoured, 3},
			{period_change_replans, 0},
			{routing_mono_in_and_folded_out, 0},
			{fade_out_and_back_in, 0},
			{structural_sweep_coalesces_to_the_last_value, 0},
			{structural_sweep_through_control_syncs_on_the_last_chain,
			 0},
			{chains_over_the_memory_budget_are_refused_naming_their_cost,
			 0},
			{the_default_budget_fits_a_rig_not_32_long_delays, 0},
			{a_replaced_chain_gives_its_memory_back, 0},
			{reset_state_without_safety_keeps_running, 0},
			{a_wanted_chain_that_cannot_be_built_is_dropped, 0},
			{disturbed_periods_play_the_due_chunk_or_counted_silence,
			 4},
		}},
		{"worker thread", 120, .tests = {
			{worker_thread_keeps_alignment_and_period_change, 0},
			{freewheel_never_drops, 0},
			{idle_worker_sleeps_once_per_period, 0},
			{freewheel_waits_for_the_due_chunk_after_an_underflow,
			 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("engine", cases));
}

/* SPDX-License-Identifier: ISC */
/* The engine after the server's rate changed (issue 17): fx_engine_renew,
 * the path fxd takes on a sample-rate callback and after a reconnect,
 * driven without JACK. At a new rate the chain is rebuilt from the running
 * spec, current values included, and plays sample for sample what an
 * engine built at that rate plays; at the same rate the engine is
 * re-planned in place. */
#include "tests/fxtest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine/engine.h"

enum { PERIOD = 256, PERIODS = 64 };

static FxEngineConfig config(double rate, int period)
{
	FxEngineConfig cfg = fx_engine_config_default();
	cfg.inputs = cfg.outputs = cfg.channels = 1;
	cfg.sample_rate = rate;
	cfg.period = period;
	return cfg;
}

/* PERIODS periods of a 1 kHz sine at @p rate through @p e (no worker
 * thread: the chunks are worked here), the output into @p out. */
static void run(FxEngine *e, double rate, float *out)
{
	float in[PERIOD];
	for (int p = 0; p < PERIODS; p++) {
		for (int i = 0; i < PERIOD; i++)
			in[i] = (float)(0.5 * sin(2 * M_PI * 1000.0 *
			                          (p * PERIOD + i) / rate));
		const float *inp[1] = {in};
		float *outp[1] = {out + (long)p * PERIOD};
		fx_engine_process(e, inp, outp, PERIOD);
		fx_engine_work(e);
	}
}

static FxEngine *engine(double rate, const char *chain)
{
	FxEngineConfig cfg = config(rate, PERIOD);
	FxChainSpec spec = fx_test_spec(chain);
	FxStatus st;
	FxEngine *e = fx_engine_new(&cfg, &spec, &st);
	ck_assert_msg(e, "fx_engine_new: %s", fx_strerror(st));
	return e;
}

START_TEST(a_new_rate_rebuilds_the_running_chain)
{
	FxEngine *e = engine(48000, "lp:lowpass cutoff=1000 order=8");
	/* A value changed since start-up goes with the chain. */
	FxParamRef cutoff = {0, 0};
	ck_assert_int_eq(fx_engine_set_param(e, cutoff, 1500, 0, NULL), FX_OK);
	FxStatus st;
	FxEngine *renewed = fx_engine_renew(e, 44100, PERIOD, &st);
	ck_assert_msg(renewed, "fx_engine_renew: %s", fx_strerror(st));
	ck_assert_ptr_ne(renewed, e);
	FxEngineConfig cfg = fx_engine_config(renewed);
	ck_assert(cfg.sample_rate == 44100);
	ck_assert_int_eq(cfg.period, PERIOD);
	ck_assert(fx_engine_get_param(renewed, cutoff) == 1500);

	FxEngine *fresh = engine(44100, "lp:lowpass cutoff=1500 order=8");
	FxEngine *stale = engine(48000, "lp:lowpass cutoff=1500 order=8");
	ck_assert_int_eq(fx_engine_latency(renewed), fx_engine_latency(fresh));
	static float got[PERIODS * PERIOD], want[PERIODS * PERIOD],
		old[PERIODS * PERIOD];
	run(renewed, 44100, got);
	run(fresh, 44100, want);
	run(stale, 44100, old);
	ck_assert_msg(!memcmp(got, want, sizeof got),
	              "the renewed engine plays other samples than one built "
	              "at 44100 Hz");
	/* And the rate matters to this chain: the old design differs. */
	ck_assert(memcmp(got, old, sizeof got) != 0);
	fx_engine_free(stale);
	fx_engine_free(fresh);
	fx_engine_free(renewed);
	fx_engine_free(e);
}
END_TEST

START_TEST(the_same_rate_replans_in_place)
{
	FxEngine *e = engine(48000, "vol:gain db=-6");
	FxStatus st;
	FxEngine *renewed = fx_engine_renew(e, 48000, 512, &st);
	ck_assert_ptr_eq(renewed, e);
	ck_assert_int_eq(fx_engine_config(e).period, 512);
	ck_assert_int_eq(fx_engine_latency(e), 512);
	fx_engine_free(e);
}
END_TEST

int main(void)
{
	/* clang-format off */
	const FxTestCase cases[] = {
		{"renew", 30, .tests = {
			{a_new_rate_rebuilds_the_running_chain, 0},
			{the_same_rate_replans_in_place, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("engine rate", cases));
}

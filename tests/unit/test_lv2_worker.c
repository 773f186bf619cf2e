/* SPDX-License-Identifier: ISC */
/* The LV2 worker extension (dsp/lv2_worker.c) with fxd's own test plugin
 * (tests/lv2: a gain whose every new value reaches run only through
 * work() and work_response), found through LV2_PATH in the build tree:
 * a value set on the slot is first heard once the worker thread answered,
 * exactly, and never before; end_run runs after every run. */
#include "tests/fxtest.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/chain.h"
#include "dsp/lv2.h"

#define GAIN "urn:fxd:test:worker-gain"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs 64-frame chunks of 1.0 through @p c until every sample is @p want
 * or 10 s pass; returns the chunks it took (-1: never). The worker thread
 * answers when the scheduler lets it, so this awaits the answer. */
static int await_gain(FxChain *c, float want)
{
	static float x[64];
	float *buf[1] = {x};
	double end = now_s() + 10;
	for (int k = 0; now_s() < end; k++) {
		for (int i = 0; i < 64; i++)
			x[i] = 1.0f;
		fx_chain_process(c, buf, 64);
		int all = 1;
		for (int i = 0; i < 64; i++)
			all &= x[i] == want;
		if (all)
			return k;
		nanosleep(&(struct timespec){0, 100000}, NULL);
	}
	return -1;
}

START_TEST(a_value_arrives_through_the_worker)
{
	char why[512];
	ck_assert_msg(fx_lv2_class(GAIN, why, sizeof why), "%s", why);
	FxChainConfig cfg = fx_test_chain_config(1, 0);
	cfg.max_block = 64;
	FxChain *c = fx_test_chain("w:lv2 uri=" GAIN " gain=0.5", cfg);
	ck_assert_int_ge(await_gain(c, 0.5f), 0);
	ck_assert_int_eq(fx_chain_set_param(c, 0, 0, 1.5, NULL), FX_OK);
	ck_assert_int_ge(await_gain(c, 1.5f), 0);
	fx_chain_free(c);
}
END_TEST

int main(void)
{
	/* Only fxd's test bundle: the world is read once, at first use. */
	const char *top = getenv("FX_BUILDDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/lv2-path", top ? top : ".");
	setenv("LV2_PATH", path, 1);
	/* clang-format off */
	const FxTestCase cases[] = {
		{"worker", 60, .tests = {
			{a_value_arrives_through_the_worker, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	int rc = fx_test_run(fx_test_suite("lv2 worker", cases));
	fx_lv2_release();
	return rc;
}

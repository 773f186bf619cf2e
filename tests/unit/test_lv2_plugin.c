/* SPDX-License-Identifier: ISC */
/* LV2 extensions with fxd's own test plugins (tests/lv2), found through
 * LV2_PATH in the build tree:
 * - the worker (dsp/lv2_worker.c), with a gain whose every new value
 *   reaches run only through work() and work_response: a value set on the
 *   slot is first heard once the worker thread answered, exactly, and
 *   never before;
 * - state (dsp/lv2_state.c), with a run counter kept as LV2 state: saved
 *   into a spec's state= word, a chain built from that spec counts on
 *   from the saved count, in every instance. */
#include "tests/fxtest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/chain.h"
#include "dsp/lv2.h"

#define GAIN "urn:fxd:test:worker-gain"
#define COUNT "urn:fxd:test:state-count"
#define NEEDS "urn:fxd:test:needs-more"

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

/* Runs @p chunks chunks of 64 frames through @p c; returns the count the
 * slot's first instance reports in its output "runs". */
static int run_chunks(FxChain *c, int chunks)
{
	static float x[2][64];
	float *buf[2] = {x[0], x[1]};
	for (int k = 0; k < chunks; k++)
		fx_chain_process(c, buf, 64);
	float runs[FX_MAX_OUTPUTS];
	ck_assert_int_eq(fx_chain_slot_outputs(c, 0, runs), 1);
	return (int)runs[0];
}

static FxChain *chain_of(const FxChainSpec *spec, int channels)
{
	FxChainConfig cfg = fx_test_chain_config(channels, 0);
	cfg.max_block = 64;
	FxStatus st;
	FxChain *c = fx_chain_new(spec, &cfg, &st);
	ck_assert_msg(c, "fx_chain_new: %s", fx_strerror(st));
	return c;
}

START_TEST(state_is_saved_into_a_spec_and_restored_from_it)
{
	/* Two channels: a mono plugin runs twice, and both instances go on
	 * from the one saved count. */
	FxChainSpec spec = fx_test_spec("n:lv2 uri=" COUNT);
	ck_assert_ptr_null(spec.slots[0].saved);
	FxChain *c = chain_of(&spec, _i + 1);
	ck_assert_int_eq(run_chunks(c, 25), 25);
	const char *saved = fx_chain_slot_save(c, 0);
	ck_assert_ptr_nonnull(saved);
	/* Interned: the same state is the same pointer. */
	ck_assert_ptr_eq(fx_chain_slot_save(c, 0), saved);
	fx_chain_get_spec(c, &spec);
	spec.slots[0].saved = saved;
	char *text = fx_spec_format_new(&spec);
	ck_assert_ptr_nonnull(strstr(text, " state="));
	FxChainSpec back;
	FxSpecError err;
	ck_assert_msg(fx_spec_parse(text, "saved", &back, &err) == FX_OK, "%s",
	              err.message);
	ck_assert_ptr_eq(back.slots[0].saved, saved);
	free(text);
	FxChain *again = chain_of(&back, _i + 1);
	ck_assert_int_eq(run_chunks(again, 1), 26);
	ck_assert_int_eq(run_chunks(c, 1), 26);
	/* A state moves on: a later save is another text. */
	ck_assert_int_eq(run_chunks(c, 1), 27);
	ck_assert_ptr_ne(fx_chain_slot_save(c, 0), saved);
	fx_chain_free(again);
	fx_chain_free(c);
	/* Without state= a plugin starts fresh. */
	c = chain_of(&spec, _i + 1);
	ck_assert_ptr_eq(fx_chain_slot_save(c, 0), saved);
	fx_chain_free(c);
	spec.slots[0].saved = NULL;
	c = chain_of(&spec, _i + 1);
	ck_assert_int_eq(run_chunks(c, 1), 1);
	fx_chain_free(c);
}
END_TEST

START_TEST(a_bad_state_word_is_refused)
{
	fx_test_spec_refused(
		"n:lv2 uri=" COUNT " state=bm90IHR1cnRsZQ==", FX_ERR_SYNTAX,
		"chain:1:36: lv2: state= is not an LV2 state saved by fxd");
	fx_test_spec_refused("n:lv2 uri=" COUNT " state=", FX_ERR_SYNTAX,
	                     "state= is not an LV2 state");
	/* A plugin without the state extension has no state= (nor has a
	 * built-in effect). */
	fx_test_spec_refused("g:lv2 uri=" GAIN " state=abc",
	                     FX_ERR_UNKNOWN_PARAM, "unknown parameter 'state'");
	fx_test_spec_refused("gain state=abc", FX_ERR_UNKNOWN_PARAM,
	                     "unknown parameter 'state'");
	/* Given twice. */
	FxChainSpec spec = fx_test_spec("n:lv2 uri=" COUNT);
	FxChain *c = chain_of(&spec, 1);
	run_chunks(c, 3);
	const char *saved = fx_chain_slot_save(c, 0);
	fx_chain_free(c);
	char text[8192];
	snprintf(text, sizeof text, "n:lv2 uri=" COUNT " state=%s state=%s",
	         saved, saved);
	fx_test_spec_refused(text, FX_ERR_SYNTAX, "state is given twice");
}
END_TEST

static void *save_often(void *chain)
{
	for (int i = 0; i < 100; i++)
		if (!fx_chain_slot_save(chain, 0))
			return chain;
	return NULL;
}

/* The state extension lets save run beside run, as fxd's control thread
 * does while the audio worker plays (run under ThreadSanitizer too). */
START_TEST(state_is_saved_while_the_plugin_runs)
{
	FxChainSpec spec = fx_test_spec("n:lv2 uri=" COUNT);
	FxChain *c = chain_of(&spec, 1);
	pthread_t saver;
	ck_assert_int_eq(pthread_create(&saver, NULL, save_often, c), 0);
	ck_assert_int_eq(run_chunks(c, 2000), 2000);
	void *failed;
	pthread_join(saver, &failed);
	ck_assert_ptr_null(failed);
	spec.slots[0].saved = fx_chain_slot_save(c, 0);
	fx_chain_free(c);
	c = chain_of(&spec, 1);
	ck_assert_int_eq(run_chunks(c, 1), 2001);
	fx_chain_free(c);
}
END_TEST

/* A plugin that requires a feature fxd lacks is refused by name, before
 * anything is instantiated. */
START_TEST(a_plugin_needing_an_unknown_feature_is_refused)
{
	char why[512];
	ck_assert_ptr_null(fx_lv2_class(NEEDS, why, sizeof why));
	ck_assert_str_eq(why, "requires the feature "
	                      "urn:fxd:test:a-feature-nobody-has, which fxd "
	                      "does not provide");
	fx_test_spec_refused("x:lv2 uri=" NEEDS, FX_ERR_UNKNOWN_EFFECT,
	                     "chain:1:7: lv2: requires the feature "
	                     "urn:fxd:test:a-feature-nobody-has");
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
		{"features", 60, .tests = {
			{a_plugin_needing_an_unknown_feature_is_refused, 0},
		}},
		{"state", 60, .tests = {
			{state_is_saved_into_a_spec_and_restored_from_it, 2},
			{a_bad_state_word_is_refused, 0},
			{state_is_saved_while_the_plugin_runs, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	int rc = fx_test_run(fx_test_suite("lv2 plugins", cases));
	fx_lv2_release();
	return rc;
}

/* SPDX-License-Identifier: ISC */
/* fxd — shared helpers for the Check test programs. */
#ifndef FX_TEST_H
#define FX_TEST_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine/engine.h"
#include "dsp/chain.h"
#include "dsp/spec.h"

/** Source tree root, for reference data under tests/data. */
#ifndef FX_SRCDIR
#define FX_SRCDIR "."
#endif

/** One entry of a test table: a Check test (START_TEST's name) and, for a
 *  loop test, how many times it runs (its _i counts 0 .. loops - 1); 0
 *  makes it a plain test. */
typedef struct {
	const TTest *test;
	int loops;
} FxTest;

/** Most tests one test case of a table holds; more do not build. */
#define FX_TEST_MAX 32

/** One Check test case of a suite table: its name, its timeout in seconds
 *  (0 keeps Check's default), an optional checked fixture and its tests
 *  (the first NULL test ends them). A NULL name ends the table. The
 *  tables live in the function that builds the suite: START_TEST's names
 *  are variables, not constants. */
typedef struct {
	const char *name;
	double timeout;
	SFun setup, teardown;
	FxTest tests[FX_TEST_MAX];
} FxTestCase;

/** Adds @p tests to @p tc, in order, up to the first NULL test or
 *  FX_TEST_MAX of them. */
static inline void fx_test_add(TCase *tc, const FxTest *tests)
{
	for (const FxTest *end = tests + FX_TEST_MAX;
	     tests < end && tests->test; tests++) {
		if (tests->loops)
			tcase_add_loop_test(tc, tests->test, 0, tests->loops);
		else
			tcase_add_test(tc, tests->test);
	}
}

/** Builds the suite @p name of the NULL-ended case table @p cases. */
static inline Suite *fx_test_suite(const char *name, const FxTestCase *cases)
{
	Suite *s = suite_create(name);
	for (; cases->name; cases++) {
		TCase *tc = tcase_create(cases->name);
		if (cases->timeout > 0)
			tcase_set_timeout(tc, cases->timeout);
		if (cases->setup || cases->teardown)
			tcase_add_checked_fixture(tc, cases->setup,
			                          cases->teardown);
		fx_test_add(tc, cases->tests);
		suite_add_tcase(s, tc);
	}
	return s;
}

/** Parses the chain @p text; a text that does not parse fails the test
 *  with the parser's message. */
static inline FxChainSpec fx_test_spec(const char *text)
{
	FxChainSpec spec;
	FxSpecError err;
	ck_assert_msg(fx_spec_parse(text, "test", &spec, &err) == FX_OK,
	              "%s: %s", text, err.message);
	return spec;
}

/** Runs planar buffers @p x[0..channels) of @p n frames through @p c in
 *  place, in chunks of @p chunk frames (the last may be shorter). */
static inline void fx_test_process(FxChain *c, float *const *x, int channels,
                                   long n, int chunk)
{
	float *part[64];
	for (long off = 0; off < n; off += chunk) {
		for (int ch = 0; ch < channels; ch++)
			part[ch] = x[ch] + off;
		fx_chain_process(c, part,
		                 n - off < chunk ? (int)(n - off) : chunk);
	}
}

/** xorshift32: the next of a reproducible sequence in *@p s (not 0). */
static inline uint32_t fx_test_xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/** Uniform in [-1, 1), from fx_test_xorshift. */
static inline double fx_test_uniform(uint32_t *s)
{
	return (double)fx_test_xorshift(s) / 2147483648.0 - 1.0;
}

/** The chain @p text is refused with @p st and a message (source "chain")
 *  containing @p want. */
static inline void fx_test_spec_refused(const char *text, FxStatus st,
                                        const char *want)
{
	FxChainSpec spec;
	FxSpecError err;
	ck_assert_int_eq(fx_spec_parse(text, "chain", &spec, &err), st);
	ck_assert_msg(strstr(err.message, want), "%s: got '%s', want '%s'",
	              text, err.message, want);
}

/** Builds the chain @p text under @p cfg; a text that does not parse or a
 *  chain that cannot be built fails the test. */
static inline FxChain *fx_test_chain(const char *text, FxChainConfig cfg)
{
	FxChainSpec spec = fx_test_spec(text);
	FxStatus st;
	FxChain *c = fx_chain_new(&spec, &cfg, &st);
	ck_assert_msg(c, "fx_chain_new(%s): %s", text, fx_strerror(st));
	return c;
}

/** The default chain configuration with @p channels and @p glide_ms. */
static inline FxChainConfig fx_test_chain_config(int channels, double glide_ms)
{
	FxChainConfig cfg = fx_chain_config_default();
	cfg.channels = channels;
	cfg.glide_ms = glide_ms;
	return cfg;
}

/** The default engine configuration at @p period frames with no safety
 *  stage, fades or glides: an engine whose output is the chain's, sample
 *  for sample. */
static inline FxEngineConfig fx_test_engine_config(int period)
{
	FxEngineConfig c = fx_engine_config_default();
	c.period = period;
	c.safety = 0;
	c.fade_ms = 0;
	c.glide_ms = 0;
	return c;
}

/** Runs @p suite with Check's fork mode @p fork (CK_FORK_GETENV: as
 *  $CK_FORK says, forking by default) and returns the process exit status.
 *  Under `make check`, CK_TAP_LOG_FILE_NAME=- makes Check print TAP, one
 *  line per test. */
static inline int fx_test_run_forking(Suite *suite, enum fork_status fork)
{
	SRunner *sr = srunner_create(suite);
	srunner_set_fork_status(sr, fork);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/** Runs @p suite as $CK_FORK says and returns the process exit status. */
static inline int fx_test_run(Suite *suite)
{
	return fx_test_run_forking(suite, CK_FORK_GETENV);
}

#endif

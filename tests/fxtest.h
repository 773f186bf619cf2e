/* fxd — shared helpers for the Check test programs. */
#ifndef FX_TEST_H
#define FX_TEST_H

#include <check.h>
#include <stdlib.h>

/** Source tree root, for reference data under tests/data. */
#ifndef FX_SRCDIR
#define FX_SRCDIR "."
#endif

/** Runs @p suite and returns the process exit status. Under `make check`,
 *  CK_TAP_LOG_FILE_NAME=- makes Check print TAP, one line per test. */
static inline int fx_test_run(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif

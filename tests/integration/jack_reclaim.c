/* SPDX-License-Identifier: ISC */
/* fxd — gives back the slots dead jackd servers of this user hold in
 * JACK's shared registry, for the shell tests (tests/integration/jack_lib.sh runs it
 * before starting a server, and with the name of one it killed).
 *   jack_reclaim            every dead server whose owner is gone
 *   jack_reclaim NAME...    these names too (their owner is the caller) */
#include <stdio.h>

#include "tests/integration/jack_harness.h"

int main(int argc, char **argv)
{
	/* It starts and stops servers: one JACK test program at a time (a
	 * shell test that runs it holds the lock already). */
	if (fx_test_jack_lock() != 0)
		return 1;
	int n = 0;
	for (int i = 1; i < argc; i++)
		n += fx_test_jack_reclaim_name(argv[i]);
	n += fx_test_jack_reclaim();
	if (n)
		printf("jack_reclaim: gave back %d registry slot%s\n", n,
		       n == 1 ? "" : "s");
	return 0;
}

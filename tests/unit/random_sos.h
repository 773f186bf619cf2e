/* SPDX-License-Identifier: ISC */
/* fxd — seeded random numbers and random stable biquad sections for the
 * unit tests of the SOS paths (test_accel_plan, test_accel_device). Each
 * test keeps its own state, so its sequence stays its own. */
#ifndef FX_TEST_RANDOM_SOS_H
#define FX_TEST_RANDOM_SOS_H

#include <math.h>
#include <stdint.h>

#include "dsp/design.h"

/** The next xorshift32 number of @p state, in [0, 1). */
static inline double fx_test_urand(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state / 4294967296.0;
}

/** Fills sec[0..n) with stable sections drawn from @p state: poles of
 *  radius up to @p rmax, random zeros, a0 not always 1, one in five first
 *  order. */
static inline void fx_test_random_sections(uint32_t *state, FxSection *sec,
                                           int n, double rmax)
{
	for (int k = 0; k < n; k++) {
		double r = 0.3 + (rmax - 0.3) * fx_test_urand(state);
		double th = M_PI * fx_test_urand(state);
		double a0 = fx_test_urand(state) < 0.5
		                    ? 1.0
		                    : 0.5 + fx_test_urand(state);
		double a1 = -2 * r * cos(th), a2 = r * r;
		if (fx_test_urand(state) < 0.2)
			a1 = -r, a2 = 0;
		sec[k][0] = a0 * (fx_test_urand(state) - 0.5);
		sec[k][1] = a0 * (fx_test_urand(state) - 0.5);
		sec[k][2] = a0 * (fx_test_urand(state) - 0.5);
		sec[k][3] = a0;
		sec[k][4] = a0 * a1;
		sec[k][5] = a0 * a2;
	}
}

#endif

/* SPDX-License-Identifier: ISC */
/* fxd — helpers for the tests that compare with the scipy reference data
 * under tests/data (test_design, test_cheby). */
#ifndef FX_REFDATA_H
#define FX_REFDATA_H

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/sos.h"

#define FX_TEST_DATA FX_SRCDIR "/tests/data/"

/** @p count elements of @p elem bytes (4 or 8) from tests/data/@p name, raw
 *  little-endian, decoded bytewise so the host order is moot. Malloc'd, or
 *  NULL if the file cannot be read whole. Usable outside a Check test. */
static inline void *fx_test_read_le(const char *name, size_t elem, size_t count)
{
	char path[512];
	snprintf(path, sizeof path, FX_TEST_DATA "%s", name);
	FILE *f = fopen(path, "rb");
	unsigned char *raw = malloc(elem * count);
	size_t got = f && raw ? fread(raw, elem, count, f) : 0;
	if (f)
		fclose(f);
	if (got != count) {
		free(raw);
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		uint64_t v = 0;
		for (size_t b = 0; b < elem; b++)
			v |= (uint64_t)raw[i * elem + b] << (8 * b);
		if (elem == 4) {
			uint32_t u = (uint32_t)v;
			memcpy(raw + i * elem, &u, 4);
		} else {
			memcpy(raw + i * elem, &v, 8);
		}
	}
	return raw;
}

/** fx_test_read_le inside a Check test: a missing file fails the test. */
static inline void *fx_test_load_le(const char *name, size_t elem, size_t count)
{
	void *data = fx_test_read_le(name, elem, count);
	ck_assert_msg(data, "cannot read %s%s", FX_TEST_DATA, name);
	return data;
}

/** rms(y - ref) / rms(ref) */
static inline double fx_test_rel_rms(const float *y, const double *ref,
                                     size_t frames)
{
	double e2 = 0, r2 = 0;
	for (size_t i = 0; i < frames; i++) {
		e2 += (y[i] - ref[i]) * (y[i] - ref[i]);
		r2 += ref[i] * ref[i];
	}
	ck_assert(r2 > 0);
	return sqrt(e2 / r2);
}

/** The largest magnitude difference in dB between two cascades over
 *  @p n_freqs log-spaced frequencies from 1 Hz to Nyquist, ignoring points
 *  where both are below -200 dB; infinite if either is NaN. */
static inline double fx_test_mag_diff(const FxSection *a, int na,
                                      const FxSection *b, int nb, double fs,
                                      int n_freqs)
{
	double worst = 0, lo = 1, hi = 0.49999 * fs;
	for (int i = 0; i < n_freqs; i++) {
		double f = lo * pow(hi / lo, (double)i / (n_freqs - 1));
		double ma, mb;
		fx_sos_response(a, na, f, fs, &ma, NULL);
		fx_sos_response(b, nb, f, fs, &mb, NULL);
		if (isnan(ma) || isnan(mb))
			return INFINITY;
		if (ma < -200 && mb < -200)
			continue;
		worst = fmax(worst, fabs(ma - mb));
	}
	return worst;
}

#endif

/* SPDX-License-Identifier: ISC */
/* fxd — the one error convention, as one call: a function returns an
 * FxStatus (dsp/status.h) and fills the caller's buffer, `char *err,
 * size_t err_size`, with one line saying why. */
#ifndef FX_FAIL_H
#define FX_FAIL_H

#include <stddef.h>

#include "dsp/status.h"

/** Writes the printf-style line into @p err (NULL or 0 bytes: nothing is
 *  written) and returns @p st; errno is kept. */
FxStatus fx_fail(FxStatus st, char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif

/* SPDX-License-Identifier: ISC */
/* The one error convention (fail.h). */
#include "daemon/base/fail.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

FxStatus fx_fail(FxStatus st, char *err, size_t err_size, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	if (err && err_size)
		vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	errno = e;
	return st;
}

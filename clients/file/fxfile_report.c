/* SPDX-License-Identifier: ISC */
/* fxfile's exit codes, interruption and informative lines
 * (fxfile_report.h). */
#include "clients/file/fxfile_report.h"

#include <stdarg.h>
#include <stdio.h>

#include "daemon/base/fail.h"

static FxFileReportHooks hooks;
volatile sig_atomic_t fxfile_interrupted;

void fxfile_report_init(const FxFileReportHooks *h)
{
	hooks = *h;
}

static void vsay(const char *fmt, va_list ap)
{
	if (hooks.clear)
		hooks.clear(hooks.ctx);
	fflush(stdout);
	fputs("fxfile: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void fxfile_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void fxfile_note(const char *fmt, ...)
{
	if (hooks.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

FxStatus fxfile_interruption(void)
{
	return fxfile_interrupted ? FXFILE_ERR_INTERRUPTED : FX_OK;
}

FxStatus fxfile_usage_fail(char *err, size_t err_size, const char *fmt, ...)
{
	char why[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return fx_fail(FX_ERR_SYNTAX, err, err_size, "%s (see fxfile --help)",
	               why);
}

/* fxfile's exit codes, messages and way out (fxfile_report.h). */
#include "clients/file/fxfile_report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void vdie(int rc, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0), noreturn));

static void vdie(int rc, const char *fmt, va_list ap)
{
	if (hooks.discard)
		hooks.discard(hooks.ctx);
	vsay(fmt, ap);
	exit(rc);
}

void fxfile_die(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdie(rc, fmt, ap);
	va_end(ap); /* not reached: vdie exits */
}

void fxfile_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdie(FXFILE_USAGE, fmt, ap);
	va_end(ap); /* not reached: vdie exits */
}

void fxfile_usage_error(const char *fmt, ...)
{
	char why[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	fxfile_error("%s (see fxfile --help)", why);
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

void fxfile_check_interrupt(void)
{
	int sig = fxfile_interrupted;
	if (!sig)
		return;
	const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM"
	                                                             : "SIGHUP";
	char left[512] = "nothing written";
	if (hooks.interrupted)
		hooks.interrupted(hooks.ctx, left, sizeof left);
	fxfile_die(128 + sig, "interrupted by %s; %s", name, left);
}

void *fxfile_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		fxfile_die(FXFILE_FAILURE, "out of memory");
	return p;
}

char *fxfile_strdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		fxfile_die(FXFILE_FAILURE, "out of memory");
	return d;
}

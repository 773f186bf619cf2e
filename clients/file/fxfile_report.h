/* fxfile — what its parts share: exit codes, the one line on stderr, and
 * the way out on an error or an interruption. fxfile's main (clients/
 * fxfile.c) registers what must happen on the way out (remove the
 * unfinished output, clear the progress bar); the modules below it call
 * these without knowing main. */
#ifndef FXFILE_REPORT_H
#define FXFILE_REPORT_H

#include <signal.h>
#include <stddef.h>

/** Exit codes, documented in fxfile(1); an interruption exits with 128 +
 *  the signal's number (130 for SIGINT). */
enum {
	FXFILE_OK = 0,
	FXFILE_FAILURE = 1, ///< out of memory, cannot start threads
	FXFILE_USAGE = 2,   ///< bad usage, chain, input, output or I/O error
};

/** What main registers. Every hook may be NULL. */
typedef struct {
	void (*discard)(void *ctx); ///< removes the unfinished output
	void (*clear)(void *ctx);   ///< clears the progress line
	/** Says what an interruption leaves ("nothing written"). */
	void (*interrupted)(void *ctx, char *buf, size_t size);
	void *ctx;
	int quiet;                  ///< fxfile_note prints nothing
} FxFileReportHooks;

/** Registers @p hooks (copied). */
void fxfile_report_init(const FxFileReportHooks *hooks);

/** The signal that asks fxfile to stop, set by the handlers; 0: none. */
extern volatile sig_atomic_t fxfile_interrupted;

/** Prints "fxfile: MESSAGE" as one line on stderr, removes the temporary
 *  output and exits with @p rc. */
void fxfile_die(int rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/** fxfile_die(FXFILE_USAGE, ...): bad usage, input, output or I/O. */
void fxfile_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/** fxfile_error with "(see fxfile --help)" added. */
void fxfile_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/** An informative "fxfile: MESSAGE" line on stderr, unless quiet. */
void fxfile_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Exits (128 + the signal) if SIGINT, SIGTERM or SIGHUP arrived. */
void fxfile_check_interrupt(void);

/** calloc and strdup that exit with FXFILE_FAILURE when out of memory. */
void *fxfile_calloc(size_t n, size_t size);
char *fxfile_strdup(const char *s);

#endif

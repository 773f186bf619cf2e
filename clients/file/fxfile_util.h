/* fxfile — what its parts share: exit codes and the one way out on an
 * error (fxfile.c defines these). */
#ifndef FXFILE_UTIL_H
#define FXFILE_UTIL_H

#include <stddef.h>

/** Exit codes, documented in fxfile(1); an interruption exits with 128 +
 *  the signal's number (130 for SIGINT). */
enum {
	FXFILE_OK = 0,
	FXFILE_FAILURE = 1, ///< out of memory, cannot start threads
	FXFILE_USAGE = 2,   ///< bad usage, chain, input, output or I/O error
};

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

/** An informative "fxfile: MESSAGE" line on stderr, unless -q. */
void fxfile_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Exits (128 + the signal) if SIGINT, SIGTERM or SIGHUP arrived. */
void fxfile_check_interrupt(void);

/** calloc and strdup that exit with FXFILE_FAILURE when out of memory. */
void *fxfile_calloc(size_t n, size_t size);
char *fxfile_strdup(const char *s);

#endif

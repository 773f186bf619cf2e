/* SPDX-License-Identifier: ISC */
/* fxfile — what its parts share: exit codes, the status of an
 * interruption, and informative lines on stderr. fxfile's modules return
 * an FxStatus with one line in the caller's `err`; only fxfile's main
 * (clients/fxfile.c) prints an error, removes the unfinished output and
 * exits, with the code its status maps to. */
#ifndef FXFILE_REPORT_H
#define FXFILE_REPORT_H

#include <signal.h>
#include <stddef.h>

#include "dsp/status.h"

/** Exit codes, documented in fxfile(1); an interruption exits with 128 +
 *  the signal's number (130 for SIGINT). */
enum {
	FXFILE_OK = 0,
	FXFILE_FAILURE = 1, ///< out of memory (FX_ERR_NOMEM), no threads
	FXFILE_USAGE = 2,   ///< bad usage, chain, input, output or I/O error
};

/** Returned by fxfile's modules when SIGINT, SIGTERM or SIGHUP asked
 *  fxfile to stop (fxfile_interrupted says which); beyond the FxStatus
 *  codes, so that no other failure reads as it. No message is written. */
#define FXFILE_ERR_INTERRUPTED ((FxStatus)FX_STATUS_COUNT)

/** What the informative lines need. */
typedef struct {
	void (*clear)(void *ctx); ///< clears the progress line; may be NULL
	void *ctx;
	int quiet; ///< fxfile_note prints nothing
} FxFileReportHooks;

/** Registers @p hooks (copied). */
void fxfile_report_init(const FxFileReportHooks *hooks);

/** The signal that asks fxfile to stop, set by the handlers; 0: none. */
extern volatile sig_atomic_t fxfile_interrupted;

/** FXFILE_ERR_INTERRUPTED if SIGINT, SIGTERM or SIGHUP arrived, else
 *  FX_OK. */
FxStatus fxfile_interruption(void);

/** Writes "MESSAGE (see fxfile --help)" into @p err and returns
 *  FX_ERR_SYNTAX: bad usage. */
FxStatus fxfile_usage_fail(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Prints "fxfile: MESSAGE" as one line on stderr, after clearing the
 *  progress line. */
void fxfile_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** fxfile_say, unless quiet: an informative line. */
void fxfile_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

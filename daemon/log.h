/* SPDX-License-Identifier: ISC */
/* fxd — logging at syslog levels through one function.
 *
 * On a terminal each line carries a timestamp and, above notice, its level
 * in a word ("fxd: warning: ..."); otherwise (systemd, a pipe, a test's log
 * file) each line starts with the kernel-style "<N>" priority prefix that
 * journald understands, and no timestamp, since the journal adds its own. Lines go to stderr in one write(2) each. The level is checked
 * before formatting. Realtime threads never log: they count, and the main
 * thread reports.
 */
#ifndef FX_LOG_H
#define FX_LOG_H

#include <stdarg.h>
#include <syslog.h>

/** Sets the name that starts every line ("fxd") and looks at stderr to
 *  choose between the terminal and the journal format. Level: LOG_INFO. */
void fx_log_init(const char *ident);

/** Logs messages at @p level (LOG_ERR..LOG_DEBUG) and more urgent ones. */
void fx_log_set_level(int level);

/** The current level. */
int fx_log_level(void);

/** 1 if a message at @p level would be written. */
int fx_log_enabled(int level);

/** Turns terminal timestamps on or off (off while parsing the command
 *  line, so usage errors read "fxd: ..."). No effect on the journal format. */
void fx_log_set_timestamps(int on);

/** Writes one line "IDENT: message" at @p level (on a terminal
 *  "IDENT: warning: message" for warnings, errors and debug lines). A trailing newline in
 *  @p fmt is not needed. Not for realtime threads. */
void fx_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** fx_log with a va_list. */
void fx_logv(int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif

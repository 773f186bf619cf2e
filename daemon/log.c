/* SPDX-License-Identifier: ISC */
#include "daemon/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "fxd";
static int log_level = LOG_INFO;
static int log_tty;
static int log_stamps;

/* What a terminal line says of its level; the journal reads "<N>" instead.
 * Notices and info need no word: they are the ordinary lines. */
static const char *const level_words[LOG_DEBUG + 1] = {
	[LOG_EMERG] = "emergency: ",
	[LOG_ALERT] = "alert: ",
	[LOG_CRIT] = "critical: ",
	[LOG_ERR] = "error: ",
	[LOG_WARNING] = "warning: ",
	[LOG_NOTICE] = "",
	[LOG_INFO] = "",
	[LOG_DEBUG] = "debug: ",
};

void fx_log_init(const char *ident)
{
	log_ident = ident;
	log_tty = isatty(STDERR_FILENO);
}

void fx_log_set_level(int level)
{
	log_level = level < LOG_EMERG   ? LOG_EMERG
	            : level > LOG_DEBUG ? LOG_DEBUG
	                                : level;
}

int fx_log_level(void)
{
	return log_level;
}

int fx_log_enabled(int level)
{
	return level <= log_level;
}

void fx_log_set_timestamps(int on)
{
	log_stamps = on;
}

void fx_logv(int level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	if (level < LOG_EMERG)
		level = LOG_EMERG;
	char line[1024];
	int n;
	if (!log_tty) {
		n = snprintf(line, sizeof line, "<%d>%s: ", level, log_ident);
	} else if (log_stamps) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s: %s",
		             tm.tm_hour, tm.tm_min, tm.tm_sec,
		             ts.tv_nsec / 1000000, log_ident, level_words[level]);
	} else {
		n = snprintf(line, sizeof line, "%s: %s", log_ident,
		             level_words[level]);
	}
	if (n < 0)
		return;
	size_t len = (size_t)n;
	if (len < sizeof line) {
		int m = vsnprintf(line + len, sizeof line - len, fmt, ap);
		if (m > 0)
			len += (size_t)m;
	}
	/* Truncated lines keep their newline. */
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	line[len++] = '\n';
	/* One write per line keeps lines from different threads whole. */
	for (size_t off = 0; off < len;) {
		ssize_t w = write(STDERR_FILENO, line + off, len - off);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

void fx_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fx_logv(level, fmt, ap);
	va_end(ap);
}

/* SPDX-License-Identifier: ISC */
/* fxd — telling the service manager how fxd is doing (sd_notify).
 *
 * Two implementations behind this one header, chosen at link time:
 * notify.c (libsystemd) and notify_none.c (no-ops, for builds without
 * libsystemd). Outside systemd ($NOTIFY_SOCKET unset) both do nothing.
 * Main thread only.
 */
#ifndef FX_NOTIFY_H
#define FX_NOTIFY_H

#include <stdint.h>

/** READY=1: JACK is active (and, once there is one, the OSC port bound). */
void fx_notify_ready(void);

/** RELOADING=1 before a SIGHUP reload; fx_notify_ready ends it. */
void fx_notify_reloading(void);

/** STOPPING=1 at the start of a shutdown. */
void fx_notify_stopping(void);

/** STATUS=@p line, a one-line summary shown by `systemctl status`. */
void fx_notify_status(const char *line);

/** The watchdog interval in microseconds if the service manager expects
 *  WATCHDOG=1 pings (WatchdogSec= and $WATCHDOG_USEC), else 0. */
uint64_t fx_notify_watchdog_usec(void);

/** WATCHDOG=1. Send it only while the engine makes progress. */
void fx_notify_watchdog(void);

#endif

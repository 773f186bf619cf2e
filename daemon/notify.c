/* SPDX-License-Identifier: ISC */
/* sd_notify through libsystemd. */
#include "daemon/notify.h"

#include <systemd/sd-daemon.h>

void fx_notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void fx_notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void fx_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void fx_notify_status(const char *line)
{
	sd_notifyf(0, "STATUS=%s", line);
}

uint64_t fx_notify_watchdog_usec(void)
{
	uint64_t usec = 0;
	/* 0 keeps $WATCHDOG_USEC set for any child; fxd starts none. */
	return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

void fx_notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

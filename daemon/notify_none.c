/* SPDX-License-Identifier: ISC */
/* Built without libsystemd: nothing to tell. */
#include "daemon/notify.h"

void fx_notify_ready(void)
{
}

void fx_notify_reloading(void)
{
}

void fx_notify_stopping(void)
{
}

void fx_notify_status(const char *line)
{
	(void)line;
}

uint64_t fx_notify_watchdog_usec(void)
{
	return 0;
}

void fx_notify_watchdog(void)
{
}

/* SPDX-License-Identifier: ISC */
/* Built without avahi-client: fxctl finds nothing by name. */
#include "clients/fxctl_find.h"

#include <stdio.h>

int fx_find(const char *only, double wait_s, FxFound *out, int max, char *err,
            size_t err_size)
{
	(void)only;
	(void)wait_s;
	(void)out;
	(void)max;
	snprintf(err, err_size, "built without Zeroconf (avahi)");
	return FX_FIND_UNAVAILABLE;
}

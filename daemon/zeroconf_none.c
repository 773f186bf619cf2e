/* SPDX-License-Identifier: ISC */
/* Built without avahi-client: nothing is advertised. */
#include "daemon/zeroconf.h"

#include <stdio.h>

FxZeroconf *fx_zeroconf_new(const char *name, int osc_port, int http_port,
                            char *err, size_t err_size)
{
	(void)name;
	(void)osc_port;
	(void)http_port;
	snprintf(err, err_size, "fxd was built without Zeroconf (avahi)");
	return NULL;
}

void fx_zeroconf_free(FxZeroconf *z)
{
	(void)z;
}

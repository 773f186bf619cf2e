/* SPDX-License-Identifier: ISC */
#include "daemon/base/instance_port.h"

#include <stdint.h>

int fx_instance_osc_port(const char *name)
{
	/* FNV-1a: short, fixed and easy to restate in the man page. */
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return FX_INSTANCE_PORT_BASE + (int)(h % FX_INSTANCE_PORT_COUNT);
}

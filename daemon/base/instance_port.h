/* SPDX-License-Identifier: ISC */
/* fxd — the OSC port an instance gets from its name.
 *
 * systemd cannot do arithmetic, so `fxd@NAME` units pass
 * --osc-port-by-name and fxd derives the port from its client name;
 * `fxctl --instance NAME` derives the same port. The rule is fixed and
 * documented in fxd(1): 8001 + (FNV-1a 32-bit hash of NAME's bytes) mod
 * 999, so ports 8001..8999 (8000 stays plain fxd's default). Two names can
 * share a port; the second fxd then exits with FX_EXIT_OSC_PORT_TAKEN and
 * its config sets osc-port.
 */
#ifndef FX_INSTANCE_PORT_H
#define FX_INSTANCE_PORT_H

enum {
	FX_INSTANCE_PORT_BASE = 8001, ///< the lowest port the rule gives
	FX_INSTANCE_PORT_COUNT = 999, ///< ports in the rule's range
};

/** The OSC port of the instance (JACK client) named @p name. */
int fx_instance_osc_port(const char *name);

#endif

/* SPDX-License-Identifier: ISC */
/* stub until the OSCQuery tree lands */
#ifndef FX_OSCQUERY_H
#define FX_OSCQUERY_H
#include <stddef.h>
#include "daemon/engine/control.h"
typedef struct {
	const char *name;
	const char *osc_ip;
	int osc_port;
	const char *ws_ip;
	int ws_port;
	double feedback_hz;
} FxOscQueryHost;
int fx_oscquery_get(FxControl *control, const FxOscQueryHost *host,
                    const char *path, const char *query, char **body,
                    size_t *len);
#endif

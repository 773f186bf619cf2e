/* SPDX-License-Identifier: ISC */
#include "osc/oscquery.h"
#include <stdlib.h>
#include <string.h>
int fx_oscquery_get(FxControl *control, const FxOscQueryHost *host,
                    const char *path, const char *query, char **body, size_t *len)
{
	(void)control, (void)host, (void)query;
	if (strcmp(path, "/"))
		return 404;
	*body = strdup("{\"FULL_PATH\":\"/\"}");
	*len = strlen(*body);
	return 200;
}

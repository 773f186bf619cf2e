/* SPDX-License-Identifier: ISC */
/* fxd — the browser surface's page (clients/web/fxd.html), compiled in. */
#ifndef FX_WEB_PAGE_H
#define FX_WEB_PAGE_H

#include <stddef.h>

extern const char fx_web_page[];
extern const size_t fx_web_page_len;

#endif

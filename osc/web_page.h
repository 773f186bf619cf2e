/* SPDX-License-Identifier: ISC */
/* fxd's browser control surface, compiled in: the bytes of
 * clients/web/fxd.html, which osc/web_page.c (generated at build time by
 * clients/web/embed.c) holds. */
#ifndef FX_OSC_WEB_PAGE_H
#define FX_OSC_WEB_PAGE_H

#include <stddef.h>

/** The page (UTF-8 HTML), followed by a NUL that fx_web_page_len leaves
 *  out; served as text/html; charset=utf-8. */
extern const char fx_web_page[];

/** Length of fx_web_page in bytes, without the NUL. */
extern const size_t fx_web_page_len;

#endif

/* SPDX-License-Identifier: ISC */
/* Until the page lands. */
#include "osc/web_page.h"
const char fx_web_page[] = "<!doctype html><title>fxd</title>\n";
const size_t fx_web_page_len = sizeof fx_web_page - 1;

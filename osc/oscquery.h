/* SPDX-License-Identifier: ISC */
/* fxd — the OSCQuery tree (Vidvox OSCQueryProposal, third revision): the
 * answers to HTTP GET requests, built at each request from the running
 * chain's parameter tables and the /fxd/ method table. No networking here:
 * the HTTP server calls fx_oscquery_get and sends what it returns.
 *
 * The tree:
 *   /                 CONTENTS {fx, fxd}; ?HOST_INFO
 *   /fx/<slot>        one container a slot, in chain order, keyed as the
 *                     OSC addresses name it (fx_osc_param_path):
 *                     DESCRIPTION, FXD_EFFECT, FXD_INDEX
 *   /fx/<slot>/<p>    TYPE "f" ("s" for enums: VALUE the label, RANGE
 *                     VALS the labels; "i" for FX_PARAM_INTEGER), VALUE,
 *                     RANGE, ACCESS 3, UNIT, CLIPMODE "both", DESCRIPTION,
 *                     FXD_SCALE (fx_scale_name: "lin", "log", "dB",
 *                     "enum"), FXD_DEFAULT; CONTENTS {norm}
 *   /fx/<slot>/<p>/norm  TYPE "f", VALUE fx_param_to_norm, RANGE 0..1,
 *                     ACCESS 3, CLIPMODE "both"
 *   /fx/<slot>/bypass TYPE "i" (what feedback sends; T, F and numbers are
 *                     taken too), VALUE 0 or 1, RANGE 0..1, ACCESS 3,
 *                     FXD_SCALE "toggle"
 *   /fxd/...          each /fxd/ method: ACCESS 2, DESCRIPTION (its doc
 *                     line), FXD_ARGS (its arguments as the table writes
 *                     them), TYPE where they are fixed; nested addresses
 *                     make containers. /fxd/mute (TYPE "i", RANGE 0..1) and
 *                     /fxd/bpm (TYPE "f") are values too (ACCESS 3, VALUE).
 *                     Outputs sent to subscribers are readable (ACCESS has
 *                     bit 1): /fxd/meters (TYPE "ff" an output port),
 *                     /fxd/counters and /fxd/stats (a method too: 3).
 * Containers have ACCESS 0. ACCESS is a bit mask: 1 read, 2 write.
 */
#ifndef FX_OSC_OSCQUERY_H
#define FX_OSC_OSCQUERY_H

#include <stddef.h>

#include "daemon/engine/control.h"

/** What HOST_INFO tells about this fxd. */
typedef struct {
	const char *name; ///< the JACK client name (HOST_INFO NAME)
	const char *osc_ip;
	int osc_port; ///< OSC_IP, OSC_PORT; OSC_TRANSPORT is "UDP"
	const char *ws_ip;
	int ws_port; ///< WS_IP, WS_PORT
	/** HOST_INFO "FXD_FEEDBACK_HZ": the page never sends faster. */
	double feedback_hz;
} FxOscQueryHost;

/** Answers GET @p path (already URL-decoded, "/" or "/fx/vol/db"; a
 *  trailing '/' other than the root's is tolerated) with query @p query
 *  (the text after '?': NULL or "" for none, "HOST_INFO", or an attribute
 *  name such as "VALUE", answered as {"VALUE": [...]}). Returns the HTTP
 *  status: 200 with *@p body a malloc'd NUL-terminated JSON text and
 *  *@p len its length; 204 (nothing to return: an attribute the node
 *  lacks, such as ?VALUE on a container), 400 (a bad query: not an
 *  attribute name, or ?HOST_INFO elsewhere than on "/"), 404 (unknown
 *  path) or 500 (out of memory); *@p body NULL then. Thread-safe: it
 *  reads the chain through @p control, which takes its own lock. */
int fx_oscquery_get(FxControl *control, const FxOscQueryHost *host,
                    const char *path, const char *query, char **body,
                    size_t *len);

#endif

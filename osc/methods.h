/* SPDX-License-Identifier: ISC */
/* fxd — the OSC namespace's dispatcher: the /fxd/ method table (one row a
 * method: address, arguments, handler, a line of doc; doc/osc.md is
 * checked against it), the /fx/ parameter addresses and aliases handed to
 * params, and what fxd refuses to answer (its own replies). Handlers take
 * the request context and answer through it. */
#ifndef FX_OSC_METHODS_H
#define FX_OSC_METHODS_H

#include <lo/lo.h>
#include <stddef.h>

#include "daemon/engine/control.h"
#include "daemon/engine/midi.h"
#include "osc/params.h"
#include "osc/subscribers.h"
#include "osc/transport.h"

enum {
	/** Over UDP, replies that grow with the user's data (/fxd/json,
	 *  /fxd/preset/list) come in parts of about this many bytes, which
	 *  one Ethernet frame carries. */
	FX_OSC_JSON_PART = 1024,
};

/** What the handlers work on. */
typedef struct {
	FxControl *control;
	FxOscParams *params;
	FxOscSubs *subs;
	FxMidi *midi; ///< NULL: MIDI is off
} FxOscNamespace;

/** One /fxd/ method: answers @p req (@p path is the method's own
 *  address, even when a pattern named it). */
typedef void (*FxOscHandler)(const FxOscNamespace *ns, FxOscRequest *req,
                             const char *path, const char *types, lo_arg **argv,
                             int argc);

typedef struct {
	const char *path; ///< "/fxd/ping"
	/** Its arguments, as doc/osc.md writes them: "" none, "N" a number
	 *  or boolean, "s" a string, "[...]" optional. */
	const char *args;
	FxOscHandler handler;
	const char *doc; ///< what it does, one line
} FxOscMethod;

/** The /fxd/ method table; *@p n gets its length. */
const FxOscMethod *fx_osc_methods(size_t *n);

/** Dispatches one message of a packet: an alias, an /fx/ address, or the
 *  /fxd/ methods @p path names (a pattern may name several); unknown
 *  addresses fail, fxd's own replies are ignored. */
void fx_osc_dispatch(const FxOscNamespace *ns, FxOscRequest *req,
                     const char *path, const char *types, lo_arg **argv,
                     int argc);

#endif

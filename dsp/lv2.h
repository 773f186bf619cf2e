/* SPDX-License-Identifier: ISC */
/* fxd — LV2 plugins as effect classes, hosted through lilv.
 *
 * A chain slot "label:lv2 uri=URI symbol=value ..." names a plugin. The
 * first time a URI is named, its class is built from the plugin's control
 * input ports (name = port symbol, range, default, units, scale) and kept
 * for the life of the process, so every spec that names the URI shares one
 * class and every path that reads parameter tables (spec parser, OSC,
 * OSCQuery, MIDI mapping, presets, the state file) works unchanged.
 *
 * The lilv world is loaded on first use (LV2_PATH is honoured) and guarded
 * by a lock; everything here runs off the realtime path. The effect's
 * realtime side (lv2_process.c) only writes control values and calls run.
 */
#ifndef FX_LV2_H
#define FX_LV2_H

#include <stddef.h>
#include <stdio.h>
#include "dsp/effect.h"

/** The effect name that introduces an LV2 slot in a chain spec. */
#define FX_LV2_EFFECT "lv2"

/** The class hosting the plugin @p uri, built on first use. NULL when it
 *  cannot be hosted; @p why then says why in one line (an unknown URI
 *  with the closest installed one, a required feature fxd lacks, a port
 *  fxd cannot connect, too many controls). Not realtime; thread-safe. */
const FxEffectClass *fx_lv2_class(const char *uri, char *why, size_t why_size);

/** Whether @p cls hosts an LV2 plugin. */
int fx_lv2_is_plugin(const FxEffectClass *cls);

/** Why a chain of @p channels channels cannot run @p cls, in one line
 *  naming the plugin's audio port counts; "" when it can. */
void fx_lv2_shape_text(const FxEffectClass *cls, int channels, char *buf,
                       size_t size);

/** The interned text of a state= word of @p len bytes for @p cls (base64
 *  of the Turtle lilv saves an LV2 plugin's state as, FxEffectClass.save).
 *  NULL when it is not one, or not @p cls's plugin's; @p why then says
 *  why in one line. Not realtime; thread-safe. */
const char *fx_lv2_state_intern(const FxEffectClass *cls, const char *word,
                                size_t len, char *why, size_t why_size);

/** Writes the installed plugins fxd can host (URI, name, audio ports,
 *  latency) and, after them, the others with the reason. Returns the
 *  number of hostable plugins. */
int fx_lv2_list(FILE *out);

/** Writes one plugin's parameter table as --list-effects does; returns
 *  FX_OK, or FX_ERR_UNKNOWN_EFFECT with the reason in @p why. */
FxStatus fx_lv2_describe(const char *uri, FILE *out, char *why, size_t why_size);

/** Frees the world and every class. Only at exit, when no chain, spec or
 *  thread refers to a class any more (it keeps leak checkers quiet). */
void fx_lv2_release(void);

#endif

/* SPDX-License-Identifier: ISC */
/* fxd — chain specifications: the text form shared by the command line,
 * config files and OSC, e.g.
 *   hpf:highpass cutoff=80 order=2 | lpf:lowpass cutoff=8000 | vol:gain db=3
 */
#ifndef FX_SPEC_H
#define FX_SPEC_H

#include <stddef.h>
#include "dsp/effect.h"

enum {
	FX_MAX_SLOTS = 32, ///< effects in one chain
	FX_LABEL_MAX = 32, ///< label bytes, terminator included
};

/** One effect in a chain description. */
typedef struct {
	char label[FX_LABEL_MAX]; ///< optional; "" when unset
	const FxEffectClass *cls;
	double values[FX_MAX_PARAMS]; ///< every parameter, defaults filled in
	int bypass;                   ///< 1 to start bypassed
	/** The effect's own saved state (FxEffectClass.save), written
	 *  state=TEXT; interned, so equal states are the same pointer.
	 *  NULL: none. */
	const char *saved;
} FxSlotSpec;

/** A whole chain description: a plain value, safe to copy. */
typedef struct {
	int n_slots;
	FxSlotSpec slots[FX_MAX_SLOTS];
} FxChainSpec;

/** Where and why a spec failed to parse. */
typedef struct {
	int line, column; ///< 1-based position of the offending text
	FxStatus status;
	char message[512]; ///< "SOURCE:LINE:COL: reason"
} FxSpecError;

/** Parses @p text into @p spec. @p source names the text in messages
 *  ("chain", a file name). Values outside a parameter's range are errors.
 *  On failure @p err (may be NULL) says where and why. */
FxStatus fx_spec_parse(const char *text, const char *source, FxChainSpec *spec,
                       FxSpecError *err);

/** Writes @p spec in canonical text form (every parameter, labels kept).
 *  Returns the length needed, like snprintf. */
size_t fx_spec_format(const FxChainSpec *spec, char *buf, size_t size);

/** fx_spec_format into a buffer of its own, however long the chain (32
 *  slots of 16 parameters outgrow any stack buffer). The caller frees it;
 *  NULL when out of memory. Not realtime. */
char *fx_spec_format_new(const FxChainSpec *spec);

/** Index of the slot labelled @p name, or given as a decimal index, or -1. */
int fx_spec_find_slot(const FxChainSpec *spec, const char *name);

#endif

/* SPDX-License-Identifier: ISC */
/* fxd — human-readable descriptions of the effect registry. */
#ifndef FX_DESCRIBE_H
#define FX_DESCRIBE_H

#include <stdio.h>
#include "dsp/effect.h"

/** Writes doc/effects.md: every effect, its parameter table and its
 *  read-only outputs. */
void fx_describe_markdown(FILE *out);

/** Writes the plain-text listing shown by --list-effects. */
void fx_describe_text(FILE *out);

/** Writes one class's parameters, then its read-only outputs, as
 *  --list-effects shows them. */
void fx_describe_params_text(const FxEffectClass *cls, FILE *out);

#endif

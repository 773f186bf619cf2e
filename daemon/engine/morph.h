/* SPDX-License-Identifier: ISC */
/* fxd — scene morphing: every continuous parameter of a chain between its
 * values in two presets of the same structure, in its own scale's domain
 * (log for FX_SCALE_LOG, linear otherwise: a dB parameter is already in
 * dB); enum and integer parameters and bypass switch at 0.5. Structural
 * parameters switch at 0.5 too, but only a swap can change them: they are
 * in fx_morph_spec, never in fx_morph_value (fx_morph_structural).
 *
 * Built off the realtime path; fx_morph_value and fx_morph_count only read
 * it, so the worker may call them for a morph pedal mapped over MIDI.
 */
#ifndef FX_MORPH_H
#define FX_MORPH_H

#include <stddef.h>

#include "dsp/spec.h"

typedef struct FxMorphImpl FxMorph;

/** A morph from @p a (position 0) to @p b (position 1). Refused with
 *  FX_ERR_STRUCTURAL and one line in @p err naming the first difference
 *  when the two differ in structure: slot count ("3 slots in A, 2 in B"),
 *  effect classes ("slot 2 (rev): reverb in A, delay in B") or labels
 *  ("slot 2: label \"rev\" in A, \"verb\" in B"). Structural parameters
 *  may differ (fx_morph_structural). FX_ERR_NOMEM when out of memory. Not
 *  realtime. */
FxMorph *fx_morph_new(const FxChainSpec *a, const FxChainSpec *b, FxStatus *st,
                      char *err, size_t err_size);

/** Frees @p m; NULL is a no-op. */
void fx_morph_free(FxMorph *m);

/** The parameters that differ between A and B and can glide (bypass
 *  included, as param FX_MAX_PARAMS of its slot); those that are equal
 *  and the structural ones are left out. The entries run by slot, each
 *  slot's in table order and its bypass last. Realtime. */
int fx_morph_count(const FxMorph *m);

/** 1 when a structural parameter differs between A and B: moving across
 *  0.5 then needs fx_morph_spec swapped in (a crossfade), 0 otherwise or
 *  for NULL. Realtime. */
int fx_morph_structural(const FxMorph *m);

/** Entry @p i (0 .. fx_morph_count - 1) at position @p x (clamped to
 *  0..1; NaN counts as 0): its slot, its param (FX_MAX_PARAMS: bypass)
 *  and its value, exactly A's at 0 and B's at 1. Realtime. */
void fx_morph_value(const FxMorph *m, int i, double x, int *slot, int *param,
                    double *value);

/** @p out becomes A with every differing parameter, structural ones
 *  included, set for position @p x. Realtime. */
void fx_morph_spec(const FxMorph *m, double x, FxChainSpec *out);

#endif

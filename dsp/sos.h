/* SPDX-License-Identifier: ISC */
/* fxd — streaming cascade of second-order sections.
 *
 * Samples are float32, planar, one buffer per channel. State persists across
 * calls, so processing a signal in chunks of any size gives exactly the
 * output of one call. Coefficients can change between calls without
 * touching the state.
 */
#ifndef FX_SOS_H
#define FX_SOS_H

#include <stddef.h>

#include "dsp/design.h"

typedef struct FxSosImpl FxSos;

/** A cascade for @p channels channels (1..64) with room for @p max_sections
 *  sections. Returns NULL and sets @p st on failure. */
FxSos *fx_sos_new(int channels, int max_sections, FxStatus *st);

/** Bytes fx_sos_new allocates for these arguments. */
size_t fx_sos_bytes(int channels, int max_sections);

/** Frees @p sos; NULL is a no-op. */
void fx_sos_free(FxSos *sos);

/** Sets @p n (<= max_sections) sections. State is kept; sections beyond the
 *  previous count start from zero state. Realtime safe. */
FxStatus fx_sos_set(FxSos *sos, const FxSection *sections, int n);

/** Zeroes the state. Realtime safe. */
void fx_sos_reset(FxSos *sos);

/** Filters @p frames frames from in[c] into out[c]; in place is allowed.
 *  Realtime safe. */
void fx_sos_process(FxSos *sos, const float *const *in, float *const *out,
                    int frames);

/** Reads the state of @p section on @p channel in the state-space TDF-II
 *  form (y = b0*x + z[0]), whatever precision the kernel keeps. */
void fx_sos_get_state(const FxSos *sos, int channel, int section, double z[2]);

/** Writes the state of @p section on @p channel (see fx_sos_get_state).
 *  Realtime safe. */
void fx_sos_set_state(FxSos *sos, int channel, int section, const double z[2]);

/** Number of sections now set. */
int fx_sos_sections(const FxSos *sos);

#endif

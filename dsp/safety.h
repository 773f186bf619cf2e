/* SPDX-License-Identifier: ISC */
/* fxd — output safety: a DC blocker and a soft ceiling after the chain, so
 * a finite blow-up never reaches the speakers at full scale. */
#ifndef FX_SAFETY_H
#define FX_SAFETY_H

#include "dsp/status.h"

typedef struct FxSafetyImpl FxSafety;

/** Safety for @p channels channels: a one-pole DC blocker at 5 Hz and a
 *  soft clip that is linear below 0.9 of the ceiling and never exceeds
 *  @p ceiling_db dBFS (< 0). */
FxSafety *fx_safety_new(int channels, double sample_rate, double ceiling_db,
                        FxStatus *st);

/** Frees @p s; NULL is a no-op. */
void fx_safety_free(FxSafety *s);

/** Clears the DC blocker; NULL (safety off) is a no-op. Realtime. */
void fx_safety_reset(FxSafety *s);

/** Saves the DC blocker's state, for fx_safety_rollback; NULL is a no-op.
 *  Realtime. */
void fx_safety_checkpoint(FxSafety *s);

/** Puts back the state of the last fx_safety_checkpoint (the engine
 *  renders an unplayed chunk again from it); NULL is a no-op. Realtime. */
void fx_safety_rollback(FxSafety *s);

/** Processes planar channels in place. Realtime. */
void fx_safety_process(FxSafety *s, float *const *buf, int frames);

/** The soft clip alone, for one sample (exposed for tests). */
float fx_safety_clip(const FxSafety *s, float x);

#endif

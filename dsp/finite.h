/* SPDX-License-Identifier: ISC */
/* fxd — the test behind the non-finite guard, shared by the chain and by
 * effects that guard themselves (dsp/lv2.h). */
#ifndef FX_FINITE_H
#define FX_FINITE_H

/** 1 if every sample of @p channels planar buffers is finite. Realtime. */
int fx_audio_is_finite(float *const *buf, int channels, int frames);

#endif

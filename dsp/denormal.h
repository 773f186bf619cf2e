/* SPDX-License-Identifier: ISC */
/* fxd — denormal control for DSP threads. */
#ifndef FX_DENORMAL_H
#define FX_DENORMAL_H

/** Sets flush-to-zero and denormals-are-zero on the calling thread, so a
 *  decaying filter tail never runs in slow subnormal arithmetic. Call once
 *  at the start of every thread that runs DSP. */
void fx_denormals_off(void);

/** 1 if the calling thread flushes denormals (both FTZ and DAZ on x86). */
int fx_denormals_are_off(void);

#endif

/* SPDX-License-Identifier: ISC */
/* Realtime: no allocation, locks or system calls. */
#include "dsp/finite.h"

#include <stdint.h>
#include <string.h>

/* A sample is NaN or infinite when its exponent bits are all ones. */
int fx_audio_is_finite(float *const *buf, int channels, int frames)
{
	uint32_t worst = 0;
	for (int ch = 0; ch < channels; ch++) {
		const float *x = buf[ch];
		for (int i = 0; i < frames; i++) {
			uint32_t bits;
			memcpy(&bits, &x[i], sizeof bits);
			bits &= 0x7fffffffu;
			worst = bits > worst ? bits : worst;
		}
	}
	return worst < 0x7f800000u;
}

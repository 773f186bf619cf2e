/* SPDX-License-Identifier: ISC */
#include "dsp/denormal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>

/* MXCSR bit 15 is flush-to-zero, bit 6 denormals-are-zero. */
enum { FTZ = 1u << 15, DAZ = 1u << 6 };

void fx_denormals_off(void)
{
	_mm_setcsr(_mm_getcsr() | FTZ | DAZ);
}

int fx_denormals_are_off(void)
{
	return (_mm_getcsr() & (FTZ | DAZ)) == (FTZ | DAZ);
}

#elif defined(__aarch64__)
#include <stdint.h>

/* FPCR bit 24 is flush-to-zero. */
void fx_denormals_off(void)
{
	uint64_t fpcr;
	__asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
	__asm__ volatile("msr fpcr, %0" : : "r"(fpcr | (1u << 24)));
}

int fx_denormals_are_off(void)
{
	uint64_t fpcr;
	__asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
	return (fpcr >> 24) & 1;
}

#else
void fx_denormals_off(void)
{
}

int fx_denormals_are_off(void)
{
	return 0;
}
#endif

/* SPDX-License-Identifier: ISC */
/* fxd — the two Butterworth filters that bench_ptime and bench_cuda both
 * measure: an order-10 lowpass at 1 kHz, 48 kHz (5 sections) and an
 * order-4 highpass at 20 Hz, 96 kHz (2 sections). Header only. */
#ifndef FX_BENCH_FILTERS_H
#define FX_BENCH_FILTERS_H

#include "dsp/design.h"
#include "dsp/status.h"

/** One benchmarked filter: its design and, once designed, its sections. */
typedef struct {
	const char *name;
	FxButterType type;
	int order;
	double f, fs;
	FxSection sec[FX_MAX_SECTIONS];
	int n;
} Filter;

static Filter filters[] = {
	{"lp10_1000_48000", FX_BUTTER_LOWPASS, 10, 1000, 48000, {{0}}, 0},
	{"hp4_20_96000", FX_BUTTER_HIGHPASS, 4, 20, 96000, {{0}}, 0},
};

/** Designs the sections of every filter; returns the first failure. */
static inline FxStatus bench_filters_design(void)
{
	for (size_t fi = 0; fi < sizeof filters / sizeof filters[0]; fi++) {
		Filter *f = &filters[fi];
		FxStatus st = fx_design_butter(f->type, f->order, f->f, 0,
		                               f->fs, f->sec, &f->n);
		if (st != FX_OK)
			return st;
	}
	return FX_OK;
}

#endif

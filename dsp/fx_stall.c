/* SPDX-License-Identifier: ISC */
/* stall: fault injection for tests. It passes audio through and, every
 * `every`-th block, sleeps `ms` milliseconds on the realtime path, which is
 * exactly what a real effect must never do. Registered only in builds
 * configured with --enable-fault-injection. */
#include "dsp/effect.h"

#include <time.h>

typedef struct {
	double ms;
	long every, blocks;
} Stall;

static const FxParamInfo params[] = {
	{"ms", "ms", 0, 1000, 0, FX_SCALE_LIN, 0, NULL, "sleep per stall"},
	{"every", "", 1, 100000, 100, FX_SCALE_LIN, FX_PARAM_INTEGER, NULL,
         "stall once per this many blocks"},
};

static FxStatus init(void *state, const FxEffectSetup *setup)
{
	Stall *s = state;
	s->ms = setup->values[0];
	s->every = (long)setup->values[1];
	return FX_OK;
}

static void reset(void *state)
{
	(void)state;
}

static void update(void *state, const double *values)
{
	Stall *s = state;
	s->ms = values[0];
	s->every = (long)values[1];
}

static void process(void *state, float *const *buf, int frames)
{
	Stall *s = state;
	if (s->ms > 0 && ++s->blocks % s->every == 0) {
		long ns = (long)(s->ms * 1e6);
		struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
		nanosleep(&ts, NULL);
	}
}

const FxEffectClass fx_effect_stall = {
	.no_rewind = 1, // XXX interim
	.name = "stall",
	.doc = "Fault injection: sleeps on the realtime path (test builds only).",
	.params = params,
	.n_params = sizeof params / sizeof params[0],
	.state_size = sizeof(Stall),
	.init = init,
	.reset = reset,
	.update = update,
	.process = process,
};

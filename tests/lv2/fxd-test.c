/* SPDX-License-Identifier: ISC */
/* LV2 plugins for fxd's tests only (fxd-test.ttl):
 * - urn:fxd:test:worker-gain: run() asks the worker for every new value of
 *   its gain control, and applies only what work_response hands back, so
 *   its output proves the round trip;
 * - urn:fxd:test:state-count: passes audio through and counts its run
 *   calls in a control output; the count is its LV2 state (not a port), so
 *   a count that goes on from a saved one proves save and restore. */
#include <lv2/atom/atom.h>
#include <lv2/core/lv2.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const float *gain;
	const float *in;
	float *out;
	LV2_Worker_Schedule *schedule;
	float asked;   ///< the last gain sent to the worker
	float applied; ///< the gain the worker answered
	int ended;     ///< end_run calls, to prove the host calls it
} Plugin;

static LV2_Handle instantiate(const LV2_Descriptor *d, double rate,
                              const char *path,
                              const LV2_Feature *const *features)
{
	(void)d, (void)rate, (void)path;
	Plugin *p = calloc(1, sizeof *p);
	for (int i = 0; p && features[i]; i++)
		if (!strcmp(features[i]->URI, LV2_WORKER__schedule))
			p->schedule = features[i]->data;
	if (p && !p->schedule) {
		free(p);
		return NULL;
	}
	if (p) {
		p->asked = -1.0f;
		p->applied = 1.0f;
	}
	return p;
}

static void connect_port(LV2_Handle h, uint32_t port, void *data)
{
	Plugin *p = h;
	if (port == 0)
		p->gain = data;
	else if (port == 1)
		p->in = data;
	else if (port == 2)
		p->out = data;
}

static void run(LV2_Handle h, uint32_t n)
{
	Plugin *p = h;
	if (*p->gain != p->asked &&
	    p->schedule->schedule_work(p->schedule->handle, sizeof(float),
	                               p->gain) == LV2_WORKER_SUCCESS)
		p->asked = *p->gain;
	for (uint32_t i = 0; i < n; i++)
		p->out[i] = p->in[i] * p->applied;
}

/* Off the audio thread: answers with the value it was sent. */
static LV2_Worker_Status work(LV2_Handle h, LV2_Worker_Respond_Function respond,
                              LV2_Worker_Respond_Handle rh, uint32_t size,
                              const void *data)
{
	(void)h;
	return size == sizeof(float) ? respond(rh, size, data)
	                             : LV2_WORKER_ERR_UNKNOWN;
}

static LV2_Worker_Status work_response(LV2_Handle h, uint32_t size,
                                       const void *body)
{
	Plugin *p = h;
	if (size == sizeof(float))
		memcpy(&p->applied, body, sizeof(float));
	return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Status end_run(LV2_Handle h)
{
	((Plugin *)h)->ended++;
	return LV2_WORKER_SUCCESS;
}

static const void *extension_data(const char *uri)
{
	static const LV2_Worker_Interface worker = {work, work_response, end_run};
	return !strcmp(uri, LV2_WORKER__interface) ? &worker : NULL;
}

static void cleanup(LV2_Handle h)
{
	free(h);
}

/* ---- urn:fxd:test:state-count ---- */

#define COUNT_RUNS "urn:fxd:test:state-count#runs"

typedef struct {
	const float *in;
	float *out, *runs_out;
	LV2_URID runs_key, atom_int;
	/* Save may run beside run (the state extension allows it): the
	 * count is atomic. */
	_Atomic int32_t runs;
} Counter;

static LV2_Handle counter_instantiate(const LV2_Descriptor *d, double rate,
                                      const char *path,
                                      const LV2_Feature *const *features)
{
	(void)d, (void)rate, (void)path;
	LV2_URID_Map *map = NULL;
	for (int i = 0; features[i]; i++)
		if (!strcmp(features[i]->URI, LV2_URID__map))
			map = features[i]->data;
	Counter *c = map ? calloc(1, sizeof *c) : NULL;
	if (c) {
		c->runs_key = map->map(map->handle, COUNT_RUNS);
		c->atom_int = map->map(map->handle, LV2_ATOM__Int);
	}
	return c;
}

static void counter_connect(LV2_Handle h, uint32_t port, void *data)
{
	Counter *c = h;
	if (port == 0)
		c->in = data;
	else if (port == 1)
		c->out = data;
	else if (port == 2)
		c->runs_out = data;
}

static void counter_run(LV2_Handle h, uint32_t n)
{
	Counter *c = h;
	int32_t runs =
		atomic_fetch_add_explicit(&c->runs, 1, memory_order_relaxed) + 1;
	*c->runs_out = (float)runs;
	memmove(c->out, c->in, n * sizeof *c->out);
}

static LV2_State_Status counter_save(LV2_Handle h, LV2_State_Store_Function store,
                                     LV2_State_Handle sh, uint32_t flags,
                                     const LV2_Feature *const *features)
{
	(void)flags, (void)features;
	Counter *c = h;
	int32_t runs = atomic_load_explicit(&c->runs, memory_order_relaxed);
	return store(sh, c->runs_key, &runs, sizeof runs, c->atom_int,
	             LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE);
}

static LV2_State_Status counter_restore(LV2_Handle h,
                                        LV2_State_Retrieve_Function retrieve,
                                        LV2_State_Handle sh, uint32_t flags,
                                        const LV2_Feature *const *features)
{
	(void)flags, (void)features;
	Counter *c = h;
	size_t size;
	uint32_t type, vflags;
	const void *v = retrieve(sh, c->runs_key, &size, &type, &vflags);
	if (!v || size != sizeof(int32_t) || type != c->atom_int)
		return LV2_STATE_ERR_NO_PROPERTY;
	int32_t runs;
	memcpy(&runs, v, sizeof runs);
	atomic_store_explicit(&c->runs, runs, memory_order_relaxed);
	return LV2_STATE_SUCCESS;
}

static const void *counter_extension_data(const char *uri)
{
	static const LV2_State_Interface state = {counter_save, counter_restore};
	return !strcmp(uri, LV2_STATE__interface) ? &state : NULL;
}

static const LV2_Descriptor counter = {"urn:fxd:test:state-count",
                                       counter_instantiate,
                                       counter_connect,
                                       NULL,
                                       counter_run,
                                       NULL,
                                       cleanup,
                                       counter_extension_data};

static const LV2_Descriptor descriptor = {"urn:fxd:test:worker-gain",
                                          instantiate,
                                          connect_port,
                                          NULL,
                                          run,
                                          NULL,
                                          cleanup,
                                          extension_data};

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index)
{
	return index == 0 ? &descriptor : index == 1 ? &counter : NULL;
}

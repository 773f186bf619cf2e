/* SPDX-License-Identifier: ISC */
/* An LV2 plugin for fxd's tests only (fxd-test.ttl): run() asks the
 * worker for every new value of its gain control, and applies only what
 * work_response hands back, so its output proves the round trip. */
#include <lv2/core/lv2.h>
#include <lv2/worker/worker.h>
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
	return index == 0 ? &descriptor : NULL;
}

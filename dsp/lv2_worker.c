/* SPDX-License-Identifier: ISC */
/* The LV2 worker extension (work:schedule, work:interface): one
 * non-realtime thread for the process runs every instance's work(), one
 * call at a time as LV2 asks. A plugin's run schedules work into its
 * instance's request ring and posts a semaphore; the thread drains the
 * rings, and what work() responds goes back through a response ring that
 * the slot hands to work_response before the next run (fx_lv2_process).
 * This file is the setup side and the thread; scheduling, delivery and
 * end_run are realtime, in lv2_process.c. */
#include <config.h>
#include "dsp/lv2_impl.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static Lv2Work *listed; ///< instances with a worker, guarded by list_lock
static pthread_t thread;
static int thread_started;
static sem_t wake;   ///< posted by schedule_work and by stop
static int stopping; ///< guarded by list_lock

void fx_lv2_work_wake(void)
{
	sem_post(&wake); /* a futex wake: no allocation, no blocking */
}

/* The worker thread, inside work(): queues a response. */
static LV2_Worker_Status respond(LV2_Worker_Respond_Handle h, uint32_t size,
                                 const void *data)
{
	Lv2Work *w = h;
	return size <= LV2_WORK_MAX &&
	                       fx_msgring_write(w->responses, 0, 0, data, size)
	               ? LV2_WORKER_SUCCESS
	               : LV2_WORKER_ERR_NO_SPACE;
}

static void drain(Lv2Work *w, uint8_t *buf)
{
	uint32_t tag, id;
	size_t len;
	while (fx_msgring_read(w->requests, &tag, &id, buf, LV2_WORK_MAX, &len))
		w->iface->work(lilv_instance_get_handle(w->inst), respond, w,
		               (uint32_t)len, buf);
}

static void *run_worker(void *arg)
{
	(void)arg;
	static uint8_t buf[LV2_WORK_MAX];
	for (;;) {
		while (sem_wait(&wake) != 0)
			;
		pthread_mutex_lock(&list_lock);
		if (stopping) {
			pthread_mutex_unlock(&list_lock);
			return NULL;
		}
		/* Detach waits for this lock, so no instance goes away while
		 * its work() runs. */
		for (Lv2Work *w = listed; w; w = w->next)
			drain(w, buf);
		pthread_mutex_unlock(&list_lock);
	}
}

const LV2_Feature *fx_lv2_work_feature(Lv2Work *w)
{
	w->schedule = (LV2_Worker_Schedule){w, fx_lv2_schedule_work};
	w->feature = (LV2_Feature){LV2_WORKER__schedule, &w->schedule};
	return &w->feature;
}

FxStatus fx_lv2_work_attach(Lv2Work *w, LilvInstance *inst)
{
	w->inst = inst;
	w->iface = lilv_instance_get_extension_data(inst, LV2_WORKER__interface);
	if (!w->iface || !w->iface->work)
		return FX_OK;         /* scheduling then fails with no space */
	if (!w->iface->work_response) /* a response would have nowhere to go */
		return FX_ERR_PLUGIN;
	w->requests = fx_msgring_new(LV2_WORK_RING);
	w->responses = fx_msgring_new(LV2_WORK_RING);
	if (!w->requests || !w->responses)
		return FX_ERR_NOMEM;
	pthread_mutex_lock(&list_lock);
	FxStatus st = FX_OK;
	if (!thread_started) {
		stopping = 0;
		if (sem_init(&wake, 0, 0) == 0 &&
		    pthread_create(&thread, NULL, run_worker, NULL) == 0)
			thread_started = 1;
		else
			st = FX_ERR_NOMEM;
	}
	if (st == FX_OK) {
		w->next = listed;
		listed = w;
		w->listed = 1;
	}
	pthread_mutex_unlock(&list_lock);
	return st;
}

void fx_lv2_work_detach(Lv2Work *w)
{
	pthread_mutex_lock(&list_lock);
	for (Lv2Work **p = &listed; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	w->listed = 0;
	pthread_mutex_unlock(&list_lock);
	fx_msgring_free(w->requests);
	fx_msgring_free(w->responses);
	w->requests = w->responses = NULL;
	w->iface = NULL;
}

void fx_lv2_work_stop(void)
{
	pthread_mutex_lock(&list_lock);
	int started = thread_started;
	stopping = 1;
	pthread_mutex_unlock(&list_lock);
	if (!started)
		return;
	sem_post(&wake);
	pthread_join(thread, NULL);
	sem_destroy(&wake);
	thread_started = 0;
}

/* SPDX-License-Identifier: ISC */
#include "daemon/engine/queue.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct FxQueueImpl {
	size_t size, mask;
	unsigned char *data;
	alignas(64) _Atomic size_t head; ///< written by the producer
	alignas(64) _Atomic size_t tail; ///< written by the consumer
};

FxQueue *fx_queue_new(size_t size, size_t capacity, FxStatus *st)
{
	if (size == 0 || capacity == 0 || capacity > (1u << 20)) {
		*st = FX_ERR_INVALID;
		return NULL;
	}
	size_t cap = 1;
	while (cap < capacity)
		cap <<= 1;
	FxQueue *q = aligned_alloc(64, (sizeof *q + 63) / 64 * 64);
	if (!q) {
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	memset(q, 0, sizeof *q);
	q->data = calloc(cap, size);
	if (!q->data) {
		free(q);
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	q->size = size;
	q->mask = cap - 1;
	*st = FX_OK;
	return q;
}

void fx_queue_free(FxQueue *q)
{
	if (!q)
		return;
	free(q->data);
	free(q);
}

int fx_queue_push(FxQueue *q, const void *msg)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	if (head - tail > q->mask)
		return 0;
	memcpy(q->data + (head & q->mask) * q->size, msg, q->size);
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	return 1;
}

int fx_queue_push_batch(FxQueue *q, const void *first, const void *rest,
                        size_t n_rest)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	if (n_rest + 1 > q->mask + 1 - (head - tail))
		return 0;
	memcpy(q->data + (head & q->mask) * q->size, first, q->size);
	const unsigned char *src = rest;
	for (size_t i = 0; i < n_rest; i++)
		memcpy(q->data + ((head + 1 + i) & q->mask) * q->size,
		       src + i * q->size, q->size);
	/* One release for all: the consumer sees none or every one. */
	atomic_store_explicit(&q->head, head + 1 + n_rest, memory_order_release);
	return 1;
}

void fx_queue_clear(FxQueue *q)
{
	atomic_store_explicit(
		&q->tail, atomic_load_explicit(&q->head, memory_order_acquire),
		memory_order_release);
}

int fx_queue_peek(const FxQueue *q, void *msg)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	if (head == tail)
		return 0;
	memcpy(msg, q->data + (tail & q->mask) * q->size, q->size);
	return 1;
}

int fx_queue_pop(FxQueue *q, void *msg)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	if (head == tail)
		return 0;
	memcpy(msg, q->data + (tail & q->mask) * q->size, q->size);
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	return 1;
}

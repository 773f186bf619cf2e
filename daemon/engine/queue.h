/* SPDX-License-Identifier: ISC */
/* fxd — a single-producer/single-consumer queue of fixed-size messages.
 *
 * Typed control messages (chain swaps, retired chains) travel between the
 * control thread and the worker here; audio travels through FxRing. Pushes
 * and pops copy one whole message or nothing, with one acquire load of the
 * other side's index and one release store of its own.
 */
#ifndef FX_QUEUE_H
#define FX_QUEUE_H

#include <stddef.h>
#include "dsp/status.h"

typedef struct FxQueueImpl FxQueue;

/** A queue of at least @p capacity messages of @p size bytes each. */
FxQueue *fx_queue_new(size_t size, size_t capacity, FxStatus *st);

/** Frees @p q; NULL is a no-op. */
void fx_queue_free(FxQueue *q);

/** Producer: copies one message in. Returns 1, or 0 if the queue is full. */
int fx_queue_push(FxQueue *q, const void *msg);

/** Producer: copies @p first and then the @p n_rest messages at @p rest
 *  in as one transaction: the consumer sees all of them or none. Returns
 *  1, or 0 (nothing written) if they do not all fit. */
int fx_queue_push_batch(FxQueue *q, const void *first, const void *rest,
                        size_t n_rest);

/** Consumer: drops every message waiting. */
void fx_queue_clear(FxQueue *q);

/** Consumer: copies the oldest message out without taking it. Returns 1,
 *  or 0 if empty. */
int fx_queue_peek(const FxQueue *q, void *msg);

/** Consumer: copies the oldest message out. Returns 1, or 0 if empty. */
int fx_queue_pop(FxQueue *q, void *msg);

#endif

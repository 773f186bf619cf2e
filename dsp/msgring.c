/* SPDX-License-Identifier: ISC */
/* The message ring: a byte ring whose records are a 12-byte header (tag,
 * id, length) and the bytes, copied in at most two pieces where they wrap.
 * The producer publishes its index after the whole record is in place, so
 * the consumer never sees half of one. */
#include "dsp/msgring.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { HEADER = 12 };

struct FxMsgRingImpl {
	uint8_t *buf;
	size_t size;               ///< a power of two
	_Atomic size_t head, tail; ///< bytes written, read (free running)
	_Atomic uint64_t refused;
};

FxMsgRing *fx_msgring_new(size_t min_bytes)
{
	FxMsgRing *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->size = 64;
	while (r->size < min_bytes)
		r->size *= 2;
	r->buf = calloc(1, r->size);
	if (!r->buf) {
		free(r);
		return NULL;
	}
	return r;
}

void fx_msgring_free(FxMsgRing *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

static void put(FxMsgRing *r, size_t at, const void *src, size_t n)
{
	size_t off = at & (r->size - 1), first = r->size - off;
	if (first > n)
		first = n;
	memcpy(r->buf + off, src, first);
	memcpy(r->buf, (const uint8_t *)src + first, n - first);
}

static void get(const FxMsgRing *r, size_t at, void *dst, size_t n)
{
	size_t off = at & (r->size - 1), first = r->size - off;
	if (first > n)
		first = n;
	memcpy(dst, r->buf + off, first);
	memcpy((uint8_t *)dst + first, r->buf, n - first);
}

int fx_msgring_write(FxMsgRing *r, uint32_t tag, uint32_t id, const void *data,
                     size_t len)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (len > UINT32_MAX || HEADER + len > r->size - (head - tail)) {
		atomic_fetch_add_explicit(&r->refused, 1, memory_order_relaxed);
		return 0;
	}
	uint32_t h[3] = {tag, id, (uint32_t)len};
	put(r, head, h, HEADER);
	if (len)
		put(r, head + HEADER, data, len);
	atomic_store_explicit(&r->head, head + HEADER + len,
	                      memory_order_release);
	return 1;
}

int fx_msgring_read(FxMsgRing *r, uint32_t *tag, uint32_t *id, void *buf,
                    size_t size, size_t *len)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	if (head == tail)
		return 0;
	uint32_t h[3];
	get(r, tail, h, HEADER);
	*tag = h[0];
	*id = h[1];
	*len = h[2];
	get(r, tail + HEADER, buf, h[2] < size ? h[2] : size);
	atomic_store_explicit(&r->tail, tail + HEADER + h[2],
	                      memory_order_release);
	return 1;
}

uint64_t fx_msgring_refused(const FxMsgRing *r)
{
	return atomic_load_explicit(&r->refused, memory_order_relaxed);
}

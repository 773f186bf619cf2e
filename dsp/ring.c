/* SPDX-License-Identifier: ISC */
#include "dsp/ring.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_LINE 64
#define MAX_CHANNELS 64
/* 2^28 frames is over 90 minutes at 48 kHz; anything larger is a bug. */
#define MAX_FRAMES ((size_t)1 << 28)
/* Planes start on cache lines: a stride of whole lines of floats. */
#define LINE_FLOATS (CACHE_LINE / sizeof(float))

/* The constant fields, the producer's index and the consumer's index each
 * get their own cache line, so neither side's stores invalidate the line
 * the other side reads on every call. */
struct FxRingImpl {
	alignas(CACHE_LINE) size_t capacity;
	size_t limit; ///< most frames held: capacity, or a record ring's room
	size_t mask;
	size_t stride; ///< floats between planes
	int channels;
	float *data;                            ///< [channels][stride]
	alignas(CACHE_LINE) atomic_size_t head; ///< written by the producer only
	alignas(CACHE_LINE) atomic_size_t tail; ///< written by the consumer only
};

FxRing *fx_ring_new(int channels, size_t min_frames, FxStatus *st)
{
	if (channels < 1 || channels > MAX_CHANNELS || min_frames < 1 ||
	    min_frames > MAX_FRAMES) {
		*st = FX_ERR_INVALID;
		return NULL;
	}
	size_t cap = 1;
	while (cap < min_frames)
		cap <<= 1;
	size_t stride = (cap + LINE_FLOATS - 1) / LINE_FLOATS * LINE_FLOATS;
	if (stride > SIZE_MAX / sizeof(float) / (size_t)channels) {
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	size_t bytes = stride * (size_t)channels * sizeof(float);

	/* sizeof is a multiple of the alignment, as aligned_alloc wants. */
	FxRing *r = aligned_alloc(CACHE_LINE, sizeof *r);
	if (!r) {
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	r->data = aligned_alloc(CACHE_LINE, bytes);
	if (!r->data) {
		free(r);
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	/* Touch every page now so the audio thread never faults one in. */
	memset(r->data, 0, bytes);
	r->capacity = cap;
	r->limit = cap;
	r->mask = cap - 1;
	r->stride = stride;
	r->channels = channels;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	*st = FX_OK;
	return r;
}

void fx_ring_free(FxRing *ring)
{
	if (!ring)
		return;
	free(ring->data);
	free(ring);
}

size_t fx_ring_capacity(const FxRing *ring)
{
	return ring->capacity;
}

int fx_ring_channels(const FxRing *ring)
{
	return ring->channels;
}

/* Consumer side: its own tail is stable; acquire on head makes the frames
 * counted here visible. Indices run free, so unsigned subtraction is the
 * fill level even after they wrap around SIZE_MAX. */
size_t fx_ring_available_read(const FxRing *ring)
{
	size_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
	return head - tail;
}

/* Producer side: acquire on tail so the consumer is done with the slots
 * counted as free before we overwrite them. */
size_t fx_ring_available_write(const FxRing *ring)
{
	size_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
	return ring->limit - (head - tail);
}

static float *plane(const FxRing *ring, int c)
{
	return ring->data + (size_t)c * ring->stride;
}

/* Length of the first of the (at most) two runs [pos, pos+n) splits into. */
static size_t first_run(const FxRing *ring, size_t pos, size_t n)
{
	size_t room = ring->capacity - pos;
	return n < room ? n : room;
}

/* Copies @p frames frames in at @p head; the caller has checked the room.
 * src NULL writes zeros. */
static void copy_in(FxRing *ring, const float *const *src, size_t head,
                    size_t frames)
{
	size_t pos = head & ring->mask;
	size_t n1 = first_run(ring, pos, frames);
	for (int c = 0; c < ring->channels; c++) {
		float *p = plane(ring, c);
		if (src) {
			memcpy(p + pos, src[c], n1 * sizeof(float));
			memcpy(p, src[c] + n1, (frames - n1) * sizeof(float));
		} else {
			memset(p + pos, 0, n1 * sizeof(float));
			memset(p, 0, (frames - n1) * sizeof(float));
		}
	}
}

/* Producer side of write and write_silence: src NULL writes zeros. */
static size_t put(FxRing *ring, const float *const *src, size_t frames)
{
	size_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
	if (frames == 0 || frames > ring->limit - (head - tail))
		return 0;
	copy_in(ring, src, head, frames);
	/* Release: the frames copied above are visible before the new head. */
	atomic_store_explicit(&ring->head, head + frames, memory_order_release);
	return frames;
}

size_t fx_ring_write(FxRing *ring, const float *const *src, size_t frames)
{
	return src ? put(ring, src, frames) : 0;
}

size_t fx_ring_write_silence(FxRing *ring, size_t frames)
{
	return put(ring, NULL, frames);
}

/* Copies @p frames frames at @p tail out; the caller has checked they are
 * there. */
static void copy_out(const FxRing *ring, float *const *dst, size_t tail,
                     size_t frames)
{
	size_t pos = tail & ring->mask;
	size_t n1 = first_run(ring, pos, frames);
	for (int c = 0; c < ring->channels; c++) {
		const float *p = plane(ring, c);
		memcpy(dst[c], p + pos, n1 * sizeof(float));
		if (frames > n1)
			memcpy(dst[c] + n1, p, (frames - n1) * sizeof(float));
	}
}

size_t fx_ring_read(FxRing *ring, float *const *dst, size_t frames)
{
	size_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	/* Acquire pairs with the producer's release of head: the frames are
	 * fully written before we copy them. */
	size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
	if (frames == 0 || frames > head - tail)
		return 0;
	copy_out(ring, dst, tail, frames);
	/* Release: our copies are done before the producer may reuse slots. */
	atomic_store_explicit(&ring->tail, tail + frames, memory_order_release);
	return frames;
}

size_t fx_ring_peek(const FxRing *ring, float *const *dst, size_t frames)
{
	size_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
	if (frames == 0 || frames > head - tail)
		return 0;
	copy_out(ring, dst, tail, frames);
	return frames;
}

size_t fx_ring_advance(FxRing *ring, size_t frames)
{
	size_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
	if (frames == 0 || frames > head - tail)
		return 0;
	/* Release orders any earlier peek's reads before the slots are freed. */
	atomic_store_explicit(&ring->tail, tail + frames, memory_order_release);
	return frames;
}

void fx_ring_prefetch(const FxRing *ring, size_t frames)
{
	size_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	if (frames > ring->capacity)
		frames = ring->capacity;
	/* One hint per cache line of 16 floats. */
	for (int c = 0; c < ring->channels; c++) {
		const float *p = plane(ring, c);
		for (size_t i = 0; i < frames; i += 16)
			__builtin_prefetch(p + ((tail + i) & ring->mask), 0, 3);
	}
}

void fx_ring_clear(FxRing *ring)
{
	/* Quiescent by contract: whatever starts the threads again (thread
	 * creation, a mutex, a join) orders these stores for them. */
	atomic_store_explicit(&ring->head, 0, memory_order_relaxed);
	atomic_store_explicit(&ring->tail, 0, memory_order_relaxed);
}

/* ---- records ------------------------------------------------------------
 * A record is one frame of room holding the header (its bits in channel
 * 0's slot), then the frames. One release store of head publishes both,
 * one of tail frees both: the header can never be seen without its frames
 * or outlive them. */

enum { HEADER_ROOM = 1 };

size_t fx_ring_record_room(size_t frames)
{
	return HEADER_ROOM + frames;
}

FxRing *fx_ring_new_records(int channels, size_t frames, size_t records,
                            FxStatus *st)
{
	if (frames < 1 || records < 1 || frames > MAX_FRAMES ||
	    records > MAX_FRAMES / fx_ring_record_room(frames)) {
		*st = FX_ERR_INVALID;
		return NULL;
	}
	size_t room = records * fx_ring_record_room(frames);
	FxRing *r = fx_ring_new(channels, room, st);
	if (r)
		r->limit = room;
	return r;
}

size_t fx_ring_write_record(FxRing *ring, uint32_t header,
                            const float *const *src, size_t frames)
{
	size_t room = fx_ring_record_room(frames);
	size_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
	if (!src || frames == 0 || room > ring->limit - (head - tail))
		return 0;
	memcpy(plane(ring, 0) + (head & ring->mask), &header, sizeof header);
	copy_in(ring, src, head + HEADER_ROOM, frames);
	/* Release: header and frames are visible before the new head. */
	atomic_store_explicit(&ring->head, head + room, memory_order_release);
	return frames;
}

/* Consumer side: 1 with the oldest record's position in *@p tail when a
 * whole record of @p frames is there. */
static int whole_record(const FxRing *ring, size_t frames, size_t *tail)
{
	*tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	/* Acquire pairs with the producer's release of head. */
	size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
	return frames > 0 && head - *tail >= fx_ring_record_room(frames);
}

static uint32_t header_at(const FxRing *ring, size_t tail)
{
	uint32_t header;
	memcpy(&header, plane(ring, 0) + (tail & ring->mask), sizeof header);
	return header;
}

int fx_ring_peek_header(const FxRing *ring, size_t frames, uint32_t *header)
{
	size_t tail;
	if (!whole_record(ring, frames, &tail))
		return 0;
	*header = header_at(ring, tail);
	return 1;
}

size_t fx_ring_read_record(FxRing *ring, uint32_t *header, float *const *dst,
                           size_t frames)
{
	size_t tail;
	if (!whole_record(ring, frames, &tail))
		return 0;
	*header = header_at(ring, tail);
	copy_out(ring, dst, tail + HEADER_ROOM, frames);
	/* Release: our copies are done before the producer may reuse slots. */
	atomic_store_explicit(&ring->tail, tail + fx_ring_record_room(frames),
	                      memory_order_release);
	return frames;
}

size_t fx_ring_drop_record(FxRing *ring, size_t frames)
{
	size_t tail;
	if (!whole_record(ring, frames, &tail))
		return 0;
	atomic_store_explicit(&ring->tail, tail + fx_ring_record_room(frames),
	                      memory_order_release);
	return frames;
}

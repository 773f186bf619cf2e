/* SPDX-License-Identifier: ISC */
/* fxd — multichannel float single-producer/single-consumer ring buffer.
 *
 * One producer thread and one consumer thread. Capacity is a power of two
 * frames. Indices are C11 atomics: each side loads the other's index with
 * acquire and publishes its own with one release store. A write or read
 * either moves all the frames asked for or none of them.
 */
#ifndef FX_RING_H
#define FX_RING_H

#include <stddef.h>
#include <stdint.h>
#include "dsp/status.h"

typedef struct FxRingImpl FxRing;

/** A ring of @p channels planar channels holding at least @p min_frames
 *  frames (rounded up to a power of two). Memory is touched at creation.
 *  Returns NULL and sets @p st on failure. */
FxRing *fx_ring_new(int channels, size_t min_frames, FxStatus *st);

/** Frees @p ring; NULL is a no-op. */
void fx_ring_free(FxRing *ring);

/** Capacity in frames (a power of two). */
size_t fx_ring_capacity(const FxRing *ring);

/** Number of channels. */
int fx_ring_channels(const FxRing *ring);

/** Frames the consumer may read now. */
size_t fx_ring_available_read(const FxRing *ring);

/** Frames the producer may write now (a record ring: room left within
 *  its records). */
size_t fx_ring_available_write(const FxRing *ring);

/** Producer: copies @p frames frames from each of @p src[channel] into the ring.
 *  Returns @p frames, or 0 if they do not fit (nothing is written). */
size_t fx_ring_write(FxRing *ring, const float *const *src, size_t frames);

/** Producer: writes @p frames frames of silence, all or nothing. */
size_t fx_ring_write_silence(FxRing *ring, size_t frames);

/** Consumer: copies @p frames frames into @p dst[channel] and consumes them.
 *  Returns @p frames, or 0 if fewer are available (nothing is read). */
size_t fx_ring_read(FxRing *ring, float *const *dst, size_t frames);

/** Consumer: like fx_ring_read but leaves the frames in the ring. */
size_t fx_ring_peek(const FxRing *ring, float *const *dst, size_t frames);

/** Consumer: drops @p frames frames. Returns @p frames, or 0 if fewer are
 *  available (nothing is dropped). */
size_t fx_ring_advance(FxRing *ring, size_t frames);

/** Consumer: asks the CPU to start fetching the next @p frames frames,
 *  which another core wrote, so that later reads overlap other work.
 *  Touches no index and copies nothing. */
void fx_ring_prefetch(const FxRing *ring, size_t frames);

/** Empties the ring. Only while neither side is running. */
void fx_ring_clear(FxRing *ring);

/* ---- records: a header and its frames in one write ----------------------
 * A record is a 32-bit header (a period number, say) followed by its
 * frames, written and read as one all-or-nothing transaction: a consumer
 * that sees a header sees its frames, and the other way round. A ring
 * carries either records or plain frames, never both. */

/** Frames of ring room one record of @p frames frames takes (the header
 *  takes one frame of room). */
size_t fx_ring_record_room(size_t frames);

/** A ring for records of @p frames frames that holds @p records of them
 *  and no more: a write past that many is refused even where the
 *  power-of-two capacity would have room, so the ring holds as many
 *  periods as asked. fx_ring_available_write counts up to that room. */
FxRing *fx_ring_new_records(int channels, size_t frames, size_t records,
                            FxStatus *st);

/** Producer: writes @p header and @p frames frames from each of
 *  @p src[channel] as one record. Returns @p frames, or 0 if the record
 *  does not fit (nothing is written). */
size_t fx_ring_write_record(FxRing *ring, uint32_t header,
                            const float *const *src, size_t frames);

/** Consumer: the header of the oldest record, when a whole record of
 *  @p frames frames is there. Returns 1, or 0 (nothing read). */
int fx_ring_peek_header(const FxRing *ring, size_t frames, uint32_t *header);

/** Consumer: reads the oldest record of @p frames frames: its header into
 *  *@p header, its frames into @p dst[channel]. Returns @p frames, or 0
 *  if no whole record is there (nothing is read). */
size_t fx_ring_read_record(FxRing *ring, uint32_t *header, float *const *dst,
                           size_t frames);

/** Consumer: drops the oldest record of @p frames frames. Returns
 *  @p frames, or 0 if no whole record is there (nothing is dropped). */
size_t fx_ring_drop_record(FxRing *ring, size_t frames);

#endif

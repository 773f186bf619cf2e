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

/** Frames the producer may write now. */
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

#endif

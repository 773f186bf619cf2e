/* SPDX-License-Identifier: ISC */
/* fxd — a single-producer/single-consumer ring of messages: each a tag, a
 * number (a connection, say) and up to a ring's worth of bytes, written
 * and read whole. Indices are C11 atomics (acquire/release), as in
 * dsp/ring.h; nothing blocks and nothing is allocated after creation. A
 * write that does not fit is refused and counted, never torn. Used
 * between the HTTP thread and the OSC thread, and between an LV2
 * plugin's run and fxd's LV2 worker thread (dsp/lv2_worker.c). */
#ifndef FX_MSGRING_H
#define FX_MSGRING_H

#include <stddef.h>
#include <stdint.h>

typedef struct FxMsgRingImpl FxMsgRing;

/** A ring of at least @p min_bytes bytes (headers included; rounded up to
 *  a power of two). NULL when out of memory. */
FxMsgRing *fx_msgring_new(size_t min_bytes);

/** Frees; NULL is a no-op. */
void fx_msgring_free(FxMsgRing *r);

/** Producer: one message of @p tag, @p id and @p len bytes of @p data.
 *  Returns 1, or 0 (counted, nothing written) when it does not fit. */
int fx_msgring_write(FxMsgRing *r, uint32_t tag, uint32_t id, const void *data,
                     size_t len);

/** Consumer: the oldest message into @p buf (@p size bytes). Returns 1
 *  with *@p tag, *@p id and *@p len set; 0 when the ring is empty. A
 *  message longer than @p size is consumed and its *@p len says how long
 *  it was (only @p size bytes are copied). */
int fx_msgring_read(FxMsgRing *r, uint32_t *tag, uint32_t *id, void *buf,
                    size_t size, size_t *len);

/** Messages refused because the ring was full. */
uint64_t fx_msgring_refused(const FxMsgRing *r);

#endif

/* SPDX-License-Identifier: ISC */
/* fxd — large zeroed buffers in a mapping of their own.
 *
 * glibc's malloc raises its mmap threshold to the size of the largest block
 * freed, so after a chain's delay lines are freed once, the next ones come
 * from the heap and stay in the process (locked by mlockall) after they are
 * freed. Buffers from here are mmap'd alone and munmap'd on free: a
 * replaced chain's memory goes back to the system at once.
 */
#ifndef FX_PAGES_H
#define FX_PAGES_H

#include <stddef.h>

/** @p bytes of zeroed memory, 64-byte aligned, in pages of their own.
 *  NULL when out of memory. Not realtime. */
void *fx_pages_new(size_t bytes);

/** Returns memory from fx_pages_new to the system; NULL is a no-op. Not
 *  realtime. */
void fx_pages_free(void *p);

/** Bytes asked of fx_pages_new and not freed yet, in the whole process. */
size_t fx_pages_in_use(void);

#endif

/* SPDX-License-Identifier: ISC */
/* Buffers in pages of their own (pages.h). */
#include "dsp/pages.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* The mapping's first cache line says how big it is. */
typedef struct {
	size_t bytes;    ///< asked for
	size_t map_size; ///< mapped
	char pad[64 - 2 * sizeof(size_t)];
} Header;

_Static_assert(sizeof(Header) == 64, "buffers stay 64-byte aligned");

static _Atomic size_t in_use;

void *fx_pages_new(size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (bytes > SIZE_MAX - sizeof(Header) - page)
		return NULL;
	size_t map_size = (sizeof(Header) + bytes + page - 1) / page * page;
	void *map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	Header *h = map;
	h->bytes = bytes;
	h->map_size = map_size;
	char *p = (char *)map + sizeof(Header);
	/* Under AddressSanitizer only the bytes asked for are usable. */
	POISON(map, sizeof(Header));
	POISON(p + bytes, map_size - sizeof(Header) - bytes);
	atomic_fetch_add_explicit(&in_use, bytes, memory_order_relaxed);
	return p;
}

void fx_pages_free(void *p)
{
	if (!p)
		return;
	Header *h = (Header *)((char *)p - sizeof(Header));
	UNPOISON(h, sizeof(Header));
	size_t bytes = h->bytes, map_size = h->map_size;
	UNPOISON(h, map_size);
	atomic_fetch_sub_explicit(&in_use, bytes, memory_order_relaxed);
	munmap(h, map_size);
}

size_t fx_pages_in_use(void)
{
	return atomic_load_explicit(&in_use, memory_order_relaxed);
}

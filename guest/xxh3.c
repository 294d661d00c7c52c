/*
 * XXH3 from the system's xxhash.h, inlined whole (XXH_INLINE_ALL) and
 * built freestanding: scalar code (the guest is built without SSE), and
 * the C library pieces the header refers to come from the runtime:
 * memcpy and memset from string.c, and malloc and free, which only the
 * header's streaming-state constructors call, from a small static pool
 * below that holds a few such states.
 */
#include <stdlib.h>
#include "runtime.h"
#include "xxh3.h"

#define XXH_INLINE_ALL
#define XXH_VECTOR 0                    /* XXH_SCALAR */
#include <xxhash.h>

/* Room for a streaming state plus the alignment slack XXH3 asks for. */
#define POOL_SLOT  (sizeof(XXH3_state_t) + 64)
#define POOL_SLOTS 4

static unsigned char pool[POOL_SLOTS][POOL_SLOT] __attribute__((aligned(64)));
static bool pool_used[POOL_SLOTS];

void *malloc(size_t size)
{
	if (size > POOL_SLOT)
		return NULL;
	for (unsigned i = 0; i < POOL_SLOTS; i++) {
		if (!pool_used[i]) {
			pool_used[i] = true;
			return pool[i];
		}
	}
	return NULL;
}

void free(void *p)
{
	for (unsigned i = 0; i < POOL_SLOTS; i++)
		if (p == pool[i])
			pool_used[i] = false;
}

uint64_t xxh3_64(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

/*
 * Copying guest pages from one frame to another for compaction, verified:
 * each 4 KiB page is copied through the direct map and the XXH3 of the copy
 * is compared with the source's, so a frame that does not hold what the
 * guest left in the old one is never mapped. Also the tests' hook that
 * corrupts copies on demand (guest_compact.h).
 */
#include <errno.h>
#include <xxhash.h>
#include <string.h>
#include "vmm/memory/guest_compact.h"
#include "vmm/memory/guest_mem_internal.h"

int guest_compact_corrupt_copies;

/* Takes one from the hook's count if it is armed. */
static bool gm_copy_corrupt_now(void)
{
	int n = __atomic_load_n(&guest_compact_corrupt_copies, __ATOMIC_RELAXED);

	while (n > 0)
		if (__atomic_compare_exchange_n(&guest_compact_corrupt_copies, &n, n - 1, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
	return false;
}

int gm_copy_pages_checked(uint8_t *dst, const uint8_t *src, uint64_t pages)
{
	memcpy(dst, src, pages << PAGE_SHIFT);
	if (gm_copy_corrupt_now())
		dst[(pages << PAGE_SHIFT) / 2] ^= 0x5a;
	/* Page by page, so a bad copy says nothing about a good neighbour's
	 * hash and the cost stays one pass over cached data per page. */
	for (uint64_t i = 0; i < pages; i++) {
		size_t off = (size_t)i << PAGE_SHIFT;
		if (XXH3_64bits(src + off, PAGE_SIZE) != XXH3_64bits(dst + off, PAGE_SIZE))
			return -EIO;
	}
	return 0;
}

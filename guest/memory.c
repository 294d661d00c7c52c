/*
 * Guest RAM as the image sees it: the identity map beyond the boot page
 * tables, and the ranges an image may use freely.
 *
 * Mapping above the boot map happens at CPL3 (native speed): each GiB of
 * RAM there gets a page directory from boot_pd_pool, filled before it is
 * linked, so only the single PDPT write is trapped by the shadow MMU.
 * A new entry where none was present needs no TLB flush on x86.
 */
#include "internal.h"

#define GIB (1ull << 30)

uint64_t memory_mapped_end(void)
{
	return (uint64_t)(BOOT_MAPPED_GIB + PD_POOL_PAGES) * GIB;
}

void memory_map_high(void)
{
	for (unsigned r = 0; r < boot.nram; r++) {
		uint64_t end = boot.ram[r].end < memory_mapped_end() ? boot.ram[r].end : memory_mapped_end();
		uint64_t gib = boot.ram[r].start / GIB;
		if (gib < BOOT_MAPPED_GIB)
			gib = BOOT_MAPPED_GIB;
		for (; gib * GIB < end; gib++) {
			if (boot_pdpt[gib])
				continue;
			uint64_t *pd = boot_pd_pool[gib - BOOT_MAPPED_GIB];
			for (uint64_t i = 0; i < 512; i++)
				pd[i] = gib * GIB + i * PAGE_2M + PTE_LARGE;
			__asm__ volatile("" ::: "memory");      /* the directory first, then the link */
			boot_pdpt[gib] = (uintptr_t)pd + PTE_TABLE;
		}
	}
}

/* Reserved ranges in address order: the image (and everything below it,
 * where the VMM keeps its boot structures), then the recorded ones. */
static unsigned sorted_reserved(struct mem_range *out)
{
	unsigned n = 0;
	out[n++] = (struct mem_range){ 0, (uintptr_t)image_end };
	for (unsigned i = 0; i < boot.nreserved; i++) {
		unsigned j = n++;
		for (; j && out[j - 1].start > boot.reserved[i].start; j--)
			out[j] = out[j - 1];
		out[j] = boot.reserved[i];
	}
	return n;
}

static unsigned emit(struct mem_range *out, unsigned n, unsigned max, uint64_t start, uint64_t end)
{
	start = (start + 4095) & ~4095ull;
	end &= ~4095ull;
	if (start < end && n < max)
		out[n++] = (struct mem_range){ start, end };
	return n;
}

unsigned memory_usable(struct mem_range *out, unsigned max)
{
	struct mem_range res[BOOT_MAX_RESERVED + 1];
	unsigned nres = sorted_reserved(res), n = 0;
	for (unsigned r = 0; r < boot.nram; r++) {
		uint64_t cur = boot.ram[r].start;
		uint64_t end = boot.ram[r].end < memory_mapped_end() ? boot.ram[r].end : memory_mapped_end();
		for (unsigned i = 0; i < nres && cur < end; i++) {
			if (res[i].end <= cur || res[i].start >= end)
				continue;
			if (res[i].start > cur)
				n = emit(out, n, max, cur, res[i].start);
			if (res[i].end > cur)
				cur = res[i].end;
		}
		if (cur < end)
			n = emit(out, n, max, cur, end);
	}
	return n;
}

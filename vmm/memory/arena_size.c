/*
 * Sizing the arena. When zone Huge can hold the whole guest, zone Normal
 * holds only the VMM's metadata: its frame map is written at every
 * max-order block head when the zone starts, so an unused guest-sized
 * Normal would still cost a quarter of its descriptors in RSS. Otherwise
 * zone Normal is made large enough for the whole guest plus the metadata,
 * so the scattered fallback always has room. Nothing here touches guest RAM.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "mm/mm.h"
#include "mm/hugetlb.h"
#include "mm/thp_file.h"
#include "vmm/memory/arena_size.h"

/* Slab caches, kmalloc, p2m tables (one 4 KiB table per 2 MiB of 4 KiB
 * leaves) and the CPUID tables: a fixed part and a share of the RAM; plus
 * what the configuration reserves for others (the monitor's most). Room never
 * used costs nothing but the descriptors of its free blocks. */
#define META_FIXED (8ULL << 20)
#define META_SHARE 256
/*
 * Zone Normal is a whole number of 4 MiB max-order blocks. Zone Huge's HFNs
 * start where Normal's end, and a 2 MiB p2m leaf needs a 2 MiB-aligned HFN:
 * an unaligned Normal would leave zone Huge with 4 KiB leaves only.
 */
#define NORMAL_ALIGN (4ULL << 20)
/*
 * Zone Huge gets one spare 4 MiB block beyond the guest when the pool has
 * room: moving a guest page in zone Huge (guest_mem_remap_page) needs a free
 * 2 MiB page to move it to.
 */
#define HUGE_SPARE (4ULL << 20)
static uint64_t huge_zone_bytes(const struct vm_config *cfg)
{
	uint64_t ram = cfg->mem_bytes;

	if (cfg->hugepages == MM_HUGE_OFF)
		return 0;
	uint64_t with_spare = ((ram + NORMAL_ALIGN - 1) & ~(NORMAL_ALIGN - 1)) + HUGE_SPARE;
	return mm_hugetlb_available_bytes() >= with_spare ? with_spare : ram;
}

static uint64_t normal_zone_bytes(const struct vm_config *cfg, uint64_t guest_bytes)
{
	uint64_t meta = META_FIXED + cfg->mem_bytes / META_SHARE +
			cfg->metadata_reserve_bytes;

	return (guest_bytes + meta + NORMAL_ALIGN - 1) & ~(NORMAL_ALIGN - 1);
}

int arena_size_create(const struct vm_config *cfg, struct mm_arena **out, char *err,
		      size_t errlen)
{
	uint64_t ram = cfg->mem_bytes;
	struct mm_arena_config ac = {
		.normal_bytes = normal_zone_bytes(cfg, ram),
		.huge_bytes = huge_zone_bytes(cfg),
		/* AUTO even for "on": the arena then says why zone Huge is
		 * missing, and the message below quotes it. */
		.huge = cfg->hugepages == MM_HUGE_OFF ? MM_HUGE_OFF : MM_HUGE_AUTO,
		.normal_backing = cfg->normal_backing,
		.slab_policy = cfg->slab_policy,
	};
	struct mm_arena *a;

	if (ac.normal_bytes < ram) {
		snprintf(err, errlen, "--mem: %llu bytes is too large", (unsigned long long)ram);
		return -E2BIG;
	}
	if (ac.huge_bytes > ram) {
		/* The pool has room for the guest and a spare block. */
		ac.normal_bytes = normal_zone_bytes(cfg, 0);
		if (mm_create(&ac, &a) == 0) {
			if (mm_zone_get(a, ZONE_HUGE)) {
				*out = a;
				return 0;
			}
			/* Someone took the pool meanwhile: size Normal for
			 * the guest after all. */
			mm_destroy(a);
		}
		ac.normal_bytes = normal_zone_bytes(cfg, ram);
	}
	int rc = mm_create(&ac, &a);
	if (rc == -EPERM && cfg->normal_backing == MM_NORMAL_THP) {
		char why[128] = "";
		int fd = mm_thp_file_open(why, sizeof(why));   /* again, for the reason */
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "--normal-backing thp: no transparent huge pages for zone Normal "
			 "(a private tmpfs mount: %s)", fd >= 0 ? "it worked on a second try" : why);
		return rc;
	}
	if (rc) {
		snprintf(err, errlen, "memory arena of %llu MiB: %s",
			 (unsigned long long)(ac.normal_bytes >> 20), strerror(-rc));
		return rc;
	}
	if (cfg->hugepages == MM_HUGE_ON && !mm_zone_get(a, ZONE_HUGE)) {
		const char *why = a->huge_status;
		if (!strncmp(why, "zone Huge: off (", 16))
			why += 16;
		snprintf(err, errlen, "--hugepages on: no zone Huge for %llu MiB: %.*s (raise "
			 "vm.nr_hugepages)", (unsigned long long)(ram >> 20),
			 (int)strcspn(why, ")"), why);
		mm_destroy(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

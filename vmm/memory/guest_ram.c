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
#include "vmm/memory/guest_ram.h"
#include "vmm/monitor/monitor.h"

/* Slab caches, kmalloc, p2m tables (one 4 KiB table per 2 MiB of 4 KiB
 * leaves) and the CPUID tables: a fixed part and a share of the RAM; plus
 * the monitor's most (MONITOR_MEMORY_MAX) when there is one. Room never
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
#define HUGE_POOL "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static long pool_read(const char *name)
{
	char path[128];
	long v = -1;

	snprintf(path, sizeof(path), HUGE_POOL "%s", name);
	FILE *f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Bytes of 2 MiB pages nobody has reserved; 0 if the pool cannot be read. */
static uint64_t pool_available(void)
{
	long free_pages = pool_read("free_hugepages"), resv = pool_read("resv_hugepages");

	return free_pages > resv && resv >= 0 ? (uint64_t)(free_pages - resv) << 21 : 0;
}

static uint64_t huge_zone_bytes(const struct vm_config *cfg)
{
	uint64_t ram = cfg->mem_bytes;

	if (cfg->hugepages == MM_HUGE_OFF)
		return 0;
	uint64_t with_spare = ((ram + NORMAL_ALIGN - 1) & ~(NORMAL_ALIGN - 1)) + HUGE_SPARE;
	return pool_available() >= with_spare ? with_spare : ram;
}

static uint64_t normal_zone_bytes(const struct vm_config *cfg, uint64_t guest_bytes)
{
	uint64_t meta = META_FIXED + cfg->mem_bytes / META_SHARE +
			(cfg->monitor ? MONITOR_MEMORY_MAX : 0);

	return (guest_bytes + meta + NORMAL_ALIGN - 1) & ~(NORMAL_ALIGN - 1);
}

int guest_ram_arena(const struct vm_config *cfg, struct mm_arena **out, char *err, size_t errlen)
{
	uint64_t ram = cfg->mem_bytes;
	struct mm_arena_config ac = {
		.normal_bytes = normal_zone_bytes(cfg, ram),
		.huge_bytes = huge_zone_bytes(cfg),
		/* AUTO even for "on": the arena then says why zone Huge is
		 * missing, and the message below quotes it. */
		.huge = cfg->hugepages == MM_HUGE_OFF ? MM_HUGE_OFF : MM_HUGE_AUTO,
	};
	struct mm_arena *a;

	if (ac.normal_bytes < ram) {
		snprintf(err, errlen, "--mem: %llu bytes is too large", (unsigned long long)ram);
		return -E2BIG;
	}
	if (ac.huge_bytes > ram) {
		/* The pool has room for the guest and a spare block. */
		ac.normal_bytes = normal_zone_bytes(cfg, 0);
		if (mm_arena_create(&ac, &a) == 0) {
			if (mm_zone_get(a, ZONE_HUGE)) {
				*out = a;
				return 0;
			}
			/* Someone took the pool meanwhile: size Normal for
			 * the guest after all. */
			mm_arena_destroy(a);
		}
		ac.normal_bytes = normal_zone_bytes(cfg, ram);
	}
	int rc = mm_arena_create(&ac, &a);
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
		mm_arena_destroy(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

static void *guest_ram_hva(void *ctx, uint64_t gpa, uint64_t len)
{
	return len ? guest_mem_hva(ctx, gpa, len) : NULL;
}

void guest_ram_boot_mem(struct guest_mem *gm, struct boot_mem *mem)
{
	*mem = (struct boot_mem){ .hva = guest_ram_hva, .ctx = gm };
	unsigned n = guest_mem_nr_regions(gm);
	for (unsigned i = 0; i < n && mem->nr_ram < BOOT_MAX_RAM; i++) {
		struct guest_mem_region r;
		if (guest_mem_region(gm, i, &r) == 0)
			mem->ram[mem->nr_ram++] = (struct boot_ram_range){ r.gpa, r.size };
	}
}

static const char *const zone_names[MM_NR_ZONES] = { "Normal", "Huge" };

void guest_ram_describe(struct guest_mem *gm, char *buf, size_t len)
{
	unsigned n = guest_mem_nr_regions(gm);
	size_t off = (size_t)snprintf(buf, len, "RAM %llu MiB",
				      (unsigned long long)(guest_mem_ram_bytes(gm) >> 20));

	for (unsigned i = 0; i < n && off < len; i++) {
		struct guest_mem_region r;
		if (guest_mem_region(gm, i, &r))
			continue;
		bool both = r.zone_bytes[ZONE_NORMAL] && r.zone_bytes[ZONE_HUGE];
		char size[32] = "";
		if (n > 1)      /* the regions around the 32-bit hole, each sized */
			snprintf(size, sizeof(size), "%llu MiB ", (unsigned long long)(r.size >> 20));
		off += (size_t)snprintf(buf + off, len - off, "%s%s%s in zone%s %s",
					i ? "; " : n > 1 ? ": " : " ", size,
					r.contiguous ? "contiguous" : "scattered", both ? "s" : "",
					both ? "Normal and Huge" : zone_names[r.zone]);
	}
}

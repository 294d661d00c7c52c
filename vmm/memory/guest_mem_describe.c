/*
 * Guest memory in one line for the exit summary: its size, and per region
 * whether it is contiguous or scattered, which zones back it and on what
 * host pages (thp, 4k, hugetlb).
 */
#include <stdbool.h>
#include <stdio.h>
#include "vmm/memory/guest_mem.h"

void guest_mem_describe(struct guest_mem *gm, char *buf, size_t len)
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
		off += (size_t)snprintf(buf + off, len - off, "%s%s%s in zone%s %s (%s)",
					i ? "; " : n > 1 ? ": " : " ", size,
					r.contiguous ? "contiguous" : "scattered", both ? "s" : "",
					both ? "Normal and Huge" : mm_zone_name(r.zone),
					both ? "thp or 4k, and hugetlb" : r.backing);
	}
}

/*
 * The checks of gm_check.h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include "gm_check.h"

/* Host mappings over [p, p + len), as the kernel counts them. */
static uint64_t maps_in(const void *p, uint64_t len)
{
	uintptr_t lo_r = (uintptr_t)p, hi_r = lo_r + len;
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t n = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo < hi_r && hi > lo_r)
			n++;
	}
	fclose(f);
	return n;
}

void gm_check_maps(struct guest_mem *gm)
{
	for (unsigned i = 0; i < guest_mem_nr_regions(gm); i++) {
		struct guest_mem_region r;
		cr_assert_eq(guest_mem_region(gm, i, &r), 0);
		uint64_t kernel = maps_in(r.hva, r.size);
		cr_assert_eq(kernel, r.nr_mappings,
			     "region %u: the kernel sees %lu mappings, guest memory counts %lu", i,
			     (unsigned long)kernel, (unsigned long)r.nr_mappings);
	}
}

/*
 * Checks on guest memory shared by the guest_mem and balloon_mem tests:
 * the host mappings the kernel sees against guest memory's own count (I4),
 * and the tag every test writes into a page to find it again.
 */
#ifndef TESTS_VMM_GM_CHECK_H
#define TESTS_VMM_GM_CHECK_H

#include <stdint.h>
#include "vmm/memory/guest_mem.h"

/* Every region's count of host mappings equals what /proc/self/maps shows
 * over its view. */
void gm_check_maps(struct guest_mem *gm);
/* The value written into gfn's page to recognise it. */
static inline uint64_t gm_tag(uint64_t gfn)
{
	return 0x9e3779b97f4a7c15ULL ^ (gfn * 0x100000001b3ULL);
}

#endif

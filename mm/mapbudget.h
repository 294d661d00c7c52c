/*
 * The process's budget of host mappings (invariant I4): vm.max_map_count
 * caps how many mappings a process may have, and both the vmap area and the
 * guest views spend them. Each account gets a fixed share, so neither can
 * starve the other, and a reserve stays for libraries, stacks and the
 * arena's own mappings. Charging before mapping turns "the kernel refused a
 * MAP_FIXED halfway" into a clean -ENOSPC.
 */
#ifndef MM_MAPBUDGET_H
#define MM_MAPBUDGET_H

#include <stdint.h>

enum mm_maps_account {
	MM_MAPS_VMAP = 0,   /* kvmalloc's stitched ranges: half of the limit */
	MM_MAPS_GUEST,      /* guest views: the other half, less the reserve */
	MM_MAPS_NR_ACCOUNTS,
};

/* 0, or -ENOSPC (nothing charged) when n more would pass the share. */
int mm_maps_charge(enum mm_maps_account acct, uint64_t n);
void mm_maps_uncharge(enum mm_maps_account acct, uint64_t n);
uint64_t mm_maps_charged(enum mm_maps_account acct);
uint64_t mm_maps_share(enum mm_maps_account acct);

#endif

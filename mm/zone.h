/*
 * Internal to the arena: setting up and tearing down one zone (zone.c), for
 * arena.c.
 */
#ifndef MM_ZONE_H
#define MM_ZONE_H

#include "arena.h"

/* Zone id of a: a file of bytes (zone Normal's as backing says, its
 * outcome in a->normal_status) (a multiple of the zone's page size), its
 * direct map, descriptors and buddy zone, HFNs from base_hfn. 0 or -errno;
 * on failure the zone stays not present. */
int mm_zone_setup(struct mm_arena *a, enum mm_zone_id id, size_t bytes, uint64_t base_hfn,
		  enum mm_normal_backing backing);
/* Undoes mm_zone_setup; nothing if the zone is not present. */
void mm_zone_teardown(struct mm_zone *z);

#endif

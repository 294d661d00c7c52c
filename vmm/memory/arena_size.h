/*
 * The arena for a VM, sized for its guest: zone Huge for the guest's RAM
 * when the host's hugetlb pool has room, zone Normal for the VMM's metadata
 * and the fallback.
 */
#ifndef VMM_MEMORY_ARENA_SIZE_H
#define VMM_MEMORY_ARENA_SIZE_H

#include <stddef.h>
#include "mm/arena.h"
#include "vmm/config/config.h"

/*
 * Creates the arena for cfg (0 or -errno with err "<what>: <why>"). With
 * --hugepages on, a pool too small for the guest is an error here.
 */
int arena_size_create(const struct vm_config *cfg, struct mm_arena **out, char *err,
		      size_t errlen);

#endif

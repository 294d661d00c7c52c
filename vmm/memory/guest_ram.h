/*
 * Guest RAM for a VM: the arena sized for the guest (zone Huge for its RAM
 * when the host's pool has room, zone Normal for the VMM's metadata and the
 * fallback), the guest memory built from it, and the struct boot_mem view
 * the loaders write through.
 */
#ifndef VMM_GUEST_RAM_H
#define VMM_GUEST_RAM_H

#include <stddef.h>
#include "vmm/config/config.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/boot/loader.h"

/*
 * Creates the arena for cfg (0 or -errno with err "<what>: <why>"). With
 * --hugepages on, a pool too small for the guest is an error here.
 */
int guest_ram_arena(const struct vm_config *cfg, struct mm_arena **out, char *err, size_t errlen);

/* Fills mem with gm's regions and an hva callback over guest_mem_hva. */
void guest_ram_boot_mem(struct guest_mem *gm, struct boot_mem *mem);

/* One line: "RAM 256 MiB contiguous in zone Huge" (or per region). */
void guest_ram_describe(struct guest_mem *gm, char *buf, size_t len);

#endif

/*
 * The PVH boot ABI's structures (Xen's hvm_start_info, version 1), as the
 * guest finds them at ABI_START_INFO_GPA with rbx pointing there.
 */
#ifndef VMM_PVH_H
#define VMM_PVH_H

#include <stdint.h>

#define PVH_START_MAGIC 0x336ec578u
#define PVH_START_VERSION 1u
/* The module list sits right after the start info, in the same page. */
#define PVH_MODLIST_OFFSET 64u

struct pvh_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pvh_module {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct pvh_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct pvh_memmap_entry) == 24, "hvm_memmap_table_entry layout");

struct boot_ctx;
/*
 * Writes the start info, the memory map and (with ctx->initrd, already placed
 * at initrd_gpa) a one-module list. The command line must be written already.
 */
int pvh_write_start_info(struct boot_ctx *ctx, uint64_t initrd_gpa);

#endif

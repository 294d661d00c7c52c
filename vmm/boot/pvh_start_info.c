/*
 * The PVH start info (include/abi/pvh.h) in guest memory: version 1 with
 * the command line, the memory map and the initrd as module 0. PVH guests
 * and memvisor's ELF64 entry both get it.
 */
#include <errno.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/loader.h"
#include "vmm/boot/pvh.h"

int pvh_write_start_info(struct boot_ctx *ctx, uint64_t initrd_gpa)
{
	struct boot_memmap_entry map[BOOT_MEMMAP_MAX];
	unsigned n = boot_memmap(ctx->mem, map, BOOT_MEMMAP_MAX);
	struct pvh_start_info *si = boot_hva(ctx, ABI_START_INFO_GPA, 4096, "the PVH start info");
	struct pvh_memmap_entry *mm = boot_hva(ctx, ABI_MEMMAP_GPA, n * sizeof(*mm), "the PVH memmap");

	if (!si || !mm)
		return -ENOEXEC;
	memset(si, 0, 4096);
	for (unsigned i = 0; i < n; i++)
		mm[i] = (struct pvh_memmap_entry){ map[i].addr, map[i].size, map[i].type, 0 };
	*si = (struct pvh_start_info){
		.magic = PVH_START_MAGIC,
		.version = PVH_START_VERSION,
		.cmdline_paddr = ABI_CMDLINE_GPA,
		.memmap_paddr = ABI_MEMMAP_GPA,
		.memmap_entries = n,
	};
	if (ctx->initrd) {
		struct pvh_module *mod = (void *)((uint8_t *)si + PVH_MODLIST_OFFSET);
		*mod = (struct pvh_module){ .paddr = initrd_gpa, .size = ctx->initrd->size };
		si->nr_modules = 1;
		si->modlist_paddr = ABI_START_INFO_GPA + PVH_MODLIST_OFFSET;
	}
	return 0;
}

/*
 * PVH ELF, the default guest format: PT_LOAD segments at their physical
 * addresses, hvm_start_info v1 with the command line, the memory map and the
 * initrd as module 0, and a 32-bit protected-mode entry with paging off and
 * ebx = start info, as QEMU and Firecracker enter PVH kernels.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/arch/x86/boot_layout.h"
#include "vmm/boot/elf.h"
#include "vmm/boot/loader.h"
#include "vmm/boot/pvh.h"

#define PVH_AREAS (BOOT_AREA_GDT | BOOT_AREA_START_INFO | BOOT_AREA_MEMMAP | BOOT_AREA_STACK | \
		   BOOT_AREA_CMDLINE)

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

int loader_pvh(const struct image *img, const struct elf_file *elf, uint32_t entry,
	       struct boot_ctx *ctx, struct boot_entry *out)
{
	if (elf->machine != EM_386 && elf->machine != EM_X86_64)
		return boot_fail(ctx, -ENOEXEC, "PVH ELF for machine %u, not x86", elf->machine);
	*out = (struct boot_entry){ .mode = BOOT_PROT32, .format = "PVH ELF" };
	int rc = loader_load_segments(img, elf, PVH_AREAS, ctx, &out->kernel_start, &out->kernel_end);
	if (rc)
		return rc;
	if (!boot_hva(ctx, entry, 1, "the PVH entry point"))
		return -ENOEXEC;
	rc = loader_boot_info(ctx, out);
	if (rc)
		return rc;
	out->rip = entry;
	out->rbx = ABI_START_INFO_GPA;
	out->rsp = BOOT_STACK_TOP;
	return 0;
}

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
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/elf.h"
#include "vmm/boot/loader.h"
#include "vmm/boot/pvh.h"

#define PVH_AREAS (BOOT_AREA_GDT | BOOT_AREA_START_INFO | BOOT_AREA_MEMMAP | BOOT_AREA_STACK | \
		   BOOT_AREA_CMDLINE | BOOT_AREA_MPTABLE)

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

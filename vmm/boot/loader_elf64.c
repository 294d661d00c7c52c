/*
 * ELF64 x86-64 images without a PVH note: segments at their physical
 * addresses, the same start info as PVH, and a 64-bit long-mode entry at CPL0
 * through identity page tables (2 MiB pages) with rsi = start info, the way
 * Firecracker enters an uncompressed kernel.
 */
#include <elf.h>
#include <errno.h>
#include "abi/memvisor.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/elf.h"
#include "vmm/boot/loader.h"
#include "vmm/boot/boot_tables.h"

/*
 * e_entry is a virtual address. The entry runs on the identity map, so it is
 * translated through the segment that holds it (vmlinux-style images link at
 * a high virtual address and load at a low physical one).
 */
static int elf64_entry_gpa(const struct elf_file *elf, struct boot_ctx *ctx, uint64_t *gpa)
{
	for (unsigned i = 0; i < elf->phnum; i++) {
		const struct elf_phdr *ph = &elf->ph[i];
		if (ph->type != PT_LOAD)
			continue;
		if (elf->entry >= ph->vaddr && elf->entry - ph->vaddr < ph->memsz) {
			*gpa = ph->paddr + (elf->entry - ph->vaddr);
			return 0;
		}
	}
	return boot_fail(ctx, -ENOEXEC, "entry point %#llx is outside every loadable segment",
			 (unsigned long long)elf->entry);
}

int loader_elf64(const struct image *img, const struct elf_file *elf, struct boot_ctx *ctx,
		 struct boot_entry *out)
{
	uint64_t rip = 0;

	if (!elf->is64 || elf->machine != EM_X86_64)
		return boot_fail(ctx, -ENOEXEC, "ELF has no PVH entry note and is not an x86-64 ELF64 "
				 "(class %d-bit, machine %u)", elf->is64 ? 64 : 32, elf->machine);
	*out = (struct boot_entry){ .mode = BOOT_LONG64, .format = "ELF64" };
	int rc = elf64_entry_gpa(elf, ctx, &rip);
	if (rc)
		return rc;
	rc = loader_load_segments(img, elf, BOOT_AREAS_ALL, ctx, &out->kernel_start, &out->kernel_end);
	if (rc)
		return rc;
	rc = boot_write_page_tables(ctx, &out->map_top);
	if (rc)
		return rc;
	if (rip >= out->map_top)
		return boot_fail(ctx, -ENOEXEC, "entry point %#llx is above the boot identity map (%llu GiB)",
				 (unsigned long long)rip, (unsigned long long)(out->map_top >> 30));
	rc = loader_boot_info(ctx, out);
	if (rc)
		return rc;
	out->rip = rip;
	out->rsi = ABI_START_INFO_GPA;
	out->rsp = BOOT_STACK_TOP;
	return 0;
}

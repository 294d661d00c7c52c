/*
 * What the two ELF loaders (PVH, ELF64) share: every PT_LOAD segment
 * loaded at its physical address, and the boot information around it
 * (command line, initrd, boot GDT, MP table, PVH start info).
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/boot_tables.h"
#include "vmm/boot/elf.h"
#include "vmm/boot/loader.h"
#include "vmm/boot/mptable.h"
#include "vmm/boot/pvh.h"

#define FOUR_GIB (1ULL << 32)

/* Loads every PT_LOAD at p_paddr; [*lo, *hi) gets the span they cover. */
int loader_load_segments(const struct image *img, const struct elf_file *elf, unsigned areas,
			 struct boot_ctx *ctx, uint64_t *lo, uint64_t *hi)
{
	char what[48];

	*lo = UINT64_MAX, *hi = 0;
	for (unsigned i = 0; i < elf->phnum; i++) {
		const struct elf_phdr *ph = &elf->ph[i];
		if (ph->type != PT_LOAD || ph->memsz == 0)
			continue;
		snprintf(what, sizeof(what), "segment %u", i);
		if (boot_check_free(ctx, ph->paddr, ph->memsz, areas, what))
			return -ENOEXEC;
		uint8_t *p = boot_hva(ctx, ph->paddr, ph->memsz, what);
		if (!p)
			return -ENOEXEC;
		int rc = image_read(img, ph->offset, p, ph->filesz);
		if (rc)
			return boot_fail(ctx, -ENOEXEC, "%s: reading %s: %s", img->name, what, strerror(-rc));
		/* Guest frames may have held something before; bss must read 0. */
		memset(p + ph->filesz, 0, ph->memsz - ph->filesz);
		if (ph->paddr < *lo)
			*lo = ph->paddr;
		if (ph->paddr + ph->memsz > *hi)
			*hi = ph->paddr + ph->memsz;
	}
	if (*hi == 0)
		return boot_fail(ctx, -ENOEXEC, "no loadable segment");
	return 0;
}

/* Command line, initrd above the kernel (below 4 GiB), MP table and start
 * info. */
int loader_boot_info(struct boot_ctx *ctx, struct boot_entry *out)
{
	int rc = boot_write_cmdline(ctx);

	if (!rc && ctx->initrd) {
		rc = boot_load_initrd(ctx, (out->kernel_end + 4095) & ~4095ULL, FOUR_GIB, &out->initrd_gpa);
		out->initrd_size = ctx->initrd->size;
	}
	if (!rc)
		rc = boot_write_gdt(ctx);
	if (!rc)
		rc = boot_write_mptable(ctx, ctx->nr_cpus ? ctx->nr_cpus : 1);
	return rc ? rc : pvh_write_start_info(ctx, out->initrd_gpa);
}

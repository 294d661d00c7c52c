/*
 * Which loader an image gets: an ELF with a PVH note boots PVH, any other
 * ELF must be an x86-64 ELF64 and boots in long mode, a file with the Linux
 * setup header boots through the bzImage protocol; anything else is refused
 * with the reason. Also what the two ELF loaders share: loading segments
 * and the boot information (command line, initrd, GDT, start info).
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "vmm/arch/x86/boot_layout.h"
#include "vmm/boot/elf.h"
#include "vmm/boot/loader.h"
#include "vmm/boot/pvh.h"
#include "vmm/arch/x86/boot_state.h"

#define FOUR_GIB (1ULL << 32)

#define BZ_MAGIC_OFFSET 0x202

static bool loader_is_bzimage(const struct image *img)
{
	char magic[4];

	return image_read(img, BZ_MAGIC_OFFSET, magic, 4) == 0 && !memcmp(magic, "HdrS", 4);
}

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

/* Command line, initrd above the kernel (below 4 GiB) and start info. */
int loader_boot_info(struct boot_ctx *ctx, struct boot_entry *out)
{
	int rc = boot_write_cmdline(ctx);

	if (!rc && ctx->initrd) {
		rc = boot_load_initrd(ctx, (out->kernel_end + 4095) & ~4095ULL, FOUR_GIB, &out->initrd_gpa);
		out->initrd_size = ctx->initrd->size;
	}
	if (!rc)
		rc = x86_boot_write_gdt(ctx);
	return rc ? rc : pvh_write_start_info(ctx, out->initrd_gpa);
}

int loader_load(const struct image *img, struct boot_ctx *ctx, struct boot_entry *out)
{
	struct elf_file elf;
	uint32_t pvh_entry;

	ctx->why[0] = '\0';
	if (!ctx->mem->nr_ram)
		return boot_fail(ctx, -EINVAL, "no guest RAM to load into");
	if (elf_is_elf(img)) {
		int rc = elf_parse(img, &elf, ctx);
		if (rc)
			return rc;
		rc = elf_find_pvh_entry(img, &elf, &pvh_entry, ctx);
		if (rc == 0)
			return loader_pvh(img, &elf, pvh_entry, ctx, out);
		if (rc != -ENOENT)
			return rc;
		return loader_elf64(img, &elf, ctx, out);
	}
	if (loader_is_bzimage(img))
		return loader_bzimage(img, ctx, out);
	if (img->size < 4)
		return boot_fail(ctx, -ENOEXEC, "too short (%llu bytes) for any image format",
				 (unsigned long long)img->size);
	return boot_fail(ctx, -ENOEXEC, "not a kernel image (no ELF magic, no bzImage \"HdrS\" header)");
}

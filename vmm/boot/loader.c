/*
 * Which loader an image gets: an ELF with a PVH note boots PVH, any other
 * ELF must be an x86-64 ELF64 and boots in long mode, a file with the Linux
 * setup header boots through the bzImage protocol; anything else is refused
 * with the reason. Also whether an image is a Linux kernel, which gets a
 * command line of its own (vmm/boot/linux_cmdline.h).
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/elf.h"
#include "vmm/boot/loader.h"

#define BZ_MAGIC_OFFSET 0x202

static bool loader_is_bzimage(const struct image *img)
{
	char magic[4];

	return image_read(img, BZ_MAGIC_OFFSET, magic, 4) == 0 && !memcmp(magic, "HdrS", 4);
}

bool loader_is_linux(const struct image *img)
{
	struct boot_ctx quiet = { 0 };
	struct elf_file elf;
	struct elf_note note;

	if (loader_is_bzimage(img))
		return true;
	/* Every vmlinux since 4.19 carries the build-salt note of owner "Linux". */
	return elf_is_elf(img) && elf_parse(img, &elf, &quiet) == 0 &&
	       elf_find_note(img, &elf, "Linux", ELF_NOTE_ANY_TYPE, &note, &quiet) == 0;
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

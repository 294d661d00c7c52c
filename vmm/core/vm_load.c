/*
 * Loading the guest (vm_load.h). The loaders see guest RAM only through
 * struct boot_mem, so this file is where guest memory and the loaders meet.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "mm/kmalloc.h"
#include "vmm/boot/loader.h"
#include "vmm/core/vm_internal.h"
#include "vmm/core/vm_load.h"
#include "vmm/memory/guest_mem.h"

/* role: how the message names the file ("the image", "the initrd"). */
static int vm_open_file(const char *path, struct image *img, const char *role, char *err,
			size_t errlen)
{
	int rc = image_open(img, path);

	if (rc == -ENODATA)
		snprintf(err, errlen, "%s: %s is empty", path, role);
	else if (rc == -EINVAL)
		snprintf(err, errlen, "%s: %s is not a regular file", path, role);
	else if (rc)
		snprintf(err, errlen, "%s: cannot open %s: %s", path, role, strerror(-rc));
	return rc;
}

int vm_inputs_open(const struct vm_config *cfg, struct vm_inputs *in, char *err, size_t errlen)
{
	*in = (struct vm_inputs){ .image.fd = -1, .initrd.fd = -1 };
	int rc = vm_open_file(cfg->image, &in->image, "the image", err, errlen);

	if (!rc && cfg->initrd) {
		rc = vm_open_file(cfg->initrd, &in->initrd, "the initrd", err, errlen);
		in->have_initrd = !rc;
	}
	return rc;
}

void vm_inputs_close(struct vm_inputs *in)
{
	image_close(&in->image);
	image_close(&in->initrd);
}

static void *vm_load_hva(void *ctx, uint64_t gpa, uint64_t len)
{
	return len ? guest_mem_hva(ctx, gpa, len) : NULL;
}

/* The loaders' view of gm: its RAM regions and an hva callback. */
static void vm_load_boot_mem(struct guest_mem *gm, struct boot_mem *mem)
{
	*mem = (struct boot_mem){ .hva = vm_load_hva, .ctx = gm };
	unsigned n = guest_mem_nr_regions(gm);
	for (unsigned i = 0; i < n && mem->nr_ram < BOOT_MAX_RAM; i++) {
		struct guest_mem_region r;
		if (guest_mem_region(gm, i, &r) == 0)
			mem->ram[mem->nr_ram++] = (struct boot_ram_range){ r.gpa, r.size };
	}
}

int vm_load(struct vm *vm, struct vm_inputs *in, char *err, size_t errlen)
{
	struct boot_mem mem;
	/* The devices say where they are, as QEMU microvm's do
	 * (virtio_mmio.device=SIZE@ADDR:IRQ), so one guest finds them in
	 * both VMMs. */
	char *cmdline = device_cmdline(vm_device_types, &vm->cfg, vm->arena);
	struct boot_ctx ctx = { .mem = &mem, .cmdline = cmdline,
				.initrd = in->have_initrd ? &in->initrd : NULL };

	if (!cmdline) {
		snprintf(err, errlen, "command line: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	vm_load_boot_mem(vm->gm, &mem);
	int rc = loader_load(&in->image, &ctx, &vm->entry);
	if (rc)
		snprintf(err, errlen, "%s: %s", vm->cfg.image, ctx.why);
	kfree(vm->arena, cmdline);
	return rc;
}

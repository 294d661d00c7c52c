/*
 * Loading the guest (vm_load.h). The loaders see guest RAM only through
 * struct boot_mem, so this file is where guest memory and the loaders meet.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "mm/kmalloc.h"
#include "vmm/boot/linux_cmdline.h"
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

/*
 * The guest's command line: for a Linux kernel memvisor's defaults first
 * (linux_cmdline.h), then the user's, then the devices, which say where
 * they are as QEMU microvm's do (virtio_mmio.device=SIZE@ADDR:IRQ), so one
 * guest finds them in both VMMs. kmalloc'd; NULL without memory.
 */
static char *vm_cmdline(struct vm *vm, const struct image *img)
{
	struct vm_config cfg = vm->cfg;
	char *joined = NULL;

	if (loader_is_linux(img)) {
		/* Loading comes before KVM is opened (a bad image is reported
		 * first), so the host is asked on its own. */
		struct linux_cmdline_host h = { .tsc_khz = kvm_probe_tsc_khz(vm->cfg.kvm_device),
						.pvm = x86_kvm_kind() == X86_KVM_PVM };
		const char *user = cfg.cmdline ? cfg.cmdline : "";
		size_t n = linux_default_cmdline(&h, NULL, 0), len = n + 1 + strlen(user) + 1;
		joined = kmalloc(vm->arena, len);
		if (!joined)
			return NULL;
		linux_default_cmdline(&h, joined, len);
		if (*user)
			snprintf(joined + n, len - n, " %s", user);
		cfg.cmdline = joined;
	}
	char *s = device_cmdline(vm_device_types, &cfg, vm->arena);
	kfree(vm->arena, joined);
	return s;
}

int vm_load(struct vm *vm, struct vm_inputs *in, char *err, size_t errlen)
{
	struct boot_mem mem;
	char *cmdline = vm_cmdline(vm, &in->image);
	struct boot_ctx ctx = { .mem = &mem, .nr_cpus = vm->cfg.cpus, .cmdline = cmdline,
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

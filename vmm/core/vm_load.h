/*
 * Loading the guest: the image and initrd opened before anything is built
 * (a missing file fails first and cheaply), then loaded into guest RAM with
 * the command line the devices complete, through the loaders' view of
 * guest memory (struct boot_mem over guest_mem_hva).
 */
#ifndef VMM_CORE_VM_LOAD_H
#define VMM_CORE_VM_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include "vmm/boot/image.h"
#include "vmm/config/config.h"

struct vm;

struct vm_inputs {
	struct image image, initrd;
	bool have_initrd;
};

/* 0, or -errno with err "<file>: <why>"; close in every case. */
int vm_inputs_open(const struct vm_config *cfg, struct vm_inputs *in, char *err, size_t errlen);
void vm_inputs_close(struct vm_inputs *in);

/* Loads the image into vm's guest memory and sets vm->entry. */
int vm_load(struct vm *vm, struct vm_inputs *in, char *err, size_t errlen);

#endif

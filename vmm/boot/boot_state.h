/*
 * x86 CPU state at boot: the boot GDT and the identity page tables written
 * into guest RAM, and the registers the boot vCPU starts with for each
 * struct boot_entry mode (PVH 32-bit protected mode; 64-bit long mode).
 */
#ifndef VMM_X86_BOOT_H
#define VMM_X86_BOOT_H

#include <linux/kvm.h>
#include "vmm/boot/loader.h"

/* Boot GDT selectors: the Linux boot protocol's __BOOT_CS / __BOOT_DS. */
#define X86_BOOT_CS32 0x08
#define X86_BOOT_CS64 0x10
#define X86_BOOT_DS   0x18

/* Writes the boot GDT at ABI_GDT_GPA. 0 or -errno (ctx->why). */
int x86_boot_write_gdt(struct boot_ctx *ctx);

/*
 * Identity-maps [0, max(4 GiB, RAM top)) with 2 MiB pages, Accessed and Dirty
 * preset (a shadow MMU then skips a fault per page; PLATFORM.md §3), at most
 * BOOT_MAX_PDS GiB. *map_top gets the end of the mapping. 0 or -errno.
 */
int x86_boot_write_page_tables(struct boot_ctx *ctx, uint64_t *map_top);

/* Applies the entry's mode to sregs as KVM_GET_SREGS returned them. */
void x86_boot_sregs(const struct boot_entry *e, struct kvm_sregs *s);
void x86_boot_regs(const struct boot_entry *e, struct kvm_regs *r);

#endif

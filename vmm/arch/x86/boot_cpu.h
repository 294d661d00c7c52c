/*
 * The x86 CPU at boot, as facts of the architecture: the boot GDT's
 * descriptors, identity page tables with 2 MiB pages, and the segment,
 * control and general registers of the two ways a boot vCPU starts (32-bit
 * protected mode with paging off, as PVH wants; 64-bit long mode on the
 * identity map). Descriptors carry the Accessed bit already so the CPU never
 * writes to the GDT, and page-table entries carry A and D so a shadow MMU
 * need not fault to set them (PLATFORM.md §3).
 *
 * vmm/arch/x86/ owns what is x86 and nothing else: this, and the CPUID a
 * vCPU gets (cpuid.h). It uses KVM's structures and nothing of vmm/, and
 * touches no guest memory: callers say where the tables live and hand it
 * the buffers to fill.
 */
#ifndef VMM_ARCH_X86_BOOT_CPU_H
#define VMM_ARCH_X86_BOOT_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* Boot GDT selectors: the Linux boot protocol's __BOOT_CS / __BOOT_DS. */
#define X86_BOOT_CS32 0x08
#define X86_BOOT_CS64 0x10
#define X86_BOOT_DS   0x18

#define X86_BOOT_GDT_ENTRIES 4
extern const uint64_t x86_boot_gdt[X86_BOOT_GDT_ENTRIES];

/*
 * Identity-maps [0, pds GiB) with 2 MiB pages: pml4 and pdpt are a page
 * each, pd is pds pages; the entries point at the guest-physical addresses
 * pdpt_gpa and pd_gpa, where the caller puts them.
 */
void x86_identity_map(uint64_t *pml4, uint64_t *pdpt, uint64_t *pd, uint64_t pds,
		      uint64_t pdpt_gpa, uint64_t pd_gpa);

/* Applies the boot mode to sregs as KVM_GET_SREGS returned them: flat
 * segments of the boot GDT at gdt_gpa, paging from pml4_gpa in long mode. */
void x86_boot_sregs(bool long_mode, uint64_t gdt_gpa, uint64_t pml4_gpa, struct kvm_sregs *s);
/* The general registers: the entry point and the three a boot protocol
 * passes values in; interrupts off. */
void x86_boot_regs(uint64_t rip, uint64_t rbx, uint64_t rsi, uint64_t rsp, struct kvm_regs *r);

#endif

/*
 * Constants shared by the boot code (boot.S, pagetables.S) and the C
 * runtime: where the image lives, the segment selectors, page-table bits and
 * the few architectural numbers the boot path uses. Included from assembly,
 * so only #defines here.
 */
#ifndef GUEST_BOOT_H
#define GUEST_BOOT_H

/*
 * guest.ld links the image here and puts the .boot section first. The
 * descriptor tables in boot.S store handler and TSS addresses split into
 * 16-bit pieces; with .boot starting on a 64 KiB boundary and smaller than
 * 64 KiB, the low piece is an offset inside .boot, which the assembler can
 * compute (guest.ld checks both conditions).
 */
#define BOOT_BASE            0x100000

/* Linux's GDT layout (PLATFORM.md §2), so selectors read the familiar way. */
#define SEL_KERNEL_CS        0x10
#define SEL_KERNEL_DS        0x18
#define SEL_USER_DS          0x2b    /* 0x28 | RPL 3 */
#define SEL_USER_CS          0x33    /* 0x30 | RPL 3 */
#define SEL_TSS              0x40
#define GDT_ENTRIES          10      /* the TSS descriptor takes two */

/*
 * Page-table entries. Accessed and Dirty are preset: on this platform the
 * shadow MMU would otherwise take an exit to set them on first use. Every
 * mapping is user-accessible because all work runs at CPL3.
 */
#define PTE_P                0x001
#define PTE_W                0x002
#define PTE_U                0x004
#define PTE_A                0x020
#define PTE_D                0x040
#define PTE_PS               0x080
#define PTE_TABLE            (PTE_P | PTE_W | PTE_U | PTE_A)
#define PTE_LARGE            (PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | PTE_PS)
#define PAGE_2M              0x200000
#define PAGE_1G              0x40000000

/* The boot page tables map the first BOOT_MAPPED_GIB GiB (pagetables.S);
 * RAM above that is mapped at CPL3 from a pool of PD_POOL_PAGES directories
 * (one GiB each), so the identity map reaches 4 + PD_POOL_PAGES GiB. */
#define BOOT_MAPPED_GIB      4
#define PD_POOL_PAGES        60

/* Stacks, in .noinit. The kernel stack only serves the fault report. */
#define KERNEL_STACK_SIZE    0x4000
#define USER_STACK_SIZE      0x10000

/* The TSS: 0x68 bytes, then the I/O permission bitmap for all 65536 ports
 * and the terminating all-ones byte the architecture requires. */
#define TSS_IOMAP_OFFSET     0x68
#define TSS_IOMAP_BYTES      8192
#define TSS_LIMIT            (TSS_IOMAP_OFFSET + TSS_IOMAP_BYTES)

/* Architectural bits the 32-bit PVH entry sets. */
#define CR0_PE               0x00000001
#define CR0_MP               0x00000002
#define CR0_ET               0x00000010
#define CR0_NE               0x00000020
#define CR0_WP               0x00010000
#define CR0_PG               0x80000000
#define CR4_PAE              0x00000020
#define CR4_OSFXSR           0x00000200
#define CR4_OSXMMEXCPT       0x00000400
#define MSR_EFER             0xc0000080
#define EFER_LME             0x00000100

/* kvmclock, used only to learn the TSC frequency (tsc.c). */
#define KVM_CPUID_SIGNATURE  0x40000000
#define KVM_CPUID_FEATURES   0x40000001
#define KVM_SIGNATURE_EBX    0x4b4d564b      /* "KVMK" of "KVMKVMKVM" */
#define KVM_FEATURE_CLOCKSOURCE2 (1 << 3)
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01

/* Under QEMU a fault exits through isa-debug-exit with this value | vector,
 * so the process status is 2 * (0x40 | vector) + 1 (129 + 2 * vector). */
#define FAULT_DEBUG_EXIT_BASE 0x40

#endif

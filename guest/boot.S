/*
 * The guest's entry path, at CPL0: the two entries (PVH, 32-bit with paging
 * off; ELF64, long mode on the VMM's page tables), the switch to this
 * image's identity map, the descriptor tables, the drop to CPL3 into
 * runtime_start, and the exception entry points that hand faults to
 * trap_report.
 *
 * This file is the top of the runtime: it calls into C and no C code calls
 * back into it. What C does use of the boot code (the exit trap, the triple
 * fault, the kvmclock area) lives in boot_shared.S, below every C file, so
 * the runtime's files never use each other in a circle.
 *
 * On this platform every CPL0 instruction is emulated (~300 ns each), so
 * nothing is computed here: the GDT, IDT, TSS with its I/O bitmap and the
 * page tables (pagetables.S) are all built by the assembler and linker. The
 * PVH path runs 31 instructions up to and including iretq, the ELF64 path
 * 22; 12 of them are the kvmclock setup.
 */
#include "abi/memvisor.h"
#include "abi/pvh.h"
#include "boot.h"

/* The exception vectors that get an entry point (all architectural ones). */
#define VECTORS 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31

/*
 * PVH: XEN_ELFNOTE_PHYS32_ENTRY names the 32-bit entry. The descriptor is 8
 * bytes, as Linux emits it for 64-bit images: QEMU reads a host-sized word
 * there. The note section must be 4-byte aligned (QEMU pads the name to the
 * segment's alignment).
 */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4                         /* name size: "Xen\0" */
	.long 8                         /* descriptor size */
	.long ELF_NOTE_PVH_ENTRY
	.asciz "Xen"
	.balign 4
	.quad pvh_entry32

	.section .boot, "awx", @progbits
	.globl boot_start
boot_start:                             /* at BOOT_BASE: guest.ld checks */

/*
 * PVH entry: 32-bit protected mode, paging off, flat segments, ebx = GPA of
 * the hvm_start_info. The GDTR the loader left is unspecified, so lgdt
 * comes before the far jump that reloads CS.
 */
	.code32
	.globl pvh_entry32
pvh_entry32:
	mov %ebx, %edi
	mov $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	mov $EFER_LME, %eax
	xor %edx, %edx
	wrmsr
	mov $(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE), %eax
	mov %eax, %cr0
	lgdt boot_gdtr
	ljmp $SEL_KERNEL_CS, $pvh_long_mode

/*
 * ELF64 entry (the ELF's e_entry): long mode with the VMM's identity page
 * tables, rsi = GPA of the boot information (an hvm_start_info or a Linux
 * zero page; start.c tells them apart). This image's own tables replace the
 * VMM's at once, so the guest never depends on how far those reach. CS is
 * not reloaded: the iretq below loads the user CS from this GDT.
 */
	.code64
	.globl elf64_entry
elf64_entry:
	mov %rsi, %rdi
	mov $boot_pml4, %eax
	mov %rax, %cr3
	lgdt boot_gdtr
	jmp 1f

pvh_long_mode:
	mov %edi, %edi                  /* upper halves are undefined after the switch */
1:	lidt boot_idtr
	mov $SEL_TSS, %ax
	ltr %ax

	/*
	 * kvmclock, when the hypervisor offers it, tells the TSC frequency
	 * (tsc.c); under QEMU it is the only source. Enabling it needs wrmsr,
	 * hence CPL0; the CPUID check keeps the wrmsr from faulting elsewhere.
	 */
	mov $KVM_CPUID_SIGNATURE, %eax
	cpuid
	cmp $KVM_SIGNATURE_EBX, %ebx
	jne 2f
	mov $KVM_CPUID_FEATURES, %eax
	cpuid
	test $KVM_FEATURE_CLOCKSOURCE2, %al
	jz 2f
	mov $MSR_KVM_SYSTEM_TIME_NEW, %ecx
	mov $(boot_kvmclock + 1), %eax  /* bit 0: enable */
	xor %edx, %edx
	wrmsr

	/* rdi (boot information) survives into runtime_start. */
2:	mov $boot_user_frame, %esp
	iretq

/*
 * Exception entry points. Each pushes rax and rdx and reports the vector with one
 * 32-bit out to the fault port (abi.h: the VMM finds the hardware frame at
 * rsp + 16). memvisor stops the guest there; elsewhere (QEMU) the out does
 * nothing and isr_common goes on to print the report itself.
 */
	.irp n, VECTORS
isr_\n:
	push %rax
	push %rdx
	mov $\n, %eax
	mov $ABI_PORT_FAULT, %edx
	out %eax, %dx
	jmp isr_common
	.endr

/* Lays out a struct trap_regs (trap.c) and hands it over; never returns. */
isr_common:
	push %rcx
	push %rbx
	push %rbp
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	mov %eax, %esi
	mov %cr2, %rdx
	and $-16, %rsp
	call trap_report
	ud2

/* ---- descriptor tables ---------------------------------------------------- */

	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00cf9b000000ffff        /* 0x08 kernel code, 32-bit (unused) */
	.quad 0x00af9b000000ffff        /* 0x10 kernel code, 64-bit */
	.quad 0x00cf93000000ffff        /* 0x18 kernel data */
	.quad 0x00cffb000000ffff        /* 0x20 user code, 32-bit (unused) */
	.quad 0x00cff3000000ffff        /* 0x28 user data */
	.quad 0x00affb000000ffff        /* 0x30 user code, 64-bit */
	.quad 0
	/* 0x40: 64-bit TSS, available (ltr marks it busy: .boot is writable) */
	.word TSS_LIMIT & 0xffff
	.word boot_tss - boot_start     /* base 15:0 */
	.byte (BOOT_BASE >> 16) & 0xff  /* base 23:16 */
	.byte 0x89
	.byte (TSS_LIMIT >> 16) & 0x0f
	.byte (BOOT_BASE >> 24) & 0xff  /* base 31:24 */
	.long 0                         /* base 63:32 */
	.long 0
boot_gdt_end:
	.if boot_gdt_end - boot_gdt - GDT_ENTRIES * 8
	.error "GDT size does not match GDT_ENTRIES"
	.endif

	.balign 16
boot_idt:
	.irp n, VECTORS
	.word isr_\n - boot_start       /* offset 15:0 */
	.word SEL_KERNEL_CS
	.word 0x8e00                    /* present, DPL 0, interrupt gate, no IST */
	.word BOOT_BASE >> 16           /* offset 31:16 */
	.long 0                         /* offset 63:32 */
	.long 0
	.endr
boot_idt_end:

	.balign 8
boot_gdtr:
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt
boot_idtr:
	.word boot_idt_end - boot_idt - 1
	.quad boot_idt

/*
 * The TSS: RSP0 for exceptions taken at CPL3, and the I/O bitmap, the only
 * way CPL3 reaches ports here (IOPL is ignored). A set bit denies; allowed
 * are the UART, debug-exit (byte accesses) and memvisor's whole port range
 * (32-bit accesses, so all four bytes of each port, the halt port's too).
 */
	.if (ABI_PORT_BASE % 8) || (ABI_PORT_COUNT % 8)
	.error "memvisor's port range must fill whole bitmap bytes"
	.endif
	.balign 16
boot_tss:
	.long 0
	.quad boot_kernel_stack_top     /* RSP0 */
	.quad 0, 0                      /* RSP1, RSP2 */
	.quad 0
	.quad 0, 0, 0, 0, 0, 0, 0       /* IST1..7 */
	.quad 0
	.word 0
	.word TSS_IOMAP_OFFSET
	.fill ABI_PORT_DEBUG_EXIT / 8, 1, 0xff
	.byte 0xff & ~(1 << (ABI_PORT_DEBUG_EXIT % 8))
	.fill ABI_PORT_UART / 8 - ABI_PORT_DEBUG_EXIT / 8 - 1, 1, 0xff
	.fill ABI_UART_PORTS / 8, 1, 0x00
	.fill ABI_PORT_BASE / 8 - (ABI_PORT_UART + ABI_UART_PORTS) / 8, 1, 0xff
	.fill ABI_PORT_COUNT / 8, 1, 0x00
	.fill TSS_IOMAP_BYTES - (ABI_PORT_BASE + ABI_PORT_COUNT) / 8, 1, 0xff
	.byte 0xff                      /* the terminator after the bitmap */
boot_tss_end:
	.if boot_tss_end - boot_tss - TSS_LIMIT - 1
	.error "TSS layout does not match TSS_LIMIT"
	.endif

	.globl boot_end
boot_end:

/* ---- CPL3 ------------------------------------------------------------------ */

	.section .rodata
	.balign 8
/* What iretq pops: CPL3, interrupts off (nothing is delivered to them). */
boot_user_frame:
	.quad user_entry
	.quad SEL_USER_CS
	.quad 0x2                       /* RFLAGS: only the reserved bit */
	.quad boot_user_stack_top
	.quad SEL_USER_DS

	.text
user_entry:
	xor %ebp, %ebp
	call runtime_start
	ud2

/* Stacks: never zeroed, nothing relies on their contents. */
	.section .noinit, "aw", @nobits
	.balign 4096
	.skip USER_STACK_SIZE
boot_user_stack_top:
	.skip KERNEL_STACK_SIZE
boot_kernel_stack_top:

	.section .note.GNU-stack, "", @progbits   /* no executable stack */

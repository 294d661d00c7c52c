/*
 * The guest ABI: every port and fixed address a memvisor guest and the VMM
 * agree on. Included by guest/ (freestanding) and vmm/. The README's guest
 * ABI section lists the same table for users.
 *
 * Ports are chosen outside what QEMU microvm decodes, so the same guest
 * image runs under both: on QEMU the memvisor ports read as all-ones and
 * writes to them are dropped, and the guest falls back to the UART.
 */
#ifndef GUEST_ABI_H
#define GUEST_ABI_H

/* 8250 UART, COM1: one exit per byte, for compatibility. */
#define ABI_PORT_UART        0x3f8   /* .. 0x3ff */
#define ABI_UART_PORTS       8

/* QEMU isa-debug-exit semantics: writing v exits with status v * 2 + 1. */
#define ABI_PORT_DEBUG_EXIT  0xf4

/*
 * memvisor's paravirtual ports. Each is written with one 32-bit `out`, so
 * the I/O bitmap must allow all four bytes of each.
 */
#define ABI_PORT_BASE        0x0740
/* Batched console: the value is the GPA (below 4 GiB) of a struct
 * abi_console_buf; the VMM writes len bytes from buf_gpa in one exit. */
#define ABI_PORT_CONSOLE     0x0740
/* Clean exit: the value is the exit status the VMM process returns (0 for
 * success). Needed because isa-debug-exit cannot express 0. */
#define ABI_PORT_EXIT        0x0744
/* Fault report from a CPL0 exception handler: the value is the vector. The
 * handler has pushed rax and rdx and then nothing else, so at the VMM's exit
 * the hardware exception frame starts at rsp + 16 (rsp + 24 and an error
 * code first, for vectors that push one). */
#define ABI_PORT_FAULT       0x0748
/* Probe support: the guest asks the VMM to run a test hook with this value
 * (used by the invalidation tests; ignored when no hook is set). */
#define ABI_PORT_PROBE       0x074c
/*
 * Paravirtual halt: hlt is privileged and CPL3 cannot use it here, so an
 * idle guest writes how long it may sleep, in microseconds (0: no deadline).
 * The VMM parks the vCPU thread outside KVM_RUN until the time is up, a
 * device event wakes it, or the VM is paused or stopped, and then completes
 * the write. Early returns are allowed, as with hlt: the guest re-checks
 * its clock. Off memvisor the write does nothing, so callers fall back to
 * waiting on the TSC.
 */
#define ABI_PORT_HALT        0x0750
#define ABI_PORT_COUNT       32      /* 0x740 .. 0x75f */

/* The value a read of a memvisor port returns, to tell memvisor from QEMU. */
#define ABI_PORT_SIGNATURE   0x4d564d31u  /* "MVM1" */

#ifndef __ASSEMBLER__   /* guest/ boot code includes this file for the port numbers */
struct abi_console_buf {
	unsigned long long buf_gpa;
	unsigned int len;
	unsigned int reserved;
};
#endif

/*
 * Guest physical layout the VMM uses when it builds the boot structures
 * (PVH start_info and memory map at Firecracker's addresses) and the
 * 64-bit boot page tables for ELF64 entry.
 */
#define ABI_GDT_GPA          0x0500
#define ABI_START_INFO_GPA   0x6000
#define ABI_MEMMAP_GPA       0x7000
#define ABI_ZERO_PAGE_GPA    0x7000  /* Linux boot protocol (bzImage) */
#define ABI_PML4_GPA         0x9000
#define ABI_PDPT_GPA         0xa000
#define ABI_PD_GPA           0xb000
#define ABI_CMDLINE_GPA      0x20000
#define ABI_CMDLINE_MAX      4096
/* The Intel MP table (for guests without ACPI, such as Linux): its config
 * table at the start of the last 4 KiB of base memory, its floating
 * pointer in the last KiB, where Linux looks for it. The memory map marks
 * [ABI_MPTABLE_GPA, 1 MiB) reserved. */
#define ABI_MPTABLE_GPA      0x9f000
#define ABI_MP_FLOATING_GPA  0x9fc00

#endif

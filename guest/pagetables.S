/*
 * The boot page tables: an identity map of the first BOOT_MAPPED_GIB GiB in
 * 2 MiB pages, Accessed and Dirty preset, user-accessible, built entirely by
 * the assembler. Building them at run time would be the biggest CPL0 cost
 * (2048 emulated stores); here the loader copies 24 KiB instead.
 *
 * 1 GiB pages would be smaller but do not work on this platform. RAM above
 * the boot map is mapped at CPL3 by memory.c, one directory per GiB from
 * boot_pd_pool.
 */
#include "boot.h"

	.section .data.pagetables, "aw", @progbits
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.quad boot_pdpt + PTE_TABLE
	.fill 511, 8, 0

	.globl boot_pdpt
boot_pdpt:
	.set gib, 0
	.rept BOOT_MAPPED_GIB
	.quad boot_pd + gib * 4096 + PTE_TABLE
	.set gib, gib + 1
	.endr
	.fill 512 - BOOT_MAPPED_GIB, 8, 0

boot_pd:
	.set addr, 0
	.rept BOOT_MAPPED_GIB * 512
	.quad addr + PTE_LARGE
	.set addr, addr + PAGE_2M
	.endr

/* Directories for RAM above the boot map; touched only when there is some. */
	.section .noinit, "aw", @nobits
	.balign 4096
	.globl boot_pd_pool
boot_pd_pool:
	.skip PD_POOL_PAGES * 4096

	.section .note.GNU-stack, "", @progbits   /* no executable stack */

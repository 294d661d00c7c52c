/*
 * The low guest memory every loader shares: where the boot structures of
 * include/abi/memvisor.h live, checks that a range is guest RAM and clear of them, the
 * memory map handed to the guest (PVH memmap, e820), the command line, and
 * placing an initrd high in RAM.
 */
#ifndef VMM_BOOT_LAYOUT_H
#define VMM_BOOT_LAYOUT_H

#include <stdint.h>
#include "vmm/boot/loader.h"

/* Boot structures a loader may use (flags for boot_check_free). */
#define BOOT_AREA_GDT        0x01u   /* ABI_GDT_GPA */
#define BOOT_AREA_START_INFO 0x02u   /* hvm_start_info and the module list */
#define BOOT_AREA_MEMMAP     0x04u   /* PVH memmap or the bzImage zero page */
#define BOOT_AREA_STACK      0x08u   /* the boot stack, below the page tables */
#define BOOT_AREA_PAGETABLES 0x10u   /* PML4, PDPT and up to BOOT_MAX_PDS PDs */
#define BOOT_AREA_CMDLINE    0x20u
#define BOOT_AREA_MPTABLE    0x40u   /* the MP table, to the end of base memory */
#define BOOT_AREAS_ALL       0x7fu

#define BOOT_STACK_TOP       0x9000ULL
/* PDs fit between ABI_PD_GPA and the command line: 21 GiB identity-mapped. */
#define BOOT_MAX_PDS         21u

#define BOOT_E820_RAM        1u
#define BOOT_E820_RESERVED   2u
#define BOOT_MEMMAP_MAX      128u

struct boot_memmap_entry {
	uint64_t addr, size;
	uint32_t type;
};

/* Host address of [gpa, gpa + len), or NULL and ctx->why naming `what`. */
void *boot_hva(struct boot_ctx *ctx, uint64_t gpa, uint64_t len, const char *what);

/* 0, or -ENOEXEC and ctx->why if [gpa, gpa + len) overlaps one of `areas`. */
int boot_check_free(struct boot_ctx *ctx, uint64_t gpa, uint64_t len, unsigned areas,
		    const char *what);

/* The end of guest RAM (highest address + 1). */
uint64_t boot_ram_top(const struct boot_mem *mem);

/*
 * The guest's memory map: RAM as type 1, except the MP table's page and the
 * legacy VGA/BIOS hole, [ABI_MPTABLE_GPA, 1 MiB), and any gap between RAM
 * ranges below 4 GiB, type 2.
 * Returns the number of entries written (at most max).
 */
unsigned boot_memmap(const struct boot_mem *mem, struct boot_memmap_entry *out, unsigned max);

/* Writes the command line (empty if none) at ABI_CMDLINE_GPA: 0 or -errno. */
int boot_write_cmdline(struct boot_ctx *ctx);

/*
 * Reads ctx->initrd into the highest page-aligned place in RAM that starts at
 * or above lo and ends at or below limit. 0 (gpa in *gpa) or -errno.
 */
int boot_load_initrd(struct boot_ctx *ctx, uint64_t lo, uint64_t limit, uint64_t *gpa);

#endif

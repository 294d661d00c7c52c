/*
 * The boot GDT and the identity page tables in guest RAM, for the loaders
 * (boot_tables.c).
 */
#ifndef VMM_BOOT_TABLES_H
#define VMM_BOOT_TABLES_H

#include <stdint.h>
#include "vmm/boot/loader.h"

/* Writes the boot GDT at ABI_GDT_GPA. 0 or -errno (ctx->why). */
int boot_write_gdt(struct boot_ctx *ctx);

/*
 * Identity-maps [0, max(4 GiB, RAM top)) with 2 MiB pages, Accessed and Dirty
 * preset (a shadow MMU then skips a fault per page; PLATFORM.md §3), at most
 * BOOT_MAX_PDS GiB. *map_top gets the end of the mapping. 0 or -errno.
 */
int boot_write_page_tables(struct boot_ctx *ctx, uint64_t *map_top);

#endif

/*
 * The PVH boot ABI (Xen's hvm_start_info, version 1): the start info the
 * VMM writes at ABI_START_INFO_GPA and hands over in rbx, its module list
 * and memory map, and the ELF note that names the 32-bit entry. The VMM's
 * PVH loader and the guest's boot code both include this one file, so the
 * writer and the reader cannot drift apart. Freestanding; the constants
 * are visible to assembly too (guest/boot.S emits the note).
 */
#ifndef ABI_PVH_H
#define ABI_PVH_H

/* XEN_ELFNOTE_PHYS32_ENTRY: the PVH entry point, owner "Xen". */
#define ELF_NOTE_PVH_ENTRY 18

#define PVH_START_MAGIC 0x336ec578u
#define PVH_START_VERSION 1u
/* The module list sits right after the start info, in the same page. */
#define PVH_MODLIST_OFFSET 64u

/*
 * Memory map entry types: e820's numbers, as Xen's hvm_memmap_table_entry
 * defines them (the Linux zero page's e820 table uses the same ones).
 */
#define PVH_MEMMAP_TYPE_RAM      1u
#define PVH_MEMMAP_TYPE_RESERVED 2u

#ifndef __ASSEMBLER__
#include <stdint.h>

struct pvh_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;          /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pvh_module {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct pvh_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct pvh_module) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct pvh_memmap_entry) == 24, "hvm_memmap_table_entry layout");
_Static_assert(PVH_MODLIST_OFFSET >= sizeof(struct pvh_start_info), "module list overlaps the start info");
#endif

#endif

/*
 * The boot information: the command line and the memory map, copied out of
 * whatever the VMM passed, so nothing depends on those structures later.
 * Two formats arrive at the entry code: a PVH start info (abi/pvh.h; the
 * PVH entry always, memvisor's ELF64 entry too) or a Linux zero page
 * (boot_params), which an ELF64 loader following Firecracker's layout may
 * pass instead.
 * The structures themselves, modules and initrd are recorded as reserved.
 */
#include "internal.h"
#include "abi/pvh.h"

struct boot_info boot;

/* Linux zero page (boot_params) offsets. */
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_E820_ENTRIES      0x1e8
#define ZP_HEADER            0x202
#define ZP_RAMDISK_IMAGE     0x218
#define ZP_RAMDISK_SIZE      0x21c
#define ZP_CMD_LINE_PTR      0x228
#define ZP_E820_TABLE        0x2d0
#define ZP_E820_MAX          128
#define ZP_E820_ENTRY_SIZE   20
#define ZP_HEADER_MAGIC      0x53726448u  /* "HdrS" */

/* Boot structures are reached through the boot identity map (< 4 GiB). */
static bool reachable(uint64_t gpa, uint64_t size)
{
	uint64_t limit = (uint64_t)BOOT_MAPPED_GIB << 30;
	return gpa && gpa < limit && size <= limit - gpa;
}

static const void *ptr(uint64_t gpa)
{
	return (const void *)(uintptr_t)gpa;
}

static uint32_t load32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static void reserve(uint64_t start, uint64_t size)
{
	if (size && boot.nreserved < BOOT_MAX_RESERVED)
		boot.reserved[boot.nreserved++] = (struct mem_range){ start, start + size };
}

static void add_ram(uint64_t start, uint64_t size)
{
	if (!size || start + size < start || boot.nram == BOOT_MAX_RAM)
		return;
	/* Insertion keeps the list sorted; the VMM's order is not promised. */
	unsigned i = boot.nram++;
	for (; i && boot.ram[i - 1].start > start; i--)
		boot.ram[i] = boot.ram[i - 1];
	boot.ram[i] = (struct mem_range){ start, start + size };
}

static void copy_cmdline(uint64_t gpa)
{
	if (!reachable(gpa, 1))
		return;
	size_t n = strnlen(ptr(gpa), sizeof(boot.cmdline) - 1);
	memcpy(boot.cmdline, ptr(gpa), n);
	boot.cmdline[n] = '\0';
	reserve(gpa, n + 1);
}

static void parse_pvh(const struct pvh_start_info *si)
{
	boot.protocol = "pvh";
	reserve((uintptr_t)si, sizeof(*si));
	copy_cmdline(si->cmdline_paddr);
	uint64_t mods = (uint64_t)si->nr_modules * sizeof(struct pvh_module);
	if (si->nr_modules && reachable(si->modlist_paddr, mods)) {
		const struct pvh_module *m = ptr(si->modlist_paddr);
		reserve(si->modlist_paddr, mods);
		for (uint32_t i = 0; i < si->nr_modules; i++)
			reserve(m[i].paddr, m[i].size);
	}
	uint64_t map = (uint64_t)si->memmap_entries * sizeof(struct pvh_memmap_entry);
	if (si->version >= 1 && reachable(si->memmap_paddr, map)) {
		const struct pvh_memmap_entry *e = ptr(si->memmap_paddr);
		reserve(si->memmap_paddr, map);
		for (uint32_t i = 0; i < si->memmap_entries; i++)
			if (e[i].type == PVH_MEMMAP_TYPE_RAM)
				add_ram(e[i].addr, e[i].size);
	}
}

static void parse_zero_page(const uint8_t *zp)
{
	boot.protocol = "linux";
	reserve((uintptr_t)zp, 4096);
	copy_cmdline((uint64_t)load32(zp + ZP_EXT_CMD_LINE_PTR) << 32 | load32(zp + ZP_CMD_LINE_PTR));
	reserve((uint64_t)load32(zp + ZP_EXT_RAMDISK_IMAGE) << 32 | load32(zp + ZP_RAMDISK_IMAGE),
		(uint64_t)load32(zp + ZP_EXT_RAMDISK_SIZE) << 32 | load32(zp + ZP_RAMDISK_SIZE));
	unsigned n = zp[ZP_E820_ENTRIES];
	if (n > ZP_E820_MAX)
		n = ZP_E820_MAX;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = zp + ZP_E820_TABLE + i * ZP_E820_ENTRY_SIZE;
		if (load32(e + 16) == PVH_MEMMAP_TYPE_RAM)  /* e820's numbers, as PVH's */
			add_ram(load64(e), load64(e + 8));
	}
}

void bootinfo_parse(uint64_t gpa)
{
	boot.protocol = "none";
	if (!reachable(gpa, 4096))
		return;
	const struct pvh_start_info *si = ptr(gpa);
	if (si->magic == PVH_START_MAGIC)
		parse_pvh(si);
	else if (load32((const uint8_t *)ptr(gpa) + ZP_HEADER) == ZP_HEADER_MAGIC)
		parse_zero_page(ptr(gpa));
}

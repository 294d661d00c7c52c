/*
 * Low guest memory shared by the loaders (see boot_layout.h). The layout is
 * Firecracker's, fixed in include/abi/memvisor.h so guests and tests can rely on it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/boot/boot_layout.h"

/* The MP table's page, then the VGA and BIOS areas: reserved, as the EBDA
 * and the legacy hole are on a PC. */
#define LEGACY_HOLE_START ((uint64_t)ABI_MPTABLE_GPA)
#define LEGACY_HOLE_END   0x100000ULL
#define FOUR_GIB          (1ULL << 32)
#define PAGE_4K           4096ULL

static const struct {
	unsigned flag;
	uint64_t start, end;
	const char *name;
} boot_areas[] = {
	{ BOOT_AREA_GDT, ABI_GDT_GPA, ABI_GDT_GPA + 0x100, "the boot GDT" },
	{ BOOT_AREA_START_INFO, ABI_START_INFO_GPA, ABI_START_INFO_GPA + 0x1000, "the PVH start info" },
	{ BOOT_AREA_MEMMAP, ABI_MEMMAP_GPA, ABI_MEMMAP_GPA + 0x1000, "the memory map / zero page" },
	{ BOOT_AREA_STACK, BOOT_STACK_TOP - 0x1000, BOOT_STACK_TOP, "the boot stack" },
	{ BOOT_AREA_PAGETABLES, ABI_PML4_GPA, ABI_PD_GPA + BOOT_MAX_PDS * 0x1000ULL,
	  "the boot page tables" },
	{ BOOT_AREA_CMDLINE, ABI_CMDLINE_GPA, ABI_CMDLINE_GPA + ABI_CMDLINE_MAX, "the command line" },
	{ BOOT_AREA_MPTABLE, ABI_MPTABLE_GPA, LEGACY_HOLE_END, "the MP table" },
};

int boot_fail(struct boot_ctx *ctx, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->why, sizeof(ctx->why), fmt, ap);
	va_end(ap);
	return rc;
}

void *boot_hva(struct boot_ctx *ctx, uint64_t gpa, uint64_t len, const char *what)
{
	void *p = gpa + len >= gpa ? ctx->mem->hva(ctx->mem->ctx, gpa, len) : NULL;

	if (!p)
		boot_fail(ctx, -ENOEXEC, "%s at %#llx..%#llx is not in guest RAM (%llu MiB)", what,
			  (unsigned long long)gpa, (unsigned long long)(gpa + len),
			  (unsigned long long)(boot_ram_top(ctx->mem) >> 20));
	return p;
}

int boot_check_free(struct boot_ctx *ctx, uint64_t gpa, uint64_t len, unsigned areas,
		    const char *what)
{
	for (size_t i = 0; i < sizeof(boot_areas) / sizeof(boot_areas[0]); i++) {
		if (!(areas & boot_areas[i].flag))
			continue;
		if (gpa < boot_areas[i].end && gpa + len > boot_areas[i].start)
			return boot_fail(ctx, -ENOEXEC, "%s at %#llx..%#llx overlaps %s at %#llx", what,
					 (unsigned long long)gpa, (unsigned long long)(gpa + len),
					 boot_areas[i].name, (unsigned long long)boot_areas[i].start);
	}
	return 0;
}

uint64_t boot_ram_top(const struct boot_mem *mem)
{
	if (!mem->nr_ram)
		return 0;
	const struct boot_ram_range *r = &mem->ram[mem->nr_ram - 1];
	return r->gpa + r->size;
}

static unsigned memmap_add(struct boot_memmap_entry *out, unsigned n, unsigned max, uint64_t addr,
			   uint64_t end, uint32_t type)
{
	if (end > addr && n < max)
		out[n++] = (struct boot_memmap_entry){ addr, end - addr, type };
	return n;
}

unsigned boot_memmap(const struct boot_mem *mem, struct boot_memmap_entry *out, unsigned max)
{
	unsigned n = 0;
	uint64_t prev_end = 0;

	for (unsigned i = 0; i < mem->nr_ram; i++) {
		uint64_t start = mem->ram[i].gpa, end = start + mem->ram[i].size;
		if (i > 0 && start > prev_end && prev_end < FOUR_GIB)
			n = memmap_add(out, n, max, prev_end, start < FOUR_GIB ? start : FOUR_GIB,
				       BOOT_E820_RESERVED);
		if (start < LEGACY_HOLE_END && end > LEGACY_HOLE_START) {
			n = memmap_add(out, n, max, start, LEGACY_HOLE_START, BOOT_E820_RAM);
			n = memmap_add(out, n, max, start > LEGACY_HOLE_START ? start : LEGACY_HOLE_START,
				       end < LEGACY_HOLE_END ? end : LEGACY_HOLE_END, BOOT_E820_RESERVED);
			n = memmap_add(out, n, max, LEGACY_HOLE_END, end, BOOT_E820_RAM);
		} else {
			n = memmap_add(out, n, max, start, end, BOOT_E820_RAM);
		}
		prev_end = end;
	}
	return n;
}

int boot_write_cmdline(struct boot_ctx *ctx)
{
	const char *s = ctx->cmdline ? ctx->cmdline : "";
	size_t len = strlen(s);

	if (len >= ABI_CMDLINE_MAX)
		return boot_fail(ctx, -E2BIG, "command line of %zu bytes (at most %d)", len,
				 ABI_CMDLINE_MAX - 1);
	char *p = boot_hva(ctx, ABI_CMDLINE_GPA, len + 1, "the command line");
	if (!p)
		return -ENOEXEC;
	memcpy(p, s, len + 1);
	return 0;
}

int boot_load_initrd(struct boot_ctx *ctx, uint64_t lo, uint64_t limit, uint64_t *gpa)
{
	const struct boot_mem *mem = ctx->mem;
	uint64_t size = ctx->initrd->size;

	for (unsigned i = mem->nr_ram; i-- > 0;) {
		uint64_t start = mem->ram[i].gpa, end = start + mem->ram[i].size;
		if (end > limit)
			end = limit;
		if (end <= start || end - start < size)
			continue;
		uint64_t at = (end - size) & ~(PAGE_4K - 1);
		if (at < start || at < lo)
			continue;
		if (boot_check_free(ctx, at, size, BOOT_AREAS_ALL, "the initrd"))
			return -ENOEXEC;
		void *p = boot_hva(ctx, at, size, "the initrd");
		if (!p)
			return -ENOEXEC;
		int rc = image_read(ctx->initrd, 0, p, size);
		if (rc)
			return boot_fail(ctx, rc, "%s: %s", ctx->initrd->name, strerror(-rc));
		*gpa = at;
		return 0;
	}
	return boot_fail(ctx, -ENOSPC, "initrd %s (%llu KiB) does not fit in guest RAM between "
			 "%#llx and %#llx", ctx->initrd->name, (unsigned long long)(size >> 10),
			 (unsigned long long)lo, (unsigned long long)limit);
}

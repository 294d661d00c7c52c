/*
 * The Linux x86 boot protocol, 64-bit entry (protocol 2.12+ with
 * XLF_KERNEL_64): the protected-mode kernel at its preferred address (1 MiB
 * for kernels that name none), the zero page at ABI_ZERO_PAGE_GPA holding
 * the image's setup header, the e820 map, the command line and the initrd,
 * and a long-mode entry at load address + 0x200 with rsi = zero page.
 * Booting Linux needs CPL0 at native speed, i.e. a VT-x/AMD-V host.
 */
#include <asm/bootparam.h>
#include <errno.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/loader.h"
#include "vmm/boot/mptable.h"
#include "vmm/boot/boot_tables.h"

#define BZ_HDR_OFFSET      0x1f1
#define BZ_BOOT_FLAG       0xaa55
#define BZ_HDRS            0x53726448u   /* "HdrS" */
#define BZ_MIN_VERSION     0x020c
#define BZ_DEFAULT_LOAD    0x100000ULL
#define BZ_ENTRY64_OFFSET  0x200
#define BZ_LOADER_UNKNOWN  0xff
/* initrd_addr_max of kernels too old to state it. */
#define BZ_INITRD_MAX_OLD  0x37ffffffULL
#define FOUR_GIB           (1ULL << 32)
#define BZ_AREAS (BOOT_AREA_GDT | BOOT_AREA_MEMMAP | BOOT_AREA_STACK | BOOT_AREA_PAGETABLES | \
		  BOOT_AREA_CMDLINE | BOOT_AREA_MPTABLE)

static int bz_check_header(const struct image *img, const struct setup_header *h,
			   struct boot_ctx *ctx)
{
	if (h->boot_flag != BZ_BOOT_FLAG || h->header != BZ_HDRS)
		return boot_fail(ctx, -ENOEXEC, "bzImage setup header lacks its boot flag or \"HdrS\"");
	if (h->version < BZ_MIN_VERSION)
		return boot_fail(ctx, -ENOEXEC, "boot protocol %u.%02u has no 64-bit entry (need 2.12)",
				 h->version >> 8, h->version & 0xff);
	if (!(h->xloadflags & XLF_KERNEL_64))
		return boot_fail(ctx, -ENOEXEC, "bzImage without XLF_KERNEL_64 (no 64-bit entry)");
	if (!(h->loadflags & LOADED_HIGH))
		return boot_fail(ctx, -ENOEXEC, "zImage loaded low is not supported");
	uint64_t setup = ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	if (setup >= img->size)
		return boot_fail(ctx, -ENOEXEC, "truncated: %llu bytes, the setup code alone takes %llu",
				 (unsigned long long)img->size, (unsigned long long)setup);
	if ((uint64_t)h->syssize * 16 > img->size - setup)
		return boot_fail(ctx, -ENOEXEC, "truncated: the kernel needs %llu bytes after setup, "
				 "the file has %llu", (unsigned long long)h->syssize * 16,
				 (unsigned long long)(img->size - setup));
	return 0;
}

/* Loads the protected-mode kernel; [*start, *end) is what it may use. */
static int bz_load_kernel(const struct image *img, const struct setup_header *h,
			  struct boot_ctx *ctx, uint64_t *start, uint64_t *end)
{
	uint64_t setup = ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	uint64_t size = img->size - setup;
	uint64_t span = h->init_size > size ? h->init_size : size;
	uint64_t at = h->pref_address >= BZ_DEFAULT_LOAD ? h->pref_address : BZ_DEFAULT_LOAD;

	if (at + span < at)
		return boot_fail(ctx, -ENOEXEC, "kernel at %#llx of %#llx bytes overflows",
				 (unsigned long long)at, (unsigned long long)span);
	if (boot_check_free(ctx, at, span, BZ_AREAS, "the kernel"))
		return -ENOEXEC;
	uint8_t *p = boot_hva(ctx, at, span, "the kernel (init_size)");
	if (!p)
		return -ENOEXEC;
	int rc = image_read(img, setup, p, size);
	if (rc)
		return boot_fail(ctx, -ENOEXEC, "%s: reading the kernel: %s", img->name, strerror(-rc));
	*start = at;
	*end = at + span;
	return 0;
}

static int bz_zero_page(const struct image *img, struct boot_ctx *ctx, struct boot_entry *out)
{
	struct boot_params *bp = boot_hva(ctx, ABI_ZERO_PAGE_GPA, sizeof(*bp), "the zero page");
	struct boot_memmap_entry map[E820_MAX_ENTRIES_ZEROPAGE];
	uint8_t jump[2];

	if (!bp)
		return -ENOEXEC;
	memset(bp, 0, sizeof(*bp));
	/* The header's own length is in the second byte of its jump (0x201). */
	if (image_read(img, 0x200, jump, 2))
		return boot_fail(ctx, -ENOEXEC, "truncated setup header");
	uint64_t len = 0x202 + jump[1] - BZ_HDR_OFFSET;
	if (len > sizeof(bp->hdr))
		len = sizeof(bp->hdr);
	if (image_read(img, BZ_HDR_OFFSET, &bp->hdr, len))
		return boot_fail(ctx, -ENOEXEC, "truncated setup header");

	size_t cmdlen = ctx->cmdline ? strlen(ctx->cmdline) : 0;
	if (cmdlen > bp->hdr.cmdline_size)
		return boot_fail(ctx, -E2BIG, "command line of %zu bytes, this kernel takes %u", cmdlen,
				 bp->hdr.cmdline_size);
	bp->hdr.type_of_loader = BZ_LOADER_UNKNOWN;
	bp->hdr.cmd_line_ptr = ABI_CMDLINE_GPA;
	bp->hdr.code32_start = (uint32_t)out->kernel_start;
	if (ctx->initrd) {
		uint64_t limit = bp->hdr.initrd_addr_max ? bp->hdr.initrd_addr_max : BZ_INITRD_MAX_OLD;
		limit = limit + 1 < FOUR_GIB ? limit + 1 : FOUR_GIB;
		int rc = boot_load_initrd(ctx, (out->kernel_end + 4095) & ~4095ULL, limit,
					  &out->initrd_gpa);
		if (rc)
			return rc;
		out->initrd_size = ctx->initrd->size;
		bp->hdr.ramdisk_image = (uint32_t)out->initrd_gpa;
		bp->hdr.ramdisk_size = (uint32_t)out->initrd_size;
		bp->ext_ramdisk_size = (uint32_t)(out->initrd_size >> 32);
	}
	unsigned n = boot_memmap(ctx->mem, map, E820_MAX_ENTRIES_ZEROPAGE);
	for (unsigned i = 0; i < n; i++) {
		bp->e820_table[i].addr = map[i].addr;
		bp->e820_table[i].size = map[i].size;
		bp->e820_table[i].type = map[i].type;
	}
	bp->e820_entries = (uint8_t)n;
	return 0;
}

int loader_bzimage(const struct image *img, struct boot_ctx *ctx, struct boot_entry *out)
{
	struct setup_header h;

	if (image_read(img, BZ_HDR_OFFSET, &h, sizeof(h)))
		return boot_fail(ctx, -ENOEXEC, "truncated bzImage setup header (%llu bytes)",
				 (unsigned long long)img->size);
	int rc = bz_check_header(img, &h, ctx);
	if (rc)
		return rc;
	*out = (struct boot_entry){ .mode = BOOT_LONG64, .format = "bzImage" };
	rc = bz_load_kernel(img, &h, ctx, &out->kernel_start, &out->kernel_end);
	if (!rc)
		rc = boot_write_page_tables(ctx, &out->map_top);
	if (rc)
		return rc;
	if (out->kernel_end > out->map_top)
		return boot_fail(ctx, -ENOEXEC, "kernel at %#llx..%#llx is above the boot identity map",
				 (unsigned long long)out->kernel_start, (unsigned long long)out->kernel_end);
	rc = boot_write_cmdline(ctx);
	if (!rc)
		rc = boot_write_gdt(ctx);
	if (!rc)
		rc = boot_write_mptable(ctx, ctx->nr_cpus ? ctx->nr_cpus : 1);
	if (!rc)
		rc = bz_zero_page(img, ctx, out);
	if (rc)
		return rc;
	out->rip = out->kernel_start + BZ_ENTRY64_OFFSET;
	out->rsi = ABI_ZERO_PAGE_GPA;
	out->rsp = BOOT_STACK_TOP;
	return 0;
}

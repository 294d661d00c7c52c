/*
 * The bzImage loader on synthetic images (setup sectors + setup header +
 * payload): where the kernel, command line and initrd land, what the zero
 * page says, and the headers it refuses. Booting real Linux needs a host
 * with VT-x/AMD-V, so this is as far as the tests go.
 */
#include <asm/bootparam.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "abi/memvisor.h"
#include "synth.h"

#define RAM (128ULL << 20)

static int bz_load(const struct synth_bz *s, const char *cmdline, const struct image *initrd,
		   struct synth_ram *ram, struct boot_entry *e, char *why)
{
	size_t len;
	uint8_t *b = synth_bz_build(s, &len);
	struct image img;

	image_open_mem(&img, "bzImage", b, len);
	struct boot_ctx ctx = { .mem = &ram->mem, .cmdline = cmdline, .initrd = initrd };
	int rc = loader_load(&img, &ctx, e);
	strcpy(why, ctx.why);
	free(b);
	return rc;
}

Test(loader_bzimage, kernel_zero_page_cmdline_initrd)
{
	struct synth_ram ram;
	struct boot_entry e;
	struct synth_bz s = synth_bz_default();
	static uint8_t rd[300000];
	struct image initrd;
	char why[256];

	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i ^ (i >> 8));
	image_open_mem(&initrd, "initrd", rd, sizeof(rd));
	synth_ram_init(&ram, RAM);
	cr_assert_eq(bz_load(&s, "console=ttyS0 root=/dev/ram0", &initrd, &ram, &e, why), 0, "%s", why);
	cr_assert_str_eq(e.format, "bzImage");
	cr_assert_eq(e.mode, BOOT_LONG64);
	cr_assert_eq(e.kernel_start, 0x1000000, "loaded at pref_address");
	cr_assert_eq(e.rip, 0x1000200, "64-bit entry at load address + 0x200");
	cr_assert_eq(e.rsi, ABI_ZERO_PAGE_GPA);
	for (size_t i = 0; i < s.kernel_bytes; i += 4099)
		cr_assert_eq(ram.buf[0x1000000 + i], (uint8_t)(i * 7), "kernel byte %zu", i);

	struct boot_params *bp = (void *)(ram.buf + ABI_ZERO_PAGE_GPA);
	cr_assert_eq(bp->hdr.header, 0x53726448);
	cr_assert_eq(bp->hdr.version, 0x020f, "setup header copied from the image");
	cr_assert_eq(bp->hdr.type_of_loader, 0xff);
	cr_assert_eq(bp->hdr.cmd_line_ptr, ABI_CMDLINE_GPA);
	cr_assert_str_eq((char *)ram.buf + ABI_CMDLINE_GPA, "console=ttyS0 root=/dev/ram0");
	cr_assert_eq(bp->hdr.ramdisk_image, e.initrd_gpa);
	cr_assert_eq(bp->hdr.ramdisk_size, sizeof(rd));
	cr_assert_eq(e.initrd_gpa % 4096, 0);
	cr_assert_geq(e.initrd_gpa, 0x1000000 + s.init_size, "initrd above the kernel's init_size");
	cr_assert_leq(e.initrd_gpa + sizeof(rd), RAM);
	cr_assert_eq(memcmp(ram.buf + e.initrd_gpa, rd, sizeof(rd)), 0);

	cr_assert_eq(bp->e820_entries, 3);
	cr_assert(bp->e820_table[0].addr == 0 && bp->e820_table[0].size == ABI_MPTABLE_GPA &&
		  bp->e820_table[0].type == 1);
	cr_assert(bp->e820_table[1].addr == ABI_MPTABLE_GPA && bp->e820_table[1].type == 2,
		  "the MP table and the legacy hole are reserved");
	cr_assert(bp->e820_table[2].addr == 0x100000 && bp->e820_table[2].size == RAM - 0x100000 &&
		  bp->e820_table[2].type == 1);
	cr_assert_eq(((uint64_t *)(ram.buf + ABI_GDT_GPA))[2], 0x00af9b000000ffffULL, "__BOOT_CS");
	cr_assert_eq(((uint64_t *)(ram.buf + ABI_GDT_GPA))[3], 0x00cf93000000ffffULL, "__BOOT_DS");
	cr_assert_eq(((uint64_t *)(ram.buf + ABI_PD_GPA))[8], (8ULL << 21) | 0xe3, "identity map");
	synth_ram_free(&ram);
}

Test(loader_bzimage, initrd_respects_initrd_addr_max)
{
	struct synth_ram ram;
	struct boot_entry e;
	struct synth_bz s = synth_bz_default();
	static uint8_t rd[8192];
	struct image initrd;
	char why[256];

	s.initrd_addr_max = (48 << 20) - 1;
	image_open_mem(&initrd, "initrd", rd, sizeof(rd));
	synth_ram_init(&ram, RAM);
	cr_assert_eq(bz_load(&s, NULL, &initrd, &ram, &e, why), 0, "%s", why);
	cr_assert_leq(e.initrd_gpa + sizeof(rd), 48 << 20);
	cr_assert_geq(e.initrd_gpa + sizeof(rd), (48 << 20) - 8192);
	s.initrd_addr_max = (20 << 20) - 1;    /* below the kernel's end */
	cr_assert_neq(bz_load(&s, NULL, &initrd, &ram, &e, why), 0);
	cr_assert(strstr(why, "does not fit"), "%s", why);
	synth_ram_free(&ram);
}

Test(loader_bzimage, no_pref_address_loads_at_1mib)
{
	struct synth_ram ram;
	struct boot_entry e;
	struct synth_bz s = synth_bz_default();
	char why[256];

	s.pref_address = 0;
	synth_ram_init(&ram, RAM);
	cr_assert_eq(bz_load(&s, "", NULL, &ram, &e, why), 0, "%s", why);
	cr_assert_eq(e.kernel_start, 0x100000);
	cr_assert_eq(e.rip, 0x100200);
	synth_ram_free(&ram);
}

Test(loader_bzimage, refuses_what_it_cannot_boot)
{
	struct synth_ram ram;
	struct boot_entry e;
	char why[256];
	struct synth_bz s;
	static char longline[3000];

	synth_ram_init(&ram, RAM);
	s = synth_bz_default(), s.version = 0x020b;
	cr_assert_neq(bz_load(&s, "", NULL, &ram, &e, why), 0);
	cr_assert(strstr(why, "2.11 has no 64-bit entry"), "%s", why);
	s = synth_bz_default(), s.xloadflags = 0;
	cr_assert_neq(bz_load(&s, "", NULL, &ram, &e, why), 0);
	cr_assert(strstr(why, "XLF_KERNEL_64"), "%s", why);
	s = synth_bz_default(), s.loadflags = 0;
	cr_assert_neq(bz_load(&s, "", NULL, &ram, &e, why), 0);
	cr_assert(strstr(why, "loaded low"), "%s", why);
	s = synth_bz_default(), s.pref_address = 0x7e00000;   /* 126 MiB + 4 MiB init */
	cr_assert_neq(bz_load(&s, "", NULL, &ram, &e, why), 0);
	cr_assert(strstr(why, "not in guest RAM"), "%s", why);
	s = synth_bz_default(), s.pref_address = 0xfffffffffff00000ULL;
	cr_assert_neq(bz_load(&s, "", NULL, &ram, &e, why), 0);
	cr_assert(strstr(why, "overflows"), "%s", why);
	s = synth_bz_default(), s.setup_sects = 200, s.kernel_bytes = 0;
	cr_assert_neq(bz_load(&s, "", NULL, &ram, &e, why), 0);
	cr_assert(strstr(why, "truncated"), "%s", why);
	memset(longline, 'a', sizeof(longline) - 1);
	s = synth_bz_default();
	cr_assert_neq(bz_load(&s, longline, NULL, &ram, &e, why), 0);
	cr_assert(strstr(why, "this kernel takes 2047"), "%s", why);
	synth_ram_free(&ram);
}

Test(loader_bzimage, truncated_kernel_against_syssize)
{
	struct synth_ram ram;
	struct synth_bz s = synth_bz_default();
	struct boot_entry e;
	size_t len;
	uint8_t *b = synth_bz_build(&s, &len);
	struct image img;

	synth_ram_init(&ram, RAM);
	for (size_t cut = 0x1f1; cut < len; cut += 4001) {
		image_open_mem(&img, "bzImage", b, cut);
		struct boot_ctx ctx = { .mem = &ram.mem };
		cr_assert_neq(loader_load(&img, &ctx, &e), 0, "a %zu-byte prefix loaded", cut);
		cr_assert(strstr(ctx.why, "truncated") || strstr(ctx.why, "not a kernel image"),
			  "%zu: %s", cut, ctx.why);
	}
	free(b);
	synth_ram_free(&ram);
}

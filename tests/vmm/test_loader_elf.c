/*
 * The ELF loaders on synthetic images: PVH (ELF64 and ELF32, 4- and 8-byte
 * notes), ELF64 long-mode entry, the start info and memory map they leave,
 * and every kind of bad image: each must fail with a reason, never crash or
 * write outside guest RAM.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/pvh.h"
#include "synth.h"

#define RAM (64ULL << 20)

static int load(struct synth_ram *ram, const uint8_t *img_buf, size_t len, const char *cmdline,
		struct boot_ctx *ctx, struct boot_entry *e)
{
	struct image img;

	image_open_mem(&img, "test.elf", img_buf, len);
	*ctx = (struct boot_ctx){ .mem = &ram->mem, .cmdline = cmdline };
	return loader_load(&img, ctx, e);
}

static int load_synth(const struct synth_elf *s, struct boot_ctx *ctx, struct boot_entry *e,
		      struct synth_ram *ram)
{
	size_t len;
	uint8_t *b = synth_elf_build(s, &len);
	int rc = load(ram, b, len, "console=x", ctx, e);
	free(b);
	return rc;
}

Test(loader_elf, pvh_elf64_loads_segment_and_start_info)
{
	struct synth_ram ram;
	struct boot_ctx ctx;
	struct boot_entry e;
	struct synth_elf s = synth_elf_default();

	synth_ram_init(&ram, RAM);
	memset(ram.buf + 0x100000, 0xaa, 0x3000);   /* bss must come out zeroed */
	cr_assert_eq(load_synth(&s, &ctx, &e, &ram), 0, "%s", ctx.why);
	cr_assert_eq(e.mode, BOOT_PROT32);
	cr_assert_str_eq(e.format, "PVH ELF");
	cr_assert_eq(e.rip, 0x100010);
	cr_assert_eq(e.rbx, ABI_START_INFO_GPA);
	cr_assert_eq(ram.buf[0x100000], 0xc3);
	cr_assert_eq(ram.buf[0x100fff], 0xc3);
	cr_assert_eq(ram.buf[0x101000], 0);
	cr_assert_eq(ram.buf[0x101fff], 0);
	cr_assert_eq(ram.buf[0x102000], 0xaa, "wrote past memsz");
	cr_assert_eq(e.kernel_start, 0x100000);
	cr_assert_eq(e.kernel_end, 0x102000);

	struct pvh_start_info *si = (void *)(ram.buf + ABI_START_INFO_GPA);
	cr_assert_eq(si->magic, PVH_START_MAGIC);
	cr_assert_eq(si->version, 1);
	cr_assert_eq(si->nr_modules, 0);
	cr_assert_eq(si->cmdline_paddr, ABI_CMDLINE_GPA);
	cr_assert_str_eq((char *)ram.buf + ABI_CMDLINE_GPA, "console=x");
	cr_assert_eq(si->memmap_paddr, ABI_MEMMAP_GPA);
	cr_assert_eq(si->memmap_entries, 3);
	struct pvh_memmap_entry *mm = (void *)(ram.buf + ABI_MEMMAP_GPA);
	cr_assert(mm[0].addr == 0 && mm[0].size == ABI_MPTABLE_GPA && mm[0].type == 1);
	cr_assert(mm[1].addr == ABI_MPTABLE_GPA && mm[1].size == 0x100000 - ABI_MPTABLE_GPA &&
		  mm[1].type == 2, "the MP table and the legacy hole are reserved");
	cr_assert(mm[2].addr == 0x100000 && mm[2].size == RAM - 0x100000 && mm[2].type == 1);
	uint64_t *gdt = (void *)(ram.buf + ABI_GDT_GPA);
	cr_assert_eq(gdt[1], 0x00cf9b000000ffffULL, "32-bit code at selector 0x08");
	synth_ram_free(&ram);
}

Test(loader_elf, pvh_elf32_and_4_byte_note)
{
	struct synth_ram ram;
	struct boot_ctx ctx;
	struct boot_entry e;
	struct synth_elf s = synth_elf_default();

	s.is64 = false, s.machine = EM_386, s.note_desc_size = 4, s.pvh_entry = 0x100100;
	synth_ram_init(&ram, RAM);
	cr_assert_eq(load_synth(&s, &ctx, &e, &ram), 0, "%s", ctx.why);
	cr_assert_eq(e.mode, BOOT_PROT32);
	cr_assert_eq(e.rip, 0x100100);
	synth_ram_free(&ram);
}

Test(loader_elf, pvh_initrd_is_module_zero_high_in_ram)
{
	struct synth_ram ram;
	struct boot_entry e;
	struct synth_elf s = synth_elf_default();
	size_t len;
	uint8_t *b = synth_elf_build(&s, &len);
	static uint8_t rd[10000];
	struct image img, initrd;

	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i * 13);
	synth_ram_init(&ram, RAM);
	image_open_mem(&img, "test.elf", b, len);
	image_open_mem(&initrd, "initrd", rd, sizeof(rd));
	struct boot_ctx ctx = { .mem = &ram.mem, .initrd = &initrd };
	cr_assert_eq(loader_load(&img, &ctx, &e), 0, "%s", ctx.why);
	cr_assert_eq(e.initrd_gpa % 4096, 0);
	cr_assert_geq(e.initrd_gpa, e.kernel_end);
	cr_assert_leq(e.initrd_gpa + sizeof(rd), RAM);
	cr_assert_gt(e.initrd_gpa + sizeof(rd), RAM - 8192, "initrd is placed high");
	cr_assert_eq(memcmp(ram.buf + e.initrd_gpa, rd, sizeof(rd)), 0);
	struct pvh_start_info *si = (void *)(ram.buf + ABI_START_INFO_GPA);
	cr_assert_eq(si->nr_modules, 1);
	struct pvh_module *m = (void *)(ram.buf + si->modlist_paddr);
	cr_assert_eq(m->paddr, e.initrd_gpa);
	cr_assert_eq(m->size, sizeof(rd));
	cr_assert_str_eq((char *)ram.buf + ABI_CMDLINE_GPA, "", "no --cmdline: empty string");
	free(b);
	synth_ram_free(&ram);
}

Test(loader_elf, elf64_long_mode_entry_through_identity_map)
{
	struct synth_ram ram;
	struct boot_ctx ctx;
	struct boot_entry e;
	struct synth_elf s = synth_elf_default();

	/* vmlinux style: linked high, loaded at 16 MiB. */
	s.pvh_note = false, s.vaddr = 0xffffffff81000000ULL, s.paddr = 0x1000000;
	s.entry = 0xffffffff81000040ULL;
	synth_ram_init(&ram, RAM);
	cr_assert_eq(load_synth(&s, &ctx, &e, &ram), 0, "%s", ctx.why);
	cr_assert_eq(e.mode, BOOT_LONG64);
	cr_assert_str_eq(e.format, "ELF64");
	cr_assert_eq(e.rip, 0x1000040);
	cr_assert_eq(e.rsi, ABI_START_INFO_GPA);
	cr_assert_eq(e.map_top, 4ULL << 30);
	cr_assert_eq(ram.buf[0x1000000], 0xc3);
	uint64_t *pml4 = (void *)(ram.buf + ABI_PML4_GPA), *pdpt = (void *)(ram.buf + ABI_PDPT_GPA);
	uint64_t *pd = (void *)(ram.buf + ABI_PD_GPA);
	cr_assert_eq(pml4[0], ABI_PDPT_GPA | 0x23);
	cr_assert_eq(pdpt[3], (ABI_PD_GPA + 3 * 4096) | 0x23);
	cr_assert_eq(pd[0], 0xe3, "2 MiB page, P|W|A|D|PS");
	cr_assert_eq(pd[8], (8ULL << 21) | 0xe3);
	cr_assert_eq(pd[3 * 512 + 511], (4ULL << 30) - (2ULL << 20) + 0xe3);
	cr_assert_eq(((uint64_t *)(ram.buf + ABI_GDT_GPA))[2], 0x00af9b000000ffffULL);
	synth_ram_free(&ram);
}

Test(loader_elf, neither_pvh_note_nor_elf64_entry)
{
	struct synth_ram ram;
	struct boot_ctx ctx;
	struct boot_entry e;
	struct synth_elf s = synth_elf_default();

	synth_ram_init(&ram, RAM);
	s.pvh_note = false, s.is64 = false, s.machine = EM_386, s.entry = 0x100000;
	cr_assert_neq(load_synth(&s, &ctx, &e, &ram), 0);
	cr_assert(strstr(ctx.why, "no PVH entry note"), "%s", ctx.why);
	s = synth_elf_default();
	s.pvh_note = false, s.machine = EM_AARCH64;
	cr_assert_neq(load_synth(&s, &ctx, &e, &ram), 0);
	cr_assert(strstr(ctx.why, "not an x86-64 ELF64"), "%s", ctx.why);
	s = synth_elf_default();
	s.pvh_note = false, s.entry = 0x5000000;
	cr_assert_neq(load_synth(&s, &ctx, &e, &ram), 0);
	cr_assert(strstr(ctx.why, "outside every loadable segment"), "%s", ctx.why);
	synth_ram_free(&ram);
}

Test(loader_elf, segments_must_be_in_ram_and_clear_of_boot_structures)
{
	struct synth_ram ram;
	struct boot_ctx ctx;
	struct boot_entry e;
	struct synth_elf s = synth_elf_default();

	synth_ram_init(&ram, RAM);
	s.paddr = RAM - 4096;
	cr_assert_neq(load_synth(&s, &ctx, &e, &ram), 0);
	cr_assert(strstr(ctx.why, "not in guest RAM"), "%s", ctx.why);
	s.paddr = 0x6800;
	cr_assert_neq(load_synth(&s, &ctx, &e, &ram), 0);
	cr_assert(strstr(ctx.why, "overlaps the PVH start info"), "%s", ctx.why);
	s.paddr = 0x1f000;
	cr_assert_neq(load_synth(&s, &ctx, &e, &ram), 0);
	cr_assert(strstr(ctx.why, "overlaps the command line"), "%s", ctx.why);
	s.paddr = 0xfffffffffffff000ULL;
	cr_assert_neq(load_synth(&s, &ctx, &e, &ram), 0);
	cr_assert(strstr(ctx.why, "overflows"), "%s", ctx.why);
	s = synth_elf_default();
	s.memsz = 100;
	cr_assert_neq(load_synth(&s, &ctx, &e, &ram), 0);
	cr_assert(strstr(ctx.why, "exceeds memory size"), "%s", ctx.why);
	s = synth_elf_default();
	s.pvh_entry = (uint32_t)RAM + 0x1000;
	cr_assert_neq(load_synth(&s, &ctx, &e, &ram), 0);
	cr_assert(strstr(ctx.why, "PVH entry point"), "%s", ctx.why);
	synth_ram_free(&ram);
}

Test(loader_elf, memmap_reports_the_gap_between_ram_ranges)
{
	struct synth_ram ram;
	struct boot_memmap_entry map[16];

	synth_ram_init_split(&ram, RAM, 32ULL << 20, 48ULL << 20);
	unsigned n = boot_memmap(&ram.mem, map, 16);
	cr_assert_eq(n, 5);
	cr_assert(map[3].addr == 32ULL << 20 && map[3].size == 16ULL << 20 && map[3].type == 2);
	cr_assert(map[4].addr == 48ULL << 20 && map[4].size == 16ULL << 20 && map[4].type == 1);
	synth_ram_free(&ram);
}

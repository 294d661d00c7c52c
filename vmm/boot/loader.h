/*
 * Kernel image loaders: PVH ELF (loader_pvh.c), ELF64 with a long-mode entry
 * (loader_elf64.c) and the Linux bzImage boot protocol (loader_bzimage.c).
 * They write the image, the boot structures (boot_layout.c) and the boot
 * page tables and GDT (boot_tables.c) into guest RAM and say how the first
 * vCPU enters. Guest RAM is reached only through struct boot_mem, so the loaders
 * do not depend on how it is built and tests can give them a plain buffer.
 *
 * vmm/boot/ owns reading images (image.c, elf.c), the loaders and the low
 * memory layout they share. It uses vmm/arch/x86/ (what the boot tables
 * hold), include/abi/ and libc only.
 */
#ifndef VMM_LOADER_H
#define VMM_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/boot/image.h"

#define BOOT_MAX_RAM 8

struct boot_ram_range {
	uint64_t gpa, size;
};

struct boot_mem {
	/* Host address of [gpa, gpa + len) if all of it is guest RAM in one
	 * piece, else NULL. */
	void *(*hva)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
	struct boot_ram_range ram[BOOT_MAX_RAM];   /* sorted, disjoint */
	unsigned nr_ram;
};

enum boot_mode {
	BOOT_PROT32,       /* 32-bit protected mode, paging off (PVH) */
	BOOT_LONG64,       /* 64-bit long mode, identity-mapped, CPL0 */
};

/* How the boot vCPU starts, and where things went (tests and messages). */
struct boot_entry {
	enum boot_mode mode;
	const char *format;          /* "PVH ELF", "ELF64", "bzImage" */
	uint64_t rip, rbx, rsi, rsp;
	uint64_t kernel_start, kernel_end;
	uint64_t initrd_gpa, initrd_size;
	uint64_t map_top;            /* BOOT_LONG64: identity map covers [0, map_top) */
};

struct boot_ctx {
	const struct boot_mem *mem;
	unsigned nr_cpus;            /* for the MP table; 0 counts as 1 */
	const char *cmdline;         /* NULL: empty */
	const struct image *initrd;  /* NULL: none */
	char why[256];               /* on failure: the reason, one line */
};

/* Fills ctx->why and returns rc (a negative errno). */
int boot_fail(struct boot_ctx *ctx, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Whether the image is a Linux kernel: a bzImage, or an ELF vmlinux (which
 * carries a note of owner "Linux"). */
bool loader_is_linux(const struct image *img);

/* Recognizes the image's format and loads it. 0 or -errno with ctx->why. */
int loader_load(const struct image *img, struct boot_ctx *ctx, struct boot_entry *out);

struct elf_file;
/* Shared by the ELF loaders (elf_load.c): every PT_LOAD at p_paddr, clear of `areas`
 * (BOOT_AREA_*); [*lo, *hi) is the span they cover. */
int loader_load_segments(const struct image *img, const struct elf_file *elf, unsigned areas,
			 struct boot_ctx *ctx, uint64_t *lo, uint64_t *hi);
/* Shared by the ELF loaders: command line, initrd above out->kernel_end,
 * boot GDT, MP table, PVH start info. */
int loader_boot_info(struct boot_ctx *ctx, struct boot_entry *out);
int loader_pvh(const struct image *img, const struct elf_file *elf, uint32_t entry,
	       struct boot_ctx *ctx, struct boot_entry *out);
int loader_elf64(const struct image *img, const struct elf_file *elf, struct boot_ctx *ctx,
		 struct boot_entry *out);
int loader_bzimage(const struct image *img, struct boot_ctx *ctx, struct boot_entry *out);

#endif

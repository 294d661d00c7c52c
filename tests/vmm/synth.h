/*
 * Synthetic inputs for the loader tests: ELF images (ELF32/ELF64, with or
 * without a PVH note) and bzImages built in memory, and a plain buffer that
 * stands in for guest RAM behind struct boot_mem.
 */
#ifndef TESTS_VMM_SYNTH_H
#define TESTS_VMM_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/boot/loader.h"

struct synth_elf {
	bool is64;
	uint16_t machine;
	bool pvh_note;
	uint32_t pvh_entry;
	unsigned note_desc_size;     /* 4 or 8 */
	uint64_t entry;              /* e_entry */
	uint64_t vaddr, paddr;       /* the one PT_LOAD */
	uint64_t filesz, memsz;      /* payload bytes, filled with 0xc3 */
	const void *code;            /* if set, copied to the payload's start */
	size_t code_len;
};

/* A struct synth_elf for a PVH ELF64 at 1 MiB with a 4 KiB payload. */
struct synth_elf synth_elf_default(void);
/* Builds the image into a malloc'd buffer; *len gets its size. */
uint8_t *synth_elf_build(const struct synth_elf *s, size_t *len);
/* Offsets inside a built image, for tests that corrupt fields. */
#define SYNTH_ELF_PHOFF 64

struct synth_bz {
	uint8_t setup_sects;
	uint16_t version;
	uint16_t xloadflags;
	uint8_t loadflags;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	size_t kernel_bytes;         /* protected-mode part, byte i = i * 7 */
};

struct synth_bz synth_bz_default(void);
uint8_t *synth_bz_build(const struct synth_bz *s, size_t *len);

/* Guest RAM as one buffer from GPA 0 (or two ranges split at split_gpa). */
struct synth_ram {
	uint8_t *buf;
	uint64_t size;
	struct boot_mem mem;
};
void synth_ram_init(struct synth_ram *r, uint64_t size);
/* Makes [hole_start, hole_end) a gap: no RAM there, two ranges. */
void synth_ram_init_split(struct synth_ram *r, uint64_t size, uint64_t hole_start, uint64_t hole_end);
void synth_ram_free(struct synth_ram *r);

#endif

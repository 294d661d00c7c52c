/*
 * ELF parsing for the loaders: the file header and program headers of an
 * ELF32 or ELF64 little-endian executable, checked and normalized, and the
 * PVH entry note. Nothing here trusts a number read from the file.
 */
#ifndef VMM_ELF_H
#define VMM_ELF_H

#include <stdbool.h>
#include <stdint.h>
#include "abi/pvh.h"           /* ELF_NOTE_PVH_ENTRY */
#include "vmm/boot/image.h"

#define ELF_MAX_PHDRS 64

struct boot_ctx;

struct elf_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct elf_file {
	bool is64;
	uint16_t machine;
	uint64_t entry;
	unsigned phnum;
	struct elf_phdr ph[ELF_MAX_PHDRS];
};

/* Whether the image starts with the ELF magic. */
bool elf_is_elf(const struct image *img);

/*
 * Reads and checks the headers: class, byte order, version, type ET_EXEC,
 * program header table inside the file, every PT_LOAD with filesz <= memsz,
 * its bytes inside the file and its addresses without overflow.
 * 0 or -ENOEXEC with ctx->why.
 */
int elf_parse(const struct image *img, struct elf_file *elf, struct boot_ctx *ctx);

struct elf_note {
	uint32_t type, desc_size;
	uint64_t desc_off;           /* in the file */
};
#define ELF_NOTE_ANY_TYPE UINT32_MAX

/*
 * The first note of owner (and type, or any type) in a PT_NOTE segment: 0
 * and *out, -ENOENT when there is none, -ENOEXEC (ctx->why) for a malformed
 * note.
 */
int elf_find_note(const struct image *img, const struct elf_file *elf, const char *owner,
		  uint32_t type, struct elf_note *out, struct boot_ctx *ctx);

/*
 * The PVH entry from a Xen note type 18 in a PT_NOTE segment: 0 and *entry,
 * -ENOENT when there is none, -ENOEXEC (ctx->why) for a malformed note.
 */
int elf_find_pvh_entry(const struct image *img, const struct elf_file *elf, uint32_t *entry,
		       struct boot_ctx *ctx);

#endif

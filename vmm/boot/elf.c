/*
 * ELF headers and notes, read field by field through image_read. ELF32 and
 * ELF64 are both accepted because PVH kernels come in either class; the
 * result is one normalized form so the loaders need not care.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include "vmm/boot/elf.h"
#include "vmm/boot/loader.h"

bool elf_is_elf(const struct image *img)
{
	uint8_t magic[SELFMAG];

	return image_read(img, 0, magic, SELFMAG) == 0 && !memcmp(magic, ELFMAG, SELFMAG);
}

static int elf_read_ehdr(const struct image *img, struct elf_file *elf, uint64_t *phoff,
			 unsigned *phentsize, struct boot_ctx *ctx)
{
	Elf64_Ehdr h64;
	Elf32_Ehdr h32;
	uint8_t ident[EI_NIDENT];

	if (image_read(img, 0, ident, EI_NIDENT))
		return boot_fail(ctx, -ENOEXEC, "truncated ELF header (%llu bytes)",
				 (unsigned long long)img->size);
	if (ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64)
		return boot_fail(ctx, -ENOEXEC, "ELF class %u is neither 32- nor 64-bit", ident[EI_CLASS]);
	if (ident[EI_DATA] != ELFDATA2LSB)
		return boot_fail(ctx, -ENOEXEC, "not a little-endian ELF");
	if (ident[EI_VERSION] != EV_CURRENT)
		return boot_fail(ctx, -ENOEXEC, "ELF version %u", ident[EI_VERSION]);
	elf->is64 = ident[EI_CLASS] == ELFCLASS64;
	uint16_t type, phnum;
	if (elf->is64) {
		if (image_read(img, 0, &h64, sizeof(h64)))
			return boot_fail(ctx, -ENOEXEC, "truncated ELF64 header");
		type = h64.e_type, phnum = h64.e_phnum;
		elf->machine = h64.e_machine, elf->entry = h64.e_entry;
		*phoff = h64.e_phoff, *phentsize = h64.e_phentsize;
	} else {
		if (image_read(img, 0, &h32, sizeof(h32)))
			return boot_fail(ctx, -ENOEXEC, "truncated ELF32 header");
		type = h32.e_type, phnum = h32.e_phnum;
		elf->machine = h32.e_machine, elf->entry = h32.e_entry;
		*phoff = h32.e_phoff, *phentsize = h32.e_phentsize;
	}
	if (type != ET_EXEC)
		return boot_fail(ctx, -ENOEXEC, "ELF type %u is not an executable", type);
	if (*phentsize != (elf->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		return boot_fail(ctx, -ENOEXEC, "program header size %u is wrong", *phentsize);
	if (phnum == 0 || phnum > ELF_MAX_PHDRS)
		return boot_fail(ctx, -ENOEXEC, "%u program headers (want 1 to %d)", phnum,
				 ELF_MAX_PHDRS);
	elf->phnum = phnum;
	if (!image_contains(img, *phoff, (uint64_t)phnum * *phentsize))
		return boot_fail(ctx, -ENOEXEC, "program headers at %#llx run past the end of the file",
				 (unsigned long long)*phoff);
	return 0;
}

static int elf_read_phdr(const struct image *img, const struct elf_file *elf, uint64_t off,
			 struct elf_phdr *ph)
{
	if (elf->is64) {
		Elf64_Phdr p;
		if (image_read(img, off, &p, sizeof(p)))
			return -EIO;
		*ph = (struct elf_phdr){ p.p_type, p.p_flags, p.p_offset, p.p_vaddr, p.p_paddr,
					 p.p_filesz, p.p_memsz, p.p_align };
	} else {
		Elf32_Phdr p;
		if (image_read(img, off, &p, sizeof(p)))
			return -EIO;
		*ph = (struct elf_phdr){ p.p_type, p.p_flags, p.p_offset, p.p_vaddr, p.p_paddr,
					 p.p_filesz, p.p_memsz, p.p_align };
	}
	return 0;
}

int elf_parse(const struct image *img, struct elf_file *elf, struct boot_ctx *ctx)
{
	uint64_t phoff = 0;
	unsigned phentsize = 0;

	memset(elf, 0, sizeof(*elf));
	int rc = elf_read_ehdr(img, elf, &phoff, &phentsize, ctx);
	if (rc)
		return rc;
	for (unsigned i = 0; i < elf->phnum; i++) {
		struct elf_phdr *ph = &elf->ph[i];
		if (elf_read_phdr(img, elf, phoff + (uint64_t)i * phentsize, ph))
			return boot_fail(ctx, -ENOEXEC, "program header %u unreadable", i);
		if (ph->type != PT_LOAD && ph->type != PT_NOTE)
			continue;
		if (!image_contains(img, ph->offset, ph->filesz))
			return boot_fail(ctx, -ENOEXEC, "segment %u: bytes %#llx+%#llx run past the end "
					 "of the file (%llu bytes)", i, (unsigned long long)ph->offset,
					 (unsigned long long)ph->filesz, (unsigned long long)img->size);
		if (ph->type == PT_LOAD && ph->filesz > ph->memsz)
			return boot_fail(ctx, -ENOEXEC, "segment %u: file size %#llx exceeds memory "
					 "size %#llx", i, (unsigned long long)ph->filesz,
					 (unsigned long long)ph->memsz);
		if (ph->paddr + ph->memsz < ph->paddr || ph->vaddr + ph->memsz < ph->vaddr)
			return boot_fail(ctx, -ENOEXEC, "segment %u: address range overflows", i);
	}
	return 0;
}

/* Walks one PT_NOTE segment for a note of owner (and of type, unless
 * ELF_NOTE_ANY_TYPE); notes are 4-byte aligned unless it says 8. */
static int elf_scan_notes(const struct image *img, const struct elf_phdr *ph, const char *owner,
			  uint32_t type, struct elf_note *out, struct boot_ctx *ctx)
{
	uint64_t align = ph->align == 8 ? 8 : 4;
	uint64_t off = ph->offset, end = ph->offset + ph->filesz;
	size_t owner_len = strlen(owner) + 1;
	char name[16];

	while (end - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr n;       /* the same three 32-bit words in both classes */
		if (image_read(img, off, &n, sizeof(n)))
			return boot_fail(ctx, -ENOEXEC, "note at %#llx unreadable", (unsigned long long)off);
		uint64_t name_off = off + sizeof(n);
		uint64_t desc_off = name_off + (((uint64_t)n.n_namesz + align - 1) & ~(align - 1));
		uint64_t next = desc_off + (((uint64_t)n.n_descsz + align - 1) & ~(align - 1));
		if (desc_off > end || n.n_descsz > end - desc_off)
			return boot_fail(ctx, -ENOEXEC, "note at %#llx runs past its segment",
					 (unsigned long long)off);
		if (next > end)     /* the last note's padding may be left out */
			next = end;
		if (n.n_namesz == owner_len && (type == ELF_NOTE_ANY_TYPE || n.n_type == type) &&
		    !image_read(img, name_off, name, owner_len) && !memcmp(name, owner, owner_len)) {
			*out = (struct elf_note){ .type = n.n_type, .desc_off = desc_off,
						  .desc_size = n.n_descsz };
			return 0;
		}
		off = next;
	}
	return -ENOENT;
}

int elf_find_note(const struct image *img, const struct elf_file *elf, const char *owner,
		  uint32_t type, struct elf_note *out, struct boot_ctx *ctx)
{
	if (strlen(owner) >= 16)
		return -ENOENT;
	for (unsigned i = 0; i < elf->phnum; i++) {
		if (elf->ph[i].type != PT_NOTE)
			continue;
		int rc = elf_scan_notes(img, &elf->ph[i], owner, type, out, ctx);
		if (rc != -ENOENT)
			return rc;
	}
	return -ENOENT;
}

int elf_find_pvh_entry(const struct image *img, const struct elf_file *elf, uint32_t *entry,
		       struct boot_ctx *ctx)
{
	struct elf_note note;
	uint64_t v = 0;
	int rc = elf_find_note(img, elf, "Xen", ELF_NOTE_PVH_ENTRY, &note, ctx);

	if (rc)
		return rc;
	if (note.desc_size != 4 && note.desc_size != 8)
		return boot_fail(ctx, -ENOEXEC, "PVH entry note has %u bytes (want 4 or 8)", note.desc_size);
	if (image_read(img, note.desc_off, &v, note.desc_size))
		return boot_fail(ctx, -ENOEXEC, "PVH entry note unreadable");
	if (v > UINT32_MAX)
		return boot_fail(ctx, -ENOEXEC, "PVH entry %#llx is above 4 GiB", (unsigned long long)v);
	*entry = (uint32_t)v;
	return 0;
}

/*
 * Synthetic images and guest RAM for the loader tests (see synth.h). The
 * images follow the formats' specifications field by field, so each test can
 * break exactly one field.
 */
#include <asm/bootparam.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include "synth.h"

#define PAYLOAD_OFF 0x1000

struct synth_elf synth_elf_default(void)
{
	return (struct synth_elf){
		.is64 = true, .machine = EM_X86_64, .pvh_note = true, .pvh_entry = 0x100010,
		.note_desc_size = 8, .entry = 0x100020, .vaddr = 0x100000, .paddr = 0x100000,
		.filesz = 4096, .memsz = 8192,
	};
}

/* The note: "Xen" type 18 with a 4- or 8-byte entry; returns its size. */
static size_t synth_note(const struct synth_elf *s, uint8_t *p)
{
	uint32_t hdr[3] = { 4, s->note_desc_size, 18 };
	uint64_t entry = s->pvh_entry;

	memcpy(p, hdr, 12);
	memcpy(p + 12, "Xen", 4);
	memcpy(p + 16, &entry, s->note_desc_size);
	return 16 + s->note_desc_size;
}

uint8_t *synth_elf_build(const struct synth_elf *s, size_t *len)
{
	size_t total = PAYLOAD_OFF + s->filesz;
	uint8_t *b = calloc(1, total);
	unsigned phnum = s->pvh_note ? 2 : 1;
	size_t phsize = s->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t note_off = SYNTH_ELF_PHOFF + phnum * phsize;
	size_t note_len = s->pvh_note ? synth_note(s, b + note_off) : 0;

	memset(b + PAYLOAD_OFF, 0xc3, s->filesz);
	if (s->code)
		memcpy(b + PAYLOAD_OFF, s->code, s->code_len < s->filesz ? s->code_len : s->filesz);
	memcpy(b, ELFMAG, SELFMAG);
	b[EI_CLASS] = s->is64 ? ELFCLASS64 : ELFCLASS32;
	b[EI_DATA] = ELFDATA2LSB;
	b[EI_VERSION] = EV_CURRENT;
	if (s->is64) {
		Elf64_Ehdr *h = (Elf64_Ehdr *)b;
		h->e_type = ET_EXEC, h->e_machine = s->machine, h->e_version = EV_CURRENT;
		h->e_entry = s->entry, h->e_phoff = SYNTH_ELF_PHOFF, h->e_ehsize = sizeof(*h);
		h->e_phentsize = sizeof(Elf64_Phdr), h->e_phnum = (uint16_t)phnum;
		Elf64_Phdr *ph = (Elf64_Phdr *)(b + SYNTH_ELF_PHOFF);
		ph[0] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_X, PAYLOAD_OFF, s->vaddr, s->paddr, s->filesz,
				      s->memsz, 4096 };
		if (s->pvh_note)
			ph[1] = (Elf64_Phdr){ PT_NOTE, PF_R, note_off, 0, 0, note_len, note_len, 4 };
	} else {
		Elf32_Ehdr *h = (Elf32_Ehdr *)b;
		h->e_type = ET_EXEC, h->e_machine = s->machine, h->e_version = EV_CURRENT;
		h->e_entry = (uint32_t)s->entry, h->e_phoff = SYNTH_ELF_PHOFF, h->e_ehsize = sizeof(*h);
		h->e_phentsize = sizeof(Elf32_Phdr), h->e_phnum = (uint16_t)phnum;
		Elf32_Phdr *ph = (Elf32_Phdr *)(b + SYNTH_ELF_PHOFF);
		ph[0] = (Elf32_Phdr){ PT_LOAD, PAYLOAD_OFF, (uint32_t)s->vaddr, (uint32_t)s->paddr,
				      (uint32_t)s->filesz, (uint32_t)s->memsz, PF_R | PF_X, 4096 };
		if (s->pvh_note)
			ph[1] = (Elf32_Phdr){ PT_NOTE, (uint32_t)note_off, 0, 0, (uint32_t)note_len,
					      (uint32_t)note_len, PF_R, 4 };
	}
	*len = total;
	return b;
}

struct synth_bz synth_bz_default(void)
{
	return (struct synth_bz){
		.setup_sects = 4, .version = 0x020f, .xloadflags = XLF_KERNEL_64,
		.loadflags = LOADED_HIGH, .pref_address = 0x1000000, .init_size = 0x400000,
		.cmdline_size = 2047, .initrd_addr_max = 0x7fffffff, .kernel_bytes = 0x30000,
	};
}

uint8_t *synth_bz_build(const struct synth_bz *s, size_t *len)
{
	size_t setup = ((size_t)(s->setup_sects ? s->setup_sects : 4) + 1) * 512;
	size_t total = setup + s->kernel_bytes;
	uint8_t *b = calloc(1, total > 0x1000 ? total : 0x1000);
	struct setup_header h = {
		.setup_sects = s->setup_sects, .syssize = (uint32_t)((s->kernel_bytes + 15) / 16),
		.boot_flag = 0xaa55, .jump = (uint16_t)(0xeb | ((0x268 - 0x202) << 8)),
		.header = 0x53726448, .version = s->version, .loadflags = s->loadflags,
		.code32_start = 0x100000, .cmdline_size = s->cmdline_size,
		.initrd_addr_max = s->initrd_addr_max, .kernel_alignment = 0x200000,
		.relocatable_kernel = 1, .xloadflags = s->xloadflags, .pref_address = s->pref_address,
		.init_size = s->init_size,
	};

	memcpy(b + 0x1f1, &h, sizeof(h));
	for (size_t i = 0; i < s->kernel_bytes; i++)
		b[setup + i] = (uint8_t)(i * 7);
	*len = total;
	return b;
}

static void *synth_hva(void *ctx, uint64_t gpa, uint64_t len)
{
	struct synth_ram *r = ctx;

	for (unsigned i = 0; i < r->mem.nr_ram; i++) {
		const struct boot_ram_range *rr = &r->mem.ram[i];
		if (gpa >= rr->gpa && len <= rr->size && gpa - rr->gpa <= rr->size - len)
			return r->buf + gpa;
	}
	return NULL;
}

void synth_ram_init(struct synth_ram *r, uint64_t size)
{
	r->buf = calloc(1, size);
	r->size = size;
	r->mem = (struct boot_mem){ .hva = synth_hva, .ctx = r, .nr_ram = 1 };
	r->mem.ram[0] = (struct boot_ram_range){ 0, size };
}

void synth_ram_init_split(struct synth_ram *r, uint64_t size, uint64_t hole_start, uint64_t hole_end)
{
	synth_ram_init(r, size);
	r->mem.nr_ram = 2;
	r->mem.ram[0] = (struct boot_ram_range){ 0, hole_start };
	r->mem.ram[1] = (struct boot_ram_range){ hole_end, size - hole_end };
}

void synth_ram_free(struct synth_ram *r)
{
	free(r->buf);
	r->buf = NULL;
}

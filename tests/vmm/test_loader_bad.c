/*
 * Hostile images against the loaders: empty, truncated, random bytes, each
 * header field broken on its own, and many random mutations of a valid
 * image. Every one must fail with a reason (or, for a harmless mutation,
 * load), and none may crash or touch memory outside guest RAM (the suite
 * also runs under ASan).
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "synth.h"

#define RAM (32ULL << 20)

static int try_load(const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	struct synth_ram ram;
	struct image img;
	struct boot_entry e;

	synth_ram_init(&ram, RAM);
	image_open_mem(&img, "bad", buf, len);
	struct boot_ctx ctx = { .mem = &ram.mem, .cmdline = "x" };
	int rc = loader_load(&img, &ctx, &e);
	if (rc)
		cr_assert_neq(ctx.why[0], '\0', "failure without a reason");
	if (why)
		snprintf(why, whylen, "%s", ctx.why);
	synth_ram_free(&ram);
	return rc;
}

static void assert_fails_with(const uint8_t *buf, size_t len, const char *reason)
{
	char why[256];

	cr_assert_neq(try_load(buf, len, why, sizeof(why)), 0, "loaded; expected '%s'", reason);
	cr_assert(strstr(why, reason), "reason '%s', expected '%s'", why, reason);
}

Test(loader_bad, empty_and_tiny)
{
	static const uint8_t one[1] = { 0x7f };
	assert_fails_with(one, 0, "too short");
	assert_fails_with(one, 1, "too short");
}

Test(loader_bad, random_bytes)
{
	uint8_t buf[8192];

	srand(1);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	buf[0] = 0;       /* no accidental magic */
	assert_fails_with(buf, sizeof(buf), "not a kernel image");
}

Test(loader_bad, truncated_elf_everywhere)
{
	struct synth_elf s = synth_elf_default();
	size_t len;
	uint8_t *b = synth_elf_build(&s, &len);

	/* Every prefix of a valid image fails, with a reason. */
	for (size_t cut = 0; cut < len; cut += cut < 256 ? 1 : 509)
		cr_assert_neq(try_load(b, cut, NULL, 0), 0, "a %zu-byte prefix loaded", cut);
	assert_fails_with(b, 40, "truncated ELF64 header");
	assert_fails_with(b, 100, "program headers");
	assert_fails_with(b, 0x1100, "past the end of the file");
	cr_assert_eq(try_load(b, len, NULL, 0), 0);
	free(b);
}

/* Breaks one field of a valid image; returns the reason expected, NULL past the last case. */
static const char *break_field(int i, uint8_t *img)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + SYNTH_ELF_PHOFF);
	uint32_t *note = (uint32_t *)(img + ph[1].p_offset);

	switch (i) {
	case 0: h->e_ident[EI_CLASS] = 9; return "ELF class";
	case 1: h->e_ident[EI_DATA] = ELFDATA2MSB; return "little-endian";
	case 2: h->e_type = ET_DYN; return "not an executable";
	case 3: h->e_phentsize = 12; return "program header size";
	case 4: h->e_phnum = 0; return "program headers";
	case 5: h->e_phnum = 65535; return "program headers";
	case 6: h->e_phoff = ~0ULL - 8; return "past the end";
	case 7: ph[0].p_offset = ~0ULL - 100; return "past the end";
	case 8: ph[0].p_filesz = 1ULL << 40; return "past the end";
	case 9: ph[0].p_memsz = ~0ULL; return "overflows";
	case 10: ph[0].p_memsz = 1ULL << 40; return "not in guest RAM";
	case 11: ph[0].p_type = PT_NULL; return "no loadable segment";
	case 12: ph[1].p_filesz = 1u << 20; return "past the end";
	case 13: note[1] = 1000; return "runs past its segment";    /* descsz */
	case 14: note[0] = 0xfffffff0u; return "runs past its segment"; /* namesz */
	case 15: note[1] = 2; return "PVH entry note has 2 bytes";
	}
	return NULL;
}

Test(loader_bad, broken_header_fields)
{
	struct synth_elf s = synth_elf_default();
	size_t len;
	uint8_t *b = synth_elf_build(&s, &len), *c = malloc(len);
	const char *why;

	for (int i = 0; memcpy(c, b, len), (why = break_field(i, c)) != NULL; i++)
		assert_fails_with(c, len, why);
	free(c);
	free(b);
}

Test(loader_bad, random_mutations_never_crash)
{
	struct synth_elf s = synth_elf_default();
	size_t len;
	uint8_t *b = synth_elf_build(&s, &len), *c = malloc(len);

	srand(42);
	for (int round = 0; round < 3000; round++) {
		memcpy(c, b, len);
		int flips = 1 + rand() % 4;
		for (int k = 0; k < flips; k++)
			c[rand() % 256] = (uint8_t)rand();     /* the headers and the note */
		try_load(c, len, NULL, 0);
	}
	free(c);
	free(b);
}

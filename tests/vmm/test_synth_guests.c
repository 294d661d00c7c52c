/*
 * Tiny hand-assembled guests, built into ELF images by the test and booted
 * by build/memvisor: they check what a guest sees at entry (PVH start info
 * and command line in 32-bit mode; the identity map in long mode) and what
 * the VMM does with each port: UART, debug exit, exit port, console port
 * (good and bad descriptors), unknown ports and MMIO (all-ones, logged
 * once), and a triple fault.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include "runner.h"
#include "synth.h"

static const char *guest_file(bool pvh, const uint8_t *code, size_t len)
{
	struct synth_elf s = synth_elf_default();
	size_t img_len;

	s.code = code, s.code_len = len;
	s.pvh_note = pvh, s.pvh_entry = 0x100000, s.entry = 0x100000;
	uint8_t *img = synth_elf_build(&s, &img_len);
	const char *path = temp_file(img, img_len);
	free(img);
	return path;
}

#define RUN(r, ...) run_memvisor(r, &(struct run_opts){ .timeout_s = 30 }, \
				 (const char *const[]){ "-m", "16M", __VA_ARGS__, NULL })

Test(synth_guests, pvh_entry_sees_start_info_and_cmdline)
{
	static const uint8_t code[] = {
		0x81, 0x3b, 0x78, 0xc5, 0x6e, 0x33,    /* cmp dword [ebx], PVH magic */
		0x75, 0x0e,                            /* jne bad */
		0x8b, 0x43, 0x18,                      /* mov eax, [ebx + cmdline_paddr] */
		0x80, 0x38, 0x5a,                      /* cmp byte [eax], 'Z' */
		0x75, 0x06,                            /* jne bad */
		0xb0, 0x03, 0xe6, 0xf4,                /* out 0xf4, 3: status 7 */
		0xeb, 0xfe,
		0xb0, 0x01, 0xe6, 0xf4,                /* bad: out 0xf4, 1: status 3 */
		0xeb, 0xfe,
	};
	struct run_result r;

	test_need_kvm();
	const char *img = guest_file(true, code, sizeof(code));
	RUN(&r, "--cmdline", "Zebra", img);
	cr_assert_eq(r.status, 7, "debug exit 3 -> 7; status %d, stderr:\n%s", r.status, r.err);
	run_free(&r);
	RUN(&r, "--cmdline", "zebra", img);
	cr_assert_eq(r.status, 3, "status %d, stderr:\n%s", r.status, r.err);
	run_free(&r);
}

Test(synth_guests, long_mode_ports_uart_unhandled_and_mmio)
{
	static const uint8_t code[] = {
		0xe4, 0x80,                            /* in al, 0x80 (nothing there) */
		0x88, 0xc3,                            /* mov bl, al */
		0xe4, 0x80,                            /* in al, 0x80 again */
		0x20, 0xd8,                            /* and al, bl */
		0x3c, 0xff,                            /* cmp al, 0xff */
		0x75, 0x21,                            /* jne bad */
		0xb8, 0x00, 0x00, 0xb0, 0xfe,          /* mov eax, 0xfeb00000 */
		0x48, 0x8b, 0x00,                      /* mov rax, [rax]: MMIO, no device */
		0x48, 0x83, 0xf8, 0xff,                /* cmp rax, -1 */
		0x75, 0x13,                            /* jne bad */
		0x66, 0xba, 0xf8, 0x03,                /* mov dx, 0x3f8 */
		0xb0, 0x6f, 0xee,                      /* out dx, 'o' */
		0xb0, 0x6b, 0xee,                      /* out dx, 'k' */
		0xb0, 0x0a, 0xee,                      /* out dx, '\n' */
		0xb0, 0x05, 0xe6, 0xf4,                /* out 0xf4, 5: status 11 */
		0xeb, 0xfe,
		0xb0, 0x01, 0xe6, 0xf4,                /* bad: status 3 */
		0xeb, 0xfe,
	};
	struct run_result r;

	test_need_kvm();
	RUN(&r, guest_file(false, code, sizeof(code)));
	cr_assert_eq(r.status, 11, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert_str_eq(r.out, "ok\n");
	const char *line = "memvisor: unhandled port 0x80 (logged once)\n";
	const char *first = strstr(r.err, line);
	cr_assert(first, "%s", r.err);
	cr_assert_null(strstr(first + strlen(line), "port 0x80"), "logged twice:\n%s", r.err);
	cr_assert(strstr(r.err, "memvisor: unhandled MMIO 0xfeb00000 (logged once)\n"), "%s", r.err);
	cr_assert(strstr(r.err, "ELF64 guest ran"), "%s", r.err);
	run_free(&r);
}

Test(synth_guests, exit_port_and_console_port)
{
	uint8_t code[0x160] = {
		0x66, 0xba, 0x40, 0x07,                /* mov dx, 0x740 */
		0xb8, 0xf0, 0xff, 0xff, 0x7f,          /* mov eax, 0x7ffffff0: not RAM */
		0xef,                                  /* out dx, eax */
		0xb8, 0x40, 0x01, 0x10, 0x00,          /* mov eax, 0x100140: len too big */
		0xef,
		0xb8, 0x00, 0x01, 0x10, 0x00,          /* mov eax, 0x100100: good */
		0xef, 0xef,                            /* twice */
		0x66, 0xba, 0x44, 0x07,                /* mov dx, 0x744 */
		0xb8, 0x2a, 0x00, 0x00, 0x00,          /* mov eax, 42 */
		0xef,                                  /* out dx, eax: exit 42 */
		0xeb, 0xfe,
	};
	struct { uint64_t gpa; uint32_t len, reserved; } good = { 0x100120, 3, 0 },
							      big = { 0x100120, 0x20000, 0 };
	struct run_result r;

	memcpy(code + 0x100, &good, sizeof(good));
	memcpy(code + 0x120, "hi\n", 3);
	memcpy(code + 0x140, &big, sizeof(big));
	test_need_kvm();
	RUN(&r, guest_file(false, code, sizeof(code)));
	cr_assert_eq(r.status, 42, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert_str_eq(r.out, "hi\nhi\n");
	const char *line = "memvisor: bad request on port 0x740 (logged once)\n";
	const char *bad = strstr(r.err, line);
	cr_assert(bad, "%s", r.err);
	cr_assert_null(strstr(bad + strlen(line), "port 0x740"), "logged twice:\n%s", r.err);
	run_free(&r);
}

Test(synth_guests, triple_fault_is_reported)
{
	static const uint8_t code[] = { 0x0f, 0x0b };   /* ud2 with no IDT */
	struct run_result r;

	test_need_kvm();
	RUN(&r, guest_file(false, code, sizeof(code)));
	cr_assert_eq(r.status, 2, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "memvisor: guest crashed: triple fault, vCPU 0"), "%s", r.err);
	cr_assert(strstr(r.err, "RIP 0x0000000000100000"), "%s", r.err);
	run_free(&r);
}

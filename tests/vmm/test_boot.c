/*
 * The guest images booted by build/memvisor as a user runs it: what each
 * prints, the exit status, the crash reports (vector, error code, RIP, CR2),
 * more than one vCPU, --stats, and a signal stopping a running guest.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/boot/elf.h"
#include "vmm/boot/loader.h"
#include "runner.h"

#define RUN(r, ...) run_memvisor(r, &(struct run_opts){ 0 }, (const char *const[]){ __VA_ARGS__, NULL })

Test(boot, hello_prints_its_line_and_exits_0)
{
	struct run_result r;

	test_need_kvm();
	RUN(&r, test_build_path("guest/hello.elf"));
	cr_assert_eq(r.status, 0, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert_str_eq(r.out, "hello from memvisor guest\n");
	cr_assert(strstr(r.err, "memvisor: PVH ELF guest ran"), "short stats at exit:\n%s", r.err);
	cr_assert(strstr(r.err, "Node 0, zone   Normal"), "buddyinfo at exit:\n%s", r.err);
	cr_assert(strstr(r.err, "memvisor: slab ("), "slab summary at exit:\n%s", r.err);
	run_free(&r);
}

Test(boot, hello_with_two_vcpus_and_each_hugepages_mode)
{
	struct run_result r;

	test_need_kvm();
	/* The second vCPU waits for INIT/SIPI in the kernel; the end must
	 * still kick it out and join it. */
	RUN(&r, "--cpus", "2", test_build_path("guest/hello.elf"));
	cr_assert_eq(r.status, 0, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert_str_eq(r.out, "hello from memvisor guest\n");
	run_free(&r);
	RUN(&r, "--hugepages", "off", "-m", "32M", test_build_path("guest/hello.elf"));
	cr_assert_eq(r.status, 0, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "contiguous in zone Normal"), "%s", r.err);
	cr_assert_null(strstr(r.err, "zone     Huge"), "no zone Huge with off:\n%s", r.err);
	run_free(&r);
}

Test(boot, initrd_and_cmdline_reach_a_pvh_guest)
{
	struct run_result r;
	static const char rd[] = "initrd contents";

	test_need_kvm();
	RUN(&r, "--initrd", temp_file(rd, sizeof(rd)), "--cmdline", "fault=ud",
	    test_build_path("guest/fault.elf"));
	cr_assert_eq(r.status, 2, "the command line chose #UD; status %d:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "expect #UD"), "%s", r.out);
	run_free(&r);
}

Test(boot, memtest_passes)
{
	struct run_result r;

	test_need_kvm();
	RUN(&r, "-m", "64M", "--cmdline", "size=32M", test_build_path("guest/memtest.elf"));
	cr_assert_eq(r.status, 0, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "memtest: 32 MiB first-touch "), "%s", r.out);
	cr_assert(strstr(r.out, " ok\n"), "%s", r.out);
	run_free(&r);
}

Test(boot, page_fault_report_names_pf_and_cr2)
{
	struct run_result r;

	test_need_kvm();
	RUN(&r, test_build_path("guest/fault.elf"));
	cr_assert_eq(r.status, 2, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "expect #PF"), "%s", r.out);
	cr_assert(strstr(r.err, "memvisor: guest crashed: #PF (14), error code 0x4 at RIP 0x"),
		  "%s", r.err);
	cr_assert(strstr(r.err, "CR2 0x7f0000000000"), "%s", r.err);
	cr_assert(strstr(r.err, "RAX 0x") && strstr(r.err, "R15 0x"), "registers:\n%s", r.err);
	run_free(&r);
}

/* The bytes of the image at guest address gpa (its PT_LOAD maps it). */
static int image_bytes_at(const char *path, uint64_t gpa, uint8_t *out, size_t n)
{
	struct image img;
	struct elf_file elf;
	struct boot_ctx ctx = { 0 };

	cr_assert_eq(image_open(&img, path), 0);
	cr_assert_eq(elf_parse(&img, &elf, &ctx), 0, "%s", ctx.why);
	int rc = -1;
	for (unsigned i = 0; i < elf.phnum && rc; i++) {
		const struct elf_phdr *ph = &elf.ph[i];
		if (ph->type == PT_LOAD && gpa >= ph->paddr && gpa + n <= ph->paddr + ph->filesz)
			rc = image_read(&img, ph->offset + gpa - ph->paddr, out, n);
	}
	image_close(&img);
	return rc;
}

Test(boot, invalid_opcode_report_names_ud_and_its_rip)
{
	struct run_result r;
	unsigned long long rip;
	uint8_t insn[2];

	test_need_kvm();
	RUN(&r, "--cmdline", "fault=ud", test_build_path("guest/fault.elf"));
	cr_assert_eq(r.status, 2, "status %d, stderr:\n%s", r.status, r.err);
	const char *at = strstr(r.err, "memvisor: guest crashed: #UD (6) at RIP 0x");
	cr_assert(at, "%s", r.err);
	cr_assert_eq(sscanf(at, "memvisor: guest crashed: #UD (6) at RIP %llx", &rip), 1);
	cr_assert_eq(image_bytes_at(test_build_path("guest/fault.elf"), rip, insn, 2), 0,
		     "RIP %#llx is not in the image", rip);
	cr_assert(insn[0] == 0x0f && insn[1] == 0x0b, "RIP %#llx holds %02x %02x, not ud2", rip,
		  insn[0], insn[1]);
	run_free(&r);
}

Test(boot, stats_prints_buddyinfo_and_slabinfo)
{
	struct run_result r;

	test_need_kvm();
	RUN(&r, "--stats", "-m", "64M", test_build_path("guest/hello.elf"));
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.err, "Node 0, zone   Normal"), "%s", r.err);
	cr_assert(strstr(r.err, "slabinfo - version: 2.1"), "%s", r.err);
	/* The VMM's vcpu cache, listed as /proc/slabinfo lists caches: on its
	 * own, or (SLUB, SLAB) under kmalloc-64, which it merged into. */
	cr_assert(strstr(r.err, "\nvcpu ") || strstr(r.err, "\nkmalloc-64 "), "the vcpu cache:\n%s",
		  r.err);
	run_free(&r);
}

Test(boot, signal_stops_a_running_guest)
{
	struct run_result r;
	struct run_opts o = { .timeout_s = 30, .signal = SIGTERM, .signal_after_s = 0.5 };

	test_need_kvm();
	/* remap spins for a minute waiting for a change nobody makes. */
	run_memvisor(&r, &o, (const char *const[]){ "--cmdline", "timeout_ms=60000",
						    test_build_path("guest/remap.elf"), NULL });
	cr_assert_not(r.timed_out);
	cr_assert_eq(r.status, 128 + SIGTERM, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "memvisor: stopping the guest on signal 15"), "%s", r.err);
	run_free(&r);
}

/*
 * The balloon device end to end in build/memvisor with the balloon guest
 * (build/guest/balloon.elf): the guest finds the device from the command
 * line memvisor appends (QEMU microvm's virtio_mmio.device=512@0xfeb00e00:12),
 * negotiates the offered features, and follows a domain's <currentMemory>
 * target through ioeventfd notifications and the device's interrupts.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "runner.h"

static const char *balloon_domain(const char *model)
{
	static char xml[1024];

	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'><name>b</name>"
		 "<memory unit='MiB'>256</memory><currentMemory unit='MiB'>128</currentMemory>"
		 "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type><kernel>%s</kernel></os>"
		 "<devices><memballoon model='%s'/></devices></domain>",
		 test_build_path("guest/balloon.elf"), model);
	return temp_file(xml, strlen(xml));
}

Test(virtio_boot, a_domain_target_inflates_the_guest)
{
	struct run_result r;
	struct run_opts o = { .timeout_s = 60, .signal = SIGTERM, .signal_after_s = 6 };

	test_need_kvm();
	run_memvisor(&r, &o, (const char *const[]){ "--domain", balloon_domain("virtio"), NULL });
	cr_assert_not(r.timed_out);
	cr_assert_eq(r.status, 128 + SIGTERM, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "features 0x100000027 at 0xfeb00e00"),
		  "VERSION_1, MUST_TELL_HOST, STATS_VQ, DEFLATE_ON_OOM and REPORTING (on by default) "
		  "at microvm's address:\n%s", r.out);
	/* 128 MiB of 256 given back: 32768 pages of 4 KiB. */
	cr_assert(strstr(r.out, "target 32768 pages actual 32768 pages ws ok"), "%s", r.out);
	run_free(&r);
}

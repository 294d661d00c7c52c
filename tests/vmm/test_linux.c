/*
 * The Linux test guest (make linux-guest) under build/memvisor, as a user
 * runs it: vmlinux through PVH and the bzImage through the boot protocol
 * reach the init with 1 and 2 vCPUs, in zone Normal and zone Huge and on
 * scattered frames; Linux's balloon driver binds to memvisor's device; the
 * init's memory check passes and its status is memvisor's; a kernel panic
 * ends the VM with the crash status. Everything needs /dev/kvm. On PVM
 * hosts the kernel's CPL 0 code is emulated, so each boot takes seconds.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fragment.h"
#include "inproc.h"
#include "runner.h"
#include "tests/support/linux_guest.h"

#define MIB (1ULL << 20)
/* About 16 s on a PVM host before this work; a loaded machine takes more. */
#define BOOT_LIMIT_S 300

static void boot(struct run_result *r, const char *const *args)
{
	run_memvisor(r, &(struct run_opts){ .timeout_s = BOOT_LIMIT_S }, args);
}

static void check_init(const struct run_result *r, unsigned alloc_mib)
{
	cr_assert_eq(r->status, 0, "status %d; console:\n%s\nstderr:\n%s", r->status, r->out, r->err);
	cr_assert_not_null(linux_guest_line(r->out, "ready"), "%s", r->out);
	cr_assert_not_null(linux_guest_line(r->out, "virtio virtio0 device=0x0005 driver=virtio_balloon"),
			   "Linux's balloon driver did not bind to memvisor's device:\n%s", r->out);
	if (alloc_mib) {
		char want[64];
		snprintf(want, sizeof(want), "alloc %u MiB written in ", alloc_mib);
		cr_assert_not_null(strstr(r->out, want), "%s", r->out);
		cr_assert_not_null(strstr(r->out, ", 0 bad pages"), "%s", r->out);
	}
	cr_assert_not_null(linux_guest_line(r->out, "done status=0"), "%s", r->out);
}

Test(linux_boot, vmlinux_boots_to_init_and_its_memory_works, .timeout = 600)
{
	struct run_result r;

	test_need_kvm();
	boot(&r, (const char *const[]){ "-m", "256M", "--hugepages", "off", "--cmdline", "mvtest.alloc=128",
					linux_guest_image("vmlinux"), NULL });
	check_init(&r, 128);
	cr_assert_not_null(strstr(r.err, "memvisor: PVH ELF guest ran"), "%s", r.err);
	/* memvisor's defaults come first, the user's after them. */
	const char *cmdline = linux_guest_line(r.out, "cmdline ");
	cr_assert_not_null(cmdline, "%s", r.out);
	cr_assert_not_null(strstr(cmdline, "console=ttyS0"), "%s", cmdline);
	cr_assert(strstr(cmdline, "panic=-1") < strstr(cmdline, "mvtest.alloc=128"), "%s", cmdline);
	cr_assert_not_null(strstr(cmdline, "virtio_mmio.device="), "%s", cmdline);
	run_free(&r);
}

Test(linux_boot, bzimage_boots_to_init, .timeout = 600)
{
	struct run_result r;

	test_need_kvm();
	boot(&r, (const char *const[]){ "-m", "256M", "--hugepages", "off", linux_guest_image("bzImage"),
					NULL });
	check_init(&r, 0);
	cr_assert_not_null(strstr(r.err, "memvisor: bzImage guest ran"), "%s", r.err);
	run_free(&r);
}

Test(linux_boot, two_vcpus_and_zone_huge, .timeout = 600)
{
	struct run_result r;

	test_need_kvm();
	/* The kernel is built without SMP: the second vCPU waits for a SIPI
	 * that never comes, and the end of the run still collects it. */
	boot(&r, (const char *const[]){ "--cpus", "2", "-m", "256M", "--hugepages", "on", "--cmdline",
					"mvtest.alloc=64", linux_guest_image("vmlinux"), NULL });
	check_init(&r, 64);
	cr_assert_not_null(strstr(r.err, "zone Huge"), "zone Huge: %s", r.err);
	run_free(&r);
}

Test(linux_boot, scattered_frames_boot_to_init, .timeout = 600)
{
	struct fragmented f;
	struct inproc ip;

	test_need_kvm();
	fragmented_create(&f, 160);
	inproc_create(&ip, linux_guest_image("vmlinux"), 64 * MIB, MM_HUGE_OFF, "mvtest.alloc=16",
		      &(struct vm_hooks){ .arena = f.arena });
	int status = inproc_run(&ip, BOOT_LIMIT_S);
	cr_assert_eq(status, 0, "status %d; console (its end):\n%s", status, ip.out);
	cr_assert_not_null(strstr(ip.out, "alloc 16 MiB written in "), "%s", ip.out);
	cr_assert_not_null(strstr(ip.out, ", 0 bad pages"), "%s", ip.out);
	char *dump = inproc_p2m(&ip);
	cr_assert_not_null(strstr(dump, "scattered"), "%.400s", dump);
	free(dump);
	inproc_destroy(&ip);
	fragmented_destroy(&f);
}

Test(linux_boot, a_kernel_panic_ends_the_vm_with_the_crash_status, .timeout = 600)
{
	struct run_result r;

	test_need_kvm();
	boot(&r, (const char *const[]){ "-m", "128M", "--cmdline", "mvtest.panic=1",
					linux_guest_image("vmlinux"), NULL });
	cr_assert_eq(r.status, 2, "status %d; console:\n%s\nstderr:\n%s", r.status, r.out, r.err);
	cr_assert_not_null(strstr(r.out, "Kernel panic - not syncing"), "%s", r.out);
	cr_assert_not_null(strstr(r.err, "memvisor: guest crashed"), "%s", r.err);
	run_free(&r);
}

/* Loading, and the Linux command line with it, comes before KVM: a host
 * without KVM gets KVM's error, cleanly (no KVM needed for this one). */
Test(linux_boot, a_linux_image_is_loaded_before_kvm_is_asked_for_anything)
{
	struct run_result r;

	boot(&r, (const char *const[]){ "--kvm-device", "/nonexistent/kvm", "-m", "64M",
					linux_guest_image("vmlinux"), NULL });
	cr_assert_eq(r.status, 1, "status %d; stderr:\n%s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "/nonexistent/kvm: cannot open the KVM device"), "%s", r.err);
	run_free(&r);
}

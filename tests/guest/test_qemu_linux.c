/*
 * The Linux test guest under QEMU microvm with QEMU's own CPU emulation
 * (TCG), which needs no /dev/kvm: the kernel built by `make linux-guest`
 * (vmlinux through PVH, bzImage through the boot protocol) reaches its
 * init, Linux's virtio-balloon driver binds to QEMU's device, the init's
 * memory check passes, and it ends the VM through isa-debug-exit (status
 * 0 becomes QEMU's 1). This keeps the guest itself honest on every
 * machine; the same image under memvisor is tests/vmm/test_linux.c.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/support/linux_guest.h"
#include "tests/support/test_env.h"

/* TCG boots it in about a second; a loaded machine may take many more. */
#define BOOT_LIMIT_S 120


/* Boots image under QEMU TCG; returns QEMU's exit status (-1 if it had to be
 * killed) and the serial output in *out (malloc'd). */
static int qemu_tcg_boot(const char *image, const char *append, char **out)
{
	char dir[256], out_path[300], err_path[300];
	test_temp_dir(dir, sizeof(dir), "memvisor-linux-tcg");
	snprintf(out_path, sizeof(out_path), "%s/serial", dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
	const char *argv[] = {
		TEST_QEMU, "-M", "microvm,acpi=off", "-accel", "tcg", "-m", "256M", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
		"-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
		"-device", "virtio-balloon-device", "-kernel", image, "-append", append, NULL,
	};
	pid_t pid = test_spawn(argv, true, out_path, err_path);
	int status = -1, ws;
	for (double end = test_now() + BOOT_LIMIT_S; test_now() < end; usleep(20000)) {
		if (waitpid(pid, &ws, WNOHANG) == pid) {
			status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
			break;
		}
	}
	if (status < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &ws, 0);
	}
	*out = test_read_file(out_path);
	char *err = test_read_file(err_path);
	if (status != 1)
		cr_log_error("QEMU's stderr:\n%s", err);
	free(err);
	unlink(out_path);
	unlink(err_path);
	rmdir(dir);
	return status;
}

static void boot_and_check(const char *image_name)
{
	char *out;

	test_need_qemu_binary();
	const char *image = linux_guest_image(image_name);
	int status = qemu_tcg_boot(image, "console=ttyS0 8250.nr_uarts=1 panic=-1 mvtest.alloc=32", &out);
	cr_assert_eq(status, 1, "QEMU status %d (1: the init's status 0); console:\n%s", status, out);
	cr_assert_not_null(linux_guest_line(out, "ready"), "%s", out);
	cr_assert_not_null(linux_guest_line(out, "virtio virtio0 device=0x0005 driver=virtio_balloon"),
			   "Linux's balloon driver did not bind:\n%s", out);
	cr_assert_not_null(strstr(out, "alloc 32 MiB written in "), "%s", out);
	cr_assert_not_null(strstr(out, ", 0 bad pages"), "%s", out);
	cr_assert_not_null(linux_guest_line(out, "done status=0"), "%s", out);
	cr_assert_gt(linux_guest_meminfo(out, "MemTotal"), 200 * 1024, "%s", out);
	free(out);
}

Test(qemu_linux, vmlinux_boots_to_init_under_tcg, .timeout = 300)
{
	boot_and_check("vmlinux");
}

Test(qemu_linux, bzimage_boots_to_init_under_tcg, .timeout = 300)
{
	boot_and_check("bzImage");
}

/*
 * The Linux test guest booted side by side: memvisor (zone Normal) and
 * QEMU microvm with KVM, the same vmlinux, time from process start to the
 * init's ready line, the kernel's own uptime at that line, and the whole
 * run to the init's exit. On PVM hosts QEMU gets on its command line what
 * memvisor does itself (PLATFORM.md): no XSAVE and the slow string
 * instructions, the SYSCALL fixup and no int3 self-test.
 *
 * usage: linux_boot BUILD_DIR   (BUILD_DIR holds memvisor and linux/vmlinux)
 * One JSON object per line on stdout, then a table, as tools/bench/run.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "need_kvm.h"

#define GUEST_MEM "256M"
#define REPS 3
#define RUN_LIMIT_S 300

enum vmm { MEMVISOR, QEMU, NR_VMM };
static const char *const vmm_name[NR_VMM] = { "memvisor", "qemu-microvm" };

struct result {
	bool ok;
	double ready_ms, uptime_s, total_ms;   /* best over REPS */
	char why[200];
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static bool host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

/* One boot; false with r->why on failure. */
static bool run_one(enum vmm v, const char *build, struct result *r, double *ready, double *uptime,
		    double *total)
{
	char kernel[512], mv[512], append[512];
	snprintf(kernel, sizeof(kernel), "%s/linux/vmlinux", build);
	snprintf(mv, sizeof(mv), "%s/memvisor", build);
	snprintf(append, sizeof(append),
		 "console=ttyS0 8250.nr_uarts=1 io_delay=none tsc=reliable clocksource=tsc panic=-1%s",
		 host_is_pvm() ? " noxsave clearcpuid=smap,popcnt,erms,fsrm syscall_pf_fixup "
				 "skip_int3_selftest" : "");
	const char *qemu[] = { "qemu-system-x86_64", "-accel", "kvm", "-M", "microvm,acpi=off",
			       "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
			       "-serial", "stdio", "-m", GUEST_MEM, "-device",
			       "isa-debug-exit,iobase=0xf4,iosize=4", "-device", "virtio-balloon-device",
			       "-kernel", kernel, "-append", append, NULL };
	const char *memvisor[] = { mv, "-m", GUEST_MEM, "--hugepages", "off", kernel, NULL };
	const char *const *argv = v == QEMU ? qemu : memvisor;

	int fd[2];
	if (pipe(fd))
		return false;
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		dup2(fd[1], 1);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 2);
		close(fd[0]);
		alarm(RUN_LIMIT_S);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	static char out[1 << 20];
	size_t used = 0;
	*ready = -1;
	for (;;) {
		ssize_t n = read(fd[0], out + used, sizeof(out) - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		out[used] = '\0';
		if (*ready < 0 && strstr(out, "mvtest: ready"))
			*ready = now_ms() - t0;
		if (used == sizeof(out) - 1)
			used = 0;   /* keep reading; the ready line is what counts */
	}
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	*total = now_ms() - t0;
	const char *line = strstr(out, "mvtest: ready uptime=");
	if (*ready < 0 || !line || sscanf(line, "mvtest: ready uptime=%lf", uptime) != 1) {
		snprintf(r->why, sizeof(r->why), "no ready line (exit status %d)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return false;
	}
	return true;
}

static void measure(enum vmm v, const char *build, struct result *r)
{
	memset(r, 0, sizeof(*r));
	r->ready_ms = r->uptime_s = r->total_ms = 1e18;
	for (int i = 0; i < REPS; i++) {
		double ready, uptime, total;
		if (!run_one(v, build, r, &ready, &uptime, &total))
			return;
		if (ready < r->ready_ms)
			r->ready_ms = ready, r->uptime_s = uptime;
		if (total < r->total_ms)
			r->total_ms = total;
	}
	r->ok = true;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s BUILD_DIR\n", argv[0]);
		return 2;
	}
	if (!bench_have_kvm("linux_boot"))
		return 0;
	struct result res[NR_VMM];
	int failed = 0;
	for (int v = 0; v < NR_VMM; v++) {
		measure((enum vmm)v, argv[1], &res[v]);
		if (!res[v].ok) {
			fprintf(stderr, "bench: linux_boot: %s: %s\n", vmm_name[v], res[v].why);
			failed++;
			continue;
		}
		printf("{\"bench\": \"linux_boot\", \"impl\": \"%s\", \"guest_mem\": \"%s\", "
		       "\"ready_ms\": %.1f, \"kernel_uptime_at_ready_s\": %.2f, \"total_ms\": %.1f, "
		       "\"reps\": %d}\n", vmm_name[v], GUEST_MEM, res[v].ready_ms, res[v].uptime_s,
		       res[v].total_ms, REPS);
		fflush(stdout);
	}
	printf("\nThe Linux test guest (vmlinux, %s), best of %d boots\n", GUEST_MEM, REPS);
	printf("%-34s%18s%18s\n", "", vmm_name[0], vmm_name[1]);
	const char *labels[] = { "to the init's ready line, ms", "  the kernel's uptime then, s",
				 "whole run, ms" };
	for (int row = 0; row < 3; row++) {
		printf("%-34s", labels[row]);
		for (int v = 0; v < NR_VMM; v++) {
			double x = row == 0 ? res[v].ready_ms : row == 1 ? res[v].uptime_s : res[v].total_ms;
			if (res[v].ok)
				printf("%18.2f", x);
			else
				printf("%18s", "-");
		}
		printf("\n");
	}
	if (res[MEMVISOR].ok && res[QEMU].ok)
		printf("%-34s%18.2fx   (goal: under 10 s, ahead of QEMU)\n", "ready, QEMU / memvisor",
		       res[QEMU].ready_ms / res[MEMVISOR].ready_ms);
	return failed ? 1 : 0;
}

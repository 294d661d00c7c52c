/*
 * The balloon image under QEMU microvm with -device virtio-balloon-device:
 * QEMU's QMP `balloon` makes the guest inflate (and deflate back), the
 * guest prints its line with the working set intact, and QEMU's
 * `query-balloon` shows the new logical size. Run once with QEMU's default
 * legacy virtio-mmio (version 1, what a plain command line gives) and once
 * with force-legacy=false (version 2, virtio 1.x with VERSION_1), where the
 * guest's statistics are read back through QOM as well. With
 * free-page-reporting=on, the churn workload's freed memory leaves QEMU's
 * RSS the way it leaves memvisor's (tests/monitor/test_reporting_e2e.c),
 * with no balloon target set.
 *
 * Needs /dev/kvm and qemu-system-x86_64 (Debian: qemu-system-x86). When
 * either is missing the tests fail when CI=true and are skipped with the
 * reason otherwise.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tests/support/test_env.h"

#ifndef GUEST_IMAGE_DIR
#define GUEST_IMAGE_DIR "build/guest"
#endif
/* Each step takes well under a second here; these only stop a hung run. */
#define STEP_SECONDS 30

#define MIB (1024ull * 1024)

struct balloon_vm {
	pid_t pid;
	int serial;                     /* QEMU's stdout: the guest's UART */
	int qmp;                        /* the QMP socket */
	char dir[48], sock[96];
	char out[65536];                /* serial output so far */
	size_t out_len;
	char qbuf[65536];               /* QMP bytes not yet consumed */
	size_t qlen;
};

/* Reads what the serial has, waiting up to ms; false at end of file. */
static bool pump_serial(struct balloon_vm *vm, int ms)
{
	struct pollfd p = { vm->serial, POLLIN, 0 };
	if (poll(&p, 1, ms) <= 0)
		return true;
	char tmp[4096];
	ssize_t n = read(vm->serial, tmp, sizeof(tmp));
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	size_t take = (size_t)n < sizeof(vm->out) - 1 - vm->out_len ? (size_t)n
								 : sizeof(vm->out) - 1 - vm->out_len;
	memcpy(vm->out + vm->out_len, tmp, take);
	vm->out_len += take;
	vm->out[vm->out_len] = '\0';
	return true;
}

/* Waits until the serial output (from offset from on) contains text. */
static const char *wait_serial(struct balloon_vm *vm, size_t from, const char *text)
{
	double deadline = test_now() + STEP_SECONDS;
	for (;;) {
		const char *hit = strstr(vm->out + from, text);
		if (hit)
			return hit;
		cr_assert(test_now() < deadline, "no \"%s\" from the guest after %d s; serial:\n%s",
			  text, STEP_SECONDS, vm->out);
		cr_assert(pump_serial(vm, 100), "QEMU ended before \"%s\"; serial:\n%s", text, vm->out);
	}
}

/* One QMP message (a line), events included, into line. */
static void qmp_read_line(struct balloon_vm *vm, char *line, size_t size)
{
	double deadline = test_now() + STEP_SECONDS;
	for (;;) {
		char *nl = memchr(vm->qbuf, '\n', vm->qlen);
		if (nl) {
			size_t n = (size_t)(nl - vm->qbuf) + 1;
			snprintf(line, size, "%.*s", (int)n, vm->qbuf);
			memmove(vm->qbuf, vm->qbuf + n, vm->qlen - n);
			vm->qlen -= n;
			return;
		}
		cr_assert(vm->qlen < sizeof(vm->qbuf) - 1, "QMP message too long");
		cr_assert(test_now() < deadline, "no QMP reply after %d s", STEP_SECONDS);
		/* Keep the serial pipe drained so the guest never blocks on it. */
		pump_serial(vm, 0);
		struct pollfd p = { vm->qmp, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(vm->qmp, vm->qbuf + vm->qlen, sizeof(vm->qbuf) - 1 - vm->qlen);
		cr_assert(n > 0, "QMP connection closed; serial:\n%s", vm->out);
		vm->qlen += (size_t)n;
	}
}

/* Sends a command and returns its reply (events before it are skipped). */
static void qmp(struct balloon_vm *vm, const char *cmd, char *reply, size_t size)
{
	size_t len = strlen(cmd);
	cr_assert_eq(write(vm->qmp, cmd, len), (ssize_t)len, "QMP write: %s", strerror(errno));
	do
		qmp_read_line(vm, reply, size);
	while (strstr(reply, "\"event\""));
	cr_assert(strstr(reply, "\"return\""), "QMP %s failed: %s", cmd, reply);
}

static void qemu_start(struct balloon_vm *vm, const char *const *extra)
{
	memset(vm, 0, sizeof(*vm));
	test_temp_dir(vm->dir, sizeof(vm->dir), "memvisor-qballoon");
	snprintf(vm->sock, sizeof(vm->sock), "%s/qmp.sock", vm->dir);
	char qmp_arg[192], image[4096];
	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", vm->sock);
	const char *dir = getenv("MEMVISOR_GUEST_DIR");
	snprintf(image, sizeof(image), "%s/balloon.elf", dir ? dir : GUEST_IMAGE_DIR);
	cr_assert(access(image, R_OK) == 0, "guest image %s is missing (run make first)", image);

	const char *argv[40];
	int argc = 0;
	const char *fixed[] = {
		TEST_QEMU, "-accel", "kvm", "-M", "microvm,acpi=off", "-m", "256M", "-kernel", image,
		"-nodefaults", "-no-reboot", "-display", "none", "-serial", "stdio", "-qmp", qmp_arg,
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		argv[argc++] = fixed[i];
	for (; *extra; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;

	int out[2];
	cr_assert(pipe(out) == 0, "pipe: %s", strerror(errno));
	pid_t parent = getpid();
	vm->pid = fork();
	cr_assert(vm->pid >= 0, "fork: %s", strerror(errno));
	if (vm->pid == 0) {
		test_die_with_parent(parent);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(null, 2);
		close(out[0]);
		execvp(TEST_QEMU, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	vm->serial = out[0];
	vm->qmp = -1;

	/* The guest says it is ready once the balloon is set up. */
	const char *ready = wait_serial(vm, 0, "balloon: ready:");
	wait_serial(vm, (size_t)(ready - vm->out), "\n");

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", vm->sock);
	vm->qmp = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(vm->qmp >= 0, "socket: %s", strerror(errno));
	cr_assert(connect(vm->qmp, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s", vm->sock,
		  strerror(errno));
	char line[4096];
	qmp_read_line(vm, line, sizeof(line));
	cr_assert(strstr(line, "\"QMP\""), "no QMP greeting: %s", line);
	qmp(vm, "{\"execute\": \"qmp_capabilities\"}\n", line, sizeof(line));
}

static void qemu_stop(struct balloon_vm *vm)
{
	char line[4096];
	qmp(vm, "{\"execute\": \"quit\"}\n", line, sizeof(line));
	double deadline = test_now() + STEP_SECONDS;
	int ws = 0;
	pid_t got;
	while ((got = waitpid(vm->pid, &ws, WNOHANG)) == 0 && test_now() < deadline) {
		pump_serial(vm, 0);
		usleep(10000);
	}
	if (got == 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, &ws, 0);
	}
	close(vm->qmp);
	close(vm->serial);
	unlink(vm->sock);
	rmdir(vm->dir);
	cr_expect(got == vm->pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
		  "QEMU did not quit cleanly; serial:\n%s", vm->out);
}

/* QEMU's query-balloon actual: the logical VM size in bytes. */
static unsigned long long query_actual(struct balloon_vm *vm)
{
	char line[4096];
	qmp(vm, "{\"execute\": \"query-balloon\"}\n", line, sizeof(line));
	const char *a = strstr(line, "\"actual\":");
	cr_assert(a, "query-balloon: %s", line);
	return strtoull(a + strlen("\"actual\":"), NULL, 10);
}

/* Sets the logical size and waits for the guest's line for that target. */
static void balloon_to(struct balloon_vm *vm, unsigned long long bytes)
{
	char cmd[128], line[4096], want[128];
	size_t from = vm->out_len;
	snprintf(cmd, sizeof(cmd), "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}\n", bytes);
	qmp(vm, cmd, line, sizeof(line));
	unsigned long long pages = (256 * MIB - bytes) / 4096;
	snprintf(want, sizeof(want), "balloon: target %llu pages actual %llu pages ws ok\n", pages, pages);
	wait_serial(vm, from, want);
	/* QEMU takes actual from the guest's config write; the line comes after it. */
	cr_expect_eq(query_actual(vm), bytes, "query-balloon after balloon %llu; serial:\n%s", bytes,
		     vm->out);
}

Test(qemu_balloon, legacy_mmio_inflates_to_128M_and_back)
{
	test_need_qemu();
	struct balloon_vm *vm = malloc(sizeof(*vm));
	cr_assert(vm);
	const char *extra[] = { "-device", "virtio-balloon-device", NULL };
	qemu_start(vm, extra);
	cr_expect_eq(query_actual(vm), 256 * MIB);
	balloon_to(vm, 128 * MIB);
	balloon_to(vm, 256 * MIB);
	balloon_to(vm, 64 * MIB);
	balloon_to(vm, 256 * MIB);
	qemu_stop(vm);
	cr_expect(!strstr(vm->out, "CORRUPT") && !strstr(vm->out, "BROKEN") && !strstr(vm->out, "BAD"),
		  "serial:\n%s", vm->out);
	free(vm);
}

Test(qemu_balloon, virtio_1_inflates_and_reports_stats)
{
	test_need_qemu();
	struct balloon_vm *vm = malloc(sizeof(*vm));
	cr_assert(vm);
	const char *extra[] = { "-global", "virtio-mmio.force-legacy=false",
				"-device", "virtio-balloon-device,id=bal,deflate-on-oom=on", NULL };
	qemu_start(vm, extra);
	/* VERSION_1 (bit 32) with STATS_VQ and DEFLATE_ON_OOM negotiated. */
	cr_expect(strstr(vm->out, "features 0x100000006 "), "serial:\n%s", vm->out);

	char line[4096];
	qmp(vm, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"/machine/peripheral/bal\", "
		"\"property\": \"guest-stats-polling-interval\", \"value\": 1}}\n", line, sizeof(line));
	balloon_to(vm, 128 * MIB);

	/* QEMU asks for stats every second; wait for a report with the figures. */
	unsigned long long total = 0, free_mem = 0;
	double deadline = test_now() + STEP_SECONDS;
	while (test_now() < deadline) {
		qmp(vm, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine/peripheral/bal\", "
			"\"property\": \"guest-stats\"}}\n", line, sizeof(line));
		const char *t = strstr(line, "\"stat-total-memory\":");
		const char *f = strstr(line, "\"stat-free-memory\":");
		if (t && f) {
			total = strtoull(t + strlen("\"stat-total-memory\":"), NULL, 10);
			free_mem = strtoull(f + strlen("\"stat-free-memory\":"), NULL, 10);
			/* The first report is the one the guest made at start
			 * (nearly all free); wait for one after the inflate. */
			if (total && total < 256 * MIB && free_mem < 128 * MIB - 16 * MIB)
				break;
		}
		usleep(200000);
	}
	/* The guest's buddy manages nearly all of the 256 MiB; the 128 MiB
	 * ballooned and the 16 MiB working set are not free. */
	cr_expect(total > 200 * MIB && total < 256 * MIB, "stat-total-memory %llu", total);
	cr_expect(free_mem > 64 * MIB && free_mem < 128 * MIB - 16 * MIB, "stat-free-memory %llu",
		  free_mem);

	balloon_to(vm, 256 * MIB);
	qemu_stop(vm);
	cr_expect(!strstr(vm->out, "CORRUPT") && !strstr(vm->out, "BROKEN") && !strstr(vm->out, "BAD"),
		  "serial:\n%s", vm->out);
	free(vm);
}

/* QEMU's VmRSS in bytes. */
static unsigned long long qemu_rss(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *status = test_read_file(path);
	const char *v = strstr(status, "VmRSS:");
	unsigned long long kb = v ? strtoull(v + strlen("VmRSS:"), NULL, 10) : 0;
	free(status);
	return kb * 1024;
}

Test(qemu_balloon, free_page_reporting_gives_freed_memory_back)
{
	test_need_qemu();
	struct balloon_vm *vm = malloc(sizeof(*vm));
	cr_assert(vm);
	const char *extra[] = { "-global", "virtio-mmio.force-legacy=false",
				"-device", "virtio-balloon-device,free-page-reporting=on",
				"-append", "ws=16M churn=128M cycles=2 pause=3000", NULL };
	qemu_start(vm, extra);
	wait_serial(vm, 0, "balloon: reporting on queue ");
	for (int c = 1; c <= 2; c++) {
		char wrote[64], reported[64];
		snprintf(wrote, sizeof(wrote), "balloon: churn %d wrote ", c);
		snprintf(reported, sizeof(reported), "balloon: churn %d reported ", c);
		wait_serial(vm, 0, wrote);
		unsigned long long rss0 = qemu_rss(vm->pid);
		double t0 = test_now();
		const char *line = wait_serial(vm, 0, reported);
		wait_serial(vm, (size_t)(line - vm->out), "\n");
		cr_expect_lt(test_now() - t0, 3.5, "the report took %.1f s", test_now() - t0);
		unsigned long long rss1 = qemu_rss(vm->pid);
		/* QEMU discards every reported range (MADV_DONTNEED): its RSS
		 * falls by what the guest freed, less a little noise. */
		cr_expect_geq(rss0 - rss1, 128 * MIB * 95 / 100, "QEMU's RSS fell by %lld of %llu bytes",
			      (long long)(rss0 - rss1), 128 * MIB);
	}
	wait_serial(vm, 0, "balloon: churn done ");
	qemu_stop(vm);
	cr_expect(!strstr(vm->out, "CORRUPT") && !strstr(vm->out, "BROKEN") && !strstr(vm->out, "BAD") &&
		  !strstr(vm->out, "NOT FREE") && !strstr(vm->out, "zeroed 0 blocks"), "serial:\n%s", vm->out);
	free(vm);
}

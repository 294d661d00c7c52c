/*
 * The QEMU cross-check: the guest images boot unchanged under
 *   qemu-system-x86_64 -accel kvm -M microvm,acpi=off -kernel IMAGE
 * (PVH entry, UART console, isa-debug-exit) and behave as they do under
 * memvisor. That keeps the runtime honest about the PVH ABI and gives
 * `make bench` a peer that runs the same memtest.
 *
 * QEMU exit statuses: a guest exit with status 0 ends in a triple fault,
 * which -no-reboot turns into QEMU's status 0; a non-zero status s goes
 * through isa-debug-exit as 2s + 1; a fault as 2 * (0x40 | vector) + 1.
 *
 * Needs /dev/kvm and qemu-system-x86_64 (Debian: qemu-system-x86). When
 * either is missing the tests fail when CI=true (CI must run them) and are
 * skipped with the reason otherwise.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tests/support/test_env.h"

#ifndef GUEST_IMAGE_DIR
#define GUEST_IMAGE_DIR "build/guest"
#endif
/* Boot takes well under a second here; this only stops a hung QEMU. */
#define RUN_SECONDS 30

struct qemu_run {
	int status;                     /* exit status; -1 if killed at the deadline */
	char out[16384];                /* the guest's serial output */
	char err[4096];                 /* QEMU's own messages, for failure reports */
};

static const char *image_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("MEMVISOR_GUEST_DIR");
	snprintf(path, sizeof(path), "%s/%s.elf", dir ? dir : GUEST_IMAGE_DIR, name);
	cr_assert(access(path, R_OK) == 0, "guest image %s is missing (run make first)", path);
	return path;
}


/* Appends what fd has to buf (kept NUL-terminated); false at end of file. */
static bool drain(int fd, char *buf, size_t size, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	size_t take = (size_t)n < size - 1 - *len ? (size_t)n : size - 1 - *len;
	memcpy(buf + *len, tmp, take);
	*len += take;
	buf[*len] = '\0';
	return true;
}

/* Boots image under QEMU microvm with the command line append (or none). */
static void qemu_boot(const char *image, const char *append, struct qemu_run *r)
{
	const char *argv[32];
	int argc = 0;
	const char *fixed[] = {
		TEST_QEMU, "-accel", "kvm", "-M", "microvm,acpi=off", "-kernel", image_path(image),
		"-nodefaults", "-no-reboot", "-display", "none", "-serial", "stdio",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		argv[argc++] = fixed[i];
	if (append) {
		argv[argc++] = "-append";
		argv[argc++] = append;
	}
	argv[argc] = NULL;

	int out[2], err[2];
	cr_assert(pipe(out) == 0 && pipe(err) == 0, "pipe: %s", strerror(errno));
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		test_die_with_parent(parent);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execvp(TEST_QEMU, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);

	memset(r, 0, sizeof(*r));
	size_t out_len = 0, err_len = 0;
	bool out_open = true, err_open = true, killed = false;
	double deadline = test_now() + RUN_SECONDS;
	while (out_open || err_open) {
		int left_ms = (int)((deadline - test_now()) * 1000);
		if (left_ms <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		struct pollfd p[2] = { { out_open ? out[0] : -1, POLLIN, 0 }, { err_open ? err[0] : -1, POLLIN, 0 } };
		if (poll(p, 2, left_ms) < 0)
			continue;
		if (p[0].revents)
			out_open = drain(out[0], r->out, sizeof(r->out), &out_len);
		if (p[1].revents)
			err_open = drain(err[0], r->err, sizeof(r->err), &err_len);
	}
	close(out[0]);
	close(err[0]);
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	r->status = killed || !WIFEXITED(ws) ? -1 : WEXITSTATUS(ws);
	cr_assert(!killed, "%s: QEMU still running after %d s; output:\n%s\n%s", image, RUN_SECONDS,
		  r->out, r->err);
}

/* The line of out that starts with prefix (copied, without its newline). */
static bool find_line(const char *out, const char *prefix, char *line, size_t size)
{
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, prefix, strlen(prefix)))
			continue;
		size_t n = strcspn(p, "\r\n");
		snprintf(line, size, "%.*s", (int)n, p);
		return true;
	}
	return false;
}

Test(qemu, hello_prints_its_line_and_exits_0)
{
	test_need_qemu();
	struct qemu_run r;
	qemu_boot("hello", NULL, &r);
	char line[256];
	cr_assert(find_line(r.out, "hello", line, sizeof(line)), "no hello line; output:\n%s\n%s",
		  r.out, r.err);
	cr_expect_str_eq(line, "hello from memvisor guest");
	cr_expect_eq(r.status, 0, "status %d; output:\n%s\n%s", r.status, r.out, r.err);
}

Test(qemu, memtest_small_passes_with_rates)
{
	test_need_qemu();
	struct qemu_run r;
	qemu_boot("memtest", "size=16M", &r);
	char line[256];
	cr_assert(find_line(r.out, "memtest:", line, sizeof(line)), "no memtest line; output:\n%s\n%s",
		  r.out, r.err);
	unsigned mib, touch, verify;
	char tail[16] = "";
	/* kvmclock gives the TSC rate under QEMU, so both rates are numbers. */
	int n = sscanf(line, "memtest: %u MiB first-touch %u MiB/s verify %u MiB/s %15s", &mib, &touch,
		       &verify, tail);
	cr_assert_eq(n, 4, "unexpected line: %s", line);
	cr_expect_eq(mib, 16);
	cr_expect_gt(touch, 0);
	cr_expect_gt(verify, 0);
	cr_expect_str_eq(tail, "ok");
	cr_expect_eq(r.status, 0, "status %d; output:\n%s", r.status, r.out);
}

Test(qemu, memtest_refuses_more_than_the_ram)
{
	test_need_qemu();
	struct qemu_run r;
	qemu_boot("memtest", "size=64G", &r);
	char line[256];
	cr_assert(find_line(r.out, "memtest:", line, sizeof(line)), "output:\n%s\n%s", r.out, r.err);
	cr_expect(strstr(line, "65536 MiB requested") != NULL, "unexpected line: %s", line);
	cr_expect_eq(r.status, 2 * 2 + 1, "status %d", r.status);      /* exit 2 via debug-exit */
}

Test(qemu, page_fault_is_reported_with_cr2)
{
	test_need_qemu();
	struct qemu_run r;
	qemu_boot("fault", "fault=pf", &r);
	char line[512];
	cr_assert(find_line(r.out, "guest fault:", line, sizeof(line)), "no report; output:\n%s\n%s",
		  r.out, r.err);
	cr_expect(strstr(line, "vector 14 #PF error 0x4 ") != NULL, "report: %s", line);
	cr_expect(strstr(line, "cr2 0x7f0000000000 ") != NULL, "report: %s", line);
	cr_expect_eq(r.status, 2 * (0x40 | 14) + 1, "status %d", r.status);
}

Test(qemu, invalid_opcode_is_reported)
{
	test_need_qemu();
	struct qemu_run r;
	qemu_boot("fault", "fault=ud", &r);
	char line[512];
	cr_assert(find_line(r.out, "guest fault:", line, sizeof(line)), "no report; output:\n%s\n%s",
		  r.out, r.err);
	cr_expect(strstr(line, "vector 6 #UD ") != NULL, "report: %s", line);
	cr_expect(strstr(line, "cs 0x33 ") != NULL, "not taken at CPL3: %s", line);
	cr_expect_eq(r.status, 2 * (0x40 | 6) + 1, "status %d", r.status);
}

Test(qemu, remap_probe_needs_memvisor)
{
	test_need_qemu();
	struct qemu_run r;
	qemu_boot("remap", NULL, &r);
	cr_expect(strstr(r.out, "remap: needs memvisor") != NULL, "output:\n%s\n%s", r.out, r.err);
	cr_expect_eq(r.status, 2 * 2 + 1, "status %d", r.status);
}

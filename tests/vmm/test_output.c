/*
 * Output never wedges the VMM: build/memvisor runs a guest that floods its
 * console (through the batched port, or byte by byte through the UART)
 * while nobody reads its stdout, and stderr too in one case. SIGTERM must
 * still end it, with the exit summary saying what was dropped. The limit
 * here is a liveness bound, generous on purpose; the time it takes is
 * printed for the record.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "runner.h"

extern char **environ;

/* Longer than any exit may take; a wedged VMM hangs for ever. */
#define EXIT_LIMIT_S 5.0

struct flood {
	pid_t pid;
	int out_fd, err_fd;          /* our ends of the child's stdout and stderr */
};

/* full_stderr: the child's stderr starts as a full pipe, so whatever the
 * VMM logs has nowhere to go. */
static void flood_start(struct flood *f, const char *guest_cmdline, bool full_stderr)
{
	int out[2], err[2];
	posix_spawn_file_actions_t fa;
	const char *bin = test_build_path("memvisor");
	const char *img = test_build_path("guest/flood.elf");
	char *argv[] = { (char *)bin, "-m", "64M", "--cmdline", (char *)guest_cmdline,
			 (char *)img, NULL };

	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	if (full_stderr) {
		static const char junk[4096];
		fcntl(err[1], F_SETFL, O_NONBLOCK);
		while (write(err[1], junk, sizeof(junk)) > 0)
			;
		/* The child gets the same pipe in blocking mode. */
		fcntl(err[1], F_SETFL, 0);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	cr_assert_eq(posix_spawn(&f->pid, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	f->out_fd = out[0];
	f->err_fd = err[0];
}

/* Waits for the child up to EXIT_LIMIT_S; its status, or -1 if it hangs
 * (then it is killed). */
static int flood_wait(struct flood *f, double *took)
{
	double start = test_now();
	int st;

	for (;;) {
		pid_t r = waitpid(f->pid, &st, WNOHANG);
		if (r == f->pid)
			break;
		if (test_now() - start > EXIT_LIMIT_S) {
			kill(f->pid, SIGKILL);
			waitpid(f->pid, &st, 0);
			return -1;
		}
		usleep(5000);
	}
	*took = test_now() - start;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Everything left in fd (nonblocking), NUL-terminated, malloc'd. */
static char *drain(int fd)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	cr_assert_not_null(buf);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
	}
	buf[len] = '\0';
	return buf;
}

/* Only the first lines of stdout are read; then nobody reads it. */
static void read_a_little(int fd)
{
	char buf[256];

	cr_assert_gt(read(fd, buf, sizeof(buf)), 0, "the guest printed nothing");
}

/* stderr is read (so the summary can be checked); stdout is stalled for
 * fill_ms, long enough to fill the pipe (the UART writes ~30 KB/s). */
static void stdout_stalled(const char *guest_cmdline, unsigned fill_ms)
{
	struct flood f;
	double took;

	test_need_kvm();
	flood_start(&f, guest_cmdline, false);
	read_a_little(f.out_fd);
	usleep(fill_ms * 1000);
	cr_assert_eq(kill(f.pid, SIGTERM), 0);
	int status = flood_wait(&f, &took);
	cr_assert_neq(status, -1, "memvisor did not end within %.0f s of SIGTERM with stdout stalled",
		      EXIT_LIMIT_S);
	cr_log_info("exit %.3f s after SIGTERM\n", took);
	char *err = drain(f.err_fd);
	cr_expect_eq(status, 128 + SIGTERM, "status %d\n%s", status, err);
	unsigned long long con = 0, log = 0;
	const char *d = strstr(err, "memvisor: output dropped for readers that did not keep up: ");
	cr_assert_not_null(d, "no dropped-output line:\n%s", err);
	cr_assert_eq(sscanf(d, "memvisor: output dropped for readers that did not keep up: "
			    "console %llu bytes, log %llu bytes", &con, &log), 2);
	cr_expect_gt(con, 0);
	cr_expect_eq(log, 0, "stderr was read: nothing of the log is lost");
	cr_expect_not_null(strstr(err, "stopping the guest on signal 15"), "%s", err);
	free(err);
	close(f.out_fd);
	close(f.err_fd);
}

Test(output, a_stalled_stdout_does_not_wedge_the_console_port)
{
	stdout_stalled("flood=1", 1500);
}

Test(output, a_stalled_stdout_does_not_wedge_the_uart)
{
	stdout_stalled("uart=1", 3500);
}

/* Neither stdout nor stderr is read after the start: SIGTERM still ends
 * the VMM, and what it could not say is simply lost. */
Test(output, stalled_stdout_and_stderr_do_not_wedge_the_exit)
{
	struct flood f;
	double took;

	test_need_kvm();
	flood_start(&f, "flood=1", true);
	read_a_little(f.out_fd);
	usleep(1000 * 1000);
	cr_assert_eq(kill(f.pid, SIGTERM), 0);
	int status = flood_wait(&f, &took);
	cr_assert_neq(status, -1, "memvisor did not end within %.0f s of SIGTERM", EXIT_LIMIT_S);
	cr_log_info("exit %.3f s after SIGTERM\n", took);
	cr_expect_eq(status, 128 + SIGTERM);
	close(f.out_fd);
	close(f.err_fd);
}

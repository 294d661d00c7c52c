/*
 * Child processes for the monitor client's tests (vm_proc.h). VMs write
 * their output to files in their private directory, so a VM that runs for
 * a while never blocks on a full pipe and nobody has to drain it; the
 * client's output comes through pipes, drained with poll until it exits.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "vm_proc.h"

extern char **environ;

/* Boot takes well under a second; this only bounds a VM that never listens. */
#define SOCKET_WAIT_S 20

static void prepare(struct vm_proc *p, const char *what)
{
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->what = what;
	test_temp_dir(p->dir, sizeof(p->dir), "memvisor-monitor");
	snprintf(p->sock, sizeof(p->sock), "%s/qmp.sock", p->dir);
	snprintf(p->out_path, sizeof(p->out_path), "%s/out", p->dir);
	snprintf(p->err_path, sizeof(p->err_path), "%s/err", p->dir);
}

static void spawn(struct vm_proc *p, const char *const *argv, bool search_path)
{
	p->pid = test_spawn(argv, search_path, p->out_path, p->err_path);
}

/* True once something accepts connections on the socket. */
static bool listening(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void wait_listening(struct vm_proc *p)
{
	double until = test_now() + SOCKET_WAIT_S;

	while (!listening(p->sock)) {
		if (vm_proc_wait(p, 0.02)) {
			char *err = vm_proc_read(p->err_path);
			cr_log_error("%s ended with status %d before listening on its monitor:\n%s", p->what,
				     p->status, err);
			free(err);
			vm_proc_finish(p);
			cr_assert_fail("%s has no monitor socket", p->what);
		}
		if (test_now() > until) {
			vm_proc_finish(p);
			cr_assert_fail("%s did not listen on %s within %d s", p->what, p->sock, SOCKET_WAIT_S);
		}
	}
}

void vm_proc_start_memvisor(struct vm_proc *p, const char *const *extra)
{
	const char *argv[32] = { test_build_path("memvisor"), "--monitor" };
	size_t n = 2;

	prepare(p, "memvisor");
	argv[n++] = p->sock;
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n++] = test_build_path("guest/idle.elf");
	argv[n] = NULL;
	spawn(p, argv, false);
	wait_listening(p);
}

void vm_proc_start_qemu(struct vm_proc *p, const char *mem)
{
	char qmp[160], serial[160];

	prepare(p, "QEMU");
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", p->sock);
	snprintf(serial, sizeof(serial), "file:%s", p->out_path);
	const char *argv[] = {
		TEST_QEMU, "-accel", "kvm", "-M", "microvm,acpi=off", "-m", mem, "-nodefaults",
		"-no-reboot", "-display", "none", "-kernel", test_build_path("guest/idle.elf"),
		"-qmp", qmp, "-serial", serial, NULL,
	};
	spawn(p, argv, true);
	wait_listening(p);
}

bool vm_proc_wait(struct vm_proc *p, double timeout_s)
{
	double until = test_now() + timeout_s;
	int st;

	if (p->pid < 0)
		return true;
	for (;;) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid) {
			p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			p->pid = -1;
			return true;
		}
		if (test_now() >= until)
			return false;
		usleep(5000);
	}
}

void vm_proc_finish(struct vm_proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		vm_proc_wait(p, 10);
	}
	if (!p->dir[0])
		return;
	unlink(p->sock);
	unlink(p->out_path);
	unlink(p->err_path);
	rmdir(p->dir);
	p->dir[0] = '\0';
}

char *vm_proc_read(const char *path)
{
	return test_read_file(path);
}

double vm_proc_cpu_seconds(const struct vm_proc *p)
{
	char path[64], line[1024];
	unsigned long utime = 0, stime = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p->pid);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	char *ok = fgets(line, sizeof(line), f);
	fclose(f);
	/* Fields 14 and 15, counted after the command name's closing ")". */
	char *rest = ok ? strrchr(line, ')') : NULL;
	cr_assert(rest && sscanf(rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
				  &stime) == 2, "cannot read %s", path);
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void append(char **buf, size_t *len, const char *p, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	cr_assert_not_null(*buf);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

void ctl_run(struct ctl_run *r, double timeout_s, const char *const *args)
{
	const char *argv[32] = { test_build_path("memvisorctl") };
	size_t n = 1, lens[2] = { 0, 0 };
	int out[2], err[2], st;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	memset(r, 0, sizeof(*r));
	append(&r->out, &lens[0], "", 0);
	append(&r->err, &lens[1], "", 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	cr_assert_eq(rc, 0, "starting %s: %s", argv[0], strerror(rc));

	struct pollfd fds[2] = { { .fd = out[0], .events = POLLIN }, { .fd = err[0], .events = POLLIN } };
	char **bufs[2] = { &r->out, &r->err };
	double until = test_now() + timeout_s;
	bool killed = false;
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		if (!killed && test_now() > until) {
			kill(pid, SIGKILL);
			killed = true;
		}
		if (poll(fds, 2, 50) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			char buf[4096];
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t got = read(fds[i].fd, buf, sizeof(buf));
			if (got <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
			} else {
				append(bufs[i], &lens[i], buf, (size_t)got);
			}
		}
	}
	waitpid(pid, &st, 0);
	r->status = killed ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void ctl_run_free(struct ctl_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

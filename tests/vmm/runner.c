/*
 * Child processes for the tests (see runner.h). Both pipes are drained with
 * poll while the child runs, so a chatty guest cannot block on a full pipe.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "runner.h"

extern char **environ;

static void append(char **buf, size_t *len, const char *p, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	cr_assert_not_null(*buf);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void drain(struct run_result *r, int out_fd, int err_fd, pid_t pid, const struct run_opts *o)
{
	double start = test_now(), limit = o->timeout_s > 0 ? o->timeout_s : 60;
	struct pollfd fds[2] = { { .fd = out_fd, .events = POLLIN }, { .fd = err_fd, .events = POLLIN } };
	bool signalled = false;
	char buf[4096];

	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		double t = test_now() - start;
		if (o->signal && !signalled && t >= o->signal_after_s) {
			kill(pid, o->signal);
			signalled = true;
		}
		if (t > limit && !r->timed_out) {
			r->timed_out = 1;
			kill(pid, SIGKILL);
		}
		if (poll(fds, 2, 20) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(fds[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
			} else if (i == 0) {
				append(&r->out, &r->out_len, buf, (size_t)n);
			} else {
				append(&r->err, &r->err_len, buf, (size_t)n);
			}
		}
	}
}

void run_memvisor(struct run_result *r, const struct run_opts *o, const char *const *args)
{
	const char *argv[64] = { test_build_path("memvisor") };
	int out[2], err[2], status;
	pid_t pid;
	size_t n = 1;

	memset(r, 0, sizeof(*r));
	append(&r->out, &r->out_len, "", 0);
	append(&r->err, &r->err_len, "", 0);
	for (; args[n - 1] && n < 63; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	if (o->kvm_env)
		setenv("MEMVISOR_KVM_DEVICE", o->kvm_env, 1);
	pid_t parent = getpid();
	pid = fork();
	if (pid == 0) {
		test_die_with_parent(parent);
		if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	unsetenv("MEMVISOR_KVM_DEVICE");
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	close(out[1]);
	close(err[1]);
	drain(r, out[0], err[0], pid, o);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void run_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
}

int count_lines(const char *s)
{
	int n = 0;
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n + (len && s[len - 1] != '\n');
}

#define TEMP_FILES 16
static char temp_paths[TEMP_FILES][64];
static int temp_count;

static void temp_cleanup(void)
{
	for (int i = 0; i < temp_count; i++)
		unlink(temp_paths[i]);
}

const char *temp_file(const void *buf, size_t len)
{
	cr_assert_lt(temp_count, TEMP_FILES);
	if (temp_count == 0)
		atexit(temp_cleanup);
	char *p = temp_paths[temp_count++];

	const char *dir = getenv("TMPDIR");
	snprintf(p, 64, "%s/memvisor-test-XXXXXX", dir && *dir && strlen(dir) < 40 ? dir : P_tmpdir);
	int fd = mkstemp(p);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	return p;
}

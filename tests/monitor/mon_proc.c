/*
 * memvisor child processes for the monitor tests (see mon_proc.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mon_proc.h"

extern char **environ;

void mon_proc_init(struct mon_proc *p)
{
	memset(p, 0, sizeof(*p));
	test_temp_dir(p->dir, sizeof(p->dir), "memvisor-mon");
	snprintf(p->sock, sizeof(p->sock), "%s/qmp.sock", p->dir);
	snprintf(p->out_path, sizeof(p->out_path), "%s/out", p->dir);
	snprintf(p->err_path, sizeof(p->err_path), "%s/err", p->dir);
}

void mon_proc_spawn(struct mon_proc *p, const char *const *args)
{
	const char *argv[32] = { test_build_path("memvisor"), "--monitor", p->sock };
	size_t n = 3;

	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	p->pid = test_spawn(argv, false, p->out_path, p->err_path);
}

void mon_proc_start(struct mon_proc *p, const char *const *args)
{
	struct mon_client c;
	double end = test_now() + 20;

	mon_proc_spawn(p, args);
	while (mon_connect(&c, p->sock)) {
		if (mon_proc_wait(p, 0.02)) {
			char *err = mon_read_file(p->err_path);
			cr_assert_fail("memvisor exited with %d before its socket was up:\n%s",
				       p->status, err);
		}
		cr_assert_lt(test_now(), end, "the monitor socket did not come up in 20 s");
	}
	mon_close(&c);
}

bool mon_proc_wait(struct mon_proc *p, double timeout_s)
{
	double end = test_now() + timeout_s;
	int st;

	if (p->reaped)
		return true;
	do {
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid) {
			p->reaped = true;
			p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return true;
		}
		usleep(5000);
	} while (test_now() < end);
	return false;
}

void mon_proc_finish(struct mon_proc *p)
{
	char path[192];

	if (p->pid > 0 && !p->reaped) {
		kill(p->pid, SIGKILL);
		mon_proc_wait(p, 10);
	}
	unlink(p->sock);
	unlink(p->out_path);
	unlink(p->err_path);
	snprintf(path, sizeof(path), "%s/other", p->dir);
	unlink(path);
	rmdir(p->dir);
}

char *mon_read_file(const char *path)
{
	return test_read_file(path);
}

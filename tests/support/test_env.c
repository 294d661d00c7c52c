/*
 * The shared test environment of test_env.h.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <sys/prctl.h>
#include "test_env.h"

const char *test_build_path(const char *rel)
{
	static char out[8][PATH_MAX];
	static int next;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	/* build/tests/NAME.test -> build */
	char *p = out[next++ % 8];
	snprintf(p, PATH_MAX, "%s/%s", dirname(dirname(exe)), rel);
	return p;
}

/* Skips the test with why, or fails it when CI=true and the machine could
 * have given it what it needs: CI installs every package, so a missing
 * one there means a broken install step, not an absent feature. */
static void unavailable(const char *why, bool machine_lacks_it)
{
	const char *ci = getenv("CI");

	if (!machine_lacks_it && ci && !strcmp(ci, "true"))
		cr_assert_fail("%s; CI=true, so this is a failure, not a skip", why);
	cr_skip_test("skipped: %s", why);
}

/* A machine with no /dev/kvm at all (no KVM in its kernel, or a guest with
 * no nested virtualization) truly cannot run a guest: that is a skip, also
 * in CI, counted and said at the end of the run (tools/skip-summary.sh).
 * A /dev/kvm that is there but refuses us is a failure in CI. */
void test_need_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	char why[128];

	if (fd >= 0) {
		close(fd);
		return;
	}
	int err = errno;
	bool absent = err == ENOENT || err == ENXIO || err == ENODEV;
	snprintf(why, sizeof(why), "needs /dev/kvm%s (%s)",
		 absent ? ", which this machine does not have" : "", strerror(err));
	unavailable(why, absent);
}

void test_need_qemu_binary(void)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	while (path && *path) {
		size_t n = strcspn(path, ":");
		if (n && snprintf(buf, sizeof(buf), "%.*s/" TEST_QEMU, (int)n, path) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return;
		path += n + (path[n] == ':');
	}
	unavailable(TEST_QEMU " is not installed (Debian package qemu-system-x86; make deps)", false);
}

void test_need_qemu(void)
{
	test_need_kvm();
	test_need_qemu_binary();
}

void test_temp_dir(char *buf, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = P_tmpdir;
	cr_assert_lt((size_t)snprintf(buf, len, "%s/%s-XXXXXX", tmp, name), len,
		     "the temporary directory's path is too long");
	cr_assert_not_null(mkdtemp(buf), "mkdtemp %s: %s", buf, strerror(errno));
}

double test_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

char *test_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	cr_assert_not_null(m);
	if (f) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, m);
		fclose(f);
	}
	fclose(m);
	return buf;
}

void test_die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The test may have ended between the fork and the prctl. */
	if (getppid() != parent)
		_exit(127);
}

pid_t test_spawn(const char *const *argv, bool search_path, const char *out, const char *err)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	test_die_with_parent(parent);
	int in_fd = open("/dev/null", O_RDONLY);
	int out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int err_fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in_fd < 0 || out_fd < 0 || err_fd < 0 || dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 ||
	    dup2(err_fd, 2) < 0)
		_exit(127);
	(search_path ? execvp : execv)(argv[0], (char *const *)argv);
	dprintf(2, "starting %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

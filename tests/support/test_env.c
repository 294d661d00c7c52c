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
#include <unistd.h>
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

void test_need_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	const char *ci = getenv("CI");

	if (fd >= 0) {
		close(fd);
		return;
	}
	if (ci && !strcmp(ci, "true"))
		cr_assert_fail("/dev/kvm: %s; CI=true, so this is a failure, not a skip", strerror(errno));
	cr_skip_test("needs /dev/kvm (%s)", strerror(errno));
}

double test_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

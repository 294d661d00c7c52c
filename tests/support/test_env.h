/*
 * What every suite's tests ask of their surroundings: the build directory
 * (images and binaries next to the suite), /dev/kvm (a skip with the reason
 * on a machine without it, a failure when CI=true), a clock, and child
 * processes that do not outlive the test.
 */
#ifndef TESTS_SUPPORT_TEST_ENV_H
#define TESTS_SUPPORT_TEST_ENV_H

/* build/REL for the build the running suite belongs to. Kept in a small
 * ring of buffers, so a few results may be used at once. */
const char *test_build_path(const char *rel);
/* Skips the test without /dev/kvm (loudly, and also when CI=true if the
 * machine has no /dev/kvm at all), or fails it when CI=true and /dev/kvm is
 * there but refuses us. */
void test_need_kvm(void);
/* The same for /dev/kvm and QEMU (TEST_QEMU in PATH), for cross-checks. */
#define TEST_QEMU "qemu-system-x86_64"
void test_need_qemu(void);
/* QEMU alone, for what it runs without KVM (TCG): a failure when CI=true. */
void test_need_qemu_binary(void);
/* Skips the test, saying why, when arena a's slab runs POLICY: for the few
 * tests whose premise one policy's way of holding memory cannot give.
 * Inline: only suites that link the memory manager use it. */
#define test_skip_under_slab(a, policy, why) do {					\
	if (!strcmp(slab_policy_name(a), (policy)))					\
		cr_skip_test("with --slab %s: %s", (policy), (why));		\
} while (0)
/* Makes a fresh private directory NAME-XXXXXX under $TMPDIR (or the
 * system's temporary directory) and puts its path in buf. */
#include <stddef.h>
void test_temp_dir(char *buf, size_t len, const char *name);
/* Monotonic seconds. */
double test_now(void);
/* A whole file's contents, malloc'd and NUL-terminated ("" if missing). */
char *test_read_file(const char *path);

#include <stdbool.h>
#include <sys/types.h>
/*
 * For a child just forked from a test (pass the test's pid): it gets
 * SIGKILL when the test process ends, so a test that fails or times out
 * leaves no VM running to hold memory or huge pages for the next.
 */
void test_die_with_parent(pid_t parent);
/* Starts argv (argv[0] looked up in PATH when search_path) with stdin from
 * /dev/null and stdout and stderr into the files out and err, dying with
 * the test; its pid. */
pid_t test_spawn(const char *const *argv, bool search_path, const char *out, const char *err);

#endif

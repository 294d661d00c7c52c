/*
 * What every suite's tests ask of their surroundings: the build directory
 * (images and binaries next to the suite), /dev/kvm (a skip with the reason
 * on a machine without it, a failure when CI=true), and a clock.
 */
#ifndef TESTS_SUPPORT_TEST_ENV_H
#define TESTS_SUPPORT_TEST_ENV_H

/* build/REL for the build the running suite belongs to. Kept in a small
 * ring of buffers, so a few results may be used at once. */
const char *test_build_path(const char *rel);
/* Skips the test without /dev/kvm, or fails it when CI=true. */
void test_need_kvm(void);
/* Monotonic seconds. */
double test_now(void);

#endif

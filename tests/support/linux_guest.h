/*
 * The Linux test guest (tests/linux/guest/, built by `make linux-guest`
 * into build/linux/) as the suites use it: where its images are, and what
 * its init printed (lines that start with "mvtest: ").
 */
#ifndef TESTS_SUPPORT_LINUX_GUEST_H
#define TESTS_SUPPORT_LINUX_GUEST_H

#include <stdbool.h>

/* build/linux/NAME ("vmlinux", "bzImage"); fails the test, saying how to
 * build it, when it is missing. */
const char *linux_guest_image(const char *name);

/* The first "mvtest: WHAT..." line in out (pointing at WHAT), or NULL. */
const char *linux_guest_line(const char *out, const char *what);
/* The value of key=N in the last "mvtest: meminfo" line, or -1. */
long long linux_guest_meminfo(const char *out, const char *key);

#endif

/*
 * Running build/memvisor as a child process for the tests: arguments in,
 * exit status and both output streams back, with a time limit (a hung
 * guest fails its test instead of the suite). Also where the build put the
 * binary and the guest images, and the rule for tests that need /dev/kvm.
 */
#ifndef TESTS_VMM_RUNNER_H
#define TESTS_VMM_RUNNER_H

#include <stddef.h>
#include "tests/support/test_env.h"

struct run_opts {
	double timeout_s;            /* 0: 60 s */
	int signal;                  /* sent after signal_after_s, if not 0 */
	double signal_after_s;
	const char *kvm_env;         /* MEMVISOR_KVM_DEVICE for the child, if set */
};

struct run_result {
	int status;                  /* exit status; 128 + n if killed by signal n */
	int timed_out;
	char *out, *err;             /* NUL-terminated */
	size_t out_len, err_len;
};

/* args: NULL-terminated, without the program. */
void run_memvisor(struct run_result *r, const struct run_opts *o, const char *const *args);
void run_free(struct run_result *r);

/* Lines in s (the last one may lack its newline). */
int count_lines(const char *s);
/* Writes len bytes to a new temporary file; returns its path (static). */
const char *temp_file(const void *buf, size_t len);

#endif

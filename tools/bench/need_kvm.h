/*
 * The VM benchmarks (boot, balloon, linux_boot) on a host where guests
 * cannot run: each says so once and is skipped, so `make bench` still
 * gives the allocator figures there.
 */
#ifndef TOOLS_BENCH_NEED_KVM_H
#define TOOLS_BENCH_NEED_KVM_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline bool bench_have_kvm(const char *bench)
{
	if (access("/dev/kvm", R_OK | W_OK) == 0)
		return true;
	fprintf(stderr, "bench: %s skipped: /dev/kvm: %s (no guest can run here)\n", bench,
		strerror(errno));
	return false;
}

#endif

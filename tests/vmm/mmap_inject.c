/*
 * mmap failure injection (mmap_inject.h).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include "mmap_inject.h"

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

static atomic_bool armed, hole;
static int want_flags, fail_err;
static atomic_uint skip_left, fired;

void mmap_inject_arm(int flags, unsigned skip, int err)
{
	want_flags = flags;
	fail_err = err;
	atomic_store(&skip_left, skip);
	atomic_store(&hole, false);
	atomic_store(&armed, true);
}

void mmap_inject_arm_hole(int flags, unsigned skip, int err)
{
	mmap_inject_arm(flags, skip, err);
	atomic_store(&hole, true);
}

void mmap_inject_disarm(void)
{
	atomic_store(&armed, false);
}

unsigned mmap_inject_fired(void)
{
	return atomic_load(&fired);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (atomic_load(&armed) && (flags & want_flags) == want_flags) {
		if (atomic_load(&skip_left) == 0) {
			atomic_store(&armed, false);
			atomic_fetch_add(&fired, 1);
			if (atomic_load(&hole) && (flags & MAP_FIXED))
				munmap(addr, len);
			errno = fail_err;
			return MAP_FAILED;
		}
		atomic_fetch_sub(&skip_left, 1);
	}
	return __real_mmap(addr, len, prot, flags, fd, off);
}

/*
 * The mapping budget of mapbudget.h: shares of vm.max_map_count, read once,
 * charged with atomics by any thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include "mapbudget.h"

#define MAPS_DEFAULT_MAX 65530   /* the kernel's default vm.max_map_count */
#define MAPS_RESERVE 2048

static uint64_t maps_charged[MM_MAPS_NR_ACCOUNTS];
static uint64_t maps_share[MM_MAPS_NR_ACCOUNTS];
static pthread_once_t maps_once = PTHREAD_ONCE_INIT;

static void maps_read_limit(void)
{
	unsigned long max = MAPS_DEFAULT_MAX;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");

	if (f) {
		if (fscanf(f, "%lu", &max) != 1 || max == 0)
			max = MAPS_DEFAULT_MAX;
		fclose(f);
	}
	unsigned long guest = max - max / 2;
	maps_share[MM_MAPS_VMAP] = max / 2;
	maps_share[MM_MAPS_GUEST] = guest > 2 * MAPS_RESERVE ? guest - MAPS_RESERVE : guest / 2;
}

uint64_t mm_maps_share(enum mm_maps_account acct)
{
	pthread_once(&maps_once, maps_read_limit);
	return maps_share[acct];
}

int mm_maps_charge(enum mm_maps_account acct, uint64_t n)
{
	uint64_t share = mm_maps_share(acct);
	uint64_t now = __atomic_add_fetch(&maps_charged[acct], n, __ATOMIC_RELAXED);
	if (now > share) {
		__atomic_sub_fetch(&maps_charged[acct], n, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	return 0;
}

void mm_maps_uncharge(enum mm_maps_account acct, uint64_t n)
{
	__atomic_sub_fetch(&maps_charged[acct], n, __ATOMIC_RELAXED);
}

uint64_t mm_maps_charged(enum mm_maps_account acct)
{
	return __atomic_load_n(&maps_charged[acct], __ATOMIC_RELAXED);
}

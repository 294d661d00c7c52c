/*
 * Preallocation (guest_prealloc.h). The views are cut into chunks that
 * threads take in turn; each chunk is populated with MADV_POPULATE_WRITE
 * (Linux 5.14 on: the kernel faults every page in, huge pages whole, with
 * no copy through user space), or, on an older kernel, by writing each
 * page's first byte back to itself (nothing is running in the guest yet,
 * so no write can be lost).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "mm/arena.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/memory/guest_prealloc.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PREALLOC_CHUNK (32ULL << 20)
#define PREALLOC_MAX_THREADS 16

struct prealloc_job {
	unsigned nr_regions;
	struct guest_mem_region regions[8];
	uint64_t chunks_before[9];   /* chunk index where each region starts */
	atomic_uint_fast64_t next;
	atomic_int err;
};

static void populate(uint8_t *p, uint64_t len, atomic_int *err)
{
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
		return;
	if (errno != EINVAL) {
		atomic_store(err, -errno);
		return;
	}
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		volatile uint8_t *b = p + off;
		*b = *b;
	}
}

static void *prealloc_thread(void *arg)
{
	struct prealloc_job *j = arg;
	uint64_t total = j->chunks_before[j->nr_regions];

	for (uint64_t c; (c = atomic_fetch_add(&j->next, 1)) < total && !atomic_load(&j->err);) {
		unsigned i = 0;
		while (c >= j->chunks_before[i + 1])
			i++;
		const struct guest_mem_region *r = &j->regions[i];
		uint64_t off = (c - j->chunks_before[i]) * PREALLOC_CHUNK;
		uint64_t len = r->size - off < PREALLOC_CHUNK ? r->size - off : PREALLOC_CHUNK;
		populate(r->hva + off, len, &j->err);
	}
	return NULL;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int guest_mem_prealloc(struct guest_mem *gm, unsigned max_threads, struct guest_prealloc_result *out)
{
	struct prealloc_job *j = calloc(1, sizeof(*j));
	pthread_t t[PREALLOC_MAX_THREADS];
	double t0 = now_ms();

	*out = (struct guest_prealloc_result){ 0 };
	if (!j)
		return -ENOMEM;
	unsigned n = guest_mem_nr_regions(gm);
	for (unsigned i = 0; i < n && j->nr_regions < 8; i++) {
		if (guest_mem_region(gm, i, &j->regions[j->nr_regions]))
			continue;
		uint64_t size = j->regions[j->nr_regions].size;
		j->chunks_before[j->nr_regions + 1] = j->chunks_before[j->nr_regions] +
						      (size + PREALLOC_CHUNK - 1) / PREALLOC_CHUNK;
		out->bytes += size;
		j->nr_regions++;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t chunks = j->chunks_before[j->nr_regions];
	unsigned want = max_threads ? max_threads : PREALLOC_MAX_THREADS;
	if (cpus > 0 && want > (unsigned)cpus)
		want = (unsigned)cpus;
	if (want > PREALLOC_MAX_THREADS)
		want = PREALLOC_MAX_THREADS;
	if (want > chunks)
		want = chunks ? (unsigned)chunks : 1;
	unsigned started = 0;
	while (started < want && !pthread_create(&t[started], NULL, prealloc_thread, j))
		started++;
	if (!started)
		prealloc_thread(j);   /* no threads to be had: this one does it all */
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	int rc = atomic_load(&j->err);
	out->threads = started ? started : 1;
	out->ms = now_ms() - t0;
	free(j);
	return rc;
}

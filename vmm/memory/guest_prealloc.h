/*
 * --prealloc (QEMU's -mem-prealloc, Cloud Hypervisor's prefault=on, libvirt's
 * <allocation mode='immediate'/>): every page of guest RAM backed by host
 * memory before the guest's first instruction, so its first touch costs
 * only the second-stage fault. guest_prealloc.c.
 */
#ifndef VMM_MEMORY_GUEST_PREALLOC_H
#define VMM_MEMORY_GUEST_PREALLOC_H

#include <stdint.h>

struct guest_mem;

/* Guests from this size on get a line on stderr saying what takes time. */
#define GUEST_PREALLOC_ANNOUNCE (2ULL << 30)

struct guest_prealloc_result {
	unsigned threads;
	double ms;
	uint64_t bytes;
};

/* Backs every page of every region's view, on up to max_threads threads
 * (bounded by the host's CPUs). 0, or -errno (ENOMEM: the host ran out). */
int guest_mem_prealloc(struct guest_mem *gm, unsigned max_threads, struct guest_prealloc_result *out);

#endif

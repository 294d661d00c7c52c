/*
 * The once-per-address log of unhandled accesses. The set has a fixed size
 * from kmalloc; when a guest has touched that many distinct addresses it is
 * probing wildly, and one last line says further ones go unreported.
 */
#include <errno.h>
#include <stdio.h>
#include "mm/kmalloc.h"
#include "vmm/devices/unhandled.h"

#define UNHANDLED_CAP 1024            /* 8 KiB: the largest kmalloc class */
#define UNHANDLED_LIMIT (UNHANDLED_CAP / 2)

int unhandled_init(struct unhandled_log *l, struct mm_arena *a, struct out_stream *log)
{
	*l = (struct unhandled_log){ .arena = a, .log = log, .cap = UNHANDLED_CAP };
	l->seen = kzalloc(a, UNHANDLED_CAP * sizeof(uint64_t));
	if (!l->seen)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	return 0;
}

void unhandled_destroy(struct unhandled_log *l)
{
	if (!l->seen)
		return;
	kfree(l->arena, l->seen);
	l->seen = NULL;
	pthread_mutex_destroy(&l->lock);
}

static const char *const unhandled_what[] = {
	[UNHANDLED_PORT] = "unhandled port",
	[UNHANDLED_MMIO] = "unhandled MMIO",
	[UNHANDLED_BAD_REQUEST] = "bad request on port",
};

/* Keys are never 0: the kind is in the top bits and bit 61 is always set.
 * Addresses are ports or guest physical addresses, both below 2^52. */
static uint64_t unhandled_key(enum unhandled_kind kind, uint64_t addr)
{
	return (addr & ((1ULL << 61) - 1)) | (1ULL << 61) | ((uint64_t)kind << 62);
}

/* Inserts key; true if it was not there. */
static bool unhandled_insert(struct unhandled_log *l, uint64_t key)
{
	unsigned i = (unsigned)((key * 0x9e3779b97f4a7c15ULL) >> 54) & (l->cap - 1);

	for (;; i = (i + 1) & (l->cap - 1)) {
		if (l->seen[i] == key)
			return false;
		if (l->seen[i] == 0) {
			l->seen[i] = key;
			l->count++;
			return true;
		}
	}
}

bool unhandled_note(struct unhandled_log *l, enum unhandled_kind kind, uint64_t addr)
{
	bool report = false, said_full = false;

	pthread_mutex_lock(&l->lock);
	if (l->count < UNHANDLED_LIMIT) {
		report = unhandled_insert(l, unhandled_key(kind, addr));
	} else if (!l->full_said) {
		l->full_said = said_full = true;
	}
	pthread_mutex_unlock(&l->lock);
	if (report)
		out_stream_printf(l->log, "memvisor: %s %#llx (logged once)\n", unhandled_what[kind],
			(unsigned long long)addr);
	if (said_full)
		out_stream_printf(l->log, "memvisor: %d unhandled addresses seen; no more are logged\n",
			UNHANDLED_LIMIT);
	return report;
}

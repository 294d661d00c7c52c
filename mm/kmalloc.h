/*
 * kmalloc: size classes 8 B .. 8 KiB on top of the slab caches, and
 * kvmalloc/kvfree: kmalloc for small sizes, else one buddy block taken
 * without waiting, else scattered frames (largest blocks first) stitched into
 * the arena's vmap area with MAP_FIXED. kvfree tells them apart by address.
 */
#ifndef MM_KMALLOC_H
#define MM_KMALLOC_H

#include <stddef.h>
#include <stdint.h>
#include "arena.h"

#define KMALLOC_MIN_SIZE 8
#define KMALLOC_MAX_SIZE 8192
#define KMALLOC_NR_CLASSES 13  /* 8 16 32 64 96 128 192 256 512 1k 2k 4k 8k */

/* kvmalloc flags */
#define KV_NO_CONTIG 0x1u      /* skip the buddy-block path (benchmarks, tests) */

struct kvmalloc_stats {
	uint64_t kmalloc_allocs;     /* served by kmalloc */
	uint64_t contig_allocs;      /* one buddy block through the direct map */
	uint64_t scattered_allocs;   /* frames stitched into the vmap area */
	uint64_t failures;           /* nothing could serve it (or size bad) */
	uint64_t frees_kmalloc, frees_contig, frees_scattered;
	uint64_t bad_calls;          /* size 0, too large, foreign or double frees */
	uint64_t vmap_bytes;         /* bytes mapped in the vmap area now */
	uint64_t vmap_mappings;      /* host mappings those use now (I4 budget) */
};

/* Internal: set up and tear down an arena's kmalloc caches and vmap area,
 * on a slab already attached (mm_create and mm_destroy, mm.h, call these). */
int kmalloc_init(struct mm_arena *a);
void kmalloc_fini(struct mm_arena *a);

/* NULL for size 0 (reported) or size > KMALLOC_MAX_SIZE. */
void *kmalloc(struct mm_arena *a, size_t size);
void *kzalloc(struct mm_arena *a, size_t size);
/* NULL is ignored; a pointer kmalloc did not return is reported and ignored. */
void kfree(struct mm_arena *a, const void *p);
/* Usable size of a kmalloc object, 0 for a foreign pointer. */
size_t ksize(struct mm_arena *a, const void *p);
/* Index of the class serving size, or -1. */
int kmalloc_class(size_t size);
size_t kmalloc_class_size(int cls);

void *kvmalloc(struct mm_arena *a, size_t size);
void *kvmalloc_flags(struct mm_arena *a, size_t size, unsigned flags);
void *kvzalloc(struct mm_arena *a, size_t size);
void kvfree(struct mm_arena *a, const void *p);
/* Which path served p: "kmalloc", "contig", "scattered", or NULL (foreign). */
const char *kvmalloc_kind(struct mm_arena *a, const void *p);
void kvmalloc_get_stats(struct mm_arena *a, struct kvmalloc_stats *out);

#endif

/*
 * The vmap area: one reservation of host address space (PROT_NONE, no
 * backing) in which frames of zone Normal are stitched into virtually
 * contiguous ranges with MAP_FIXED, as vmalloc stitches pages. Owns the range
 * allocator inside the reservation (first-fit, a guard page after every
 * range), the lookup of live ranges by start address, and the count of host
 * mappings the ranges cost (invariant I4).
 *
 * A frame list names the frames to map: zone-relative indexes linked through
 * frame.owner (user data while a frame is VMM-owned), ending in FRAME_NONE.
 * The caller owns the frames; this file only maps and unmaps them.
 */
#ifndef MM_VMAP_H
#define MM_VMAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "arena.h"

/* The area is a multiple of zone Normal's size, at least twice it (every
 * frame can be mapped even as one-page ranges, each with its guard page)
 * and at least VMAP_MIN_BYTES. */
#define VMAP_AREA_ZONE_MULT 2
#define VMAP_MIN_BYTES (64UL << 20)

/* One range of the area: free, reserved, or live (frames mapped). */
struct vmap_range {
	uint8_t *addr;
	size_t nr_pages;            /* pages usable by the owner (guard excluded) */
	struct mm_zone *zone;       /* zone of the mapped frames */
	uint32_t first_frame;       /* head of the frame list, FRAME_NONE if none */
	uint32_t nr_runs;           /* host mappings the frames take */
	/* Owned by vmap.c. */
	size_t span_pages;          /* pages taken from the area (guard included) */
	struct vmap_range *prev, *next;  /* every range, in address order */
	struct vmap_range *hnext;   /* hash chain of live ranges */
	bool busy;                  /* reserved or live */
	bool mapped;                /* frames mapped now */
	bool live;                  /* findable by address */
};

struct vmap_area;

/* Reserves the area of arena a (sized from its zone Normal); its records
 * come from a->desc_cache. 0 or -errno. */
int vmap_area_create(struct mm_arena *a, struct vmap_area **out);
/* Unmaps the whole reservation; ranges still live are reported. */
void vmap_area_destroy(struct vmap_area *va);

bool vmap_area_contains(const struct vmap_area *va, const void *p);

/* Reserves nr_pages of the area (plus a guard page), first fit. 0 or -errno
 * (-ENOMEM: no hole large enough, or no memory for the record). */
int vmap_range_alloc(struct vmap_area *va, size_t nr_pages, struct vmap_range **out);
/* Gives a reserved range back (its frames must be unmapped). */
void vmap_range_free(struct vmap_area *va, struct vmap_range *r);

/*
 * Maps the frame list starting at first (exactly r->nr_pages frames of z)
 * over r, one mmap per run of consecutive frames, and makes r live. Refuses
 * (-ENOSPC) when the runs would overrun the process's mapping budget. On any
 * failure the range is PROT_NONE again and still reserved; -EIO means even
 * that failed and the frames may still be reachable (the caller must keep
 * them VMM-owned).
 */
int vmap_map_frames(struct vmap_area *va, struct vmap_range *r, struct mm_zone *z,
		    uint32_t first);
/*
 * Puts PROT_NONE placeholders back over r, so the frames are unreachable
 * through the area and the range stays reserved. 0 or -errno; on failure the
 * frames may still be reachable and must not be freed.
 */
int vunmap(struct vmap_area *va, struct vmap_range *r);

/* The live range starting exactly at addr, or NULL. */
struct vmap_range *vmap_range_find(struct vmap_area *va, const void *addr);
/* The same, also making it not live, so of two racing callers one wins. */
struct vmap_range *vmap_range_take(struct vmap_area *va, const void *addr);

/*
 * Bytes mapped now, and the host mappings the area costs beyond its single
 * reservation (the runs, plus the placeholder pieces they split off): what
 * /proc/self/maps shows over the area is 1 + mappings.
 */
void vmap_area_usage(struct vmap_area *va, uint64_t *bytes, uint64_t *mappings);
/* Start and length of the reservation (tests read /proc/self/maps with it). */
void vmap_area_bounds(const struct vmap_area *va, const void **start, size_t *bytes);

#endif

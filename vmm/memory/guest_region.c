/*
 * Building one guest RAM region and taking it down: the 2 MiB-aligned view,
 * the choice of zone and of contiguous or scattered backing, placing blocks
 * of frames at their GFNs (p2m leaves, frame owners) and stitching them into
 * the view with as few host mappings as the frames allow.
 *
 * Blocks are placed in the order they are taken, largest first, so every
 * block lands at a GFN aligned to its size: a block of 2 MiB or more always
 * gets 2 MiB p2m leaves. Consecutive frames of one zone are mapped with one
 * mmap, and the kernel keeps such runs as one mapping (PLATFORM.md §9).
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "vmm/memory/guest_mem_internal.h"
#include "mm/mapbudget.h"

/* The failure message of a build (guest_mem.c's too): "why" gets it. */
int gm_fail(char *why, size_t why_len, int rc, const char *fmt, ...)
{
	if (why && why_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* The run of placed frames waiting to be mapped into the view. */
struct gm_build {
	struct guest_mem *gm;
	struct gm_region *r;
	struct mm_zone *run_zone;
	uint32_t run_idx;
	uint64_t run_off, run_frames;    /* in frames from the region's start */
	int map_err;                     /* a mapping of the view failed: -errno */
};

static inline uint64_t gm_gfn0(const struct gm_region *r)
{
	return r->gpa >> PAGE_SHIFT;
}

/* A PROT_NONE reservation of bytes at a 2 MiB-aligned address, so 2 MiB
 * pieces of the view can be backed by 2 MiB host pages. */
static uint8_t *gm_view_reserve(uint64_t bytes)
{
	size_t span = bytes + HUGE_PAGE_SIZE;
	uint8_t *raw = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uint8_t *v = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE_SIZE - 1) & ~(uintptr_t)(HUGE_PAGE_SIZE - 1));
	if (v > raw)
		munmap(raw, (size_t)(v - raw));
	if (raw + span > v + bytes)
		munmap(v + bytes, (size_t)(raw + span - (v + bytes)));
	return v;
}

static int gm_run_flush(struct gm_build *b)
{
	struct gm_region *r = b->r;

	if (!b->run_frames)
		return 0;
	int rc = mm_maps_charge(MM_MAPS_GUEST, 1);
	if (rc)
		return rc;
	uint8_t *at = r->view + (b->run_off << PAGE_SHIFT);
	size_t len = (size_t)b->run_frames << PAGE_SHIFT;
	rc = gm_view_map(at, len, b->run_zone, b->run_idx);
	if (rc) {
		b->map_err = rc;
		mm_maps_uncharge(MM_MAPS_GUEST, 1);
		/* A failed MAP_FIXED may leave a hole; fill it again so nobody
		 * else's mapping lands inside the view before the teardown. */
		mmap(at, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		     -1, 0);
		return rc;
	}
	r->nr_mappings++;
	b->run_frames = 0;
	return 0;
}

/* Frees the blocks of [idx, idx + nr), which were never placed. */
static void gm_blocks_free(struct mm_zone *z, uint32_t idx, uint64_t nr)
{
	for (uint64_t i = 0; i < nr;) {
		unsigned order = z->buddy.frames[idx + i].order;
		gm_frames_free(z, (uint32_t)(idx + i), order);
		i += 1ULL << order;
	}
}

/*
 * Places nr frames from idx (one or more whole blocks) at the next GFNs of
 * the region: owners, p2m leaves, and the pending run of the view. On
 * failure the blocks go back.
 */
static int gm_place(struct gm_build *b, struct mm_zone *z, uint32_t idx, uint64_t nr)
{
	struct gm_region *r = b->r;
	uint64_t gfn = gm_gfn0(r) + r->placed;

	for (uint64_t i = 0; i < nr;) {
		struct frame *f = &z->buddy.frames[idx + i];
		f->owner = (uint32_t)(gfn + i);
		i += 1ULL << f->order;
	}
	int rc = p2m_map_range(b->gm->p2m, gfn, z->base_hfn + idx, nr, GM_LEAF_FLAGS);
	if (rc) {
		gm_blocks_free(z, idx, nr);
		return rc;
	}
	if (b->run_frames && (b->run_zone != z || b->run_idx + b->run_frames != idx)) {
		rc = gm_run_flush(b);
		if (rc) {
			/* Placed in the p2m: the teardown frees them. */
			r->placed += nr;
			return rc;
		}
	}
	if (!b->run_frames) {
		b->run_zone = z;
		b->run_idx = idx;
		b->run_off = r->placed;
	}
	b->run_frames += nr;
	r->placed += nr;
	r->zone_bytes[z->id] += nr << PAGE_SHIFT;
	return 0;
}

/* One run of frames for the whole region, or -ENOMEM (nothing taken). */
static int gm_build_contig(struct gm_build *b, struct mm_zone *z)
{
	uint64_t nr = b->r->size >> PAGE_SHIFT;

	if (nr > z->buddy.nr_frames)
		return -ENOMEM;
	long idx = buddy_alloc_contig(&z->buddy, (uint32_t)nr, P2M_ORDER_2M, FRAME_GUEST);
	if (idx < 0)
		return -ENOMEM;
	int rc = gm_place(b, z, (uint32_t)idx, nr);
	if (!rc)
		rc = gm_run_flush(b);
	b->r->contiguous = !rc;
	return rc;
}

static unsigned gm_floor_log2(uint64_t n)
{
	return 63U - (unsigned)__builtin_clzll(n);
}

/* Takes blocks of at least 2^min_order frames from z, largest first, until
 * left is covered or z has none; a failed order is not retried. */
static int gm_take_blocks(struct gm_build *b, struct mm_zone *z, unsigned min_order, uint64_t *left)
{
	unsigned cap = z->buddy.max_order;

	while (*left >= (1ULL << min_order)) {
		unsigned order = gm_floor_log2(*left);
		if (order > cap)
			order = cap;
		if (order < min_order)
			break;
		long idx = mm_frames_alloc(z, order, MT_MOVABLE, FRAME_GUEST, false);
		if (idx < 0) {
			if (order == min_order)
				break;
			cap = order - 1;
			continue;
		}
		int rc = gm_place(b, z, (uint32_t)idx, 1ULL << order);
		if (rc)
			return rc;
		*left -= 1ULL << order;
	}
	return 0;
}

/* Zone Huge's 2 MiB blocks first (2 MiB host pages for as much as they
 * cover), then zone Normal's largest blocks. */
static int gm_build_scattered(struct gm_build *b, struct mm_zone *huge, struct mm_zone *normal)
{
	uint64_t left = (b->r->size >> PAGE_SHIFT) - b->r->placed;
	struct p2m *p2m = b->gm->p2m;

	/* The guest is about to take the zone's last blocks; the p2m's table
	 * pages must be had before, or 4 KiB leaves find no memory. */
	int rc = p2m_reserve_range(p2m, gm_gfn0(b->r) + b->r->placed, left);
	if (!rc && huge)
		rc = gm_take_blocks(b, huge, P2M_ORDER_2M, &left);
	if (!rc && normal)
		rc = gm_take_blocks(b, normal, 0, &left);
	if (!rc)
		rc = gm_run_flush(b);
	if (!rc && left)
		rc = -ENOMEM;
	p2m_release_reserve(p2m);
	return rc;
}

/* Frames of z free in blocks of at least 2^min_order (this thread's cache
 * not counted: its frames are few). */
static uint64_t gm_zone_free(struct mm_zone *z, unsigned min_order)
{
	uint64_t per_order[MM_MAX_ORDER_LIMIT + 1], per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1];
	uint64_t frames = 0;

	if (!z)
		return 0;
	buddy_free_blocks(&z->buddy, per_order, per_type);
	for (unsigned o = min_order; o <= z->buddy.max_order; o++)
		frames += per_order[o] << o;
	return frames;
}

/*
 * Which frames back a region: zone Huge when it has room for all of it in
 * 2 MiB pages (one run if the buddy finds one, else its 2 MiB blocks);
 * else, unless hugepages are on, one run of zone Normal; else the largest
 * free blocks of both zones, zone Huge's whole 2 MiB pages first.
 */
int gm_region_build(struct guest_mem *gm, struct gm_region *r, enum mm_huge_mode huge,
		    char *why, size_t why_len)
{
	struct mm_arena *a = gm->arena;
	struct mm_zone *hz = huge == MM_HUGE_OFF ? NULL : mm_zone_get(a, ZONE_HUGE);
	struct mm_zone *nz = mm_zone_get(a, ZONE_NORMAL);
	struct gm_build b = { .gm = gm, .r = r };
	uint64_t nr = r->size >> PAGE_SHIFT;
	bool whole_2m = !(r->size & (HUGE_PAGE_SIZE - 1));
	char size[24];
	int rc;

	p2m_size_str(r->size, size);
	if (huge == MM_HUGE_ON && !hz)
		return gm_fail(why, why_len, -ENODEV, "hugepages on, but there is no zone Huge (%s)",
			       a->huge_status);
	if (huge == MM_HUGE_ON && !whole_2m)
		return gm_fail(why, why_len, -EINVAL,
			       "hugepages on needs guest RAM in whole 2 MiB pages (region of %s)", size);
	r->view = gm_view_reserve(r->size);
	if (!r->view)
		return gm_fail(why, why_len, -ENOMEM, "cannot reserve %s of address space for the "
			       "guest view: %s", size, strerror(errno));

	/* Measured before the region takes anything, for the messages. */
	uint64_t huge_free = gm_zone_free(hz, P2M_ORDER_2M);
	uint64_t normal_free = gm_zone_free(nz, 0);
	if (hz && whole_2m && huge_free >= nr) {
		rc = gm_build_contig(&b, hz);
		if (rc == -ENOMEM && !r->placed)
			rc = gm_build_scattered(&b, hz, NULL);
	} else if (huge == MM_HUGE_ON) {
		return gm_fail(why, why_len, -ENOMEM, "hugepages on, but zone Huge has %" PRIu64
			       " MiB free in 2 MiB pages and the region at GPA %#" PRIx64 " needs %s",
			       huge_free >> (20 - PAGE_SHIFT), r->gpa, size);
	} else {
		/* Frames this thread's cache holds are not on the free lists,
		 * where a run is looked for. */
		mm_pcp_drain(nz);
		rc = gm_build_contig(&b, nz);
		if (rc == -ENOMEM && !r->placed)
			rc = gm_build_scattered(&b, hz, nz);
	}
	/* The view could not be mapped (the kernel said no): say so, rather
	 * than blame free memory or fall back with nothing left to place. */
	if (b.map_err)
		return gm_fail(why, why_len, rc, "cannot map the guest view at GPA %#" PRIx64 ": %s",
			       r->gpa, strerror(-b.map_err));
	if (rc == -ENOMEM) {
		char huge_part[64] = "";
		if (hz)
			snprintf(huge_part, sizeof(huge_part), ", zone Huge %" PRIu64
				 " MiB in 2 MiB pages", huge_free >> (20 - PAGE_SHIFT));
		return gm_fail(why, why_len, rc, "not enough free memory for %s of guest RAM at GPA %#"
			       PRIx64 ": zone Normal has %" PRIu64 " MiB free%s", size, r->gpa,
			       normal_free >> (20 - PAGE_SHIFT), huge_part);
	}
	if (rc == -ENOSPC)
		return gm_fail(why, why_len, rc, "the guest view of %s at GPA %#" PRIx64 " would need "
			       "more host mappings than vm.max_map_count leaves (memory too "
			       "fragmented)", size, r->gpa);
	if (rc)
		return gm_fail(why, why_len, rc, "cannot map guest RAM at GPA %#" PRIx64 ": %s",
			       r->gpa, strerror(-rc));
	return 0;
}

/* ---- teardown ---- */

struct gm_free_walk {
	struct mm_arena *arena;
	uint64_t next_gfn;       /* GFNs below were covered by freed blocks */
	unsigned long bad;
};

/* Frees each block whose head a leaf names; the block's other frames follow
 * it in GFN order and are skipped. */
static void gm_free_leaf(uint64_t g, const struct p2m_leaf *leaf, void *arg)
{
	struct gm_free_walk *w = arg;
	uint64_t n = 1ULL << leaf->order;

	for (uint64_t i = 0; i < n; i++) {
		if (g + i < w->next_gfn)
			continue;
		uint32_t idx;
		struct mm_zone *z = gm_hfn_zone(w->arena, leaf->hfn + i, &idx);
		if (!z || buddy_block_head(&z->buddy, idx) != (long)idx) {
			w->bad++;
			continue;
		}
		unsigned order = z->buddy.frames[idx].order;
		if (gm_frames_free(z, idx, order))
			w->bad++;
		w->next_gfn = g + i + (1ULL << order);
	}
}

void gm_region_teardown(struct guest_mem *gm, struct gm_region *r)
{
	if (!r->view)
		return;
	/* Unreachable first (I2): only then may the buddy hand the frames on. */
	if (munmap(r->view, r->size)) {
		fprintf(stderr, "memvisor: guest memory: cannot unmap the view of GPA %#" PRIx64
			": %s; its frames stay reserved\n", r->gpa, strerror(errno));
		return;
	}
	r->view = NULL;
	mm_maps_uncharge(MM_MAPS_GUEST, r->nr_mappings);
	r->nr_mappings = 0;
	struct gm_free_walk w = { .arena = gm->arena };
	p2m_for_each_leaf(gm->p2m, gm_gfn0(r), r->placed, gm_free_leaf, &w);
	if (w.bad)
		fprintf(stderr, "memvisor: guest memory: %lu frames of GPA %#" PRIx64 " were not "
			"guest blocks the p2m could free; leaked\n", w.bad, r->gpa);
	r->placed = 0;
}

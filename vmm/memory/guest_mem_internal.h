/*
 * What the guest memory files share: the guest_mem structure, the region
 * builders (guest_region.c), the frame helpers and the host mapping budget
 * (guest_frames.c). Not for use outside guest_mem*.c / guest_*.c.
 */
#ifndef VMM_GUEST_MEM_INTERNAL_H
#define VMM_GUEST_MEM_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>
#include "vmm/memory/guest_mem.h"

#define GM_HUGE_FRAMES (1U << P2M_ORDER_2M)    /* frames per 2 MiB page */
#define GM_LEAF_FLAGS  EPT_RWX                 /* guest RAM: read, write, execute */

struct gm_region {
	uint64_t gpa, size;
	uint8_t *view;
	bool contiguous;
	uint64_t zone_bytes[MM_NR_ZONES];
	uint64_t nr_mappings;      /* under guest_mem.lock */
	uint64_t placed;           /* frames placed so far (all once built) */
};

struct guest_mem {
	struct mm_arena *arena;
	struct p2m *p2m;
	uint64_t ram_bytes;
	unsigned nr_regions;
	struct gm_region region[GUEST_MEM_MAX_REGIONS];
	/* Serializes remaps and punches, and guards the mapping counts. */
	pthread_mutex_t lock;
	/* The balloon's per-GFN state (balloon_state.c), while a balloon is
	 * attached; balloon_mem_forget drops it. */
	struct bm_state *balloon;
	/* Compaction's counters for this guest (guest_compact.c), added to
	 * under the lock and read with relaxed loads by the monitor. */
	struct gm_compact_counters {
		uint64_t runs, moved, failed, hash_mismatches, stale, split_blocks;
		uint64_t promoted_ranges, steered_ranges, bytes_copied, ns;
	} compact;
	/* What a steer of a 2 MiB range took lately (guest_promote.c), under
	 * the lock: a budgeted compaction starts one only if it fits. */
	uint64_t steer_ns;
	/* The first GFN of the 2 MiB range promotion looks at next: where the
	 * last pass ran out of time (guest_promote.c), under the lock. */
	uint64_t promote_at;
	/* gm_copy_to_frames' read-back buffer, made on first use (kvmalloc),
	 * under the lock. */
	void *copy_buf;
	/* gm_copy_to_frames' 2 MiB window for whole huge blocks, reserved on
	 * first use, under the lock. */
	uint8_t *copy_window;
};

/* Which zones a region may take frames from. */
struct gm_zones {
	bool huge, normal;
};

/* guest_mem.c: fills why (if not NULL) with one line and returns rc. */
/* guest_region.c */
int gm_fail(char *why, size_t why_len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* guest_region.c */
int gm_region_build(struct guest_mem *gm, struct gm_region *r, enum mm_huge_mode huge,
		    char *why, size_t why_len);
void gm_region_teardown(struct guest_mem *gm, struct gm_region *r);

/* guest_frames.c: frames by global number, and the I4 budget. */
struct mm_zone *gm_hfn_zone(struct mm_arena *a, uint64_t hfn, uint32_t *idx);
/* Gives a guest block back: zone Huge straight to the buddy (its frames
 * serve only 2 MiB requests, so they should merge at once), zone Normal
 * through this thread's frame cache. */
int gm_frames_free(struct mm_zone *z, uint32_t idx, unsigned order);
/*
 * Turns the guest block holding idx into order-0 blocks, each owned by its
 * own GFN, so single frames can leave it. gfn is the GFN idx backs.
 */
int gm_block_split(struct mm_zone *z, uint32_t idx, uint64_t gfn);
/* Punches [idx, idx + n) of zone Normal z's file: frames a move left, on
 * their way to the buddy, give their host memory back (a moved guest would
 * otherwise cost the host twice its size), and an aligned block of them can
 * get one huge page when next used. */
void gm_frames_drop_backing(const struct mm_zone *z, uint32_t idx, uint64_t n);
/*
 * After a failed MAP_FIXED over [at, at + len) of a live view: the kernels
 * before 6.12 unmap the old range before they fail, leaving a hole that an
 * unrelated mapping (a thread's stack, a malloc arena) could take and the
 * guest would then reach through its memslot (I2). Puts back what was there
 * (z's frames from idx, or with z NULL an anonymous placeholder); failing
 * that, an inaccessible reservation, so a guest access fails in KVM instead.
 * guest_frames.c.
 */
void gm_view_restore(void *at, size_t len, const struct mm_zone *z, uint32_t idx);

/*
 * Maps len bytes of z's frames from idx at at (MAP_FIXED, shared): how
 * every piece of a guest view is made. On a THP-backed zone Normal the
 * piece asks for 2 MiB host pages (MADV_HUGEPAGE), which it gets where it
 * covers a 2 MiB-aligned run, so KVM's second stage can map it large.
 * 0 or -errno (the caller restores the range).
 */
int gm_view_map(void *at, size_t len, const struct mm_zone *z, uint32_t idx);

/* guest_frames.c, best effort: maps in [at, at + len) of a shared mapping now, so neither
 * the next access through it nor KVM's fault behind the guest's access
 * faults each page: MADV_POPULATE_WRITE, or with write false
 * MADV_POPULATE_READ (for frames that hold data already). */
void gm_populate(void *at, size_t len, bool write);

/*
 * Counting a view's host mappings (I4), guest_frames.c. What backs one page
 * of a view: a placeholder (ballooned out), or a frame of a zone; own is a
 * hugetlb mapping made on its own, which merges with nothing.
 */
struct gm_backing {
	bool placeholder;
	bool own;
	enum mm_zone_id zone;
	uint64_t hfn;
};
/* What backs gfn now (the caller's view of its own state). */
typedef void (*gm_backing_fn)(struct guest_mem *gm, uint64_t gfn, void *arg,
			      struct gm_backing *out);
/* The change in r's mappings when [g, g + n) becomes what first..last say
 * (first backs g, last backs g + n - 1); now says what backs a page today. */
int64_t gm_maps_delta(struct guest_mem *gm, const struct gm_region *r, uint64_t g, uint64_t n,
		      const struct gm_backing *first, const struct gm_backing *last,
		      gm_backing_fn now, void *arg);
/* The mapping boundaries inside [g, g + n) now: the mappings a range costs
 * beyond its first, which a change of the whole range into one run of
 * frames gives back (gm_maps_delta counts only its edges). */
uint64_t gm_maps_inside(struct guest_mem *gm, uint64_t g, uint64_t n, gm_backing_fn now, void *arg);

/* guest_inval.c: what backs gfn by the p2m alone (a placeholder where no
 * leaf is); arg unused. A gm_backing_fn for ranges the balloon's per 2 MiB
 * state says nothing about (zone Normal). */
void gm_backing_now(struct guest_mem *gm, uint64_t gfn, void *arg, struct gm_backing *b);

/* guest_copy.c: copies pages (4 KiB each) from src to dst and compares
 * the XXH3 of each copy with its source's: 0, or -EIO on a mismatch. */
int gm_copy_pages_checked(uint8_t *dst, const uint8_t *src, uint64_t pages);
/* guest_copy.c: copies pages from src, a mapping of the guest's pages (its
 * view), into z's frames from dst by the kernel, and checks each page's
 * XXH3 against its source's. 0, or -EIO (a mismatch) or -errno with *done
 * the pages copied and checked good before the failing one. Under
 * gm->lock (its read-back buffer is gm's). */
int gm_copy_to_frames(struct guest_mem *gm, struct mm_zone *z, uint32_t dst, const uint8_t *src,
		      uint64_t pages, uint64_t *done);
/* guest_copy.c: unmaps gm_copy_to_frames' window (at teardown). */
void gm_copy_window_drop(struct guest_mem *gm);

/* guest_compact_move.c: the batch mover of mm/compaction.h for gm: moves
 * src[i] -> dst[i] of z (zone-relative, dst owned by the GFN) and writes
 * each verdict to rc[i]; adds what it copied to res. */
struct guest_compact_result;
void gm_compact_move_batch(struct guest_mem *gm, struct mm_zone *z, const uint32_t *src,
			   const uint32_t *dst, unsigned n, int *rc, struct guest_compact_result *res);

/* guest_promote.c: after the scanners, the 2 MiB ranges of zone Normal
 * whose frames form an aligned run in order become one leaf and one
 * mapping; with steer, ranges that do not are first moved whole into a
 * free aligned 2 MiB block. Stops at deadline_ns (CLOCK_MONOTONIC) or
 * when *stop reads non-zero. Adds what it did to res. */
void gm_promote_ranges(struct guest_mem *gm, bool steer, uint64_t deadline_ns, const int *stop,
		       struct guest_compact_result *res);
/* guest_promote.c: whether a steer, by what the last ones took, fits
 * before deadline_ns. Under gm->lock. */
bool gm_steer_fits(const struct guest_mem *gm, uint64_t deadline_ns);
/* The 512 guest frames from idx (aligned), which back the 2 MiB range at g
 * in order, become one order-9 block: the scanners move order-0 frames and
 * leave such blocks, so a range that is one 2 MiB leaf stays one. */
int gm_range_join(struct mm_zone *z, uint32_t idx, uint64_t g);

/* The region holding gfn, or NULL. */
struct gm_region *gm_region_of(struct guest_mem *gm, uint64_t gfn);

#endif

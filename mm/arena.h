/*
 * The frame arena: zone Normal (a shmem file: on transparent huge pages
 * when the host allows, thp_file.h, else a 4 KiB memfd) and zone Huge (a
 * MFD_HUGETLB memfd of 2 MiB pages, present only when the host's hugetlb
 * pool has room), each mapped once as the direct map and managed by a buddy
 * zone. Also the frame allocation entry points, whose order 0..3 path goes
 * through per-thread caches (pcp.c) and takes no lock.
 *
 * Which zones an arena has is arena.c's, making one zone zone.c's, the I1
 * check over them arena_check.c's, the host's pool hugetlb.h's.
 *
 * The arena is the frame level: it creates nothing above it. The slab and
 * kmalloc keep their roots in it (the fields marked below) and are put on
 * top by mm_create (mm.h), which is what users call.
 *
 * HFNs number the frames of all zones: Normal first, then Huge.
 */
#ifndef MM_ARENA_H
#define MM_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <pthread.h>
#include "buddy.h"
#include "compaction_zone.h"
#include "hugetlb.h"
#include "mmthread.h"

enum mm_zone_id { ZONE_NORMAL = 0, ZONE_HUGE, MM_NR_ZONES };
enum mm_huge_mode { MM_HUGE_AUTO = 0, MM_HUGE_ON, MM_HUGE_OFF };
/* Zone Normal's file: AUTO takes THP when the host allows and says why
 * not otherwise; THP fails when it cannot; 4K is a plain memfd. */
enum mm_normal_backing { MM_NORMAL_AUTO = 0, MM_NORMAL_THP, MM_NORMAL_4K };

/* Orders a per-thread cache keeps, as Linux's per-CPU lists (0..3). */
#define PCP_MAX_ORDER 3

enum mm_slab_policy {
	MM_SLAB_DEFAULT = 0, /* $MEMVISOR_SLAB (slub, slab or slob), else SLUB */
	MM_SLAB_SLUB,
	MM_SLAB_SLAB,
	MM_SLAB_SLOB,
	MM_SLAB_NR_POLICIES,
};

struct mm_arena_config {
	size_t normal_bytes;        /* rounded up to 4 KiB; must be > 0 */
	size_t huge_bytes;          /* rounded up to 2 MiB; 0 = no zone Huge */
	enum mm_huge_mode huge;     /* AUTO: Huge only if the pool has room */
	enum mm_normal_backing normal_backing;
	unsigned max_order;         /* 0 = MM_DEFAULT_MAX_ORDER */
	enum mm_slab_policy slab_policy; /* which slab serves the caches (slab.h) */
};

/* One thread's cached free blocks in one zone. */
struct pcp_slot {
	uint32_t head[PCP_MAX_ORDER + 1][MT_NR_TYPES];
	uint32_t count[PCP_MAX_ORDER + 1][MT_NR_TYPES];  /* blocks per list */
	uint64_t frames;                                /* frames held in all lists */
	uint64_t frames_synced;  /* the part of frames counted in nr_pcp_pages (zone lock) */
	uint64_t hits, misses;                          /* served from the list / refilled */
	/* Odd while the owner changes frames without the zone lock, bumped
	 * again when done: how the I1 check knows it counted a moving slot. */
	uint64_t seq;
} __attribute__((aligned(64)));

struct slab;

struct mm_zone {
	struct buddy_zone buddy;
	enum mm_zone_id id;
	bool present;
	int memfd;
	/* Normal on a huge=advise tmpfs file: guest views that madvise
	 * MADV_HUGEPAGE get 2 MiB pages there (thp_file.h). */
	bool thp;
	uint8_t *base;              /* direct map, aligned to a max-order block */
	size_t bytes;
	uint64_t base_hfn;          /* HFN of frame 0 */
	unsigned pcp_batch, pcp_high;  /* frames moved per refill / kept at most */
	struct pcp_slot *pcp;       /* MM_MAX_THREADS slots */
	struct mm_percpu_owner pcp_owner;
	struct slab *slabs;         /* slab's: descriptors, one per frame, touched lazily */
	struct mm_compact_zone compact; /* compaction's counters and skip hints */
	void *frames_map;           /* mapping holding frames, pageblocks, skip hints */
	size_t frames_map_bytes;
	struct mm_arena *arena;
};

struct slab_cache;
struct slab_policy;
struct kmalloc_set;
struct vmap_area;

struct mm_arena {
	struct mm_zone zone[MM_NR_ZONES];
	unsigned max_order;
	char huge_status[160];      /* why zone Huge is or is not there */
	char normal_status[256];    /* zone Normal's backing, and why not THP */
	/* The layers above, set up by mm_create: the slab's list of caches, */
	pthread_mutex_t caches_lock;  /* protects the cache list below */
	struct slab_cache *caches;  /* every cache of this arena, for slabinfo */
	const struct slab_policy *slab_policy; /* what serves them (slab/slab_policy.h) */
	void *slab_policy_data;     /* the policy's own (SLOB's pages, SLAB's reaper) */
	unsigned slab_desc_colour;  /* the next cache descriptor's (caches_lock) */
	/* and kmalloc's record cache, size classes and vmap area. */
	struct slab_cache *desc_cache; /* small internal objects (vmap records) */
	struct kmalloc_set *kmalloc;
	struct vmap_area *vmap;
};

/*
 * Creates an arena: its zones, direct maps, buddy zones and per-thread frame
 * caches, and nothing above them (mm_create adds the slab and kmalloc).
 * Zone Huge: with MM_HUGE_AUTO it is created only when the hugetlb pool has
 * room for huge_bytes, otherwise the arena runs with Normal alone and says
 * so in huge_status; MM_HUGE_ON fails with -ENOMEM instead. 0 or -errno
 * (-EINVAL for a bad config, -E2BIG for zones too large); *out is written
 * only on success.
 */
int mm_arena_create(const struct mm_arena_config *cfg, struct mm_arena **out);
void mm_arena_destroy(struct mm_arena *a);

static inline struct mm_zone *mm_zone_get(struct mm_arena *a, enum mm_zone_id id)
{
	return a->zone[id].present ? &a->zone[id] : NULL;
}

static inline void *mm_frame_ptr(const struct mm_zone *z, uint32_t idx)
{
	return z->base + ((size_t)idx << PAGE_SHIFT);
}

static inline bool mm_zone_contains(const struct mm_zone *z, const void *p)
{
	return z->present && (const uint8_t *)p >= z->base &&
	       (const uint8_t *)p < z->base + z->bytes;
}

/* Frame index of a direct-map address (which must lie in the zone). */
static inline uint32_t mm_ptr_frame(const struct mm_zone *z, const void *p)
{
	return (uint32_t)(((const uint8_t *)p - z->base) >> PAGE_SHIFT);
}

/* "Normal", "Huge": how the kernel-style dumps name a zone ("?" past the
 * last). Zones present or not have their names. */
const char *mm_zone_name(enum mm_zone_id id);
/* What backs a zone: "thp" or "4k" (Normal), "hugetlb" (Huge). */
const char *mm_zone_backing(const struct mm_zone *z);

/* The zone whose direct map holds p, or NULL (a foreign pointer). */
struct mm_zone *mm_arena_zone_of(struct mm_arena *a, const void *p);

/*
 * Frame allocation. Orders 0..PCP_MAX_ORDER come from this thread's cache
 * without a lock (refilled from the buddy in batches); larger orders go to
 * the buddy. Returns the zone-relative head index or a negative errno.
 */
long mm_frames_alloc(struct mm_zone *z, unsigned order, enum migratetype mt,
		     enum frame_state st, bool compound);
int mm_frames_free(struct mm_zone *z, uint32_t idx, unsigned order);
/* Gives this thread's cached frames in z back to the buddy. */
void mm_pcp_drain(struct mm_zone *z);
/* Brings buddy.nr_pcp_pages up to what every thread's cache holds now
 * (they publish only when they take the zone lock); for the I1 count. */
void mm_pcp_publish(struct mm_zone *z);
/* mm_pcp_publish with the zone lock held (the I1 check's). */
void mm_pcp_publish_locked(struct mm_zone *z);
/* Every slot's seq into seq[MM_MAX_THREADS] (acquire); false if a slot is
 * in the middle of a change. */
bool mm_pcp_seq_read(struct mm_zone *z, uint64_t *seq);
/* true if any slot's seq moved since mm_pcp_seq_read gave seq. */
bool mm_pcp_seq_moved(struct mm_zone *z, const uint64_t *seq);
/*
 * Invariant I1 for one zone, in one walk under the zone lock: counts per
 * state. 0 when they add up and agree with the lists and the per-thread
 * caches; -EINVAL when they do not; -EBUSY when a per-thread cache changed
 * frames during every try (a few): no verdict, and never a false one.
 */
int mm_zone_check_frames(struct mm_zone *z, uint64_t counts[FRAME_NR_OWNER_STATES]);
/* Sets up / tears down the per-thread caches of a zone (arena.c calls these). */
int mm_pcp_init(struct mm_zone *z);
void mm_pcp_destroy(struct mm_zone *z);

/* I1 over all zones (arena_check.c): counts[zone][state]; 0 if every zone
 * adds up. */
int mm_arena_check_frames(struct mm_arena *a, uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES]);

/*
 * Kernel-format text, appended to buf (NUL-terminated, truncated at len).
 * Return the length the full text needs, like snprintf.
 */
size_t mm_format_buddyinfo(struct mm_arena *a, char *buf, size_t len);
size_t mm_format_pagetypeinfo(struct mm_arena *a, char *buf, size_t len);
/* Frame-state counts per zone, proving I1: one line per zone. */
size_t mm_format_frames(struct mm_arena *a, char *buf, size_t len);

#endif

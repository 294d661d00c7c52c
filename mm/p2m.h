/*
 * The p2m: the table GFN -> (HFN, state) of one guest, in Intel's EPT entry
 * format (DESIGN.md memory model 4). Four levels of 512-entry table pages,
 * each a 4 KiB object of the arena's "p2m_table" slab cache; 4 KiB leaves at
 * level 1 and 2 MiB leaves (bit 7) at level 2. A non-leaf entry holds the HFN
 * of the table page below it, so a walk reads like the hardware's.
 *
 * HFNs are the arena's global frame numbers (zone Normal first, then Huge).
 * Every operation takes the p2m's lock: the monitor may walk or print while
 * another thread remaps, and sees each entry either before or after.
 * Functions return 0 or a negative errno.
 */
#ifndef MM_P2M_H
#define MM_P2M_H

#include <stddef.h>
#include <stdint.h>
#include "arena.h"

#define P2M_LEVELS 4
#define P2M_ENTRIES 512
#define P2M_ORDER_4K 0
#define P2M_ORDER_2M 9
/* A 4-level table translates 48-bit guest physical addresses. */
#define P2M_GFN_LIMIT (1ULL << (9 * P2M_LEVELS))

/* EPT entry bits. */
#define EPT_R          (1ULL << 0)
#define EPT_W          (1ULL << 1)
#define EPT_X          (1ULL << 2)
#define EPT_RWX        (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT   3               /* memory type, leaves only */
#define EPT_MT_MASK    (7ULL << EPT_MT_SHIFT)
#define EPT_MT_WB      6ULL
#define EPT_LEAF_2M    (1ULL << 7)     /* at level 2 */
#define EPT_ADDR_MASK  0x000ffffffffff000ULL   /* bits 12-51: frame number */

/*
 * memvisor's state, in bits 52-62, which the processor ignores. The zone is
 * derived from the HFN by p2m itself; the others are set by the callers.
 */
#define P2M_ZONE_SHIFT    52
#define P2M_ZONE_MASK     (3ULL << P2M_ZONE_SHIFT)
/* The frame's backing was punched: the view still maps it, so the guest
 * reads zeros until it writes, and the host allocates a fresh page then. */
#define P2M_ST_PUNCHED    (1ULL << 54)
/* Ballooned-pending (DESIGN.md model 6): punched, unreachable, still
 * reserved to this GFN. */
#define P2M_ST_BALLOONED  (1ULL << 55)
/* Reported free by the guest (DESIGN.md model 8), always with PUNCHED:
 * still the guest's, no host memory behind it until the guest writes. */
#define P2M_ST_REPORTED   (1ULL << 56)
#define P2M_STATE_MASK    (P2M_ST_PUNCHED | P2M_ST_BALLOONED | P2M_ST_REPORTED)

/* What one leaf says about one GFN. */
struct p2m_leaf {
	uint64_t hfn;            /* the frame backing this GFN (not the leaf's base) */
	unsigned order;          /* P2M_ORDER_4K or P2M_ORDER_2M */
	enum mm_zone_id zone;
	uint64_t access;         /* EPT_R/W/X */
	uint64_t state;          /* P2M_ST_* */
	uint64_t entry;          /* the raw EPT entry */
};

/* One level of a walk: the table read, the index used, the entry found. */
struct p2m_walk_step {
	unsigned level;          /* 4 (root) .. 1 */
	uint64_t table_hfn;      /* frame of the table page */
	unsigned index;
	uint64_t entry;
};

struct p2m_counts {
	uint64_t leaves_4k;      /* 4 KiB leaves inside the range */
	uint64_t leaves_2m;      /* 2 MiB leaves overlapping the range */
	uint64_t punched;        /* leaves with P2M_ST_PUNCHED */
	uint64_t ballooned;      /* leaves with P2M_ST_BALLOONED */
	uint64_t reported;       /* frames under leaves with P2M_ST_REPORTED */
};

struct p2m;

/*
 * Creates an empty p2m (one root table page). The arena's "p2m_table" cache
 * is created by the first p2m of the arena and shared by the others; it may
 * merge with kmalloc-4k and then shows as that cache's alias.
 */
int p2m_create(struct mm_arena *a, struct p2m **out);
/* Frees every table page (not the frames the leaves name: their owner's). */
void p2m_destroy(struct p2m *p);

/*
 * Maps gfn (aligned to the order) to hfn with a leaf of that order. flags:
 * the access bits (EPT_R at least) and P2M_ST_* bits; the memory type is
 * always write-back (this is RAM). A 2 MiB leaf needs hfn 2 MiB-aligned (EPT
 * reserves bits 12-20 of a large leaf) and all its frames in one zone.
 * -EEXIST if anything is mapped there; -EINVAL on bad arguments; -ENOMEM.
 */
int p2m_map(struct p2m *p, uint64_t gfn, uint64_t hfn, unsigned order, uint64_t flags);
/*
 * Maps nr consecutive frames: 2 MiB leaves where gfn and hfn are both 2 MiB
 * aligned and 512 frames remain, 4 KiB leaves elsewhere. On failure nothing
 * of the range stays mapped.
 */
int p2m_map_range(struct p2m *p, uint64_t gfn, uint64_t hfn, uint64_t nr, uint64_t flags);
/*
 * Removes the leaf of this order at gfn and says what it was (old may be
 * NULL). Order 0 inside a 2 MiB leaf splits that leaf first; order 9 needs a
 * 2 MiB leaf (-EINVAL if the range holds 4 KiB leaves). -ENOENT if nothing
 * is mapped. Table pages left empty are freed.
 */
int p2m_unmap(struct p2m *p, uint64_t gfn, unsigned order, struct p2m_leaf *old);
/*
 * Points an existing leaf at another frame, in one store: a reader sees the
 * old or the new mapping, never none. Order 0 inside a 2 MiB leaf splits it
 * first; order 9 replaces a 2 MiB leaf, or 512 4 KiB leaves (all present)
 * whose table page is then freed. -ENOENT if something is not mapped.
 */
int p2m_replace(struct p2m *p, uint64_t gfn, uint64_t hfn, unsigned order, uint64_t flags,
		struct p2m_leaf *old);
/* Splits the 2 MiB leaf covering gfn into 512 4 KiB leaves with the same
 * access and state. -ENOENT if no 2 MiB leaf covers gfn. */
int p2m_split(struct p2m *p, uint64_t gfn);
/* Sets and clears P2M_ST_* bits on the leaf of this order at gfn: order 0
 * inside a 2 MiB leaf splits it first; order 9 over 4 KiB leaves changes
 * each of them. */
int p2m_update_state(struct p2m *p, uint64_t gfn, unsigned order, uint64_t set, uint64_t clear);

/* The leaf covering gfn; -ENOENT if none. */
int p2m_lookup(struct p2m *p, uint64_t gfn, struct p2m_leaf *out);
/*
 * The walk a processor would do for gfn, one step per table read: returns
 * the number of steps (a 2 MiB leaf ends at level 2, a missing entry ends
 * the walk where it is found) or -EINVAL for a GFN past P2M_GFN_LIMIT.
 */
int p2m_walk(struct p2m *p, uint64_t gfn, struct p2m_walk_step steps[P2M_LEVELS]);
/* What one step of a walk maps at gfn, decoded from its entry alone (so it
 * agrees with the walk even if the p2m changed since): false when the
 * entry is no leaf. */
bool p2m_step_leaf(const struct p2m_walk_step *step, uint64_t gfn, struct p2m_leaf *out);
/* Leaves of [gfn, gfn + nr). */
int p2m_count_leaves(struct p2m *p, uint64_t gfn, uint64_t nr, struct p2m_counts *out);
/*
 * Tops the reserve up to every table page that mapping [gfn, gfn + nr)
 * could need, as KVM tops up its MMU page cache before it maps: a caller
 * about to take most of a fragmented zone reserves first, while the slab
 * can still find blocks. Later maps and splits use the reserve before the
 * slab; p2m_destroy gives back what is left.
 */
int p2m_reserve_range(struct p2m *p, uint64_t gfn, uint64_t nr);
/* Gives reserved table pages that were not used back to the slab. */
void p2m_release_reserve(struct p2m *p);
/* Table pages reserved and not used yet. */
uint64_t p2m_reserved_pages(struct p2m *p);

/* Table pages in use, the root included. */
uint64_t p2m_table_pages(struct p2m *p);
struct mm_arena *p2m_arena(struct p2m *p);

/*
 * Text, snprintf-style (appended to buf, truncated at len, returns the
 * length the full text needs): one line per run of leaves of one size that
 * continue each other in GFN and HFN with the same zone, access and state —
 * GPA range, size, leaf size x count, frames, zone, access, state — then a
 * total line. p2m_format covers every GFN and adds the table pages:
 *
 *   0x0000000000000000-0x00000000007fffff     8M  2M x4      hfn 0x400-0xbff           Normal rwx
 *   0x0000000000800000-0x0000000000800fff     4K  4K x1      hfn 0x7f3                 Normal rwx punched
 *   total: 2M leaves 4 (8M), 4K leaves 1 (4K), mapped 8196K, punched 1, ballooned 0
 *   table pages: 4 (16K)
 */
size_t p2m_format_range(struct p2m *p, uint64_t gfn, uint64_t nr, char *buf, size_t len);
size_t p2m_format(struct p2m *p, char *buf, size_t len);

/* Calls fn for each leaf of [gfn, gfn + nr) in GFN order (a 2 MiB leaf
 * overlapping the range starts before it), under the lock: fn must not call
 * back into this p2m. */
void p2m_for_each_leaf(struct p2m *p, uint64_t gfn, uint64_t nr,
		       void (*fn)(uint64_t leaf_gfn, const struct p2m_leaf *leaf, void *arg),
		       void *arg);
/* Human size with the largest unit that divides it: "2M", "12K", "3G". */
void p2m_size_str(uint64_t bytes, char out[24]);

#endif

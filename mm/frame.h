/*
 * Frame descriptors: one 16-byte record per 4 KiB host frame of a zone.
 *
 * Owns the frame states of invariant I1 and the migrate types. Freestanding
 * (no libc): the guest links the buddy core that uses these records.
 */
#ifndef MM_FRAME_H
#define MM_FRAME_H

#include <stdint.h>
#include <stdbool.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)

/* Orders 0..MM_MAX_ORDER_LIMIT can be configured; the default is Linux's. */
#define MM_MAX_ORDER_LIMIT 12
#define MM_DEFAULT_MAX_ORDER 10
/* Pageblocks group frames by migrate type, as Linux does at order 9 (2 MiB). */
#define PAGEBLOCK_ORDER 9
#define PAGEBLOCK_FRAMES (1U << PAGEBLOCK_ORDER)

/* "No frame": end of a free list. Zone-relative indexes are < 2^32 - 1. */
#define FRAME_NONE UINT32_MAX

/*
 * Invariant I1: every frame is in exactly one of the first four states.
 * FRAME_TAIL marks the non-head frames of a block; they are counted with the
 * block's head, in the head's state.
 */
enum frame_state {
	FRAME_FREE = 0,     /* in the buddy (free lists or a per-thread cache) */
	FRAME_VMM,          /* VMM-owned: slab, kvmalloc, p2m tables */
	FRAME_GUEST,        /* guest-owned by exactly one GFN (frame.owner) */
	FRAME_BALLOONED,    /* punched, still reserved to its GFN */
	FRAME_NR_OWNER_STATES,
	FRAME_TAIL = FRAME_NR_OWNER_STATES,
};

enum migratetype {
	MT_UNMOVABLE = 0,   /* VMM metadata */
	MT_MOVABLE,         /* guest pages */
	MT_NR_TYPES,
};

/* frame.flags */
#define FRAME_F_BUDDY    0x01  /* head of a block on a buddy free list */
#define FRAME_F_PCP      0x02  /* head of a block held in a per-thread cache */
#define FRAME_F_COMPOUND 0x04  /* tails carry the head index in .owner */

struct frame {
	uint32_t next;          /* free-list links: zone-relative indexes */
	uint32_t prev;
	uint32_t owner;         /* GFN (guest), head index (compound tail), or user data */
	uint8_t state;          /* enum frame_state; read with frame_state_get() */
	uint8_t order;          /* order of the block this frame heads */
	uint8_t migratetype;    /* free list the block sits on */
	uint8_t flags;          /* FRAME_F_* */
};

_Static_assert(sizeof(struct frame) == 16, "frame descriptor must stay 16 bytes");

/*
 * The state byte is written without the zone lock by the thread that owns a
 * block (per-thread caches, the slab) and read by counters while others run,
 * so it is always accessed atomically (plain moves on x86).
 */
static inline enum frame_state frame_state_get(const struct frame *f)
{
	return (enum frame_state)__atomic_load_n(&f->state, __ATOMIC_RELAXED);
}

static inline void frame_state_set(struct frame *f, enum frame_state s)
{
	__atomic_store_n(&f->state, (uint8_t)s, __ATOMIC_RELAXED);
}

const char *migratetype_name(enum migratetype mt);

#endif

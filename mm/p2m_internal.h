/*
 * What the p2m files share (p2m.c, p2m_change.c, p2m_read.c): the p2m
 * structure, EPT entry encoding, table pages and the walk helpers. Every
 * helper here expects the p2m's lock held. Not for use outside mm/p2m*.
 */
#ifndef MM_P2M_INTERNAL_H
#define MM_P2M_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include "p2m.h"

struct p2m {
	struct mm_arena *arena;
	struct slab_cache *tables;
	uint64_t *root;
	uint64_t nr_tables;
	/* Table pages taken ahead (p2m_reserve_range), linked through their
	 * first word: mapping then needs no allocation. */
	uint64_t *reserve;
	uint64_t nr_reserved;
	pthread_mutex_t lock;       /* every operation, reads included */
};

/* The tables and entries a walk went through, by level. */
struct p2m_path {
	uint64_t *table[P2M_LEVELS + 1];
	uint64_t *slot[P2M_LEVELS + 1];
};

/* ---- EPT entries ---- */

static inline bool ept_present(uint64_t e)
{
	return (e & EPT_RWX) != 0;
}

static inline bool ept_is_leaf(uint64_t e, unsigned level)
{
	return ept_present(e) && (level == 1 || (level == 2 && (e & EPT_LEAF_2M)));
}

static inline uint64_t ept_frame(uint64_t e)
{
	return (e & EPT_ADDR_MASK) >> PAGE_SHIFT;
}

static inline unsigned p2m_index(uint64_t gfn, unsigned level)
{
	return (unsigned)(gfn >> (9 * (level - 1))) & (P2M_ENTRIES - 1);
}

static inline uint64_t ept_leaf(uint64_t hfn, unsigned order, enum mm_zone_id zone, uint64_t flags)
{
	return (hfn << PAGE_SHIFT) | (flags & (EPT_RWX | P2M_STATE_MASK)) |
	       (EPT_MT_WB << EPT_MT_SHIFT) | (order == P2M_ORDER_2M ? EPT_LEAF_2M : 0) |
	       ((uint64_t)zone << P2M_ZONE_SHIFT);
}

static inline void ept_decode(uint64_t e, unsigned level, uint64_t gfn, struct p2m_leaf *out)
{
	if (!out)
		return;
	out->order = level == 2 ? P2M_ORDER_2M : P2M_ORDER_4K;
	out->hfn = ept_frame(e) + (gfn & ((1ULL << out->order) - 1));
	out->zone = (enum mm_zone_id)((e & P2M_ZONE_MASK) >> P2M_ZONE_SHIFT);
	out->access = e & EPT_RWX;
	out->state = e & P2M_STATE_MASK;
	out->entry = e;
}

/* ---- p2m.c ---- */

struct mm_zone *p2m_hfn_zone(struct mm_arena *a, uint64_t hfn);
uint64_t p2m_table_hfn(struct p2m *p, const uint64_t *t);
uint64_t *p2m_table_of(struct p2m *p, uint64_t e);
/* A zeroed table page, from the reserve first; NULL if none. */
uint64_t *p2m_table_new(struct p2m *p);
void p2m_table_free(struct p2m *p, uint64_t *t);
bool p2m_table_empty(const uint64_t *t);
uint64_t p2m_table_entry(struct p2m *p, const uint64_t *t);
void p2m_prune(struct p2m *p, struct p2m_path *path, unsigned level);
int p2m_path_walk(struct p2m *p, uint64_t gfn, unsigned stop, bool create, struct p2m_path *path);
int p2m_split_slot(struct p2m *p, uint64_t *slot);
int p2m_slot_4k(struct p2m *p, uint64_t gfn, struct p2m_path *path);

#endif

/*
 * Changes to p2m leaves, each under the p2m's lock: map (one leaf or a
 * range, with 2 MiB leaves where EPT allows them), unmap, replace in one
 * store, split, and the memvisor state bits. A 4 KiB change inside a 2 MiB
 * leaf splits that leaf first.
 */
#include <errno.h>
#include "p2m_internal.h"

/* ---- argument checks ---- */

static bool p2m_gfn_ok(uint64_t gfn, unsigned order)
{
	return (order == P2M_ORDER_4K || order == P2M_ORDER_2M) &&
	       !(gfn & ((1ULL << order) - 1)) && gfn < P2M_GFN_LIMIT;
}

/* The zone of a leaf's frames, checked: all in one present zone, and a
 * large leaf's frame aligned as EPT wants. */
static int p2m_leaf_zone(struct p2m *p, uint64_t hfn, unsigned order, uint64_t flags,
			 enum mm_zone_id *zone)
{
	if (!(flags & EPT_R) || (flags & ~(EPT_RWX | P2M_STATE_MASK)) ||
	    (hfn & ((1ULL << order) - 1)) || hfn > (EPT_ADDR_MASK >> PAGE_SHIFT))
		return -EINVAL;
	struct mm_zone *z = p2m_hfn_zone(p->arena, hfn);
	if (!z || hfn + (1ULL << order) - z->base_hfn > z->buddy.nr_frames)
		return -EINVAL;
	*zone = z->id;
	return 0;
}

/* ---- changes ---- */

static int p2m_map_locked(struct p2m *p, uint64_t gfn, uint64_t hfn, unsigned order,
			  uint64_t flags)
{
	enum mm_zone_id zone;
	struct p2m_path path;
	unsigned stop = order == P2M_ORDER_2M ? 2 : 1;

	if (!p2m_gfn_ok(gfn, order))
		return -EINVAL;
	int rc = p2m_leaf_zone(p, hfn, order, flags, &zone);
	if (rc)
		return rc;
	int l = p2m_path_walk(p, gfn, stop, true, &path);
	if (l < 0)
		return l;
	/* Above stop: a 2 MiB leaf covers gfn. At stop: a leaf, or (for a
	 * 2 MiB map) a table, which is never empty. */
	if ((unsigned)l != stop || ept_present(*path.slot[stop]))
		return -EEXIST;
	*path.slot[stop] = ept_leaf(hfn, order, zone, flags);
	return 0;
}

static int p2m_unmap_locked(struct p2m *p, uint64_t gfn, unsigned order, struct p2m_leaf *old)
{
	struct p2m_path path;

	if (!p2m_gfn_ok(gfn, order))
		return -EINVAL;
	if (order == P2M_ORDER_4K) {
		int rc = p2m_slot_4k(p, gfn, &path);
		if (rc)
			return rc;
		ept_decode(*path.slot[1], 1, gfn, old);
		*path.slot[1] = 0;
		p2m_prune(p, &path, 1);
		return 0;
	}
	int l = p2m_path_walk(p, gfn, 2, false, &path);
	if (l != 2 || !ept_present(*path.slot[2]))
		return -ENOENT;
	if (!ept_is_leaf(*path.slot[2], 2))
		return -EINVAL;
	ept_decode(*path.slot[2], 2, gfn, old);
	*path.slot[2] = 0;
	p2m_prune(p, &path, 2);
	return 0;
}

int p2m_map(struct p2m *p, uint64_t gfn, uint64_t hfn, unsigned order, uint64_t flags)
{
	pthread_mutex_lock(&p->lock);
	int rc = p2m_map_locked(p, gfn, hfn, order, flags);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* The leaf p2m_map_range uses at g -> h with left frames to go. */
static unsigned p2m_range_order(uint64_t g, uint64_t h, uint64_t left)
{
	const uint64_t big = 1ULL << P2M_ORDER_2M;

	return !(g & (big - 1)) && !(h & (big - 1)) && left >= big ? P2M_ORDER_2M : P2M_ORDER_4K;
}

int p2m_map_range(struct p2m *p, uint64_t gfn, uint64_t hfn, uint64_t nr, uint64_t flags)
{
	uint64_t done = 0;
	int rc = 0;

	if (nr == 0 || gfn >= P2M_GFN_LIMIT || nr > P2M_GFN_LIMIT - gfn)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	while (done < nr) {
		unsigned order = p2m_range_order(gfn + done, hfn + done, nr - done);
		rc = p2m_map_locked(p, gfn + done, hfn + done, order, flags);
		if (rc)
			break;
		done += 1ULL << order;
	}
	/* Undo in the same steps: the leaves mapped are exactly those. */
	for (uint64_t undo = 0; rc && undo < done;) {
		unsigned order = p2m_range_order(gfn + undo, hfn + undo, nr - undo);
		p2m_unmap_locked(p, gfn + undo, order, NULL);
		undo += 1ULL << order;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int p2m_unmap(struct p2m *p, uint64_t gfn, unsigned order, struct p2m_leaf *old)
{
	pthread_mutex_lock(&p->lock);
	int rc = p2m_unmap_locked(p, gfn, order, old);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int p2m_replace_locked(struct p2m *p, uint64_t gfn, uint64_t hfn, unsigned order,
			      uint64_t flags, struct p2m_leaf *old)
{
	enum mm_zone_id zone;
	struct p2m_path path;

	if (!p2m_gfn_ok(gfn, order))
		return -EINVAL;
	int rc = p2m_leaf_zone(p, hfn, order, flags, &zone);
	if (rc)
		return rc;
	uint64_t e = ept_leaf(hfn, order, zone, flags);
	if (order == P2M_ORDER_4K) {
		rc = p2m_slot_4k(p, gfn, &path);
		if (rc)
			return rc;
		ept_decode(*path.slot[1], 1, gfn, old);
		*path.slot[1] = e;
		return 0;
	}
	int l = p2m_path_walk(p, gfn, 2, false, &path);
	if (l != 2 || !ept_present(*path.slot[2]))
		return -ENOENT;
	if (ept_is_leaf(*path.slot[2], 2)) {
		ept_decode(*path.slot[2], 2, gfn, old);
		*path.slot[2] = e;
		return 0;
	}
	uint64_t *t = p2m_table_of(p, *path.slot[2]);
	for (unsigned i = 0; i < P2M_ENTRIES; i++)
		if (!ept_present(t[i]))
			return -ENOENT;
	ept_decode(t[0], 1, gfn, old);
	*path.slot[2] = e;
	p2m_table_free(p, t);
	return 0;
}

int p2m_replace(struct p2m *p, uint64_t gfn, uint64_t hfn, unsigned order, uint64_t flags,
		struct p2m_leaf *old)
{
	pthread_mutex_lock(&p->lock);
	int rc = p2m_replace_locked(p, gfn, hfn, order, flags, old);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int p2m_split(struct p2m *p, uint64_t gfn)
{
	struct p2m_path path;
	int rc = -ENOENT;

	if (gfn >= P2M_GFN_LIMIT)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	if (p2m_path_walk(p, gfn, 2, false, &path) == 2 && ept_is_leaf(*path.slot[2], 2))
		rc = p2m_split_slot(p, path.slot[2]);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static uint64_t p2m_restate(uint64_t e, uint64_t set, uint64_t clear)
{
	return ept_present(e) ? (e & ~clear) | set : e;
}

int p2m_update_state(struct p2m *p, uint64_t gfn, unsigned order, uint64_t set, uint64_t clear)
{
	struct p2m_path path;
	int rc = 0;

	if (!p2m_gfn_ok(gfn, order) || ((set | clear) & ~P2M_STATE_MASK))
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	if (order == P2M_ORDER_4K) {
		rc = p2m_slot_4k(p, gfn, &path);
		if (!rc)
			*path.slot[1] = p2m_restate(*path.slot[1], set, clear);
	} else if (p2m_path_walk(p, gfn, 2, false, &path) != 2 || !ept_present(*path.slot[2])) {
		rc = -ENOENT;
	} else if (ept_is_leaf(*path.slot[2], 2)) {
		*path.slot[2] = p2m_restate(*path.slot[2], set, clear);
	} else {
		/* 4 KiB leaves over the 2 MiB range: each present one changes. */
		uint64_t *t = p2m_table_of(p, *path.slot[2]);
		for (unsigned i = 0; i < P2M_ENTRIES; i++)
			t[i] = p2m_restate(t[i], set, clear);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}


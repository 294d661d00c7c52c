/*
 * Reading the p2m: the leaf over a GFN, the walk a processor would do, and
 * visiting the leaves of a range in GFN order (counts here, text in
 * p2m_format.c).
 */
#include <errno.h>
#include <string.h>
#include "p2m_internal.h"

/* ---- reading ---- */

int p2m_lookup(struct p2m *p, uint64_t gfn, struct p2m_leaf *out)
{
	struct p2m_path path;
	int rc = -ENOENT;

	if (gfn >= P2M_GFN_LIMIT)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	int l = p2m_path_walk(p, gfn, 1, false, &path);
	if (l >= 1 && l <= 2 && ept_is_leaf(*path.slot[l], (unsigned)l)) {
		ept_decode(*path.slot[l], (unsigned)l, gfn, out);
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

bool p2m_step_leaf(const struct p2m_walk_step *step, uint64_t gfn, struct p2m_leaf *out)
{
	if (!ept_is_leaf(step->entry, step->level))
		return false;
	ept_decode(step->entry, step->level, gfn, out);
	return true;
}

int p2m_walk(struct p2m *p, uint64_t gfn, struct p2m_walk_step steps[P2M_LEVELS])
{
	int n = 0;

	if (gfn >= P2M_GFN_LIMIT)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	uint64_t *t = p->root;
	for (unsigned l = P2M_LEVELS; l >= 1; l--) {
		unsigned i = p2m_index(gfn, l);
		steps[n++] = (struct p2m_walk_step){
			.level = l, .table_hfn = p2m_table_hfn(p, t), .index = i, .entry = t[i],
		};
		if (!ept_present(t[i]) || ept_is_leaf(t[i], l))
			break;
		t = p2m_table_of(p, t[i]);
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

typedef void (*p2m_leaf_fn)(uint64_t leaf_gfn, const struct p2m_leaf *leaf, void *arg);

/* Visits the leaves of table t (at level, covering GFNs from base) that
 * overlap [lo, hi), in GFN order. */
static void p2m_visit(struct p2m *p, const uint64_t *t, unsigned level, uint64_t base,
		      uint64_t lo, uint64_t hi, p2m_leaf_fn fn, void *arg)
{
	uint64_t span = 1ULL << (9 * (level - 1));
	unsigned first = lo > base ? (unsigned)((lo - base) / span) : 0;

	for (unsigned i = first; i < P2M_ENTRIES; i++) {
		uint64_t g = base + i * span;
		if (g >= hi)
			break;
		if (!ept_present(t[i]))
			continue;
		if (ept_is_leaf(t[i], level)) {
			struct p2m_leaf leaf;
			ept_decode(t[i], level, g, &leaf);
			fn(g, &leaf, arg);
		} else {
			p2m_visit(p, p2m_table_of(p, t[i]), level - 1, g, lo, hi, fn, arg);
		}
	}
}

void p2m_for_each_leaf(struct p2m *p, uint64_t gfn, uint64_t nr, p2m_leaf_fn fn, void *arg)
{
	if (gfn >= P2M_GFN_LIMIT || nr == 0)
		return;
	uint64_t hi = nr > P2M_GFN_LIMIT - gfn ? P2M_GFN_LIMIT : gfn + nr;
	pthread_mutex_lock(&p->lock);
	p2m_visit(p, p->root, P2M_LEVELS, 0, gfn, hi, fn, arg);
	pthread_mutex_unlock(&p->lock);
}

struct p2m_count_arg {
	struct p2m_counts *c;
	uint64_t lo;
};

static void p2m_count_one(uint64_t g, const struct p2m_leaf *leaf, void *arg)
{
	struct p2m_count_arg *ca = arg;

	/* A 4 KiB leaf is in the range when its GFN is; a 2 MiB one counts
	 * when it overlaps, which the visit already ensures. */
	if (leaf->order == P2M_ORDER_4K && g < ca->lo)
		return;
	if (leaf->order == P2M_ORDER_2M)
		ca->c->leaves_2m++;
	else
		ca->c->leaves_4k++;
	if (leaf->state & P2M_ST_PUNCHED)
		ca->c->punched++;
	if (leaf->state & P2M_ST_BALLOONED)
		ca->c->ballooned++;
	if (leaf->state & P2M_ST_REPORTED)
		ca->c->reported += 1ULL << leaf->order;
}

int p2m_count_leaves(struct p2m *p, uint64_t gfn, uint64_t nr, struct p2m_counts *out)
{
	if (!out || gfn >= P2M_GFN_LIMIT)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	struct p2m_count_arg ca = { .c = out, .lo = gfn };
	p2m_for_each_leaf(p, gfn, nr, p2m_count_one, &ca);
	return 0;
}

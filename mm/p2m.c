/*
 * The p2m's life and structure: the arena's shared "p2m_table" slab cache,
 * table pages and their reserve, and the walk every operation starts with
 * (splitting a 2 MiB leaf when a 4 KiB change needs it). The changes to
 * leaves are in p2m_change.c, reading in p2m_read.c, text in p2m_format.c.
 *
 * Table discipline: a table page below the root exists only while it holds
 * at least one entry (every change that empties one frees it), so a present
 * non-leaf entry always leads to something mapped.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "p2m_internal.h"
#include "kmalloc.h"
#include "slab.h"

/* ---- the shared table cache ----
 * slab_cache_create refuses a name already used in the arena, so the p2ms
 * of one arena share one cache, counted here. */
struct p2m_cache_ref {
	struct mm_arena *arena;
	struct slab_cache *cache;
	unsigned users;
	struct p2m_cache_ref *next;
};

static pthread_mutex_t p2m_caches_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p2m_cache_ref *p2m_caches;

static int p2m_cache_get(struct mm_arena *a, struct slab_cache **out)
{
	int rc = 0;

	pthread_mutex_lock(&p2m_caches_lock);
	struct p2m_cache_ref *r = p2m_caches;
	while (r && r->arena != a)
		r = r->next;
	if (!r) {
		r = kzalloc(a, sizeof(*r));
		const struct slab_cache_params params = {
			.size = PAGE_SIZE, .align = PAGE_SIZE, .order = -1, .zone = ZONE_NORMAL,
		};
		struct slab_cache *c = r ? slab_cache_create(a, "p2m_table", &params) : NULL;
		if (!c) {
			rc = r ? -errno : -ENOMEM;
			kfree(a, r);
			goto out;
		}
		*r = (struct p2m_cache_ref){ .arena = a, .cache = c, .next = p2m_caches };
		p2m_caches = r;
	}
	r->users++;
	*out = r->cache;
out:
	pthread_mutex_unlock(&p2m_caches_lock);
	return rc;
}

static void p2m_cache_put(struct mm_arena *a)
{
	pthread_mutex_lock(&p2m_caches_lock);
	for (struct p2m_cache_ref **pp = &p2m_caches; *pp; pp = &(*pp)->next) {
		struct p2m_cache_ref *r = *pp;
		if (r->arena != a)
			continue;
		if (--r->users == 0) {
			*pp = r->next;
			slab_cache_destroy(r->cache, "p2m_table");
			kfree(a, r);
		}
		break;
	}
	pthread_mutex_unlock(&p2m_caches_lock);
}

/* ---- frames ---- */

/* The present zone holding global frame hfn, or NULL. */
struct mm_zone *p2m_hfn_zone(struct mm_arena *a, uint64_t hfn)
{
	for (int id = 0; id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (z && hfn >= z->base_hfn && hfn - z->base_hfn < z->buddy.nr_frames)
			return z;
	}
	return NULL;
}

/* ---- table pages ---- */

uint64_t p2m_table_hfn(struct p2m *p, const uint64_t *t)
{
	struct mm_zone *z = mm_arena_zone_of(p->arena, t);
	return z->base_hfn + mm_ptr_frame(z, t);
}

uint64_t *p2m_table_of(struct p2m *p, uint64_t e)
{
	uint64_t hfn = ept_frame(e);
	struct mm_zone *z = p2m_hfn_zone(p->arena, hfn);
	return mm_frame_ptr(z, (uint32_t)(hfn - z->base_hfn));
}

uint64_t *p2m_table_new(struct p2m *p)
{
	uint64_t *t = p->reserve;

	if (t) {
		p->reserve = (uint64_t *)(uintptr_t)t[0];
		p->nr_reserved--;
	} else {
		t = slab_alloc(p->tables);
	}
	if (!t)
		return NULL;
	memset(t, 0, PAGE_SIZE);
	p->nr_tables++;
	return t;
}

void p2m_table_free(struct p2m *p, uint64_t *t)
{
	slab_free(p->tables, t);
	p->nr_tables--;
}

bool p2m_table_empty(const uint64_t *t)
{
	for (unsigned i = 0; i < P2M_ENTRIES; i++)
		if (t[i])
			return false;
	return true;
}

/* A non-leaf entry: the table's frame, every access allowed below. */
uint64_t p2m_table_entry(struct p2m *p, const uint64_t *t)
{
	return (p2m_table_hfn(p, t) << PAGE_SHIFT) | EPT_RWX;
}

/* ---- the reserve ---- */

/* Table pages below the root that 4 KiB leaves over [gfn, gfn + nr) would
 * need if none existed: at each level, one per table-sized slice touched. */
static uint64_t p2m_tables_for(uint64_t gfn, uint64_t nr)
{
	uint64_t n = 0, last = gfn + nr - 1;

	for (unsigned l = 1; l < P2M_LEVELS; l++)
		n += (last >> (9 * l)) - (gfn >> (9 * l)) + 1;
	return n;
}

static void p2m_release_locked(struct p2m *p)
{
	while (p->reserve) {
		uint64_t *t = p->reserve;
		p->reserve = (uint64_t *)(uintptr_t)t[0];
		slab_free(p->tables, t);
	}
	p->nr_reserved = 0;
}

int p2m_reserve_range(struct p2m *p, uint64_t gfn, uint64_t nr)
{
	if (nr == 0 || gfn >= P2M_GFN_LIMIT || nr > P2M_GFN_LIMIT - gfn)
		return -EINVAL;
	uint64_t want = p2m_tables_for(gfn, nr);
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	while (p->nr_reserved < want) {
		uint64_t *t = slab_alloc(p->tables);
		if (!t) {
			rc = -ENOMEM;
			break;
		}
		t[0] = (uint64_t)(uintptr_t)p->reserve;
		p->reserve = t;
		p->nr_reserved++;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void p2m_release_reserve(struct p2m *p)
{
	pthread_mutex_lock(&p->lock);
	p2m_release_locked(p);
	pthread_mutex_unlock(&p->lock);
}

uint64_t p2m_reserved_pages(struct p2m *p)
{
	pthread_mutex_lock(&p->lock);
	uint64_t n = p->nr_reserved;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* ---- walks ---- */

/* Frees the tables of path that are empty, from level upwards (never the root). */
void p2m_prune(struct p2m *p, struct p2m_path *path, unsigned level)
{
	for (unsigned l = level; l < P2M_LEVELS; l++) {
		if (!p2m_table_empty(path->table[l]))
			break;
		p2m_table_free(p, path->table[l]);
		*path->slot[l + 1] = 0;
	}
}

/*
 * Walks from the root towards stop. Returns the level reached: stop, or a
 * higher level holding a 2 MiB leaf or (without create) a missing entry.
 * With create, missing tables are added; -ENOMEM leaves no empty table.
 */
int p2m_path_walk(struct p2m *p, uint64_t gfn, unsigned stop, bool create,
			 struct p2m_path *path)
{
	uint64_t *t = p->root;

	for (unsigned l = P2M_LEVELS;; l--) {
		uint64_t *slot = &t[p2m_index(gfn, l)];
		path->table[l] = t;
		path->slot[l] = slot;
		if (l == stop || ept_is_leaf(*slot, l))
			return (int)l;
		if (!ept_present(*slot)) {
			if (!create)
				return (int)l;
			uint64_t *n = p2m_table_new(p);
			if (!n) {
				p2m_prune(p, path, l);
				return -ENOMEM;
			}
			*slot = p2m_table_entry(p, n);
			t = n;
			continue;
		}
		t = p2m_table_of(p, *slot);
	}
}

/* Replaces the 2 MiB leaf in *slot by a table of 512 4 KiB leaves saying
 * the same. */
int p2m_split_slot(struct p2m *p, uint64_t *slot)
{
	uint64_t e = *slot;
	uint64_t *t = p2m_table_new(p);

	if (!t)
		return -ENOMEM;
	uint64_t keep = e & ~(EPT_ADDR_MASK | EPT_LEAF_2M);
	for (unsigned i = 0; i < P2M_ENTRIES; i++)
		t[i] = ((ept_frame(e) + i) << PAGE_SHIFT) | keep;
	*slot = p2m_table_entry(p, t);
	return 0;
}

/*
 * The level-1 slot of gfn, splitting a 2 MiB leaf on the way: what every
 * 4 KiB change needs. -ENOENT if nothing maps gfn.
 */
int p2m_slot_4k(struct p2m *p, uint64_t gfn, struct p2m_path *path)
{
	int l = p2m_path_walk(p, gfn, 1, false, path);

	if (l == 2 && ept_is_leaf(*path->slot[2], 2)) {
		int rc = p2m_split_slot(p, path->slot[2]);
		if (rc)
			return rc;
		l = p2m_path_walk(p, gfn, 1, false, path);
	}
	if (l != 1 || !ept_present(*path->slot[1]))
		return -ENOENT;
	return 0;
}

/* ---- life ---- */

int p2m_create(struct mm_arena *a, struct p2m **out)
{
	if (!a || !out)
		return -EINVAL;
	struct p2m *p = kzalloc(a, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->arena = a;
	int rc = p2m_cache_get(a, &p->tables);
	if (rc) {
		kfree(a, p);
		return rc;
	}
	p->root = p2m_table_new(p);
	if (!p->root) {
		p2m_cache_put(a);
		kfree(a, p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

static void p2m_free_tables(struct p2m *p, uint64_t *t, unsigned level)
{
	for (unsigned i = 0; level > 1 && i < P2M_ENTRIES; i++)
		if (ept_present(t[i]) && !ept_is_leaf(t[i], level))
			p2m_free_tables(p, p2m_table_of(p, t[i]), level - 1);
	p2m_table_free(p, t);
}

void p2m_destroy(struct p2m *p)
{
	if (!p)
		return;
	struct mm_arena *a = p->arena;
	p2m_free_tables(p, p->root, P2M_LEVELS);
	p2m_release_locked(p);
	pthread_mutex_destroy(&p->lock);
	p2m_cache_put(a);
	kfree(a, p);
}

uint64_t p2m_table_pages(struct p2m *p)
{
	pthread_mutex_lock(&p->lock);
	uint64_t n = p->nr_tables;
	pthread_mutex_unlock(&p->lock);
	return n;
}

struct mm_arena *p2m_arena(struct p2m *p)
{
	return p->arena;
}


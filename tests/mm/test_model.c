/*
 * Model-based random test of the whole memory manager: a million mixed
 * operations (buddy blocks of every order, objects of several slab caches,
 * kmalloc and kvmalloc of sizes that take every path) checked against a
 * reference model of every live allocation. Each allocation is filled with
 * its own byte and checked when freed and at every checkpoint, so overlaps
 * and lost memory show; checkpoints also check I1, every slab cache, and
 * that the frames the zone says are VMM-owned are exactly the model's plus
 * the slabs'. I3 is checked at the end by fixture_finish.
 *
 * MM_MODEL_SEED=n replays a run (the seed is in every failure message);
 * MM_MODEL_OPS=n changes the number of operations.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fixture.h"
#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "mm/vmap.h"

enum model_kind { M_FRAMES, M_SLAB, M_KMALLOC, M_KV_KMALLOC, M_KV_CONTIG, M_KV_SCATTERED };

struct model_alloc {
	uint8_t *p;
	size_t size;            /* bytes filled */
	uint32_t frames;        /* frames the allocation holds outside slabs */
	uint32_t idx;           /* M_FRAMES: head frame */
	uint8_t kind;
	uint8_t fill;
	uint8_t order;          /* M_FRAMES */
	uint8_t cache;          /* M_SLAB */
};

#define MODEL_TARGET_LIVE 1500
#define MODEL_MAX_LIVE 4096
#define MODEL_CHECK_EVERY 50000
#define MODEL_NR_CACHES 5

static const size_t model_cache_sizes[MODEL_NR_CACHES] = { 24, 64, 100, 700, 3000 };

struct model {
	struct mm_arena *a;
	struct mm_zone *z;
	struct slab_cache *caches[MODEL_NR_CACHES];
	struct model_alloc live[MODEL_MAX_LIVE];
	unsigned nr_live;
	uint64_t frames;         /* frames held outside slabs, per the model */
	uint64_t vmap_bytes;     /* bytes of scattered allocations */
	uint64_t base_vmm;       /* VMM frames neither in slabs nor the model's */
	uint64_t rng;
	unsigned long long seed;
	uint64_t order_ok[MM_MAX_ORDER_LIMIT + 1];
	uint64_t order_failed[MM_MAX_ORDER_LIMIT + 1];
	uint64_t frame_attempts;
	uint64_t kv_null;        /* kvmallocs that returned NULL */
	uint64_t kinds[M_KV_SCATTERED + 1];
};

#define MODEL_ASSERT(m, cond, fmt, ...) \
	cr_assert((cond), "MM_MODEL_SEED=%llu: " fmt, (m)->seed, ##__VA_ARGS__)

static uint64_t model_rand(struct model *m)
{
	/* splitmix64: good enough, and one state word makes replay trivial */
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t model_range(struct model *m, size_t lo, size_t hi)
{
	return lo + (size_t)(model_rand(m) % (hi - lo + 1));
}

/* Log-uniform in [lo, hi]: small sizes common, large ones still seen. */
static size_t model_log_size(struct model *m, size_t lo, size_t hi)
{
	unsigned bits_lo = 63u - (unsigned)__builtin_clzll(lo);
	unsigned bits_hi = 63u - (unsigned)__builtin_clzll(hi);
	unsigned b = (unsigned)model_range(m, bits_lo, bits_hi);
	size_t s = ((size_t)1 << b) + (size_t)(model_rand(m) & (((size_t)1 << b) - 1));
	return s < lo ? lo : s > hi ? hi : s;
}

static bool model_check_fill(const uint8_t *p, size_t size, uint8_t fill)
{
	uint64_t pat = 0x0101010101010101ull * fill, bad = 0;
	size_t i = 0;
	for (; i + 8 <= size; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		bad |= w ^ pat;
	}
	for (; i < size; i++)
		bad |= (uint64_t)(p[i] ^ fill);
	return bad == 0;
}

struct model_caches {
	struct slab_cache *c[64];
	unsigned n;
};

static void model_collect_cache(struct slab_cache *c, void *arg)
{
	struct model_caches *l = arg;
	if (l->n < 64)
		l->c[l->n++] = c;
}

/* Every cache of the arena, collected first: the callback runs under the
 * arena's cache lock, which the checks themselves may take. */
static void model_list_caches(struct model *m, struct model_caches *l)
{
	l->n = 0;
	slab_for_each_cache(m->a, model_collect_cache, l);
	MODEL_ASSERT(m, l->n < 64, "more caches than the test expects");
}

/* VMM-owned frames that are neither in slabs nor held by the model. */
static uint64_t model_unexplained_vmm(struct model *m)
{
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES], slab_frames = 0;
	struct model_caches l;

	MODEL_ASSERT(m, mm_arena_check_frames(m->a, counts) == 0,
		     "I1: frame states do not add up (free %lu vmm %lu)",
		     (unsigned long)counts[ZONE_NORMAL][FRAME_FREE],
		     (unsigned long)counts[ZONE_NORMAL][FRAME_VMM]);
	model_list_caches(m, &l);
	for (unsigned i = 0; i < l.n; i++) {
		struct slab_cache_info info;
		slab_cache_get_info(l.c[i], &info);
		slab_frames += (uint64_t)info.num_slabs * info.pagesperslab;
	}
	/* SLOB's pages are the arena's, shared by its caches and kmalloc. */
	struct slob_arena_stats slob;
	if (slob_arena_stats(m->a, &slob) == 0)
		slab_frames += slob.pages_held;
	return counts[ZONE_NORMAL][FRAME_VMM] - slab_frames - m->frames;
}

static unsigned model_pick_order(struct model *m, unsigned max_order)
{
	/* Mostly small blocks (P(order k) ~ 4^-k), sometimes any order, so
	 * every order is taken without the fills dominating the run time. */
	if (model_rand(m) % 256 == 0)
		return (unsigned)model_range(m, 0, max_order);
	unsigned o = 0;
	while (o < max_order && model_rand(m) % 4 == 0)
		o++;
	return o;
}

static bool model_alloc_frames(struct model *m, struct model_alloc *al)
{
	unsigned max = m->z->buddy.max_order;
	/* The first blocks take every order once, while the zone is still
	 * empty: later, the largest orders often find the zone fragmented. */
	unsigned order = m->frame_attempts <= max ? max - (unsigned)m->frame_attempts :
						   model_pick_order(m, max);
	m->frame_attempts++;
	enum migratetype mt = model_rand(m) % 4 ? MT_UNMOVABLE : MT_MOVABLE;
	long idx = mm_frames_alloc(m->z, order, mt, FRAME_VMM, model_rand(m) & 1);
	if (idx < 0) {
		m->order_failed[order]++;
		return false;
	}
	m->order_ok[order]++;
	al->kind = M_FRAMES;
	al->idx = (uint32_t)idx;
	al->order = (uint8_t)order;
	al->p = mm_frame_ptr(m->z, (uint32_t)idx);
	al->size = PAGE_SIZE << order;
	al->frames = 1u << order;
	return true;
}

static bool model_alloc_kv(struct model *m, struct model_alloc *al)
{
	unsigned r = (unsigned)(model_rand(m) % 100);
	size_t size = r < 40 ? model_range(m, 1, KMALLOC_MAX_SIZE) :
		      r < 99 ? model_log_size(m, KMALLOC_MAX_SIZE + 1, 256 << 10) :
			       model_log_size(m, 256 << 10, 2 << 20);
	unsigned flags = model_rand(m) % 3 == 0 ? KV_NO_CONTIG : 0;
	al->p = kvmalloc_flags(m->a, size, flags);
	if (!al->p) {
		m->kv_null++;
		return false;
	}
	al->size = size;
	const char *kind = kvmalloc_kind(m->a, al->p);
	MODEL_ASSERT(m, kind, "kvmalloc(%zu) returned %p, which has no kind", size, al->p);
	size_t pages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	if (!strcmp(kind, "kmalloc")) {
		MODEL_ASSERT(m, size <= KMALLOC_MAX_SIZE, "kvmalloc(%zu) went to kmalloc", size);
		al->kind = M_KV_KMALLOC;
		al->frames = 0;
	} else if (!strcmp(kind, "contig")) {
		MODEL_ASSERT(m, !(flags & KV_NO_CONTIG), "KV_NO_CONTIG was ignored");
		al->kind = M_KV_CONTIG;
		al->frames = 1u << (pages <= 1 ? 0 : 64 - __builtin_clzll(pages - 1));
	} else {
		MODEL_ASSERT(m, !strcmp(kind, "scattered"), "unknown kind %s", kind);
		al->kind = M_KV_SCATTERED;
		al->frames = (uint32_t)pages;
		m->vmap_bytes += pages * PAGE_SIZE;
	}
	MODEL_ASSERT(m, al->kind == M_KV_KMALLOC || size > KMALLOC_MAX_SIZE,
		     "kvmalloc(%zu) did not go to kmalloc", size);
	return true;
}

/*
 * Asks kvmalloc for a few frames more than the zone has free: it must fail
 * after taking what it could, and give every frame back.
 */
static void model_kv_overcommit(struct model *m)
{
	uint64_t before = model_unexplained_vmm(m);
	uint64_t free_frames = __atomic_load_n(&m->z->buddy.nr_free_pages, __ATOMIC_RELAXED) +
			       __atomic_load_n(&m->z->buddy.nr_pcp_pages, __ATOMIC_RELAXED);
	size_t size = (free_frames + model_range(m, 1, 64)) * PAGE_SIZE;
	void *p = kvmalloc_flags(m->a, size, model_rand(m) & 1 ? KV_NO_CONTIG : 0);

	MODEL_ASSERT(m, p == NULL, "kvmalloc(%zu) succeeded with %lu frames free", size,
		     (unsigned long)free_frames);
	m->kv_null++;
	uint64_t after = model_unexplained_vmm(m);
	MODEL_ASSERT(m, after == before, "a failed kvmalloc(%zu) kept %ld frames", size,
		     (long)(after - before));
}

static bool model_alloc_one(struct model *m, struct model_alloc *al)
{
	unsigned r = (unsigned)(model_rand(m) % 100);

	if (r < 30) {
		unsigned c = (unsigned)(model_rand(m) % MODEL_NR_CACHES);
		al->p = slab_alloc(m->caches[c]);
		al->kind = M_SLAB;
		al->cache = (uint8_t)c;
		al->size = model_cache_sizes[c];
		al->frames = 0;
		return al->p != NULL;
	}
	if (r < 60) {
		size_t size = model_rand(m) & 1 ? model_range(m, 1, 256) :
						  model_range(m, 1, KMALLOC_MAX_SIZE);
		al->p = kmalloc(m->a, size);
		if (!al->p)
			return false;
		/* SLOB has no size classes: ksize is the size asked for. */
		size_t want = fixture_policy_is(m->a, "slob") ? size :
			      kmalloc_class_size(kmalloc_class(size));
		MODEL_ASSERT(m, ksize(m->a, al->p) == want, "ksize of kmalloc(%zu) is %zu", size,
			     ksize(m->a, al->p));
		al->kind = M_KMALLOC;
		al->size = ksize(m->a, al->p);
		al->frames = 0;
		return true;
	}
	if (r < 92)
		return model_alloc_frames(m, al);
	return model_alloc_kv(m, al);
}

static void model_alloc(struct model *m)
{
	struct model_alloc *al = &m->live[m->nr_live];

	if (!model_alloc_one(m, al))
		return;   /* running short is allowed; the checks catch leaks */
	al->fill = (uint8_t)(1 + model_rand(m) % 255);
	memset(al->p, al->fill, al->size);
	m->frames += al->frames;
	m->kinds[al->kind]++;
	m->nr_live++;
}

static void model_free(struct model *m, unsigned i)
{
	struct model_alloc al = m->live[i];

	MODEL_ASSERT(m, model_check_fill(al.p, al.size, al.fill),
		     "allocation %p (kind %d, %zu bytes) was overwritten while live",
		     al.p, al.kind, al.size);
	switch (al.kind) {
	case M_FRAMES:
		MODEL_ASSERT(m, mm_frames_free(m->z, al.idx, al.order) == 0,
			     "mm_frames_free(%u, order %u) refused", al.idx, al.order);
		break;
	case M_SLAB:
		slab_free(m->caches[al.cache], al.p);
		break;
	case M_KMALLOC:
		kfree(m->a, al.p);
		break;
	default:
		kvfree(m->a, al.p);
		if (al.kind == M_KV_SCATTERED)
			m->vmap_bytes -= (uint64_t)al.frames * PAGE_SIZE;
	}
	m->frames -= al.frames;
	m->live[i] = m->live[--m->nr_live];
}

/* Host mappings over the vmap area, as the kernel counts them (I4). */
static uint64_t model_maps_in_vmap(struct model *m)
{
	const void *start;
	size_t bytes;
	char line[512];
	uint64_t n = 0;

	vmap_area_bounds(m->a->vmap, &start, &bytes);
	FILE *f = fopen("/proc/self/maps", "r");
	MODEL_ASSERT(m, f != NULL, "cannot read /proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo < (uintptr_t)start + bytes &&
		    hi > (uintptr_t)start)
			n++;
	}
	fclose(f);
	return n;
}

static void model_checkpoint(struct model *m)
{
	for (unsigned i = 0; i < m->nr_live; i++)
		MODEL_ASSERT(m, model_check_fill(m->live[i].p, m->live[i].size, m->live[i].fill),
			     "live allocation %p (kind %d) overwritten", m->live[i].p,
			     m->live[i].kind);
	struct model_caches l;
	model_list_caches(m, &l);
	for (unsigned i = 0; i < l.n; i++)
		MODEL_ASSERT(m, slab_cache_validate(l.c[i]) == 0, "cache %s inconsistent",
			     slab_cache_name(l.c[i]));
	uint64_t extra = model_unexplained_vmm(m);
	MODEL_ASSERT(m, extra == m->base_vmm,
		     "%ld VMM frames are neither the model's nor in slabs (lost or double-counted)",
		     (long)(extra - m->base_vmm));
	struct kvmalloc_stats st;
	kvmalloc_get_stats(m->a, &st);
	MODEL_ASSERT(m, st.vmap_bytes == m->vmap_bytes, "vmap maps %lu bytes, model %lu",
		     (unsigned long)st.vmap_bytes, (unsigned long)m->vmap_bytes);
	MODEL_ASSERT(m, st.bad_calls == 0, "%lu bad calls", (unsigned long)st.bad_calls);
	uint64_t kernel = model_maps_in_vmap(m);
	MODEL_ASSERT(m, kernel == 1 + st.vmap_mappings,
		     "/proc/self/maps has %lu mappings over the vmap area, kvmalloc counts 1 + %lu",
		     (unsigned long)kernel, (unsigned long)st.vmap_mappings);
}

static unsigned long long model_seed(void)
{
	const char *env = getenv("MM_MODEL_SEED");
	if (env && *env)
		return strtoull(env, NULL, 0);
	return (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20);
}

Test(model, random_operations_match_the_model, .timeout = 120)
{
	static struct model m;
	const char *ops_env = getenv("MM_MODEL_OPS");
	long ops = ops_env && *ops_env ? atol(ops_env) : 1000000;

	memset(&m, 0, sizeof(m));
	m.seed = model_seed();
	m.rng = m.seed;
	m.a = fixture_arena(48);
	m.z = mm_zone_get(m.a, ZONE_NORMAL);
	for (int i = 0; i < MODEL_NR_CACHES; i++) {
		char name[32];
		struct slab_cache_params p = { .size = model_cache_sizes[i], .order = -1 };
		snprintf(name, sizeof(name), "model-%zu", model_cache_sizes[i]);
		m.caches[i] = slab_cache_create(m.a, name, &p);
		MODEL_ASSERT(&m, m.caches[i], "slab_cache_create(%s)", name);
	}
	m.base_vmm = model_unexplained_vmm(&m);

	for (long op = 1; op <= ops; op++) {
		bool alloc = m.nr_live == 0 ||
			     (m.nr_live < MODEL_MAX_LIVE &&
			      model_rand(&m) % (2 * MODEL_TARGET_LIVE) >= m.nr_live);
		if (model_rand(&m) % 20000 == 0)
			model_kv_overcommit(&m);
		else if (alloc)
			model_alloc(&m);
		else
			model_free(&m, (unsigned)(model_rand(&m) % m.nr_live));
		if (op % MODEL_CHECK_EVERY == 0)
			model_checkpoint(&m);
	}
	model_checkpoint(&m);
	while (m.nr_live)
		model_free(&m, (unsigned)(model_rand(&m) % m.nr_live));
	model_checkpoint(&m);

	/* Every path and every order was exercised and accounted for. */
	struct kvmalloc_stats st;
	kvmalloc_get_stats(m.a, &st);
	if (ops >= 1000000) {
		for (unsigned o = 0; o <= m.z->buddy.max_order; o++)
			MODEL_ASSERT(&m, m.order_ok[o] > 0,
				     "no block of order %u was allocated (%lu attempts failed)", o,
				     (unsigned long)m.order_failed[o]);
		for (int k = 0; k <= M_KV_SCATTERED; k++)
			MODEL_ASSERT(&m, m.kinds[k] > 0, "no allocation of kind %d", k);
	}
	MODEL_ASSERT(&m, st.kmalloc_allocs == st.frees_kmalloc &&
			 st.contig_allocs == st.frees_contig &&
			 st.scattered_allocs == st.frees_scattered,
		     "kvmalloc allocations and frees differ");
	MODEL_ASSERT(&m, st.vmap_mappings == 0, "%lu vmap mappings left",
		     (unsigned long)st.vmap_mappings);
	MODEL_ASSERT(&m, st.failures == m.kv_null, "kvmalloc counted %lu failures, model saw %lu",
		     (unsigned long)st.failures, (unsigned long)m.kv_null);
	cr_log_info("model: seed %llu, %ld ops; frames %lu slab %lu kmalloc %lu; kvmalloc: "
		    "kmalloc %lu contig %lu scattered %lu failed %lu",
		    m.seed, ops, (unsigned long)m.kinds[M_FRAMES], (unsigned long)m.kinds[M_SLAB],
		    (unsigned long)m.kinds[M_KMALLOC], (unsigned long)st.kmalloc_allocs,
		    (unsigned long)st.contig_allocs, (unsigned long)st.scattered_allocs,
		    (unsigned long)st.failures);
	for (int i = 0; i < MODEL_NR_CACHES; i++) {
		char name[32];
		snprintf(name, sizeof(name), "model-%zu", model_cache_sizes[i]);
		slab_cache_destroy(m.caches[i], name);
	}
	fixture_finish(m.a);
}

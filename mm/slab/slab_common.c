/*
 * Slab caches as their users see them, whichever policy serves them:
 * creation (or merging into a compatible cache, with the name kept as an
 * alias), destruction by reference, the arena's list of caches, what a
 * cache and an address say about themselves, and the calls every policy
 * answers in its own way (slab_policy.h), passed on to the cache's policy.
 *
 * Cache descriptors themselves come straight from mmap: they are the roots
 * the allocator starts from (Linux uses a static boot cache for the same
 * reason), and each holds every thread's slot.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include "slab_internal.h"

static bool slab_mergeable(const struct slab_cache *c, size_t size, size_t align,
			   unsigned flags, enum mm_zone_id zone)
{
	if (c->debug || c->ctor || (c->flags & SLAB_F_NO_MERGE))
		return false;
	if ((c->flags ^ flags) & (SLAB_F_HWCACHE_ALIGN | SLAB_F_NO_SHEAVES))
		return false;
	if (c->zone->id != zone || c->stride % align)
		return false;
	/* SLUB's objects start at the slab, which is page-aligned, so a
	 * stride of the alignment keeps every one aligned; SLAB's start after
	 * a colour and the index array, aligned only as the cache was asked. */
	if (c->policy != &slub_policy && c->align % align)
		return false;
	size = ALIGN_UP(size, align);
	return size <= c->object_size && c->object_size - size < sizeof(void *);
}

static bool slab_name_taken(struct mm_arena *a, const char *name)
{
	for (struct slab_cache *c = a->caches; c; c = c->next_in_arena) {
		if (!c->name_released && !strcmp(c->name, name))
			return true;
		for (unsigned i = 0; i < c->nr_aliases; i++)
			if (!strcmp(c->aliases[i], name))
				return true;
	}
	return false;
}

/*
 * A cache descriptor holds a slot for every possible thread, most of which
 * are never used: fresh anonymous pages (zero, and resident only once
 * touched) keep the unused slots from costing memory, which a zeroed heap
 * block would not.
 *
 * Each descriptor starts at its own offset into its first page (a colour,
 * as SLAB colours slabs): page-aligned descriptors would put every cache's
 * hot first line, and each thread's slot, in the same L1 set, and a dozen
 * kmalloc caches used together would evict one another there.
 */
#define SLAB_DESC_COLOURS 61u   /* cache lines in a page, less a few; odd */

static struct slab_cache *slab_desc_alloc(struct mm_arena *a)
{
	void *p = mmap(NULL, sizeof(struct slab_cache) + PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	unsigned colour = (a->slab_desc_colour++ * 7u) % SLAB_DESC_COLOURS;
	return (struct slab_cache *)((char *)p + colour * 64u);
}

static void slab_desc_free(struct slab_cache *c)
{
	munmap((void *)((uintptr_t)c & ~(uintptr_t)(PAGE_SIZE - 1)),
	       sizeof(struct slab_cache) + PAGE_SIZE);
}

/* The per-thread drain of a cache (c->percpu): a leaving thread's slot. */
static void slab_percpu_drain(struct mm_percpu_owner *owner, int idx)
{
	struct slab_cache *c = (struct slab_cache *)((char *)owner -
						      offsetof(struct slab_cache, percpu));
	c->policy->drain(c, idx);
}

static struct slab_cache *slab_cache_new(struct mm_arena *a, const char *name,
					 const struct slab_cache_params *p, unsigned debug,
					 size_t align)
{
	struct slab_cache *c;
	c = slab_desc_alloc(a);
	if (!c)
		return NULL;
	c->arena = a;
	c->zone = mm_zone_get(a, p->zone);
	if (!c->zone)
		c->zone = mm_zone_get(a, ZONE_NORMAL);
	c->zone_base = (uintptr_t)c->zone->base;
	c->zone_bytes = c->zone->bytes;
	c->zone_slabs = c->zone->slabs;
	c->flags = p->flags & ~SLAB_F_DEBUG_MASK;
	c->debug = debug;
	c->ctor = p->ctor;
	/* Debug caches take the checked path, which is built on SLUB's
	 * slabs and node lists, whichever policy serves the others. */
	c->policy = debug ? &slub_policy : a->slab_policy;
	if (c->policy->cache_init(c, p->size, align, p->order)) {
		slab_desc_free(c);
		errno = EINVAL;
		return NULL;
	}
	if (getrandom(&c->random, sizeof(c->random), 0) != sizeof(c->random))
		c->random = (uintptr_t)c ^ 0x9e3779b97f4a7c15ULL;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->refs = 1;
	pthread_mutex_init(&c->node_lock, NULL);
	pthread_mutex_init(&c->shared_lock, NULL);
	c->percpu.drain = slab_percpu_drain;
	return c;
}

struct slab_cache *slab_cache_create(struct mm_arena *a, const char *name,
				     const struct slab_cache_params *p)
{
	if (!a || !name || !p || !*name || strlen(name) >= SLAB_NAME_MAX || p->size == 0 ||
	    p->size > (PAGE_SIZE << SLAB_MAX_ORDER) || (p->align & (p->align - 1)) ||
	    p->align > PAGE_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	size_t align = p->align ? p->align : sizeof(void *);
	if (align < sizeof(void *))
		align = sizeof(void *);
	if ((p->flags & SLAB_F_HWCACHE_ALIGN) && align < 64)
		align = 64;
	unsigned debug = slab_debug_flags_for(name, p->flags);

	pthread_mutex_lock(&a->caches_lock);
	if (slab_name_taken(a, name)) {
		pthread_mutex_unlock(&a->caches_lock);
		errno = EEXIST;
		return NULL;
	}
	if (!debug && !p->ctor && !(p->flags & SLAB_F_NO_MERGE) && a->slab_policy->merges) {
		for (struct slab_cache *c = a->caches; c; c = c->next_in_arena) {
			if (c->nr_aliases < SLAB_MAX_ALIASES &&
			    slab_mergeable(c, p->size, align, p->flags, p->zone)) {
				pthread_mutex_lock(&c->node_lock);
				snprintf(c->aliases[c->nr_aliases++], SLAB_NAME_MAX, "%s", name);
				pthread_mutex_unlock(&c->node_lock);
				c->refs++;
				pthread_mutex_unlock(&a->caches_lock);
				return c;
			}
		}
	}
	struct slab_cache *c = slab_cache_new(a, name, p, debug, align);
	if (c) {
		struct slab_cache **tail = &a->caches;
		while (*tail)
			tail = &(*tail)->next_in_arena;
		*tail = c;
	}
	pthread_mutex_unlock(&a->caches_lock);
	if (c)
		mm_percpu_register(&c->percpu);
	return c;
}

/* Frees every slab of a cache whose last reference is gone (the policy
 * reports and keeps those still holding objects). */
void slab_cache_free(struct slab_cache *c)
{
	mm_percpu_unregister(&c->percpu);
	c->policy->cache_fini(c);
	pthread_mutex_destroy(&c->node_lock);
	pthread_mutex_destroy(&c->shared_lock);
	slab_desc_free(c);
}

/* Forgets NAME, one of the names a cache is known by, and says whether it
 * was one. Caller holds caches_lock. The cache's own name stays printed (as
 * Linux keeps showing a merged cache's first name) but is free to be used
 * again once its creator has let go of it. */
static bool slab_forget_name(struct slab_cache *c, const char *name)
{
	if (!c->name_released && !strcmp(c->name, name)) {
		c->name_released = true;
		return true;
	}
	for (unsigned i = 0; i < c->nr_aliases; i++) {
		if (strcmp(c->aliases[i], name))
			continue;
		pthread_mutex_lock(&c->node_lock);
		memmove(c->aliases[i], c->aliases[i + 1],
			(c->nr_aliases - i - 1) * sizeof(c->aliases[0]));
		c->nr_aliases--;
		pthread_mutex_unlock(&c->node_lock);
		return true;
	}
	return false;
}

void slab_cache_destroy(struct slab_cache *c, const char *name)
{
	if (!c)
		return;
	struct mm_arena *a = c->arena;
	pthread_mutex_lock(&a->caches_lock);
	if (!slab_forget_name(c, name)) {
		pthread_mutex_unlock(&a->caches_lock);
		slab_report("BUG %s: slab_cache_destroy(%s): no reference by that name\n", c->name,
			    name);
		return;
	}
	if (--c->refs > 0) {
		pthread_mutex_unlock(&a->caches_lock);
		return;
	}
	for (struct slab_cache **pp = &a->caches; *pp; pp = &(*pp)->next_in_arena) {
		if (*pp == c) {
			*pp = c->next_in_arena;
			break;
		}
	}
	pthread_mutex_unlock(&a->caches_lock);
	slab_cache_free(c);
}

size_t slab_object_size(const struct slab_cache *c)
{
	return c->object_size;
}

const char *slab_cache_name(const struct slab_cache *c)
{
	return c->name;
}

struct slab_cache *slab_cache_of(struct mm_arena *a, const void *p)
{
	struct slab *s = slab_of(a, p);
	return s ? s->cache : NULL;
}

void slab_for_each_cache(struct mm_arena *a, void (*fn)(struct slab_cache *c, void *arg), void *arg)
{
	pthread_mutex_lock(&a->caches_lock);
	for (struct slab_cache *c = a->caches; c; c = c->next_in_arena)
		fn(c, arg);
	pthread_mutex_unlock(&a->caches_lock);
}

size_t slab_cache_shrink(struct slab_cache *c)
{
	return c->policy->shrink(c);
}

size_t slab_shrink_all(struct mm_arena *a)
{
	size_t freed = 0;
	pthread_mutex_lock(&a->caches_lock);
	for (struct slab_cache *c = a->caches; c; c = c->next_in_arena)
		freed += c->policy->shrink(c);
	pthread_mutex_unlock(&a->caches_lock);
	return freed;
}

int slab_cache_validate(struct slab_cache *c)
{
	return c->policy->validate(c);
}

size_t slab_reap(struct mm_arena *a)
{
	size_t freed = 0;
	pthread_mutex_lock(&a->caches_lock);
	for (struct slab_cache *c = a->caches; c; c = c->next_in_arena)
		if (c->policy->reap)
			freed += c->policy->reap(c);
	pthread_mutex_unlock(&a->caches_lock);
	return freed;
}

static bool slab_has_name(const struct slab_cache *c, const char *name)
{
	if (!strcmp(c->name, name))
		return true;
	for (unsigned i = 0; i < c->nr_aliases; i++)
		if (!strcmp(c->aliases[i], name))
			return true;
	return false;
}

int slab_cache_tune(struct mm_arena *a, const char *name, const struct slab_tunables *t)
{
	if (!a || !name || !t)
		return -EINVAL;
	int rc = -ENOENT;
	pthread_mutex_lock(&a->caches_lock);
	for (struct slab_cache *c = a->caches; c; c = c->next_in_arena) {
		if (!slab_has_name(c, name))
			continue;
		if (!c->policy->tune)
			rc = -EOPNOTSUPP;
		else if (t->limit == 0 || t->limit > SLAB_LIMIT_MAX || t->batchcount == 0 ||
			 t->batchcount > t->limit || t->sharedfactor > SLAB_SHARED_MAX)
			rc = -EINVAL;
		else
			rc = c->policy->tune(c, t);
		break;
	}
	pthread_mutex_unlock(&a->caches_lock);
	return rc;
}

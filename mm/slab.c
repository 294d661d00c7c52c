/*
 * Slab caches: creation (object layout, slab order, merging into compatible
 * caches with aliases), destruction, the per-zone slab descriptor arrays,
 * lookups and the numbers slabinfo shows.
 *
 * Cache descriptors themselves come straight from mmap: they are the roots
 * the allocator starts from (Linux uses a static boot cache for the same
 * reason), and each holds every thread's slot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include "slab_internal.h"

#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))

static unsigned ilog2_u(unsigned long v)
{
	return v ? 63u - (unsigned)__builtin_clzl(v) : 0;
}

static unsigned clamp_u(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Like Linux's calculate_order: the smallest order that holds enough objects
 * for the fast path to pay off while wasting at most 1/16 (then 1/8, 1/4). */
static int slab_pick_order(unsigned stride)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned min_objects = 4 * (ilog2_u(cpus > 0 ? (unsigned long)cpus : 1) + 2);

	for (; min_objects >= 1; min_objects /= 2) {
		for (unsigned fraction = 16; fraction >= 4; fraction /= 2) {
			for (unsigned order = 0; order <= SLAB_MAX_ORDER; order++) {
				unsigned long bytes = PAGE_SIZE << order;
				unsigned long objs = bytes / stride;
				if (objs >= min_objects && bytes % stride <= bytes / fraction)
					return (int)order;
			}
		}
		if (min_objects == 1)
			break;
	}
	for (unsigned order = 0; order <= SLAB_MAX_ORDER; order++)
		if ((PAGE_SIZE << order) / stride >= 1)
			return (int)order;
	return -1;
}

/* Lays out one object slot. Without debug flags the free pointer sits in the
 * middle of the object, so a small overflow from the previous object cannot
 * reach it; with a constructor or debug flags it moves behind the object,
 * where poisoning and constructed contents cannot clobber it. */
static int slab_layout(struct slab_cache *c, size_t size, size_t align)
{
	bool outside = c->ctor || c->debug;
	size_t red_left = (c->debug & SLAB_F_REDZONE) ? ALIGN_UP(8, align) : 0;
	size_t end = red_left + size;

	if (c->debug & SLAB_F_REDZONE)
		end = ALIGN_UP(end, 8) + 8;   /* right red zone of at least 8 bytes */
	if (outside) {
		end = ALIGN_UP(end, 8);
		c->offset = (unsigned)(end - red_left);
		end += sizeof(void *);
	} else {
		c->offset = (unsigned)(size / 2 / 8 * 8);
		if (end < sizeof(void *))
			end = sizeof(void *);
	}
	c->track_offset = (unsigned)(end - red_left);
	if (c->debug & SLAB_F_TRACK)
		end += 2 * sizeof(struct slab_track);
	c->red_left = (unsigned)red_left;
	c->stride = (unsigned)ALIGN_UP(end, align);
	c->object_size = (unsigned)size;
	c->align = (unsigned)align;
	return 0;
}

static bool slab_mergeable(const struct slab_cache *c, size_t size, size_t align,
			   unsigned flags, enum mm_zone_id zone)
{
	if (c->debug || c->ctor || (c->flags & SLAB_F_NO_MERGE))
		return false;
	if ((c->flags & SLAB_F_HWCACHE_ALIGN) != (flags & SLAB_F_HWCACHE_ALIGN))
		return false;
	if (c->zone->id != zone || c->stride % align)
		return false;
	size = ALIGN_UP(size, align);
	return size <= c->object_size && c->object_size - size < sizeof(void *);
}

static bool slab_name_taken(struct mm_arena *a, const char *name)
{
	for (struct slab_cache *c = a->caches; c; c = c->next_in_arena) {
		if (!strcmp(c->name, name))
			return true;
		for (unsigned i = 0; i < c->nr_aliases; i++)
			if (!strcmp(c->aliases[i], name))
				return true;
	}
	return false;
}

static void slab_percpu_drain(struct mm_percpu_owner *owner, int idx)
{
	struct slab_cache *c = (struct slab_cache *)((char *)owner -
						      offsetof(struct slab_cache, percpu));
	slab_cpu_flush(c, idx);
}

/*
 * A cache descriptor holds a slot for every possible thread, most of which
 * are never used: fresh anonymous pages (zero, and resident only once
 * touched) keep the unused slots from costing memory, which a zeroed heap
 * block would not.
 */
static struct slab_cache *slab_desc_alloc(void)
{
	void *p = mmap(NULL, sizeof(struct slab_cache), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void slab_desc_free(struct slab_cache *c)
{
	munmap(c, sizeof(*c));
}

static struct slab_cache *slab_cache_new(struct mm_arena *a, const char *name,
					 const struct slab_cache_params *p, unsigned debug,
					 size_t align)
{
	struct slab_cache *c;
	c = slab_desc_alloc();
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
	slab_layout(c, p->size, align);
	int order = p->order >= 0 ? p->order : slab_pick_order(c->stride);
	if (order < 0 || order > SLAB_MAX_ORDER || (PAGE_SIZE << order) / c->stride < 1 ||
	    (PAGE_SIZE << order) / c->stride > UINT16_MAX) {
		slab_desc_free(c);
		errno = EINVAL;
		return NULL;
	}
	c->order = (unsigned)order;
	c->objects = (unsigned)((PAGE_SIZE << order) / c->stride);
	c->slab_mask = ~((uintptr_t)(PAGE_SIZE << order) - 1);
	c->slab_used = c->objects * c->stride;
	c->reciprocal = (uint32_t)(((1ULL << 32) + c->stride - 1) / c->stride);
	c->min_partial = clamp_u(ilog2_u(c->stride) / 2, 5, 10);
	/* Linux keeps about 240 objects on a cpu partial list; we let a thread
	 * keep 256 KiB of objects (tcmalloc keeps up to 4 MiB per thread), so
	 * a batch of a thousand small objects cycles without the node lists.
	 * Full slabs cost nothing to hold; the cap only bounds how long remote
	 * frees into them can wait. */
	unsigned slab_bytes = (unsigned)(PAGE_SIZE << c->order);
	c->cpu_partial_max = clamp_u((256u << 10) / slab_bytes, 2, 64);
	c->cpu_full_max = 128;
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
	if (!debug && !p->ctor && !(p->flags & SLAB_F_NO_MERGE)) {
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

/* Frees every slab of a cache whose last reference is gone. Slabs that
 * still hold objects are reported and leaked: handing them to the buddy
 * would let a stale pointer write into someone else's frame. */
static void slab_cache_free(struct slab_cache *c)
{
	mm_percpu_unregister(&c->percpu);
	for (int i = 0; i <= MM_MAX_THREADS; i++)
		slab_cpu_flush(c, i);
	slab_cache_shrink(c);
	pthread_mutex_lock(&c->node_lock);
	unsigned long leaked = c->partial.nr + c->full.nr;
	pthread_mutex_unlock(&c->node_lock);
	if (leaked)
		slab_report("=============================================================================\n"
			    "BUG %s: Objects remaining on kmem_cache_close(): %lu slabs still in use\n",
			    c->name, leaked);
	pthread_mutex_destroy(&c->node_lock);
	pthread_mutex_destroy(&c->shared_lock);
	slab_desc_free(c);
}

void slab_cache_destroy(struct slab_cache *c)
{
	if (!c)
		return;
	struct mm_arena *a = c->arena;
	pthread_mutex_lock(&a->caches_lock);
	if (--c->refs > 0) {
		/* An alias went away: drop its name (the newest alias first). */
		pthread_mutex_lock(&c->node_lock);
		if (c->nr_aliases)
			c->nr_aliases--;
		pthread_mutex_unlock(&c->node_lock);
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

size_t slab_shrink_all(struct mm_arena *a)
{
	size_t freed = 0;
	pthread_mutex_lock(&a->caches_lock);
	for (struct slab_cache *c = a->caches; c; c = c->next_in_arena)
		freed += slab_cache_shrink(c);
	pthread_mutex_unlock(&a->caches_lock);
	return freed;
}

static unsigned long slab_count_free(struct slab_cache *c, struct slab *first)
{
	unsigned long n = 0;
	for (struct slab *s = first; s; s = s->next)
		n += (unsigned long)(s->objects - s->inuse);
	(void)c;
	return n;
}

/* Linux's numbers: objects on cpu slabs count as active; only the free
 * objects of the node partial lists are subtracted. */
void slab_cache_get_info(struct slab_cache *c, struct slab_cache_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", c->name);
	pthread_mutex_lock(&c->node_lock);
	unsigned long nr_free = slab_count_free(c, c->partial.first);
	info->num_slabs = c->nr_slabs;
	info->partial_slabs = c->partial.nr;
	info->slabs_allocated = c->slabs_allocated;
	info->slabs_freed = c->slabs_freed;
	info->bad_frees = c->bad_frees;
	info->nr_aliases = c->nr_aliases;
	memcpy(info->aliases, c->aliases, sizeof(info->aliases));
	pthread_mutex_unlock(&c->node_lock);
	info->num_objs = info->num_slabs * c->objects;
	info->active_objs = info->num_objs - nr_free;
	info->active_slabs = info->num_slabs;
	info->objsize = c->stride;
	info->size = c->object_size;
	info->objperslab = c->objects;
	info->pagesperslab = 1u << c->order;
	info->min_partial = c->min_partial;
	info->flags = c->debug;
	for (int i = 0; i <= MM_MAX_THREADS; i++) {
		struct slab_cpu *cpu = &c->cpu[i];
		/* Other threads' counters are read without their cooperation:
		 * monotonic, so a slightly stale sum is all that can happen. */
		info->alloc_slow += __atomic_load_n(&cpu->alloc_slow, __ATOMIC_RELAXED);
		info->free_slow += __atomic_load_n(&cpu->free_slow, __ATOMIC_RELAXED);
		if (__atomic_load_n(&cpu->slab, __ATOMIC_RELAXED))
			info->cpu_slabs++;
	}
	info->free_remote = atomic_load(&c->remote_frees);
}

int slab_zone_attach(struct mm_zone *z)
{
	size_t bytes = (size_t)z->buddy.nr_frames * sizeof(struct slab);
	/* Touched only where slabs live, and those cluster in unmovable
	 * pageblocks, so most of this array never costs memory. */
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	z->slabs = p;
	return 0;
}

/* Called as the arena goes away: caches their users never destroyed are
 * freed here, reporting any objects still in use. */
void slab_zone_detach(struct mm_zone *z)
{
	struct mm_arena *a = z->arena;
	for (;;) {
		pthread_mutex_lock(&a->caches_lock);
		struct slab_cache **pp = &a->caches;
		while (*pp && (*pp)->zone != z)
			pp = &(*pp)->next_in_arena;
		struct slab_cache *c = *pp;
		if (c)
			*pp = c->next_in_arena;
		pthread_mutex_unlock(&a->caches_lock);
		if (!c)
			break;
		slab_cache_free(c);
	}
	if (z->slabs)
		munmap(z->slabs, (size_t)z->buddy.nr_frames * sizeof(struct slab));
	z->slabs = NULL;
}

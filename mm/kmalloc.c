/*
 * kmalloc: the arena's 13 size-class caches (kmalloc-8 .. kmalloc-8k, named
 * as Linux names them) on top of the slab, the size -> class mapping, and
 * the setup and teardown of everything kmalloc and kvmalloc own in an arena
 * (the caches, the kvmalloc counters, the record cache, the vmap area).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "kmalloc_internal.h"
#include "slab/slub_fast.h"
#include "vmap.h"

static const unsigned kmalloc_sizes[KMALLOC_NR_CLASSES] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
};

static const char *const kmalloc_names[KMALLOC_NR_CLASSES] = {
	"kmalloc-8", "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-96",
	"kmalloc-128", "kmalloc-192", "kmalloc-256", "kmalloc-512", "kmalloc-1k",
	"kmalloc-2k", "kmalloc-4k", "kmalloc-8k",
};

/*
 * Classes of sizes 1..192 by (size - 1) / 8, like Linux's size_index: the
 * 96 and 192 classes are not powers of two, so fls alone cannot find them.
 */
#define KMALLOC_SMALL_MAX 192
static const uint8_t kmalloc_size_index[KMALLOC_SMALL_MAX / 8] = {
	0, 1, 2, 2, 3, 3, 3, 3,         /*   1 ..  64 */
	4, 4, 4, 4, 5, 5, 5, 5,         /*  65 .. 128 */
	6, 6, 6, 6, 6, 6, 6, 6,         /* 129 .. 192 */
};

int kmalloc_class(size_t size)
{
	if (size == 0 || size > KMALLOC_MAX_SIZE)
		return -1;
	if (size <= KMALLOC_SMALL_MAX)
		return kmalloc_size_index[(size - 1) >> 3];
	/* Above 192 the classes are 2^(k+1) for class k: fls(size - 1) - 1. */
	return 63 - __builtin_clzll((unsigned long long)(size - 1));
}

size_t kmalloc_class_size(int cls)
{
	if (cls < 0 || cls >= KMALLOC_NR_CLASSES)
		return 0;
	return kmalloc_sizes[cls];
}

void kmalloc_fini(struct mm_arena *a)
{
	struct kmalloc_set *set = a->kmalloc;

	if (!set)
		return;
	if (a->vmap) {
		vmap_area_destroy(a->vmap);
		a->vmap = NULL;
	}
	if (set->own_desc_cache && a->desc_cache) {
		slab_cache_destroy(a->desc_cache, "vmap_area");
		a->desc_cache = NULL;
	}
	for (int i = KMALLOC_NR_CLASSES - 1; i >= 0; i--)
		if (set->cache[i])
			slab_cache_destroy(set->cache[i], kmalloc_names[i]);
	a->kmalloc = NULL;
	free(set);
}

int kmalloc_init(struct mm_arena *a)
{
	struct kmalloc_set *set = calloc(1, sizeof(*set));
	int err;

	if (!set)
		return -ENOMEM;
	a->kmalloc = set;
	set->policy_kmalloc = a->slab_policy->kmalloc;
	/* A policy with its own kmalloc (SLOB) has no size-class caches. */
	for (int i = 0; i < KMALLOC_NR_CLASSES && !a->slab_policy->kmalloc; i++) {
		struct slab_cache_params p = {
			.size = kmalloc_sizes[i], .order = -1, .zone = ZONE_NORMAL,
		};
		set->cache[i] = slab_cache_create(a, kmalloc_names[i], &p);
		if (!set->cache[i])
			goto fail_errno;
		set->cache[i]->kmalloc_class = i + 1;
	}
	if (!a->desc_cache) {
		/* Records of the vmap area, named like Linux's cache of them. */
		struct slab_cache_params p = {
			.size = sizeof(struct vmap_range), .order = -1, .zone = ZONE_NORMAL,
		};
		a->desc_cache = slab_cache_create(a, "vmap_area", &p);
		if (!a->desc_cache)
			goto fail_errno;
		set->own_desc_cache = true;
	}
	err = vmap_area_create(a, &a->vmap);
	if (err)
		goto fail;
	return 0;

fail_errno:
	err = errno ? -errno : -ENOMEM;
fail:
	kmalloc_fini(a);
	return err;
}

void *kmalloc_caller(struct mm_arena *a, size_t size, void *caller)
{
	int cls = kmalloc_class(size);

	if (__builtin_expect(cls < 0, 0)) {
		if (size == 0) {
			slab_report("kmalloc: size 0\n");
			kmalloc_count(&a->kmalloc->kv.bad_calls);
			errno = EINVAL;
		} else {
			errno = ENOMEM;   /* kvmalloc serves those sizes */
		}
		return NULL;
	}
	struct kmalloc_set *set = a->kmalloc;
	if (__builtin_expect(set->policy_kmalloc != NULL, 0))
		return set->policy_kmalloc(a, size, caller);
	return slub_alloc_fast(set->cache[cls], caller);
}

void *kmalloc(struct mm_arena *a, size_t size)
{
	return kmalloc_caller(a, size, __builtin_return_address(0));
}

void *kzalloc(struct mm_arena *a, size_t size)
{
	void *p = kmalloc_caller(a, size, __builtin_return_address(0));

	if (p)
		memset(p, 0, ksize(a, p));
	return p;
}

/*
 * The cache of p if p is the start of an object of a kmalloc cache, else
 * NULL with *why saying what p is. A cache merged into a kmalloc cache is
 * that cache, as in Linux.
 */
static struct slab_cache *kmalloc_cache_of(struct mm_arena *a, const void *p,
					   const char **why)
{
	struct slab *s = slab_of(a, p);
	struct slab_cache *c = s ? __atomic_load_n(&s->cache, __ATOMIC_ACQUIRE) : NULL;

	if (!c) {
		*why = mm_arena_zone_of(a, p) ? "not in a slab" : "not in the arena";
		return NULL;
	}
	int cls = kmalloc_class(slab_object_size(c));
	if (cls < 0 || a->kmalloc->cache[cls] != c) {
		*why = "in a slab of a cache that is not kmalloc's";
		return NULL;
	}
	if (!slab_obj_valid(c, s, p)) {
		*why = "not the start of an object";
		return NULL;
	}
	return c;
}

int kfree_caller(struct mm_arena *a, const void *p, void *caller, const char *who)
{
	/* The common case first: an object of one of kmalloc's SLUB caches,
	 * which all live in zone Normal, whose frames' descriptors name their
	 * cache (slab_new), and which check an object in a few instructions. */
	const struct mm_zone *z = &a->zone[ZONE_NORMAL];
	uintptr_t off = (uintptr_t)p - (uintptr_t)z->base;
	if (__builtin_expect(off < z->bytes && z->slabs != NULL, 1)) {
		struct slab_cache *sc = __atomic_load_n(&z->slabs[off >> PAGE_SHIFT].cache,
							__ATOMIC_ACQUIRE);
		/* p's frame names sc: only the boundary is left to check. */
		if (__builtin_expect(sc && sc->kmalloc_class && slub_is_boundary(sc, p), 1)) {
			slub_free_fast(sc, (void *)p, caller, true);
			return 0;
		}
	}
	if (a->slab_policy->kfree)
		return a->slab_policy->kfree(a, p, caller, who);
	const char *why = NULL;
	struct slab_cache *c = kmalloc_cache_of(a, p, &why);

	if (!c) {
		slab_report("%s: 0x%016lx is not a kmalloc object (%s); ignored\n",
			    who, (unsigned long)(uintptr_t)p, why);
		kmalloc_count(&a->kmalloc->kv.bad_calls);
		return -EINVAL;
	}
	slab_free_caller(c, (void *)p, caller);
	return 0;
}

bool kmalloc_owns(struct mm_arena *a, const void *p)
{
	if (a->slab_policy->ksize)
		return a->slab_policy->ksize(a, p) > 0;
	return slab_cache_of(a, p) != NULL;
}

void kfree(struct mm_arena *a, const void *p)
{
	if (p)
		kfree_caller(a, p, __builtin_return_address(0), "kfree");
}

size_t ksize(struct mm_arena *a, const void *p)
{
	if (p && a->slab_policy->ksize)
		return a->slab_policy->ksize(a, p);
	const char *why;
	struct slab_cache *c = p ? kmalloc_cache_of(a, p, &why) : NULL;

	return c ? slab_object_size(c) : 0;
}

/*
 * The arena's pool of off-slab index arrays (SLAB caches of objects of
 * PAGE_SIZE/8 and more keep their slabs' index arrays here, as Linux kept
 * them in a kmalloc cache). Chunks of 16, 32, 48 or 64 bytes carved from
 * buddy pages of zone Normal; a page goes back to the buddy as soon as its
 * last chunk is freed, so shrinking every cache leaves nothing behind.
 *
 * Why not a slab cache: kmalloc's caches are themselves SLAB caches,
 * created and destroyed in an order of kmalloc's, and users' caches may
 * outlive them until the arena goes; a cache whose arrays lived in another
 * cache could find it gone, or recurse into itself. The pool sits below
 * every cache and lives as long as the arena.
 *
 * A pool page's descriptor (zone->slabs[frame]) is used as a slab's would
 * be, with cache NULL: no slab lookup ever takes it for a slab.
 */
#include <string.h>
#include "classic_internal.h"

void classic_pool_init(struct classic_arena *ca)
{
	pthread_mutex_init(&ca->pool_lock, NULL);
	memset(ca->pool, 0, sizeof(ca->pool));
}

static unsigned pool_class(unsigned bytes)
{
	return (unsigned)(ALIGN_UP(bytes, CLASSIC_POOL_CHUNK) / CLASSIC_POOL_CHUNK - 1);
}

void *classic_pool_alloc(struct mm_arena *a, unsigned bytes)
{
	struct classic_arena *ca = a->slab_policy_data;
	struct mm_zone *z = &a->zone[ZONE_NORMAL];
	unsigned cls = pool_class(bytes), size = (cls + 1) * CLASSIC_POOL_CHUNK;
	struct slab_list_head *h = &ca->pool[cls];

	pthread_mutex_lock(&ca->pool_lock);
	struct slab *d = h->first;
	if (!d) {
		long fi = mm_frames_alloc(z, 0, MT_UNMOVABLE, FRAME_VMM, false);
		if (fi < 0) {
			pthread_mutex_unlock(&ca->pool_lock);
			return NULL;
		}
		d = &z->slabs[fi];
		memset(d, 0, sizeof(*d));
		atomic_store(&d->owner, SLAB_OWNER_NODE);
		d->frame = (uint32_t)fi;
		d->objects = (uint16_t)(PAGE_SIZE / size);
		char *base = mm_frame_ptr(z, d->frame);
		for (unsigned i = d->objects; i-- > 0;) {
			*(void **)(base + i * size) = d->freelist;
			d->freelist = base + i * size;
		}
		slab_list_add(h, d);
	}
	void *p = d->freelist;
	d->freelist = *(void **)p;
	d->inuse++;
	if (!d->freelist)
		slab_list_del(h, d);
	pthread_mutex_unlock(&ca->pool_lock);
	return p;
}

void classic_pool_free(struct mm_arena *a, void *p, unsigned bytes)
{
	struct classic_arena *ca = a->slab_policy_data;
	struct mm_zone *z = &a->zone[ZONE_NORMAL];
	struct slab_list_head *h = &ca->pool[pool_class(bytes)];
	uint32_t fi = mm_ptr_frame(z, p);
	struct slab *d = &z->slabs[fi];

	pthread_mutex_lock(&ca->pool_lock);
	bool was_full = !d->freelist;
	*(void **)p = d->freelist;
	d->freelist = p;
	d->inuse--;
	if (!d->inuse) {
		if (!was_full)
			slab_list_del(h, d);
		memset(d, 0, sizeof(*d));
		atomic_store(&d->owner, SLAB_OWNER_NODE);
		mm_frames_free(z, fi, 0);
	} else if (was_full) {
		slab_list_add(h, d);
	}
	pthread_mutex_unlock(&ca->pool_lock);
}

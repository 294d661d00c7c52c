/*
 * SLOB's blocks of whole pages: kmalloc requests that leave no room for a
 * header in a page, and objects of caches of a page or more, each a
 * compound buddy block of the order it needs (Linux's slob_new_pages). The
 * head frame's descriptor marks it SLAB_LIST_SLOB_BIG with the size asked
 * for and its cache (slob_internal.h): that mark, not the frame alone, is
 * what tells it from kvmalloc's contiguous blocks (tagged in frame.owner)
 * and from a page freed twice. The arena lock is held throughout.
 */
#include <string.h>
#include "slob_internal.h"

void *slob_big_alloc(struct slob_arena *sa, size_t size, struct slab_cache *owner)
{
	unsigned order = slob_order(size);
	long fi = mm_frames_alloc(sa->zone, order, MT_UNMOVABLE, FRAME_VMM, true);
	if (fi < 0)
		return NULL;
	struct slab *s = &sa->zone->slabs[fi];
	memset(s, 0, sizeof(*s));
	s->frame = (uint32_t)fi;
	s->list = SLAB_LIST_SLOB_BIG;
	s->slob_size = (uint32_t)size;
	s->freelist = owner;
	s->inuse = (uint16_t)order;
	slob_list_add(&sa->list[SLOB_BIG], s);
	sa->big_pages += 1u << order;
	return mm_frame_ptr(sa->zone, s->frame);
}

void slob_big_free(struct slob_arena *sa, struct slab *s)
{
	uint32_t frame = s->frame;
	unsigned order = s->inuse;
	slob_list_del(&sa->list[SLOB_BIG], s);
	memset(s, 0, sizeof(*s));
	sa->big_pages -= 1u << order;
	mm_frames_free(sa->zone, frame, order);
}

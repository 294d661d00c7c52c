/*
 * SLOB pages: the arena's lists of them, the block encoding in SLOB units
 * (slob_internal.h), first-fit allocation inside a page, and freeing with
 * coalescing. A page comes from the buddy when no page of the request's list
 * has room and goes back the moment its last block is freed, so SLOB never
 * holds an empty page (and has nothing to shrink).
 *
 * Everything here runs with the arena lock held.
 */
#include <string.h>
#include "slob_internal.h"

void slob_list_del(struct slob_list *l, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->last = s->prev;
	s->next = s->prev = NULL;
	l->nr--;
}

/* At the front, as Linux's list_add: the newest page is searched first. */
void slob_list_add(struct slob_list *l, struct slab *s)
{
	s->prev = NULL;
	s->next = l->first;
	if (l->first)
		l->first->prev = s;
	else
		l->last = s;
	l->first = s;
	l->nr++;
}

/*
 * Linux's list_rotate_to_front: s becomes the first page and the pages that
 * were before it go to the tail, in order. The next search starts where
 * this one found room (Knuth's next fit), which spreads small fragments and
 * shortens the average search.
 */
static void slob_list_rotate_to_front(struct slob_list *l, struct slab *s)
{
	if (l->first == s)
		return;
	l->last->next = l->first;
	l->first->prev = l->last;
	l->last = s->prev;
	l->last->next = NULL;
	s->prev = NULL;
	l->first = s;
}

static void slob_page_move(struct slob_arena *sa, struct slab *s, enum slob_list_id to)
{
	slob_list_del(&sa->list[s->inuse], s);
	s->inuse = (uint16_t)to;
	slob_list_add(&sa->list[to], s);
}

static enum slob_list_id slob_list_for(size_t size)
{
	return size < SLOB_BREAK1 ? SLOB_SMALL : size < SLOB_BREAK2 ? SLOB_MEDIUM : SLOB_LARGE;
}

/* ---- the encoding -------------------------------------------------------- */

static slobidx_t *slob_base(const void *b)
{
	return (slobidx_t *)((uintptr_t)b & ~(PAGE_SIZE - 1));
}

static slobidx_t slob_off(const slobidx_t *b)
{
	return (slobidx_t)(b - slob_base(b));
}

/* A free block of size units at b whose next free block is at next. */
static void slob_set(slobidx_t *b, slobidx_t size, const slobidx_t *next)
{
	slobidx_t off = (slobidx_t)(next - slob_base(b));
	if (size > 1) {
		b[0] = size;
		b[1] = off;
	} else {
		b[0] = (slobidx_t)-off;
	}
}

slobidx_t slob_units(const slobidx_t *b)
{
	return b[0] > 0 ? b[0] : 1;
}

slobidx_t slob_next_offset(const slobidx_t *b)
{
	return b[0] < 0 ? (slobidx_t)-b[0] : b[1];
}

/*
 * The next free block after b, or the end of the page. A chain a stray
 * write has damaged (a next block that overlaps this one or leaves the
 * page) is reported and cut here, so no walk can loop or leave the page;
 * validate finds it again and says where.
 */
static slobidx_t *slob_next(const slobidx_t *b)
{
	slobidx_t *base = slob_base(b);
	slobidx_t off = slob_off(b), next = slob_next_offset(b);
	if (off + slob_units(b) > SLOB_PAGE_UNITS || next < off + slob_units(b) ||
	    next > SLOB_PAGE_UNITS) {
		slab_report("=============================================================================\n"
			    "BUG SLOB: free block 0x%016lx (units %d, next %d) corrupt; "
			    "rest of the page's free chain ignored\n",
			    (unsigned long)(uintptr_t)b, b[0], next);
		return base + SLOB_PAGE_UNITS;
	}
	return base + next;
}

/* ---- lookup -------------------------------------------------------------- */

struct slab *slob_lookup(struct slob_arena *sa, const void *p)
{
	uint32_t idx;
	struct slab *s = slab_head_of_zone(sa->zone, p, &idx);
	/* SLUB's slabs (debug caches) have a cache; only ours have none. */
	if (!s || __atomic_load_n(&s->cache, __ATOMIC_ACQUIRE) ||
	    s != &sa->zone->slabs[s->frame])
		return NULL;
	if (s->list == SLAB_LIST_SLOB_PAGE && s->frame == idx)
		return s;
	return s->list == SLAB_LIST_SLOB_BIG ? s : NULL;
}

/* ---- allocation ---------------------------------------------------------- */

/* Makes to the free block after prev, or the first one (end: none). */
static void slob_page_link(struct slab *s, slobidx_t *prev, slobidx_t *to, slobidx_t *end)
{
	if (prev)
		slob_set(prev, slob_units(prev), to);
	else
		s->freelist = to == end ? NULL : to;
}

/*
 * First fit inside one page: the first free block that holds units after
 * the gap alignment asks for. The gap stays a free block of its own (one
 * unit: the negative form), the rest after the block too.
 */
static slobidx_t *slob_page_alloc(struct slob_arena *sa, struct slab *s, slobidx_t units,
				  size_t align, size_t align_offset)
{
	slobidx_t *prev = NULL, *cur = s->freelist, *end = slob_page_base(sa, s) + SLOB_PAGE_UNITS;
	while (cur) {
		slobidx_t avail = slob_units(cur);
		slobidx_t *next = slob_next(cur);
		uintptr_t at = ALIGN_UP((uintptr_t)cur + align_offset, align) - align_offset;
		slobidx_t delta = (slobidx_t)((at - (uintptr_t)cur) / SLOB_UNIT);
		if (avail >= units + delta) {
			if (delta) {
				slob_set(cur + delta, (slobidx_t)(avail - delta), next);
				slob_set(cur, delta, cur + delta);
				prev = cur;
				cur += delta;
				avail = (slobidx_t)(avail - delta);
			}
			if (avail == units) {
				slob_page_link(s, prev, next, end);
			} else {
				slob_page_link(s, prev, cur + units, end);
				slob_set(cur + units, (slobidx_t)(avail - units), next);
			}
			s->objects = (uint16_t)(s->objects - units);
			if (!s->objects) {
				s->freelist = NULL;
				slob_page_move(sa, s, SLOB_FULL);
			}
			return cur;
		}
		if (next == end)
			break;
		prev = cur;
		cur = next;
	}
	return NULL;
}

static struct slab *slob_page_new(struct slob_arena *sa, enum slob_list_id id)
{
	long fi = mm_frames_alloc(sa->zone, 0, MT_UNMOVABLE, FRAME_VMM, true);
	if (fi < 0)
		return NULL;
	struct slab *s = &sa->zone->slabs[fi];
	memset(s, 0, sizeof(*s));
	s->frame = (uint32_t)fi;
	s->list = SLAB_LIST_SLOB_PAGE;
	slobidx_t *base = slob_page_base(sa, s);
	slob_set(base, SLOB_PAGE_UNITS, base + SLOB_PAGE_UNITS);
	s->freelist = base;
	s->objects = (uint16_t)SLOB_PAGE_UNITS;
	s->inuse = (uint16_t)id;
	slob_list_add(&sa->list[id], s);
	sa->pages_allocated++;
	return s;
}

/* The page goes back to the buddy; its mark is cleared first. */
static void slob_page_release(struct slob_arena *sa, struct slab *s)
{
	uint32_t frame = s->frame;
	slob_list_del(&sa->list[s->inuse], s);
	memset(s, 0, sizeof(*s));
	mm_frames_free(sa->zone, frame, 0);
	sa->pages_freed++;
}

void *slob_block_alloc(struct slob_arena *sa, size_t size, size_t align, size_t align_offset)
{
	slobidx_t units = (slobidx_t)SLOB_UNITS(size);
	enum slob_list_id id = slob_list_for(size);
	struct slob_list *l = &sa->list[id];
	if (align < SLOB_UNIT)
		align = SLOB_UNIT;
	for (struct slab *s = l->first; s; s = s->next) {
		if (s->objects < units)
			continue;
		slobidx_t *b = slob_page_alloc(sa, s, units, align, align_offset);
		if (!b)
			continue;
		if (s->inuse == id)    /* still on l: start the next search here */
			slob_list_rotate_to_front(l, s);
		return b;
	}
	struct slab *s = slob_page_new(sa, id);
	if (!s)
		return NULL;
	void *b = slob_page_alloc(sa, s, units, align, align_offset);
	if (!b)   /* alignment and size cannot share one page */
		slob_page_release(sa, s);
	return b;
}

/* ---- freeing ------------------------------------------------------------- */

bool slob_block_allocated(struct slob_arena *sa, const struct slab *s, const void *b,
			  size_t size)
{
	const slobidx_t *base = slob_page_base(sa, s);
	if ((const slobidx_t *)b < base || ((uintptr_t)b & (SLOB_UNIT - 1)) || size == 0)
		return false;
	size_t off = (size_t)((const slobidx_t *)b - base), units = SLOB_UNITS(size);
	if (off + units > (size_t)SLOB_PAGE_UNITS || s->objects + units > (size_t)SLOB_PAGE_UNITS)
		return false;
	for (const slobidx_t *f = s->freelist; f && f != base + SLOB_PAGE_UNITS; f = slob_next(f)) {
		size_t foff = (size_t)(f - base);
		if (foff >= off + units)
			break;
		if (foff + (size_t)slob_units(f) > off)
			return false;   /* overlaps this free block */
	}
	return true;
}

bool slob_block_free(struct slob_arena *sa, struct slab *s, void *block, size_t size)
{
	if (!slob_block_allocated(sa, s, block, size))
		return false;
	slobidx_t *b = block, *end = slob_base(b) + SLOB_PAGE_UNITS;
	slobidx_t units = (slobidx_t)SLOB_UNITS(size);
	if (s->objects + units == SLOB_PAGE_UNITS) {
		slob_page_release(sa, s);
		return true;
	}
	if (!s->objects) {
		/* A full page gets room again: on the list this size searches. */
		slob_set(b, units, end);
		s->freelist = b;
		s->objects = (uint16_t)units;
		slob_page_move(sa, s, slob_list_for(size));
		return true;
	}
	s->objects = (uint16_t)(s->objects + units);
	slobidx_t *first = s->freelist;
	if (b < first) {
		slobidx_t *next = first;
		if (b + units == first) {   /* merge with the block after */
			units = (slobidx_t)(units + slob_units(first));
			next = slob_next(first);
		}
		slob_set(b, units, next);
		s->freelist = b;
		return true;
	}
	slobidx_t *prev = first, *next = slob_next(prev);
	while (next < b) {
		prev = next;
		next = slob_next(prev);
	}
	if (next != end && b + units == next)   /* merge with the block after */
		slob_set(b, (slobidx_t)(units + slob_units(next)), slob_next(next));
	else
		slob_set(b, units, next);
	if (prev + slob_units(prev) == b)       /* and with the one before */
		slob_set(prev, (slobidx_t)(slob_units(prev) + slob_units(b)), slob_next(b));
	else
		slob_set(prev, slob_units(prev), b);
	return true;
}

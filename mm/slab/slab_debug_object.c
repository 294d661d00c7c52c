/*
 * What the debug flags do to one object: red zones around it (Z), poison
 * while it is free (P), the alloc and free callers recorded behind it (U),
 * the checks of all three, and the report of a damaged object with those
 * records. The slabs' paths call these at an object's birth (slab_new), as
 * it is handed out and freed (slab_debug.c) and when a cache is validated
 * (slab_validate.c); nothing here calls them back.
 *
 * Byte values are Linux's, so reports read the same: red zones 0xcc while
 * allocated and 0xbb while free, free objects poisoned with 0x6b and a last
 * byte of 0xa5.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "slab_internal.h"

#define RED_INACTIVE 0xbb
#define RED_ACTIVE 0xcc
#define POISON_FREE 0x6b
#define POISON_END 0xa5

static struct slab_track *slab_tracks(struct slab_cache *c, void *obj)
{
	return (struct slab_track *)((char *)obj + c->track_offset);
}

static void slab_track_set(struct slab_cache *c, void *obj, int which, void *caller)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	struct slab_track *t = &slab_tracks(c, obj)[which];
	t->caller = caller;
	t->tid = (int)gettid();
	t->when_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool slab_poisoned(const struct slab_cache *c)
{
	return (c->debug & SLAB_F_POISON) && !c->ctor;
}

/* Bytes after the object up to the free pointer: the right red zone. */
static size_t slab_red_right(const struct slab_cache *c)
{
	return c->offset - c->object_size;
}

static void slab_fill_red(struct slab_cache *c, void *obj, uint8_t v)
{
	memset((char *)obj - c->red_left, v, c->red_left);
	memset((char *)obj + c->object_size, v, slab_red_right(c));
}

static void slab_fill_poison(struct slab_cache *c, void *obj)
{
	memset(obj, POISON_FREE, c->object_size - 1);
	((uint8_t *)obj)[c->object_size - 1] = POISON_END;
}

void slab_debug_init_object(struct slab_cache *c, void *obj)
{
	if (c->debug & SLAB_F_REDZONE)
		slab_fill_red(c, obj, RED_INACTIVE);
	if (c->ctor)
		c->ctor(obj);
	else if (c->debug & SLAB_F_POISON)
		slab_fill_poison(c, obj);
	if (c->debug & SLAB_F_TRACK)
		memset(slab_tracks(c, obj), 0, 2 * sizeof(struct slab_track));
}

void slab_debug_report(struct slab_cache *c, struct slab *s, void *obj, const char *what,
		       const void *where)
{
	char info[256] = "";
	/* The owner records are read only where they are: at an object of
	 * this cache (a foreign pointer's "records" could lie anywhere). */
	if ((c->debug & SLAB_F_TRACK) && s && s->cache == c && slab_obj_valid(c, s, obj)) {
		struct slab_track *t = slab_tracks(c, obj);
		snprintf(info, sizeof(info),
			 "INFO: Allocated in 0x%lx tid=%d\nINFO: Freed in 0x%lx tid=%d\n",
			 (unsigned long)(uintptr_t)t[0].caller, t[0].tid,
			 (unsigned long)(uintptr_t)t[1].caller, t[1].tid);
	}
	uintptr_t base = s ? slab_base(c, s) : 0;
	slab_report("=============================================================================\n"
		    "BUG %s: %s\n"
		    "Object 0x%016lx @offset=%lu slab 0x%016lx%s%lx\n%s",
		    c->name, what, (unsigned long)(uintptr_t)obj,
		    (unsigned long)(s ? (uintptr_t)obj - base : 0), (unsigned long)base,
		    where ? " first bad byte 0x" : "", (unsigned long)(uintptr_t)where, info);
	c->bad_frees++;
}

static const uint8_t *slab_first_not(const void *p, uint8_t v, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return b + i;
	return NULL;
}

/* Checks the red zones hold v; reports (once per zone) and repairs. */
static bool slab_check_red(struct slab_cache *c, struct slab *s, void *obj, uint8_t v)
{
	if (!(c->debug & SLAB_F_REDZONE))
		return true;
	bool ok = true;
	const uint8_t *bad = slab_first_not((char *)obj - c->red_left, v, c->red_left);
	if (bad) {
		slab_debug_report(c, s, obj, "Left Redzone overwritten", bad);
		ok = false;
	}
	bad = slab_first_not((char *)obj + c->object_size, v, slab_red_right(c));
	if (bad) {
		slab_debug_report(c, s, obj, "Right Redzone overwritten", bad);
		ok = false;
	}
	if (!ok)
		slab_fill_red(c, obj, v);
	return ok;
}

static bool slab_check_poison(struct slab_cache *c, struct slab *s, void *obj)
{
	if (!slab_poisoned(c))
		return true;
	const uint8_t *bad = slab_first_not(obj, POISON_FREE, c->object_size - 1);
	if (!bad && ((uint8_t *)obj)[c->object_size - 1] != POISON_END)
		bad = (uint8_t *)obj + c->object_size - 1;
	if (bad) {
		slab_debug_report(c, s, obj, "Poison overwritten (use after free)", bad);
		return false;
	}
	return true;
}

bool slab_debug_check_free(struct slab_cache *c, struct slab *s, void *obj)
{
	return slab_check_red(c, s, obj, RED_INACTIVE) && slab_check_poison(c, s, obj);
}

void slab_debug_mark_allocated(struct slab_cache *c, struct slab *s, void *obj, void *caller)
{
	slab_check_poison(c, s, obj);
	slab_check_red(c, s, obj, RED_INACTIVE);
	if (c->debug & SLAB_F_REDZONE)
		slab_fill_red(c, obj, RED_ACTIVE);
	if (c->debug & SLAB_F_TRACK)
		slab_track_set(c, obj, 0, caller);
}

void slab_debug_mark_free(struct slab_cache *c, struct slab *s, void *obj, void *caller)
{
	slab_check_red(c, s, obj, RED_ACTIVE);
	if (c->debug & SLAB_F_TRACK)
		slab_track_set(c, obj, 1, caller);
	if (slab_poisoned(c))
		slab_fill_poison(c, obj);
	if (c->debug & SLAB_F_REDZONE)
		slab_fill_red(c, obj, RED_INACTIVE);
}

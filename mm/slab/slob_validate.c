/*
 * Checking SLOB's pages: every page on the lists, each page's free chain
 * (encoding, address order, inside the page, no two free blocks touching,
 * since freeing merges them), its free-unit count against the chain, and
 * that it sits on the list its fill says; then the big blocks. The pages
 * are every cache's, so slab_cache_validate of any SLOB cache checks all.
 */
#include <errno.h>
#include "slob_internal.h"

static const char *const slob_list_names[SLOB_NR_LISTS] = {
	"small", "medium", "large", "full", "big",
};

static void slob_bad(const char *who, struct slob_arena *sa, const struct slab *s,
		     const char *what, long detail)
{
	slab_report("=============================================================================\n"
		    "BUG %s: SLOB page 0x%016lx (list %s, free units %u): %s (%ld)\n", who,
		    (unsigned long)(uintptr_t)slob_page_base(sa, s),
		    s->inuse < SLOB_NR_LISTS ? slob_list_names[s->inuse] : "?", s->objects, what,
		    detail);
}

/* The free chain of page s; returns the problems found. */
static int slob_validate_chain(struct slob_arena *sa, struct slab *s, const char *who)
{
	const slobidx_t *base = slob_page_base(sa, s), *b = s->freelist;
	long units = 0, prev_end = -1;
	if (b && (b < base || b >= base + SLOB_PAGE_UNITS)) {
		slob_bad(who, sa, s, "first free block outside the page", (long)(b - base));
		return 1;
	}
	while (b) {
		long off = b - base, n = slob_units(b), next = slob_next_offset(b);
		if (b[0] == 0 || off + n > SLOB_PAGE_UNITS) {
			slob_bad(who, sa, s, "free block size bad at offset", off);
			return 1;
		}
		if (off <= prev_end) {
			slob_bad(who, sa, s, "free block touches the one before at offset", off);
			return 1;
		}
		if (next < off + n || next > SLOB_PAGE_UNITS) {
			slob_bad(who, sa, s, "next free block out of order at offset", off);
			return 1;
		}
		units += n;
		prev_end = off + n;
		b = next == SLOB_PAGE_UNITS ? NULL : base + next;
	}
	if (units != s->objects) {
		slob_bad(who, sa, s, "free units counted in the chain", units);
		return 1;
	}
	return 0;
}

static int slob_validate_pages(struct slob_arena *sa, enum slob_list_id id, const char *who)
{
	int errors = 0;
	unsigned long n = 0;
	for (struct slab *s = sa->list[id].first; s; s = s->next, n++) {
		if (s->cache || s->list != SLAB_LIST_SLOB_PAGE || s->inuse != id ||
		    frame_state_get(&sa->zone->buddy.frames[s->frame]) != FRAME_VMM) {
			slob_bad(who, sa, s, "not a SLOB page of this list", id);
			errors++;
			continue;
		}
		bool full = s->objects == 0;
		if (full != (id == SLOB_FULL) || s->objects >= SLOB_PAGE_UNITS ||
		    (full && s->freelist)) {
			slob_bad(who, sa, s, "on the wrong list for its free units", id);
			errors++;
		}
		errors += slob_validate_chain(sa, s, who);
	}
	if (n != sa->list[id].nr) {
		slab_report("BUG %s: SLOB %s list counts %lu pages, holds %lu\n", who,
			    slob_list_names[id], sa->list[id].nr, n);
		errors++;
	}
	return errors;
}

static int slob_validate_big(struct slob_arena *sa, const char *who)
{
	int errors = 0;
	unsigned long n = 0, pages = 0;
	for (struct slab *s = sa->list[SLOB_BIG].first; s; s = s->next, n++) {
		const struct frame *f = &sa->zone->buddy.frames[s->frame];
		if (s->cache || s->list != SLAB_LIST_SLOB_BIG || frame_state_get(f) != FRAME_VMM ||
		    !(f->flags & FRAME_F_COMPOUND) || f->order != s->inuse ||
		    slob_order(s->slob_size) != s->inuse) {
			slab_report("BUG %s: SLOB big block 0x%016lx (size %u, order %u) corrupt\n",
				    who, (unsigned long)(uintptr_t)mm_frame_ptr(sa->zone, s->frame),
				    s->slob_size, s->inuse);
			errors++;
		}
		pages += 1ul << s->inuse;
	}
	if (n != sa->list[SLOB_BIG].nr || pages != sa->big_pages) {
		slab_report("BUG %s: SLOB big list counts %lu blocks of %lu pages, holds %lu of %lu\n",
			    who, sa->list[SLOB_BIG].nr, (unsigned long)sa->big_pages, n, pages);
		errors++;
	}
	return errors;
}

int slob_validate_arena(struct slob_arena *sa, const char *who)
{
	int errors = 0;
	pthread_mutex_lock(&sa->lock);
	for (int id = SLOB_SMALL; id <= SLOB_FULL; id++)
		errors += slob_validate_pages(sa, (enum slob_list_id)id, who);
	errors += slob_validate_big(sa, who);
	pthread_mutex_unlock(&sa->lock);
	return errors ? -EUCLEAN : 0;
}

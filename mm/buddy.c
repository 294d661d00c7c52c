/*
 * The buddy core: one zone's free lists (per order, per migrate type), block
 * split and merge, pageblock grouping with Linux's fallback stealing, runs
 * longer than a max-order block (alloc_contig_range without migration), and
 * the I1/I3 checks over the frame descriptors.
 *
 * Descriptor discipline. Only block heads carry information; every other
 * frame is all zero, except the tails of compound blocks (FRAME_TAIL,
 * FRAME_F_COMPOUND, owner = head index). That is why a zone can start from a
 * zero-filled array of which only the heads are ever written (a large zone's
 * descriptors stay untouched until used), why walks jump from head to head by
 * 1 << order, and why whoever turns a head into a tail (merge, contig take)
 * or releases a compound block clears what it had written.
 *
 * Heads are told apart from zero tails without a lock: a free head has
 * FRAME_F_BUDDY (on a list) or FRAME_F_PCP (in a per-thread cache), an
 * allocated head has an owner state (vmm, guest, ballooned).
 *
 * Freestanding: no libc, no system calls (guest/ links this file).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "buddy.h"

#define BLOCK(o) ((uint32_t)1 << (o))

/* Flags and pageblock types are read by lock-free paths (per-thread caches,
 * the slab's head lookup) while the lock holder writes them. */
static inline uint8_t flags_get(const struct frame *f)
{
	return __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
}

static inline void flags_set(struct frame *f, uint8_t v)
{
	__atomic_store_n(&f->flags, v, __ATOMIC_RELAXED);
}

static inline unsigned pb_type(const struct buddy_zone *z, uint32_t idx)
{
	return __atomic_load_n(&z->pageblock_mt[idx >> PAGEBLOCK_ORDER], __ATOMIC_RELAXED);
}

static inline bool state_is_owner(unsigned st)
{
	return st >= FRAME_VMM && st < FRAME_NR_OWNER_STATES;
}

static inline bool frame_is_head(const struct frame *f)
{
	return (flags_get(f) & (FRAME_F_BUDDY | FRAME_F_PCP)) || state_is_owner(frame_state_get(f));
}

static inline bool frame_is_allocated_head(const struct frame *f)
{
	return state_is_owner(frame_state_get(f)) && !(flags_get(f) & (FRAME_F_BUDDY | FRAME_F_PCP));
}

static void frame_clear(struct frame *f)
{
	f->next = 0;
	f->prev = 0;
	f->owner = 0;
	f->order = 0;
	f->migratetype = 0;
	flags_set(f, 0);
	frame_state_set(f, FRAME_FREE);
}

/* Field by field: a struct assignment may become a memcpy call, which a
 * freestanding guest need not have. */
static const struct buddy_counters counters_zero;

static void counters_copy(struct buddy_counters *d, const struct buddy_counters *s)
{
	d->allocs = s->allocs;
	d->frees = s->frees;
	d->splits = s->splits;
	d->merges = s->merges;
	d->fallbacks = s->fallbacks;
	d->pageblocks_stolen = s->pageblocks_stolen;
	d->contig_allocs = s->contig_allocs;
	d->contig_failures = s->contig_failures;
	d->failures = s->failures;
	d->bad_frees = s->bad_frees;
}

/* Largest naturally aligned block that starts at idx and ends by end. */
static unsigned block_order_fit(uint32_t idx, uint32_t end, unsigned max_order)
{
	unsigned o = idx ? (unsigned)__builtin_ctz(idx) : max_order;
	if (o > max_order)
		o = max_order;
	while (BLOCK(o) > end - idx)
		o--;
	return o;
}

void buddy_lock(struct buddy_zone *z)
{
	while (__atomic_exchange_n(&z->lock, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&z->lock, __ATOMIC_RELAXED)) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
	}
}

void buddy_unlock(struct buddy_zone *z)
{
	__atomic_store_n(&z->lock, 0, __ATOMIC_RELEASE);
}

/* ---- free lists ---- */

static void list_add(struct buddy_zone *z, uint32_t idx, unsigned order, unsigned mt)
{
	struct buddy_free_area *a = &z->area[order];
	struct frame *f = &z->frames[idx];
	uint32_t h = a->head[mt];

	f->next = h;
	f->prev = FRAME_NONE;
	if (h != FRAME_NONE)
		z->frames[h].prev = idx;
	a->head[mt] = idx;
	a->nr_free[mt]++;
	z->nr_free_pages += BLOCK(order);
	f->owner = 0;
	f->order = (uint8_t)order;
	f->migratetype = (uint8_t)mt;
	frame_state_set(f, FRAME_FREE);
	flags_set(f, FRAME_F_BUDDY);
}

/* Leaves the head with no flags: the caller decides what it becomes. */
static void list_del(struct buddy_zone *z, uint32_t idx)
{
	struct frame *f = &z->frames[idx];
	struct buddy_free_area *a = &z->area[f->order];
	unsigned mt = f->migratetype;

	if (f->prev != FRAME_NONE)
		z->frames[f->prev].next = f->next;
	else
		a->head[mt] = f->next;
	if (f->next != FRAME_NONE)
		z->frames[f->next].prev = f->prev;
	a->nr_free[mt]--;
	z->nr_free_pages -= BLOCK(f->order);
	flags_set(f, 0);
}

/* ---- pageblocks ---- */

/* Sets every pageblock the block covers to mt; returns how many changed. */
static uint32_t pb_set_range(struct buddy_zone *z, uint32_t idx, unsigned order, unsigned mt)
{
	uint32_t first = idx >> PAGEBLOCK_ORDER;
	uint32_t last = (uint32_t)(((uint64_t)idx + BLOCK(order) - 1) >> PAGEBLOCK_ORDER);
	uint32_t changed = 0;

	for (uint32_t pb = first; pb <= last && pb < z->nr_pageblocks; pb++) {
		if (z->pageblock_mt[pb] != mt) {
			__atomic_store_n(&z->pageblock_mt[pb], (uint8_t)mt, __ATOMIC_RELAXED);
			changed++;
		}
	}
	return changed;
}

/*
 * Linux's free_pages + alike_pages for a pageblock made of smaller blocks:
 * frames free on the lists, and frames allocated to type mt. False if the
 * pageblock does not start with a head (it lies inside a larger block).
 */
static bool pb_scan(struct buddy_zone *z, uint32_t pb, unsigned mt, uint32_t *free_frames,
		    uint32_t *alike)
{
	uint64_t i = (uint64_t)pb << PAGEBLOCK_ORDER;
	uint64_t end = i + PAGEBLOCK_FRAMES;

	if (end > z->nr_frames)
		end = z->nr_frames;
	*free_frames = *alike = 0;
	while (i < end) {
		const struct frame *f = &z->frames[i];
		uint8_t fl = flags_get(f);
		if (!frame_is_head(f))
			return false;
		if (fl & FRAME_F_BUDDY)
			*free_frames += BLOCK(f->order);
		else if (!(fl & FRAME_F_PCP) && f->migratetype == mt)
			*alike += BLOCK(f->order);
		i += BLOCK(f->order);
	}
	return true;
}

/* Moves every free block of the pageblock onto mt's lists. */
static void pb_move_free(struct buddy_zone *z, uint32_t pb, unsigned mt)
{
	uint64_t i = (uint64_t)pb << PAGEBLOCK_ORDER;
	uint64_t end = i + PAGEBLOCK_FRAMES;

	if (end > z->nr_frames)
		end = z->nr_frames;
	while (i < end) {
		struct frame *f = &z->frames[i];
		unsigned o = f->order;
		if ((flags_get(f) & FRAME_F_BUDDY) && f->migratetype != mt) {
			list_del(z, (uint32_t)i);
			list_add(z, (uint32_t)i, o, mt);
		}
		i += BLOCK(o);
	}
}

/* ---- allocation ---- */

/* Linux's expand(): the upper halves go back, each on its pageblock's lists. */
static void expand(struct buddy_zone *z, uint32_t idx, unsigned low, unsigned high)
{
	while (high > low) {
		high--;
		uint32_t half = idx + BLOCK(high);
		list_add(z, half, high, pb_type(z, half));
		z->stats.splits++;
	}
}

/*
 * Linux's __rmqueue_fallback: take the largest block of the other type so
 * that one steal pulls a whole pageblock over instead of peppering many; a
 * movable request that may not claim the pageblock takes the smallest block
 * instead. The pageblock is converted (and its free blocks moved) when the
 * block is at least a pageblock, or when free and alike frames make up half.
 */
static long rmqueue_fallback(struct buddy_zone *z, unsigned order, unsigned mt)
{
	unsigned other = mt == MT_UNMOVABLE ? MT_MOVABLE : MT_UNMOVABLE;
	int o;

	for (o = (int)z->max_order; o >= (int)order; o--)
		if (z->area[o].head[other] != FRAME_NONE)
			break;
	if (o < (int)order)
		return -1;

	bool can_steal = o >= PAGEBLOCK_ORDER / 2 || mt == MT_UNMOVABLE;
	if (!can_steal && mt == MT_MOVABLE && o > (int)order) {
		for (o = (int)order; z->area[o].head[other] == FRAME_NONE; o++)
			;
	}

	uint32_t h = z->area[o].head[other];
	z->stats.fallbacks++;
	if (o >= PAGEBLOCK_ORDER) {
		z->stats.pageblocks_stolen += pb_set_range(z, h, (unsigned)o, mt);
	} else if (can_steal) {
		uint32_t pb = h >> PAGEBLOCK_ORDER, free_frames, alike;
		if (pb_scan(z, pb, mt, &free_frames, &alike) &&
		    free_frames + alike >= PAGEBLOCK_FRAMES / 2) {
			pb_set_range(z, h, 0, mt);
			pb_move_free(z, pb, mt);
			z->stats.pageblocks_stolen++;
		}
	}
	list_del(z, h);
	expand(z, h, order, (unsigned)o);
	return h;
}

static long rmqueue(struct buddy_zone *z, unsigned order, unsigned mt)
{
	for (unsigned o = order; o <= z->max_order; o++) {
		uint32_t h = z->area[o].head[mt];
		if (h != FRAME_NONE) {
			list_del(z, h);
			expand(z, h, order, o);
			return h;
		}
	}
	return rmqueue_fallback(z, order, mt);
}

/* Tails are written only for compound blocks (see the top of the file). The
 * compound head carries its own index too, so a lookup from any frame of the
 * block reads one owner field. */
static void block_mark_allocated(struct buddy_zone *z, uint32_t idx, unsigned order, unsigned mt,
				 enum frame_state st, bool compound)
{
	struct frame *f = &z->frames[idx];

	f->next = FRAME_NONE;
	f->prev = FRAME_NONE;
	f->order = (uint8_t)order;
	f->migratetype = (uint8_t)mt;
	f->owner = compound ? idx : 0;
	if (compound) {
		for (uint32_t i = 1; i < BLOCK(order); i++) {
			struct frame *t = &z->frames[idx + i];
			t->owner = idx;
			flags_set(t, FRAME_F_COMPOUND);
			frame_state_set(t, FRAME_TAIL);
		}
	}
	frame_state_set(f, st);
	flags_set(f, compound ? FRAME_F_COMPOUND : 0);
}

long buddy_alloc_locked(struct buddy_zone *z, unsigned order, enum migratetype mt,
			enum frame_state st, bool compound)
{
	if (order > z->max_order || (unsigned)mt >= MT_NR_TYPES || !state_is_owner(st))
		return BUDDY_EINVAL;
	long h = rmqueue(z, order, mt);
	if (h < 0) {
		z->stats.failures++;
		return BUDDY_ENOMEM;
	}
	block_mark_allocated(z, (uint32_t)h, order, mt, st, compound);
	z->stats.allocs++;
	return h;
}

long buddy_alloc(struct buddy_zone *z, unsigned order, enum migratetype mt,
		 enum frame_state st, bool compound)
{
	buddy_lock(z);
	long h = buddy_alloc_locked(z, order, mt, st, compound);
	buddy_unlock(z);
	return h;
}

/* ---- free ---- */

static bool block_is_allocated(const struct buddy_zone *z, uint32_t idx, unsigned order)
{
	if (idx >= z->nr_frames || order > z->max_order || (idx & (BLOCK(order) - 1)) ||
	    BLOCK(order) > z->nr_frames - idx)
		return false;
	const struct frame *f = &z->frames[idx];
	return frame_is_allocated_head(f) && f->order == order;
}

/* Clears what allocation wrote, leaving zero descriptors. */
static void block_release(struct buddy_zone *z, uint32_t idx, unsigned order)
{
	struct frame *f = &z->frames[idx];

	if (flags_get(f) & FRAME_F_COMPOUND)
		for (uint32_t i = 1; i < BLOCK(order); i++)
			frame_clear(&z->frames[idx + i]);
	frame_clear(f);
}

/*
 * Merges with free buddies as far as the zone allows: the buddy must be a
 * free head of the same order lying wholly inside the zone, so a zone whose
 * size is not a power of two never grows a block past nr_frames. The block
 * goes on its pageblock's lists; a merge above pageblock size pulls the
 * buddy's pageblocks to that type, as Linux does.
 */
static void free_block(struct buddy_zone *z, uint32_t idx, unsigned order)
{
	unsigned mt = pb_type(z, idx);

	if (order >= PAGEBLOCK_ORDER)
		pb_set_range(z, idx, order, mt);
	while (order < z->max_order) {
		uint32_t buddy = idx ^ BLOCK(order);
		if (buddy >= z->nr_frames || BLOCK(order) > z->nr_frames - buddy)
			break;
		struct frame *b = &z->frames[buddy];
		if (!(flags_get(b) & FRAME_F_BUDDY) || b->order != order)
			break;
		list_del(z, buddy);
		if (order >= PAGEBLOCK_ORDER)
			pb_set_range(z, buddy, order, mt);
		frame_clear(&z->frames[idx > buddy ? idx : buddy]);
		idx &= buddy;
		order++;
		z->stats.merges++;
	}
	list_add(z, idx, order, mt);
}

int buddy_free_locked(struct buddy_zone *z, uint32_t idx, unsigned order)
{
	if (!block_is_allocated(z, idx, order)) {
		z->stats.bad_frees++;
		return BUDDY_EINVAL;
	}
	block_release(z, idx, order);
	free_block(z, idx, order);
	z->stats.frees++;
	return 0;
}

int buddy_free(struct buddy_zone *z, uint32_t idx, unsigned order)
{
	buddy_lock(z);
	int rc = buddy_free_locked(z, idx, order);
	buddy_unlock(z);
	return rc;
}

/* ---- zone setup ---- */

int buddy_zone_init(struct buddy_zone *z, const char *name, struct frame *frames,
		    uint8_t *pageblock_mt, uint32_t nr_frames, unsigned max_order)
{
	if (!z || !frames || !pageblock_mt || nr_frames == 0 || nr_frames == FRAME_NONE ||
	    max_order > MM_MAX_ORDER_LIMIT)
		return BUDDY_EINVAL;

	z->name = name;
	z->frames = frames;
	z->pageblock_mt = pageblock_mt;
	z->nr_frames = nr_frames;
	z->nr_pageblocks = buddy_nr_pageblocks(nr_frames);
	z->max_order = max_order;
	z->nr_free_pages = 0;
	z->nr_pcp_pages = 0;
	for (unsigned o = 0; o <= MM_MAX_ORDER_LIMIT; o++) {
		for (unsigned mt = 0; mt < MT_NR_TYPES; mt++) {
			z->area[o].head[mt] = FRAME_NONE;
			z->area[o].nr_free[mt] = 0;
		}
	}
	counters_copy(&z->stats, &counters_zero);
	z->lock = 0;
	for (uint32_t pb = 0; pb < z->nr_pageblocks; pb++)
		pageblock_mt[pb] = MT_MOVABLE;

	/*
	 * Blocks go in from the top down so each list ends up in ascending
	 * order: first the tail left over past the last max-order block
	 * (smallest blocks last in the zone), then the max-order blocks.
	 */
	uint32_t tail = nr_frames & (BLOCK(max_order) - 1);
	uint32_t idx = nr_frames;
	while (tail) {
		unsigned o = (unsigned)__builtin_ctz(tail);
		idx -= BLOCK(o);
		list_add(z, idx, o, MT_MOVABLE);
		tail &= tail - 1;
	}
	while (idx) {
		idx -= BLOCK(max_order);
		list_add(z, idx, max_order, MT_MOVABLE);
	}
	return 0;
}

/* ---- runs longer than a block ---- */

/* Puts [start, end), the parts of a taken free block outside a run, back as
 * maximal aligned blocks. Their buddies lie inside the run or are pieces of
 * the same range, so nothing merges. */
static void range_to_free_lists(struct buddy_zone *z, uint32_t start, uint32_t end)
{
	while (start < end) {
		unsigned o = block_order_fit(start, end, z->max_order);
		list_add(z, start, o, pb_type(z, start));
		start += BLOCK(o);
	}
}

/* First run of free blocks holding nr frames from an aligned start; returns
 * the head where the run of free blocks begins, or -1. */
static long contig_find(struct buddy_zone *z, uint32_t nr, uint64_t align, uint32_t *start)
{
	uint64_t run = UINT64_MAX;

	for (uint64_t i = 0; i < z->nr_frames;) {
		const struct frame *f = &z->frames[i];
		uint64_t step = 1;
		if (flags_get(f) & FRAME_F_BUDDY) {
			step = BLOCK(f->order);
			if (run == UINT64_MAX)
				run = i;
			uint64_t s = (run + align - 1) & ~(align - 1);
			if (s + nr <= i + step) {
				*start = (uint32_t)s;
				return (long)run;
			}
		} else {
			run = UINT64_MAX;
			if (frame_is_head(f))
				step = BLOCK(f->order);
		}
		i += step;
	}
	return -1;
}

long buddy_alloc_contig(struct buddy_zone *z, uint32_t nr, unsigned align_order,
			enum frame_state st)
{
	if (nr == 0 || align_order > 31 || !state_is_owner(st))
		return BUDDY_EINVAL;

	buddy_lock(z);
	uint32_t s;
	long run = contig_find(z, nr, (uint64_t)1 << align_order, &s);
	if (run < 0) {
		z->stats.contig_failures++;
		buddy_unlock(z);
		return BUDDY_ENOMEM;
	}
	uint32_t e = s + nr;
	for (uint32_t i = (uint32_t)run; i < e;) {
		struct frame *f = &z->frames[i];
		uint32_t end = i + BLOCK(f->order);
		if (end > s) {
			list_del(z, i);
			frame_clear(f);
			if (i < s)
				range_to_free_lists(z, i, s);
			if (end > e)
				range_to_free_lists(z, e, end);
		}
		i = end;
	}
	for (uint32_t i = s; i < e;) {
		unsigned o = block_order_fit(i, e, z->max_order);
		block_mark_allocated(z, i, o, pb_type(z, i), st, false);
		i += BLOCK(o);
	}
	z->stats.contig_allocs++;
	buddy_unlock(z);
	return s;
}

int buddy_free_contig(struct buddy_zone *z, uint32_t idx, uint32_t nr)
{
	buddy_lock(z);
	bool ok = nr > 0 && idx < z->nr_frames && nr <= z->nr_frames - idx;
	uint32_t end = idx + nr;

	/* Check every block first: a bad call must change nothing. */
	for (uint32_t i = idx; ok && i < end;) {
		const struct frame *f = &z->frames[i];
		ok = block_is_allocated(z, i, f->order) && BLOCK(f->order) <= end - i;
		if (ok)
			i += BLOCK(f->order);
	}
	if (!ok) {
		z->stats.bad_frees++;
		buddy_unlock(z);
		return BUDDY_EINVAL;
	}
	for (uint32_t i = idx; i < end;) {
		unsigned o = z->frames[i].order;
		block_release(z, i, o);
		free_block(z, i, o);
		i += BLOCK(o);
	}
	z->stats.frees++;
	buddy_unlock(z);
	return 0;
}

/* ---- allocated blocks ---- */

int buddy_split_allocated(struct buddy_zone *z, uint32_t idx)
{
	buddy_lock(z);
	if (idx >= z->nr_frames || !frame_is_allocated_head(&z->frames[idx])) {
		buddy_unlock(z);
		return BUDDY_EINVAL;
	}
	struct frame *f = &z->frames[idx];
	enum frame_state st = frame_state_get(f);
	bool compound = flags_get(f) & FRAME_F_COMPOUND;

	for (uint32_t i = 1; i < BLOCK(f->order); i++) {
		struct frame *t = &z->frames[idx + i];
		t->next = FRAME_NONE;
		t->prev = FRAME_NONE;
		t->owner = 0;
		t->order = 0;
		t->migratetype = f->migratetype;
		frame_state_set(t, st);
		flags_set(t, 0);
	}
	f->order = 0;
	if (compound) {
		f->owner = 0;
		flags_set(f, 0);
	}
	buddy_unlock(z);
	return 0;
}

int buddy_set_state(struct buddy_zone *z, uint32_t idx, enum frame_state st)
{
	int rc = BUDDY_EINVAL;

	buddy_lock(z);
	if (idx < z->nr_frames && state_is_owner(st) && frame_is_allocated_head(&z->frames[idx])) {
		frame_state_set(&z->frames[idx], st);
		rc = 0;
	}
	buddy_unlock(z);
	return rc;
}

/*
 * No lock: the slab asks from any thread. A compound tail names its head;
 * otherwise the head is the first aligned candidate at or below idx that is
 * a head, since everything between it and idx is a zero tail.
 */
long buddy_block_head(const struct buddy_zone *z, uint32_t idx)
{
	if (idx >= z->nr_frames)
		return BUDDY_EINVAL;
	const struct frame *f = &z->frames[idx];
	if (frame_state_get(f) == FRAME_TAIL) {
		uint32_t h = __atomic_load_n(&f->owner, __ATOMIC_RELAXED);
		if (!(flags_get(f) & FRAME_F_COMPOUND) || h >= z->nr_frames || h > idx)
			return BUDDY_EINVAL;
		const struct frame *hf = &z->frames[h];
		return frame_is_head(hf) && idx - h < BLOCK(hf->order) ? (long)h : BUDDY_EINVAL;
	}
	for (unsigned o = 0; o <= z->max_order; o++) {
		uint32_t c = idx & ~(BLOCK(o) - 1);
		const struct frame *cf = &z->frames[c];
		if (frame_is_head(cf))
			return idx - c < BLOCK(cf->order) ? (long)c : BUDDY_EINVAL;
	}
	return BUDDY_EINVAL;
}

/* ---- checks and counters ---- */

/* Every list: linked both ways, heads of its order and type, as long as
 * nr_free says. Adds the frames on the lists to *frames. */
static bool lists_check(const struct buddy_zone *z, uint64_t *frames)
{
	bool ok = true;

	for (unsigned o = 0; o <= z->max_order; o++) {
		for (unsigned mt = 0; mt < MT_NR_TYPES; mt++) {
			uint64_t n = 0;
			uint32_t prev = FRAME_NONE;
			for (uint32_t h = z->area[o].head[mt]; h != FRAME_NONE; h = z->frames[h].next) {
				if (h >= z->nr_frames || n > z->area[o].nr_free[mt]) {
					ok = false;
					break;
				}
				const struct frame *f = &z->frames[h];
				if (!(flags_get(f) & FRAME_F_BUDDY) || f->order != o ||
				    f->migratetype != mt || f->prev != prev)
					ok = false;
				prev = h;
				n++;
			}
			if (n != z->area[o].nr_free[mt])
				ok = false;
			*frames += z->area[o].nr_free[mt] << o;
		}
	}
	return ok;
}

/* A free block on the lists must sit on its pageblocks' type. */
static bool free_block_type_ok(const struct buddy_zone *z, uint32_t idx, unsigned order,
			       unsigned mt)
{
	for (uint64_t i = idx; i < (uint64_t)idx + BLOCK(order); i += PAGEBLOCK_FRAMES)
		if (pb_type(z, (uint32_t)i) != mt)
			return false;
	return true;
}

int buddy_count_states(struct buddy_zone *z, uint64_t counts[FRAME_NR_OWNER_STATES])
{
	uint64_t on_lists = 0, in_pcp = 0, list_frames = 0, total = 0;
	bool ok = true;

	for (unsigned s = 0; s < FRAME_NR_OWNER_STATES; s++)
		counts[s] = 0;
	buddy_lock(z);
	for (uint64_t i = 0; i < z->nr_frames;) {
		const struct frame *f = &z->frames[i];
		unsigned o = f->order, st = frame_state_get(f);
		uint8_t fl = flags_get(f);
		if (!frame_is_head(f) || o > z->max_order || (i & (BLOCK(o) - 1)) ||
		    i + BLOCK(o) > z->nr_frames) {
			ok = false;  /* not a head where one must be: step frame by frame */
			i++;
			continue;
		}
		if (fl & FRAME_F_BUDDY) {
			if (st != FRAME_FREE || (fl & FRAME_F_PCP) ||
			    !free_block_type_ok(z, (uint32_t)i, o, f->migratetype))
				ok = false;
			on_lists += BLOCK(o);
			counts[FRAME_FREE] += BLOCK(o);
		} else if (fl & FRAME_F_PCP) {
			if (st != FRAME_FREE)
				ok = false;
			in_pcp += BLOCK(o);
			counts[FRAME_FREE] += BLOCK(o);
		} else {
			counts[st] += BLOCK(o);
		}
		i += BLOCK(o);
	}
	ok = lists_check(z, &list_frames) && ok;
	ok = ok && on_lists == z->nr_free_pages && list_frames == z->nr_free_pages &&
	     in_pcp == z->nr_pcp_pages;
	buddy_unlock(z);
	for (unsigned s = 0; s < FRAME_NR_OWNER_STATES; s++)
		total += counts[s];
	return ok && total == z->nr_frames ? 0 : BUDDY_EINVAL;
}

bool buddy_fully_coalesced(struct buddy_zone *z)
{
	buddy_lock(z);
	bool ok = z->nr_pcp_pages == 0 && z->nr_free_pages == z->nr_frames;
	for (uint32_t i = 0; ok && i < z->nr_frames;) {
		unsigned o = block_order_fit(i, z->nr_frames, z->max_order);
		const struct frame *f = &z->frames[i];
		ok = (flags_get(f) & FRAME_F_BUDDY) && f->order == o;
		i += BLOCK(o);
	}
	buddy_unlock(z);
	return ok;
}

void buddy_free_blocks(struct buddy_zone *z, uint64_t per_order[MM_MAX_ORDER_LIMIT + 1],
		       uint64_t per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1])
{
	buddy_lock(z);
	for (unsigned o = 0; o <= MM_MAX_ORDER_LIMIT; o++) {
		uint64_t sum = 0;
		for (unsigned mt = 0; mt < MT_NR_TYPES; mt++) {
			sum += z->area[o].nr_free[mt];
			if (per_type)
				per_type[mt][o] = z->area[o].nr_free[mt];
		}
		if (per_order)
			per_order[o] = sum;
	}
	buddy_unlock(z);
}

void buddy_pageblock_counts(struct buddy_zone *z, uint64_t per_type[MT_NR_TYPES])
{
	for (unsigned mt = 0; mt < MT_NR_TYPES; mt++)
		per_type[mt] = 0;
	buddy_lock(z);
	for (uint32_t pb = 0; pb < z->nr_pageblocks; pb++) {
		unsigned mt = z->pageblock_mt[pb];
		if (mt < MT_NR_TYPES)
			per_type[mt]++;
	}
	buddy_unlock(z);
}

void buddy_stats(struct buddy_zone *z, struct buddy_counters *out)
{
	buddy_lock(z);
	counters_copy(out, &z->stats);
	buddy_unlock(z);
}

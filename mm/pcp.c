/*
 * Per-thread frame caches: the zone's mm_frames_alloc / mm_frames_free, in
 * the shape of Linux's per-CPU page lists (orders 0..PCP_MAX_ORDER, one list
 * per order and migrate type, refilled and flushed in batches).
 *
 * A slot is touched only by the thread holding its index (at exit, by that
 * thread's own drain; at mm_pcp_destroy, when no thread uses the zone any
 * more), so the common path is plain loads and stores: no lock, no atomic
 * read-modify-write. Blocks cross between a slot and the buddy only under
 * the zone lock, through buddy_alloc_locked / buddy_free_locked, so the
 * buddy's allocs/frees count those batch transfers.
 *
 * A cached block is a head with FRAME_F_PCP and state free, linked through
 * frame.next. buddy.nr_pcp_pages is the sum of every slot's frames_synced:
 * a slot brings its share up to date whenever it holds the lock (refill,
 * flush, drain), and mm_pcp_publish does so for all slots before the I1
 * count (mm_arena_check_frames), so the count is exact whenever the zone is
 * quiet.
 */
#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include "arena.h"

/* The owner's side of the slot's seqcount (mm_pcp_seq_read): odd while
 * frames change without the zone lock. */
static inline void pcp_seq_begin(struct pcp_slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void pcp_seq_end(struct pcp_slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

static inline void pcp_frames_set(struct pcp_slot *s, uint64_t v)
{
	/* Read by mm_pcp_publish from another thread; a plain store. */
	__atomic_store_n(&s->frames, v, __ATOMIC_RELAXED);
}

static void pcp_sync_locked(struct mm_zone *z, struct pcp_slot *s)
{
	uint64_t now = __atomic_load_n(&s->frames, __ATOMIC_RELAXED);
	uint64_t held = z->buddy.nr_pcp_pages + now - s->frames_synced;

	/* The zone lock orders the writers; buddyinfo's "pcp" and
	 * x-query-frames read the sum without it, so it is stored as an
	 * atomic (a plain store could tear under them, in C's terms). */
	__atomic_store_n(&z->buddy.nr_pcp_pages, held, __ATOMIC_RELAXED);
	s->frames_synced = now;
}

/* Hands the list's first block out; the list must not be empty. */
static inline long pcp_take(struct mm_zone *z, struct pcp_slot *s, unsigned order,
			    enum migratetype mt, enum frame_state st, bool compound)
{
	uint32_t h = s->head[order][mt];
	struct frame *f = &z->buddy.frames[h];

	pcp_seq_begin(s);
	s->head[order][mt] = f->next;
	s->count[order][mt]--;
	pcp_frames_set(s, s->frames - (1u << order));
	f->next = FRAME_NONE;
	if (compound) {
		for (uint32_t i = 1; i < (1u << order); i++) {
			struct frame *t = f + i;
			t->owner = h;
			__atomic_store_n(&t->flags, FRAME_F_COMPOUND, __ATOMIC_RELAXED);
			frame_state_set(t, FRAME_TAIL);
		}
		f->owner = h;
	}
	/* State before flags: the frame stays recognisably a head throughout,
	 * for lock-free head lookups on other threads. */
	frame_state_set(f, st);
	__atomic_store_n(&f->flags, compound ? FRAME_F_COMPOUND : 0, __ATOMIC_RELEASE);
	pcp_seq_end(s);
	return h;
}

/* Turns an allocated head into a cached one at the front of its list. */
static inline void pcp_push(struct mm_zone *z, struct pcp_slot *s, uint32_t idx, unsigned order,
			    unsigned mt)
{
	struct frame *f = &z->buddy.frames[idx];

	f->owner = 0;
	f->migratetype = (uint8_t)mt;
	f->next = s->head[order][mt];
	__atomic_store_n(&f->flags, FRAME_F_PCP, __ATOMIC_RELAXED);
	__atomic_store_n(&f->state, FRAME_FREE, __ATOMIC_RELEASE);
	s->head[order][mt] = idx;
	s->count[order][mt]++;
	pcp_frames_set(s, s->frames + (1u << order));
}

/* Gives the block back to the buddy: it is made an allocated head again so
 * that buddy_free_locked merges it like any other. */
static void pcp_release_locked(struct mm_zone *z, uint32_t idx, unsigned order)
{
	struct frame *f = &z->buddy.frames[idx];

	f->next = 0;
	frame_state_set(f, FRAME_VMM);
	__atomic_store_n(&f->flags, 0, __ATOMIC_RELAXED);
	buddy_free_locked(&z->buddy, idx, order);
}

/* Keeps the first `keep` blocks of a list (the most recently freed, likely
 * still in the CPU's cache) and gives the rest back. */
static void pcp_trim_locked(struct mm_zone *z, struct pcp_slot *s, unsigned order, unsigned mt,
			    uint32_t keep)
{
	struct frame *frames = z->buddy.frames;
	uint32_t nr = s->count[order][mt];
	uint32_t *link = &s->head[order][mt];

	if (keep >= nr)
		return;
	for (uint32_t i = 0; i < keep; i++)
		link = &frames[*link].next;
	uint32_t idx = *link;
	*link = FRAME_NONE;
	while (idx != FRAME_NONE) {
		uint32_t next = frames[idx].next;
		pcp_release_locked(z, idx, order);
		idx = next;
	}
	s->count[order][mt] = keep;
	pcp_frames_set(s, s->frames - ((uint64_t)(nr - keep) << order));
}

/* Flushes until the slot holds at most target frames, starting with the
 * list that overflowed. */
static void pcp_flush_locked(struct mm_zone *z, struct pcp_slot *s, uint64_t target,
			     unsigned first)
{
	const unsigned nr_lists = (PCP_MAX_ORDER + 1) * MT_NR_TYPES;

	for (unsigned n = 0; n < nr_lists && s->frames > target; n++) {
		unsigned l = (first + n) % nr_lists;
		unsigned order = l / MT_NR_TYPES, mt = l % MT_NR_TYPES;
		uint32_t nr = s->count[order][mt];
		uint64_t excess = s->frames - target;
		uint64_t drop = (excess + (1u << order) - 1) >> order;
		pcp_trim_locked(z, s, order, mt, drop >= nr ? 0 : nr - (uint32_t)drop);
	}
	pcp_sync_locked(z, s);
}

static void pcp_drain_slot(struct mm_zone *z, struct pcp_slot *s)
{
	buddy_lock(&z->buddy);
	pcp_flush_locked(z, s, 0, 0);
	buddy_unlock(&z->buddy);
}

/* Takes up to `want` blocks, keeping the buddy's order (lowest first) on the
 * slot's list. Returns how many it got. */
static unsigned pcp_refill_locked(struct mm_zone *z, struct pcp_slot *s, unsigned order,
				  enum migratetype mt, unsigned want)
{
	struct frame *frames = z->buddy.frames;
	uint32_t first = FRAME_NONE, last = FRAME_NONE;
	unsigned got = 0;

	while (got < want) {
		long h = buddy_alloc_locked(&z->buddy, order, mt, FRAME_VMM, false);
		if (h < 0)
			break;
		struct frame *f = &frames[h];
		f->owner = 0;
		f->migratetype = (uint8_t)mt;
		f->next = FRAME_NONE;
		__atomic_store_n(&f->flags, FRAME_F_PCP, __ATOMIC_RELAXED);
		frame_state_set(f, FRAME_FREE);
		if (last == FRAME_NONE)
			first = (uint32_t)h;
		else
			frames[last].next = (uint32_t)h;
		last = (uint32_t)h;
		got++;
	}
	if (got) {
		frames[last].next = s->head[order][mt];
		s->head[order][mt] = first;
		s->count[order][mt] += got;
		pcp_frames_set(s, s->frames + ((uint64_t)got << order));
	}
	return got;
}

static __attribute__((noinline)) long pcp_alloc_refill(struct mm_zone *z, struct pcp_slot *s,
						       unsigned order, enum migratetype mt,
						       enum frame_state st, bool compound)
{
	unsigned want = z->pcp_batch >> order;

	if (!want)
		want = 1;
	s->misses++;
	buddy_lock(&z->buddy);
	unsigned got = pcp_refill_locked(z, s, order, mt, want);
	if (!got && s->frames) {
		/* What this slot caches may merge into the block asked for. */
		pcp_flush_locked(z, s, 0, 0);
		got = pcp_refill_locked(z, s, order, mt, want);
	}
	pcp_sync_locked(z, s);
	buddy_unlock(&z->buddy);
	if (!got)
		return -ENOMEM;
	return pcp_take(z, s, order, mt, st, compound);
}

static __attribute__((noinline)) void pcp_free_flush(struct mm_zone *z, struct pcp_slot *s,
						     unsigned order, unsigned mt)
{
	uint64_t target = z->pcp_high > z->pcp_batch ? z->pcp_high - z->pcp_batch : 0;

	buddy_lock(&z->buddy);
	pcp_flush_locked(z, s, target, order * MT_NR_TYPES + mt);
	buddy_unlock(&z->buddy);
}

static __attribute__((noinline)) int pcp_bad_free(struct mm_zone *z)
{
	buddy_lock(&z->buddy);
	z->buddy.stats.bad_frees++;
	buddy_unlock(&z->buddy);
	return -EINVAL;
}

long mm_frames_alloc(struct mm_zone *z, unsigned order, enum migratetype mt,
		     enum frame_state st, bool compound)
{
	if ((unsigned)mt >= MT_NR_TYPES || (unsigned)st - FRAME_VMM >= FRAME_NR_OWNER_STATES - 1)
		return -EINVAL;
	if (order <= PCP_MAX_ORDER && order <= z->buddy.max_order && z->pcp) {
		int t = mm_thread_idx();
		if (t >= 0) {
			struct pcp_slot *s = &z->pcp[t];
			if (__builtin_expect(s->head[order][mt] == FRAME_NONE, 0))
				return pcp_alloc_refill(z, s, order, mt, st, compound);
			s->hits++;
			return pcp_take(z, s, order, mt, st, compound);
		}
	}
	return buddy_alloc(&z->buddy, order, mt, st, compound);
}

int mm_frames_free(struct mm_zone *z, uint32_t idx, unsigned order)
{
	if (order <= PCP_MAX_ORDER && z->pcp) {
		int t = mm_thread_idx();
		if (t >= 0) {
			struct buddy_zone *b = &z->buddy;
			if (idx >= b->nr_frames)
				return pcp_bad_free(z);
			struct frame *f = &b->frames[idx];
			unsigned st = frame_state_get(f);
			uint8_t fl = __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
			/* buddy_free's test: the head of an allocated block of this order. */
			if (st - FRAME_VMM >= FRAME_NR_OWNER_STATES - 1 ||
			    (fl & (FRAME_F_BUDDY | FRAME_F_PCP)) || f->order != order)
				return pcp_bad_free(z);
			struct pcp_slot *s = &z->pcp[t];
			pcp_seq_begin(s);
			if (fl & FRAME_F_COMPOUND) {
				for (uint32_t i = 1; i < (1u << order); i++) {
					struct frame *tf = f + i;
					tf->owner = 0;
					__atomic_store_n(&tf->flags, 0, __ATOMIC_RELAXED);
					frame_state_set(tf, FRAME_FREE);
				}
			}
			/* Like Linux, a freed block joins its pageblock's list. */
			unsigned mt = __atomic_load_n(&b->pageblock_mt[idx >> PAGEBLOCK_ORDER],
						      __ATOMIC_RELAXED);
			pcp_push(z, s, idx, order, mt);
			pcp_seq_end(s);
			if (__builtin_expect(s->frames > z->pcp_high, 0))
				pcp_free_flush(z, s, order, mt);
			return 0;
		}
	}
	return buddy_free(&z->buddy, idx, order);
}

/* Every slot's share at once, from any thread: frames is read as its owner
 * last stored it, frames_synced is the zone lock's. */
void mm_pcp_publish_locked(struct mm_zone *z)
{
	for (unsigned t = 0; z->pcp && t < MM_MAX_THREADS; t++)
		pcp_sync_locked(z, &z->pcp[t]);
}

void mm_pcp_publish(struct mm_zone *z)
{
	if (!z->pcp)
		return;
	buddy_lock(&z->buddy);
	mm_pcp_publish_locked(z);
	buddy_unlock(&z->buddy);
}

bool mm_pcp_seq_read(struct mm_zone *z, uint64_t *seq)
{
	bool steady = true;

	for (unsigned t = 0; t < MM_MAX_THREADS; t++) {
		seq[t] = z->pcp ? __atomic_load_n(&z->pcp[t].seq, __ATOMIC_ACQUIRE) : 0;
		steady = steady && !(seq[t] & 1);
	}
	return steady;
}

bool mm_pcp_seq_moved(struct mm_zone *z, const uint64_t *seq)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	for (unsigned t = 0; z->pcp && t < MM_MAX_THREADS; t++)
		if (__atomic_load_n(&z->pcp[t].seq, __ATOMIC_RELAXED) != seq[t])
			return true;
	return false;
}

void mm_pcp_drain(struct mm_zone *z)
{
	int t = mm_thread_idx_plus1 - 1;

	if (t >= 0 && z->pcp)
		pcp_drain_slot(z, &z->pcp[t]);
}

static void pcp_owner_drain(struct mm_percpu_owner *owner, int thread_idx)
{
	struct mm_zone *z = (struct mm_zone *)((char *)owner - offsetof(struct mm_zone, pcp_owner));

	if (z->pcp && thread_idx >= 0 && thread_idx < MM_MAX_THREADS)
		pcp_drain_slot(z, &z->pcp[thread_idx]);
}

/* Linux's zone_batchsize(): about a quarter of a thousandth of the zone,
 * capped at 1 MiB, made one less than a power of two; 63 from 1 GiB up. */
static unsigned pcp_batch_for(uint32_t nr_frames)
{
	uint64_t batch = nr_frames >> 10;

	if (batch > (1u << 20) / PAGE_SIZE)
		batch = (1u << 20) / PAGE_SIZE;
	batch /= 4;
	if (batch < 1)
		batch = 1;
	batch = ((uint64_t)1 << (63 - __builtin_clzll(batch + batch / 2))) - 1;
	return batch ? (unsigned)batch : 1;
}

int mm_pcp_init(struct mm_zone *z)
{
	size_t bytes = MM_MAX_THREADS * sizeof(struct pcp_slot);
	struct pcp_slot *slots = aligned_alloc(_Alignof(struct pcp_slot), bytes);

	if (!slots)
		return -ENOMEM;
	for (unsigned t = 0; t < MM_MAX_THREADS; t++) {
		struct pcp_slot *s = &slots[t];
		for (unsigned o = 0; o <= PCP_MAX_ORDER; o++) {
			for (unsigned mt = 0; mt < MT_NR_TYPES; mt++) {
				s->head[o][mt] = FRAME_NONE;
				s->count[o][mt] = 0;
			}
		}
		s->frames = s->frames_synced = 0;
		s->hits = s->misses = 0;
		/* Even: no change under way. aligned_alloc's memory is not
		 * zeroed, and an odd start would keep the slot "moving" for
		 * good, so every I1 check of the zone would say busy. */
		s->seq = 0;
	}
	/* Linux's old per-CPU high mark: six batches. */
	z->pcp_batch = pcp_batch_for(z->buddy.nr_frames);
	z->pcp_high = 6 * z->pcp_batch;
	z->pcp = slots;
	z->pcp_owner.drain = pcp_owner_drain;
	mm_percpu_register(&z->pcp_owner);
	return 0;
}

void mm_pcp_destroy(struct mm_zone *z)
{
	if (!z->pcp)
		return;
	/* After this no exiting thread drains into the zone; any slot still
	 * holding frames belongs to a thread that no longer uses it. */
	mm_percpu_unregister(&z->pcp_owner);
	for (unsigned t = 0; t < MM_MAX_THREADS; t++)
		pcp_drain_slot(z, &z->pcp[t]);
	free(z->pcp);
	z->pcp = NULL;
}

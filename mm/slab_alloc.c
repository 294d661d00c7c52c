/*
 * Slab allocation and freeing: the per-thread fast paths, the slow paths
 * (cpu partial list, node partial list, new slabs), remote frees, slab
 * deactivation, shrinking, and the walks that keep bad frees from reaching
 * the buddy. Debug caches go to slab_debug.c instead.
 *
 * Damage control without debug flags: every chain walk is bounded and
 * checked, a chain found corrupt is dropped (its objects leak, counted as in
 * use), and a slab is handed back to the buddy only after its freelist has
 * been counted exactly. Leaking is never corruption; a frame given away
 * while a stale pointer can still write to it would be.
 */
#include <errno.h>
#include <string.h>
#include "slab_internal.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static void slab_report_object(struct slab_cache *c, struct slab *s, const void *obj,
			       const char *what)
{
	if (s)
		slab_report("=============================================================================\n"
			    "BUG %s: %s\n"
			    "Object 0x%016lx @offset=%lu slab 0x%016lx objects=%u inuse=%u\n",
			    c->name, what, (unsigned long)(uintptr_t)obj,
			    (unsigned long)((uintptr_t)obj - slab_base(c, s)),
			    (unsigned long)slab_base(c, s), s->objects, s->inuse);
	else
		slab_report("=============================================================================\n"
			    "BUG %s: %s\nObject 0x%016lx\n",
			    c->name, what, (unsigned long)(uintptr_t)obj);
}

void slab_list_del(struct slab_list_head *h, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	h->nr--;
}

void slab_list_add(struct slab_list_head *h, struct slab *s)
{
	s->prev = NULL;
	s->next = h->first;
	if (h->first)
		h->first->prev = s;
	h->first = s;
	h->nr++;
}

static void slab_unlist_locked(struct slab_cache *c, struct slab *s)
{
	if (s->list == SLAB_LIST_PARTIAL)
		slab_list_del(&c->partial, s);
	else if (s->list == SLAB_LIST_FULL)
		slab_list_del(&c->full, s);
	s->list = SLAB_LIST_NONE;
}

struct slab *slab_of(struct mm_arena *a, const void *p)
{
	for (int i = 0; i < MM_NR_ZONES; i++) {
		struct slab *s = slab_of_zone(&a->zone[i], p);
		if (s)
			return s;
	}
	return NULL;
}

bool slab_obj_valid(const struct slab_cache *c, const struct slab *s, const void *obj)
{
	uintptr_t base = slab_base(c, s) + c->red_left;
	if ((uintptr_t)obj < base)
		return false;
	uintptr_t off = (uintptr_t)obj - base;
	if (off >= (uintptr_t)s->objects * c->stride)
		return false;
	return (uintptr_t)slab_obj_index(c, off) * c->stride == off;
}

/* Counts the chain from head; -1 if it leaves the slab, points between
 * objects or is longer than the slab (a cycle: a double free). */
static long slab_chain_len(const struct slab_cache *c, const struct slab *s, void *head,
			   void **tail)
{
	long n = 0;
	void *last = NULL;
	for (void *p = head; p; p = slab_get_fp(c, p)) {
		if (n >= s->objects || !slab_obj_valid(c, s, p))
			return -1;
		last = p;
		n++;
	}
	if (tail)
		*tail = last;
	return n;
}

unsigned slab_walk_freelist(const struct slab_cache *c, const struct slab *s, void *head,
			    bool *corrupt)
{
	long n = slab_chain_len(c, s, head, NULL);
	*corrupt = n < 0;
	return n < 0 ? 0 : (unsigned)n;
}

/* Moves the slab's remote frees onto *list (the holder's chain). Returns the
 * number moved; a corrupt remote chain is reported and dropped. */
static unsigned slab_take_remote(struct slab_cache *c, struct slab *s, void **list)
{
	/* Look before the exchange: most slabs have no remote frees, and a
	 * locked instruction per slab switch shows in batch workloads. */
	if (!atomic_load_explicit(&s->remote, memory_order_relaxed))
		return 0;
	void *r = atomic_exchange_explicit(&s->remote, NULL, memory_order_acquire);
	if (!r)
		return 0;
	void *tail;
	long n = slab_chain_len(c, s, r, &tail);
	if (n < 0) {
		slab_report_object(c, s, r, "Remote free list corrupted (double free?); objects leaked");
		c->bad_frees++;
		return 0;
	}
	slab_set_fp(c, tail, *list);
	*list = r;
	return (unsigned)n;
}

void slab_quarantine_locked(struct slab_cache *c, struct slab *s, const char *why)
{
	slab_report_object(c, s, (void *)slab_base(c, s), why);
	slab_unlist_locked(c, s);
	s->list = SLAB_LIST_QUARANTINE;
	atomic_store(&s->owner, SLAB_OWNER_NODE);
	c->nr_quarantined++;
}

/* Gives an empty slab back to the buddy, node lock held. Its freelist must
 * count exactly the slab's objects: anything else means a double free left
 * a live object on it, and the slab is kept out of the buddy for good. */
void slab_discard(struct slab_cache *c, struct slab *s)
{
	bool corrupt;
	unsigned n = slab_walk_freelist(c, s, s->freelist, &corrupt);
	if (corrupt || n != s->objects || atomic_load(&s->remote)) {
		slab_quarantine_locked(c, s, "Freelist does not match an empty slab; slab quarantined");
		return;
	}
	slab_unlist_locked(c, s);
	uint32_t frame = s->frame;
	__atomic_store_n(&s->cache, NULL, __ATOMIC_RELEASE);
	memset(s, 0, sizeof(*s));
	atomic_store(&s->owner, SLAB_OWNER_NODE);
	mm_frames_free(c->zone, frame, c->order);
	c->nr_slabs--;
	c->slabs_freed++;
}

/* Puts a node-held slab on the list its fill level calls for. */
static void slab_relist_locked(struct slab_cache *c, struct slab *s, bool keep_empty)
{
	s->inuse -= (uint16_t)slab_take_remote(c, s, &s->freelist);
	if (s->inuse == 0 && !keep_empty && c->partial.nr >= c->min_partial) {
		slab_discard(c, s);
		return;
	}
	enum slab_list want = s->inuse == s->objects ? SLAB_LIST_FULL : SLAB_LIST_PARTIAL;
	if (s->list == want)
		return;
	slab_unlist_locked(c, s);
	slab_list_add(want == SLAB_LIST_FULL ? &c->full : &c->partial, s);
	s->list = want;
}

/* Hands a slab this thread held back to the node lists, node lock held. */
static void slab_unfreeze_locked(struct slab_cache *c, struct slab *s)
{
	/* Publish the new holder before draining: a remote freer that pushed
	 * after our drain then sees NODE and drains it itself. */
	atomic_store(&s->owner, SLAB_OWNER_NODE);
	s->list = SLAB_LIST_NONE;
	slab_relist_locked(c, s, false);
}

/* Hands every slab of one of a thread's lists back, node lock held. */
static void slab_release_list_locked(struct slab_cache *c, struct slab_list_head *h)
{
	while (h->first) {
		struct slab *s = h->first;
		slab_list_del(h, s);
		slab_unfreeze_locked(c, s);
	}
}

static void slab_release_list(struct slab_cache *c, struct slab_list_head *h)
{
	pthread_mutex_lock(&c->node_lock);
	slab_release_list_locked(c, h);
	pthread_mutex_unlock(&c->node_lock);
}

/* A used-up cpu slab stays with the thread: frees into it are then plain
 * stores, and nothing is locked. */
static void slab_park_full(struct slab_cache *c, struct slab_cpu *cpu)
{
	struct slab *s = cpu->slab;
	cpu->slab = NULL;
	cpu->slab_base = 0;
	s->freelist = NULL;
	s->inuse = s->objects;
	s->list = SLAB_LIST_CPU_FULL;
	slab_list_add(&cpu->full, s);
	if (cpu->full.nr > c->cpu_full_max)
		slab_release_list(c, &cpu->full);
}

/* The first free into a held full slab makes it a partial one. */
static __attribute__((noinline)) void slab_held_unfull(struct slab_cache *c,
						       struct slab_cpu *cpu, struct slab *s)
{
	slab_list_del(&cpu->full, s);
	s->list = SLAB_LIST_CPU_PARTIAL;
	slab_list_add(&cpu->partial, s);
	if (cpu->partial.nr > c->cpu_partial_max)
		slab_release_list(c, &cpu->partial);
}

/* Ends the cpu slab's frozen state: its free objects go back onto the slab. */
static void slab_deactivate(struct slab_cache *c, struct slab_cpu *cpu)
{
	struct slab *s = cpu->slab;
	bool corrupt;
	unsigned n = slab_walk_freelist(c, s, cpu->freelist, &corrupt);
	if (corrupt) {
		slab_report_object(c, s, cpu->freelist, "Freelist corrupted; objects leaked");
		n = 0;
		cpu->freelist = NULL;
	}
	s->freelist = cpu->freelist;
	s->inuse = (uint16_t)(s->objects - n);
	cpu->freelist = NULL;
	cpu->slab = NULL;
	cpu->slab_base = 0;
	pthread_mutex_lock(&c->node_lock);
	if (corrupt)
		c->bad_frees++;
	slab_unfreeze_locked(c, s);
	pthread_mutex_unlock(&c->node_lock);
}

void slab_cpu_flush(struct slab_cache *c, int idx)
{
	struct slab_cpu *cpu = &c->cpu[idx];
	if (cpu->slab)
		slab_deactivate(c, cpu);
	if (cpu->partial.first || cpu->full.first) {
		pthread_mutex_lock(&c->node_lock);
		slab_release_list_locked(c, &cpu->partial);
		slab_release_list_locked(c, &cpu->full);
		pthread_mutex_unlock(&c->node_lock);
	}
}

/* A fresh slab from the buddy, node lock held; node-held, all objects free. */
struct slab *slab_new(struct slab_cache *c)
{
	long fi = mm_frames_alloc(c->zone, c->order, MT_UNMOVABLE, FRAME_VMM, true);
	if (fi < 0)
		return NULL;
	struct slab *s = &c->zone->slabs[fi];
	memset(s, 0, sizeof(*s));
	s->frame = (uint32_t)fi;
	s->objects = (uint16_t)c->objects;
	atomic_store(&s->owner, SLAB_OWNER_NODE);
	uintptr_t base = (uintptr_t)mm_frame_ptr(c->zone, s->frame) + c->red_left;
	void *head = NULL;
	for (unsigned i = c->objects; i-- > 0;) {
		void *obj = (void *)(base + (uintptr_t)i * c->stride);
		if (c->debug)
			slab_debug_init_object(c, obj);
		else if (c->ctor)
			c->ctor(obj);
		slab_set_fp(c, obj, head);
		head = obj;
	}
	s->freelist = head;
	__atomic_store_n(&s->cache, c, __ATOMIC_RELEASE);
	c->nr_slabs++;
	c->slabs_allocated++;
	return s;
}

/* Makes s (held by this thread, not on any node list) the cpu slab. */
static void slab_install_cpu(struct slab_cache *c, struct slab_cpu *cpu, struct slab *s)
{
	void *list = s->freelist;
	slab_take_remote(c, s, &list);
	s->freelist = NULL;
	s->inuse = s->objects;
	s->list = SLAB_LIST_CPU;
	cpu->freelist = list;
	cpu->slab = s;
	cpu->slab_base = slab_base(c, s);
}

static void *slab_alloc_slow(struct slab_cache *c, int idx)
{
	struct slab_cpu *cpu = &c->cpu[idx];
	cpu->alloc_slow++;
	while (!cpu->freelist) {
		if (cpu->slab) {
			/* Frees other threads made into our cpu slab. */
			if (slab_take_remote(c, cpu->slab, &cpu->freelist))
				break;
			slab_park_full(c, cpu);
		}
		if (cpu->partial.first) {
			struct slab *s = cpu->partial.first;
			slab_list_del(&cpu->partial, s);
			slab_install_cpu(c, cpu, s);
			continue;
		}
		pthread_mutex_lock(&c->node_lock);
		struct slab *s = c->partial.first;
		if (s) {
			slab_list_del(&c->partial, s);
			s->inuse -= (uint16_t)slab_take_remote(c, s, &s->freelist);
		} else {
			s = slab_new(c);
		}
		if (s) {
			s->list = SLAB_LIST_NONE;
			atomic_store(&s->owner, (int8_t)idx);
		}
		pthread_mutex_unlock(&c->node_lock);
		if (!s) {
			errno = ENOMEM;
			return NULL;
		}
		slab_install_cpu(c, cpu, s);
	}
	void *obj = cpu->freelist;
	void *next = slab_get_fp(c, obj);
	if (next && !slab_obj_valid(c, cpu->slab, next)) {
		slab_report_object(c, cpu->slab, obj, "Freepointer corrupt; rest of freelist leaked");
		next = NULL;
	}
	cpu->freelist = next;
	return obj;
}

static void *slab_alloc_shared(struct slab_cache *c)
{
	pthread_mutex_lock(&c->shared_lock);
	void *obj = slab_alloc_slow(c, SLAB_SHARED_SLOT);
	pthread_mutex_unlock(&c->shared_lock);
	return obj;
}

/* Everything the inline fast path does not handle: debug caches, threads
 * without a slot, an empty cpu freelist, a corrupt free pointer. */
static __attribute__((noinline)) void *slab_alloc_miss(struct slab_cache *c, void *caller)
{
	if (c->debug)
		return slab_alloc_debug(c, caller);
	int idx = mm_thread_idx();
	if (idx < 0)
		return slab_alloc_shared(c);
	struct slab_cpu *cpu = &c->cpu[idx];
	void *obj = cpu->freelist;
	if (obj) {
		/* A use-after-free write into a free object shows up as a next
		 * pointer outside the cpu slab: hand out this object, drop the
		 * rest of the chain rather than follow it. */
		slab_report_object(c, cpu->slab, obj, "Freepointer corrupt; rest of freelist leaked");
		cpu->freelist = NULL;
		c->bad_frees++;
		return obj;
	}
	return slab_alloc_slow(c, idx);
}

/*
 * The fast path: pop the cpu freelist. Debug caches never have a cpu
 * freelist, so they fall through to the miss path without a test here.
 */
static inline __attribute__((always_inline)) void *slab_alloc_inline(struct slab_cache *c,
								     void *caller)
{
	int i = mm_thread_idx_plus1;
	if (likely(i > 0)) {
		struct slab_cpu *cpu = &c->cpu[i - 1];
		void *obj = cpu->freelist;
		if (likely(obj)) {
			void *next = slab_get_fp(c, obj);
			if (likely(((uintptr_t)next & c->slab_mask) == cpu->slab_base || !next)) {
				cpu->freelist = next;
				/* As SLUB's prefetch_freepointer: the next pop reads
				 * there, and a chain of cold objects would otherwise
				 * cost one cache miss after another. */
				__builtin_prefetch(slab_fp_addr(c, next));
				return obj;
			}
		}
	}
	return slab_alloc_miss(c, caller);
}

void *slab_alloc_caller(struct slab_cache *c, void *caller)
{
	return slab_alloc_inline(c, caller);
}

void *slab_alloc(struct slab_cache *c)
{
	return slab_alloc_inline(c, __builtin_return_address(0));
}

static void slab_free_remote(struct slab_cache *c, struct slab *s, void *obj)
{
	void *old = atomic_load_explicit(&s->remote, memory_order_relaxed);
	do {
		slab_set_fp(c, obj, old);
	} while (!atomic_compare_exchange_weak_explicit(&s->remote, &old, obj,
							memory_order_seq_cst, memory_order_relaxed));
	atomic_fetch_add_explicit(&c->remote_frees, 1, memory_order_relaxed);
	/* If the holder gave the slab back meanwhile, nobody will drain it. */
	if (atomic_load(&s->owner) == SLAB_OWNER_NODE) {
		pthread_mutex_lock(&c->node_lock);
		if (atomic_load(&s->owner) == SLAB_OWNER_NODE && s->list != SLAB_LIST_QUARANTINE)
			slab_relist_locked(c, s, false);
		pthread_mutex_unlock(&c->node_lock);
	}
}

static bool slab_push_owned(struct slab_cache *c, struct slab *s, void *obj)
{
	if (obj == s->freelist || s->inuse == 0) {
		slab_report_object(c, s, obj, "Object already free");
		return false;
	}
	slab_set_fp(c, obj, s->freelist);
	s->freelist = obj;
	s->inuse--;
	return true;
}

static void slab_free_slow(struct slab_cache *c, void *obj, int idx)
{
	struct slab_cpu *cpu = &c->cpu[idx];
	struct slab *s = slab_of(c->arena, obj);
	if (!s || s->cache != c || !slab_obj_valid(c, s, obj)) {
		slab_report_object(c, NULL, obj, !s ? "Object is not in a slab (foreign pointer)" :
					 s->cache != c ? "Object belongs to another cache" :
					 "Invalid object pointer");
		pthread_mutex_lock(&c->node_lock);
		c->bad_frees++;
		pthread_mutex_unlock(&c->node_lock);
		return;
	}
	cpu->free_slow++;
	for (;;) {
		int owner = atomic_load(&s->owner);
		if (owner == idx) {
			if (s == cpu->slab) {  /* only the shared slot gets here */
				if (obj == cpu->freelist) {
					slab_report_object(c, s, obj, "Object already free");
					return;
				}
				slab_set_fp(c, obj, cpu->freelist);
				cpu->freelist = obj;
				return;
			}
			if (slab_push_owned(c, s, obj) && s->list == SLAB_LIST_CPU_FULL)
				slab_held_unfull(c, cpu, s);
			return;
		}
		if (owner != SLAB_OWNER_NODE) {
			cpu->free_remote++;
			slab_free_remote(c, s, obj);
			return;
		}
		pthread_mutex_lock(&c->node_lock);
		if (atomic_load(&s->owner) != SLAB_OWNER_NODE) {
			pthread_mutex_unlock(&c->node_lock);
			continue;   /* someone took it meanwhile: try again */
		}
		if (s->list == SLAB_LIST_QUARANTINE) {
			pthread_mutex_unlock(&c->node_lock);
			return;
		}
		s->inuse -= (uint16_t)slab_take_remote(c, s, &s->freelist);
		if (!slab_push_owned(c, s, obj)) {
			c->bad_frees++;
			pthread_mutex_unlock(&c->node_lock);
			return;
		}
		if (idx == SLAB_SHARED_SLOT) {
			slab_relist_locked(c, s, false);
		} else {
			/* Like put_cpu_partial: the next frees into this slab
			 * from this thread are plain stores. */
			if (cpu->partial.nr >= c->cpu_partial_max)
				slab_release_list_locked(c, &cpu->partial);
			slab_unlist_locked(c, s);
			s->list = SLAB_LIST_CPU_PARTIAL;
			atomic_store(&s->owner, (int8_t)idx);
			slab_list_add(&cpu->partial, s);
		}
		pthread_mutex_unlock(&c->node_lock);
		return;
	}
}

static __attribute__((noinline)) void slab_free_miss(struct slab_cache *c, void *obj,
							  void *caller)
{
	if (!obj)
		return;
	if (c->debug) {
		slab_free_debug(c, obj, caller);
		return;
	}
	int idx = mm_thread_idx();
	if (idx >= 0) {
		struct slab_cpu *cpu = &c->cpu[idx];
		if (obj == cpu->freelist) {
			slab_report_object(c, cpu->slab, obj, "Object already free");
			c->bad_frees++;
			return;
		}
		slab_free_slow(c, obj, idx);
		return;
	}
	pthread_mutex_lock(&c->shared_lock);
	slab_free_slow(c, obj, SLAB_SHARED_SLOT);
	pthread_mutex_unlock(&c->shared_lock);
}

/*
 * The fast paths: an object of this thread's cpu slab goes on the cpu
 * freelist; an object of another slab this thread holds goes on that
 * slab's freelist. Slabs are aligned to their size, so the slab is
 * found with a mask and its descriptor with a shift. Both check that the
 * pointer is an object boundary and not the freelist head.
 */
static inline __attribute__((always_inline)) void slab_free_inline(struct slab_cache *c,
								   void *obj, void *caller)
{
	int i = mm_thread_idx_plus1;
	if (likely(i > 0)) {
		struct slab_cpu *cpu = &c->cpu[i - 1];
		uintptr_t head = (uintptr_t)obj & c->slab_mask;
		uintptr_t off = (uintptr_t)obj - head;
		bool boundary = off < c->slab_used &&
				(uintptr_t)slab_obj_index(c, off) * c->stride == off;
		if (likely(head == cpu->slab_base)) {
			if (likely(boundary && obj != cpu->freelist)) {
				slab_set_fp(c, obj, cpu->freelist);
				cpu->freelist = obj;
				return;
			}
		} else if (head - c->zone_base < c->zone_bytes) {
			struct slab *s = &c->zone_slabs[(head - c->zone_base) >> PAGE_SHIFT];
			if (likely(s->cache == c && boundary &&
				   atomic_load_explicit(&s->owner, memory_order_relaxed) == i - 1 &&
				   obj != s->freelist && s->inuse)) {
				slab_set_fp(c, obj, s->freelist);
				s->freelist = obj;
				s->inuse--;
				if (unlikely(s->list == SLAB_LIST_CPU_FULL))
					slab_held_unfull(c, cpu, s);
				return;
			}
		}
	}
	slab_free_miss(c, obj, caller);
}

void slab_free_caller(struct slab_cache *c, void *obj, void *caller)
{
	slab_free_inline(c, obj, caller);
}

void slab_free(struct slab_cache *c, void *obj)
{
	slab_free_inline(c, obj, __builtin_return_address(0));
}

size_t slab_cache_shrink(struct slab_cache *c)
{
	int idx = mm_thread_idx();
	if (idx >= 0)
		slab_cpu_flush(c, idx);
	pthread_mutex_lock(&c->shared_lock);
	slab_cpu_flush(c, SLAB_SHARED_SLOT);
	pthread_mutex_unlock(&c->shared_lock);

	pthread_mutex_lock(&c->node_lock);
	unsigned long before = c->slabs_freed;
	/* Full slabs may hold remote frees that make them partial or empty. */
	for (struct slab *s = c->full.first, *next; s; s = next) {
		next = s->next;
		slab_relist_locked(c, s, true);
	}
	for (struct slab *s = c->partial.first, *next; s; s = next) {
		next = s->next;
		s->inuse -= (uint16_t)slab_take_remote(c, s, &s->freelist);
		if (s->inuse == 0)
			slab_discard(c, s);
	}
	size_t freed = (c->slabs_freed - before) << c->order;
	pthread_mutex_unlock(&c->node_lock);
	return freed;
}

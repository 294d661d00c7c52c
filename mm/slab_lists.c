/*
 * Where a slab sits and how it moves: the node lists, a thread's cpu slab
 * and held lists, remote-free lists, new slabs, discarding and shrinking,
 * and the walks that keep bad frees from reaching the buddy.
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

void slab_report_object(struct slab_cache *c, struct slab *s, const void *obj,
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

void slab_unlist_locked(struct slab_cache *c, struct slab *s)
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
unsigned slab_take_remote(struct slab_cache *c, struct slab *s, void **list)
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
void slab_relist_locked(struct slab_cache *c, struct slab *s, bool keep_empty)
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
void slab_release_list_locked(struct slab_cache *c, struct slab_list_head *h)
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
void slab_park_full(struct slab_cache *c, struct slab_cpu *cpu)
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
__attribute__((noinline)) void slab_held_unfull(struct slab_cache *c, struct slab_cpu *cpu,
						 struct slab *s)
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
void slab_install_cpu(struct slab_cache *c, struct slab_cpu *cpu, struct slab *s)
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

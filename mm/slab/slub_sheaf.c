/*
 * SLUB's sheaves (as Linux's SLUB has them since 6.18): each thread's main
 * and spare sheaf of free objects, which the fast paths of slub_alloc.c and
 * slub_free.c pop and push; what a thread does when its main sheaf is empty
 * or full (swap with the spare, trade with the cache's barn, refill from or
 * flush to the slabs through the per-thread freelist path); and the flushes
 * that give everything back (shrinking, thread exit, cache teardown).
 *
 * Objects in sheaves and the barn are allocated as far as the slabs know;
 * slabinfo shows how many there are (held_objs), and shrinking empties them.
 */
#include <errno.h>
#include <string.h>
#include "slab_internal.h"

/* Linux's choice of capacity by object size: small objects are many and
 * cheap to hold, large ones are few and hold much memory. */
unsigned slub_sheaf_capacity(size_t object_size)
{
	if (object_size < 256)
		return 60;
	if (object_size <= 1024)
		return 26;
	if (object_size <= PAGE_SIZE)
		return 12;
	return 4;
}

/* The thread's first miss gives its sheaves their capacity. */
static void sheaf_slot_init(struct slab_cache *c, struct slab_cpu *cpu)
{
	cpu->sheaf[0].capacity = cpu->sheaf[1].capacity = c->sheaf_capacity;
}

/* Moves the objects of sheaf from (the other one empty) into sheaf to:
 * the sheaves stay in place, so the fast paths load no pointer to them. */
static void sheaf_move(struct slab_sheaf *to, struct slab_sheaf *from)
{
	memcpy(to->objs, from->objs, from->size * sizeof(void *));
	slab_sheaf_set_size(to, from->size);
	slab_sheaf_set_size(from, 0);
}

/* Empty sh filled from the barn, barn lock held; false if it had none. */
static bool barn_take_locked(struct slab_cache *c, struct slab_sheaf *sh)
{
	unsigned n = c->barn_nr < sh->capacity ? c->barn_nr : sh->capacity;
	c->barn_nr -= n;
	memcpy(sh->objs, &c->barn[c->barn_nr], n * sizeof(void *));
	slab_sheaf_set_size(sh, n);
	return n > 0;
}

/* Both empty sheaves of a thread filled from the barn at once: one lock
 * for twice the objects, as a batch of allocations wants. */
static bool barn_take(struct slab_cache *c, struct slab_cpu *cpu)
{
	pthread_mutex_lock(&c->barn_lock);
	bool got = barn_take_locked(c, &cpu->sheaf[0]);
	if (got)
		barn_take_locked(c, &cpu->sheaf[1]);
	pthread_mutex_unlock(&c->barn_lock);
	return got;
}

/* sh into the barn if it has room for it, barn lock held; sh is then
 * empty. */
static bool barn_give_locked(struct slab_cache *c, struct slab_sheaf *sh)
{
	if (c->barn_max - c->barn_nr < sh->size)
		return false;
	memcpy(&c->barn[c->barn_nr], sh->objs, sh->size * sizeof(void *));
	c->barn_nr += sh->size;
	slab_sheaf_set_size(sh, 0);
	return true;
}

/* A full main sheaf into the barn, and the spare with it when the barn
 * has room for both: one lock for twice the objects, as a batch of frees
 * wants. */
static bool barn_give(struct slab_cache *c, struct slab_cpu *cpu)
{
	pthread_mutex_lock(&c->barn_lock);
	bool gave = barn_give_locked(c, &cpu->sheaf[0]);
	if (gave)
		barn_give_locked(c, &cpu->sheaf[1]);
	pthread_mutex_unlock(&c->barn_lock);
	return gave;
}

/* Empty sh filled from the slabs. The objects go in so that the first
 * taken is on top: allocations then walk a slab in address order, as the
 * freelist path does. */
static void sheaf_refill(struct slab_cache *c, int idx, struct slab_sheaf *sh)
{
	unsigned n = 0;
	slab_cpu_count(&c->cpu[idx].sheaf_refills);
	while (n < sh->capacity) {
		void *obj = slub_take(c, idx);
		if (!obj)
			break;
		sh->objs[n++] = obj;
	}
	for (unsigned i = 0, j = n; i + 1 < j; i++, j--) {
		void *t = sh->objs[i];
		sh->objs[i] = sh->objs[j - 1];
		sh->objs[j - 1] = t;
	}
	slab_sheaf_set_size(sh, n);
}

static void sheaf_empty(struct slab_cache *c, int idx, struct slab_sheaf *sh)
{
	for (unsigned i = sh->size; i-- > 0;)
		slub_put(c, sh->objs[i], idx);
	slab_sheaf_set_size(sh, 0);
}

void *slub_sheaf_alloc(struct slab_cache *c, int idx)
{
	struct slab_cpu *cpu = &c->cpu[idx];
	if (!c->sheaf_capacity)
		return slub_take(c, idx);
	struct slab_sheaf *sh = &cpu->sheaf[0], *spare = &cpu->sheaf[1];
	if (!sh->capacity)
		sheaf_slot_init(c, cpu);
	if (!sh->size) {
		if (spare->size) {
			sheaf_move(sh, spare);
		} else if (!barn_take(c, cpu)) {
			sheaf_refill(c, idx, sh);
			if (!sh->size) {
				errno = ENOMEM;
				return NULL;
			}
		}
	}
	unsigned n = sh->size - 1;
	slab_sheaf_set_size(sh, n);
	return sh->objs[n];
}

void slub_sheaf_free(struct slab_cache *c, void *obj, int idx)
{
	struct slab_cpu *cpu = &c->cpu[idx];
	/* Not an object of ours: the freelist path says what it is. */
	if (!c->sheaf_capacity || !slub_is_object(c, obj)) {
		slub_put(c, obj, idx);
		return;
	}
	struct slab_sheaf *sh = &cpu->sheaf[0], *spare = &cpu->sheaf[1];
	if (!sh->capacity)
		sheaf_slot_init(c, cpu);
	if (sh->size && sh->objs[sh->size - 1] == obj) {
		struct slab *s = &c->zone_slabs[(((uintptr_t)obj & c->slab_mask) - c->zone_base) >>
						PAGE_SHIFT];
		slab_report_object(c, s, obj, "Object already free");
		atomic_fetch_add_explicit(&c->bad_frees, 1, memory_order_relaxed);
		return;
	}
	if (sh->size == sh->capacity) {
		if (!spare->size) {
			sheaf_move(spare, sh);
		} else if (!barn_give(c, cpu)) {
			slab_cpu_count(&cpu->sheaf_flushes);
			sheaf_empty(c, idx, sh);
		}
	}
	sh->objs[sh->size] = obj;
	slab_sheaf_set_size(sh, sh->size + 1);
}

void slub_sheaf_flush(struct slab_cache *c, int idx)
{
	struct slab_cpu *cpu = &c->cpu[idx];
	sheaf_empty(c, idx, &cpu->sheaf[0]);
	sheaf_empty(c, idx, &cpu->sheaf[1]);
}

void slub_sheaf_retire(struct slab_cache *c, int idx)
{
	struct slab_cpu *cpu = &c->cpu[idx];
	for (int k = 0; k < 2; k++) {
		struct slab_sheaf *sh = &cpu->sheaf[k];
		if (!sh->size)
			continue;
		pthread_mutex_lock(&c->barn_lock);
		bool gave = barn_give_locked(c, sh);
		pthread_mutex_unlock(&c->barn_lock);
		if (!gave)
			sheaf_empty(c, idx, sh);
	}
}

/* The barn's objects go back through this thread's paths (another
 * thread's slab gets them as remote frees); the shared slot serves a
 * thread without an index. */
void slub_barn_flush(struct slab_cache *c)
{
	int idx = mm_thread_idx();
	if (idx < 0) {
		pthread_mutex_lock(&c->shared_lock);
		idx = SLAB_SHARED_SLOT;
	}
	for (;;) {
		void *objs[SLAB_SHEAF_MAX];
		pthread_mutex_lock(&c->barn_lock);
		unsigned n = c->barn_nr < SLAB_SHEAF_MAX ? c->barn_nr : SLAB_SHEAF_MAX;
		c->barn_nr -= n;
		memcpy(objs, &c->barn[c->barn_nr], n * sizeof(void *));
		pthread_mutex_unlock(&c->barn_lock);
		if (!n)
			break;
		for (unsigned i = 0; i < n; i++)
			slub_put(c, objs[i], idx);
	}
	if (idx == SLAB_SHARED_SLOT)
		pthread_mutex_unlock(&c->shared_lock);
}

unsigned long slub_sheaf_held(struct slab_cache *c)
{
	unsigned long n;
	pthread_mutex_lock(&c->barn_lock);
	n = c->barn_nr;
	pthread_mutex_unlock(&c->barn_lock);
	/* Other threads' sheaves, read without their cooperation: the sizes
	 * change under us (a snapshot, as the other counters are). */
	for (int i = 0; i < MM_MAX_THREADS; i++)
		for (int k = 0; k < 2; k++)
			n += __atomic_load_n(&c->cpu[i].sheaf[k].size, __ATOMIC_RELAXED);
	return n;
}

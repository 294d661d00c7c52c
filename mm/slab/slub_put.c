/*
 * SLUB's per-thread freelist path behind the sheaves (slub_sheaf.c flushes
 * into it; the shared slot uses it directly): objects of the cpu slab or of
 * a slab the thread holds, remote frees into slabs other threads hold, and
 * frees into node-held slabs, which the freeing thread adopts; and every
 * report of a bad pointer.
 */
#include "slab_internal.h"


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
	slab_cpu_count(&cpu->free_slow);
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
			slab_cpu_count(&cpu->free_remote);
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

/*
 * One object back to its slab by SLUB's per-thread paths: onto the cpu
 * freelist when it is of the cpu slab, onto the freelist of a slab this
 * thread holds, or by the slow path (remote frees, node-held slabs, and
 * every report of a bad pointer). Slot idx is the caller's.
 */
void slub_put(struct slab_cache *c, void *obj, int idx)
{
	struct slab_cpu *cpu = &c->cpu[idx];
	uintptr_t head = (uintptr_t)obj & c->slab_mask;
	uintptr_t off = (uintptr_t)obj - head;
	bool boundary = off < c->slab_used &&
			(uintptr_t)slab_obj_index(c, off) * c->stride == off;
	if (head == cpu->slab_base) {
		if (likely(boundary && obj != cpu->freelist)) {
			slab_set_fp(c, obj, cpu->freelist);
			cpu->freelist = obj;
			return;
		}
	} else if (head - c->zone_base < c->zone_bytes) {
		struct slab *s = &c->zone_slabs[(head - c->zone_base) >> PAGE_SHIFT];
		if (likely(s->cache == c && boundary &&
			   atomic_load_explicit(&s->owner, memory_order_relaxed) == idx &&
			   obj != s->freelist && s->inuse)) {
			slab_set_fp(c, obj, s->freelist);
			s->freelist = obj;
			s->inuse--;
			if (unlikely(s->list == SLAB_LIST_CPU_FULL))
				slab_held_unfull(c, cpu, s);
			return;
		}
	}
	if (obj == cpu->freelist) {
		slab_report_object(c, cpu->slab, obj, "Object already free");
		c->bad_frees++;
		return;
	}
	slab_free_slow(c, obj, idx);
}

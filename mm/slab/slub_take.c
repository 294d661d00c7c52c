/*
 * SLUB's per-thread freelist path behind the sheaves (slub_sheaf.c refills
 * from it; the shared slot uses it directly): pop the cpu freelist, and the
 * slow path behind it (remote frees into the cpu slab, the thread's held
 * slabs, the node partial list, a new slab).
 */
#include <errno.h>
#include "slab_internal.h"


static void *slab_alloc_slow(struct slab_cache *c, int idx)
{
	struct slab_cpu *cpu = &c->cpu[idx];
	slab_cpu_count(&cpu->alloc_slow);
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

/*
 * One object from the thread's cpu freelist (SLUB's per-thread path), or
 * from the slow path behind it. A use-after-free write into a free object
 * shows up as a next pointer outside the cpu slab: that object is handed
 * out, the rest of the chain dropped rather than followed.
 */
void *slub_take(struct slab_cache *c, int idx)
{
	struct slab_cpu *cpu = &c->cpu[idx];
	void *obj = cpu->freelist;
	if (likely(obj)) {
		void *next = slab_get_fp(c, obj);
		if (likely(((uintptr_t)next & c->slab_mask) == cpu->slab_base || !next)) {
			cpu->freelist = next;
			/* As SLUB's prefetch_freepointer: the next pop reads
			 * there, and a chain of cold objects would otherwise
			 * cost one cache miss after another. In integers:
			 * when the list has just emptied, NEXT is NULL, and
			 * NULL plus an offset is undefined in C (a prefetch of
			 * a bad address itself is harmless). */
			__builtin_prefetch((const void *)((uintptr_t)next + c->offset));
			return obj;
		}
		slab_report_object(c, cpu->slab, obj, "Freepointer corrupt; rest of freelist leaked");
		cpu->freelist = NULL;
		c->bad_frees++;
		return obj;
	}
	return slab_alloc_slow(c, idx);
}

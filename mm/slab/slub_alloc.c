/*
 * SLUB allocation: the per-thread fast path (pop the cpu freelist) and the
 * slow path behind it (remote frees into the cpu slab, the thread's held
 * slabs, the node partial list, a new slab). slab_alloc is every policy's
 * entry: debug caches go to slab_debug.c, other policies' caches (which
 * never have a cpu freelist) to their policy.
 */
#include <errno.h>
#include "slab_internal.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

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
	if (c->policy->alloc)   /* another policy's cache */
		return c->policy->alloc(c, caller);
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
				 * cost one cache miss after another. In integers:
				 * when the list has just emptied, NEXT is NULL, and
				 * NULL plus an offset is undefined in C (a prefetch
				 * of a bad address itself is harmless). */
				__builtin_prefetch((const void *)((uintptr_t)next + c->offset));
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

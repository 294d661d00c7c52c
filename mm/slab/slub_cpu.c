/*
 * What a thread holds of a cache: its cpu slab (frozen, as in SLUB: the free
 * objects live in the slot's freelist) and its lists of slabs it used up or
 * freed into, which it keeps so that batches take no lock; and how those go
 * back to the node lists when the lists grow too long, when the cpu slab is
 * deactivated, or when the thread's slot is flushed (at thread exit, through
 * the per-thread drain, and as a cache shrinks or goes away).
 */
#include "slab_internal.h"

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
	slab_cpu_set_slab(cpu, NULL);
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
	slab_cpu_set_slab(cpu, NULL);
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

/* Makes s (held by this thread, not on any node list) the cpu slab. */
void slab_install_cpu(struct slab_cache *c, struct slab_cpu *cpu, struct slab *s)
{
	void *list = s->freelist;
	slab_take_remote(c, s, &list);
	s->freelist = NULL;
	s->inuse = s->objects;
	s->list = SLAB_LIST_CPU;
	cpu->freelist = list;
	slab_cpu_set_slab(cpu, s);
	cpu->slab_base = slab_base(c, s);
}

/*
 * What slabinfo shows: the numbers of one cache (counted as Linux counts
 * them) and the /proc/slabinfo version 2.1 text for an arena's caches.
 * Merged caches appear once, under the first cache's name, as in Linux.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "slab_internal.h"
#include "textbuf.h"

static unsigned long slab_count_free(struct slab_cache *c, struct slab *first)
{
	unsigned long n = 0;
	for (struct slab *s = first; s; s = s->next)
		n += (unsigned long)(s->objects - s->inuse);
	(void)c;
	return n;
}

/* Linux's numbers: objects on cpu slabs count as active; only the free
 * objects of the node partial lists are subtracted. */
void slab_cache_get_info(struct slab_cache *c, struct slab_cache_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", c->name);
	pthread_mutex_lock(&c->node_lock);
	unsigned long nr_free = slab_count_free(c, c->partial.first);
	info->num_slabs = c->nr_slabs;
	info->partial_slabs = c->partial.nr;
	info->slabs_allocated = c->slabs_allocated;
	info->slabs_freed = c->slabs_freed;
	info->bad_frees = c->bad_frees;
	info->nr_aliases = c->nr_aliases;
	memcpy(info->aliases, c->aliases, sizeof(info->aliases));
	pthread_mutex_unlock(&c->node_lock);
	info->num_objs = info->num_slabs * c->objects;
	info->active_objs = info->num_objs - nr_free;
	info->active_slabs = info->num_slabs;
	info->objsize = c->stride;
	info->size = c->object_size;
	info->objperslab = c->objects;
	info->pagesperslab = 1u << c->order;
	info->min_partial = c->min_partial;
	info->flags = c->debug;
	for (int i = 0; i <= MM_MAX_THREADS; i++) {
		struct slab_cpu *cpu = &c->cpu[i];
		/* Other threads' counters are read without their cooperation:
		 * monotonic, so a slightly stale sum is all that can happen. */
		info->alloc_slow += __atomic_load_n(&cpu->alloc_slow, __ATOMIC_RELAXED);
		info->free_slow += __atomic_load_n(&cpu->free_slow, __ATOMIC_RELAXED);
		if (__atomic_load_n(&cpu->slab, __ATOMIC_RELAXED))
			info->cpu_slabs++;
	}
	info->free_remote = atomic_load(&c->remote_frees);
}

static void slabinfo_row(struct slab_cache *c, void *arg)
{
	struct textbuf *tb = arg;
	struct slab_cache_info i;
	slab_cache_get_info(c, &i);
	/* SLUB has no tunables: Linux prints zeros, and so do we. */
	textbuf_printf(tb, "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\n",
		       i.name, i.active_objs, i.num_objs, i.objsize, i.objperslab,
		       (int)i.pagesperslab, 0u, 0u, 0u, i.active_slabs, i.num_slabs, 0ul);
}

size_t slab_format_slabinfo(struct mm_arena *a, char *buf, size_t len)
{
	struct textbuf tb = TEXTBUF_INIT(buf, len);
	textbuf_printf(&tb, "slabinfo - version: 2.1\n"
		       "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
		       " : tunables <limit> <batchcount> <sharedfactor>"
		       " : slabdata <active_slabs> <num_slabs> <sharedavail>\n");
	slab_for_each_cache(a, slabinfo_row, &tb);
	return tb.needed;
}

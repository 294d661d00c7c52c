/*
 * What slabinfo shows: the numbers of one cache (the policy counts them;
 * the names and flags are the common front's) and the /proc/slabinfo
 * version 2.1 text for an arena's caches. Merged caches appear once, under
 * the first cache's name, as in Linux.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "slab_internal.h"
#include "mm/textbuf.h"

void slab_cache_get_info(struct slab_cache *c, struct slab_cache_info *info)
{
	memset(info, 0, sizeof(*info));
	c->policy->get_info(c, info);
	snprintf(info->name, sizeof(info->name), "%s", c->name);
	info->policy = c->policy->name;
	info->flags = c->debug;
	pthread_mutex_lock(&c->node_lock);
	info->nr_aliases = c->nr_aliases;
	memcpy(info->aliases, c->aliases, sizeof(info->aliases));
	pthread_mutex_unlock(&c->node_lock);
}

static void slab_add_frames(struct slab_cache *c, void *arg)
{
	struct slab_cache_info i;
	slab_cache_get_info(c, &i);
	*(size_t *)arg += i.num_slabs * i.pagesperslab;
}

size_t slab_frames_held(struct mm_arena *a)
{
	size_t frames = 0;
	struct slob_arena_stats st;
	slab_for_each_cache(a, slab_add_frames, &frames);
	if (slob_arena_stats(a, &st) == 0)
		frames += st.pages_held;
	return frames;
}

static void slabinfo_row(struct slab_cache *c, void *arg)
{
	struct textbuf *tb = arg;
	struct slab_cache_info i;
	slab_cache_get_info(c, &i);
	/* SLUB and SLOB have no tunables: Linux prints zeros, and so do we. */
	textbuf_printf(tb, "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\n",
		       i.name, i.active_objs, i.num_objs, i.objsize, i.objperslab,
		       (int)i.pagesperslab, i.tunables.limit, i.tunables.batchcount,
		       i.tunables.sharedfactor, i.active_slabs, i.num_slabs, i.sharedavail);
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

/*
 * /proc/slabinfo version 2.1 text for an arena's caches. Merged caches
 * appear once, under the first cache's name, as in Linux.
 */
#include <stdarg.h>
#include <stdio.h>
#include "slab_internal.h"
#include "textbuf.h"

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

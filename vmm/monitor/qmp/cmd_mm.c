/*
 * The allocators' state as structured JSON: x-query-buddyinfo,
 * x-query-slabinfo and x-query-frames. The numbers are the ones mm/'s text
 * formatters print, read through the same calls (so the text and the JSON
 * of a quiet arena agree); the shapes are in README "The monitor".
 */
#include <errno.h>
#include "mm/slab.h"
#include "vmm/monitor/qmp/internal.h"

static json_t *mm_counts(const uint64_t *v, unsigned n)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_integer((json_int_t)v[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Appends o to array a; false (and o dropped) when o is NULL or jansson
 * fails, which can only mean no memory. */
static bool mm_append(json_t *a, json_t *o)
{
	return o && json_array_append_new(a, o) == 0;
}

static json_t *mm_buddy_zone(struct mm_zone *z)
{
	uint64_t per_order[MM_MAX_ORDER_LIMIT + 1];
	uint64_t per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1];
	uint64_t blocks[MT_NR_TYPES];
	unsigned n = z->buddy.max_order + 1;

	buddy_free_blocks(&z->buddy, per_order, per_type);
	buddy_pageblock_counts(&z->buddy, blocks);
	return json_pack("{s:s,s:o,s:{s:o,s:o},s:{s:I,s:I}}", "name", z->buddy.name,
			 "free", mm_counts(per_order, n),
			 "free-by-type", migratetype_name(MT_UNMOVABLE), mm_counts(per_type[MT_UNMOVABLE], n),
			 migratetype_name(MT_MOVABLE), mm_counts(per_type[MT_MOVABLE], n),
			 "pageblocks", migratetype_name(MT_UNMOVABLE), (json_int_t)blocks[MT_UNMOVABLE],
			 migratetype_name(MT_MOVABLE), (json_int_t)blocks[MT_MOVABLE]);
}

json_t *qmp_cmd_buddyinfo(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	struct mm_arena *a = t->arena(t->ctx);
	json_t *zones = json_array();

	(void)args, (void)err;
	for (int id = 0; zones && id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (z && !mm_append(zones, mm_buddy_zone(z))) {
			json_decref(zones);
			return NULL;
		}
	}
	return zones ? json_pack("{s:o}", "zones", zones) : NULL;
}

struct mm_slab_walk {
	json_t *caches;
	bool failed;
};

static void mm_slab_debug(unsigned flags, char out[5])
{
	static const struct { unsigned flag; char letter; } letters[] = {
		{ SLAB_F_CONSISTENCY, 'F' }, { SLAB_F_REDZONE, 'Z' },
		{ SLAB_F_POISON, 'P' }, { SLAB_F_TRACK, 'U' },
	};
	int n = 0;

	for (unsigned i = 0; i < sizeof(letters) / sizeof(letters[0]); i++) {
		if (flags & letters[i].flag)
			out[n++] = letters[i].letter;
	}
	out[n] = '\0';
}

/* Called under the arena's cache list lock: only builds JSON (malloc),
 * never allocates from the arena. */
static void mm_slab_cache(struct slab_cache *c, void *arg)
{
	struct mm_slab_walk *w = arg;
	struct slab_cache_info i;
	char debug[5];

	if (w->failed)
		return;
	slab_cache_get_info(c, &i);
	mm_slab_debug(i.flags, debug);
	json_t *aliases = json_array();
	for (unsigned k = 0; aliases && k < i.nr_aliases && k < SLAB_MAX_ALIASES; k++) {
		if (!mm_append(aliases, json_string(i.aliases[k]))) {
			json_decref(aliases);
			aliases = NULL;
		}
	}
	json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:s,s:I,s:I,s:I}",
			      "name", i.name, "active-objs", (json_int_t)i.active_objs,
			      "num-objs", (json_int_t)i.num_objs, "objsize", (json_int_t)i.objsize,
			      "objperslab", (json_int_t)i.objperslab,
			      "pagesperslab", (json_int_t)i.pagesperslab,
			      "active-slabs", (json_int_t)i.active_slabs,
			      "num-slabs", (json_int_t)i.num_slabs, "aliases", aliases,
			      "debug", debug, "alloc-slow", (json_int_t)i.alloc_slow,
			      "free-slow", (json_int_t)i.free_slow,
			      "free-remote", (json_int_t)i.free_remote);
	if (!mm_append(w->caches, o))
		w->failed = true;
}

json_t *qmp_cmd_slabinfo(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	struct mm_slab_walk w = { .caches = json_array() };

	(void)args, (void)err;
	if (!w.caches)
		return NULL;
	slab_for_each_cache(t->arena(t->ctx), mm_slab_cache, &w);
	if (w.failed) {
		json_decref(w.caches);
		return NULL;
	}
	return json_pack("{s:o}", "caches", w.caches);
}

json_t *qmp_cmd_frames(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	struct mm_arena *a = t->arena(t->ctx);
	json_t *zones = json_array();

	(void)args, (void)err;
	/* As mm_format_frames: one walk per zone, with its verdict. */
	for (int id = 0; zones && id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (!z)
			continue;
		uint64_t c[FRAME_NR_OWNER_STATES];
		int rc = mm_zone_check_frames(z, c);
		json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b}", "name", z->buddy.name,
				      "backing", mm_zone_backing(z), "frames", (json_int_t)z->buddy.nr_frames,
				      "free", (json_int_t)c[FRAME_FREE], "vmm", (json_int_t)c[FRAME_VMM],
				      "guest", (json_int_t)c[FRAME_GUEST],
				      "ballooned", (json_int_t)c[FRAME_BALLOONED],
				      "pcp", (json_int_t)__atomic_load_n(&z->buddy.nr_pcp_pages,
									  __ATOMIC_RELAXED),
				      "consistent", rc == 0, "busy", rc == -EBUSY);
		if (!mm_append(zones, o)) {
			json_decref(zones);
			return NULL;
		}
	}
	return zones ? json_pack("{s:o}", "zones", zones) : NULL;
}

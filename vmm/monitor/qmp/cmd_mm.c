/*
 * The allocators' state as structured JSON: x-query-buddyinfo and
 * x-query-frames (the slab's is cmd_slab.c's). The numbers are the ones mm/'s text
 * formatters print, read through the same calls (so the text and the JSON
 * of a quiet arena agree); the shapes are in README "The monitor".
 */
#include <errno.h>
#include "vmm/memory/balloon_report.h"
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

json_t *qmp_cmd_frames(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	struct mm_arena *a = t->arena(t->ctx);
	struct guest_mem *gm = t->guest_mem(t->ctx);
	struct balloon_report_stats rs = { 0 };
	json_t *zones = json_array();

	(void)args, (void)err;
	/* Reported frames are guest frames (counted in "guest") with no host
	 * memory behind them; the p2m knows which. */
	if (gm)
		balloon_report_stats(gm, &rs);
	/* As mm_format_frames: one walk per zone, with its verdict. */
	for (int id = 0; zones && id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (!z)
			continue;
		uint64_t c[FRAME_NR_OWNER_STATES];
		int rc = mm_zone_check_frames(z, c);
		json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b}", "name", z->buddy.name,
				      "backing", mm_zone_backing(z), "frames", (json_int_t)z->buddy.nr_frames,
				      "free", (json_int_t)c[FRAME_FREE], "vmm", (json_int_t)c[FRAME_VMM],
				      "guest", (json_int_t)c[FRAME_GUEST],
				      "ballooned", (json_int_t)c[FRAME_BALLOONED],
				      "reported", (json_int_t)rs.reported_frames[id],
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

/*
 * QMP x-query-pageblocks: per zone, every pageblock's migrate type and
 * frame states, for pictures of fragmentation (memvisorctl frames --svg).
 * Each pageblock is a compact array, [type, free, vmm, guest, ballooned,
 * leaf-2m], so a zone of many GiB stays one reply of moderate size; the
 * order of the fields is in the reply's "fields". leaf-2m: one guest block
 * covers the pageblock and the guest's p2m maps it with a 2 MiB leaf.
 */
#include "mm/kmalloc.h"
#include "mm/pageblock_usage.h"
#include "vmm/monitor/qmp/internal.h"

/* One lookup per pageblock that one guest block covers. */
static bool pageblock_leaf_2m(struct guest_mem *gm, struct mm_zone *z, uint32_t pb,
			      const struct mm_pageblock_usage *u)
{
	struct p2m_leaf leaf;

	if (!gm || u->guest_gfn == UINT32_MAX)
		return false;
	return p2m_lookup(guest_mem_p2m(gm), u->guest_gfn, &leaf) == 0 &&
	       leaf.order == P2M_ORDER_2M && leaf.zone == z->id &&
	       leaf.hfn == z->base_hfn + ((uint64_t)pb << PAGEBLOCK_ORDER);
}

static json_t *pageblocks_zone(struct qmp_session *s, struct mm_zone *z, struct guest_mem *gm)
{
	uint32_t n = z->buddy.nr_pageblocks;
	struct mm_pageblock_usage *u = kvmalloc(s->arena, (size_t)n * sizeof(*u) + 1);
	json_t *blocks = json_array();

	if (!u || !blocks)
		goto fail;
	mm_zone_pageblock_usage(z, u);
	for (uint32_t i = 0; i < n; i++) {
		json_t *b = json_pack("[s,I,I,I,I,b]", migratetype_name(u[i].migratetype),
				      (json_int_t)u[i].count[FRAME_FREE], (json_int_t)u[i].count[FRAME_VMM],
				      (json_int_t)u[i].count[FRAME_GUEST],
				      (json_int_t)u[i].count[FRAME_BALLOONED],
				      pageblock_leaf_2m(gm, z, i, &u[i]));
		if (!b || json_array_append_new(blocks, b))
			goto fail;
	}
	kvfree(s->arena, u);
	return json_pack("{s:s,s:I,s:I,s:o}", "name", z->buddy.name,
			 "frames", (json_int_t)z->buddy.nr_frames,
			 "pageblock-frames", (json_int_t)PAGEBLOCK_FRAMES, "pageblocks", blocks);
fail:
	if (u)
		kvfree(s->arena, u);
	json_decref(blocks);
	return NULL;
}

json_t *qmp_cmd_pageblocks(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	struct mm_arena *a = t->arena(t->ctx);
	struct guest_mem *gm = t->guest_mem ? t->guest_mem(t->ctx) : NULL;
	json_t *zones = json_array();

	(void)args, (void)err;
	for (int id = 0; zones && id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		json_t *o = z ? pageblocks_zone(s, z, gm) : NULL;
		if (z && (!o || json_array_append_new(zones, o))) {
			json_decref(zones);
			return NULL;
		}
	}
	if (!zones)
		return NULL;
	return json_pack("{s:[s,s,s,s,s,s],s:o}", "fields", "type", "free", "vmm", "guest",
			 "ballooned", "leaf-2m", "zones", zones);
}

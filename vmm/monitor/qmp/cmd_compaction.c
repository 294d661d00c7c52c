/*
 * Compaction and fragmentation over QMP: x-query-compaction (the kernel's
 * compact_* counters, per zone) and x-query-extfrag (the kernel's two
 * fragmentation indexes per zone and order, x1000 as integers). The numbers
 * are the ones `info compaction`, `info extfrag` and `info unusable` print.
 */
#include "mm/compaction.h"
#include "mm/extfrag.h"
#include "vmm/monitor/qmp/internal.h"

static json_t *compaction_zone(struct mm_zone *z)
{
	struct mm_compact_counters c;

	mm_compact_counters(z, &c);
	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name", z->buddy.name,
			 "migrate-scanned", (json_int_t)c.migrate_scanned,
			 "free-scanned", (json_int_t)c.free_scanned,
			 "isolated", (json_int_t)c.isolated, "moved", (json_int_t)c.moved,
			 "failed", (json_int_t)c.failed, "stalls", (json_int_t)c.stalls,
			 "success", (json_int_t)c.success, "runs", (json_int_t)c.runs,
			 "ns", (json_int_t)c.ns);
}

/* index(z, order) for every order of the zone, as an array. */
static json_t *extfrag_orders(struct mm_zone *z, int (*index)(struct mm_zone *, unsigned))
{
	json_t *a = json_array();

	for (unsigned o = 0; a && o <= z->buddy.max_order; o++) {
		if (json_array_append_new(a, json_integer(index(z, o)))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *extfrag_zone(struct mm_zone *z)
{
	json_t *e = extfrag_orders(z, mm_zone_extfrag_index);
	json_t *u = extfrag_orders(z, mm_zone_unusable_index);

	if (!e || !u) {
		json_decref(e);
		json_decref(u);
		return NULL;
	}
	return json_pack("{s:s,s:o,s:o}", "name", z->buddy.name, "extfrag-index", e,
			 "unusable-index", u);
}

/* {"zones": [zone_fn(z) for each present zone]} */
static json_t *per_zone(struct qmp_session *s, json_t *(*zone_fn)(struct mm_zone *))
{
	const struct vm_control *t = s->env->target;
	struct mm_arena *a = t->arena(t->ctx);
	json_t *zones = json_array();

	for (int id = 0; zones && id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		json_t *o = z ? zone_fn(z) : NULL;
		if (z && (!o || json_array_append_new(zones, o))) {
			json_decref(zones);
			return NULL;
		}
	}
	return zones ? json_pack("{s:o}", "zones", zones) : NULL;
}

json_t *qmp_cmd_compaction(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	(void)args, (void)err;
	return per_zone(s, compaction_zone);
}

json_t *qmp_cmd_extfrag(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	(void)args, (void)err;
	return per_zone(s, extfrag_zone);
}

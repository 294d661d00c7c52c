/*
 * Compaction and fragmentation over QMP: x-compact (one compaction of zone
 * Normal with the vCPUs paused, and what it did), x-query-compaction (the kernel's
 * compact_* counters, per zone, and proactive compaction's) and x-query-extfrag (the kernel's two
 * fragmentation indexes per zone and order, x1000 as integers). The numbers
 * are the ones `info compaction`, `info extfrag` and `info unusable` print.
 */
#include <errno.h>
#include <string.h>
#include "mm/compaction.h"
#include "mm/extfrag.h"
#include "vmm/core/vm_compact.h"
#include "vmm/core/vm_proactive.h"
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

void qmp_proactive_stats(const struct vm_control *t, struct vm_proactive_stats *out)
{
	if (t->proactive)
		t->proactive(t->ctx, out);
	else
		vm_proactive_get_stats(NULL, out);
}

/* The background thread's counters (--compaction-proactiveness); all zero
 * and "off" when it is not running. */
static json_t *compaction_proactive(const struct vm_control *t)
{
	struct vm_proactive_stats p;

	qmp_proactive_stats(t, &p);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
			 "proactiveness", (json_int_t)p.proactiveness, "wakes", (json_int_t)p.wakes,
			 "runs", (json_int_t)p.runs, "ns", (json_int_t)p.ns,
			 "moved", (json_int_t)p.moved, "promoted-ranges", (json_int_t)p.promoted_ranges,
			 "failed", (json_int_t)p.failed, "migrate-scanned", (json_int_t)p.migrate_scanned,
			 "free-scanned", (json_int_t)p.free_scanned, "deferred", (json_int_t)p.deferred,
			 "score", (json_int_t)p.score, "last", vm_proactive_verdict_name(p.last));
}

json_t *qmp_cmd_compaction(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	json_t *r = per_zone(s, compaction_zone);

	(void)args, (void)err;
	if (r && json_object_set_new(r, "proactive", compaction_proactive(s->env->target))) {
		json_decref(r);
		return NULL;
	}
	return r;
}

json_t *qmp_cmd_extfrag(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	(void)args, (void)err;
	return per_zone(s, extfrag_zone);
}

const struct qmp_param qmp_compact_params[] = {
	{ "zone", JSON_STRING, true },
	{ "order", QMP_PARAM_ANY, true },
	{ "budget-ms", JSON_INTEGER, true },
	{ NULL, 0, false },
};

/* "order": an integer 0..max_order or "full" (the default). */
static bool compact_order_arg(json_t *v, unsigned max_order, int *order)
{
	if (!v || (json_is_string(v) && !strcmp(json_string_value(v), "full"))) {
		*order = MM_COMPACT_FULL;
		return true;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)max_order)
		return false;
	*order = (int)json_integer_value(v);
	return true;
}

static json_t *compact_reply(const struct vm_compact_result *r)
{
	const struct guest_compact_result *g = &r->gc;

	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:b}",
			 "zone", "Normal", "moved", (json_int_t)g->moved,
			 "failed", (json_int_t)g->failed,
			 "hash-mismatches", (json_int_t)g->hash_mismatches,
			 "stale", (json_int_t)g->stale, "split-blocks", (json_int_t)g->split_blocks,
			 "promoted-ranges", (json_int_t)g->promoted_ranges,
			 "steered-ranges", (json_int_t)g->steered_ranges,
			 "bytes-copied", (json_int_t)g->bytes_copied,
			 "migrate-scanned", (json_int_t)g->migrate_scanned,
			 "free-scanned", (json_int_t)g->free_scanned, "passes", (json_int_t)g->passes,
			 "ns", (json_int_t)g->ns, "pause-ns", (json_int_t)r->pause_ns,
			 "stop", mm_compact_stop_name(g->stop), "target-reached", g->target_reached);
}

json_t *qmp_cmd_compact(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	struct mm_zone *z = mm_zone_get(t->arena(t->ctx), ZONE_NORMAL);
	json_t *zone = json_object_get(args, "zone"), *budget = json_object_get(args, "budget-ms");
	int order;

	/* Zone Huge holds whole 2 MiB pages: nothing there to compact. */
	if (zone && strcmp(json_string_value(zone), "Normal"))
		return qmp_fail(err, "GenericError", "Parameter 'zone' expects 'Normal' (zone %s "
				"cannot be compacted)", json_string_value(zone));
	if (!z)
		return qmp_fail(err, "GenericError", "There is no zone Normal");
	if (!compact_order_arg(json_object_get(args, "order"), z->buddy.max_order, &order))
		return qmp_fail(err, "GenericError", "Parameter 'order' expects an integer from 0 "
				"to %u or 'full'", z->buddy.max_order);
	if (budget && (json_integer_value(budget) < 0 ||
		       json_integer_value(budget) > (json_int_t)(UINT64_MAX / 1000000)))
		return qmp_fail(err, "GenericError", "Parameter 'budget-ms' expects a time in "
				"milliseconds, 0 or more");
	uint64_t budget_ns = budget ? (uint64_t)json_integer_value(budget) * 1000000
				    : MM_COMPACT_NO_BUDGET;
	struct vm_compact_result r;
	int rc = vm_control_compact(t, order, budget_ns, &r);
	if (rc == -ESHUTDOWN)
		return qmp_fail(err, "GenericError", "The guest has shut down");
	if (rc == -EBUSY)
		return qmp_fail(err, "GenericError", "Compaction is already running on zone Normal");
	if (rc)
		return qmp_fail(err, "GenericError", "Cannot compact zone Normal: %s", strerror(-rc));
	return compact_reply(&r);
}

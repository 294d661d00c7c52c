/*
 * Guest memory as structured JSON: x-query-regions (each RAM region and
 * how it is backed) and x-query-p2m (leaf counts per region, or the walk of
 * one GPA). Shapes in README "The monitor". Host addresses are never shown:
 * frame numbers say as much without giving away the VMM's layout.
 */
#include "vmm/monitor/qmp/internal.h"

json_t *qmp_cmd_regions(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	struct guest_mem *gm = t->guest_mem(t->ctx);
	json_t *regions = json_array();

	(void)args, (void)err;
	for (unsigned i = 0; regions && i < guest_mem_nr_regions(gm); i++) {
		struct guest_mem_region r;
		if (guest_mem_region(gm, i, &r))
			continue;
		json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:I}", "gpa", (json_int_t)r.gpa,
				      "size", (json_int_t)r.size,
				      "kind", r.contiguous ? "contiguous" : "scattered",
				      "zone", mm_zone_name(r.zone), "backing", r.backing,
				      "mappings", (json_int_t)r.nr_mappings);
		if (!o || json_array_append_new(regions, o)) {
			json_decref(regions);
			return NULL;
		}
	}
	return regions ? json_pack("{s:o}", "regions", regions) : NULL;
}

static json_t *p2m_summary(struct guest_mem *gm)
{
	struct p2m *p = guest_mem_p2m(gm);
	json_t *regions = json_array();

	for (unsigned i = 0; regions && i < guest_mem_nr_regions(gm); i++) {
		struct guest_mem_region r;
		struct p2m_counts c;
		if (guest_mem_region(gm, i, &r) ||
		    p2m_count_leaves(p, r.gpa >> PAGE_SHIFT, r.size >> PAGE_SHIFT, &c))
			continue;
		json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "gpa", (json_int_t)r.gpa,
				      "size", (json_int_t)r.size, "leaves-4k", (json_int_t)c.leaves_4k,
				      "leaves-2m", (json_int_t)c.leaves_2m,
				      "punched", (json_int_t)c.punched, "ballooned", (json_int_t)c.ballooned);
		if (!o || json_array_append_new(regions, o)) {
			json_decref(regions);
			return NULL;
		}
	}
	if (!regions)
		return NULL;
	return json_pack("{s:o,s:I}", "regions", regions, "table-pages",
			 (json_int_t)p2m_table_pages(p));
}

static const char *p2m_access(uint64_t entry)
{
	static const char *const names[8] = { "---", "r--", "-w-", "rw-", "--x", "r-x", "-wx", "rwx" };

	return names[entry & EPT_RWX];
}

/* What the walk's last step maps, decoded from that one entry, so the leaf
 * always agrees with the walk (a separate lookup could see a remap in
 * between). JSON null when it maps nothing. */
static json_t *p2m_leaf(const struct p2m_walk_step *last, uint64_t gfn)
{
	struct p2m_leaf l;

	if (!p2m_step_leaf(last, gfn, &l))
		return json_null();
	return json_pack("{s:I,s:I,s:s,s:s,s:b,s:b}", "hfn", (json_int_t)l.hfn,
			 "size", (json_int_t)(PAGE_SIZE << l.order), "zone", mm_zone_name(l.zone),
			 "access", p2m_access(l.access), "punched", (l.state & P2M_ST_PUNCHED) != 0,
			 "ballooned", (l.state & P2M_ST_BALLOONED) != 0);
}

static json_t *p2m_walk_gpa(struct guest_mem *gm, json_int_t gpa, struct qmp_error *err)
{
	struct p2m_walk_step steps[P2M_LEVELS];

	if (gpa < 0 || (uint64_t)gpa >> PAGE_SHIFT >= P2M_GFN_LIMIT)
		return qmp_fail(err, "GenericError",
				"Parameter 'gpa' must be from 0 to 0x%llx",
				(unsigned long long)(P2M_GFN_LIMIT << PAGE_SHIFT) - 1);
	uint64_t gfn = (uint64_t)gpa >> PAGE_SHIFT;
	int n = p2m_walk(guest_mem_p2m(gm), gfn, steps);
	if (n <= 0)
		return qmp_fail(err, "GenericError", "Walking GPA 0x%llx failed",
				(unsigned long long)gpa);
	json_t *walk = json_array();
	for (int i = 0; walk && i < n; i++) {
		json_t *o = json_pack("{s:i,s:I,s:i,s:I}", "level", (int)steps[i].level,
				      "table-hfn", (json_int_t)steps[i].table_hfn,
				      "index", (int)steps[i].index, "entry", (json_int_t)steps[i].entry);
		if (!o || json_array_append_new(walk, o)) {
			json_decref(walk);
			return NULL;
		}
	}
	if (!walk)
		return NULL;
	return json_pack("{s:I,s:o,s:o}", "gpa", gpa, "walk", walk, "leaf",
			 p2m_leaf(&steps[n - 1], gfn));
}

json_t *qmp_cmd_p2m(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	json_t *gpa = json_object_get(args, "gpa");

	if (gpa)
		return p2m_walk_gpa(t->guest_mem(t->ctx), json_integer_value(gpa), err);
	return p2m_summary(t->guest_mem(t->ctx));
}

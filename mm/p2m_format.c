/*
 * The p2m as text, for the monitor's "info p2m" and the tests: leaves that
 * continue each other (same size, next GFN backed by the next HFN, same
 * zone, access and state) are summed into one line, so a contiguous region
 * reads as one line and a scattered one shows where it breaks, then a total
 * line like the summaries of /proc/PID/smaps_rollup.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include "p2m.h"
#include "textbuf.h"

void p2m_size_str(uint64_t bytes, char out[24])
{
	static const char units[] = { 'G', 'M', 'K' };

	for (int i = 0; i < 3; i++) {
		unsigned shift = 30 - 10 * (unsigned)i;
		if (bytes && !(bytes & ((1ULL << shift) - 1))) {
			snprintf(out, 24, "%" PRIu64 "%c", bytes >> shift, units[i]);
			return;
		}
	}
	snprintf(out, 24, "%" PRIu64, bytes);
}

struct p2m_run {
	bool open;
	uint64_t gfn, hfn, frames, leaves;
	unsigned order;
	enum mm_zone_id zone;
	uint64_t access, state;
};

struct p2m_fmt {
	struct textbuf tb;
	struct mm_arena *arena;
	struct p2m_run run;
	uint64_t leaves_2m, leaves_4k, punched, ballooned;
};

/* The zone's name if the arena has it (a leaf names a zone of its own). */
static const char *p2m_zone_name(struct mm_arena *a, enum mm_zone_id id)
{
	return (unsigned)id < MM_NR_ZONES && mm_zone_get(a, id) ? mm_zone_name(id) : "?";
}

static void p2m_run_print(struct p2m_fmt *f)
{
	const struct p2m_run *r = &f->run;
	char size[24], hfns[48];

	if (!r->open)
		return;
	p2m_size_str(r->frames << PAGE_SHIFT, size);
	if (r->frames == 1)
		snprintf(hfns, sizeof(hfns), "0x%" PRIx64, r->hfn);
	else
		snprintf(hfns, sizeof(hfns), "0x%" PRIx64 "-0x%" PRIx64, r->hfn,
			 r->hfn + r->frames - 1);
	textbuf_printf(&f->tb, "0x%016" PRIx64 "-0x%016" PRIx64 " %6s  %s x%-6" PRIu64
		       " hfn %-21s %-6s %c%c%c%s%s%s\n",
		       r->gfn << PAGE_SHIFT, ((r->gfn + r->frames) << PAGE_SHIFT) - 1, size,
		       r->order == P2M_ORDER_2M ? "2M" : "4K", r->leaves, hfns,
		       p2m_zone_name(f->arena, r->zone),
		       r->access & EPT_R ? 'r' : '-', r->access & EPT_W ? 'w' : '-',
		       r->access & EPT_X ? 'x' : '-',
		       r->state & P2M_ST_PUNCHED ? " punched" : "",
		       r->state & P2M_ST_BALLOONED ? " ballooned" : "",
		       r->state & P2M_ST_REPORTED ? " reported" : "");
}

static void p2m_fmt_leaf(uint64_t g, const struct p2m_leaf *leaf, void *arg)
{
	struct p2m_fmt *f = arg;
	struct p2m_run *r = &f->run;
	uint64_t n = 1ULL << leaf->order;

	if (leaf->order == P2M_ORDER_2M)
		f->leaves_2m++;
	else
		f->leaves_4k++;
	f->punched += !!(leaf->state & P2M_ST_PUNCHED);
	f->ballooned += !!(leaf->state & P2M_ST_BALLOONED);
	if (r->open && r->order == leaf->order && r->gfn + r->frames == g &&
	    r->hfn + r->frames == leaf->hfn && r->zone == leaf->zone &&
	    r->access == leaf->access && r->state == leaf->state) {
		r->frames += n;
		r->leaves++;
		return;
	}
	p2m_run_print(f);
	*r = (struct p2m_run){ .open = true, .gfn = g, .hfn = leaf->hfn, .frames = n, .leaves = 1,
			       .order = leaf->order, .zone = leaf->zone, .access = leaf->access,
			       .state = leaf->state };
}

static size_t p2m_format_into(struct p2m *p, uint64_t gfn, uint64_t nr, struct textbuf *tb,
			      bool tables)
{
	struct p2m_fmt f = { .tb = *tb, .arena = NULL };
	char s2m[24], s4k[24], all[24], st[24];

	f.arena = p2m_arena(p);
	p2m_for_each_leaf(p, gfn, nr, p2m_fmt_leaf, &f);
	p2m_run_print(&f);
	p2m_size_str(f.leaves_2m << (PAGE_SHIFT + P2M_ORDER_2M), s2m);
	p2m_size_str(f.leaves_4k << PAGE_SHIFT, s4k);
	p2m_size_str((f.leaves_2m << (PAGE_SHIFT + P2M_ORDER_2M)) + (f.leaves_4k << PAGE_SHIFT), all);
	textbuf_printf(&f.tb, "total: 2M leaves %" PRIu64 " (%s), 4K leaves %" PRIu64
		       " (%s), mapped %s, punched %" PRIu64 ", ballooned %" PRIu64 "\n",
		       f.leaves_2m, s2m, f.leaves_4k, s4k, all, f.punched, f.ballooned);
	if (tables) {
		uint64_t n = p2m_table_pages(p);
		p2m_size_str(n << PAGE_SHIFT, st);
		textbuf_printf(&f.tb, "table pages: %" PRIu64 " (%s)\n", n, st);
	}
	*tb = f.tb;
	return tb->needed;
}

size_t p2m_format_range(struct p2m *p, uint64_t gfn, uint64_t nr, char *buf, size_t len)
{
	struct textbuf tb = textbuf_start(buf, len);

	return p2m_format_into(p, gfn, nr, &tb, false);
}

size_t p2m_format(struct p2m *p, char *buf, size_t len)
{
	struct textbuf tb = textbuf_start(buf, len);

	return p2m_format_into(p, 0, P2M_GFN_LIMIT, &tb, true);
}

/*
 * top's slab panel, in the manner of slabtop: a summary line, then the
 * busiest caches. "Busiest" is by active objects, or by slow-path events
 * (allocations and frees that missed the per-thread fast path, plus frees
 * from other threads): per second since the previous refresh when there
 * is one, in total on the first.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"
#include "top.h"

#define PAGE_SIZE 4096

struct row {
	json_t *cache;
	const char *name;
	uint64_t active, total, size, slabs, perslab, pages, slow;
	double rate;                    /* slow-path events per second; < 0 unknown */
};

static bool by_slow;

static uint64_t field(json_t *c, const char *key)
{
	uint64_t v = 0;
	ctl_json_u64(c, key, &v);
	return v;
}

static uint64_t slow_events(json_t *c)
{
	return field(c, "alloc-slow") + field(c, "free-slow") + field(c, "free-remote");
}

/* The same cache in the previous refresh, found by name. */
static json_t *previous(json_t *prev, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(prev, "caches"), i, c)
		if (!strcmp(ctl_json_str(c, "name"), name))
			return c;
	return NULL;
}

static int compare(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;

	if (by_slow) {
		double ka = a->rate >= 0 ? a->rate : (double)a->slow;
		double kb = b->rate >= 0 ? b->rate : (double)b->slow;
		if (ka != kb)
			return ka < kb ? 1 : -1;
	}
	if (a->active != b->active)
		return a->active < b->active ? 1 : -1;
	return strcmp(a->name, b->name);
}

static void summary(FILE *f, json_t *info, const struct row *rows, size_t n, bool sort_slow)
{
	uint64_t active = 0, total = 0, slabs = 0, bytes = 0;
	size_t used = 0;
	char size[32];

	for (size_t i = 0; i < n; i++) {
		active += rows[i].active;
		total += rows[i].total;
		slabs += rows[i].slabs;
		bytes += rows[i].slabs * rows[i].pages * PAGE_SIZE;
		used += rows[i].active != 0;
	}
	/* Every frame the slab holds, SLOB's shared pages too, when the
	 * monitor says (older ones did not). */
	if (json_is_integer(json_object_get(info, "frames")))
		bytes = (uint64_t)json_integer_value(json_object_get(info, "frames")) * PAGE_SIZE;
	ctl_format_size(size, sizeof(size), bytes);
	const char *policy = ctl_json_str(info, "policy");
	fprintf(f, "Slab caches (%s), busiest by %s\n", policy ? policy : "?",
		sort_slow ? "slow-path events" : "active objects");
	fprintf(f, "  %zu caches (%zu in use)  objects %" PRIu64 " / %" PRIu64 " active (%.1f%%)  %" PRIu64
		   " slabs  %s\n",
		n, used, active, total, total ? 100.0 * (double)active / (double)total : 0.0, slabs, size);
}

void top_panel_slabs(FILE *f, json_t *slabs, json_t *prev, double seconds, bool sort_slow, int cols,
		     int max_rows)
{
	json_t *caches = json_object_get(slabs, "caches"), *c;
	size_t n = json_array_size(caches), i;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));

	if (!rows)
		return;
	json_array_foreach(caches, i, c) {
		struct row *r = &rows[i];
		json_t *p = prev ? previous(prev, ctl_json_str(c, "name")) : NULL;
		*r = (struct row){ .cache = c, .name = ctl_json_str(c, "name"),
				   .active = field(c, "active-objs"), .total = field(c, "num-objs"),
				   .size = field(c, "objsize"), .slabs = field(c, "num-slabs"),
				   .perslab = field(c, "objperslab"), .pages = field(c, "pagesperslab"),
				   .slow = slow_events(c), .rate = -1 };
		if (p && seconds > 0 && r->slow >= slow_events(p))
			r->rate = (double)(r->slow - slow_events(p)) / seconds;
	}
	by_slow = sort_slow;
	qsort(rows, n, sizeof(*rows), compare);
	summary(f, slabs, rows, n, sort_slow);
	fprintf(f, "  %6s %6s %4s %5s %5s %4s %8s %7s %6s  %s\n", "OBJS", "ACTIVE", "USE", "OBJSZ", "SLABS",
		"O/S", "CACHE", "SLOW", "SLOW/s", "NAME");
	/* The columns before NAME take 63 cells; the name gets what is left
	 * (all of it without a screen, cols 0). */
	int name_width = !cols ? INT_MAX : cols - 63 > 12 ? cols - 63 : 12;
	for (i = 0; i < n && (!max_rows || (int)i < max_rows); i++) {
		struct row *r = &rows[i];
		char size[32], rate[16] = "-";
		ctl_format_size(size, sizeof(size), r->slabs * r->pages * PAGE_SIZE);
		if (r->rate >= 0)
			snprintf(rate, sizeof(rate), "%.0f", r->rate);
		size_t aliases = json_array_size(json_object_get(r->cache, "aliases"));
		fprintf(f, "  %6" PRIu64 " %6" PRIu64 " %3.0f%% %5" PRIu64 " %5" PRIu64 " %4" PRIu64
			   " %8s %7" PRIu64 " %6s  %.*s",
			r->total, r->active, r->total ? 100.0 * (double)r->active / (double)r->total : 0.0,
			r->size, r->slabs, r->perslab, size, r->slow, rate, name_width, r->name);
		if (aliases)
			fprintf(f, " (+%zu alias%s)", aliases, aliases == 1 ? "" : "es");
		fputc('\n', f);
	}
	free(rows);
}

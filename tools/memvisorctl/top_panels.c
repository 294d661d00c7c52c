/*
 * top's frame and buddy panels, and the stacked bar both use: one line of
 * `width` cells shared out among parts in proportion to their values, each
 * part drawn with its own glyph. The cells are shared by largest
 * remainder, and every non-zero part gets at least one, so a small state
 * (a few guest frames in a big zone) stays visible.
 */
#include <inttypes.h>
#include <string.h>
#include "ctl.h"
#include "top.h"

#define MAX_PARTS 16
/* Cells before and after a bar: indent and brackets. */
#define BAR_MARGIN 12

static int bar_width(int cols)
{
	int w = cols - BAR_MARGIN;
	return w < 10 ? 10 : w > 100 ? 100 : w;
}

static void bar(FILE *f, const uint64_t *vals, const char *glyphs, size_t n, int width)
{
	int cells[MAX_PARTS] = { 0 };
	double rest[MAX_PARTS] = { 0 };
	uint64_t total = 0;
	int used = 0, nonzero = 0;

	for (size_t i = 0; i < n; i++) {
		total += vals[i];
		nonzero += vals[i] != 0;
	}
	fputs("          [", f);
	if (!total) {
		fprintf(f, "%*s]\n", width, "");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		double exact = (double)vals[i] * width / (double)total;
		cells[i] = (int)exact;
		rest[i] = exact - cells[i];
		if (vals[i] && !cells[i] && nonzero <= width) {
			cells[i] = 1;           /* visible, paid for below */
			rest[i] = -1;
		}
		used += cells[i];
	}
	while (used != width) {
		/* Too few: the largest remainder gains; too many: the widest loses. */
		size_t pick = n;
		for (size_t i = 0; i < n; i++) {
			if (used < width && vals[i] && (pick == n || rest[i] > rest[pick]))
				pick = i;
			if (used > width && cells[i] > 1 && (pick == n || cells[i] > cells[pick]))
				pick = i;
		}
		if (pick == n)
			break;
		cells[pick] += used < width ? 1 : -1;
		rest[pick] = -1;
		used += used < width ? 1 : -1;
	}
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < cells[i]; c++)
			fputc(glyphs[i], f);
	fputs("]\n", f);
}

void top_panel_frames(FILE *f, json_t *frames, int cols)
{
	static const char *const states[] = { "free", "vmm", "guest", "ballooned" };
	json_t *z;
	size_t i;
	bool ok;

	fprintf(f, "Frame states        bar: . free  v vmm  g guest  b ballooned\n");
	json_array_foreach(json_object_get(frames, "zones"), i, z) {
		uint64_t vals[4] = { 0 }, total = 0, pcp = 0;
		for (size_t s = 0; s < 4; s++)
			ctl_json_u64(z, states[s], &vals[s]);
		ctl_json_u64(z, "frames", &total);
		ctl_json_u64(z, "pcp", &pcp);
		/* The check first: on a narrow screen the line's end is cut. */
		uint64_t reported = 0;
		ctl_json_u64(z, "reported", &reported);
		fprintf(f, "  %-8s %-7s check %s  %" PRIu64 " frames: free %" PRIu64 "  vmm %" PRIu64
			   "  guest %" PRIu64 " (reported %" PRIu64 ")  ballooned %" PRIu64
			   "  (pcp %" PRIu64 ")\n",
			ctl_json_str(z, "name"), ctl_json_str(z, "backing"),
			!ctl_json_bool(z, "consistent", &ok) ? "-" : ok ? "ok" : "MISMATCH",
			total, vals[0], vals[1], vals[2], reported, vals[3], pcp);
		bar(f, vals, ".vgb", 4, bar_width(cols));
	}
}

/* The zone's two fragmentation indexes at pageblock order (2 MiB: what the
 * second stage maps large), as the kernel prints them (x1000 -> 0.893). */
static void fragmentation_line(FILE *f, json_t *zone)
{
	json_t *e = json_array_get(json_object_get(zone, "extfrag-index"), 9);
	json_t *u = json_array_get(json_object_get(zone, "unusable-index"), 9);
	if (!json_is_integer(e) || !json_is_integer(u))
		return;
	long long ev = json_integer_value(e), uv = json_integer_value(u);
	fprintf(f, "  %-8s 2 MiB blocks: extfrag index %s%lld.%03lld, unusable index %lld.%03lld%s\n", "",
		ev < 0 ? "-" : "", (ev < 0 ? -ev : ev) / 1000, (ev < 0 ? -ev : ev) % 1000, uv / 1000,
		uv % 1000, ev < 0 ? " (one is free)" : ev > 500 ? " (fragmented: compaction would help)" : "");
}

void top_panel_buddy(FILE *f, json_t *buddy, json_t *extfrag, int cols)
{
	static const char glyphs[] = "0123456789ABCDEF";
	json_t *z, *zones = json_object_get(buddy, "zones");
	size_t i, orders = 0;

	json_array_foreach(zones, i, z) {
		size_t n = json_array_size(json_object_get(z, "free"));
		orders = n > orders ? n : orders;
	}
	orders = orders > MAX_PARTS ? MAX_PARTS : orders;
	fprintf(f, "Buddy free blocks per order   bar: free memory by block order (A = 10)\n");
	fprintf(f, "  %-8s", "order");
	for (size_t o = 0; o < orders; o++)
		fprintf(f, " %4zu", o);
	fprintf(f, " %9s\n", "free");
	json_array_foreach(zones, i, z) {
		json_t *free_blocks = json_object_get(z, "free");
		uint64_t mem[MAX_PARTS] = { 0 }, frames = 0;
		char size[32];
		fprintf(f, "  %-8s", ctl_json_str(z, "name"));
		for (size_t o = 0; o < orders; o++) {
			json_t *v = json_array_get(free_blocks, o);
			uint64_t blocks = json_is_integer(v) && json_integer_value(v) > 0 ?
						  (uint64_t)json_integer_value(v) : 0;
			fprintf(f, " %4" PRIu64, blocks);
			mem[o] = blocks << o;
			frames += mem[o];
		}
		ctl_format_size(size, sizeof(size), frames * 4096);
		fprintf(f, " %9s\n", size);
		bar(f, mem, glyphs, orders, bar_width(cols));
		fragmentation_line(f, json_array_get(json_object_get(extfrag, "zones"), i));
	}
}

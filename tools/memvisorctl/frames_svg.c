/*
 * The pageblock picture (frames_svg.h): checks the reply's shape, then
 * writes each zone's grid and the legend. Coordinates are whole pixels;
 * each cell carries a <title> with its numbers, which viewers show on
 * hover.
 */
#include <stdbool.h>
#include <string.h>
#include "frames_svg.h"

#define COLS 64             /* cells per row: 128 MiB of 2 MiB pageblocks */
#define CELL 12
#define STEP (CELL + 2)
#define MARGIN 16
#define ZONE_TITLE 22       /* room for a zone's heading */
#define LEGEND_H 64
#define WIDTH (2 * MARGIN + COLS * STEP)
/* Far beyond any arena (2^32 frames of 4 KiB is 16 TiB): a reply claiming
 * more is not from a memvisor. */
#define MAX_CELLS (1u << 23)

const char *const frames_svg_colour[SVG_NR_STATES] = {
	[SVG_FREE] = "#d9d9d9", [SVG_VMM] = "#e8872a", [SVG_GUEST] = "#3b73c4",
	[SVG_BALLOONED] = "#8e44ad",
};
static const char *const state_label[SVG_NR_STATES] = {
	[SVG_FREE] = "free", [SVG_VMM] = "VMM", [SVG_GUEST] = "guest", [SVG_BALLOONED] = "ballooned",
};
#define STROKE_MOVABLE "#ffffff"
#define STROKE_UNMOVABLE "#b00020"

/* One pageblock: [type, free, vmm, guest, ballooned, leaf-2m]. */
struct cell {
	const char *type;
	uint64_t count[SVG_NR_STATES];
	int leaf_2m;
};

static int cell_read(json_t *a, struct cell *c)
{
	if (!json_is_array(a) || json_array_size(a) != 6 || !json_is_string(json_array_get(a, 0)) ||
	    !json_is_boolean(json_array_get(a, 5)))
		return -1;
	c->type = json_string_value(json_array_get(a, 0));
	for (int s = 0; s < SVG_NR_STATES; s++) {
		json_t *v = json_array_get(a, (size_t)s + 1);
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > (json_int_t)1 << 32)
			return -1;
		c->count[s] = (uint64_t)json_integer_value(v);
	}
	c->leaf_2m = json_is_true(json_array_get(a, 5));
	return 0;
}

/* The zones, checked whole before anything is written, so a bad reply
 * leaves no half picture. */
static int reply_check(json_t *ret, uint64_t *rows, const char **why)
{
	json_t *zones = json_object_get(ret, "zones"), *z;
	size_t i;
	uint64_t cells = 0;

	*rows = 0;
	if (!json_is_array(zones)) {
		*why = "no \"zones\" array in the reply";
		return -1;
	}
	json_array_foreach(zones, i, z) {
		json_t *pbs = json_object_get(z, "pageblocks"), *pb;
		size_t j;
		struct cell c;
		if (!json_is_string(json_object_get(z, "name")) || !json_is_array(pbs)) {
			*why = "a zone without a name or \"pageblocks\"";
			return -1;
		}
		json_array_foreach(pbs, j, pb) {
			if (cell_read(pb, &c)) {
				*why = "a pageblock that is not [type, free, vmm, guest, ballooned, leaf-2m]";
				return -1;
			}
		}
		cells += json_array_size(pbs);
		if (cells > MAX_CELLS) {
			*why = "more pageblocks than any arena has";
			return -1;
		}
		*rows += (json_array_size(pbs) + COLS - 1) / COLS;
	}
	return 0;
}

/* Zone names come from the monitor: only what needs no escaping is drawn. */
static void text_safe(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == ' ' ? *s : '?', f);
}

static void cell_write(FILE *f, int x, int y, uint64_t index, const struct cell *c,
		       struct frames_svg_summary *sum)
{
	uint64_t total = 0;
	int top = SVG_FREE;

	for (int s = 0; s < SVG_NR_STATES; s++) {
		total += c->count[s];
		if (c->count[s] > c->count[top])
			top = s;
	}
	/* Paler the more mixed: a block half guest, half free looks it. */
	double share = total ? (double)c->count[top] / (double)total : 1.0;
	bool unmovable = !strcmp(c->type, "Unmovable");
	fprintf(f, "<rect class=\"pb %s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
		"fill-opacity=\"%.2f\" stroke=\"%s\" stroke-width=\"%s\"><title>pageblock %llu: ",
		state_label[top], x, y, CELL, CELL, frames_svg_colour[top], 0.3 + 0.7 * share,
		unmovable ? STROKE_UNMOVABLE : STROKE_MOVABLE, unmovable ? "2" : "1",
		(unsigned long long)index);
	text_safe(f, c->type);
	fprintf(f, ", free %llu, VMM %llu, guest %llu, ballooned %llu%s</title></rect>\n",
		(unsigned long long)c->count[SVG_FREE], (unsigned long long)c->count[SVG_VMM],
		(unsigned long long)c->count[SVG_GUEST], (unsigned long long)c->count[SVG_BALLOONED],
		c->leaf_2m ? ", one 2 MiB leaf" : "");
	if (c->leaf_2m) {
		fprintf(f, "<circle class=\"leaf\" cx=\"%d\" cy=\"%d\" r=\"2\" fill=\"#ffffff\"/>\n",
			x + CELL / 2, y + CELL / 2);
		sum->leaf_2m++;
	}
	sum->cells++;
	sum->cells_by_state[top]++;
	sum->unmovable += unmovable;
}

static void legend_write(FILE *f, int y)
{
	int x = MARGIN;

	for (int s = 0; s < SVG_NR_STATES; s++, x += 110) {
		fprintf(f, "<g class=\"legend\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text></g>\n", x, y, CELL, CELL,
			frames_svg_colour[s], x + CELL + 6, y + CELL - 1, state_label[s]);
	}
	y += 24;
	x = MARGIN;
	fprintf(f, "<g class=\"legend\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		"fill=\"%s\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"%d\" y=\"%d\">unmovable "
		"pageblock</text></g>\n", x, y, CELL, CELL, frames_svg_colour[SVG_FREE],
		STROKE_UNMOVABLE, x + CELL + 6, y + CELL - 1);
	x += 180;
	fprintf(f, "<g class=\"legend\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		"fill=\"%s\"/><circle cx=\"%d\" cy=\"%d\" r=\"2\" fill=\"#ffffff\"/><text x=\"%d\" "
		"y=\"%d\">mapped by one 2 MiB leaf</text></g>\n", x, y, CELL, CELL,
		frames_svg_colour[SVG_GUEST], x + CELL / 2, y + CELL / 2, x + CELL + 6, y + CELL - 1);
	x += 240;
	fprintf(f, "<g class=\"legend\"><text x=\"%d\" y=\"%d\">fill: most frames' state, paler "
		"when mixed</text></g>\n", x, y + CELL - 1);
}

int frames_svg_write(FILE *f, json_t *ret, struct frames_svg_summary *sum, const char **why)
{
	uint64_t rows;
	json_t *zones = json_object_get(ret, "zones"), *z;
	size_t i;

	memset(sum, 0, sizeof(*sum));
	if (reply_check(ret, &rows, why))
		return -1;
	uint64_t height = 2 * MARGIN + json_array_size(zones) * ZONE_TITLE + rows * STEP + LEGEND_H;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%llu\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n", WIDTH,
		(unsigned long long)height);
	int y = MARGIN;
	json_array_foreach(zones, i, z) {
		json_t *pbs = json_object_get(z, "pageblocks"), *pb;
		size_t j;
		fprintf(f, "<text class=\"zone\" x=\"%d\" y=\"%d\" font-weight=\"bold\">zone ", MARGIN,
			y + 14);
		text_safe(f, json_string_value(json_object_get(z, "name")));
		fprintf(f, ": %zu pageblocks</text>\n", json_array_size(pbs));
		y += ZONE_TITLE;
		json_array_foreach(pbs, j, pb) {
			struct cell c;
			cell_read(pb, &c);      /* checked above */
			cell_write(f, MARGIN + (int)(j % COLS) * STEP, y + (int)(j / COLS) * STEP, j, &c,
				   sum);
		}
		y += (int)((json_array_size(pbs) + COLS - 1) / COLS) * STEP;
		sum->zones++;
	}
	legend_write(f, y + 16);
	fputs("</svg>\n", f);
	return ferror(f) ? (*why = "writing the file failed", -1) : 0;
}

/*
 * `frames --svg FILE`: the x-query-pageblocks reply as an SVG picture, one
 * grid per zone with one cell per pageblock, filled with the colour of the
 * state most of its frames are in (free, guest, VMM, ballooned; paler the
 * less it dominates), outlined by migrate type, and dotted where a 2 MiB
 * p2m leaf maps it; a legend says which is which. Taken before and after a
 * compaction, the two pictures show what it moved.
 *
 * Only jansson and stdio, so the monitor's tests link it on its own and
 * check the picture a reply makes.
 */
#ifndef MEMVISORCTL_FRAMES_SVG_H
#define MEMVISORCTL_FRAMES_SVG_H

#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

/* The states a cell can show, in the reply's "fields" order after type. */
enum svg_state { SVG_FREE, SVG_VMM, SVG_GUEST, SVG_BALLOONED, SVG_NR_STATES };

struct frames_svg_summary {
	uint64_t zones, cells;
	uint64_t cells_by_state[SVG_NR_STATES];   /* by dominant state */
	uint64_t unmovable, leaf_2m;
};

/* The fill colour of each state (for the legend and the tests). */
extern const char *const frames_svg_colour[SVG_NR_STATES];

/*
 * Writes the picture of ret (x-query-pageblocks' "return") to f. 0, or -1
 * with why (a static string) when the reply is not of the expected shape;
 * nothing is trusted: every field is checked before it is drawn.
 */
int frames_svg_write(FILE *f, json_t *ret, struct frames_svg_summary *sum, const char **why);

#endif

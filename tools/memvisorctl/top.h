/*
 * The panels of `memvisorctl top` (top_panels.c), drawn from one refresh's
 * replies; top.c fetches them, fits them to the screen and refreshes.
 */
#ifndef MEMVISORCTL_TOP_H
#define MEMVISORCTL_TOP_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

/* One refresh: the "return" values of the monitor's commands. */
struct top_snapshot {
	json_t *status;                 /* query-status */
	json_t *frames;                 /* x-query-frames */
	json_t *buddy;                  /* x-query-buddyinfo */
	json_t *slabs;                  /* x-query-slabinfo */
	json_t *extfrag;                /* x-query-extfrag */
	json_t *balloon;                /* x-query-balloon; NULL without a balloon */
	long long at_ms;                /* when it was taken */
};

/* Frame states per zone (invariant I1), numbers and a bar. */
void top_panel_frames(FILE *f, json_t *frames, int cols);
/* The balloon and free page reporting (top_balloon.c); "none" for NULL. */
void top_panel_balloon(FILE *f, json_t *balloon);
/* Free blocks per order per zone, and a bar of free memory by order. */
void top_panel_buddy(FILE *f, json_t *buddy, json_t *extfrag, int cols);
/*
 * The slab caches, busiest first (by active objects, or by slow-path
 * events per second since prev, or in total without prev), at most
 * max_rows of them (0: all); cols 0 means no screen, so names are never
 * cut.
 */
void top_panel_slabs(FILE *f, json_t *slabs, json_t *prev, double seconds, bool sort_slow, int cols,
		     int max_rows);
/* Rows the slab panel uses besides one per cache. */
#define TOP_SLAB_PANEL_HEAD 3

#endif

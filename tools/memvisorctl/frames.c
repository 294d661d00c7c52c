/*
 * `frames --svg FILE`: fetches x-query-pageblocks and writes its picture
 * (frames_svg.c) to FILE, or, with --json, prints the reply instead. The
 * file is written beside its name and renamed over it, so a failed run
 * never leaves half a picture where the last good one was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctl.h"
#include "frames_svg.h"

static int write_svg(const char *path, json_t *ret)
{
	size_t n = strlen(path) + 8;
	char *tmp = malloc(n);
	struct frames_svg_summary sum;
	const char *why = NULL;

	if (!tmp) {
		fprintf(stderr, "memvisorctl: frames: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	snprintf(tmp, n, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "memvisorctl: %s: %s\n", tmp, strerror(errno));
		free(tmp);
		return CTL_EXIT_FAIL;
	}
	int rc = frames_svg_write(f, ret, &sum, &why);
	if (fclose(f) && !rc) {
		rc = -1;
		why = strerror(errno);
	}
	if (!rc && rename(tmp, path)) {
		rc = -1;
		why = strerror(errno);
	}
	if (rc) {
		unlink(tmp);
		fprintf(stderr, "memvisorctl: frames --svg %s: %s\n", path, why);
	} else {
		printf("%s: %llu pageblocks in %llu zones: %llu free, %llu guest (%llu in 2 MiB "
		       "leaves), %llu VMM, %llu ballooned (by most frames); %llu unmovable\n", path,
		       (unsigned long long)sum.cells, (unsigned long long)sum.zones,
		       (unsigned long long)sum.cells_by_state[SVG_FREE],
		       (unsigned long long)sum.cells_by_state[SVG_GUEST],
		       (unsigned long long)sum.leaf_2m, (unsigned long long)sum.cells_by_state[SVG_VMM],
		       (unsigned long long)sum.cells_by_state[SVG_BALLOONED],
		       (unsigned long long)sum.unmovable);
	}
	free(tmp);
	return rc ? CTL_EXIT_FAIL : 0;
}

int ctl_frames(struct ctl *ctl)
{
	json_t *ret;

	if (ctl->json)
		return ctl_print_return(ctl, "x-query-pageblocks", NULL);
	if (qmp_call(&ctl->qmp, "x-query-pageblocks", NULL, &ret))
		return ctl_fail(ctl, "x-query-pageblocks");
	int rc = write_svg(ctl->svg, ret);
	json_decref(ret);
	return rc;
}

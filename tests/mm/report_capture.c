/*
 * The report capture of report_capture.h: a hook that appends every report
 * to one buffer, one report per block.
 */
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include "report_capture.h"
#include "mm/slab.h"

#define CAPTURE_MAX (64 * 1024)

static char captured[CAPTURE_MAX];
static size_t used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void capture(const char *report, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	size_t n = strlen(report);
	if (used + n + 2 < CAPTURE_MAX) {
		memcpy(captured + used, report, n);
		used += n;
		captured[used++] = '\x1e';   /* separates reports */
		captured[used] = 0;
	}
	pthread_mutex_unlock(&lock);
}

void report_capture_start(void)
{
	used = 0;
	captured[0] = 0;
	slab_set_report_hook(capture, NULL);
}

void report_capture_stop(void)
{
	slab_set_report_hook(NULL, NULL);
}

const char *report_capture_text(void)
{
	return captured;
}

bool report_capture_has(const char *cache, const void *obj, const char *what)
{
	char addr[32];
	snprintf(addr, sizeof(addr), "0x%016lx", (unsigned long)(uintptr_t)obj);
	pthread_mutex_lock(&lock);
	bool found = false;
	for (char *r = captured; *r && !found;) {
		char *end = strchr(r, '\x1e');
		size_t len = end ? (size_t)(end - r) : strlen(r);
		char one[4096];
		snprintf(one, sizeof(one), "%.*s", (int)len, r);
		found = strstr(one, cache) && strstr(one, what) && (!obj || strstr(one, addr));
		r += len + (end ? 1 : 0);
	}
	pthread_mutex_unlock(&lock);
	return found;
}

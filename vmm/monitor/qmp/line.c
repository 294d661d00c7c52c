/*
 * The lines a QMP server sends: a JSON value in QEMU's layout (one line,
 * ", " and ": " between items, UTF-8 as is) ended by "\r\n", and the
 * timestamped event lines.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "vmm/monitor/qmp/internal.h"

char *qmp_line(json_t *v, size_t *len)
{
	/* No JSON_INDENT: everything on one line; jansson escapes control
	 * characters inside strings, so the line cannot be split. */
	char *text = json_dumps(v, JSON_ENCODE_ANY);

	if (!text)
		return NULL;
	size_t n = strlen(text);
	char *line = realloc(text, n + 3);
	if (!line) {
		free(text);
		return NULL;
	}
	memcpy(line + n, "\r\n", 3);
	*len = n + 2;
	return line;
}

char *qmp_event_line(const char *name, json_t *data, size_t *len)
{
	struct timeval tv;

	/* Wall-clock time, as QEMU stamps its events. */
	gettimeofday(&tv, NULL);
	json_t *ev = json_pack("{s:{s:I,s:I},s:s}", "timestamp", "seconds", (json_int_t)tv.tv_sec,
			       "microseconds", (json_int_t)tv.tv_usec, "event", name);
	if (!ev)
		return NULL;
	if (data && json_object_set(ev, "data", data)) {
		json_decref(ev);
		return NULL;
	}
	char *line = qmp_line(ev, len);
	json_decref(ev);
	return line;
}

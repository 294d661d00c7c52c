/*
 * memvisorctl top: every second, its queries (query-status,
 * x-query-frames, x-query-buddyinfo, x-query-slabinfo, x-query-extfrag, and
 * x-query-balloon when the VM has a balloon) and one screen of panels
 * (top_panels.c, top_slabs.c, top_balloon.c). Each screen is composed in memory
 * and written at once, over the previous one (cursor home, each line
 * cleared to its end), so nothing flickers. Keys: q or Ctrl-C quits, a
 * and s sort the slab caches. --once and -n N make a fixed number of
 * screens; when stdout is not a terminal the screens are plain text, one
 * after another, with every cache listed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ctl.h"
#include "qmp_wire.h"
#include "term.h"
#include "top.h"

#define REFRESH_MS 1000

static void snapshot_free(struct top_snapshot *s)
{
	json_decref(s->status);
	json_decref(s->frames);
	json_decref(s->buddy);
	json_decref(s->slabs);
	json_decref(s->extfrag);
	json_decref(s->balloon);
	memset(s, 0, sizeof(*s));
}

/* NULL, or the command that failed (the client holds the reason). */
static const char *snapshot_take(struct ctl *ctl, struct top_snapshot *s)
{
	static const char *const commands[] = { "query-status", "x-query-frames", "x-query-buddyinfo",
						"x-query-slabinfo", "x-query-extfrag" };
	json_t **slots[] = { &s->status, &s->frames, &s->buddy, &s->slabs, &s->extfrag };

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++) {
		if (qmp_call(&ctl->qmp, commands[i], NULL, slots[i])) {
			snapshot_free(s);
			return commands[i];
		}
	}
	/* A VM without a balloon answers DeviceNotActive: no balloon line. */
	if (qmp_call(&ctl->qmp, "x-query-balloon", NULL, &s->balloon))
		s->balloon = NULL;
	/* Events (STOP, RESUME) are not shown; the status line says it all. */
	json_decref(qmp_take_events(&ctl->qmp));
	s->at_ms = qmp_wire_now_ms();
	return NULL;
}

/* Composes one screen; the slab panel gets the rows the others leave. */
static char *compose(struct ctl *ctl, const struct top_snapshot *s, const struct top_snapshot *prev,
		     bool live, size_t *len)
{
	char *buf = NULL, stamp[16];
	int cols, rows;
	time_t now = time(NULL);
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	term_size(&cols, &rows);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
	fprintf(f, "memvisor top  %s  VM %s  %s%s\n\n", ctl->socket, ctl_json_str(s->status, "status"), stamp,
		live ? "   q quit  a/s sort" : "");
	top_panel_frames(f, s->frames, cols);
	fputc('\n', f);
	top_panel_buddy(f, s->buddy, s->extfrag, cols);
	fputc('\n', f);
	top_panel_balloon(f, s->balloon);
	fputc('\n', f);
	fflush(f);
	int used = 0;
	for (size_t i = 0; i < *len; i++)
		used += buf[i] == '\n';
	int room = rows - used - TOP_SLAB_PANEL_HEAD;
	top_panel_slabs(f, s->slabs, prev->slabs, (double)(s->at_ms - prev->at_ms) / 1000.0, ctl->sort_slow,
			live ? cols : 0, live ? (room > 1 ? room : 1) : 0);
	fclose(f);
	return buf;
}

/*
 * A live screen: home, every line cut to the screen's width (a wrapped
 * line would push the rest down) and cleared to its end, then the rest of
 * the screen cleared. The panels are plain ASCII: a byte is a column.
 */
static void draw_live(const char *screen)
{
	int cols, rows, col = 0;

	term_size(&cols, &rows);
	fputs("\x1b[H", stdout);
	for (const char *p = screen; *p; p++) {
		if (*p == '\n') {
			fputs("\x1b[K", stdout);
			col = -1;
		}
		if (col++ < cols)
			fputc(*p, stdout);
	}
	fputs("\x1b[J", stdout);
	fflush(stdout);
}

int ctl_top(struct ctl *ctl)
{
	bool live = isatty(STDOUT_FILENO);
	struct top_snapshot now = { 0 }, prev = { 0 };
	const char *failed = NULL;

	term_begin(isatty(STDIN_FILENO), live);
	for (int n = 0;;) {
		if ((failed = snapshot_take(ctl, &now)))
			break;
		size_t len;
		char *screen = compose(ctl, &now, &prev, live, &len);
		if (screen) {
			if (live)
				draw_live(screen);
			else
				fwrite(screen, 1, len, stdout);
			free(screen);
		}
		snapshot_free(&prev);
		prev = now;
		memset(&now, 0, sizeof(now));
		if (ctl->refreshes && ++n >= ctl->refreshes)
			break;
		if (!live)
			fputc('\n', stdout);     /* between plain screens */
		fflush(stdout);
		int key = term_key(REFRESH_MS);
		if (key == TERM_KEY_STOP || key == 'q' || key == 'Q' || key == 3 /* Ctrl-C */)
			break;
		if (key == 'a' || key == 's')
			ctl->sort_slow = key == 's';
	}
	snapshot_free(&prev);
	/* After the alternate screen is gone, so the reason stays visible. */
	term_end();
	return failed ? ctl_fail(ctl, failed) : 0;
}

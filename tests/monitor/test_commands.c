/*
 * Every command's reply, in process on a real arena and guest memory:
 * the shape (keys and types, README "The monitor") and the numbers, checked
 * against mm/ and guest_mem read directly; stop, cont and quit with their
 * events and what they asked of the VM; the `info` texts byte for byte.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "mm/compaction.h"
#include "mm/extfrag.h"
#include "mm/slab.h"
#include "session.h"

static struct session s;

static void setup(void)
{
	session_start(&s, 8);
	session_negotiate(&s);
}

static void teardown(void)
{
	session_finish(&s);
}

TestSuite(commands, .init = setup, .fini = teardown);

/* An event line: with data when data_keys is not NULL. */
static void expect_event_data(json_t *ev, const char *name, const char *const *data_keys)
{
	if (data_keys) {
		EXPECT_KEYS(ev, "timestamp", "event", "data");
		expect_keys(json_object_get(ev, "data"), data_keys);
	} else {
		EXPECT_KEYS(ev, "timestamp", "event");
	}
	cr_assert_str_eq(json_string_value(json_object_get(ev, "event")), name);
	json_t *ts = json_object_get(ev, "timestamp");
	EXPECT_KEYS(ts, "seconds", "microseconds");
	cr_assert_gt(json_integer_value(json_object_get(ts, "seconds")), 1600000000);
	json_int_t us = json_integer_value(json_object_get(ts, "microseconds"));
	cr_assert(us >= 0 && us < 1000000);
}

static void expect_event(json_t *ev, const char *name)
{
	expect_event_data(ev, name, NULL);
}

static void expect_status(bool running, const char *status)
{
	json_t *r = session_return(&s, "{\"execute\": \"query-status\"}");

	EXPECT_KEYS(r, "running", "singlestep", "status");
	cr_assert(json_is_boolean(json_object_get(r, "running")));
	cr_assert_eq(json_is_true(json_object_get(r, "running")), running);
	cr_assert(json_is_false(json_object_get(r, "singlestep")));
	cr_assert_str_eq(json_string_value(json_object_get(r, "status")), status);
	json_decref(r);
}

Test(commands, query_status_states)
{
	expect_status(true, "running");
	s.state = VM_STATE_PRELAUNCH;
	expect_status(false, "prelaunch");
	s.state = VM_STATE_PAUSED;
	expect_status(false, "paused");
	s.state = VM_STATE_SHUTDOWN;
	expect_status(false, "shutdown");
}

Test(commands, stop_and_cont_with_events)
{
	json_t *ev = session_cmd(&s, "{\"execute\": \"stop\", \"id\": 1}");
	expect_event(ev, "STOP");
	json_decref(ev);
	json_t *r = session_next(&s);
	EXPECT_KEYS(r, "return", "id");
	cr_assert_eq(json_object_size(json_object_get(r, "return")), 0);
	json_decref(r);
	cr_assert_eq(s.pauses, 1);
	expect_status(false, "paused");

	/* Already stopped: no event, nothing asked of the VM. */
	json_decref(session_return(&s, "{\"execute\": \"stop\"}"));
	cr_assert_eq(s.pauses, 1);

	ev = session_cmd(&s, "{\"execute\": \"cont\"}");
	expect_event(ev, "RESUME");
	json_decref(ev);
	r = session_next(&s);
	EXPECT_KEYS(r, "return");
	json_decref(r);
	cr_assert_eq(s.resumes, 1);
	json_decref(session_return(&s, "{\"execute\": \"cont\"}"));
	cr_assert_eq(s.resumes, 1);
	expect_status(true, "running");
}

Test(commands, quit_sends_shutdown_first)
{
	json_t *ev = session_cmd(&s, "{\"execute\": \"quit\", \"id\": \"q\"}");
	expect_event_data(ev, "SHUTDOWN", (const char *const[]){ "guest", "reason", NULL });
	json_t *data = json_object_get(ev, "data");
	cr_assert(json_is_false(json_object_get(data, "guest")));
	cr_assert_str_eq(json_string_value(json_object_get(data, "reason")), "host-qmp-quit");
	json_decref(ev);
	json_t *r = session_next(&s);
	EXPECT_KEYS(r, "return", "id");
	json_decref(r);
	cr_assert_eq(s.quits, 1);
	/* Once the run has ended, stop and cont say so. */
	session_error(&s, "{\"execute\": \"stop\"}", "GenericError");
	session_error(&s, "{\"execute\": \"cont\"}", "GenericError");
}

Test(commands, memory_size_summary)
{
	json_t *r = session_return(&s, "{\"execute\": \"query-memory-size-summary\"}");

	EXPECT_KEYS(r, "base-memory", "plugged-memory");
	cr_assert_eq(json_integer_value(json_object_get(r, "base-memory")), 8 << 20);
	cr_assert_eq(json_integer_value(json_object_get(r, "plugged-memory")), 0);
	json_decref(r);
}

/* The text the formatter prints now, for comparison. */
static char *text_of(size_t (*fn)(struct mm_arena *, char *, size_t))
{
	size_t n = fn(s.arena, NULL, 0) + 1;
	char *buf = malloc(n);
	fn(s.arena, buf, n);
	return buf;
}

static void expect_hmp(const char *line, const char *want)
{
	char req[256];

	snprintf(req, sizeof(req), "{\"execute\": \"human-monitor-command\", \"arguments\": "
		 "{\"command-line\": \"%s\"}}", line);
	json_t *r = session_return(&s, req);
	cr_assert(json_is_string(r));
	cr_assert_str_eq(json_string_value(r), want, "%s", line);
	json_decref(r);
}

Test(commands, hmp_info_texts)
{
	char *t = text_of(mm_format_buddyinfo);
	expect_hmp("info buddyinfo", t);
	expect_hmp("  info \\t buddyinfo  ", t);
	free(t);
	t = text_of(mm_format_pagetypeinfo);
	expect_hmp("info pagetypeinfo", t);
	free(t);
	t = text_of(slab_format_slabinfo);
	expect_hmp("info slabinfo", t);
	free(t);
	t = text_of(mm_format_frames);
	expect_hmp("info frames", t);
	cr_assert(strstr(t, "check ok"));
	free(t);
	t = text_of(mm_format_compaction);
	cr_assert(!strncmp(t, "pgmigrate_success 0\n", 20), "%s", t);
	/* kcompactd's lines last, as /proc/vmstat prints them: no proactive
	 * thread here, so all 0. */
	char *with_daemon;
	cr_assert_geq(asprintf(&with_daemon, "%scompact_daemon_wake 0\ncompact_daemon_migrate_scanned 0\n"
			       "compact_daemon_free_scanned 0\n", t), 0);
	expect_hmp("info compaction", with_daemon);
	free(with_daemon);
	free(t);
	t = text_of(mm_format_extfrag_index);
	expect_hmp("info extfrag", t);
	cr_assert(!strncmp(t, "Node 0, zone   Normal ", 22), "%s", t);
	free(t);
	t = text_of(mm_format_unusable_index);
	expect_hmp("info unusable", t);
	free(t);
	size_t n = guest_mem_format_p2m(s.gm, NULL, 0) + 1;
	t = malloc(n);
	guest_mem_format_p2m(s.gm, t, n);
	expect_hmp("info p2m", t);
	cr_assert(!strncmp(t, "region 0: GPA 0x0-0x7fffff 8M", 29), "%s", t);
	free(t);
	expect_hmp("info status", "VM status: running\n");
	expect_hmp("", "");
	expect_hmp("info nothing", "unknown command: 'info nothing'\n");
	expect_hmp("info buddyinfo extra", "unknown command: 'info buddyinfo extra'\n");
	expect_hmp("frobnicate", "unknown command: 'frobnicate'\n");
	json_t *r = session_return(&s, "{\"execute\": \"human-monitor-command\", \"arguments\": "
				   "{\"command-line\": \"info\", \"cpu-index\": 0}}");
	cr_assert(strstr(json_string_value(r), "info buddyinfo"));
	cr_assert(strstr(json_string_value(r), "info p2m"));
	json_decref(r);
}

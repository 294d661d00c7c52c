/*
 * Proactive compaction's thread (vmm/core/vm_proactive.h) on the in-process
 * session's VM stand-in: it compacts a zone Normal fragmented on purpose
 * with every hold released, backs off when nothing can move, shows its
 * counters in x-query-compaction, and stops at once however long its
 * period; with proactiveness 0 nothing is made.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mm/buddy.h"
#include "mm/mm.h"
#include "vmm/core/vm_proactive.h"
#include "session.h"

#define MS 1000000ull

static struct session s;
static long *taken;
static size_t nr_taken;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Every free frame of zone Normal taken as a VMM frame, the even ones
 * given back: they cannot merge, so the score is 100, and nothing there
 * can move. */
static void fragment(void)
{
	struct mm_zone *z = mm_zone_get(s.arena, ZONE_NORMAL);
	long idx;
	size_t n = 0;

	taken = calloc(z->buddy.nr_frames, sizeof(long));
	cr_assert_not_null(taken);
	mm_pcp_drain(z);
	while ((idx = buddy_alloc(&z->buddy, 0, MT_MOVABLE, FRAME_VMM, false)) >= 0)
		taken[n++] = idx;
	for (size_t k = 0; k < n; k++) {
		if (taken[k] & 1)
			taken[nr_taken++] = taken[k];
		else
			cr_assert_eq(buddy_free(&z->buddy, (uint32_t)taken[k], 0), 0);
	}
}

static void setup(void)
{
	session_start(&s, 8);
	session_negotiate(&s);
}

static void teardown(void)
{
	struct mm_zone *z = mm_zone_get(s.arena, ZONE_NORMAL);

	vm_proactive_destroy(s.proactive);
	s.proactive = NULL;
	for (size_t k = 0; k < nr_taken; k++)
		cr_assert_eq(buddy_free(&z->buddy, (uint32_t)taken[k], 0), 0);
	free(taken);
	taken = NULL;
	nr_taken = 0;
	session_finish(&s);
}

TestSuite(proactive, .init = setup, .fini = teardown, .timeout = 30);

static void wait_for(uint64_t (*get)(void), uint64_t want, const char *what)
{
	for (int i = 0; i < 400 && get() < want; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 5 * MS }, NULL);
	cr_assert_geq(get(), want, "%s", what);
}

static uint64_t runs(void)
{
	struct vm_proactive_stats st;

	vm_proactive_get_stats(s.proactive, &st);
	return st.runs;
}

static uint64_t deferred(void)
{
	struct vm_proactive_stats st;

	vm_proactive_get_stats(s.proactive, &st);
	return st.deferred;
}

Test(proactive, compacts_a_fragmented_zone_then_backs_off)
{
	fragment();
	s.proactive = vm_proactive_create(s.arena, 100, 2 * MS);
	cr_assert_not_null(s.proactive);
	cr_assert_eq(vm_proactive_start(s.proactive, &s.target), 0);
	wait_for(runs, 1, "a run within 2 s");
	/* Only VMM frames stand between the free ones: the run moved
	 * nothing, so the next wakes are skipped. */
	wait_for(deferred, 1, "backed off after a run that did nothing");
	vm_proactive_stop(s.proactive);
	cr_assert_eq(atomic_load(&s.holds), 0);
	cr_assert_geq(atomic_load(&s.holds_taken), 1, "the vCPUs were held for the run");

	json_t *r = session_return(&s, "{\"execute\": \"x-query-compaction\"}");
	json_t *p = json_object_get(r, "proactive");
	EXPECT_KEYS(p, "proactiveness", "wakes", "runs", "ns", "moved", "promoted-ranges", "failed",
		    "migrate-scanned", "free-scanned", "deferred", "score", "last");
	cr_assert_eq(json_integer_value(json_object_get(p, "proactiveness")), 100);
	cr_assert_geq(json_integer_value(json_object_get(p, "runs")), 1);
	cr_assert_gt(json_integer_value(json_object_get(p, "migrate-scanned")), 0);
	/* info compaction's kcompactd lines are the thread's counters. */
	char want[96];
	snprintf(want, sizeof(want), "compact_daemon_wake %lld\ncompact_daemon_migrate_scanned %lld\n",
		 (long long)json_integer_value(json_object_get(p, "wakes")),
		 (long long)json_integer_value(json_object_get(p, "migrate-scanned")));
	json_t *h = session_return(&s, "{\"execute\": \"human-monitor-command\", \"arguments\": "
				      "{\"command-line\": \"info compaction\"}}");
	cr_assert(json_is_string(h));
	cr_assert(strstr(json_string_value(h), want), "%s", json_string_value(h));
	json_decref(h);
	cr_assert_eq(json_integer_value(json_object_get(p, "score")), 100);
	cr_assert_str_eq(json_string_value(json_object_get(p, "last")), "deferred");
	json_decref(r);
}

Test(proactive, a_tidy_zone_is_left_alone)
{
	s.proactive = vm_proactive_create(s.arena, 20, 2 * MS);
	cr_assert_eq(vm_proactive_start(s.proactive, &s.target), 0);
	struct vm_proactive_stats st;
	for (int i = 0; i < 400; i++) {
		vm_proactive_get_stats(s.proactive, &st);
		if (st.wakes >= 5)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 5 * MS }, NULL);
	}
	vm_proactive_stop(s.proactive);
	vm_proactive_get_stats(s.proactive, &st);
	cr_assert_geq(st.wakes, 5);
	cr_assert_eq(st.runs, 0, "score %u is below the watermarks", st.score);
	cr_assert_eq(atomic_load(&s.holds_taken), 0);
}

Test(proactive, stops_at_once_whatever_the_period)
{
	s.proactive = vm_proactive_create(s.arena, 50, 3600ull * 1000 * MS);
	cr_assert_eq(vm_proactive_start(s.proactive, &s.target), 0);
	nanosleep(&(struct timespec){ .tv_nsec = 20 * MS }, NULL);
	uint64_t t0 = now_ns();
	vm_proactive_stop(s.proactive);
	cr_assert_lt(now_ns() - t0, 200 * MS, "stopping waited for the period");
	vm_proactive_stop(s.proactive);  /* twice is fine */
	cr_assert_eq(vm_proactive_start(s.proactive, &s.target), 0, "and it starts again");
	vm_proactive_stop(s.proactive);
}

Test(proactive, off_and_bad_settings_make_nothing)
{
	cr_assert_null(vm_proactive_create(s.arena, 0, 500 * MS));
	cr_assert_null(vm_proactive_create(s.arena, 101, 500 * MS));
	cr_assert_null(vm_proactive_create(s.arena, 20, 0));
	struct vm_control no_hold = s.target;
	no_hold.hold = NULL;
	s.proactive = vm_proactive_create(s.arena, 20, 500 * MS);
	cr_assert_eq(vm_proactive_start(s.proactive, &no_hold), -EINVAL,
		     "a controller that cannot hold the vCPUs is refused");
	vm_proactive_destroy(s.proactive);
	s.proactive = NULL;
	json_t *r = session_return(&s, "{\"execute\": \"x-query-compaction\"}");
	json_t *p = json_object_get(r, "proactive");
	cr_assert_eq(json_integer_value(json_object_get(p, "proactiveness")), 0);
	cr_assert_eq(json_integer_value(json_object_get(p, "runs")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(p, "last")), "off");
	json_decref(r);
}

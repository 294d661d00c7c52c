/*
 * QMP x-compact, in process: the reply's keys and numbers against the
 * guest's compaction counters, the vCPUs paused around a running guest's
 * compaction and a stopped guest left stopped, the guest's memory
 * unchanged, and every bad argument refused with a GenericError.
 */
#include <criterion/criterion.h>
#include <string.h>
#include "vmm/memory/guest_compact.h"
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

TestSuite(compact_qmp, .init = setup, .fini = teardown);

#define INT(o, key) json_integer_value(json_object_get(o, key))

static void expect_reply_keys(json_t *r)
{
	EXPECT_KEYS(r, "zone", "moved", "failed", "hash-mismatches", "stale", "split-blocks",
		    "promoted-ranges", "steered-ranges", "bytes-copied", "migrate-scanned",
		    "free-scanned", "passes", "ns", "pause-ns", "stop", "target-reached");
}

Test(compact_qmp, full_compaction_pauses_a_running_guest_and_keeps_its_memory)
{
	uint64_t *ram = guest_mem_hva(s.gm, 0, 8 << 20);
	for (size_t i = 0; i < (8 << 20) / 8; i++)
		ram[i] = i * 0x9e3779b97f4a7c15ULL;

	json_t *r = session_return(&s, "{\"execute\": \"x-compact\", \"arguments\": "
				       "{\"zone\": \"Normal\", \"order\": \"full\"}}");
	expect_reply_keys(r);
	cr_assert_str_eq(json_string_value(json_object_get(r, "zone")), "Normal");
	cr_assert_eq(INT(r, "hash-mismatches"), 0);
	cr_assert_eq(INT(r, "failed"), 0);
	cr_assert_geq(INT(r, "passes"), 1);
	cr_assert_geq(INT(r, "pause-ns"), INT(r, "ns"), "the guest stayed paused throughout");
	cr_assert_eq(s.pauses, 1);
	cr_assert_eq(s.resumes, 1);
	cr_assert_eq(s.state, VM_STATE_RUNNING);
	struct guest_compact_stats st;
	guest_mem_compact_stats(s.gm, &st);
	cr_assert_eq(st.runs, 1);
	cr_assert_eq((json_int_t)st.moved, INT(r, "moved"));
	cr_assert_eq((json_int_t)st.promoted_ranges, INT(r, "promoted-ranges"));
	json_decref(r);
	for (size_t i = 0; i < (8 << 20) / 8; i++)
		cr_assert_eq(ram[i], i * 0x9e3779b97f4a7c15ULL, "word %zu", i);
}

Test(compact_qmp, a_stopped_guest_stays_stopped_and_defaults_apply)
{
	s.state = VM_STATE_PAUSED;          /* as `stop` leaves it */
	unsigned pauses = s.pauses;
	json_t *r = session_return(&s, "{\"execute\": \"x-compact\"}");
	expect_reply_keys(r);
	cr_assert_eq(INT(r, "pause-ns"), 0);
	cr_assert_eq(s.pauses, pauses);
	cr_assert_eq(s.state, VM_STATE_PAUSED);
	json_decref(r);

	r = session_return(&s, "{\"execute\": \"x-compact\", \"arguments\": "
			       "{\"order\": 3, \"budget-ms\": 50}}");
	cr_assert(json_is_true(json_object_get(r, "target-reached")));
	cr_assert_str_eq(json_string_value(json_object_get(r, "stop")), "target-reached");
	json_decref(r);
	r = session_return(&s, "{\"execute\": \"x-compact\", \"arguments\": {\"budget-ms\": 0}}");
	cr_assert_eq(INT(r, "promoted-ranges"), 0);
	json_decref(r);
}

Test(compact_qmp, bad_arguments_are_refused)
{
	const char *desc;

	desc = session_error(&s, "{\"execute\": \"x-compact\", \"arguments\": {\"zone\": \"Huge\"}}",
			     "GenericError");
	cr_assert(strstr(desc, "'zone'"), "%s", desc);
	desc = session_error(&s, "{\"execute\": \"x-compact\", \"arguments\": {\"zone\": 1}}",
			     "GenericError");
	cr_assert(strstr(desc, "'zone'"), "%s", desc);
	const char *orders[] = { "-1", "11", "99999999999", "\"half\"", "1.5", "null", "true",
				 "[]" };
	for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "{\"execute\": \"x-compact\", \"arguments\": "
			 "{\"order\": %s}}", orders[i]);
		desc = session_error(&s, cmd, "GenericError");
		cr_assert(strstr(desc, "'order'"), "%s: %s", orders[i], desc);
	}
	desc = session_error(&s, "{\"execute\": \"x-compact\", \"arguments\": {\"budget-ms\": -1}}",
			     "GenericError");
	cr_assert(strstr(desc, "'budget-ms'"), "%s", desc);
	desc = session_error(&s, "{\"execute\": \"x-compact\", \"arguments\": "
			     "{\"budget-ms\": \"soon\"}}", "GenericError");
	cr_assert(strstr(desc, "'budget-ms'"), "%s", desc);
	desc = session_error(&s, "{\"execute\": \"x-compact\", \"arguments\": {\"force\": true}}",
			     "GenericError");
	cr_assert(strstr(desc, "'force'"), "%s", desc);
	cr_assert_eq(s.pauses, 0, "nothing paused for a refused request");
}

Test(compact_qmp, a_guest_that_has_shut_down_is_refused)
{
	s.state = VM_STATE_SHUTDOWN;
	const char *desc = session_error(&s, "{\"execute\": \"x-compact\"}", "GenericError");
	cr_assert(strstr(desc, "shut down"), "%s", desc);
	s.state = VM_STATE_RUNNING;
}

/*
 * QMP protocol conformance, in process: the greeting's shape, nothing but
 * qmp_capabilities before negotiation and not it after, the request's
 * shape checked in QEMU's words, id echoed (any JSON value), unknown
 * commands, wrong argument types. The byte stream itself: test_framing.c.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "session.h"

static struct session s;

static void setup(void)
{
	session_start(&s, 8);
}

static void teardown(void)
{
	session_finish(&s);
}

TestSuite(protocol, .init = setup, .fini = teardown);

Test(protocol, greeting_shape)
{
	json_t *g = session_next(&s);

	EXPECT_KEYS(g, "QMP");
	json_t *qmp = json_object_get(g, "QMP");
	EXPECT_KEYS(qmp, "version", "capabilities");
	cr_assert(json_is_array(json_object_get(qmp, "capabilities")));
	cr_assert_eq(json_array_size(json_object_get(qmp, "capabilities")), 0);
	json_t *version = json_object_get(qmp, "version");
	EXPECT_KEYS(version, "qemu", "package");
	json_t *qemu = json_object_get(version, "qemu");
	EXPECT_KEYS(qemu, "micro", "minor", "major");
	cr_assert(json_is_integer(json_object_get(qemu, "major")));
	cr_assert(!strncmp(json_string_value(json_object_get(version, "package")), "memvisor ", 9));
	cr_assert_null(session_next(&s), "more than the greeting before any request");
	json_decref(g);
}

Test(protocol, commands_refused_before_capabilities)
{
	static const char *const commands[] = {
		"query-status", "stop", "cont", "quit", "query-memory-size-summary",
		"human-monitor-command", "x-query-buddyinfo", "x-query-slabinfo", "x-query-frames",
		"x-query-p2m", "x-query-regions", "x-slabinfo-tune", "x-query-compaction",
		"x-query-extfrag", "x-compact", "x-query-pageblocks", "no-such-command",
	};
	char req[128];

	json_decref(session_next(&s));
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		snprintf(req, sizeof(req), "{\"execute\": \"%s\"}", commands[i]);
		cr_assert_str_eq(session_error(&s, req, "CommandNotFound"),
				 "Expecting capabilities negotiation with 'qmp_capabilities'");
	}
	cr_assert_eq(s.pauses + s.resumes + s.quits, 0, "a refused command ran");
	/* Refused arguments do not negotiate either. */
	session_error(&s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": 5}}",
		      "GenericError");
	session_error(&s, "{\"execute\": \"query-status\"}", "CommandNotFound");
	json_decref(session_return(&s, "{\"execute\": \"qmp_capabilities\"}"));
	json_decref(session_return(&s, "{\"execute\": \"query-status\"}"));
}

Test(protocol, negotiation_twice)
{
	session_negotiate(&s);
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"qmp_capabilities\", \"id\": 3}",
				       "CommandNotFound"),
			 "Capabilities negotiation is already complete, command ignored");
}

Test(protocol, capability_names_refused)
{
	json_decref(session_next(&s));
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"qmp_capabilities\", \"arguments\": "
				       "{\"enable\": [\"oob\"]}}", "GenericError"),
			 "Capability 'oob' not available");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"qmp_capabilities\", \"arguments\": "
				       "{\"enable\": [7]}}", "GenericError"),
			 "Invalid parameter type for 'enable[0]', expected: string");
	json_decref(session_return(&s, "{\"execute\": \"qmp_capabilities\", \"arguments\": "
				   "{\"enable\": []}}"));
}

Test(protocol, id_echoed)
{
	static const char *const ids[] = { "1", "\"abc\"", "[1, {\"a\": null}]", "{\"x\": 2.5}",
					   "null", "true", "-7" };
	char req[256];

	session_negotiate(&s);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		json_t *want = json_loads(ids[i], JSON_DECODE_ANY, NULL);
		snprintf(req, sizeof(req), "{\"execute\": \"query-status\", \"id\": %s}", ids[i]);
		json_t *r = session_cmd(&s, req);
		EXPECT_KEYS(r, "return", "id");
		cr_assert(json_equal(json_object_get(r, "id"), want), "id %s", ids[i]);
		json_decref(r);
		/* Errors echo it too. */
		snprintf(req, sizeof(req), "{\"execute\": \"nope\", \"id\": %s}", ids[i]);
		r = session_cmd(&s, req);
		EXPECT_KEYS(r, "error", "id");
		cr_assert(json_equal(json_object_get(r, "id"), want), "id %s", ids[i]);
		json_decref(r);
		json_decref(want);
	}
}

Test(protocol, request_shape_errors)
{
	session_negotiate(&s);
	cr_assert_str_eq(session_error(&s, "[1, 2]", "GenericError"), "QMP input must be a JSON object");
	cr_assert_str_eq(session_error(&s, "\"str\"\n", "GenericError"),
			 "QMP input must be a JSON object");
	cr_assert_str_eq(session_error(&s, "42\n", "GenericError"), "QMP input must be a JSON object");
	cr_assert_str_eq(session_error(&s, "{\"id\": 1}", "GenericError"),
			 "QMP input lacks member 'execute'");
	cr_assert_str_eq(session_error(&s, "{\"execute\": 5}", "GenericError"),
			 "QMP input member 'execute' must be a string");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"stop\", \"arguments\": []}", "GenericError"),
			 "QMP input member 'arguments' must be an object");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"stop\", \"arguments\": null}",
				       "GenericError"),
			 "QMP input member 'arguments' must be an object");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"stop\", \"exec-oob\": 1}", "GenericError"),
			 "QMP input member 'exec-oob' is unexpected");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"x-bogus\"}", "CommandNotFound"),
			 "The command x-bogus has not been found");
	cr_assert(strstr(session_error(&s, "{\"execute\": \"stop\", \"execute\": \"quit\"}",
				       "GenericError"), "JSON parse error"));
	cr_assert_eq(s.pauses + s.quits, 0);
}

Test(protocol, argument_errors)
{
	session_negotiate(&s);
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"human-monitor-command\"}", "GenericError"),
			 "Parameter 'command-line' is missing");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"human-monitor-command\", \"arguments\": "
				       "{\"command-line\": 5}}", "GenericError"),
			 "Invalid parameter type for 'command-line', expected: string");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"human-monitor-command\", \"arguments\": "
				       "{\"command-line\": \"info frames\", \"cpu-index\": \"0\"}}",
				       "GenericError"),
			 "Invalid parameter type for 'cpu-index', expected: integer");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"x-query-p2m\", \"arguments\": "
				       "{\"gpa\": \"0x1000\"}}", "GenericError"),
			 "Invalid parameter type for 'gpa', expected: integer");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"x-query-p2m\", \"arguments\": "
				       "{\"gpa\": 1.5}}", "GenericError"),
			 "Invalid parameter type for 'gpa', expected: integer");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"stop\", \"arguments\": {\"now\": true}}",
				       "GenericError"),
			 "Parameter 'now' is unexpected");
	cr_assert_str_eq(session_error(&s, "{\"execute\": \"qmp_capabilities\", \"arguments\": "
				       "{\"enable\": {}}}", "CommandNotFound"),
			 "Capabilities negotiation is already complete, command ignored");
	cr_assert_eq(s.pauses, 0);
}

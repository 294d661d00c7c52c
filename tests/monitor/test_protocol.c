/*
 * QMP protocol conformance, in process: the greeting's shape, nothing but
 * qmp_capabilities before negotiation and not it after, the request's
 * shape checked in QEMU's words, id echoed (any JSON value), unknown
 * commands, wrong argument types, and the framing: several messages per
 * line, one message split byte by byte, malformed JSON answered and
 * skipped, binary junk, and a message past 64 KiB ending the session.
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
		"x-query-p2m", "x-query-regions", "no-such-command",
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

Test(protocol, several_messages_per_line)
{
	session_negotiate(&s);
	cr_assert_eq(session_feed(&s, "{\"execute\":\"query-status\",\"id\":1}{\"execute\":"
				  "\"query-status\",\"id\":2}  \t{\"execute\":\"nope\",\"id\":3}\r\n"), 0);
	for (int id = 1; id <= 3; id++) {
		json_t *r = session_next(&s);
		cr_assert_not_null(r);
		cr_assert_eq(json_integer_value(json_object_get(r, "id")), id);
		cr_assert_not_null(json_object_get(r, id == 3 ? "error" : "return"));
		json_decref(r);
	}
	cr_assert_null(session_next(&s));
}

Test(protocol, message_split_byte_by_byte)
{
	const char *req = "{\"execute\": \"human-monitor-command\", \"id\": \"sp}l{it\","
			  " \"arguments\": {\"command-line\": \"info \\\"frames\\\\\"}}";

	session_negotiate(&s);
	for (const char *p = req; *p; p++) {
		cr_assert_eq(session_feed_bytes(&s, p, 1), 0);
		if (p[1])
			cr_assert_null(session_next(&s), "a reply before the message ended");
	}
	json_t *r = session_next(&s);
	cr_assert_str_eq(json_string_value(json_object_get(r, "id")), "sp}l{it");
	cr_assert(strstr(json_string_value(json_object_get(r, "return")), "unknown command"));
	json_decref(r);
}

Test(protocol, malformed_json_is_answered_and_skipped)
{
	static const char *const bad[] = {
		"{\"execute\": }", "{\"execute\" \"stop\"}", "{'execute': 'stop'}", "{\"a\":1,}",
		"{]", "garbage\n", "{\"execute\": \"sto\np\"}", "{\"execute\": \"\\u0000\"}",
		"{\"a\": \"\xff\xfe\"}", "]\n", "}\n",
	};

	session_negotiate(&s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *desc = session_error(&s, bad[i], "GenericError");
		cr_assert(strstr(desc, "JSON parse error") || strstr(desc, "JSON object"),
			  "%s -> %s", bad[i], desc);
		json_t *r = session_return(&s, "{\"execute\": \"query-status\"}");
		json_decref(r);
	}
	cr_assert_eq(s.pauses + s.quits, 0);
}

Test(protocol, binary_garbage)
{
	unsigned char junk[4096];
	unsigned x = 12345;

	session_negotiate(&s);
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
		/* No line end and no brace: a message that never ends would
		 * only hit the size limit, tested below. */
		if (junk[i] == '\n' || junk[i] == '{' || junk[i] == '[' || junk[i] == '"')
			junk[i] = '#';
	}
	junk[sizeof(junk) - 1] = '\n';
	cr_assert_eq(session_feed_bytes(&s, junk, sizeof(junk)), 0);
	json_t *r = session_next(&s);
	cr_assert_not_null(r, "no reply to the junk");
	json_t *desc = json_object_get(json_object_get(r, "error"), "desc");
	cr_assert(strstr(json_string_value(desc), "JSON parse error"));
	cr_assert_null(session_next(&s), "one junk line, more than one reply");
	json_decref(r);
	json_decref(session_return(&s, "{\"execute\": \"query-status\"}"));
	cr_assert_eq(s.pauses + s.quits, 0);
}

Test(protocol, message_past_64k_ends_the_session)
{
	size_t len = 1 << 20;
	char *line = malloc(len);

	session_negotiate(&s);
	memcpy(line, "{\"execute\": \"query-status\", \"id\": \"", 36);
	memset(line + 36, 'a', len - 36);
	int rc = session_feed_bytes(&s, line, len);
	cr_assert_lt(rc, 0, "a 1 MiB message was taken");
	json_t *r = session_next(&s);
	cr_assert_not_null(r);
	json_t *e = json_object_get(r, "error");
	cr_assert_str_eq(json_string_value(json_object_get(e, "desc")), "Message exceeds 65536 bytes");
	cr_assert_null(session_next(&s), "a reply after the oversized message");
	json_decref(r);
	free(line);
}

Test(protocol, message_of_64k_is_taken)
{
	size_t len = 65536;
	char *line = malloc(len);
	const char *head = "{\"execute\": \"query-status\", \"id\": \"";

	session_negotiate(&s);
	memcpy(line, head, strlen(head));
	memset(line + strlen(head), 'b', len - strlen(head) - 2);
	memcpy(line + len - 2, "\"}", 2);
	cr_assert_eq(session_feed_bytes(&s, line, len), 0);
	json_t *r = session_next(&s);
	cr_assert_not_null(json_object_get(r, "return"));
	cr_assert_eq(strlen(json_string_value(json_object_get(r, "id"))), len - strlen(head) - 2);
	json_decref(r);
	free(line);
}

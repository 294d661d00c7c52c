/*
 * How a session reads its byte stream, in process: several messages on one
 * line, one message split byte by byte (braces and escapes inside strings
 * included), malformed JSON answered and skipped, binary junk, a message of
 * exactly 64 KiB taken and a longer one ending the session.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
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

TestSuite(framing, .init = setup, .fini = teardown);

Test(framing, several_messages_per_line)
{
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

Test(framing, message_split_byte_by_byte)
{
	const char *req = "{\"execute\": \"human-monitor-command\", \"id\": \"sp}l{it\","
			  " \"arguments\": {\"command-line\": \"info \\\"frames\\\\\"}}";

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

Test(framing, malformed_json_is_answered_and_skipped)
{
	static const char *const bad[] = {
		"{\"execute\": }", "{\"execute\" \"stop\"}", "{'execute': 'stop'}", "{\"a\":1,}",
		"{]", "garbage\n", "{\"execute\": \"sto\np\"}", "{\"execute\": \"\\u0000\"}",
		"{\"a\": \"\xff\xfe\"}", "]\n", "}\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *desc = session_error(&s, bad[i], "GenericError");
		cr_assert(strstr(desc, "JSON parse error") || strstr(desc, "JSON object"),
			  "%s -> %s", bad[i], desc);
		json_t *r = session_return(&s, "{\"execute\": \"query-status\"}");
		json_decref(r);
	}
	cr_assert_eq(s.pauses + s.quits, 0);
}

Test(framing, binary_garbage)
{
	unsigned char junk[4096];
	unsigned x = 12345;

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

Test(framing, message_past_64k_ends_the_session)
{
	size_t len = 1 << 20;
	char *line = malloc(len);

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

Test(framing, message_of_64k_is_taken)
{
	size_t len = 65536;
	char *line = malloc(len);
	const char *head = "{\"execute\": \"query-status\", \"id\": \"";

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

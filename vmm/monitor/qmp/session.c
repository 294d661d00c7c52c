/*
 * One client's QMP session: the greeting, bytes in through the framer, each
 * message decoded by jansson and handed to the dispatcher, and every line
 * out through the session's send function.
 *
 * The session (and through the framer its message buffer) is allocated on
 * the target's arena, as all of the VMM's own metadata is; the arena is kept
 * in the session so destroy frees into the one it came from. The lines
 * jansson prints (qmp_line) are jansson's malloc and go back with free().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/config/config.h"
#include "mm/kmalloc.h"
#include "vmm/monitor/qmp/internal.h"

/* A few dozen bytes: one kmalloc object (the 64 KiB buffer is apart). */
_Static_assert(sizeof(struct qmp_session) <= KMALLOC_MAX_SIZE, "qmp_session outgrew kzalloc");

struct qmp_session *qmp_session_create(const struct qmp_env *env, qmp_send_fn send, void *arg)
{
	const struct vm_control *t = env->target;
	struct mm_arena *a = t->arena(t->ctx);
	struct qmp_session *s = kzalloc(a, sizeof(*s));

	if (!s)
		return NULL;
	s->env = env;
	s->arena = a;
	s->send = send;
	s->send_arg = arg;
	if (qmp_framer_init(&s->framer, a)) {
		kfree(a, s);
		return NULL;
	}
	return s;
}

void qmp_session_destroy(struct qmp_session *s)
{
	if (!s)
		return;
	qmp_framer_destroy(&s->framer, s->arena);
	kfree(s->arena, s);
}

bool qmp_session_negotiated(const struct qmp_session *s)
{
	return s->negotiated;
}

/* "0.1.0" -> 0, 1, 0; missing parts are 0. */
static json_t *session_version(void)
{
	unsigned v[3] = { 0, 0, 0 };

	sscanf(VMM_VERSION, "%u.%u.%u", &v[0], &v[1], &v[2]);
	return json_pack("{s:{s:i,s:i,s:i},s:s}", "qemu", "micro", (int)v[2], "minor", (int)v[1],
			 "major", (int)v[0], "package", "memvisor " VMM_VERSION);
}

void qmp_session_greet(struct qmp_session *s)
{
	/* No capability is offered: out-of-band execution needs a second
	 * thread per client, and nothing here blocks long enough to need it. */
	qmp_send_json(s, json_pack("{s:{s:o,s:[]}}", "QMP", "version", session_version(),
				   "capabilities"));
}

static void session_message(void *arg, const char *msg, size_t len)
{
	struct qmp_session *s = arg;
	json_error_t jerr;
	/* Duplicate keys are refused: {"execute": "stop", "execute": "quit"}
	 * must not mean whichever came last. */
	json_t *v = json_loadb(msg, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

	if (!v) {
		char desc[256];
		snprintf(desc, sizeof(desc), "JSON parse error, %s", jerr.text);
		qmp_send_error(s, NULL, "GenericError", desc);
		return;
	}
	qmp_dispatch(s, v);
	json_decref(v);
}

int qmp_session_feed(struct qmp_session *s, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		long took = qmp_framer_push(&s->framer, p, len, session_message, s);
		if (took < 0) {
			char desc[64];
			snprintf(desc, sizeof(desc), "Message exceeds %u bytes", QMP_MAX_MESSAGE);
			qmp_send_error(s, NULL, "GenericError", desc);
			return -EMSGSIZE;
		}
		p += took;
		len -= (size_t)took;
	}
	return 0;
}

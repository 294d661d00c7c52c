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
	const struct monitor_target *t = env->target;
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

void qmp_send_json(struct qmp_session *s, json_t *v)
{
	size_t len;
	char *line = v ? qmp_line(v, &len) : NULL;

	if (line && len > QMP_MAX_REPLY) {
		/* Replaced by an error that keeps the request's id. */
		char desc[96];
		snprintf(desc, sizeof(desc), "Reply of %zu bytes exceeds %u bytes", len, QMP_MAX_REPLY);
		free(line);     /* jansson's (qmp_line) */
		line = NULL;
		json_t *e = json_pack("{s:{s:s,s:s}}", "error", "class", "GenericError", "desc", desc);
		json_t *id = json_object_get(v, "id");
		if (e && (!id || json_object_set(e, "id", id) == 0))
			line = qmp_line(e, &len);
		json_decref(e);
	}
	json_decref(v);
	if (!line) {
		/* Out of memory: a fixed line still tells the client. */
		static const char oom[] =
			"{\"error\": {\"class\": \"GenericError\", \"desc\": \"Out of memory\"}}\r\n";
		s->send(s->send_arg, oom, sizeof(oom) - 1);
		return;
	}
	s->send(s->send_arg, line, len);
	free(line);             /* jansson's (qmp_line) */
}

/* desc as a JSON string. Parts of it come from the client (a command's
 * name) or from jansson's message about its bytes, which may quote a broken
 * UTF-8 sequence; such bytes become '?'. */
static json_t *session_desc(const char *desc)
{
	json_t *v = json_string(desc);

	if (v)
		return v;
	char clean[512];
	size_t i = 0;
	for (; desc[i] && i < sizeof(clean) - 1; i++)
		clean[i] = (unsigned char)desc[i] < 0x80 ? desc[i] : '?';
	clean[i] = '\0';
	return json_string(clean);
}

void qmp_send_error(struct qmp_session *s, json_t *id, const char *cls, const char *desc)
{
	json_t *e = json_pack("{s:{s:s,s:o}}", "error", "class", cls, "desc", session_desc(desc));

	/* QEMU puts the id first in errors. */
	if (e && id) {
		json_t *with_id = json_pack("{s:O}", "id", id);
		if (with_id) {
			json_object_update(with_id, e);
			json_decref(e);
			e = with_id;
		}
	}
	qmp_send_json(s, e);
}

void qmp_emit_event(struct qmp_session *s, const char *name, json_t *data)
{
	if (s->env->event)
		s->env->event(s->env->event_arg, name, data);
}

json_t *qmp_fail(struct qmp_error *err, const char *cls, const char *fmt, ...)
{
	va_list ap;

	err->cls = cls;
	va_start(ap, fmt);
	vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
	va_end(ap);
	return NULL;
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

/*
 * Everything a session sends: replies and the greeting as one JSON line
 * each, errors in QEMU's shape (with the request's id), events through the
 * environment, and the error a command handler hands back. Every other QMP
 * file sends through here, so this file uses none of them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/monitor/qmp/internal.h"

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


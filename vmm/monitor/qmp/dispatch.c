/*
 * From one decoded message to its reply, checking in QEMU's order and
 * with its words: the request's shape (an object with "execute", optional
 * "arguments" and "id", nothing else), capability negotiation, the command
 * name, then the arguments against the command's parameter list.
 */
#include <stdio.h>
#include <string.h>
#include "vmm/monitor/qmp/internal.h"

/* Checks the request's members; on success *name and *args are set (args
 * may be NULL). An error leaves err set. */
static bool dispatch_shape(json_t *msg, const char **name, json_t **args, struct qmp_error *err)
{
	const char *key;
	json_t *val;

	*name = NULL;
	*args = NULL;
	json_object_foreach(msg, key, val) {
		if (!strcmp(key, "execute")) {
			if (!json_is_string(val)) {
				qmp_fail(err, "GenericError", "QMP input member 'execute' must be a string");
				return false;
			}
			*name = json_string_value(val);
		} else if (!strcmp(key, "arguments")) {
			if (!json_is_object(val)) {
				qmp_fail(err, "GenericError", "QMP input member 'arguments' must be an object");
				return false;
			}
			*args = val;
		} else if (strcmp(key, "id")) {
			qmp_fail(err, "GenericError", "QMP input member '%s' is unexpected", key);
			return false;
		}
	}
	if (!*name) {
		qmp_fail(err, "GenericError", "QMP input lacks member 'execute'");
		return false;
	}
	return true;
}

static const char *dispatch_type_name(json_type t)
{
	switch (t) {
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_ARRAY:
		return "array";
	case JSON_OBJECT:
		return "object";
	default:
		return "boolean";
	}
}

/* The arguments against the parameter list: each one in list order
 * (missing, wrong type), then anything the list does not name. */
static bool dispatch_args(const struct qmp_command *cmd, json_t *args, struct qmp_error *err)
{
	const struct qmp_param *p = cmd->params;
	const char *key;
	json_t *val;

	for (; p && p->name; p++) {
		json_t *v = json_object_get(args, p->name);
		if (!v) {
			if (p->optional)
				continue;
			qmp_fail(err, "GenericError", "Parameter '%s' is missing", p->name);
			return false;
		}
		if (p->type != QMP_PARAM_ANY && json_typeof(v) != p->type) {
			qmp_fail(err, "GenericError", "Invalid parameter type for '%s', expected: %s",
				 p->name, dispatch_type_name(p->type));
			return false;
		}
	}
	json_object_foreach(args, key, val) {
		bool known = false;
		for (p = cmd->params; p && p->name && !known; p++)
			known = !strcmp(p->name, key);
		if (!known) {
			qmp_fail(err, "GenericError", "Parameter '%s' is unexpected", key);
			return false;
		}
	}
	return true;
}

/* The command's reply, or NULL with err set. */
static json_t *dispatch_run(struct qmp_session *s, json_t *msg, struct qmp_error *err)
{
	const char *name;
	json_t *args;

	if (!json_is_object(msg))
		return qmp_fail(err, "GenericError", "QMP input must be a JSON object");
	if (!dispatch_shape(msg, &name, &args, err))
		return NULL;
	bool caps = !strcmp(name, "qmp_capabilities");
	if (!s->negotiated && !caps)
		return qmp_fail(err, "CommandNotFound",
				"Expecting capabilities negotiation with 'qmp_capabilities'");
	if (s->negotiated && caps)
		return qmp_fail(err, "CommandNotFound",
				"Capabilities negotiation is already complete, command ignored");
	const struct qmp_command *cmd = qmp_command_find(name);
	if (!cmd)
		return qmp_fail(err, "CommandNotFound", "The command %s has not been found", name);
	json_t *empty = NULL;
	if (!args)
		args = empty = json_object();
	json_t *ret = NULL;
	if (!args)
		qmp_fail(err, "GenericError", "Out of memory");
	else if (dispatch_args(cmd, args, err))
		ret = qmp_command_run(s, cmd, args, err);
	json_decref(empty);
	return ret;
}

void qmp_dispatch(struct qmp_session *s, json_t *msg)
{
	struct qmp_error err = { .cls = "GenericError", .desc = "" };
	/* QEMU echoes the id even when the request is refused. */
	json_t *id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
	json_t *ret = dispatch_run(s, msg, &err);

	if (!ret) {
		qmp_send_error(s, id, err.cls, err.desc);
		return;
	}
	json_t *reply = json_pack("{s:o}", "return", ret);
	if (reply && id && json_object_set(reply, "id", id)) {
		json_decref(reply);
		reply = NULL;
	}
	qmp_send_json(s, reply);
}

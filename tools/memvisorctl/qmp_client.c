/*
 * The QMP session on top of the transport (qmp_wire.c): the greeting that
 * tells a QMP monitor from any other socket, capability negotiation, and
 * commands. Each command gets an id of its own and its reply is the one
 * that echoes it; events that arrive meanwhile (QEMU sends STOP before the
 * reply to stop, SHUTDOWN before the reply to quit) are set aside in order.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "qmp_client.h"
#include "qmp_wire.h"

static long long deadline(const struct qmp_client *c)
{
	return qmp_wire_now_ms() + c->timeout_ms;
}

int qmp_open(struct qmp_client *c, const char *path, int timeout_ms)
{
	json_t *m = NULL;

	*c = (struct qmp_client){ .fd = -1, .timeout_ms = timeout_ms, .next_id = 1 };
	c->events = json_array();
	if (!c->events)
		return qmp_wire_fail(c, -ENOMEM, "out of memory");
	int rc = qmp_wire_connect(c, path);
	if (rc)
		return rc;
	rc = qmp_wire_recv(c, &m, deadline(c));
	if (rc == -ETIMEDOUT)
		return qmp_wire_fail(c, -EPROTO, "not a QMP monitor (no greeting within %d ms)", timeout_ms);
	if (rc == -ECONNRESET)
		return qmp_wire_fail(c, -ECONNRESET, "the monitor closed the connection before its greeting");
	if (rc == -EPROTO || rc == -EMSGSIZE)
		return qmp_wire_fail(c, -EPROTO, "not a QMP monitor (its first message is not JSON)");
	if (rc)
		return rc;
	/* A server at its limit may turn a client away with an error. */
	const char *desc = json_string_value(json_object_get(json_object_get(m, "error"), "desc"));
	json_t *qmp = json_object_get(m, "QMP");
	if (json_is_object(qmp))
		c->greeting = json_incref(qmp);
	json_decref(m);
	if (desc)
		return qmp_wire_fail(c, -ECONNREFUSED, "the monitor refused the session: %s", desc);
	if (!c->greeting)
		return qmp_wire_fail(c, -EPROTO, "not a QMP monitor (no QMP greeting)");
	return 0;
}

int qmp_negotiate(struct qmp_client *c)
{
	json_t *ret;
	int rc = qmp_call(c, "qmp_capabilities", NULL, &ret);

	if (rc)
		return rc;
	bool empty = json_is_object(ret) && json_object_size(ret) == 0;
	json_decref(ret);
	return empty ? 0 : qmp_wire_fail(c, -EPROTO, "qmp_capabilities did not return {}");
}

int qmp_connect(struct qmp_client *c, const char *path, int timeout_ms)
{
	int rc = qmp_open(c, path, timeout_ms);

	return rc ? rc : qmp_negotiate(c);
}

static bool is_reply(json_t *m)
{
	return json_object_get(m, "return") || json_object_get(m, "error");
}

static void set_aside(struct qmp_client *c, json_t *event)
{
	if (json_array_size(c->events) >= QMP_CLIENT_MAX_EVENTS)
		json_array_remove(c->events, 0);
	json_array_append(c->events, event);
}

int qmp_send(struct qmp_client *c, json_t *request, json_t **reply)
{
	long long until = deadline(c);
	json_t *id = json_object_get(request, "id");
	int rc = qmp_wire_send(c, request, until);

	while (!rc) {
		json_t *m;
		if ((rc = qmp_wire_recv(c, &m, until)))
			break;
		if (is_reply(m)) {
			json_t *echo = json_object_get(m, "id");
			/* A reply to someone else's id (a raw request whose reply
			 * nobody waited for) is not ours. */
			if (!id || (echo && json_equal(echo, id))) {
				*reply = m;
				return 0;
			}
		} else if (json_is_string(json_object_get(m, "event"))) {
			set_aside(c, m);
		} else {
			json_decref(m);
			return qmp_wire_fail(c, -EPROTO,
					     "the monitor sent a message that is neither a reply nor an event");
		}
		json_decref(m);
	}
	return rc;
}

int qmp_execute(struct qmp_client *c, const char *command, json_t *arguments, json_t **reply)
{
	json_t *req = json_pack("{s:s, s:I}", "execute", command, "id", c->next_id++);

	if (!req || (arguments && json_object_set(req, "arguments", arguments))) {
		json_decref(req);
		return qmp_wire_fail(c, -ENOMEM, "out of memory");
	}
	int rc = qmp_send(c, req, reply);
	json_decref(req);
	return rc;
}

int qmp_call(struct qmp_client *c, const char *command, json_t *arguments, json_t **ret)
{
	json_t *reply;
	int rc = qmp_execute(c, command, arguments, &reply);

	if (rc)
		return rc;
	json_t *value = json_object_get(reply, "return");
	if (value) {
		*ret = json_incref(value);
		json_decref(reply);
		return 0;
	}
	const char *desc = json_string_value(json_object_get(json_object_get(reply, "error"), "desc"));
	rc = qmp_wire_fail(c, -EREMOTEIO, "%s", desc ? desc : "the monitor reported an error without a description");
	json_decref(reply);
	return rc;
}

int qmp_read_message(struct qmp_client *c, json_t **msg)
{
	return qmp_wire_recv(c, msg, deadline(c));
}

json_t *qmp_take_events(struct qmp_client *c)
{
	json_t *taken = c->events;

	c->events = json_array();
	return taken;
}

const char *qmp_error(const struct qmp_client *c)
{
	return c->err;
}

void qmp_close(struct qmp_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	json_decref(c->greeting);
	json_decref(c->events);
	*c = (struct qmp_client){ .fd = -1 };
}

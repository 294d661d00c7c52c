/*
 * The QMP protocol, without sockets: one struct qmp_session per client
 * turns the bytes it sends into replies (greeting, capability negotiation,
 * framing, dispatch of the commands, errors in QEMU's words). Bytes go in
 * through qmp_session_feed; every line out goes through the session's send
 * function, and events to all clients through the environment's event
 * function. The socket layer (monitor/server.c), the tests and the fuzz
 * target drive sessions through this interface alone.
 */
#ifndef VMM_QMP_H
#define VMM_QMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "vmm/core/vm_control.h"

/* Longest message a client may send; longer ends the session. */
#define QMP_MAX_MESSAGE (64u * 1024)
/* Longest reply; a longer one is replaced by an error. */
#define QMP_MAX_REPLY (4u << 20)

/* What every session of one monitor shares. */
struct qmp_env {
	const struct vm_control *target;
	/* An event for every negotiated client: name and data (a borrowed
	 * reference, or NULL). Called on the thread that feeds the session. */
	void (*event)(void *arg, const char *name, json_t *data);
	void *event_arg;
};

/* One line out, "\r\n" included; line is valid only during the call. */
typedef void (*qmp_send_fn)(void *arg, const char *line, size_t len);

struct qmp_session;

/* NULL when out of memory. env must outlive the session. */
struct qmp_session *qmp_session_create(const struct qmp_env *env, qmp_send_fn send, void *arg);
void qmp_session_destroy(struct qmp_session *s);

/* Sends the greeting; call once, first. */
void qmp_session_greet(struct qmp_session *s);

/*
 * Takes bytes from the client and answers every message they complete.
 * 0, or -EMSGSIZE when a message passed QMP_MAX_MESSAGE: the error reply
 * has been sent and the session must end.
 */
int qmp_session_feed(struct qmp_session *s, const void *data, size_t len);

/* qmp_capabilities has succeeded: the client gets events. */
bool qmp_session_negotiated(const struct qmp_session *s);

/*
 * An event line, as QEMU sends it: {"timestamp": {...}, "event": name,
 * "data": data} with "\r\n" (data borrowed, may be NULL). malloc'd, its
 * length in *len; NULL when out of memory.
 */
char *qmp_event_line(const char *name, json_t *data, size_t *len);

/* The JSON line of v with "\r\n"; malloc'd, NULL when out of memory. */
char *qmp_line(json_t *v, size_t *len);

#endif

/*
 * A QMP client over a Unix socket: connect, read and check the greeting,
 * negotiate capabilities, run commands with an id and wait for their reply
 * while setting asynchronous events aside, all within a time limit. It
 * speaks the protocol only, so it works against memvisor and QEMU alike:
 * memvisorctl uses it, and so does the test that compares the two.
 *
 * Functions return 0 or a negative errno and leave a one-line reason in
 * the client (qmp_error): -ENOENT no such socket, -ENOTSOCK not a socket,
 * -ECONNREFUSED connection refused, -EPROTO not a QMP monitor (or a reply
 * that is not QMP), -ETIMEDOUT, -ECONNRESET the server closed the
 * connection, -EMSGSIZE a message over QMP_CLIENT_MAX_MESSAGE, -EREMOTEIO
 * the server answered with a QMP error (its "desc" is the reason).
 */
#ifndef MEMVISORCTL_QMP_CLIENT_H
#define MEMVISORCTL_QMP_CLIENT_H

#include <stddef.h>
#include <jansson.h>

/* Replies carry whole allocator dumps; anything larger is not a monitor
 * we should trust with our memory. */
#define QMP_CLIENT_MAX_MESSAGE (16u << 20)
/* Events kept while waiting for replies; older ones are dropped. */
#define QMP_CLIENT_MAX_EVENTS 256

struct qmp_client {
	int fd;
	int timeout_ms;                 /* for each connect, command or read */
	char *buf;                      /* received bytes not yet split into lines */
	size_t len, cap;
	json_t *greeting;               /* the greeting's "QMP" object */
	json_t *events;                 /* array: events seen while waiting */
	json_int_t next_id;
	char err[512];
};

/*
 * Connects to path and reads the greeting; nothing is negotiated yet.
 * The client must be closed with qmp_close even when this fails.
 */
int qmp_open(struct qmp_client *c, const char *path, int timeout_ms);
/* qmp_open, then qmp_capabilities: the client is ready for commands. */
int qmp_connect(struct qmp_client *c, const char *path, int timeout_ms);
/* Sends qmp_capabilities and checks that it returned {}. */
int qmp_negotiate(struct qmp_client *c);

/*
 * Runs command with arguments (NULL: none; the reference stays the
 * caller's) and returns the whole reply object in *reply (a new reference):
 * it has "return" or "error" and the id this client gave the request.
 * A QMP error is a reply like any other here: the result is 0.
 */
int qmp_execute(struct qmp_client *c, const char *command, json_t *arguments, json_t **reply);
/*
 * Like qmp_execute, but *ret is the reply's "return" value (a new
 * reference), and a QMP error is -EREMOTEIO with its class and desc in
 * qmp_error.
 */
int qmp_call(struct qmp_client *c, const char *command, json_t *arguments, json_t **ret);
/*
 * Sends request exactly as given and returns the reply to it: the reply
 * that echoes its "id" if it has one, else the next reply. Events are set
 * aside as usual.
 */
int qmp_send(struct qmp_client *c, json_t *request, json_t **reply);
/*
 * The next message of any kind (reply or event; a new reference), for
 * callers that wait for an event or for the server to close (-ECONNRESET).
 * Events already set aside are not returned again.
 */
int qmp_read_message(struct qmp_client *c, json_t **msg);

/* The events set aside so far (an array, a new reference); the client's
 * list starts empty again. */
json_t *qmp_take_events(struct qmp_client *c);
const char *qmp_error(const struct qmp_client *c);
void qmp_close(struct qmp_client *c);

#endif

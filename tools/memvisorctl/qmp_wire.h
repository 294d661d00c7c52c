/*
 * The QMP client's transport (qmp_wire.c): a Unix stream socket carrying
 * one JSON message per line, each way, with deadlines. Only qmp_client.c
 * uses it.
 */
#ifndef MEMVISORCTL_QMP_WIRE_H
#define MEMVISORCTL_QMP_WIRE_H

#include "qmp_client.h"

/* A point in CLOCK_MONOTONIC time, in milliseconds. */
long long qmp_wire_now_ms(void);

/* Connects c->fd to path; the errors are the ones qmp_client.h lists. */
int qmp_wire_connect(struct qmp_client *c, const char *path);
/* Sends msg as one line, by the deadline. */
int qmp_wire_send(struct qmp_client *c, json_t *msg, long long deadline_ms);
/* Receives the next message (a new reference), by the deadline. */
int qmp_wire_recv(struct qmp_client *c, json_t **msg, long long deadline_ms);

/* Sets c->err from a format; returns rc, so callers can `return fail(...)`. */
int qmp_wire_fail(struct qmp_client *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

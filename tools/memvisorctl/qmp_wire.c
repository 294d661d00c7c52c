/*
 * The QMP transport: connecting to the monitor's Unix socket and moving
 * newline-terminated JSON messages with deadlines. The socket is
 * non-blocking and every wait is a poll bounded by the caller's deadline,
 * so a server that stops talking costs a timeout, never a hang. Received
 * bytes are buffered until a whole line is there; a line longer than
 * QMP_CLIENT_MAX_MESSAGE ends the session.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "qmp_wire.h"

long long qmp_wire_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int qmp_wire_fail(struct qmp_client *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* Waits for fd to become ready for events; -ETIMEDOUT past the deadline. */
static int wire_wait(struct qmp_client *c, short events, long long deadline_ms)
{
	for (;;) {
		long long left = deadline_ms - qmp_wire_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = c->fd, .events = events };
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int qmp_wire_connect(struct qmp_client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return qmp_wire_fail(c, -ENAMETOOLONG, "socket path too long (at most %zu bytes)",
				     sizeof(sa.sun_path) - 1);
	/* connect() says "refused" for a plain file too; say what it is. */
	if (stat(path, &st) < 0)
		return qmp_wire_fail(c, -errno, "%s", errno == ENOENT ? "no such socket" : strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return qmp_wire_fail(c, -ENOTSOCK, "not a socket");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return qmp_wire_fail(c, -errno, "socket: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	int err = errno;
	if (err == EAGAIN || err == EINPROGRESS) {
		/* The listener's backlog is full: wait for room, not forever. */
		socklen_t len = sizeof(err);
		int rc = wire_wait(c, POLLOUT, qmp_wire_now_ms() + c->timeout_ms);
		if (rc == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
			return 0;
		if (rc)
			return qmp_wire_fail(c, rc, "the monitor does not accept the connection");
	}
	if (err == ECONNREFUSED)
		return qmp_wire_fail(c, -ECONNREFUSED, "connection refused (no monitor listens there)");
	return qmp_wire_fail(c, -err, "%s", strerror(err));
}

int qmp_wire_send(struct qmp_client *c, json_t *msg, long long deadline_ms)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	if (!text)
		return qmp_wire_fail(c, -ENOMEM, "cannot encode the request");
	size_t len = strlen(text), done = 0;
	int rc = 0;

	text[len++] = '\n';   /* json_dumps's NUL becomes the line end */
	while (done < len && !rc) {
		ssize_t n = send(c->fd, text + done, len - done, MSG_NOSIGNAL);
		if (n > 0)
			done += (size_t)n;
		else if (errno == EAGAIN)
			rc = wire_wait(c, POLLOUT, deadline_ms);
		else if (errno != EINTR)
			rc = errno == EPIPE || errno == ECONNRESET ? -ECONNRESET : -errno;
	}
	free(text);
	if (rc == -ETIMEDOUT)
		return qmp_wire_fail(c, rc, "timed out sending a request");
	if (rc == -ECONNRESET)
		return qmp_wire_fail(c, rc, "the monitor closed the connection");
	return rc ? qmp_wire_fail(c, rc, "send: %s", strerror(-rc)) : 0;
}

/* Reads what the socket has into the buffer: 0, or an error. */
static int wire_fill(struct qmp_client *c, long long deadline_ms)
{
	int rc = wire_wait(c, POLLIN, deadline_ms);
	if (rc == -ETIMEDOUT)
		return qmp_wire_fail(c, rc, "timed out waiting for the monitor");
	if (rc)
		return qmp_wire_fail(c, rc, "poll: %s", strerror(-rc));
	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? c->cap * 2 : 8192;
		char *p = realloc(c->buf, cap);
		if (!p)
			return qmp_wire_fail(c, -ENOMEM, "out of memory");
		c->buf = p;
		c->cap = cap;
	}
	ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n > 0) {
		c->len += (size_t)n;
		return 0;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == 0 || errno == ECONNRESET)
		return qmp_wire_fail(c, -ECONNRESET, "the monitor closed the connection");
	return qmp_wire_fail(c, -errno, "recv: %s", strerror(errno));
}

int qmp_wire_recv(struct qmp_client *c, json_t **msg, long long deadline_ms)
{
	size_t scanned = 0;

	for (;;) {
		char *nl = c->len > scanned ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
		if (!nl) {
			if (c->len > QMP_CLIENT_MAX_MESSAGE)
				return qmp_wire_fail(c, -EMSGSIZE, "a message from the monitor exceeds %u MiB",
						     QMP_CLIENT_MAX_MESSAGE >> 20);
			scanned = c->len;
			int rc = wire_fill(c, deadline_ms);
			if (rc)
				return rc;
			continue;
		}
		size_t line = (size_t)(nl - c->buf);
		bool blank = line == 0 || (line == 1 && c->buf[0] == '\r');
		json_error_t jerr;
		json_t *m = blank ? NULL : json_loadb(c->buf, line, 0, &jerr);
		memmove(c->buf, nl + 1, c->len - line - 1);
		c->len -= line + 1;
		scanned = 0;
		if (blank)
			continue;               /* blank lines carry nothing */
		if (!m)
			return qmp_wire_fail(c, -EPROTO, "the monitor sent invalid JSON: %s", jerr.text);
		if (!json_is_object(m)) {
			json_decref(m);
			return qmp_wire_fail(c, -EPROTO, "the monitor sent JSON that is not an object");
		}
		*msg = m;
		return 0;
	}
}

/*
 * A line-reading QMP client over a Unix socket for the monitor tests (see
 * mon_client.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "mon_client.h"

int mon_connect(struct mon_client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(c->fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		return -e;
	}
	return 0;
}

void mon_close(struct mon_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}

bool mon_send_bytes(struct mon_client *c, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool mon_send(struct mon_client *c, const char *text)
{
	return mon_send_bytes(c, text, strlen(text));
}

/* Reads more into the buffer; 1 got bytes, 0 EOF, -1 timeout. */
static int client_fill(struct mon_client *c, double end)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	double left = end - test_now();

	if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
		return -1;
	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 131072;
		c->buf = realloc(c->buf, c->cap);
		cr_assert_not_null(c->buf);
	}
	ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	return 1;
}

json_t *mon_read(struct mon_client *c, double timeout_s)
{
	double end = test_now() + timeout_s;

	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl) {
			size_t len = (size_t)(nl - c->buf) + 1;
			cr_assert(len >= 2 && nl[-1] == '\r', "a line not ending in \\r\\n");
			json_error_t err;
			json_t *v = json_loadb(c->buf, len - 2, 0, &err);
			cr_assert_not_null(v, "not JSON (%s): %.*s", err.text, (int)len, c->buf);
			memmove(c->buf, c->buf + len, c->len - len);
			c->len -= len;
			return v;
		}
		if (client_fill(c, end) <= 0)
			return NULL;
	}
}

bool mon_wait_eof(struct mon_client *c, double timeout_s)
{
	double end = test_now() + timeout_s;

	for (;;) {
		c->len = 0;
		int r = client_fill(c, end);
		if (r == 0)
			return true;
		if (r < 0)
			return false;
	}
}

bool mon_connect_greeted(struct mon_client *c, const char *path, double timeout_s)
{
	double end = test_now() + timeout_s;

	for (;;) {
		if (mon_connect(c, path) == 0) {
			json_t *g = mon_read(c, end - test_now());
			bool greeted = g && json_object_get(g, "QMP");
			json_decref(g);
			if (greeted)
				return true;
			mon_close(c);
		}
		if (test_now() >= end)
			return false;
		usleep(20000);
	}
}

void mon_negotiate(struct mon_client *c)
{
	json_t *g = mon_read(c, 10);

	cr_assert_not_null(g, "no greeting");
	cr_assert_not_null(json_object_get(g, "QMP"));
	json_decref(g);
	json_t *r = mon_cmd(c, "{\"execute\": \"qmp_capabilities\"}");
	cr_assert_not_null(json_object_get(r, "return"));
	json_decref(r);
}

json_t *mon_cmd(struct mon_client *c, const char *text)
{
	cr_assert(mon_send(c, text), "the server closed the connection");
	for (;;) {
		json_t *v = mon_read(c, 20);
		cr_assert_not_null(v, "no reply to %s", text);
		if (!json_object_get(v, "event"))
			return v;
		json_decref(v);
	}
}

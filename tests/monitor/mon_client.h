/*
 * A small QMP client for the monitor tests: connects to a Unix socket,
 * sends bytes, and reads the server's lines one JSON object at a time with
 * a time limit.
 */
#ifndef TESTS_MONITOR_MON_CLIENT_H
#define TESTS_MONITOR_MON_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "tests/support/test_env.h"

struct mon_client {
	int fd;
	char *buf;
	size_t len, cap;
};

/* 0 or -errno. */
int mon_connect(struct mon_client *c, const char *path);
void mon_close(struct mon_client *c);
/* Sends all of text (NUL-terminated) / len bytes; false if the server
 * closed the connection. */
bool mon_send(struct mon_client *c, const char *text);
bool mon_send_bytes(struct mon_client *c, const void *data, size_t len);
/* The next line, decoded (must be a JSON object); NULL on EOF or after
 * timeout_s. */
json_t *mon_read(struct mon_client *c, double timeout_s);
/* True when the server closes the connection within timeout_s (lines
 * still arriving are read and dropped). */
bool mon_wait_eof(struct mon_client *c, double timeout_s);
/*
 * Connects and reads the greeting, again and again for up to timeout_s
 * while the server turns the connection away for lack of a free slot (it
 * may not have seen other clients leave yet). false if it never greets.
 */
bool mon_connect_greeted(struct mon_client *c, const char *path, double timeout_s);
/* Reads the greeting and negotiates. */
void mon_negotiate(struct mon_client *c);
/* Sends text and returns the next line that is not an event. */
json_t *mon_cmd(struct mon_client *c, const char *text);


#endif

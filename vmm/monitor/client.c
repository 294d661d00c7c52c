/*
 * One monitor connection: its QMP session, and the bounded queue of lines
 * waiting for the client to read them. Sockets are nonblocking and only
 * the monitor's thread touches them, so a client that reads slowly or not
 * at all only grows its own queue, and is dropped when that passes
 * MONITOR_MAX_QUEUED (or takes the queues' shared allowance past
 * MONITOR_MAX_QUEUED_TOTAL, see monitor.h): the other clients and the VM
 * never wait for it.
 *
 * The queue is VMM metadata on the monitor's arena: kvmalloc, since it
 * grows to megabytes, and as there is no krealloc it grows by allocating
 * the doubled size, copying what is queued and freeing the old buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "mm/kmalloc.h"
#include "vmm/monitor/internal.h"

static void client_send(void *arg, const char *line, size_t len)
{
	monitor_client_queue(arg, line, len);
}

void monitor_client_accept(struct monitor *m, int fd)
{
	struct monitor_client *c = NULL;

	for (unsigned i = 0; i < MONITOR_MAX_CLIENTS && !c; i++) {
		if (m->clients[i].fd < 0)
			c = &m->clients[i];
	}
	if (!c) {
		char line[128];
		int n = snprintf(line, sizeof(line),
				 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
				 "\"Too many monitor clients (%d)\"}}\r\n", MONITOR_MAX_CLIENTS);
		/* Best effort: a fresh socket's buffer takes one short line. */
		(void)send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	*c = (struct monitor_client){ .fd = fd, .mon = m };
	c->session = qmp_session_create(&m->env, client_send, c);
	if (!c->session) {
		monitor_client_close(c);
		return;
	}
	qmp_session_greet(c->session);
	monitor_client_flush(c);
}

/* At most MONITOR_READ_CHUNK bytes a round (internal.h says why). */
void monitor_client_read(struct monitor_client *c)
{
	struct monitor *m = c->mon;
	ssize_t n = read(c->fd, m->rbuf, MONITOR_READ_CHUNK);

	if (n > 0) {
		/* A message past QMP_MAX_MESSAGE: its error is queued, and the
		 * rest of the stream cannot be trusted to resynchronise. */
		if (qmp_session_feed(c->session, m->rbuf, (size_t)n))
			c->eof = true;
	} else if (n == 0) {
		c->eof = true;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		c->drop = true;
	}
}

/* What a queue of cap bytes takes from the clients' shared allowance. */
static size_t queue_shared(size_t cap)
{
	return cap > MONITOR_QUEUE_OWN ? cap - MONITOR_QUEUE_OWN : 0;
}

void monitor_client_queue(struct monitor_client *c, const char *line, size_t len)
{
	size_t queued = c->out_len - c->out_head;

	if (c->drop)
		return;
	if (len > MONITOR_MAX_QUEUED - queued) {
		c->drop = true;
		return;
	}
	if (c->out_head) {
		memmove(c->out, c->out + c->out_head, queued);
		c->out_len = queued;
		c->out_head = 0;
	}
	if (queued + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
		while (cap < queued + len)
			cap *= 2;
		struct monitor *m = c->mon;
		char *out = m->queue_bytes - queue_shared(c->out_cap) + queue_shared(cap) >
					    MONITOR_MAX_QUEUED_TOTAL
				    ? NULL : kvmalloc(m->arena, cap);
		if (!out) {
			c->drop = true;
			return;
		}
		/* Compacted above: what is queued is [0, queued). */
		if (queued)
			memcpy(out, c->out, queued);
		kvfree(m->arena, c->out);
		m->queue_bytes += queue_shared(cap) - queue_shared(c->out_cap);
		c->out = out;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, len);
	c->out_len += len;
}

void monitor_client_flush(struct monitor_client *c)
{
	while (!c->drop && c->out_head < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_head, c->out_len - c->out_head,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_head += (size_t)n;
			c->mon->sent += (uint64_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				c->drop = true;
			break;
		}
	}
	if (c->out_head == c->out_len)
		c->out_head = c->out_len = 0;
	/* A client that has said all it will and has read everything. */
	if (c->eof && !monitor_client_pending(c))
		c->drop = true;
}

bool monitor_client_pending(const struct monitor_client *c)
{
	return c->out_head < c->out_len;
}

void monitor_client_close(struct monitor_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	qmp_session_destroy(c->session);
	/* A free slot has no monitor (and no queue); kvfree ignores NULL. */
	if (c->mon) {
		kvfree(c->mon->arena, c->out);
		c->mon->queue_bytes -= queue_shared(c->out_cap);
	}
	*c = (struct monitor_client){ .fd = -1 };
}

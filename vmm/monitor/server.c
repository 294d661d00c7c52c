/*
 * The monitor's thread: one poll() over the listening socket, every client
 * and a wake-up eventfd; accepting, reading, answering and sending without
 * ever blocking on a client. Events go to every negotiated client.
 *
 * At the end of the run (monitor_stop) it sends SHUTDOWN, stops reading,
 * and gives the clients up to MONITOR_FLUSH_MS to take what is queued for
 * them (while they keep taking it) before every connection is closed.
 *
 * struct monitor (over 64 KiB, the read buffer included) is kvzalloc'd on
 * the target's arena and kvfree'd there by monitor_stop or a failed start.
 * Event lines are jansson's (qmp_event_line) and go back with free().
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "mm/kmalloc.h"
#include "vmm/monitor/internal.h"
#include "vmm/monitor/qmp/cmd_balloon.h"

#define MONITOR_FLUSH_MS 1000
/* ...but no longer than this after the last byte any of them took: a
 * client that reads nothing does not hold up the end of the run. */
#define MONITOR_FLUSH_STALL_MS 150
/* How long to leave the listening socket alone when accept() runs out of
 * descriptors, instead of being woken for it at once again. */
#define MONITOR_ACCEPT_BACKOFF_MS 100

static void server_event(void *arg, const char *name, json_t *data)
{
	struct monitor *m = arg;
	size_t len;

	if (!strcmp(name, "SHUTDOWN")) {
		if (m->shutdown_sent)
			return;
		m->shutdown_sent = true;
	}
	char *line = qmp_event_line(name, data, &len);
	if (!line)
		return;
	for (unsigned i = 0; i < MONITOR_MAX_CLIENTS; i++) {
		struct monitor_client *c = &m->clients[i];
		if (c->fd >= 0 && qmp_session_negotiated(c->session))
			monitor_client_queue(c, line, len);
	}
	free(line);     /* jansson's: qmp_event_line is json_dumps' text */
}

static long server_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Accepts every pending connection; false when out of descriptors. */
static bool server_accept(struct monitor *m)
{
	for (;;) {
		int fd = accept4(m->sock.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			monitor_client_accept(m, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK;
	}
}

/* Checks for monitor_stop; on the first sight sends SHUTDOWN. */
static bool server_stopping(struct monitor *m)
{
	pthread_mutex_lock(&m->lock);
	bool stop = m->stop;
	json_t *data = stop ? json_pack("{s:b,s:s}", "guest", m->stop_guest, "reason",
					m->stop_reason) : NULL;
	pthread_mutex_unlock(&m->lock);
	if (data) {
		server_event(m, "SHUTDOWN", data);
		json_decref(data);
	}
	return stop;
}

static bool server_any_pending(struct monitor *m)
{
	for (unsigned i = 0; i < MONITOR_MAX_CLIENTS; i++) {
		if (m->clients[i].fd >= 0 && monitor_client_pending(&m->clients[i]))
			return true;
	}
	return false;
}

/* One poll and what it found. stopping: read nothing more, only send. */
static void server_round(struct monitor *m, bool stopping, int timeout_ms, long *accept_after)
{
	struct pollfd fds[2 + MONITOR_MAX_CLIENTS];
	unsigned slot[2 + MONITOR_MAX_CLIENTS];
	nfds_t n = 0;
	bool listen_now = !stopping && server_now_ms() >= *accept_after;

	fds[n++] = (struct pollfd){ .fd = m->wake_fd, .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = listen_now ? m->sock.fd : -1, .events = POLLIN };
	if (!listen_now && !stopping)
		timeout_ms = MONITOR_ACCEPT_BACKOFF_MS;
	for (unsigned i = 0; i < MONITOR_MAX_CLIENTS; i++) {
		struct monitor_client *c = &m->clients[i];
		if (c->fd < 0)
			continue;
		short ev = (short)((!c->eof && !stopping ? POLLIN : 0) |
				   (monitor_client_pending(c) ? POLLOUT : 0));
		slot[n] = i;
		fds[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
	}
	if (poll(fds, n, timeout_ms) < 0)
		return;     /* EINTR: the caller looks again */
	if (fds[0].revents & POLLIN) {
		uint64_t v;
		(void)!read(m->wake_fd, &v, sizeof(v));
	}
	/* The balloon driver changed `actual`: tell every client, as QEMU. */
	uint64_t actual;
	if (balloon_watch_take(&m->balloon, &actual)) {
		json_t *data = qmp_balloon_change_data(actual);
		server_event(m, "BALLOON_CHANGE", data);
		json_decref(data);
	}
	if ((fds[1].revents & POLLIN) && !server_accept(m))
		*accept_after = server_now_ms() + MONITOR_ACCEPT_BACKOFF_MS;
	for (nfds_t k = 2; k < n; k++) {
		struct monitor_client *c = &m->clients[slot[k]];
		if (fds[k].revents & POLLERR)
			c->drop = true;
		else if ((fds[k].revents & (POLLIN | POLLHUP)) && !c->eof && !stopping)
			monitor_client_read(c);
		else if (fds[k].revents & POLLHUP)
			c->drop = true;
	}
	for (unsigned i = 0; i < MONITOR_MAX_CLIENTS; i++) {
		struct monitor_client *c = &m->clients[i];
		if (c->fd >= 0)
			monitor_client_flush(c);
		if (c->fd >= 0 && c->drop)
			monitor_client_close(c);
	}
}

static void *server_thread(void *arg)
{
	struct monitor *m = arg;
	long deadline = 0, accept_after = 0, progress = 0;
	uint64_t sent = 0;

	for (;;) {
		bool stopping = server_stopping(m);
		int timeout = -1;
		if (stopping) {
			long now = server_now_ms();
			if (!deadline)
				deadline = now + MONITOR_FLUSH_MS;
			if (!progress || m->sent != sent) {
				progress = now;
				sent = m->sent;
			}
			if (now >= deadline || now - progress >= MONITOR_FLUSH_STALL_MS ||
			    !server_any_pending(m))
				break;
			timeout = (int)(deadline - now < MONITOR_FLUSH_STALL_MS ?
					deadline - now : MONITOR_FLUSH_STALL_MS);
		}
		server_round(m, stopping, timeout, &accept_after);
	}
	for (unsigned i = 0; i < MONITOR_MAX_CLIENTS; i++) {
		if (m->clients[i].fd >= 0)
			monitor_client_close(&m->clients[i]);
	}
	return NULL;
}

int monitor_start(const char *path, const struct vm_control *target, struct monitor **out,
		  char *err, size_t errlen)
{
	struct mm_arena *a = target->arena(target->ctx);
	/* Past kmalloc's 8 KiB (32 client slots): kvzalloc. */
	struct monitor *m = kvzalloc(a, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	m->arena = a;
	m->target = *target;
	m->env = (struct qmp_env){ .target = &m->target, .event = server_event, .event_arg = m };
	for (unsigned i = 0; i < MONITOR_MAX_CLIENTS; i++)
		m->clients[i].fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int rc = m->wake_fd < 0 ? -errno : 0;
	if (rc)
		snprintf(err, errlen, "%s: eventfd: %s", path, strerror(-rc));
	else
		rc = monitor_socket_open(&m->sock, path, err, errlen);
	if (!rc) {
		balloon_watch_start(&m->balloon, &m->target, m->wake_fd);
		rc = -pthread_create(&m->thread, NULL, server_thread, m);
		if (rc) {
			snprintf(err, errlen, "%s: starting the monitor thread: %s", path, strerror(-rc));
			balloon_watch_stop(&m->balloon, &m->target);
			monitor_socket_close(&m->sock);
		}
	}
	if (rc) {
		if (m->wake_fd >= 0)
			close(m->wake_fd);
		pthread_mutex_destroy(&m->lock);
		kvfree(a, m);
		return rc;
	}
	*out = m;
	return 0;
}

void monitor_stop(struct monitor *m, bool guest, const char *reason)
{
	uint64_t one = 1;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	m->stop_guest = guest;
	snprintf(m->stop_reason, sizeof(m->stop_reason), "%s", reason);
	pthread_mutex_unlock(&m->lock);
	(void)!write(m->wake_fd, &one, sizeof(one));
	pthread_join(m->thread, NULL);
	balloon_watch_stop(&m->balloon, &m->target);
	monitor_socket_close(&m->sock);
	close(m->wake_fd);
	pthread_mutex_destroy(&m->lock);
	kvfree(m->arena, m);
}

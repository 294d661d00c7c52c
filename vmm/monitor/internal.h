/*
 * The monitor's insides, shared by the server loop (monitor/server.c) and
 * the per-client connection code (monitor/client.c). Everything here is
 * touched by the monitor's thread only, except the stop request (lock).
 *
 * struct monitor, each client's session and output queue come from the
 * target's arena (kvzalloc / kvmalloc), as all VMM metadata does.
 */
#ifndef VMM_MONITOR_INTERNAL_H
#define VMM_MONITOR_INTERNAL_H

#include <pthread.h>
#include "vmm/monitor/balloon_watch.h"
#include "vmm/monitor/monitor.h"
#include "vmm/monitor/socket.h"
#include "vmm/monitor/qmp/qmp.h"

struct monitor;

struct monitor_client {
	int fd;                        /* -1: a free slot */
	struct monitor *mon;
	struct qmp_session *session;
	char *out;                     /* kvmalloc'd on mon->arena; queued: [out_head, out_len) */
	size_t out_head, out_len, out_cap;
	bool eof;                      /* reads are over: send what is queued, then close */
	bool drop;                     /* close at the end of this round, queue or not */
};

/*
 * Each round reads at most this much from a client, and the requests in it
 * are all that client gets served before the others have had their turn: a
 * client that writes thousands of requests at once waits in its own socket
 * buffer (the kernel's backpressure on it), not in front of the others. A
 * long message takes a few rounds more.
 */
#define MONITOR_READ_CHUNK 1024

struct monitor {
	struct mm_arena *arena;        /* target.arena(): this struct, the client queues */
	struct vm_control target;
	struct qmp_env env;
	struct monitor_socket sock;
	struct monitor_client clients[MONITOR_MAX_CLIENTS];
	int wake_fd;                   /* eventfd: monitor_stop wants the thread's attention */
	struct balloon_watch balloon;  /* BALLOON_CHANGE */
	uint64_t sent;                 /* bytes sent to all clients, ever */
	size_t queue_bytes;            /* the clients' queues beyond MONITOR_QUEUE_OWN */
	pthread_t thread;
	bool shutdown_sent;            /* SHUTDOWN goes out once */

	pthread_mutex_t lock;
	bool stop;
	bool stop_guest;
	char stop_reason[32];

	char rbuf[MONITOR_READ_CHUNK]; /* one read from one client */
};

/* A new connection in a free slot (greeted), or refused with a QMP error
 * line when every slot is taken. */
void monitor_client_accept(struct monitor *m, int fd);
/* Reads what the client sent and answers it. */
void monitor_client_read(struct monitor_client *c);
/* Queues one line for the client; a client whose queue would pass
 * MONITOR_MAX_QUEUED, or the queues' shared allowance past
 * MONITOR_MAX_QUEUED_TOTAL, is marked to be dropped instead. */
void monitor_client_queue(struct monitor_client *c, const char *line, size_t len);
/* Sends what the socket takes now, without blocking. */
void monitor_client_flush(struct monitor_client *c);
bool monitor_client_pending(const struct monitor_client *c);
void monitor_client_close(struct monitor_client *c);

#endif

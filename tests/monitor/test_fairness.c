/*
 * The monitor's turn-taking, in process and without KVM: one round reads
 * at most MONITOR_READ_CHUNK bytes from a client, so a client that writes
 * hundreds of requests at once has them answered over several rounds (the
 * rest waits in its own socket buffer) while the others get their turns;
 * every request is still answered, in order.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "vmm/monitor/internal.h"
#include "session.h"

#define REQUESTS 300

/* Lines the client side has received so far (it never blocks). */
static unsigned count_replies(int fd, unsigned *returns)
{
	static char buf[1 << 16];
	unsigned lines = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
		for (const char *p = buf; (p = memmem(p, (size_t)(buf + n - p), "\"return\"", 8)); p += 8)
			(*returns)++;
	}
	return lines;
}

static int pending_bytes(int fd)
{
	int n = 0;
	cr_assert_eq(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

Test(fairness, a_flood_of_requests_is_served_a_chunk_per_round)
{
	struct session s;
	int sv[2];

	session_start(&s, 8);
	struct monitor *m = calloc(1, sizeof(*m));
	cr_assert_not_null(m);
	m->arena = s.arena;
	m->target = s.target;
	m->env = (struct qmp_env){ .target = &m->target };
	for (unsigned i = 0; i < MONITOR_MAX_CLIENTS; i++)
		m->clients[i].fd = -1;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	monitor_client_accept(m, sv[1]);
	struct monitor_client *c = &m->clients[0];
	cr_assert_eq(c->fd, sv[1]);
	unsigned returns = 0;
	cr_assert_eq(count_replies(sv[0], &returns), 1, "the greeting");

	const char *cap = "{\"execute\": \"qmp_capabilities\"}";
	const char *req = "{\"execute\": \"query-status\"}";
	size_t total = strlen(cap) + REQUESTS * strlen(req);
	char *flood = malloc(total + 1);
	strcpy(flood, cap);
	for (unsigned i = 0; i < REQUESTS; i++)
		strcat(flood, req);
	cr_assert_eq(send(sv[0], flood, total, 0), (ssize_t)total);
	free(flood);

	/* One round: one chunk taken, the rest still in the socket. */
	monitor_client_read(c);
	monitor_client_flush(c);
	cr_assert_eq(pending_bytes(sv[1]), (int)(total - MONITOR_READ_CHUNK));
	unsigned first = count_replies(sv[0], &returns);
	cr_assert_leq(first, MONITOR_READ_CHUNK / strlen(req) + 1, "%u replies in one round", first);
	cr_assert_geq(first, 1);

	/* The other rounds serve the rest, each a chunk. */
	unsigned rounds = 1;
	while (pending_bytes(sv[1]) > 0) {
		monitor_client_read(c);
		monitor_client_flush(c);
		rounds++;
		cr_assert_leq(rounds, total / MONITOR_READ_CHUNK + 1);
	}
	count_replies(sv[0], &returns);
	cr_assert_eq(returns, REQUESTS + 1, "every request answered (%u returns)", returns);
	cr_assert_eq(rounds, (total + MONITOR_READ_CHUNK - 1) / MONITOR_READ_CHUNK);

	monitor_client_close(c);
	close(sv[0]);
	free(m);
	session_finish(&s);
}

/*
 * memvisor child processes and a line-reading QMP client for the monitor
 * tests (see mon_proc.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "mon_proc.h"

extern char **environ;

double mon_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

const char *mon_build_path(const char *rel)
{
	static char out[4][PATH_MAX];
	static int next;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	/* build/tests/monitor.test -> build */
	char *p = out[next++ % 4];
	snprintf(p, PATH_MAX, "%s/%s", dirname(dirname(exe)), rel);
	return p;
}

void mon_need_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	const char *ci = getenv("CI");

	if (fd >= 0) {
		close(fd);
		return;
	}
	if (ci && !strcmp(ci, "true"))
		cr_assert_fail("/dev/kvm: %s; CI=true, so this is a failure, not a skip", strerror(errno));
	cr_skip_test("needs /dev/kvm (%s)", strerror(errno));
}

void mon_proc_init(struct mon_proc *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "/tmp/memvisor-mon-XXXXXX");
	cr_assert_not_null(mkdtemp(p->dir));
	snprintf(p->sock, sizeof(p->sock), "%s/qmp.sock", p->dir);
	snprintf(p->out_path, sizeof(p->out_path), "%s/out", p->dir);
	snprintf(p->err_path, sizeof(p->err_path), "%s/err", p->dir);
}

void mon_proc_spawn(struct mon_proc *p, const char *const *args)
{
	const char *argv[32] = { mon_build_path("memvisor"), "--monitor", p->sock };
	posix_spawn_file_actions_t fa;
	size_t n = 3;

	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int rc = posix_spawn(&p->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(rc, 0, "spawning %s: %s", argv[0], strerror(rc));
}

void mon_proc_start(struct mon_proc *p, const char *const *args)
{
	struct mon_client c;
	double end = mon_now() + 20;

	mon_proc_spawn(p, args);
	while (mon_connect(&c, p->sock)) {
		if (mon_proc_wait(p, 0.02)) {
			char *err = mon_read_file(p->err_path);
			cr_assert_fail("memvisor exited with %d before its socket was up:\n%s",
				       p->status, err);
		}
		cr_assert_lt(mon_now(), end, "the monitor socket did not come up in 20 s");
	}
	mon_close(&c);
}

bool mon_proc_wait(struct mon_proc *p, double timeout_s)
{
	double end = mon_now() + timeout_s;
	int st;

	if (p->reaped)
		return true;
	do {
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid) {
			p->reaped = true;
			p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return true;
		}
		usleep(5000);
	} while (mon_now() < end);
	return false;
}

void mon_proc_finish(struct mon_proc *p)
{
	char path[192];

	if (p->pid > 0 && !p->reaped) {
		kill(p->pid, SIGKILL);
		mon_proc_wait(p, 10);
	}
	unlink(p->sock);
	unlink(p->out_path);
	unlink(p->err_path);
	snprintf(path, sizeof(path), "%s/other", p->dir);
	unlink(path);
	rmdir(p->dir);
}

char *mon_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (f) {
		buf = malloc(1 << 20);
		len = fread(buf, 1, (1 << 20) - 1, f);
		fclose(f);
	} else {
		buf = malloc(1);
	}
	cr_assert_not_null(buf);
	buf[len] = '\0';
	return buf;
}

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
	double left = end - mon_now();

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
	double end = mon_now() + timeout_s;

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
	double end = mon_now() + timeout_s;

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
	double end = mon_now() + timeout_s;

	for (;;) {
		if (mon_connect(c, path) == 0) {
			json_t *g = mon_read(c, end - mon_now());
			bool greeted = g && json_object_get(g, "QMP");
			json_decref(g);
			if (greeted)
				return true;
			mon_close(c);
		}
		if (mon_now() >= end)
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

/*
 * Creating and removing the monitor's socket file.
 *
 * A Unix socket's file gets its mode from the umask at bind() (fchmod on
 * the descriptor does not reach the file), and changing the umask is
 * process-wide. So the socket is bound inside a fresh directory of mode
 * 0700 next to PATH, where nobody else can reach it, set to 0600 there,
 * then hard-linked to PATH: link() fails instead of replacing whatever PATH
 * is, so a live socket of another process is never clobbered, and the file
 * never exists under PATH with a wider mode.
 *
 * Nothing here touches the heap: PATH fits in sun_path (checked first), so
 * it and the copy dirname() may write into are arrays of that bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "vmm/monitor/socket.h"

/* PATH's bound; struct monitor_socket keeps PATH in an array of it. */
#define SUN_PATH_MAX MONITOR_SOCKET_PATH_MAX
/* The private directory: PATH's directory (PATH fits in sun_path) and a
 * short name. */
#define SOCK_DIR_MAX 160

static int sock_fail(char *err, size_t errlen, const char *path, int rc, const char *what)
{
	if (what)
		snprintf(err, errlen, "%s: %s: %s", path, what, strerror(-rc));
	return rc;
}

/* What is at path now: 0 when nothing is (a stale socket is removed),
 * -EADDRINUSE for a live socket, -EEXIST for something else. */
static int sock_clear(const char *path)
{
	struct stat st;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Nonblocking: a listener whose backlog is full must not hang us
	 * (it is alive: EAGAIN). */
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -errno;
	memcpy(sa.sun_path, path, strlen(path));
	int rc = connect(c, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	close(c);
	if (rc == 0 || rc == -EAGAIN)
		return -EADDRINUSE;
	/* Refused: nobody listens, the file is left over from a process
	 * that is gone. */
	if (rc == -ECONNREFUSED)
		return unlink(path) && errno != ENOENT ? -errno : 0;
	return rc;
}

/* Binds fd to dir/s, through /proc/self/fd when dir/s is too long for
 * sun_path while PATH itself is not. What snprintf says it wrote decides,
 * so a truncated path is never bound. */
static int sock_bind(int fd, const char *dir, int dir_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/s", dir_fd);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	return bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
}

/* Links the bound file to ms->path: a stale socket there is replaced (a
 * few times, for one that reappears), anything else refused. */
static int sock_publish(struct monitor_socket *ms, const char *tmp, char *err, size_t errlen)
{
	for (int tries = 0; tries < 3; tries++) {
		if (link(tmp, ms->path) == 0)
			return 0;
		if (errno != EEXIST)
			return sock_fail(err, errlen, ms->path, -errno, "creating the socket");
		int rc = sock_clear(ms->path);
		if (rc == -EADDRINUSE) {
			snprintf(err, errlen, "%s: another process is listening on this socket", ms->path);
			return rc;
		}
		if (rc == -EEXIST) {
			snprintf(err, errlen, "%s: exists and is not a socket", ms->path);
			return rc;
		}
		if (rc)
			return sock_fail(err, errlen, ms->path, rc, "removing the stale socket");
	}
	snprintf(err, errlen, "%s: keeps being recreated by someone else", ms->path);
	return -EEXIST;
}

/* Binds, listens and publishes, given the private directory. */
static int sock_create(struct monitor_socket *ms, const char dir[SOCK_DIR_MAX], int dir_fd,
		       char *err, size_t errlen)
{
	char tmp[SOCK_DIR_MAX + 2];
	struct stat st = { 0 };

	snprintf(tmp, sizeof(tmp), "%s/s", dir);
	ms->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ms->fd < 0)
		return sock_fail(err, errlen, ms->path, -errno, "socket");
	int rc = sock_bind(ms->fd, dir, dir_fd);
	if (rc)
		return sock_fail(err, errlen, ms->path, rc, "binding");
	if (fchmodat(dir_fd, "s", 0600, 0) || lstat(tmp, &st) || listen(ms->fd, 16))
		rc = sock_fail(err, errlen, ms->path, -errno, "setting the socket up");
	if (!rc)
		rc = sock_publish(ms, tmp, err, errlen);
	ms->dev = st.st_dev;
	ms->ino = st.st_ino;
	unlink(tmp);
	return rc;
}

int monitor_socket_open(struct monitor_socket *ms, const char *path, char *err, size_t errlen)
{
	*ms = (struct monitor_socket){ .fd = -1 };
	if (!*path) {
		snprintf(err, errlen, "--monitor: empty path");
		return -EINVAL;
	}
	if (strlen(path) > SUN_PATH_MAX) {
		snprintf(err, errlen, "%s: %zu bytes, longer than the %zu a Unix socket path may have",
			 path, strlen(path), SUN_PATH_MAX);
		return -ENAMETOOLONG;
	}
	/* Both fit, NUL included: strlen(path) <= SUN_PATH_MAX was checked
	 * above. dirname() may write into its argument, hence the copy. */
	char copy[SUN_PATH_MAX + 1];
	char dir[SOCK_DIR_MAX];
	memcpy(ms->path, path, strlen(path) + 1);
	memcpy(copy, path, strlen(path) + 1);
	snprintf(dir, sizeof(dir), "%s/.memvisor-qmp-XXXXXX", dirname(copy));
	int rc = 0, dir_fd = -1;
	bool made = mkdtemp(dir) != NULL;
	if (!made)
		rc = sock_fail(err, errlen, path, -errno, "creating a private directory beside it");
	else if ((dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = sock_fail(err, errlen, path, -errno, "opening the private directory");
	if (!rc)
		rc = sock_create(ms, dir, dir_fd, err, errlen);
	if (dir_fd >= 0)
		close(dir_fd);
	if (made)
		rmdir(dir);
	if (rc) {
		/* Not ours: nothing at PATH may be removed. */
		ms->dev = 0;
		ms->ino = 0;
		monitor_socket_close(ms);
	}
	return rc;
}

void monitor_socket_close(struct monitor_socket *ms)
{
	struct stat st;

	if (ms->fd >= 0)
		close(ms->fd);
	ms->fd = -1;
	/* Another memvisor may have replaced a socket that looked stale:
	 * only our own file is removed. */
	if (ms->path[0] && ms->ino && lstat(ms->path, &st) == 0 && st.st_dev == ms->dev &&
	    st.st_ino == ms->ino)
		unlink(ms->path);
	ms->path[0] = '\0';
}

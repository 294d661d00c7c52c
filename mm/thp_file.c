/*
 * The THP-backed file for zone Normal (thp_file.h). The helper is a forked
 * child, so the namespaces never touch the VMM's own threads: it unshares,
 * makes its mounts private, mounts a tmpfs over /tmp (only it sees that),
 * opens an unnamed file there (O_TMPFILE: nothing to unlink), sends the
 * descriptor over a socketpair and exits. Each failure says its step.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "thp_file.h"

/* Steps, for the reason the parent reports. */
enum { STEP_OK, STEP_UNSHARE, STEP_IDMAP, STEP_PRIVATE, STEP_MOUNT, STEP_OPEN,
       STEP_SEND };
static const char *const step_names[] = {
	"", "unshare", "user namespace id map",
	"making mounts private", "mounting tmpfs huge=advise", "O_TMPFILE", "sending the descriptor",
};

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In the child: a user namespace maps the caller's ids to root in it, so
 * the tmpfs's file has an owner the kernel can write. */
static int enter_namespaces(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];

	if (uid == 0)
		return unshare(CLONE_NEWNS) ? STEP_UNSHARE : STEP_OK;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return STEP_UNSHARE;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	if (write_file("/proc/self/setgroups", "deny") || write_file("/proc/self/uid_map", map))
		return STEP_IDMAP;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	return write_file("/proc/self/gid_map", map) ? STEP_IDMAP : STEP_OK;
}

static int send_fd(int sock, int fd)
{
	char byte = 0, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec io = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };

	memset(ctl, 0, sizeof(ctl));
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	return sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* The descriptor the child sent, or -1. */
static int recv_fd(int sock)
{
	char byte, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec io = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	int fd = -1;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

/* The child's whole life; its exit status is the step that failed. */
static int helper(int sock)
{
	int step = enter_namespaces();
	if (step)
		return step;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return STEP_PRIVATE;
	if (mount("memvisor", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "huge=advise,mode=0700"))
		return STEP_MOUNT;
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return STEP_OPEN;
	return send_fd(sock, fd) ? STEP_SEND : STEP_OK;
}

int mm_thp_file_open(char *why, size_t why_len)
{
	const char *off = getenv(MM_THP_FILE_DISABLE_ENV);
	int sv[2];

	if (off && !strcmp(off, "1")) {
		snprintf(why, why_len, "turned off by %s=1", MM_THP_FILE_DISABLE_ENV);
		return -EPERM;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(sv[0]);
		close(sv[1]);
		snprintf(why, why_len, "fork: %s", strerror(err));
		return -err;
	}
	if (pid == 0) {
		close(sv[0]);
		_exit(helper(sv[1]));
	}
	close(sv[1]);
	int fd = recv_fd(sv[0]);
	close(sv[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int step = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (fd >= 0 && step == STEP_OK)
		return fd;
	if (fd >= 0)
		close(fd);
	if (step > 0 && step < (int)(sizeof(step_names) / sizeof(step_names[0])))
		snprintf(why, why_len, "%s failed", step_names[step]);
	else
		snprintf(why, why_len, "the helper process ended abnormally");
	return -EPERM;
}

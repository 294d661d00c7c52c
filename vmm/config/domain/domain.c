/*
 * The VMM's half of --domain (domain.h): a child process does the libvirt
 * work (config/domain/read.c) and writes a struct domain_reply into a pipe; the VMM
 * reads it, and config/domain/apply.c puts it into the configuration. The command
 * line is parsed before any thread exists, so forking here is safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vmm/config/domain/domain.h"
#include "vmm/config/domain/internal.h"

/* Where the strings of the last domain live: cfg points into it. */
static struct domain_reply domain_last;

static int domain_io(int fd, void *buf, size_t len, bool out)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = out ? write(fd, (char *)buf + done, len - done) : read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Runs domain_read in a child; 0 when r holds its whole reply. */
static int domain_ask_child(const char *file, struct domain_reply *r, char *why, size_t whylen)
{
	int fds[2], status;

	if (pipe2(fds, O_CLOEXEC)) {
		snprintf(why, whylen, "a pipe: %s", strerror(errno));
		return -errno;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "a process for libvirt: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -EAGAIN;
	}
	if (pid == 0) {
		close(fds[0]);
		domain_read(file, r);
		/* _exit: the parent's atexit handlers and stdio buffers are not ours. */
		_exit(domain_io(fds[1], r, sizeof(*r), true) ? 1 : 0);
	}
	close(fds[1]);
	int rc = domain_io(fds[0], r, sizeof(*r), false);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!rc && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		snprintf(why, whylen, "libvirt's parser died (signal %d, %s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(why, whylen, "libvirt's parser ended without an answer");
	return -EIO;
}

int domain_load(const char *file, const struct domain_given *given, struct vm_config *cfg,
		char *err, size_t errlen)
{
	char why[sizeof(domain_last.err)];

	memset(&domain_last, 0, sizeof(domain_last));
	int rc = domain_ask_child(file, &domain_last, why, sizeof(why));
	if (!rc && domain_last.rc) {
		rc = domain_last.rc;
		snprintf(why, sizeof(why), "%s", domain_last.err);
	}
	if (!rc)
		rc = domain_apply(&domain_last.spec, given, cfg, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "%s: %s", file, why);
		return rc;
	}
	cfg->domain = file;
	return 0;
}

/*
 * What the VM benchmarks (boot.c, balloon.c) do alike with the VMM or QEMU
 * they start: run it as a child with its console and stderr in files (the
 * benchmark reads them for readiness and errors), and connect to its QMP
 * socket once it listens.
 */
#ifndef BENCH_VM_CHILD_H
#define BENCH_VM_CHILD_H

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* argv as a child, stdin /dev/null, stdout into out, stderr into err;
 * alarm_s > 0 kills it after that long whatever happens to the parent.
 * The pid, or -1 (errno set). */
static inline pid_t vm_child_spawn(char *const argv[], const char *out, const char *err,
				   unsigned alarm_s)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	dup2(o, 1);
	dup2(e, 2);
	if (alarm_s)
		alarm(alarm_s);
	execvp(argv[0], argv);
	_exit(127);
}

static inline double vm_child_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A socket connected to the Unix socket at path, retried until it listens
 * or the monotonic clock passes deadline_s; -1 then. */
static inline int vm_child_connect(const char *path, double deadline_s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, path, strlen(path) + 1);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		close(fd);
		if (vm_child_now_s() > deadline_s)
			return -1;
		usleep(2000);
	}
}

#endif

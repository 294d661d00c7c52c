/*
 * The monitor's listening socket: created with mode 0600 whatever the
 * umask, never replacing a socket another process listens on, and removed
 * at exit only if PATH still names it. No heap: PATH is bounded by
 * sun_path, so it is kept in the struct.
 */
#ifndef VMM_MONITOR_SOCKET_H
#define VMM_MONITOR_SOCKET_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

/* The longest PATH: sun_path less room for the terminating NUL. */
#define MONITOR_SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

struct monitor_socket {
	int fd;                     /* listening, nonblocking */
	char path[MONITOR_SOCKET_PATH_MAX + 1];   /* "": none (closed, or never opened) */
	dev_t dev;                  /* the socket file, to recognise it at exit */
	ino_t ino;
};

/* 0, or -errno with err holding "<path>: <why>". */
int monitor_socket_open(struct monitor_socket *ms, const char *path, char *err, size_t errlen);
/* Closes the socket and removes PATH if it is still ours. */
void monitor_socket_close(struct monitor_socket *ms);

#endif

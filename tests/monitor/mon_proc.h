/*
 * build/memvisor --monitor as a child process for the socket-level tests.
 * Each VM gets a private temporary directory (its socket, console and
 * stderr files), removed when it is finished. The client is mon_client.h.
 */
#ifndef TESTS_MONITOR_MON_PROC_H
#define TESTS_MONITOR_MON_PROC_H

#include <stdbool.h>
#include <sys/types.h>
#include "mon_client.h"
#include "tests/support/test_env.h"

struct mon_proc {
	pid_t pid;
	char dir[64];
	char sock[128];              /* dir/qmp.sock unless the test names one */
	char out_path[128], err_path[128];
	int status;                  /* once reaped: exit status, 128 + n for signal n */
	bool reaped;
};


/* Makes the private directory and the paths; sock is dir/qmp.sock. */
void mon_proc_init(struct mon_proc *p);
/* Spawns build/memvisor --monitor p->sock args... (NULL-terminated, the
 * image last). */
void mon_proc_spawn(struct mon_proc *p, const char *const *args);
/* Spawns and waits until the socket accepts connections. */
void mon_proc_start(struct mon_proc *p, const char *const *args);
/* Waits up to timeout_s for the exit: true if it came (p->status set). */
bool mon_proc_wait(struct mon_proc *p, double timeout_s);
/* Kills it if still running, reaps it, removes its directory. */
void mon_proc_finish(struct mon_proc *p);
/* A file's contents, malloc'd and NUL-terminated ("" if missing). */
char *mon_read_file(const char *path);

#endif

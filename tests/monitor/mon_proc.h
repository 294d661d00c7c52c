/*
 * build/memvisor --monitor as a child process for the socket-level tests,
 * and a small QMP client over its socket that reads lines with a time
 * limit. Each VM gets a private temporary directory (its socket, console
 * and stderr files), removed when it is finished.
 */
#ifndef TESTS_MONITOR_MON_PROC_H
#define TESTS_MONITOR_MON_PROC_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct mon_proc {
	pid_t pid;
	char dir[64];
	char sock[128];              /* dir/qmp.sock unless the test names one */
	char out_path[128], err_path[128];
	int status;                  /* once reaped: exit status, 128 + n for signal n */
	bool reaped;
};

/* $(BUILD)/rel, from where this suite's binary is. */
const char *mon_build_path(const char *rel);
/* Skips the test without /dev/kvm; fails it when CI=true. */
void mon_need_kvm(void);

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
double mon_now(void);

struct mon_client {
	int fd;
	char *buf;
	size_t len, cap;
};

/* 0 or -errno. */
int mon_connect(struct mon_client *c, const char *path);
void mon_close(struct mon_client *c);
/* Sends all of text (NUL-terminated) / len bytes; false if the server
 * closed the connection. */
bool mon_send(struct mon_client *c, const char *text);
bool mon_send_bytes(struct mon_client *c, const void *data, size_t len);
/* The next line, decoded (must be a JSON object); NULL on EOF or after
 * timeout_s. */
json_t *mon_read(struct mon_client *c, double timeout_s);
/* True when the server closes the connection within timeout_s (lines
 * still arriving are read and dropped). */
bool mon_wait_eof(struct mon_client *c, double timeout_s);
/*
 * Connects and reads the greeting, again and again for up to timeout_s
 * while the server turns the connection away for lack of a free slot (it
 * may not have seen other clients leave yet). false if it never greets.
 */
bool mon_connect_greeted(struct mon_client *c, const char *path, double timeout_s);
/* Reads the greeting and negotiates. */
void mon_negotiate(struct mon_client *c);
/* Sends text and returns the next line that is not an event. */
json_t *mon_cmd(struct mon_client *c, const char *text);

#endif

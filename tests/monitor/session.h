/*
 * QMP sessions in process, without sockets or KVM: a real mm arena and a
 * real guest_mem built on it behind a struct vm_control whose run state
 * is a variable (there are no vCPUs to pause), one session fed bytes, and
 * everything it sends (events included, as the server would queue them)
 * collected and read back a line at a time as JSON.
 */
#ifndef TESTS_MONITOR_SESSION_H
#define TESTS_MONITOR_SESSION_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "vmm/devices/device.h"
#include "vmm/monitor/qmp/qmp.h"

struct session {
	struct mm_arena *arena;
	struct guest_mem *gm;
	struct vm_control target;
	struct qmp_env env;
	enum vm_run_state state;
	unsigned pauses, resumes, quits;
	/* hold / release (proactive compaction's), from its thread. */
	atomic_uint holds, holds_taken;
	struct vm_proactive *proactive; /* a test's; session_finish destroys it */
	struct qmp_session *qmp;
	/* Devices, when a test adds them (the target's device_get). */
	struct vm_config cfg;
	struct device_host host;
	struct device_set *devices;
	pthread_t destroyer;
	bool destroying;
	atomic_bool destroyed;
	char *out;                   /* everything sent, NUL-terminated */
	size_t out_len, read_pos;
};

/* ram_mib of guest RAM in zone Normal; the session is greeted already
 * (the greeting is the first line to read). */
void session_start(struct session *s, unsigned ram_mib);
/* Destroys it all; I1 holds and every guest frame is back. */
void session_finish(struct session *s);

/* Creates the devices of types (NULL-terminated) that a default
 * configuration wants, on the session's arena and guest memory, without
 * KVM. */
void session_add_devices(struct session *s, const struct device_type *const *types);
/* Destroys them on another thread (device_set_destroy waits for the
 * references); 0 or an errno. */
int session_destroy_devices_async(struct session *s);
bool session_devices_destroyed(struct session *s);
/* Waits for that thread; the target has no devices after it. */
void session_join_devices(struct session *s);

/* Feeds text (NUL-terminated) / bytes; returns qmp_session_feed's result. */
int session_feed(struct session *s, const char *text);
int session_feed_bytes(struct session *s, const void *data, size_t len);

/* The next line sent, decoded (it must be one JSON object ending in
 * "\r\n"); NULL when nothing more was sent. */
json_t *session_next(struct session *s);
/* Feeds text and returns the next line, which must exist. */
json_t *session_cmd(struct session *s, const char *text);
/* Reads the greeting and negotiates. */
void session_negotiate(struct session *s);

/* "return" of the reply to text, which must succeed (a new reference). */
json_t *session_return(struct session *s, const char *text);
/* The reply to text must be an error of this class; returns its desc
 * (valid until the next call). */
const char *session_error(struct session *s, const char *text, const char *cls);

/* o has exactly these keys (NULL-terminated), checked by name. */
void expect_keys(json_t *o, const char *const *keys);
#define EXPECT_KEYS(o, ...) expect_keys(o, (const char *const[]){ __VA_ARGS__, NULL })
/* Every element of array a is an integer >= 0. */
void expect_counts(json_t *a, size_t n);

#endif

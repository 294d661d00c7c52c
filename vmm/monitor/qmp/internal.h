/*
 * What the QMP files share: the session, the command table and its
 * argument specs, and the error a command hands back. Not for use outside
 * vmm/monitor/qmp/.
 *
 * The files are layered: session.c (bytes in) -> dispatch.c (protocol
 * checks) -> commands.c (the table) -> cmd_*.c (handlers) -> reply.c
 * (everything sent) and line.c (JSON lines); no file calls one above it.
 *
 * The session and its framer's buffer are the VMM's own metadata, so they
 * come from the target's arena (kzalloc / kvmalloc), never from libc; the
 * lines jansson prints (qmp_line, qmp_event_line) stay jansson's malloc.
 */
#ifndef VMM_QMP_INTERNAL_H
#define VMM_QMP_INTERNAL_H

#include "vmm/monitor/qmp/qmp.h"

/* Splits the byte stream into messages (monitor/qmp/frame.c). */
struct qmp_framer {
	char *buf;                  /* QMP_MAX_MESSAGE bytes, kvmalloc'd */
	size_t len;                 /* bytes held */
	size_t scanned;             /* of them, looked at */
	size_t start;               /* where the current message starts */
	unsigned depth;             /* open braces and brackets */
	enum { FRAME_IDLE, FRAME_NESTED, FRAME_LINE } mode;
	bool in_string, escape;
};

struct qmp_session {
	const struct qmp_env *env;
	struct mm_arena *arena;     /* the session, its framer, HMP's buffers */
	qmp_send_fn send;
	void *send_arg;
	bool negotiated;
	struct qmp_framer framer;
};

/* ---- framing (monitor/qmp/frame.c) ---- */

/* The buffer comes from a's kvmalloc (-ENOMEM if it cannot); destroy with
 * the same arena. */
int qmp_framer_init(struct qmp_framer *f, struct mm_arena *a);
void qmp_framer_destroy(struct qmp_framer *f, struct mm_arena *a);
/*
 * Copies up to len bytes in (returns how many it took) and finds complete
 * messages: fn gets each one in order. Bytes it did not take do not fit
 * until the caller has called it again; -EMSGSIZE when the message being
 * read fills the buffer.
 */
long qmp_framer_push(struct qmp_framer *f, const char *data, size_t len,
		     void (*fn)(void *arg, const char *msg, size_t len), void *arg);

/* ---- errors ---- */

struct qmp_error {
	const char *cls;            /* "GenericError", "CommandNotFound" */
	char desc[512];
};

/* Sets err; returns NULL so handlers can `return qmp_fail(...)`. */
json_t *qmp_fail(struct qmp_error *err, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- commands (monitor/qmp/commands.c and qmp_cmd_*.c) ---- */

/* A parameter of more than one type ("order": an integer or "full"):
 * JSON_NULL, never a parameter's type otherwise. */
#define QMP_PARAM_ANY JSON_NULL

struct qmp_param {
	const char *name;
	json_type type;             /* JSON_STRING, JSON_INTEGER, JSON_ARRAY; or
				     * QMP_PARAM_ANY, which the handler checks */
	bool optional;
};

/* The "return" value (a new reference), or NULL with err set. args is an
 * object whose members match the command's params. */
typedef json_t *(*qmp_handler)(struct qmp_session *s, json_t *args, struct qmp_error *err);

struct qmp_command {
	const char *name;
	qmp_handler run;
	const struct qmp_param *params;     /* ends with a NULL name; NULL: none */
};

const struct qmp_command *qmp_command_find(const char *name);

/* Runs a request that passed the protocol checks (monitor/qmp/dispatch.c). */
json_t *qmp_command_run(struct qmp_session *s, const struct qmp_command *cmd, json_t *args,
			struct qmp_error *err);

/* Answers one decoded message (monitor/qmp/dispatch.c). */
void qmp_dispatch(struct qmp_session *s, json_t *msg);

/* ---- sending (monitor/qmp/reply.c) ---- */

/* Sends v as one line (reply or greeting); takes the reference. */
void qmp_send_json(struct qmp_session *s, json_t *v);
/* Sends an error reply, with the request's id when it had one. */
void qmp_send_error(struct qmp_session *s, json_t *id, const char *cls, const char *desc);
/* An event through the environment. */
void qmp_emit_event(struct qmp_session *s, const char *name, json_t *data);

/* Handlers. */
json_t *qmp_cmd_capabilities(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_query_status(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_stop(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_cont(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_quit(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_output(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_memory_summary(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_hmp(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_buddyinfo(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_slabinfo(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_slab_tune(struct qmp_session *s, json_t *args, struct qmp_error *err);
extern const struct qmp_param qmp_slab_tune_params[];
json_t *qmp_cmd_frames(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_compaction(struct qmp_session *s, json_t *args, struct qmp_error *err);
/* cmd_compaction.c: the proactive thread's counters, all 0 without one. */
struct vm_proactive_stats;
void qmp_proactive_stats(const struct vm_control *t, struct vm_proactive_stats *out);
json_t *qmp_cmd_extfrag(struct qmp_session *s, json_t *args, struct qmp_error *err);
extern const struct qmp_param qmp_compact_params[];
json_t *qmp_cmd_compact(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_pageblocks(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_p2m(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_regions(struct qmp_session *s, json_t *args, struct qmp_error *err);

/* The run state in QEMU's words ("running", "paused", ...); cmd_run.c. */
const char *qmp_run_state_name(enum vm_run_state st);

#endif

/*
 * The run-control commands, with QEMU's replies and events: query-status,
 * stop, cont, quit and query-memory-size-summary; and x-query-output, what
 * the console and the log have written and dropped. stop and cont send STOP
 * and RESUME only when the state changes, and before their reply, as QEMU
 * does; quit sends SHUTDOWN before its reply.
 */
#include <errno.h>
#include "vmm/monitor/qmp/internal.h"

static const struct vm_control *run_target(struct qmp_session *s)
{
	return s->env->target;
}

json_t *qmp_cmd_query_status(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = run_target(s);
	enum vm_run_state st = t->status(t->ctx);

	(void)args, (void)err;
	/* singlestep is QEMU's TCG flag: always false under KVM. */
	return json_pack("{s:b,s:b,s:s}", "running", st == VM_STATE_RUNNING, "singlestep", 0, "status",
			 qmp_run_state_name(st));
}

json_t *qmp_cmd_stop(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = run_target(s);
	enum vm_run_state before = t->status(t->ctx);

	(void)args;
	if (before == VM_STATE_SHUTDOWN)
		return qmp_fail(err, "GenericError", "The guest has shut down");
	if (before == VM_STATE_PAUSED)
		return json_object();
	if (t->pause(t->ctx) == -ESHUTDOWN)
		return qmp_fail(err, "GenericError", "The guest has shut down");
	qmp_emit_event(s, "STOP", NULL);
	return json_object();
}

json_t *qmp_cmd_cont(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = run_target(s);
	enum vm_run_state before = t->status(t->ctx);

	(void)args;
	if (before == VM_STATE_SHUTDOWN)
		return qmp_fail(err, "GenericError", "The guest has shut down");
	if (before != VM_STATE_PAUSED)
		return json_object();
	if (t->resume(t->ctx) == -ESHUTDOWN)
		return qmp_fail(err, "GenericError", "The guest has shut down");
	qmp_emit_event(s, "RESUME", NULL);
	return json_object();
}

json_t *qmp_cmd_quit(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = run_target(s);
	json_t *data = json_pack("{s:b,s:s}", "guest", 0, "reason", "host-qmp-quit");

	(void)args, (void)err;
	if (!data)
		return NULL;
	/* When the run has already ended, SHUTDOWN comes with its own reason
	 * (monitor_stop). */
	if (t->status(t->ctx) != VM_STATE_SHUTDOWN)
		qmp_emit_event(s, "SHUTDOWN", data);
	json_decref(data);
	t->quit(t->ctx);
	return json_object();
}

json_t *qmp_cmd_memory_summary(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = run_target(s);

	(void)args, (void)err;
	/* No memory hotplug: everything is base memory. */
	return json_pack("{s:I,s:I}", "base-memory", (json_int_t)t->ram_size(t->ctx),
			 "plugged-memory", (json_int_t)0);
}

static json_t *run_output_json(const struct out_stream_stats *o)
{
	return json_pack("{s:I,s:I,s:I}", "written", (json_int_t)o->written, "dropped",
			 (json_int_t)o->dropped, "queued", (json_int_t)o->queued);
}

json_t *qmp_cmd_output(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = run_target(s);
	struct out_stream_stats con, log;

	(void)args;
	if (!t->output)
		return qmp_fail(err, "GenericError", "this VM has no output counters");
	t->output(t->ctx, &con, &log);
	return json_pack("{s:o,s:o}", "console", run_output_json(&con), "log",
			 run_output_json(&log));
}

const char *qmp_run_state_name(enum vm_run_state st)
{
	switch (st) {
	case VM_STATE_PRELAUNCH:
		return "prelaunch";
	case VM_STATE_RUNNING:
		return "running";
	case VM_STATE_PAUSED:
		return "paused";
	case VM_STATE_SHUTDOWN:
		return "shutdown";
	}
	return "running";
}

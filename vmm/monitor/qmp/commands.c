/*
 * The command table: every command the monitor answers, with its
 * parameters (README "The monitor" documents each), and qmp_capabilities,
 * the one command a session may run before negotiation.
 */
#include <string.h>
#include "vmm/monitor/qmp/internal.h"
#include "vmm/monitor/qmp/cmd_balloon.h"

static const struct qmp_param caps_params[] = {
	{ "enable", JSON_ARRAY, true },
	{ NULL, 0, false },
};

static const struct qmp_param hmp_params[] = {
	{ "command-line", JSON_STRING, false },
	/* Accepted for QEMU's clients, which send it; there is one view of
	 * memory whatever the vCPU. */
	{ "cpu-index", JSON_INTEGER, true },
	{ NULL, 0, false },
};

static const struct qmp_param p2m_params[] = {
	{ "gpa", JSON_INTEGER, true },
	{ NULL, 0, false },
};

static const struct qmp_command commands[] = {
	{ "qmp_capabilities", qmp_cmd_capabilities, caps_params },
	{ "query-status", qmp_cmd_query_status, NULL },
	{ "stop", qmp_cmd_stop, NULL },
	{ "cont", qmp_cmd_cont, NULL },
	{ "quit", qmp_cmd_quit, NULL },
	{ "query-memory-size-summary", qmp_cmd_memory_summary, NULL },
	{ "human-monitor-command", qmp_cmd_hmp, hmp_params },
	{ "x-query-buddyinfo", qmp_cmd_buddyinfo, NULL },
	{ "x-query-slabinfo", qmp_cmd_slabinfo, NULL },
	{ "x-slabinfo-tune", qmp_cmd_slab_tune, qmp_slab_tune_params },
	{ "x-query-frames", qmp_cmd_frames, NULL },
	{ "x-query-compaction", qmp_cmd_compaction, NULL },
	{ "x-query-extfrag", qmp_cmd_extfrag, NULL },
	{ "x-compact", qmp_cmd_compact, qmp_compact_params },
	{ "x-query-pageblocks", qmp_cmd_pageblocks, NULL },
	{ "x-query-p2m", qmp_cmd_p2m, p2m_params },
	{ "x-query-regions", qmp_cmd_regions, NULL },
	{ "x-query-output", qmp_cmd_output, NULL },
	{ "balloon", qmp_cmd_balloon, qmp_balloon_params },
	{ "query-balloon", qmp_cmd_query_balloon, NULL },
	{ "x-query-balloon", qmp_cmd_x_query_balloon, NULL },
};

const struct qmp_command *qmp_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	}
	return NULL;
}

json_t *qmp_command_run(struct qmp_session *s, const struct qmp_command *cmd, json_t *args,
			struct qmp_error *err)
{
	json_t *ret = cmd->run(s, args, err);

	/* A handler returns NULL for its own errors and for jansson running
	 * out of memory; the latter has set nothing. */
	if (!ret && !err->desc[0])
		qmp_fail(err, "GenericError", "Out of memory");
	return ret;
}

json_t *qmp_cmd_capabilities(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	json_t *enable = json_object_get(args, "enable");
	size_t i;
	json_t *cap;

	json_array_foreach(enable, i, cap) {
		if (!json_is_string(cap))
			return qmp_fail(err, "GenericError",
					"Invalid parameter type for 'enable[%zu]', expected: string", i);
	}
	/* The greeting offers none, so any name is one we do not have. */
	if (json_array_size(enable))
		return qmp_fail(err, "GenericError", "Capability '%s' not available",
				json_string_value(json_array_get(enable, 0)));
	s->negotiated = true;
	return json_object();
}

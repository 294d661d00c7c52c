/*
 * The balloon commands (monitor/qmp/cmd_balloon.c): balloon and query-balloon with
 * QEMU's meaning (the logical VM size in bytes), and x-query-balloon.
 */
#ifndef VMM_QMP_CMD_BALLOON_H
#define VMM_QMP_CMD_BALLOON_H

#include "vmm/monitor/qmp/internal.h"

extern const struct qmp_param qmp_balloon_params[];

json_t *qmp_cmd_balloon(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_query_balloon(struct qmp_session *s, json_t *args, struct qmp_error *err);
json_t *qmp_cmd_x_query_balloon(struct qmp_session *s, json_t *args, struct qmp_error *err);

/* BALLOON_CHANGE's data, {"actual": bytes}; NULL when out of memory. */
json_t *qmp_balloon_change_data(uint64_t actual_bytes);

#endif

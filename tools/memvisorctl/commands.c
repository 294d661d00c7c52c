/*
 * The one-shot commands: info, status, stop, cont, quit and raw.
 *
 * `info` asks the monitor for text where the server produces the kernel's
 * formats (human-monitor-command "info buddyinfo" and so on) and formats
 * frames and regions itself, from the structured x-query-* replies. With
 * --json every info prints the structured reply instead, so scripts never
 * parse text.
 */
#include <string.h>
#include "ctl.h"

struct info_kind {
	const char *name;
	const char *x_command;          /* structured: --json, and the tables */
	void (*table)(FILE *f, json_t *ret);   /* NULL: the monitor's text */
};

/* pagetypeinfo's data (free blocks by type, pageblocks) is in buddyinfo's
 * structured reply. */
static const struct info_kind info_kinds[] = {
	{ "buddyinfo", "x-query-buddyinfo", NULL },
	{ "pagetypeinfo", "x-query-buddyinfo", NULL },
	{ "slabinfo", "x-query-slabinfo", NULL },
	{ "p2m", "x-query-p2m", NULL },
	{ "frames", "x-query-frames", ctl_table_frames },
	{ "regions", "x-query-regions", ctl_table_regions },
	{ "balloon", "x-query-balloon", ctl_table_balloon },
	{ "compaction", "x-query-compaction", NULL },
	{ "extfrag", "x-query-extfrag", NULL },
	{ "unusable", "x-query-extfrag", NULL },
};

const char ctl_info_names[] =
	"buddyinfo|pagetypeinfo|slabinfo|p2m|frames|regions|balloon|compaction|extfrag|unusable";

static const struct info_kind *info_find(const char *name)
{
	for (size_t i = 0; i < sizeof(info_kinds) / sizeof(*info_kinds); i++)
		if (!strcmp(info_kinds[i].name, name))
			return &info_kinds[i];
	return NULL;
}

bool ctl_info_known(const char *what)
{
	return info_find(what) != NULL;
}

/* The monitor's text as lines ending in "\n" (QEMU's HMP ends them "\r\n"). */
static void print_text(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '\r' && s[i + 1] == '\n'))
			putchar(s[i]);
	if (n && s[n - 1] != '\n')
		putchar('\n');
}

static int info_text(struct ctl *ctl, const char *name)
{
	char line[64];
	json_t *ret;

	snprintf(line, sizeof(line), "info %s", name);
	json_t *args = json_pack("{s:s}", "command-line", line);
	int rc = qmp_call(&ctl->qmp, "human-monitor-command", args, &ret);
	json_decref(args);
	if (rc)
		return ctl_fail(ctl, line);
	if (!json_is_string(ret)) {
		json_decref(ret);
		fprintf(stderr, "memvisorctl: %s: the monitor's reply is not text\n", line);
		return CTL_EXIT_FAIL;
	}
	print_text(json_string_value(ret));
	json_decref(ret);
	return 0;
}

int ctl_info(struct ctl *ctl, const char *what)
{
	const struct info_kind *k = info_find(what);
	json_t *ret;

	if (ctl->json)
		return ctl_print_return(ctl, k->x_command, NULL);
	if (!k->table)
		return info_text(ctl, k->name);
	if (qmp_call(&ctl->qmp, k->x_command, NULL, &ret))
		return ctl_fail(ctl, k->x_command);
	k->table(stdout, ret);
	json_decref(ret);
	return 0;
}

/* Worded as QEMU's `info status`. */
int ctl_status(struct ctl *ctl)
{
	json_t *ret;

	if (ctl->json)
		return ctl_print_return(ctl, "query-status", NULL);
	if (qmp_call(&ctl->qmp, "query-status", NULL, &ret))
		return ctl_fail(ctl, "query-status");
	printf("VM status: %s\n", ctl_json_str(ret, "status"));
	json_decref(ret);
	return 0;
}

int ctl_simple(struct ctl *ctl, const char *command)
{
	if (ctl->json)
		return ctl_print_return(ctl, command, NULL);
	json_t *ret;
	if (qmp_call(&ctl->qmp, command, NULL, &ret))
		return ctl_fail(ctl, command);
	json_decref(ret);
	return 0;
}

/*
 * The request goes out exactly as given (no id is added). The reply is
 * printed whole, or only its "return" value with --json (an error reply
 * then goes to stderr); a QMP error makes the status 1.
 */
int ctl_raw(struct ctl *ctl, const char *request)
{
	json_error_t jerr;
	json_t *req = json_loads(request, 0, &jerr), *reply;

	if (!json_is_object(req)) {
		if (req)
			fprintf(stderr, "memvisorctl: raw: the request must be a JSON object\n");
		else
			fprintf(stderr, "memvisorctl: raw: invalid JSON at column %d: %s\n", jerr.column,
				jerr.text);
		json_decref(req);
		return CTL_EXIT_USAGE;
	}
	int rc = qmp_send(&ctl->qmp, req, &reply);
	json_decref(req);
	if (rc)
		return ctl_fail(ctl, "raw");
	json_t *ret = json_object_get(reply, "return");
	if (!ctl->json)
		ctl_print_json(stdout, reply);
	else if (ret)
		ctl_print_json(stdout, ret);
	else
		ctl_print_json(stderr, reply);   /* no "return" to print */
	json_decref(reply);
	return ret ? 0 : CTL_EXIT_FAIL;
}

/*
 * What every memvisorctl command shares: error lines, JSON output for
 * --json, and reading fields of the monitor's replies without trusting
 * their shape (the client must not crash on a server it does not know).
 */
#include <stdlib.h>
#include "ctl.h"

int ctl_fail(const struct ctl *ctl, const char *what)
{
	fprintf(stderr, "memvisorctl: %s: %s\n", what, qmp_error(&ctl->qmp));
	return CTL_EXIT_FAIL;
}

void ctl_print_json(FILE *f, json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (text) {
		fprintf(f, "%s\n", text);
		free(text);
	}
}

int ctl_print_return(struct ctl *ctl, const char *command, json_t *arguments)
{
	json_t *ret;

	if (qmp_call(&ctl->qmp, command, arguments, &ret))
		return ctl_fail(ctl, command);
	ctl_print_json(stdout, ret);
	json_decref(ret);
	return 0;
}

bool ctl_json_u64(json_t *obj, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

bool ctl_json_bool(json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

const char *ctl_json_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "-";
}

/*
 * `balloon SIZE` and `info balloon`. SIZE is the logical VM size to aim at,
 * as in QEMU's HMP `balloon`: a plain number is MiB; a suffix B, K, M, G or
 * T (powers of 1024, optionally followed by "iB") says otherwise. `info
 * balloon` starts with QEMU's line ("balloon: actual=MiB") and adds what
 * x-query-balloon knows about the frames behind it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctl.h"

bool ctl_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	unsigned shift = 20;
	if (*end) {
		static const char units[] = "BKMGT";
		const char *u = strchr(units, end[0] >= 'a' ? end[0] - 32 : end[0]);
		if (!u || !end[0])
			return false;
		shift = 10 * (unsigned)(u - units);
		end++;
		if (*end && (shift == 0 || strcmp(end, "iB")))
			return false;
	}
	if (!v || v > ((uint64_t)INT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

int ctl_balloon(struct ctl *ctl, const char *size)
{
	uint64_t bytes;

	if (!ctl_parse_size(size, &bytes)) {
		fprintf(stderr, "memvisorctl: balloon %s: not a size (MiB, or a number with B, K, "
			"M, G or T) (memvisorctl --help)\n", size);
		return CTL_EXIT_USAGE;
	}
	json_t *args = json_pack("{s:I}", "value", (json_int_t)bytes);
	if (!args) {
		fprintf(stderr, "memvisorctl: balloon: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	int rc;
	if (ctl->json) {
		rc = ctl_print_return(ctl, "balloon", args);
	} else {
		json_t *ret;
		rc = qmp_call(&ctl->qmp, "balloon", args, &ret) ? ctl_fail(ctl, "balloon") : 0;
		if (!rc)
			json_decref(ret);
	}
	json_decref(args);
	return rc;
}

static void size_line(FILE *f, json_t *ret, const char *key, const char *label)
{
	uint64_t v;
	char buf[32];

	if (ctl_json_u64(ret, key, &v)) {
		ctl_format_size(buf, sizeof(buf), v);
		fprintf(f, "%-22s %s\n", label, buf);
	} else {
		fprintf(f, "%-22s -\n", label);
	}
}

static void count_line(FILE *f, json_t *ret, const char *key, const char *label)
{
	uint64_t v;

	if (ctl_json_u64(ret, key, &v))
		fprintf(f, "%-22s %" PRIu64 "\n", label, v);
	else
		fprintf(f, "%-22s -\n", label);
}

void ctl_table_balloon(FILE *f, json_t *ret)
{
	uint64_t actual;

	if (ctl_json_u64(ret, "actual", &actual))
		fprintf(f, "balloon: actual=%" PRIu64 "\n", actual >> 20);
	else
		fprintf(f, "balloon: actual=-\n");
	size_line(f, ret, "target", "target");
	count_line(f, ret, "ballooned-pages", "ballooned pages");
	count_line(f, ret, "frames-returned", "frames returned");
	size_line(f, ret, "host-bytes-released", "host memory released");
	size_line(f, ret, "placeholder-resident-bytes", "written after release");
	count_line(f, ret, "pending", "pending frames");
	count_line(f, ret, "rejected", "bogus PFNs rejected");
	count_line(f, ret, "failed", "PFNs failed");
	count_line(f, ret, "bad-buffers", "bad buffers");
	count_line(f, ret, "broken-rings", "broken rings");
	uint64_t when;
	time_t now = time(NULL);
	if (!ctl_json_u64(ret, "stats-last-update", &when) || !when)
		fprintf(f, "%-22s never\n", "guest stats updated");
	else if ((uint64_t)now >= when)
		fprintf(f, "%-22s %" PRIu64 " s ago\n", "guest stats updated", (uint64_t)now - when);
	else
		fprintf(f, "%-22s at %" PRIu64 "\n", "guest stats updated", when);
	json_t *stats = json_object_get(ret, "stats"), *v;
	const char *key;
	json_object_foreach(stats, key, v) {
		if (json_is_integer(v))
			fprintf(f, "guest %-16s %" JSON_INTEGER_FORMAT "\n", key, json_integer_value(v));
	}
}

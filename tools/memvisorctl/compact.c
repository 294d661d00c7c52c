/*
 * `compact [--order N|full] [--budget-ms N]`: one compaction of zone
 * Normal through QMP x-compact, and what it did in a few lines (with
 * --json, the reply as it came).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

/* The monitor knows the zone's largest order and refuses beyond it; here
 * only what cannot be an order at all. */
#define CTL_ORDER_MAX 63

bool ctl_parse_order(const char *s, int *order)
{
	char *end;

	if (!strcmp(s, "full")) {
		*order = -1;
		return true;
	}
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v > CTL_ORDER_MAX)
		return false;
	*order = (int)v;
	return true;
}

bool ctl_parse_budget_ms(const char *s, int64_t *ms)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	/* x-compact takes up to UINT64_MAX ns; a QMP integer is signed. */
	if (errno || *end || v > INT64_MAX / 1000000)
		return false;
	*ms = v;
	return true;
}

static uint64_t field(json_t *ret, const char *key)
{
	uint64_t v;

	return ctl_json_u64(ret, key, &v) ? v : 0;
}

static void summary(FILE *f, json_t *ret)
{
	char copied[32];
	bool reached = false;

	ctl_format_size(copied, sizeof(copied), field(ret, "bytes-copied"));
	fprintf(f, "zone %s: moved %" PRIu64 " pages (%s copied), failed %" PRIu64
		", hash mismatches %" PRIu64 "\n", ctl_json_str(ret, "zone"), field(ret, "moved"),
		copied, field(ret, "failed"), field(ret, "hash-mismatches"));
	fprintf(f, "promoted %" PRIu64 " ranges to 2 MiB leaves (%" PRIu64 " steered), split %"
		PRIu64 " guest blocks, %" PRIu64 " stale\n", field(ret, "promoted-ranges"),
		field(ret, "steered-ranges"), field(ret, "split-blocks"), field(ret, "stale"));
	ctl_json_bool(ret, "target-reached", &reached);
	fprintf(f, "took %.3f ms in %" PRIu64 " passes, vCPUs paused %.3f ms; stopped: %s%s\n",
		(double)field(ret, "ns") / 1e6, field(ret, "passes"),
		(double)field(ret, "pause-ns") / 1e6, ctl_json_str(ret, "stop"),
		reached ? " (target order reached)" : "");
}

int ctl_compact(struct ctl *ctl)
{
	json_t *args = json_object(), *ret;

	if (!args ||
	    (ctl->compact_order >= 0 &&
	     json_object_set_new(args, "order", json_integer(ctl->compact_order))) ||
	    (ctl->compact_order < 0 && json_object_set_new(args, "order", json_string("full"))) ||
	    (ctl->budget_ms >= 0 &&
	     json_object_set_new(args, "budget-ms", json_integer((json_int_t)ctl->budget_ms)))) {
		json_decref(args);
		fprintf(stderr, "memvisorctl: compact: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	int rc;
	if (ctl->json) {
		rc = ctl_print_return(ctl, "x-compact", args);
	} else {
		rc = qmp_call(&ctl->qmp, "x-compact", args, &ret) ? ctl_fail(ctl, "compact") : 0;
		if (!rc) {
			summary(stdout, ret);
			json_decref(ret);
		}
	}
	json_decref(args);
	return rc;
}

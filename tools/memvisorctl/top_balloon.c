/*
 * The balloon line of `memvisorctl top`, from x-query-balloon: the logical
 * size the balloon leaves, what it holds, and free page reporting (what the
 * guest reported, what the host got back, what was refused or kept, and how
 * long ago the last report came, by the host's CLOCK_MONOTONIC, which the
 * VMM's last-report-ms also reads).
 */
#include <inttypes.h>
#include <time.h>
#include "ctl.h"
#include "top.h"

static uint64_t top_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void top_panel_balloon(FILE *f, json_t *balloon)
{
	uint64_t actual = 0, ballooned = 0, ranges = 0, reported = 0, released = 0, rejected = 0,
		 kept = 0, last = 0;
	bool on = false, offered = false;

	if (!balloon) {
		fprintf(f, "Balloon: none\n");
		return;
	}
	ctl_json_u64(balloon, "actual", &actual);
	ctl_json_u64(balloon, "ballooned-pages", &ballooned);
	fprintf(f, "Balloon: actual %" PRIu64 " MiB, %" PRIu64 " pages ballooned\n", actual >> 20,
		ballooned);
	ctl_json_bool(balloon, "reporting", &on);
	ctl_json_bool(balloon, "reporting-offered", &offered);
	ctl_json_u64(balloon, "reported-ranges", &ranges);
	ctl_json_u64(balloon, "reported-bytes", &reported);
	ctl_json_u64(balloon, "reporting-released-bytes", &released);
	ctl_json_u64(balloon, "reporting-rejected", &rejected);
	ctl_json_u64(balloon, "reporting-kept", &kept);
	ctl_json_u64(balloon, "last-report-ms", &last);
	fprintf(f, "  free page reporting %s: %" PRIu64 " ranges, %" PRIu64 " MiB reported, %" PRIu64
		   " MiB released, %" PRIu64 " rejected, %" PRIu64 " kept",
		on ? "on" : offered ? "offered" : "off", ranges, reported >> 20, released >> 20, rejected,
		kept);
	uint64_t now = top_monotonic_ms();
	if (last && now >= last)
		fprintf(f, ", last %" PRIu64 ".%01" PRIu64 " s ago", (now - last) / 1000,
			(now - last) % 1000 / 100);
	fputc('\n', f);
}

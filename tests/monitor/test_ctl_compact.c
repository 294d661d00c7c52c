/*
 * memvisorctl compact and frames --svg over a real monitor socket, in
 * process (the session's target, so no VM and no KVM): the summary's lines
 * and numbers against the guest's compaction counters, the vCPUs paused
 * around it, --json that parses, and a picture with one cell per pageblock
 * written before and after.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "session.h"
#include "vm_proc.h"
#include "vmm/memory/guest_compact.h"
#include "vmm/monitor/monitor.h"

static struct session s;
static struct monitor *m;
static char dir[128], sock[160];

static void setup(void)
{
	char err[256];

	session_start(&s, 8);
	session_negotiate(&s);
	test_temp_dir(dir, sizeof(dir), "ctl-compact");
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	cr_assert_eq(monitor_start(sock, &s.target, &m, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	monitor_stop(m, false, "host-qmp-quit");
	rmdir(dir);
	session_finish(&s);
}

TestSuite(ctl_compact, .init = setup, .fini = teardown, .timeout = 60);

#define CTL(r, ...) ctl_run((r), 20.0, (const char *const[]){ sock, __VA_ARGS__, NULL })

Test(ctl_compact, summary_and_json)
{
	struct ctl_run r;
	struct guest_compact_stats st;
	char want[96];

	CTL(&r, "compact");
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	guest_mem_compact_stats(s.gm, &st);
	cr_assert_eq(st.runs, 1);
	snprintf(want, sizeof(want), "zone Normal: moved %llu pages (", (unsigned long long)st.moved);
	cr_expect_not_null(strstr(r.out, want), "%s", r.out);
	cr_expect_not_null(strstr(r.out, "failed 0, hash mismatches 0\n"), "%s", r.out);
	snprintf(want, sizeof(want), "promoted %llu ranges to 2 MiB leaves",
		 (unsigned long long)st.promoted_ranges);
	cr_expect_not_null(strstr(r.out, want), "%s", r.out);
	cr_expect_not_null(strstr(r.out, "vCPUs paused "), "%s", r.out);
	cr_expect_eq(s.pauses, 1, "paused for it");
	cr_expect_eq(s.state, VM_STATE_RUNNING, "and resumed");
	ctl_run_free(&r);

	CTL(&r, "compact", "--order", "2", "--budget-ms", "20");
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.out, "stopped: target-reached (target order reached)"), "%s",
			   r.out);
	ctl_run_free(&r);

	CTL(&r, "--json", "compact", "--budget-ms", "0");
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	json_t *j = json_loads(r.out, 0, NULL);
	cr_assert_not_null(j, "%s", r.out);
	cr_expect(json_is_integer(json_object_get(j, "moved")));
	cr_expect(json_is_integer(json_object_get(j, "pause-ns")));
	json_decref(j);
	ctl_run_free(&r);

	/* The zone's largest order is the monitor's to check. */
	CTL(&r, "compact", "--order", "40");
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "memvisorctl: compact: Parameter 'order'"), "%s", r.err);
	ctl_run_free(&r);
}

static size_t cells_in(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t n = 0;

	cr_assert_not_null(f, "%s", path);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	cr_assert(!strncmp(line, "<?xml", 5), "%s", line);
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, "<rect class=\"pb ", 16);
	fclose(f);
	return n;
}

Test(ctl_compact, frames_svg_before_and_after)
{
	struct mm_zone *z = mm_zone_get(s.arena, ZONE_NORMAL);
	char before[200], after[200], tmp[210];
	struct ctl_run r;

	snprintf(before, sizeof(before), "%s/before.svg", dir);
	snprintf(after, sizeof(after), "%s/after.svg", dir);
	CTL(&r, "frames", "--svg", before);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char want[64];
	snprintf(want, sizeof(want), "%u pageblocks in 1 zones", z->buddy.nr_pageblocks);
	cr_expect_not_null(strstr(r.out, want), "%s", r.out);
	ctl_run_free(&r);
	CTL(&r, "compact");
	ctl_run_free(&r);
	CTL(&r, "frames", "--svg", after);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	ctl_run_free(&r);
	cr_expect_eq(cells_in(before), z->buddy.nr_pageblocks);
	cr_expect_eq(cells_in(after), z->buddy.nr_pageblocks);
	snprintf(tmp, sizeof(tmp), "%s.tmp", after);
	cr_expect_neq(access(tmp, F_OK), 0, "the temporary file was left behind");

	CTL(&r, "--json", "frames");
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	json_t *j = json_loads(r.out, 0, NULL);
	cr_expect(json_is_array(json_object_get(j, "zones")), "%s", r.out);
	json_decref(j);
	ctl_run_free(&r);

	snprintf(tmp, sizeof(tmp), "%s/no/such.svg", dir);
	CTL(&r, "frames", "--svg", tmp);
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "no/such.svg.tmp: No such file or directory"), "%s", r.err);
	ctl_run_free(&r);
	unlink(before);
	unlink(after);
}

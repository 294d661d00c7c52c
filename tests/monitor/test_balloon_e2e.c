/*
 * The balloon end to end: build/memvisor running build/guest/balloon.elf
 * (and balloon_hostile.elf) with a monitor socket. QMP balloon moves the
 * guest; x-query-balloon, x-query-frames, the BALLOON_CHANGE events, the
 * guest's own lines on its console ("ws ok", no I1 or deflate-check
 * failure) and the host's view of the process (memfd blocks, VmRSS, the
 * hugetlb pool) say what happened. Zone Huge needs room in the hugetlb
 * pool (skipped without it, failed when CI=true); everything needs
 * /dev/kvm (likewise).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "balloon_vm.h"
#include "vm_proc.h"
#include "tests/support/linux_guest.h"

TestSuite(balloon_e2e, .fini = be_fini);

/*
 * Waits for the guest's stats to show it has given up (or taken back) half
 * of its RAM: free memory at most (ballooned) or more than (not) its total
 * less RAM / 2. The device asks for fresh stats when the guest reports a
 * new size, and after each x-query-balloon.
 */
static void wait_guest_stats(bool ballooned)
{
	double end = test_now() + be_balloon_limit_s;
	uint64_t free_b = 0, total = 0, when = 0;

	for (;;) {
		json_t *r;
		json_t *x = be_xquery(&r);
		json_t *st = json_object_get(x, "stats");
		free_b = INT(st, "stat-free-memory");
		total = INT(st, "stat-total-memory");
		when = INT(x, "stats-last-update");
		json_decref(r);
		if (total && (free_b + RAM / 2 <= total) == ballooned)
			break;
		cr_assert_lt(test_now(), end, "the guest's stats still say %llu of %llu bytes free",
			     (unsigned long long)free_b, (unsigned long long)total);
		usleep(10000);
	}
	cr_assert_geq(when, (uint64_t)time(NULL) - 60, "stats-last-update %llu",
		      (unsigned long long)when);
}

static void check_guest_line(const char *line)
{
	cr_assert_not_null(strstr(line, " ws ok"), "%s", line);
	cr_assert_null(strstr(line, "I1 BROKEN"), "%s", line);
	cr_assert_null(strstr(line, "DEFLATED PAGES BAD"), "%s", line);
	cr_assert_null(strstr(line, "short"), "%s", line);
}

static void inflate_and_back(const char *hugepages, bool huge)
{
	json_t *r;
	bool ok;

	if (huge)
		be_need_huge_pool();
	be_start("guest/balloon.elf", hugepages, "ws=16M");
	free(be_wait_lines("balloon: ready", 1, 20));
	uint64_t vmm0 = 0, guest0 = 0, vmm1 = 0, guest1 = 0;
	uint64_t free0 = be_frames(&ok, &vmm0, &guest0);
	cr_assert(ok, "I1 before the balloon");

	be_balloon_to(RAM / 2);
	char *out = be_wait_lines("balloon: target", 1, 30);
	check_guest_line(be_last_line(out, "balloon: target"));
	free(out);
	cr_assert_geq(be_events, 1);

	json_t *x = be_xquery(&r);
	uint64_t pages = (RAM / 2) >> 12;
	cr_assert_eq(INT(x, "target"), RAM / 2);
	cr_assert_eq(INT(x, "actual"), RAM / 2);
	cr_assert_eq(INT(x, "ballooned-pages"), pages);
	cr_assert_eq(INT(x, "rejected"), 0);
	cr_assert_eq(INT(x, "failed"), 0);
	cr_assert_eq(INT(x, "bad-buffers"), 0);
	uint64_t returned = INT(x, "frames-returned");
	if (huge) {
		/* Whole 2 MiB blocks only; the guest balloons whole blocks
		 * while it needs that many, so at least 99 % leave. */
		cr_assert_eq(returned % 512, 0, "frames-returned %llu", (unsigned long long)returned);
		cr_assert_geq(returned, pages - pages / 100, "frames-returned %llu of %llu",
			      (unsigned long long)returned, (unsigned long long)pages);
	} else {
		cr_assert_eq(returned, pages);
	}
	json_decref(r);
	wait_guest_stats(true);
	struct ctl_run ctl;
	ctl_run(&ctl, 20.0, (const char *const[]){ be_vm.sock, "info", "balloon", NULL });
	cr_assert_not_null(strstr(ctl.out, "guest stats updated"), "%s", ctl.out);
	cr_assert_not_null(strstr(ctl.out, " s ago\n"), "%s", ctl.out);
	ctl_run_free(&ctl);
	uint64_t free1 = be_frames(&ok, &vmm1, &guest1);
	cr_assert(ok, "I1 with the balloon inflated");
	/* The guest's frames went back to the buddy; the VMM may have taken
	 * a few of them for its own bookkeeping meanwhile. */
	cr_assert_eq(guest0 - guest1, returned, "the guest's frames fell by %lld, returned %llu",
		     (long long)(guest0 - guest1), (unsigned long long)returned);
	cr_assert_eq(free1 - free0 + (vmm1 - vmm0), returned,
		     "the buddy's free frames grew by %lld (the VMM's by %lld), returned %llu",
		     (long long)(free1 - free0), (long long)(vmm1 - vmm0), (unsigned long long)returned);
	cr_assert_geq(free1 - free0, returned - returned / 100);

	be_balloon_to(RAM);
	out = be_wait_lines("balloon: target", 2, 30);
	check_guest_line(be_last_line(out, "balloon: target"));
	cr_assert_not_null(strstr(be_last_line(out, "balloon: target"), "target 0 pages actual 0 pages"),
			   "%s", be_last_line(out, "balloon: target"));
	free(out);
	x = be_xquery(&r);
	cr_assert_eq(INT(x, "ballooned-pages"), 0);
	cr_assert_eq(INT(x, "rejected"), 0);
	json_decref(r);
	wait_guest_stats(false);
	uint64_t vmm2 = 0, guest2 = 0;
	be_frames(&ok, &vmm2, &guest2);
	cr_assert(ok, "I1 after the deflate");
	cr_assert_eq(guest2, guest0, "the guest has %llu frames after the deflate, %llu before",
		     (unsigned long long)guest2, (unsigned long long)guest0);
	cr_assert_geq(be_events, 2);
}

Test(balloon_e2e, inflate_half_and_back_zone_normal, .timeout = 120)
{
	inflate_and_back("off", false);
}

Test(balloon_e2e, inflate_half_and_back_zone_huge, .timeout = 120)
{
	inflate_and_back("on", true);
}

/*
 * The host gets the ballooned memory back. A guest page that was never
 * touched holds no host memory, so a first inflate and deflate come
 * before the measured inflate: the guest writes and checks every page it
 * deflates. Then the memfds' allocated blocks and the process's RSS
 * (zone Normal), or the hugetlb pool (zone Huge), fall by at least 99 %
 * of the ballooned bytes, and x-query-balloon's host-bytes-released says
 * as much.
 */
static void host_memory_released(const char *hugepages, bool huge)
{
	const uint64_t ballooned = RAM / 2;
	json_t *r;

	if (huge)
		be_need_huge_pool();
	be_start("guest/balloon.elf", hugepages, "ws=16M");
	free(be_wait_lines("balloon: ready", 1, 20));
	be_balloon_to(RAM / 2);
	be_balloon_to(RAM);
	free(be_wait_lines("balloon: target", 2, 30));
	uint64_t blocks0 = be_memfd_bytes(be_vm.pid), rss0 = be_vm_rss(be_vm.pid), pool0 = be_pool_used();
	json_t *x = be_xquery(&r);
	uint64_t host0 = INT(x, "host-bytes-released");
	json_decref(r);

	be_balloon_to(RAM / 2);
	char *out = be_wait_lines("balloon: target", 3, 30);
	check_guest_line(be_last_line(out, "balloon: target"));
	free(out);
	uint64_t blocks1 = be_memfd_bytes(be_vm.pid), rss1 = be_vm_rss(be_vm.pid), pool1 = be_pool_used();
	x = be_xquery(&r);
	uint64_t host1 = INT(x, "host-bytes-released");
	json_decref(r);
	const uint64_t want = ballooned - ballooned / 100;

	if (huge) {
		/*
		 * Zone Huge returns whole 2 MiB blocks only, each one once all
		 * its 512 pages are ballooned; the guest gives whole 2 MiB
		 * blocks while it needs that many, so 99 % must still leave.
		 * What is returned must reach the pool in full.
		 */
		const uint64_t block = HUGE_PAGE_KIB * 1024;
		cr_assert_geq(host1 - host0, want, "host-bytes-released grew by %llu of %llu",
			      (unsigned long long)(host1 - host0), (unsigned long long)ballooned);
		cr_assert_eq((host1 - host0) % block, 0);
		cr_assert_geq(pool0 - pool1, host1 - host0,
			      "the hugetlb pool got back %lld bytes, host-bytes-released grew by %llu",
			      (long long)(pool0 - pool1), (unsigned long long)(host1 - host0));
	} else {
		cr_assert_geq(host1 - host0, want, "host-bytes-released grew by %llu of %llu",
			      (unsigned long long)(host1 - host0), (unsigned long long)ballooned);
		cr_assert_geq(blocks0 - blocks1, want, "the memfds' blocks fell by %lld of %llu bytes",
			      (long long)(blocks0 - blocks1), (unsigned long long)ballooned);
		cr_assert_geq(rss0 - rss1, want, "VmRSS fell by %lld of %llu bytes",
			      (long long)(rss0 - rss1), (unsigned long long)ballooned);
	}
}

Test(balloon_e2e, host_memory_released_zone_normal, .timeout = 120)
{
	host_memory_released("off", false);
}

Test(balloon_e2e, host_memory_released_zone_huge, .timeout = 120)
{
	host_memory_released("on", true);
}

Test(balloon_e2e, twenty_cycles_keep_the_working_set, .timeout = 240)
{
	be_start("guest/balloon.elf", "off", "ws=16M");
	free(be_wait_lines("balloon: ready", 1, 20));
	for (unsigned i = 0; i < 20; i++) {
		/* Sizes that differ from cycle to cycle. */
		uint64_t low = RAM / 2 - (uint64_t)(i % 5) * 8 * MIB;
		be_balloon_to(low);
		be_balloon_to(RAM);
	}
	char *out = be_wait_lines("balloon: target", 40, 60);
	unsigned lines = 0;
	for (const char *p = out; (p = strstr(p, "balloon: target")); p++) {
		size_t n = strcspn(p, "\n");
		char line[512];
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		check_guest_line(line);
		lines++;
	}
	cr_assert_geq(lines, 40);
	free(out);
	cr_assert_geq(be_events, 40, "%u BALLOON_CHANGE be_events for 40 changes", be_events);
	json_t *r;
	json_t *x = be_xquery(&r);
	cr_assert_eq(INT(x, "rejected"), 0);
	cr_assert_eq(INT(x, "ballooned-pages"), 0);
	json_decref(r);
	bool ok;
	be_free_frames(&ok);
	cr_assert(ok, "I1 after 20 cycles");
}

/* Parses "N bogus PFNs in M buffers, K malformed buffers" from the
 * hostile guest's last line. */
Test(balloon_e2e, hostile_guest, .timeout = 120)
{
	be_start("guest/balloon_hostile.elf", "off", "");
	char *out = be_wait_lines("balloon-hostile: done:", 1, 60);
	const char *done = be_last_line(out, "balloon-hostile: done:");
	unsigned bogus, buffers, malformed;
	cr_assert_eq(sscanf(done, "balloon-hostile: done: %u bogus PFNs in %u buffers, %u malformed buffers",
			    &bogus, &buffers, &malformed), 3, "%s", done);
	cr_assert_not_null(strstr(done, "ws ok"), "%s", done);
	cr_assert_null(strstr(done, "I1 BROKEN"), "%s", done);
	cr_assert_not_null(strstr(out, "balloon-hostile: a normal inflate and deflate work"), "%s", out);
	free(out);
	cr_assert(mon_proc_wait(&be_vm, 20), "the VM did not end after the hostile guest");
	cr_assert_eq(be_vm.status, 0, "exit status %d; stderr:\n%s", be_vm.status,
		     mon_read_file(be_vm.err_path));
}

/* The hostile guest's cases counted by the device. With linger=1 the
 * guest stays up after its last line, so the counters are read once it
 * has sent everything. */
Test(balloon_e2e, hostile_guest_is_counted, .timeout = 120)
{
	json_t *r;

	be_start("guest/balloon_hostile.elf", "off", "linger=1");
	char *out = be_wait_lines("balloon-hostile: done:", 1, 60);
	const char *done = be_last_line(out, "balloon-hostile: done:");
	unsigned bogus, buffers, malformed;
	cr_assert_eq(sscanf(done, "balloon-hostile: done: %u bogus PFNs in %u buffers, %u malformed buffers",
			    &bogus, &buffers, &malformed), 3, "%s", done);
	cr_assert_not_null(strstr(out, "after the resets, a normal inflate and deflate work"), "%s", out);
	free(out);
	json_t *x = be_xquery(&r);
	uint64_t rejected = INT(x, "rejected"), failed = INT(x, "failed");
	uint64_t ballooned = INT(x, "ballooned-pages"), bad = INT(x, "bad-buffers");
	uint64_t broken = INT(x, "broken-rings");
	json_decref(r);
	/* Every bogus PFN refused and counted (as rejected, or as failed
	 * when the memory operation could not apply to it), the one in the
	 * legacy hole below 1 MiB included. Only the duplicate buffer's
	 * legitimate first copy is ballooned. */
	cr_assert_eq(ballooned, 1, "%llu pages ballooned by the hostile guest",
		     (unsigned long long)ballooned);
	cr_assert_eq(rejected + failed, bogus,
		     "rejected %llu, failed %llu, the guest sent %u bogus PFNs",
		     (unsigned long long)rejected, (unsigned long long)failed, bogus);
	/* Each malformed descriptor chain and the buffer whose length is no
	 * whole number of PFNs count as a bad buffer; the last two cases (a
	 * head index out of range, avail.idx a ring ahead) break the ring
	 * itself: each counts as a broken ring, and the device asks for a
	 * reset (the guest checks that it did). */
	cr_assert_eq(broken, 2, "broken-rings %llu", (unsigned long long)broken);
	cr_assert_geq(malformed, 2);
	cr_assert_eq(bad, malformed - 2 + 1, "bad-buffers %llu, the guest sent %u malformed buffers",
		      (unsigned long long)bad, malformed);
	be_cmd("{\"execute\": \"quit\"}", &r);
	json_decref(r);
	cr_assert(mon_proc_wait(&be_vm, 20), "the VM did not end on quit");
}

/* ---- Linux's own balloon driver (tests/linux/guest/) ---- */

/*
 * The Linux guest's virtio_balloon driver against memvisor's device: half
 * of the guest inflated over QMP (Linux counts the pages in /proc/vmstat,
 * the host gets every frame back, the driver's stats reach x-query-balloon),
 * the allocators consistent and a GPA the kernel wrote walkable while Linux
 * runs, stop and cont, deflate, and quit.
 */
Test(balloon_e2e, linux_driver_half_and_back, .timeout = 1200)
{
	json_t *r;
	bool ok;

	linux_guest_image("vmlinux");   /* make test builds it: missing is a failure */
	be_start("linux/vmlinux", "off", "mvtest.watch=900");
	be_balloon_limit_s = 300;
	free(be_wait_lines("mvtest: ready", 1, 300));
	uint64_t vmm0 = 0, guest0 = 0;
	be_frames(&ok, &vmm0, &guest0);
	cr_assert(ok, "I1 with Linux running");

	uint64_t pages = (RAM / 2) >> 12;
	be_balloon_to(RAM / 2);
	be_wait_linux_meminfo("balloon_inflate", (long long)pages, 120);
	json_t *x = be_xquery(&r);
	cr_assert_eq(INT(x, "ballooned-pages"), pages);
	cr_assert_eq(INT(x, "frames-returned"), pages, "zone Normal gives back every frame");
	/* What Linux's driver negotiates with memvisor's device. */
	char *features = json_dumps(json_object_get(x, "features"), 0);
	cr_assert_not_null(strstr(features, "\"must-tell-host\""), "%s", features);
	cr_assert_not_null(strstr(features, "\"deflate-on-oom\""), "%s", features);
	cr_assert_not_null(strstr(features, "\"stats-vq\""), "%s", features);
	cr_assert_not_null(strstr(features, "\"version-1\""), "%s", features);
	free(features);
	cr_assert_eq(INT(x, "rejected"), 0);
	cr_assert_eq(INT(x, "bad-buffers"), 0);
	json_decref(r);
	wait_guest_stats(true);
	x = be_xquery(&r);
	cr_assert_gt(INT(json_object_get(x, "stats"), "stat-minor-faults"), 0, "Linux's fault counts");
	json_decref(r);
	uint64_t guest1 = 0;
	be_frames(&ok, NULL, &guest1);
	cr_assert(ok, "I1 with Linux's balloon inflated");
	cr_assert_eq(guest0 - guest1, pages);

	/* The kernel's image starts at 16 MiB: a GPA Linux wrote has a leaf. */
	json_t *p2m = be_cmd("{\"execute\": \"x-query-p2m\", \"arguments\": {\"gpa\": 16777216}}", &r);
	cr_assert_not_null(p2m);
	json_decref(r);
	struct ctl_run ctl;
	ctl_run(&ctl, 20.0, (const char *const[]){ "--once", be_vm.sock, "top", NULL });
	cr_assert_eq(ctl.status, 0, "%s%s", ctl.out, ctl.err);
	ctl_run_free(&ctl);

	be_cmd("{\"execute\": \"stop\"}", &r);
	json_decref(r);
	cr_assert_str_eq(json_string_value(json_object_get(be_cmd("{\"execute\": \"query-status\"}", &r),
							   "status")), "paused");
	json_decref(r);
	be_cmd("{\"execute\": \"cont\"}", &r);
	json_decref(r);

	be_balloon_to(RAM);
	be_wait_linux_meminfo("balloon_deflate", (long long)pages, 120);
	x = be_xquery(&r);
	cr_assert_eq(INT(x, "ballooned-pages"), 0);
	json_decref(r);
	uint64_t guest2 = 0;
	be_frames(&ok, NULL, &guest2);
	cr_assert(ok, "I1 after Linux deflated");
	cr_assert_eq(guest2, guest0);

	be_cmd("{\"execute\": \"quit\"}", &r);
	json_decref(r);
	cr_assert(mon_proc_wait(&be_vm, 10), "quit did not end the VM");
	cr_assert_eq(be_vm.status, 0);
}

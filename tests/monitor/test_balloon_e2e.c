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
#include "mon_proc.h"
#include "vm_proc.h"
#include "tests/support/linux_guest.h"

#define MIB (1ULL << 20)
#define RAM (256 * MIB)
#define HUGE_PAGE_KIB 2048

#define INT(o, key) ((uint64_t)json_integer_value(json_object_get(o, key)))

static struct mon_proc vm;
static struct mon_client cl;
/* How long a balloon change may take: our guest moves in milliseconds, a
 * Linux guest's driver runs emulated kernel code on PVM hosts. */
static double balloon_limit_s = 30;
static bool started, connected;
/* BALLOON_CHANGE events seen so far and the latest one's actual. */
static unsigned events;
static uint64_t event_actual;

static void fini(void)
{
	if (connected)
		mon_close(&cl);
	if (started)
		mon_proc_finish(&vm);
	connected = started = false;
}

TestSuite(balloon_e2e, .fini = fini);

static bool ci(void)
{
	const char *v = getenv("CI");
	return v && strcmp(v, "true") == 0;
}

static uint64_t meminfo(const char *key)
{
	char line[256];
	uint64_t v = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Zone Huge needs the guest's RAM in free huge pages (plus a margin for
 * the VMM's own). */
static void need_huge_pool(void)
{
	uint64_t free_pages = meminfo("HugePages_Free");
	uint64_t want = RAM / (HUGE_PAGE_KIB * 1024) + 8;

	if (meminfo("Hugepagesize") != HUGE_PAGE_KIB || free_pages < want) {
		if (ci())
			cr_assert_fail("CI=true: the hugetlb pool has %llu free 2 MiB pages, zone Huge needs %llu",
				(unsigned long long)free_pages, (unsigned long long)want);
		else
			cr_skip_test("the hugetlb pool has %llu free 2 MiB pages, zone Huge needs %llu",
				     (unsigned long long)free_pages, (unsigned long long)want);
	}
}

/* Lines of the guest's console starting with prefix. */
static unsigned count_lines(const char *out, const char *prefix)
{
	unsigned n = 0;
	size_t len = strlen(prefix);

	for (const char *p = out; *p; ) {
		if (strncmp(p, prefix, len) == 0)
			n++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

/* Waits until the console holds at least n lines starting with prefix;
 * returns the console (malloc'd). */
static char *wait_lines(const char *prefix, unsigned n, double timeout_s)
{
	double end = test_now() + timeout_s;

	for (;;) {
		char *out = mon_read_file(vm.out_path);
		if (count_lines(out, prefix) >= n)
			return out;
		if (test_now() > end) {
			char *err = mon_read_file(vm.err_path);
			cr_assert_fail("waited %.0f s for %u lines \"%s\"; console:\n%s\nstderr:\n%s",
				 timeout_s, n, prefix, out, err);
		}
		free(out);
		usleep(10000);
	}
}

/* The last line starting with prefix, in a static buffer. */
static const char *last_line(const char *out, const char *prefix)
{
	static char line[512];
	const char *found = NULL;
	size_t len = strlen(prefix);

	for (const char *p = out; *p; ) {
		if (strncmp(p, prefix, len) == 0)
			found = p;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	cr_assert_not_null(found, "no line \"%s\" in:\n%s", prefix, out);
	size_t n = strcspn(found, "\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, found, n);
	line[n] = '\0';
	return line;
}

static void note_event(json_t *ev)
{
	const char *name = json_string_value(json_object_get(ev, "event"));

	if (name && strcmp(name, "BALLOON_CHANGE") == 0) {
		events++;
		event_actual = INT(json_object_get(ev, "data"), "actual");
	}
}

/* Sends a command; returns its "return" (the caller frees the reply via
 * *reply), counting the events read on the way. */
static json_t *cmd(const char *text, json_t **reply)
{
	cr_assert(mon_send(&cl, text));
	for (;;) {
		json_t *r = mon_read(&cl, 20);
		cr_assert_not_null(r, "no reply to %s", text);
		if (json_object_get(r, "event")) {
			note_event(r);
			json_decref(r);
			continue;
		}
		json_t *ret = json_object_get(r, "return");
		cr_assert_not_null(ret, "%s failed: %s", text, json_dumps(r, 0));
		*reply = r;
		return ret;
	}
}

static void start(const char *image, const char *hugepages, const char *cmdline)
{
	const char *args[] = { "-m", "256M", "--hugepages", hugepages,
			       "--cmdline", cmdline, test_build_path(image), NULL };

	test_need_kvm();
	if (access(test_build_path(image), R_OK) != 0)
		cr_skip_test("%s was not built", image);
	mon_proc_init(&vm);
	mon_proc_start(&vm, args);
	started = true;
	balloon_limit_s = 30;
	cr_assert(mon_connect_greeted(&cl, vm.sock, 10), "no greeting");
	connected = true;
	json_t *r = NULL;
	cmd("{\"execute\": \"qmp_capabilities\"}", &r);
	json_decref(r);
	events = 0;
	event_actual = 0;
}

/* Free frames of every zone and whether each is consistent (I1); the
 * VMM's and the guest's frames in *vmm and *guest when not NULL. */
static uint64_t frames(bool *consistent, uint64_t *vmm, uint64_t *guest)
{
	json_t *r;
	json_t *zones = json_object_get(cmd("{\"execute\": \"x-query-frames\"}", &r), "zones");
	uint64_t sum = 0;

	*consistent = true;
	for (size_t i = 0; i < json_array_size(zones); i++) {
		json_t *z = json_array_get(zones, i);
		sum += INT(z, "free");
		if (vmm)
			*vmm += INT(z, "vmm");
		if (guest)
			*guest += INT(z, "guest");
		if (!json_is_true(json_object_get(z, "consistent")))
			*consistent = false;
	}
	json_decref(r);
	return sum;
}

static uint64_t free_frames(bool *consistent)
{
	return frames(consistent, NULL, NULL);
}

/* Asks for a logical size and waits until query-balloon reports it and
 * its BALLOON_CHANGE event has come. */
static void balloon_to(uint64_t bytes)
{
	char text[128];
	json_t *r;
	double end = test_now() + balloon_limit_s;

	snprintf(text, sizeof(text), "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}",
		 (unsigned long long)bytes);
	cmd(text, &r);
	json_decref(r);
	for (;;) {
		uint64_t actual = INT(cmd("{\"execute\": \"query-balloon\"}", &r), "actual");
		json_decref(r);
		if (actual == bytes)
			break;
		cr_assert_lt(test_now(), end, "query-balloon says %llu, not %llu",
			     (unsigned long long)actual, (unsigned long long)bytes);
		usleep(5000);
	}
	/* The event for this actual may still be on its way. */
	while (event_actual != bytes) {
		json_t *ev = mon_read(&cl, end - test_now());
		cr_assert_not_null(ev, "no BALLOON_CHANGE with actual %llu", (unsigned long long)bytes);
		note_event(ev);
		json_decref(ev);
	}
}

static json_t *xquery(json_t **r)
{
	return cmd("{\"execute\": \"x-query-balloon\"}", r);
}

/*
 * Waits for the guest's stats to show it has given up (or taken back) half
 * of its RAM: free memory at most (ballooned) or more than (not) its total
 * less RAM / 2. The device asks for fresh stats when the guest reports a
 * new size, and after each x-query-balloon.
 */
static void wait_guest_stats(bool ballooned)
{
	double end = test_now() + balloon_limit_s;
	uint64_t free_b = 0, total = 0, when = 0;

	for (;;) {
		json_t *r;
		json_t *x = xquery(&r);
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
		need_huge_pool();
	start("guest/balloon.elf", hugepages, "ws=16M");
	free(wait_lines("balloon: ready", 1, 20));
	uint64_t vmm0 = 0, guest0 = 0, vmm1 = 0, guest1 = 0;
	uint64_t free0 = frames(&ok, &vmm0, &guest0);
	cr_assert(ok, "I1 before the balloon");

	balloon_to(RAM / 2);
	char *out = wait_lines("balloon: target", 1, 30);
	check_guest_line(last_line(out, "balloon: target"));
	free(out);
	cr_assert_geq(events, 1);

	json_t *x = xquery(&r);
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
	ctl_run(&ctl, 20.0, (const char *const[]){ vm.sock, "info", "balloon", NULL });
	cr_assert_not_null(strstr(ctl.out, "guest stats updated"), "%s", ctl.out);
	cr_assert_not_null(strstr(ctl.out, " s ago\n"), "%s", ctl.out);
	ctl_run_free(&ctl);
	uint64_t free1 = frames(&ok, &vmm1, &guest1);
	cr_assert(ok, "I1 with the balloon inflated");
	/* The guest's frames went back to the buddy; the VMM may have taken
	 * a few of them for its own bookkeeping meanwhile. */
	cr_assert_eq(guest0 - guest1, returned, "the guest's frames fell by %lld, returned %llu",
		     (long long)(guest0 - guest1), (unsigned long long)returned);
	cr_assert_eq(free1 - free0 + (vmm1 - vmm0), returned,
		     "the buddy's free frames grew by %lld (the VMM's by %lld), returned %llu",
		     (long long)(free1 - free0), (long long)(vmm1 - vmm0), (unsigned long long)returned);
	cr_assert_geq(free1 - free0, returned - returned / 100);

	balloon_to(RAM);
	out = wait_lines("balloon: target", 2, 30);
	check_guest_line(last_line(out, "balloon: target"));
	cr_assert_not_null(strstr(last_line(out, "balloon: target"), "target 0 pages actual 0 pages"),
			   "%s", last_line(out, "balloon: target"));
	free(out);
	x = xquery(&r);
	cr_assert_eq(INT(x, "ballooned-pages"), 0);
	cr_assert_eq(INT(x, "rejected"), 0);
	json_decref(r);
	wait_guest_stats(false);
	uint64_t vmm2 = 0, guest2 = 0;
	frames(&ok, &vmm2, &guest2);
	cr_assert(ok, "I1 after the deflate");
	cr_assert_eq(guest2, guest0, "the guest has %llu frames after the deflate, %llu before",
		     (unsigned long long)guest2, (unsigned long long)guest0);
	cr_assert_geq(events, 2);
}

Test(balloon_e2e, inflate_half_and_back_zone_normal, .timeout = 120)
{
	inflate_and_back("off", false);
}

Test(balloon_e2e, inflate_half_and_back_zone_huge, .timeout = 120)
{
	inflate_and_back("on", true);
}

/* Bytes allocated to the VM process's memfds (guest RAM and the VMM's
 * own), from their block counts. */
static uint64_t memfd_bytes(pid_t pid)
{
	char dir[64], path[320], link[256];
	uint64_t sum = 0;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d))) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "/memfd:", 7) == 0 && stat(path, &st) == 0)
			sum += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return sum;
}

/* VmRSS of pid in bytes. */
static uint64_t vm_rss(pid_t pid)
{
	char path[64], line[256];
	uint64_t kb = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lu", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* The hugetlb pool's pages in use, in bytes (the pool is the host's: a
 * VM's zone Huge memory given back shows there). */
static uint64_t pool_used(void)
{
	return (meminfo("HugePages_Total") - meminfo("HugePages_Free")) * HUGE_PAGE_KIB * 1024;
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
		need_huge_pool();
	start("guest/balloon.elf", hugepages, "ws=16M");
	free(wait_lines("balloon: ready", 1, 20));
	balloon_to(RAM / 2);
	balloon_to(RAM);
	free(wait_lines("balloon: target", 2, 30));
	uint64_t blocks0 = memfd_bytes(vm.pid), rss0 = vm_rss(vm.pid), pool0 = pool_used();
	json_t *x = xquery(&r);
	uint64_t host0 = INT(x, "host-bytes-released");
	json_decref(r);

	balloon_to(RAM / 2);
	char *out = wait_lines("balloon: target", 3, 30);
	check_guest_line(last_line(out, "balloon: target"));
	free(out);
	uint64_t blocks1 = memfd_bytes(vm.pid), rss1 = vm_rss(vm.pid), pool1 = pool_used();
	x = xquery(&r);
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
	start("guest/balloon.elf", "off", "ws=16M");
	free(wait_lines("balloon: ready", 1, 20));
	for (unsigned i = 0; i < 20; i++) {
		/* Sizes that differ from cycle to cycle. */
		uint64_t low = RAM / 2 - (uint64_t)(i % 5) * 8 * MIB;
		balloon_to(low);
		balloon_to(RAM);
	}
	char *out = wait_lines("balloon: target", 40, 60);
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
	cr_assert_geq(events, 40, "%u BALLOON_CHANGE events for 40 changes", events);
	json_t *r;
	json_t *x = xquery(&r);
	cr_assert_eq(INT(x, "rejected"), 0);
	cr_assert_eq(INT(x, "ballooned-pages"), 0);
	json_decref(r);
	bool ok;
	free_frames(&ok);
	cr_assert(ok, "I1 after 20 cycles");
}

/* Parses "N bogus PFNs in M buffers, K malformed buffers" from the
 * hostile guest's last line. */
Test(balloon_e2e, hostile_guest, .timeout = 120)
{
	start("guest/balloon_hostile.elf", "off", "");
	char *out = wait_lines("balloon-hostile: done:", 1, 60);
	const char *done = last_line(out, "balloon-hostile: done:");
	unsigned bogus, buffers, malformed;
	cr_assert_eq(sscanf(done, "balloon-hostile: done: %u bogus PFNs in %u buffers, %u malformed buffers",
			    &bogus, &buffers, &malformed), 3, "%s", done);
	cr_assert_not_null(strstr(done, "ws ok"), "%s", done);
	cr_assert_null(strstr(done, "I1 BROKEN"), "%s", done);
	cr_assert_not_null(strstr(out, "balloon-hostile: a normal inflate and deflate work"), "%s", out);
	free(out);
	cr_assert(mon_proc_wait(&vm, 20), "the VM did not end after the hostile guest");
	cr_assert_eq(vm.status, 0, "exit status %d; stderr:\n%s", vm.status,
		     mon_read_file(vm.err_path));
}

/* The hostile guest's cases counted by the device. With linger=1 the
 * guest stays up after its last line, so the counters are read once it
 * has sent everything. */
Test(balloon_e2e, hostile_guest_is_counted, .timeout = 120)
{
	json_t *r;

	start("guest/balloon_hostile.elf", "off", "linger=1");
	char *out = wait_lines("balloon-hostile: done:", 1, 60);
	const char *done = last_line(out, "balloon-hostile: done:");
	unsigned bogus, buffers, malformed;
	cr_assert_eq(sscanf(done, "balloon-hostile: done: %u bogus PFNs in %u buffers, %u malformed buffers",
			    &bogus, &buffers, &malformed), 3, "%s", done);
	cr_assert_not_null(strstr(out, "after the resets, a normal inflate and deflate work"), "%s", out);
	free(out);
	json_t *x = xquery(&r);
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
	cmd("{\"execute\": \"quit\"}", &r);
	json_decref(r);
	cr_assert(mon_proc_wait(&vm, 20), "the VM did not end on quit");
}

/* ---- Linux's own balloon driver (tests/linux/guest/) ---- */

/* Waits until the Linux init's latest memory line has key >= at_least;
 * returns the value. */
static long long wait_linux_meminfo(const char *key, long long at_least, double timeout_s)
{
	double end = test_now() + timeout_s;

	for (;;) {
		char *out = mon_read_file(vm.out_path);
		long long v = linux_guest_meminfo(out, key);
		if (v >= at_least) {
			free(out);
			return v;
		}
		cr_assert_lt(test_now(), end, "%s is %lld, not %lld, after %.0f s; console:\n%s", key, v,
			     at_least, timeout_s, out);
		free(out);
		usleep(100000);
	}
}

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
	start("linux/vmlinux", "off", "mvtest.watch=900");
	balloon_limit_s = 300;
	free(wait_lines("mvtest: ready", 1, 300));
	uint64_t vmm0 = 0, guest0 = 0;
	frames(&ok, &vmm0, &guest0);
	cr_assert(ok, "I1 with Linux running");

	uint64_t pages = (RAM / 2) >> 12;
	balloon_to(RAM / 2);
	wait_linux_meminfo("balloon_inflate", (long long)pages, 120);
	json_t *x = xquery(&r);
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
	x = xquery(&r);
	cr_assert_gt(INT(json_object_get(x, "stats"), "stat-minor-faults"), 0, "Linux's fault counts");
	json_decref(r);
	uint64_t guest1 = 0;
	frames(&ok, NULL, &guest1);
	cr_assert(ok, "I1 with Linux's balloon inflated");
	cr_assert_eq(guest0 - guest1, pages);

	/* The kernel's image starts at 16 MiB: a GPA Linux wrote has a leaf. */
	json_t *p2m = cmd("{\"execute\": \"x-query-p2m\", \"arguments\": {\"gpa\": 16777216}}", &r);
	cr_assert_not_null(p2m);
	json_decref(r);
	struct ctl_run ctl;
	ctl_run(&ctl, 20.0, (const char *const[]){ "--once", vm.sock, "top", NULL });
	cr_assert_eq(ctl.status, 0, "%s%s", ctl.out, ctl.err);
	ctl_run_free(&ctl);

	cmd("{\"execute\": \"stop\"}", &r);
	json_decref(r);
	cr_assert_str_eq(json_string_value(json_object_get(cmd("{\"execute\": \"query-status\"}", &r),
							   "status")), "paused");
	json_decref(r);
	cmd("{\"execute\": \"cont\"}", &r);
	json_decref(r);

	balloon_to(RAM);
	wait_linux_meminfo("balloon_deflate", (long long)pages, 120);
	x = xquery(&r);
	cr_assert_eq(INT(x, "ballooned-pages"), 0);
	json_decref(r);
	uint64_t guest2 = 0;
	frames(&ok, NULL, &guest2);
	cr_assert(ok, "I1 after Linux deflated");
	cr_assert_eq(guest2, guest0);

	cmd("{\"execute\": \"quit\"}", &r);
	json_decref(r);
	cr_assert(mon_proc_wait(&vm, 10), "quit did not end the VM");
	cr_assert_eq(vm.status, 0);
}

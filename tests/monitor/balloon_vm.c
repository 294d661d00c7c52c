/*
 * One VM for the balloon end-to-end suites (test_balloon_e2e.c,
 * test_reporting_e2e.c): build/memvisor with a monitor socket running a
 * guest image, a QMP client on it, the guest's console lines, the
 * monitor's balloon and frame figures, and the host's view of the process
 * (memfd blocks, VmRSS, the hugetlb pool). See balloon_vm.h.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "balloon_vm.h"
#include "tests/support/linux_guest.h"

struct mon_proc be_vm;
struct mon_client be_cl;
/* How long a balloon change may take: our guest moves in milliseconds, a
 * Linux guest's driver runs emulated kernel code on PVM hosts. */
double be_balloon_limit_s = 30;
static bool started, connected;
/* BALLOON_CHANGE be_events seen so far and the latest one's actual. */
unsigned be_events;
uint64_t be_event_actual;

void be_fini(void)
{
	if (connected)
		mon_close(&be_cl);
	if (started)
		mon_proc_finish(&be_vm);
	connected = started = false;
}

static bool be_ci(void)
{
	const char *v = getenv("CI");
	return v && strcmp(v, "true") == 0;
}

uint64_t be_meminfo(const char *key)
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
void be_need_huge_pool(void)
{
	uint64_t free_pages = be_meminfo("HugePages_Free");
	uint64_t want = RAM / (HUGE_PAGE_KIB * 1024) + 8;

	if (be_meminfo("Hugepagesize") != HUGE_PAGE_KIB || free_pages < want) {
		if (be_ci())
			cr_assert_fail("CI=true: the hugetlb pool has %llu free 2 MiB pages, zone Huge needs %llu",
				(unsigned long long)free_pages, (unsigned long long)want);
		else
			cr_skip_test("the hugetlb pool has %llu free 2 MiB pages, zone Huge needs %llu",
				     (unsigned long long)free_pages, (unsigned long long)want);
	}
}

/* Lines of the guest's console starting with prefix. */
static unsigned be_count_lines(const char *out, const char *prefix)
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
char *be_wait_lines(const char *prefix, unsigned n, double timeout_s)
{
	double end = test_now() + timeout_s;

	for (;;) {
		char *out = mon_read_file(be_vm.out_path);
		if (be_count_lines(out, prefix) >= n)
			return out;
		if (test_now() > end) {
			char *err = mon_read_file(be_vm.err_path);
			cr_assert_fail("waited %.0f s for %u lines \"%s\"; console:\n%s\nstderr:\n%s",
				 timeout_s, n, prefix, out, err);
		}
		free(out);
		usleep(10000);
	}
}

/* The last line starting with prefix, in a static buffer. */
const char *be_last_line(const char *out, const char *prefix)
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

static void be_note_event(json_t *ev)
{
	const char *name = json_string_value(json_object_get(ev, "event"));

	if (name && strcmp(name, "BALLOON_CHANGE") == 0) {
		be_events++;
		be_event_actual = INT(json_object_get(ev, "data"), "actual");
	}
}

/* Sends a command; returns its "return" (the caller frees the reply via
 * *reply), counting the be_events read on the way. */
json_t *be_cmd(const char *text, json_t **reply)
{
	cr_assert(mon_send(&be_cl, text));
	for (;;) {
		json_t *r = mon_read(&be_cl, 20);
		cr_assert_not_null(r, "no reply to %s", text);
		if (json_object_get(r, "event")) {
			be_note_event(r);
			json_decref(r);
			continue;
		}
		json_t *ret = json_object_get(r, "return");
		cr_assert_not_null(ret, "%s failed: %s", text, json_dumps(r, 0));
		*reply = r;
		return ret;
	}
}

void be_start(const char *image, const char *hugepages, const char *cmdline)
{
	const char *args[] = { "-m", "256M", "--hugepages", hugepages,
			       "--cmdline", cmdline, test_build_path(image), NULL };

	test_need_kvm();
	if (access(test_build_path(image), R_OK) != 0)
		cr_skip_test("%s was not built", image);
	mon_proc_init(&be_vm);
	mon_proc_start(&be_vm, args);
	started = true;
	be_balloon_limit_s = 30;
	cr_assert(mon_connect_greeted(&be_cl, be_vm.sock, 10), "no greeting");
	connected = true;
	json_t *r = NULL;
	be_cmd("{\"execute\": \"qmp_capabilities\"}", &r);
	json_decref(r);
	be_events = 0;
	be_event_actual = 0;
}

/* Free frames of every zone and whether each is consistent (I1); the
 * VMM's and the guest's frames in *vmm and *guest when not NULL. */
uint64_t be_frames(bool *consistent, uint64_t *vmm, uint64_t *guest)
{
	json_t *r;
	json_t *zones = json_object_get(be_cmd("{\"execute\": \"x-query-frames\"}", &r), "zones");
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

uint64_t be_free_frames(bool *consistent)
{
	return be_frames(consistent, NULL, NULL);
}

/* Asks for a logical size and waits until query-balloon reports it and
 * its BALLOON_CHANGE event has come. */
void be_balloon_to(uint64_t bytes)
{
	char text[128];
	json_t *r;
	double end = test_now() + be_balloon_limit_s;

	snprintf(text, sizeof(text), "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}",
		 (unsigned long long)bytes);
	be_cmd(text, &r);
	json_decref(r);
	for (;;) {
		uint64_t actual = INT(be_cmd("{\"execute\": \"query-balloon\"}", &r), "actual");
		json_decref(r);
		if (actual == bytes)
			break;
		cr_assert_lt(test_now(), end, "query-balloon says %llu, not %llu",
			     (unsigned long long)actual, (unsigned long long)bytes);
		usleep(5000);
	}
	/* The event for this actual may still be on its way. */
	while (be_event_actual != bytes) {
		json_t *ev = mon_read(&be_cl, end - test_now());
		cr_assert_not_null(ev, "no BALLOON_CHANGE with actual %llu", (unsigned long long)bytes);
		be_note_event(ev);
		json_decref(ev);
	}
}

json_t *be_xquery(json_t **r)
{
	return be_cmd("{\"execute\": \"x-query-balloon\"}", r);
}

/* Bytes allocated to the VM process's memory files (guest RAM and the
 * VMM's own), from their block counts: memfds, and the unnamed tmpfs file
 * a THP-backed zone Normal is (O_TMPFILE, which /proc shows deleted). */
uint64_t be_memfd_bytes(pid_t pid)
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
		bool unnamed = n > 10 && !strcmp(link + n - 10, " (deleted)");
		if ((strncmp(link, "/memfd:", 7) == 0 || unnamed) && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return sum;
}

/* VmRSS of pid in bytes. */
uint64_t be_vm_rss(pid_t pid)
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
uint64_t be_pool_used(void)
{
	return (be_meminfo("HugePages_Total") - be_meminfo("HugePages_Free")) * HUGE_PAGE_KIB * 1024;
}

/* Waits until the Linux init's latest memory line has key >= at_least;
 * returns the value. */
long long be_wait_linux_meminfo(const char *key, long long at_least, double timeout_s)
{
	double end = test_now() + timeout_s;

	for (;;) {
		char *out = mon_read_file(be_vm.out_path);
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

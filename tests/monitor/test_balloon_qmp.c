/*
 * The balloon commands in process: balloon, query-balloon and
 * x-query-balloon against a real virtio-balloon device on the session's
 * guest memory, created from the device table as the VM creates it and
 * reached through the control interface (no vCPU: the driver's config
 * writes are made through the transport directly), QEMU's error without a
 * device, and the change of `actual` that becomes BALLOON_CHANGE;
 * memvisorctl balloon and info balloon over a real monitor socket.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "session.h"
#include "vm_proc.h"
#include "vmm/devices/virtio/balloon/balloon.h"
#include "vmm/memory/balloon_report.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/monitor/balloon_watch.h"
#include "vmm/monitor/monitor.h"
#include "vmm/monitor/qmp/cmd_balloon.h"

#define RAM_MIB 16
#define RAM (RAM_MIB * (1ULL << 20))
#define BASE 0xfeb00e00ULL      /* where the balloon device sits */
#define ACTUAL_OFF (0x100 + 4)

static struct session s;
static struct virtio_balloon *dev;

static void setup(void)
{
	session_start(&s, RAM_MIB);
	session_negotiate(&s);
}

/* The session's VM gets its balloon, as vm_create makes it. */
static void attach(void)
{
	session_add_devices(&s, (const struct device_type *const[]){ &virtio_balloon_device, NULL });
	struct device *d = s.target.device_get(s.target.ctx, VIRTIO_BALLOON_DEVICE_NAME);
	dev = virtio_balloon_of(d);
	cr_assert_not_null(dev);
	device_put(d);
	cr_assert_eq(virtio_mmio_claims(virtio_balloon_mmio(dev), BASE), true);
}

static void teardown(void)
{
	session_finish(&s);
}

TestSuite(balloon_qmp, .init = setup, .fini = teardown);

#define INT(o, key) ((uint64_t)json_integer_value(json_object_get(o, key)))

Test(balloon_qmp, without_a_device_as_qemu)
{
	const char *d = session_error(&s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 1}}",
				      "DeviceNotActive");
	cr_assert_str_eq(d, "No balloon device has been activated");
	d = session_error(&s, "{\"execute\": \"query-balloon\"}", "DeviceNotActive");
	cr_assert_str_eq(d, "No balloon device has been activated");
	session_error(&s, "{\"execute\": \"x-query-balloon\"}", "DeviceNotActive");
	json_t *r = session_return(&s, "{\"execute\": \"human-monitor-command\", "
				       "\"arguments\": {\"command-line\": \"info balloon\"}}");
	cr_assert_str_eq(json_string_value(r), "No balloon device has been activated\n");
	json_decref(r);
}

Test(balloon_qmp, target_is_the_logical_vm_size)
{
	struct virtio_balloon_info info;
	char cmd[128];

	attach();
	json_t *r = session_return(&s, "{\"execute\": \"query-balloon\"}");
	EXPECT_KEYS(r, "actual");
	cr_assert_eq(INT(r, "actual"), RAM);
	json_decref(r);
	/* HMP says the same in QEMU's words and unit. */
	r = session_return(&s, "{\"execute\": \"human-monitor-command\", "
			       "\"arguments\": {\"command-line\": \"info balloon\"}}");
	char want[64];
	snprintf(want, sizeof(want), "balloon: actual=%llu\n", (unsigned long long)(RAM >> 20));
	cr_assert_eq(strncmp(json_string_value(r), want, strlen(want)), 0, "%s", json_string_value(r));
	/* Reporting on a line of its own: offered, the driver has not taken it. */
	cr_assert_str_eq(json_string_value(r) + strlen(want),
			 "free page reporting: offered ranges=0 reported=0 released=0 rejected=0 "
			 "kept=0 last-report-ms=0\n");
	json_decref(r);

	snprintf(cmd, sizeof(cmd), "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}",
		 RAM / 4);
	r = session_return(&s, cmd);
	cr_assert_eq(json_object_size(r), 0);
	json_decref(r);
	virtio_balloon_get_info(dev, &info);
	cr_assert_eq(info.num_pages, (RAM - RAM / 4) >> 12);

	r = session_return(&s, "{\"execute\": \"x-query-balloon\"}");
	EXPECT_KEYS(r, "target", "actual", "ballooned-pages", "frames-returned",
		    "host-bytes-released", "placeholder-resident-bytes", "pending", "rejected",
		    "failed", "bad-buffers",
		    "broken-rings", "driver-ok", "features", "stats", "stats-last-update",
		    "reporting", "reporting-offered", "reported-ranges", "reported-bytes",
		    "reporting-released-bytes", "reporting-rejected", "reporting-failed",
		    "reporting-kept", "reporting-kept-bytes", "reported-frames", "last-report-ms");
	cr_assert(json_is_false(json_object_get(r, "reporting")), "no driver: not negotiated");
	cr_assert(json_is_true(json_object_get(r, "reporting-offered")), "on by default");
	cr_assert_eq(INT(r, "target"), RAM / 4);
	cr_assert_eq(json_array_size(json_object_get(r, "features")), 0, "no driver, no features");
	cr_assert_eq(INT(r, "actual"), RAM);
	cr_assert_eq(INT(r, "ballooned-pages"), 0);
	cr_assert(json_is_object(json_object_get(r, "stats")));
	json_decref(r);

	/* Above the RAM size: an empty balloon. */
	snprintf(cmd, sizeof(cmd), "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}",
		 RAM * 2);
	json_decref(session_return(&s, cmd));
	virtio_balloon_get_info(dev, &info);
	cr_assert_eq(info.num_pages, 0);

	const char *d = session_error(&s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 0}}",
				      "GenericError");
	cr_assert_str_eq(d, "Parameter 'target' expects a size");
	session_error(&s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": -4096}}",
		      "GenericError");
	session_error(&s, "{\"execute\": \"balloon\", \"arguments\": {\"value\": \"1G\"}}",
		      "GenericError");
	session_error(&s, "{\"execute\": \"balloon\"}", "GenericError");
}

Test(balloon_qmp, driver_actual_becomes_balloon_change)
{
	uint64_t actual;
	uint32_t pages = 1024;

	struct balloon_watch w;
	int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cr_assert_geq(wake, 0);
	attach();
	balloon_watch_start(&w, &s.target, wake);
	cr_assert_not(balloon_watch_take(&w, &actual));
	virtio_mmio_access(virtio_balloon_mmio(dev), BASE + ACTUAL_OFF, true, &pages, 4);
	struct virtio_balloon_info info;
	virtio_balloon_get_info(dev, &info);
	if (info.actual != pages) {
		balloon_watch_stop(&w, &s.target);
		close(wake);
		cr_skip_test("the device takes `actual` only from a live driver");
	}
	uint64_t woken = 0;
	cr_assert_eq(read(wake, &woken, sizeof(woken)), (ssize_t)sizeof(woken), "no wake-up");
	cr_assert_eq(woken, 1);
	cr_assert(balloon_watch_take(&w, &actual));
	cr_assert_eq(actual, RAM - ((uint64_t)pages << 12));
	cr_assert_not(balloon_watch_take(&w, &actual), "one event per change");

	json_t *data = qmp_balloon_change_data(actual);
	cr_assert_eq(INT(data, "actual"), RAM - ((uint64_t)pages << 12));
	json_decref(data);
	json_t *r = session_return(&s, "{\"execute\": \"query-balloon\"}");
	cr_assert_eq(INT(r, "actual"), RAM - ((uint64_t)pages << 12));
	json_decref(r);
	/* Stopped, the watch hears nothing more. */
	balloon_watch_stop(&w, &s.target);
	uint32_t more = 2048;
	virtio_mmio_access(virtio_balloon_mmio(dev), BASE + ACTUAL_OFF, true, &more, 4);
	cr_assert_eq(read(wake, &woken, sizeof(woken)), -1, "a wake-up after the watch stopped");
	close(wake);
}

/* A command holds the device while it runs: the VM cannot destroy it
 * meanwhile, and once destroying has begun nobody gets it again. */
Test(balloon_qmp, a_reference_holds_the_device)
{
	attach();
	struct device *d = s.target.device_get(s.target.ctx, VIRTIO_BALLOON_DEVICE_NAME);
	cr_assert_not_null(d);
	cr_assert_null(s.target.device_get(s.target.ctx, "no-such-device"));
	cr_assert_eq(session_destroy_devices_async(&s), 0);
	usleep(100 * 1000);
	cr_assert_not(session_devices_destroyed(&s), "destroyed under a reference");
	cr_assert_null(s.target.device_get(s.target.ctx, VIRTIO_BALLOON_DEVICE_NAME),
		       "a new reference while the set is being destroyed");
	device_put(d);
	session_join_devices(&s);
	cr_assert(session_devices_destroyed(&s));
	session_error(&s, "{\"execute\": \"query-balloon\"}", "DeviceNotActive");
}

/* memvisorctl balloon and info balloon against a monitor over a socket,
 * in process (the session's target, so no VM). */
Test(balloon_qmp, memvisorctl_balloon_and_info)
{
	char dir[128], sock[160], err[256];
	struct monitor *m = NULL;
	struct ctl_run r;
	struct virtio_balloon_info info;

	test_temp_dir(dir, sizeof(dir), "balloon-qmp");
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	attach();
	cr_assert_eq(monitor_start(sock, &s.target, &m, err, sizeof(err)), 0, "%s", err);

	ctl_run(&r, 20.0, (const char *const[]){ sock, "balloon", "4", NULL });
	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	ctl_run_free(&r);
	virtio_balloon_get_info(dev, &info);
	cr_expect_eq(info.num_pages, (RAM - (4ULL << 20)) >> 12);
	ctl_run(&r, 20.0, (const char *const[]){ sock, "balloon", "8MiB", NULL });
	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	ctl_run_free(&r);
	virtio_balloon_get_info(dev, &info);
	cr_expect_eq(info.num_pages, (RAM - (8ULL << 20)) >> 12);

	ctl_run(&r, 20.0, (const char *const[]){ sock, "info", "balloon", NULL });
	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.out, "balloon: actual=16\n"), "%s", r.out);
	cr_expect_not_null(strstr(r.out, "target                 8 MiB\n"), "%s", r.out);
	cr_expect_not_null(strstr(r.out, "guest stats updated    never\n"), "%s", r.out);
	ctl_run_free(&r);
	ctl_run(&r, 20.0, (const char *const[]){ sock, "--json", "info", "balloon", NULL });
	cr_expect_eq(r.status, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	cr_expect_eq(INT(j, "target"), 8ULL << 20);
	json_decref(j);
	ctl_run_free(&r);

	static const char *const bad[] = { "0", "-1", "abc", "4X", "4MB", "", "99999999999999T" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ctl_run(&r, 20.0, (const char *const[]){ sock, "balloon", bad[i], NULL });
		cr_expect_eq(r.status, 2, "balloon '%s': status %d", bad[i], r.status);
		ctl_run_free(&r);
	}
	monitor_stop(m, false, "host-qmp-quit");
	rmdir(dir);
}

/* What the guest reported shows in x-query-balloon and x-query-frames:
 * ranges and bytes accepted, the host memory released (measured), the
 * refused ones, and the frames marked reported, still counted as guest. */
Test(balloon_qmp, reports_show_in_x_query_balloon_and_frames)
{
	struct balloon_report_result res;

	attach();
	struct guest_mem *gm = s.target.guest_mem(s.target.ctx);
	memset(guest_mem_hva(gm, 4 << 20, 2 << 20), 0x5a, 2 << 20);
	cr_assert_eq(balloon_mem_report_range(gm, 4 << 20, 2 << 20, &res), 0);
	cr_assert_eq(balloon_mem_report_range(gm, RAM, 4096, &res), -EINVAL);
	json_t *r = session_return(&s, "{\"execute\": \"x-query-balloon\"}");
	cr_assert_eq(INT(r, "reported-ranges"), 1);
	cr_assert_eq(INT(r, "reported-bytes"), 2 << 20);
	cr_assert_geq(INT(r, "reporting-released-bytes"), 2 << 20);
	cr_assert_eq(INT(r, "reporting-rejected"), 1);
	cr_assert_eq(INT(r, "reporting-kept"), 0);
	cr_assert_eq(INT(r, "reported-frames"), 512);
	cr_assert_gt(INT(r, "last-report-ms"), 0);
	json_decref(r);
	r = session_return(&s, "{\"execute\": \"x-query-frames\"}");
	uint64_t reported = 0;
	size_t i;
	json_t *z;
	json_array_foreach(json_object_get(r, "zones"), i, z) {
		cr_assert(json_is_integer(json_object_get(z, "reported")));
		reported += INT(z, "reported");
		cr_assert(json_is_true(json_object_get(z, "consistent")));
	}
	cr_assert_eq(reported, 512);
	json_decref(r);
	r = session_return(&s, "{\"execute\": \"human-monitor-command\", "
			       "\"arguments\": {\"command-line\": \"info balloon\"}}");
	cr_assert_not_null(strstr(json_string_value(r), "ranges=1 reported=2097152 "),
			   "%s", json_string_value(r));
	json_decref(r);
}

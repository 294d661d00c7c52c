/*
 * Events from a running build/memvisor: STOP and RESUME reach every
 * negotiated client (and not one still negotiating), the vCPUs really
 * pause (the idle guest's heartbeat stops) and resume; SHUTDOWN comes with
 * the reason the run ended (quit, a signal, the guest's own exit) before
 * the server closes the connections.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mon_proc.h"

static struct mon_proc vm;

static void start(const char *image, const char *cmdline, const char *mem)
{
	const char *args[] = { "-m", mem, "--cmdline", cmdline, test_build_path(image), NULL };

	test_need_kvm();
	mon_proc_init(&vm);
	mon_proc_start(&vm, args);
}

/* The next line must be this event (returned). */
static json_t *read_event(struct mon_client *c, const char *name)
{
	json_t *ev = mon_read(c, 20);

	cr_assert_not_null(ev, "no %s event", name);
	cr_assert_str_eq(json_string_value(json_object_get(ev, "event")), name);
	json_t *ts = json_object_get(ev, "timestamp");
	cr_assert(json_is_integer(json_object_get(ts, "seconds")));
	cr_assert(json_is_integer(json_object_get(ts, "microseconds")));
	return ev;
}

static void expect_event(struct mon_client *c, const char *name)
{
	json_t *ev = read_event(c, name);

	cr_assert_null(json_object_get(ev, "data"), "%s has data", name);
	json_decref(ev);
}

static void expect_shutdown(struct mon_client *c, bool guest, const char *reason)
{
	json_t *ev = read_event(c, "SHUTDOWN");
	json_t *data = json_object_get(ev, "data");

	cr_assert_eq(json_is_true(json_object_get(data, "guest")), guest);
	cr_assert_str_eq(json_string_value(json_object_get(data, "reason")), reason);
	json_decref(ev);
}

static int heartbeats(void)
{
	char *out = mon_read_file(vm.out_path);
	int n = 0;

	for (char *p = out; (p = strstr(p, "heartbeat")); p++)
		n++;
	free(out);
	return n;
}

static void expect_reply(struct mon_client *c)
{
	json_t *r = mon_read(c, 20);
	cr_assert_not_null(json_object_get(r, "return"));
	json_decref(r);
}

Test(events, stop_resume_to_every_client, .timeout = 60)
{
	struct mon_client a, b, fresh;
	start("guest/idle.elf", "", "32M");
	cr_assert_eq(mon_connect(&a, vm.sock), 0);
	cr_assert_eq(mon_connect(&b, vm.sock), 0);
	cr_assert_eq(mon_connect(&fresh, vm.sock), 0);
	mon_negotiate(&a);
	mon_negotiate(&b);
	json_decref(mon_read(&fresh, 10));       /* greeting only */

	cr_assert(mon_send(&a, "{\"execute\": \"stop\"}"));
	expect_event(&a, "STOP");
	expect_reply(&a);
	expect_event(&b, "STOP");
	json_t *st = mon_cmd(&b, "{\"execute\": \"query-status\"}");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(st, "return"), "status")),
			 "paused");
	json_decref(st);
	int beats = heartbeats();
	usleep(2500000);
	cr_assert_eq(heartbeats(), beats, "the guest kept beating while stopped");

	cr_assert(mon_send(&b, "{\"execute\": \"cont\"}"));
	expect_event(&b, "RESUME");
	expect_reply(&b);
	expect_event(&a, "RESUME");
	double end = test_now() + 5;
	while (heartbeats() == beats && test_now() < end)
		usleep(50000);
	cr_assert_gt(heartbeats(), beats, "no heartbeat after cont");

	/* The client that never negotiated got neither event. */
	json_t *none = mon_read(&fresh, 0.3);
	cr_assert_null(none, "an event reached a client before negotiation");
	json_decref(mon_cmd(&a, "{\"execute\": \"quit\"}"));
	mon_close(&fresh);
	expect_shutdown(&b, false, "host-qmp-quit");
	cr_assert(mon_wait_eof(&b, 10));
	cr_assert(mon_wait_eof(&a, 10));
	mon_close(&a);
	mon_close(&b);
	cr_assert(mon_proc_wait(&vm, 20));
	cr_assert_eq(vm.status, 0);
	mon_proc_finish(&vm);
}

Test(events, shutdown_on_signal, .timeout = 60)
{
	struct mon_client c;

	start("guest/idle.elf", "", "32M");
	cr_assert_eq(mon_connect(&c, vm.sock), 0);
	mon_negotiate(&c);
	kill(vm.pid, SIGTERM);
	expect_shutdown(&c, false, "host-signal");
	cr_assert(mon_wait_eof(&c, 10));
	mon_close(&c);
	cr_assert(mon_proc_wait(&vm, 20));
	cr_assert_eq(vm.status, 128 + SIGTERM);
	mon_proc_finish(&vm);
}

Test(events, shutdown_on_guest_exit, .timeout = 60)
{
	struct mon_client c;

	/* Long enough to connect before it ends; it then exits by itself. */
	start("guest/memtest.elf", "size=1024M", "1088M");
	cr_assert_eq(mon_connect(&c, vm.sock), 0);
	mon_negotiate(&c);
	expect_shutdown(&c, true, "guest-shutdown");
	cr_assert(mon_wait_eof(&c, 10));
	mon_close(&c);
	cr_assert(mon_proc_wait(&vm, 20));
	char *out = mon_read_file(vm.out_path);
	cr_assert_eq(vm.status, 0, "console: %s", out);
	cr_assert(strstr(out, " ok"), "%s", out);
	free(out);
	mon_proc_finish(&vm);
}

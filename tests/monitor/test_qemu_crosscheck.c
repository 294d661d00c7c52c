/*
 * The monitor cross-checked with QEMU: one client (memvisorctl's QMP
 * client library) runs the same session against
 *   qemu-system-x86_64 -accel kvm -M microvm,acpi=off ... -qmp unix:SOCK
 * and against build/memvisor --monitor SOCK, both running the idle guest
 * with 128 MiB: the greeting, qmp_capabilities, query-status, stop,
 * query-status, cont, query-memory-size-summary and quit. Every reply must
 * have the same shape in both (the same keys, recursively, with values of
 * the same JSON types), echo its id, and agree on the values that do not
 * depend on the VMM (run state, memory size); the STOP, RESUME and SHUTDOWN
 * events must arrive in both with the same shapes; and both processes must
 * end, with status 0, soon after quit.
 *
 * Needs /dev/kvm and qemu-system-x86_64: without them the tests are
 * skipped with the reason, or fail when CI=true.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tools/memvisorctl/qmp_client.h"
#include "vm_proc.h"

#define MEM "128M"
#define MEM_BYTES (128ll << 20)
#define TIMEOUT_MS 5000
/* quit returns at once; both VMMs are gone well within this. */
#define QUIT_EXIT_S 5.0

static const char *const steps[] = {
	"qmp_capabilities", "query-status", "stop", "query-status", "cont", "query-memory-size-summary",
	"quit",
};
#define STEPS (sizeof(steps) / sizeof(*steps))

static const char *const events[] = { "STOP", "RESUME", "SHUTDOWN" };
#define EVENTS (sizeof(events) / sizeof(*events))

/* What one VMM said in the session. */
struct transcript {
	json_t *greeting;               /* the greeting's "QMP" object */
	json_t *replies[STEPS];
	json_t *events[EVENTS];         /* the first of each, or NULL */
	int status;                     /* the process's exit status */
};

static void note_events(struct transcript *t, json_t *list)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e) {
		const char *name = json_string_value(json_object_get(e, "event"));
		for (size_t k = 0; name && k < EVENTS; k++)
			if (!strcmp(name, events[k]) && !t->events[k])
				t->events[k] = json_incref(e);
	}
}

static void run_session(struct vm_proc *vm, struct transcript *t)
{
	struct qmp_client c;

	memset(t, 0, sizeof(*t));
	int rc = qmp_open(&c, vm->sock, TIMEOUT_MS);
	cr_assert_eq(rc, 0, "%s: connecting: %s", vm->what, qmp_error(&c));
	t->greeting = json_incref(c.greeting);
	for (size_t i = 0; i < STEPS; i++) {
		json_int_t id = c.next_id;
		rc = qmp_execute(&c, steps[i], NULL, &t->replies[i]);
		cr_assert_eq(rc, 0, "%s: %s: %s", vm->what, steps[i], qmp_error(&c));
		json_t *echo = json_object_get(t->replies[i], "id");
		cr_assert(json_is_integer(echo) && json_integer_value(echo) == id, "%s: %s: the id is not echoed",
			  vm->what, steps[i]);
		const char *desc = json_string_value(
			json_object_get(json_object_get(t->replies[i], "error"), "desc"));
		cr_assert_not_null(json_object_get(t->replies[i], "return"), "%s: %s failed: %s", vm->what,
				   steps[i], desc ? desc : "(no return, no error)");
	}
	/* SHUTDOWN may come after quit's reply: read until the server closes. */
	json_t *m;
	while ((rc = qmp_read_message(&c, &m)) == 0) {
		json_t *one = json_pack("[o]", m);
		note_events(t, one);
		json_decref(one);
	}
	cr_assert_eq(rc, -ECONNRESET, "%s: after quit: %s", vm->what, qmp_error(&c));
	json_t *set_aside = qmp_take_events(&c);
	note_events(t, set_aside);
	json_decref(set_aside);
	qmp_close(&c);
	cr_assert(vm_proc_wait(vm, QUIT_EXIT_S), "%s still runs %.0f s after quit", vm->what, QUIT_EXIT_S);
	t->status = vm->status;
}

static void transcript_free(struct transcript *t)
{
	json_decref(t->greeting);
	for (size_t i = 0; i < STEPS; i++)
		json_decref(t->replies[i]);
	for (size_t i = 0; i < EVENTS; i++)
		json_decref(t->events[i]);
}

/* A JSON type as the protocol sees it: integer and real are both numbers. */
static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

/*
 * Where the shapes of a (QEMU's) and b (memvisor's) first differ, written
 * into why with the path to it; true when they match. Objects must have
 * the same keys; arrays match when either is empty, else by their first
 * elements (QMP's arrays hold one kind of element).
 */
static bool same_shape(json_t *a, json_t *b, const char *path, char *why, size_t len)
{
	char sub[512];
	const char *key;
	json_t *v;

	if (strcmp(type_name(a), type_name(b))) {
		snprintf(why, len, "%s: %s in QEMU's reply, %s in memvisor's", path, type_name(a), type_name(b));
		return false;
	}
	if (json_is_array(a)) {
		if (!json_array_size(a) || !json_array_size(b))
			return true;
		snprintf(sub, sizeof(sub), "%s[0]", path);
		return same_shape(json_array_get(a, 0), json_array_get(b, 0), sub, why, len);
	}
	if (!json_is_object(a))
		return true;
	json_object_foreach(a, key, v) {
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		json_t *w = json_object_get(b, key);
		if (!w) {
			snprintf(why, len, "%s: only in QEMU's reply", sub);
			return false;
		}
		if (!same_shape(v, w, sub, why, len))
			return false;
	}
	json_object_foreach(b, key, v) {
		if (!json_object_get(a, key)) {
			snprintf(why, len, "%s.%s: only in memvisor's reply", path, key);
			return false;
		}
	}
	return true;
}

static void assert_same_shape(json_t *qemu, json_t *mv, const char *what)
{
	char why[1024];

	if (!same_shape(qemu, mv, what, why, sizeof(why))) {
		char *a = json_dumps(qemu, JSON_COMPACT), *b = json_dumps(mv, JSON_COMPACT);
		cr_log_error("QEMU:     %s\nmemvisor: %s", a, b);
		free(a);
		free(b);
		cr_assert_fail("shapes differ at %s", why);
	}
}

/* Both sessions, QEMU's first; the VMs are gone when this returns. */
static void run_both(struct transcript *qemu, struct transcript *mv)
{
	static const char *const mem[] = { "-m", MEM, NULL };
	struct vm_proc q, m;

	test_need_qemu();
	vm_proc_start_qemu(&q, MEM);
	run_session(&q, qemu);
	vm_proc_finish(&q);
	vm_proc_start_memvisor(&m, mem);
	run_session(&m, mv);
	vm_proc_finish(&m);
}

Test(qemu_crosscheck, reply_shapes, .timeout = 90)
{
	struct transcript qemu, mv;

	run_both(&qemu, &mv);
	assert_same_shape(qemu.greeting, mv.greeting, "greeting.QMP");
	for (size_t i = 0; i < STEPS; i++) {
		/* The ids were the client's own; the rest is the server's. */
		json_object_del(qemu.replies[i], "id");
		json_object_del(mv.replies[i], "id");
		assert_same_shape(qemu.replies[i], mv.replies[i], steps[i]);
	}
	transcript_free(&qemu);
	transcript_free(&mv);
}

Test(qemu_crosscheck, values_that_do_not_depend_on_the_vmm, .timeout = 90)
{
	struct transcript qemu, mv;

	run_both(&qemu, &mv);
	struct transcript *both[] = { &qemu, &mv };
	for (int k = 0; k < 2; k++) {
		const char *who = k ? "memvisor" : "QEMU";
		json_t *running = json_object_get(both[k]->replies[1], "return");
		json_t *paused = json_object_get(both[k]->replies[3], "return");
		json_t *size = json_object_get(both[k]->replies[5], "return");
		cr_expect_str_eq(json_string_value(json_object_get(running, "status")), "running", "%s", who);
		cr_expect(json_is_true(json_object_get(running, "running")), "%s", who);
		cr_expect_str_eq(json_string_value(json_object_get(paused, "status")), "paused", "%s", who);
		cr_expect(json_is_false(json_object_get(paused, "running")), "%s", who);
		cr_expect_eq(json_integer_value(json_object_get(size, "base-memory")), MEM_BYTES, "%s", who);
		cr_expect_eq(json_integer_value(json_object_get(size, "plugged-memory")), 0, "%s", who);
		cr_expect_eq(both[k]->status, 0, "%s ended with status %d after quit", who, both[k]->status);
	}
	transcript_free(&qemu);
	transcript_free(&mv);
}

Test(qemu_crosscheck, event_shapes, .timeout = 90)
{
	struct transcript qemu, mv;

	run_both(&qemu, &mv);
	for (size_t k = 0; k < EVENTS; k++) {
		cr_assert_not_null(qemu.events[k], "QEMU sent no %s event", events[k]);
		cr_assert_not_null(mv.events[k], "memvisor sent no %s event", events[k]);
		assert_same_shape(qemu.events[k], mv.events[k], events[k]);
	}
	transcript_free(&qemu);
	transcript_free(&mv);
}

/*
 * In-process QMP sessions for the tests (see session.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mm/mm.h"
#include "mm/slab.h"
#include "vmm/core/vm_proactive.h"
#include "session.h"

#define MIB (1ULL << 20)

static enum vm_run_state fake_status(void *ctx)
{
	return ((struct session *)ctx)->state;
}

static int fake_pause(void *ctx)
{
	struct session *s = ctx;

	if (s->state == VM_STATE_SHUTDOWN)
		return -ESHUTDOWN;
	s->pauses++;
	s->state = VM_STATE_PAUSED;
	return 0;
}

static int fake_resume(void *ctx)
{
	struct session *s = ctx;

	if (s->state == VM_STATE_SHUTDOWN)
		return -ESHUTDOWN;
	s->resumes++;
	s->state = VM_STATE_RUNNING;
	return 0;
}

/* No vCPUs to park: the holds are counted, and must all be released. */
static int fake_hold(void *ctx)
{
	struct session *s = ctx;

	if (s->state == VM_STATE_SHUTDOWN)
		return -ESHUTDOWN;
	atomic_fetch_add(&s->holds, 1);
	atomic_fetch_add(&s->holds_taken, 1);
	return 0;
}

static void fake_release(void *ctx)
{
	atomic_fetch_sub(&((struct session *)ctx)->holds, 1);
}

static void fake_proactive(void *ctx, struct vm_proactive_stats *out)
{
	vm_proactive_get_stats(((struct session *)ctx)->proactive, out);
}

static void fake_quit(void *ctx)
{
	struct session *s = ctx;

	s->quits++;
	s->state = VM_STATE_SHUTDOWN;
}

static struct mm_arena *real_arena(void *ctx)
{
	return ((struct session *)ctx)->arena;
}

static struct guest_mem *real_guest_mem(void *ctx)
{
	return ((struct session *)ctx)->gm;
}

static uint64_t real_ram_size(void *ctx)
{
	return guest_mem_ram_bytes(((struct session *)ctx)->gm);
}

static void collect(void *arg, const char *line, size_t len)
{
	struct session *s = arg;

	s->out = realloc(s->out, s->out_len + len + 1);
	cr_assert_not_null(s->out);
	memcpy(s->out + s->out_len, line, len);
	s->out_len += len;
	s->out[s->out_len] = '\0';
}

/* As the server does: events reach negotiated sessions. */
static void collect_event(void *arg, const char *name, json_t *data)
{
	struct session *s = arg;
	size_t len;

	if (!qmp_session_negotiated(s->qmp))
		return;
	char *line = qmp_event_line(name, data, &len);
	cr_assert_not_null(line);
	collect(s, line, len);
	free(line);
}

static struct device *session_device_get(void *ctx, const char *name)
{
	struct session *s = ctx;

	return device_set_get(s->devices, name);
}

void session_add_devices(struct session *s, const struct device_type *const *types)
{
	char err[256] = "";

	vm_config_init(&s->cfg);
	s->cfg.mem_bytes = guest_mem_ram_bytes(s->gm);
	s->host = (struct device_host){ .ctx = s, .arena = s->arena, .gm = s->gm, .vm_fd = -1 };
	cr_assert_eq(device_set_create(types, &s->host, &s->cfg, &s->devices, err, sizeof(err)), 0,
		     "%s", err);
}

static void *session_destroyer(void *arg)
{
	struct session *s = arg;

	device_set_destroy(s->devices);
	atomic_store(&s->destroyed, true);
	return NULL;
}

int session_destroy_devices_async(struct session *s)
{
	int rc = pthread_create(&s->destroyer, NULL, session_destroyer, s);

	s->destroying = rc == 0;
	return rc;
}

bool session_devices_destroyed(struct session *s)
{
	return atomic_load(&s->destroyed);
}

void session_join_devices(struct session *s)
{
	if (!s->destroying)
		return;
	pthread_join(s->destroyer, NULL);
	s->destroying = false;
	s->devices = NULL;
}

void session_start(struct session *s, unsigned ram_mib)
{
	struct mm_arena_config cfg = { .normal_bytes = (ram_mib + 16) * MIB, .huge = MM_HUGE_OFF };
	char why[256] = "";

	memset(s, 0, sizeof(*s));
	cr_assert_eq(mm_create(&cfg, &s->arena), 0);
	int rc = guest_mem_create(s->arena, ram_mib * MIB, MM_HUGE_OFF, &s->gm, why, sizeof(why));
	cr_assert_eq(rc, 0, "guest_mem_create: %s", why);
	s->state = VM_STATE_RUNNING;
	s->target = (struct vm_control){
		.ctx = s, .status = fake_status, .pause = fake_pause, .resume = fake_resume,
		.quit = fake_quit, .arena = real_arena, .guest_mem = real_guest_mem,
		.ram_size = real_ram_size, .device_get = session_device_get,
		.hold = fake_hold, .release = fake_release, .proactive = fake_proactive,
	};
	s->env = (struct qmp_env){ .target = &s->target, .event = collect_event, .event_arg = s };
	s->qmp = qmp_session_create(&s->env, collect, s);
	cr_assert_not_null(s->qmp);
	qmp_session_greet(s->qmp);
}

void session_finish(struct session *s)
{
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];

	qmp_session_destroy(s->qmp);
	vm_proactive_destroy(s->proactive);
	cr_assert_eq(atomic_load(&s->holds), 0, "every hold released");
	session_join_devices(s);
	device_set_destroy(s->devices);
	guest_mem_destroy(s->gm);
	free(s->out);
	slab_shrink_all(s->arena);
	mm_pcp_drain(&s->arena->zone[ZONE_NORMAL]);
	cr_assert_eq(mm_arena_check_frames(s->arena, counts), 0, "I1");
	cr_assert_eq(counts[ZONE_NORMAL][FRAME_GUEST], 0);
	mm_destroy(s->arena);
}

int session_feed_bytes(struct session *s, const void *data, size_t len)
{
	return qmp_session_feed(s->qmp, data, len);
}

int session_feed(struct session *s, const char *text)
{
	return session_feed_bytes(s, text, strlen(text));
}

json_t *session_next(struct session *s)
{
	if (s->read_pos >= s->out_len)
		return NULL;
	char *line = s->out + s->read_pos;
	char *end = strstr(line, "\r\n");
	cr_assert_not_null(end, "a line without \\r\\n: %s", line);
	size_t len = (size_t)(end - line);
	cr_assert_null(memchr(line, '\n', len), "a line with a bare newline: %.*s", (int)len, line);
	s->read_pos += len + 2;
	json_error_t jerr;
	json_t *v = json_loadb(line, len, 0, &jerr);
	cr_assert_not_null(v, "not JSON (%s): %.*s", jerr.text, (int)len, line);
	cr_assert(json_is_object(v));
	return v;
}

json_t *session_cmd(struct session *s, const char *text)
{
	cr_assert_eq(session_feed(s, text), 0);
	json_t *v = session_next(s);
	cr_assert_not_null(v, "no reply to %s", text);
	return v;
}

void session_negotiate(struct session *s)
{
	json_t *greeting = session_next(s);
	cr_assert_not_null(json_object_get(greeting, "QMP"));
	json_decref(greeting);
	json_t *r = session_cmd(s, "{\"execute\": \"qmp_capabilities\"}");
	json_t *ret = json_object_get(r, "return");
	cr_assert(json_is_object(ret) && json_object_size(ret) == 0);
	json_decref(r);
}

json_t *session_return(struct session *s, const char *text)
{
	json_t *r = session_cmd(s, text);
	json_t *ret = json_object_get(r, "return");
	char *dump = json_dumps(r, 0);
	cr_assert_not_null(ret, "%s -> %s", text, dump);
	free(dump);
	json_incref(ret);
	json_decref(r);
	return ret;
}

const char *session_error(struct session *s, const char *text, const char *cls)
{
	static char desc[1024];
	json_t *r = session_cmd(s, text);
	json_t *e = json_object_get(r, "error");
	char *dump = json_dumps(r, 0);

	cr_assert(json_is_object(e), "%s -> %s", text, dump);
	EXPECT_KEYS(e, "class", "desc");
	cr_assert_str_eq(json_string_value(json_object_get(e, "class")), cls, "%s -> %s", text, dump);
	snprintf(desc, sizeof(desc), "%s", json_string_value(json_object_get(e, "desc")));
	free(dump);
	json_decref(r);
	return desc;
}

void expect_keys(json_t *o, const char *const *keys)
{
	size_t n = 0;
	char *dump = json_dumps(o, 0);

	cr_assert(json_is_object(o), "not an object: %s", dump);
	for (; keys[n]; n++)
		cr_assert_not_null(json_object_get(o, keys[n]), "no \"%s\" in %s", keys[n], dump);
	cr_assert_eq(json_object_size(o), n, "keys other than expected in %s", dump);
	free(dump);
}

void expect_counts(json_t *a, size_t n)
{
	size_t i;
	json_t *v;

	cr_assert(json_is_array(a));
	cr_assert_eq(json_array_size(a), n);
	json_array_foreach(a, i, v)
		cr_assert(json_is_integer(v) && json_integer_value(v) >= 0);
}

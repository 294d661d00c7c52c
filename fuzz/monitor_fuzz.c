/*
 * libFuzzer target for the monitor's input path: the bytes a client sends,
 * through a QMP session (framing, jansson, dispatch, every command) on a
 * real mm arena and a real guest_mem with a balloon device from the device
 * table, as monitor/server.c drives it but without sockets or KVM. Only the
 * run state is a variable here: there are no vCPUs to pause.
 *
 * The first byte of an input steers the session: bit 6 set negotiates
 * capabilities before the rest is fed (so commands are reached without the
 * fuzzer having to find "qmp_capabilities" first), bits 0-5 give the size
 * of the pieces the rest is fed in (0: all at once), so messages split
 * across reads are explored too. '@' (0x40) is "negotiated, all at once".
 *
 * Besides the sanitizers, every line the session sends must be one JSON
 * object ending in "\r\n" with exactly one of "QMP", "return", "error" or
 * "event"; anything else aborts.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mm/mm.h"
#include "vmm/devices/virtio/balloon/balloon.h"
#include "vmm/monitor/qmp/qmp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mm_arena *arena;
static struct guest_mem *gm;
static enum vm_run_state state;

static enum vm_run_state fz_status(void *ctx)
{
	(void)ctx;
	return state;
}

static int fz_pause(void *ctx)
{
	(void)ctx;
	if (state == VM_STATE_SHUTDOWN)
		return -ESHUTDOWN;
	state = VM_STATE_PAUSED;
	return 0;
}

static int fz_resume(void *ctx)
{
	(void)ctx;
	if (state == VM_STATE_SHUTDOWN)
		return -ESHUTDOWN;
	state = VM_STATE_RUNNING;
	return 0;
}

static void fz_quit(void *ctx)
{
	(void)ctx;
	state = VM_STATE_SHUTDOWN;
}

static struct mm_arena *fz_arena(void *ctx)
{
	(void)ctx;
	return arena;
}

static struct guest_mem *fz_guest_mem(void *ctx)
{
	(void)ctx;
	return gm;
}

static uint64_t fz_ram_size(void *ctx)
{
	(void)ctx;
	return guest_mem_ram_bytes(gm);
}

/* The VM's devices: a balloon, as vm_create makes it (no KVM), so the
 * balloon commands reach a real device through the table. */
static struct device_set *devices;

static struct device *fz_device_get(void *ctx, const char *name)
{
	(void)ctx;
	return device_set_get(devices, name);
}

static const struct vm_control target = {
	.status = fz_status, .pause = fz_pause, .resume = fz_resume, .quit = fz_quit,
	.arena = fz_arena, .guest_mem = fz_guest_mem, .ram_size = fz_ram_size,
	.device_get = fz_device_get,
};

static void fz_check_line(const char *line, size_t len)
{
	static const char *const keys[] = { "QMP", "return", "error", "event" };
	json_error_t err;

	if (len < 2 || line[len - 2] != '\r' || line[len - 1] != '\n' ||
	    memchr(line, '\n', len - 1)) {
		fprintf(stderr, "monitor_fuzz: not one line: %.*s\n", (int)len, line);
		abort();
	}
	json_t *v = json_loadb(line, len - 2, 0, &err);
	int kinds = 0;
	for (size_t i = 0; v && i < sizeof(keys) / sizeof(keys[0]); i++)
		kinds += json_object_get(v, keys[i]) != NULL;
	json_decref(v);
	if (kinds != 1) {
		fprintf(stderr, "monitor_fuzz: not a QMP message (%s): %.*s\n", v ? "shape" : err.text,
			(int)len, line);
		abort();
	}
}

static void fz_send(void *arg, const char *line, size_t len)
{
	(void)arg;
	fz_check_line(line, len);
}

static void fz_event(void *arg, const char *name, json_t *data)
{
	size_t len;
	char *line = qmp_event_line(name, data, &len);

	(void)arg;
	if (line)
		fz_check_line(line, len);
	free(line);
}

static const struct qmp_env env = { .target = &target, .event = fz_event };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mm_arena_config cfg = { .normal_bytes = 24 << 20, .huge = MM_HUGE_OFF };
	char why[256];

	static const struct device_type *const types[] = { &virtio_balloon_device, NULL };
	static struct device_host host;
	static struct vm_config vm_cfg;

	(void)argc, (void)argv;
	if (mm_create(&cfg, &arena) ||
	    guest_mem_create(arena, 8 << 20, MM_HUGE_OFF, &gm, why, sizeof(why))) {
		fprintf(stderr, "monitor_fuzz: cannot build the arena and guest memory\n");
		abort();
	}
	vm_config_init(&vm_cfg);
	vm_cfg.mem_bytes = 8 << 20;
	host = (struct device_host){ .arena = arena, .gm = gm, .vm_fd = -1 };
	if (device_set_create(types, &host, &vm_cfg, &devices, why, sizeof(why))) {
		fprintf(stderr, "monitor_fuzz: %s\n", why);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char caps[] = "{\"execute\": \"qmp_capabilities\"}";

	if (size == 0)
		return 0;
	unsigned ctrl = data[0];
	size_t piece = ctrl & 0x3f;
	data++, size--;
	state = VM_STATE_RUNNING;
	struct qmp_session *s = qmp_session_create(&env, fz_send, NULL);
	if (!s)
		return 0;
	qmp_session_greet(s);
	if (ctrl & 0x40)
		qmp_session_feed(s, caps, sizeof(caps) - 1);
	for (size_t off = 0; off < size;) {
		size_t n = piece && piece < size - off ? piece : size - off;
		if (qmp_session_feed(s, data + off, n))
			break;     /* past the size limit: the server closes here */
		off += n;
	}
	qmp_session_destroy(s);
	return 0;
}

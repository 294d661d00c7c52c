/*
 * The QMP monitor under load (stress.h): the real monitor (monitor_start)
 * on a Unix socket, watching a stand-in for the VM without KVM: real guest
 * RAM (guest_mem) on the stressed arena, the devices a default
 * configuration has (the UART, the paravirtual ports and the virtio
 * balloon, created through device_set_create with no VM fd), the console
 * and log streams, and a run state kept under a mutex (the monitor's thread
 * changes it, the end of the run reads it). STRESS_CLIENTS clients ask
 * every x-query-* and "info" command in a loop, the first of them also
 * alternating stop and cont; one more client sends requests and never
 * reads a reply. At the end a client sends quit and the monitor is stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "mm/kmalloc.h"
#include "tools/memvisorctl/qmp_client.h"
#include "vmm/core/vm_control.h"
#include "vmm/devices/legacy/console.h"
#include "vmm/devices/legacy/pvports.h"
#include "vmm/devices/legacy/uart.h"
#include "vmm/devices/unhandled.h"
#include "vmm/devices/virtio/balloon/balloon.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/monitor/monitor.h"
#include "stress.h"

/* Per reply; a sanitizer makes everything several times slower, and two
 * CPUs run a dozen busy threads here. */
#define CLIENT_TIMEOUT_MS 60000
/* The client that never reads stops sending after this many requests
 * (the monitor drops it well before, for its queue). It keeps pace with
 * the others, at most MUTE_AHEAD requests ahead of the replies they have
 * had: the monitor answers all it reads from a client in one go (64 KiB,
 * some two thousand requests), so a flood would only measure how long the
 * others wait behind it, not how they run beside it, and under a sanitizer
 * they would hardly run at all. */
#define MUTE_MAX_REQUESTS 20000
#define MUTE_AHEAD 64

/* What is checked in a reply besides its being a return. */
enum reply_check { CHECK_RETURN, CHECK_FRAMES, CHECK_INFO_FRAMES };

/* Every x-query-* command, every "info" the monitor knows, and the query-*
 * commands beside them: none may fail while the allocators are busy. */
static const struct query {
	const char *command;
	const char *arguments;       /* JSON text, or NULL */
	enum reply_check check;
} queries[] = {
	{ "x-query-frames", NULL, CHECK_FRAMES },
	{ "x-query-buddyinfo", NULL, CHECK_RETURN },
	{ "x-query-slabinfo", NULL, CHECK_RETURN },
	{ "x-query-regions", NULL, CHECK_RETURN },
	{ "x-query-p2m", NULL, CHECK_RETURN },
	{ "x-query-p2m", "{\"gpa\": 16777216}", CHECK_RETURN },
	{ "x-query-balloon", NULL, CHECK_RETURN },
	{ "x-query-output", NULL, CHECK_RETURN },
	{ "query-balloon", NULL, CHECK_RETURN },
	{ "query-status", NULL, CHECK_RETURN },
	{ "query-memory-size-summary", NULL, CHECK_RETURN },
	{ "human-monitor-command", "{\"command-line\": \"info frames\"}", CHECK_INFO_FRAMES },
	{ "human-monitor-command", "{\"command-line\": \"info buddyinfo\"}", CHECK_RETURN },
	{ "human-monitor-command", "{\"command-line\": \"info pagetypeinfo\"}", CHECK_RETURN },
	{ "human-monitor-command", "{\"command-line\": \"info slabinfo\"}", CHECK_RETURN },
	{ "human-monitor-command", "{\"command-line\": \"info p2m\"}", CHECK_RETURN },
	{ "human-monitor-command", "{\"command-line\": \"info status\"}", CHECK_RETURN },
	{ "human-monitor-command", "{\"command-line\": \"info balloon\"}", CHECK_RETURN },
	{ "human-monitor-command", "{\"command-line\": \"info\"}", CHECK_RETURN },
};
#define NR_QUERIES (sizeof(queries) / sizeof(queries[0]))

/* The VM as the monitor sees it through struct vm_control. */
struct standin {
	pthread_mutex_t lock;        /* the run state and its counts */
	enum vm_run_state state;
	unsigned pauses, resumes, quits;
	struct mm_arena *arena;
	struct guest_mem *gm;
	int null_fd;                 /* where the console and the log go */
	struct vm_console console;
	bool console_up;
	struct out_stream log;
	bool log_up;
	struct unhandled_log unhandled;
	bool unhandled_up;
	struct vm_config cfg;
	struct device_host host;
	struct device_set *devices;
};

struct client {
	struct mon_load *load;
	unsigned id;
	pthread_t thread;
	bool started;
	json_t *args[NR_QUERIES];    /* this client's own, parsed once */
	uint64_t replies, frames_busy, stops, conts;
};

struct mon_load {
	struct standin vm;
	struct vm_control target;
	struct monitor *monitor;
	char dir[96];
	char path[128];
	struct client clients[STRESS_CLIENTS];
	pthread_t mute;
	bool mute_started;
	uint64_t mute_sent;
	bool mute_dropped;
	atomic_ulong replies;        /* every client's, for the mute client's pace */
};

/* ---- the stand-in's control interface ---- */

static enum vm_run_state vm_status(void *ctx)
{
	struct standin *vm = ctx;

	pthread_mutex_lock(&vm->lock);
	enum vm_run_state st = vm->state;
	pthread_mutex_unlock(&vm->lock);
	return st;
}

/* Pause and resume: the state and its count, unless the run has ended. */
static int vm_switch(struct standin *vm, enum vm_run_state to, unsigned *count)
{
	int rc = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_STATE_SHUTDOWN) {
		rc = -ESHUTDOWN;
	} else {
		(*count)++;
		vm->state = to;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

static int vm_pause(void *ctx)
{
	struct standin *vm = ctx;

	return vm_switch(vm, VM_STATE_PAUSED, &vm->pauses);
}

static int vm_resume(void *ctx)
{
	struct standin *vm = ctx;

	return vm_switch(vm, VM_STATE_RUNNING, &vm->resumes);
}

static void vm_quit(void *ctx)
{
	struct standin *vm = ctx;

	pthread_mutex_lock(&vm->lock);
	vm->quits++;
	vm->state = VM_STATE_SHUTDOWN;
	pthread_mutex_unlock(&vm->lock);
}

static struct mm_arena *vm_arena(void *ctx)
{
	return ((struct standin *)ctx)->arena;
}

static struct guest_mem *vm_guest_mem(void *ctx)
{
	return ((struct standin *)ctx)->gm;
}

static uint64_t vm_ram_size(void *ctx)
{
	return guest_mem_ram_bytes(((struct standin *)ctx)->gm);
}

static struct device *vm_device_get(void *ctx, const char *name)
{
	return device_set_get(((struct standin *)ctx)->devices, name);
}

static void vm_output(void *ctx, struct out_stream_stats *console, struct out_stream_stats *log)
{
	struct standin *vm = ctx;

	out_stream_get_stats(&vm->console.out, console);
	out_stream_get_stats(&vm->log, log);
}

/* What vm.c builds for a run, minus KVM: guest RAM, the output streams,
 * and every device the default configuration wants. */
static bool standin_create(struct standin *vm, struct mm_arena *a, uint64_t ram_bytes)
{
	/* The table a VM creates its devices from (core/device_table.c). */
	static const struct device_type *const types[] = {
		&uart_device, &pvports_device, &virtio_balloon_device, NULL,
	};
	char why[256] = "";
	int rc;

	pthread_mutex_init(&vm->lock, NULL);
	vm->state = VM_STATE_RUNNING;
	vm->arena = a;
	vm->null_fd = -1;
	rc = guest_mem_create(a, ram_bytes, MM_HUGE_OFF, &vm->gm, why, sizeof(why));
	if (rc) {
		stress_fail("guest_mem_create: %s", why);
		return false;
	}
	vm->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (vm->null_fd < 0) {
		stress_fail("/dev/null: %s", strerror(errno));
		return false;
	}
	if ((rc = console_init(&vm->console, vm->null_fd, a))) {
		stress_fail("console_init: %s", strerror(-rc));
		return false;
	}
	vm->console_up = true;
	if ((rc = out_stream_init(&vm->log, vm->null_fd, 4096, a))) {
		stress_fail("out_stream_init: %s", strerror(-rc));
		return false;
	}
	vm->log_up = true;
	if ((rc = unhandled_init(&vm->unhandled, a, &vm->log))) {
		stress_fail("unhandled_init: %s", strerror(-rc));
		return false;
	}
	vm->unhandled_up = true;
	vm_config_init(&vm->cfg);
	vm->cfg.mem_bytes = ram_bytes;
	vm->host = (struct device_host){ .ctx = vm, .arena = a, .gm = vm->gm, .vm_fd = -1,
					 .console = &vm->console, .unhandled = &vm->unhandled,
					 .log = &vm->log };
	rc = device_set_create(types, &vm->host, &vm->cfg, &vm->devices, why, sizeof(why));
	if (rc) {
		stress_fail("device_set_create: %s", why);
		return false;
	}
	struct device *d = device_set_get(vm->devices, VIRTIO_BALLOON_DEVICE_NAME);
	if (!d) {
		stress_fail("the default configuration has no %s", VIRTIO_BALLOON_DEVICE_NAME);
		return false;
	}
	device_put(d);
	return true;
}

static void standin_destroy(struct standin *vm)
{
	device_set_quiesce(vm->devices);
	device_set_destroy(vm->devices);
	if (vm->unhandled_up)
		unhandled_destroy(&vm->unhandled);
	if (vm->log_up)
		out_stream_destroy(&vm->log, 1000);
	if (vm->console_up)
		console_destroy(&vm->console, 1000);
	if (vm->null_fd >= 0)
		close(vm->null_fd);
	guest_mem_destroy(vm->gm);
	pthread_mutex_destroy(&vm->lock);
}

/* ---- the clients ---- */

static void client_failure(const struct client *c, const char *what, json_t *reply,
			   const struct qmp_client *q, int rc)
{
	char *dump = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	if (dump && strlen(dump) > 300)
		strcpy(dump + 297, "...");
	stress_fail("client %u: %s: %s", c->id, what,
		    dump ? dump : rc ? qmp_error(q) : "no reply");
	free(dump);
}

/* Runs one command; the reply must be a return (a new reference), else
 * the run fails and NULL comes back. */
static json_t *client_call(struct client *c, struct qmp_client *q, const char *command,
			   json_t *args)
{
	json_t *reply = NULL;
	int rc = qmp_execute(q, command, args, &reply);

	if (rc || !json_object_get(reply, "return")) {
		client_failure(c, command, reply, q, rc);
		json_decref(reply);
		return NULL;
	}
	json_t *ret = json_incref(json_object_get(reply, "return"));
	json_decref(reply);
	c->replies++;
	atomic_fetch_add_explicit(&c->load->replies, 1, memory_order_relaxed);
	return ret;
}

/* Every zone's frame states add up, or the check said busy: a wrong
 * verdict while the caches move is the bug this program looks for. */
static bool check_frames(struct client *c, json_t *ret)
{
	json_t *zones = json_object_get(ret, "zones"), *z;
	size_t i;

	if (!json_array_size(zones)) {
		client_failure(c, "x-query-frames: no zones", ret, NULL, 0);
		return false;
	}
	json_array_foreach(zones, i, z) {
		if (json_is_true(json_object_get(z, "busy"))) {
			c->frames_busy++;
		} else if (!json_is_true(json_object_get(z, "consistent"))) {
			client_failure(c, "x-query-frames: a zone is inconsistent", ret, NULL, 0);
			return false;
		}
	}
	return true;
}

static bool check_info_frames(struct client *c, json_t *ret)
{
	const char *text = json_string_value(ret);

	if (!text || strstr(text, "MISMATCH") || !strstr(text, "zone")) {
		client_failure(c, "info frames", ret, NULL, 0);
		return false;
	}
	for (const char *p = text; (p = strstr(p, "check busy")); p++)
		c->frames_busy++;
	return true;
}

static bool expect_status(struct client *c, struct qmp_client *q, const char *want)
{
	json_t *ret = client_call(c, q, "query-status", NULL);
	const char *st = json_string_value(json_object_get(ret, "status"));
	bool ok = st && !strcmp(st, want);

	if (ret && !ok)
		client_failure(c, want, ret, NULL, 0);
	json_decref(ret);
	return ok;
}

/* How many events called name this client has set aside since the last
 * call (the rest are dropped). */
static unsigned take_events(struct qmp_client *q, const char *name)
{
	json_t *events = qmp_take_events(q), *e;
	unsigned n = 0;
	size_t i;

	json_array_foreach(events, i, e) {
		const char *ev = json_string_value(json_object_get(e, "event"));
		n += name && ev && !strcmp(ev, name);
	}
	json_decref(events);
	return n;
}

/* stop or cont, whichever the state is not: only this client changes it,
 * so query-status must say what it asked for, and its event came first. */
static bool run_control(struct client *c, struct qmp_client *q)
{
	bool stop = c->stops == c->conts;
	const char *event = stop ? "STOP" : "RESUME";

	take_events(q, NULL);
	json_t *ret = client_call(c, q, stop ? "stop" : "cont", NULL);
	if (!ret)
		return false;
	json_decref(ret);
	if (take_events(q, event) != 1) {
		stress_fail("client %u: %s came without one %s event", c->id, stop ? "stop" : "cont",
			    event);
		return false;
	}
	*(stop ? &c->stops : &c->conts) += 1;
	return expect_status(c, q, stop ? "paused" : "running");
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct qmp_client q;
	int rc = qmp_open(&q, c->load->path, CLIENT_TIMEOUT_MS);

	if (!rc)
		rc = qmp_negotiate(&q);
	if (rc) {
		stress_fail("client %u: connecting: %s", c->id, qmp_error(&q));
		qmp_close(&q);
		return NULL;
	}
	for (unsigned n = 0; !atomic_load_explicit(&stress_stop, memory_order_relaxed); n++) {
		unsigned k = (n + c->id) % NR_QUERIES;
		json_t *ret = client_call(c, &q, queries[k].command, c->args[k]);
		bool ok = ret && (queries[k].check != CHECK_FRAMES || check_frames(c, ret)) &&
			  (queries[k].check != CHECK_INFO_FRAMES || check_info_frames(c, ret));
		json_decref(ret);
		if (ok && c->id == 0 && n % 4 == 0)
			ok = run_control(c, &q);
		if (!ok)
			break;
		/* The others' STOP and RESUME pile up here otherwise. */
		if (c->id != 0)
			take_events(&q, NULL);
	}
	/* Leave it running, as found. */
	if (c->id == 0 && c->stops != c->conts && !stress_failed())
		run_control(c, &q);
	qmp_close(&q);
	return NULL;
}

/* Sends all of text without blocking, or gives up: false when the monitor
 * has closed the connection (or the run ends first). */
static bool mute_send(struct mon_load *l, int fd, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (atomic_load_explicit(&stress_stop, memory_order_relaxed))
				return false;
			usleep(1000);
		} else {
			l->mute_dropped = n < 0 && (errno == EPIPE || errno == ECONNRESET);
			if (!l->mute_dropped)
				stress_fail("the client that never reads: send: %s",
					    n < 0 ? strerror(errno) : "sent nothing");
			return false;
		}
	}
	return true;
}

/* Reads the greeting (it has to know the monitor is there), then only
 * sends: its replies pile up in the monitor until it is dropped. */
static void *mute_main(void *arg)
{
	struct mon_load *l = arg;
	struct qmp_client q;

	if (qmp_open(&q, l->path, CLIENT_TIMEOUT_MS)) {
		stress_fail("the client that never reads: connecting: %s", qmp_error(&q));
		qmp_close(&q);
		return NULL;
	}
	if (mute_send(l, q.fd, "{\"execute\": \"qmp_capabilities\"}\r\n")) {
		while (l->mute_sent < MUTE_MAX_REQUESTS &&
		       !atomic_load_explicit(&stress_stop, memory_order_relaxed)) {
			if (l->mute_sent >= atomic_load(&l->replies) + MUTE_AHEAD) {
				usleep(1000);
				continue;
			}
			if (!mute_send(l, q.fd, "{\"execute\": \"x-query-slabinfo\"}\r\n"))
				break;
			l->mute_sent++;
		}
	}
	while (!atomic_load_explicit(&stress_stop, memory_order_relaxed))
		usleep(10 * 1000);
	qmp_close(&q);
	return NULL;
}

/* ---- the whole ---- */

static bool socket_dir(struct mon_load *l)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	int n = snprintf(l->dir, sizeof(l->dir), "%s/memvisor-stress-XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(l->dir) ||
	    (size_t)n + strlen("/qmp.sock") >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		stress_fail("TMPDIR is too long for a Unix socket path: %s", tmp);
		l->dir[0] = '\0';
		return false;
	}
	if (!mkdtemp(l->dir)) {
		stress_fail("mkdtemp %s: %s", l->dir, strerror(errno));
		l->dir[0] = '\0';
		return false;
	}
	snprintf(l->path, sizeof(l->path), "%s/qmp.sock", l->dir);
	return true;
}

struct mon_load *mon_load_start(struct mm_arena *a, uint64_t ram_bytes)
{
	struct mon_load *l = calloc(1, sizeof(*l));
	char err[256] = "";

	if (!l) {
		stress_fail("monitor load: out of memory");
		return NULL;
	}
	for (unsigned i = 0; i < STRESS_CLIENTS; i++) {
		struct client *c = &l->clients[i];
		c->load = l;
		c->id = i;
		for (unsigned k = 0; k < NR_QUERIES; k++) {
			json_error_t jerr;
			if (queries[k].arguments &&
			    !(c->args[k] = json_loads(queries[k].arguments, 0, &jerr))) {
				stress_fail("arguments of %s: %s", queries[k].command, jerr.text);
				return l;
			}
		}
	}
	if (!standin_create(&l->vm, a, ram_bytes) || !socket_dir(l))
		return l;
	l->target = (struct vm_control){
		.ctx = &l->vm, .status = vm_status, .pause = vm_pause, .resume = vm_resume,
		.quit = vm_quit, .arena = vm_arena, .guest_mem = vm_guest_mem,
		.ram_size = vm_ram_size, .device_get = vm_device_get, .output = vm_output,
	};
	int rc = monitor_start(l->path, &l->target, &l->monitor, err, sizeof(err));
	if (rc) {
		stress_fail("monitor_start: %s", err);
		l->monitor = NULL;
		return l;
	}
	for (unsigned i = 0; i < STRESS_CLIENTS; i++)
		l->clients[i].started = stress_thread_start(&l->clients[i].thread, client_main,
							    &l->clients[i], "a monitor client");
	l->mute_started = stress_thread_start(&l->mute, mute_main, l, "the client that never reads");
	return l;
}

/* quit from a client of its own: the reply, the SHUTDOWN event before it,
 * and the run state the stand-in ends in. */
static void quit(struct mon_load *l)
{
	struct qmp_client q;
	struct client c = { .load = l, .id = STRESS_CLIENTS + 1 };

	if (qmp_connect(&q, l->path, CLIENT_TIMEOUT_MS)) {
		stress_fail("quit: connecting: %s", qmp_error(&q));
		qmp_close(&q);
		return;
	}
	json_t *ret = client_call(&c, &q, "quit", NULL);
	if (ret && take_events(&q, "SHUTDOWN") != 1)
		stress_fail("quit: no SHUTDOWN event before its reply");
	json_decref(ret);
	qmp_close(&q);
}

void mon_load_join(struct mon_load *l, struct mon_load_counts *out)
{
	memset(out, 0, sizeof(*out));
	if (!l)
		return;
	for (unsigned i = 0; i < STRESS_CLIENTS; i++) {
		struct client *c = &l->clients[i];
		if (c->started)
			stress_thread_join(c->thread, "a monitor client");
		out->replies += c->replies;
		out->frames_busy += c->frames_busy;
		out->stops += c->stops;
		out->conts += c->conts;
	}
	if (l->mute_started)
		stress_thread_join(l->mute, "the client that never reads");
	out->mute_sent = l->mute_sent;
	out->mute_dropped = l->mute_dropped;
	if (!l->monitor)
		return;
	quit(l);
	monitor_stop(l->monitor, false, "host-qmp-quit");
	l->monitor = NULL;
	pthread_mutex_lock(&l->vm.lock);
	enum vm_run_state st = l->vm.state;
	unsigned pauses = l->vm.pauses, resumes = l->vm.resumes, quits = l->vm.quits;
	pthread_mutex_unlock(&l->vm.lock);
	if (st != VM_STATE_SHUTDOWN || quits != 1)
		stress_fail("after quit the run state is %d with %u quits", (int)st, quits);
	if (pauses != out->stops || resumes != out->conts)
		stress_fail("the VM was paused %u and resumed %u times, the client asked %llu and %llu",
			    pauses, resumes, (unsigned long long)out->stops,
			    (unsigned long long)out->conts);
}

void mon_load_finish(struct mon_load *l)
{
	if (!l)
		return;
	monitor_stop(l->monitor, false, "stress run failed");
	if (l->vm.arena)
		standin_destroy(&l->vm);
	if (l->dir[0]) {
		unlink(l->path);    /* monitor_stop removed it unless it never started */
		if (rmdir(l->dir))
			stress_fail("rmdir %s: %s", l->dir, strerror(errno));
	}
	for (unsigned i = 0; i < STRESS_CLIENTS; i++)
		for (unsigned k = 0; k < NR_QUERIES; k++)
			json_decref(l->clients[i].args[k]);
	free(l);
}

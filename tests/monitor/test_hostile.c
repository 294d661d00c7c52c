/*
 * Hostile clients against a running build/memvisor (idle guest): malformed
 * JSON and binary junk get errors and the session goes on; a 1 MiB line
 * gets an error and the connection closed; clients that send half a message
 * and vanish leave no slot taken; a client that floods requests and never
 * reads is dropped at its queue's limit. Through all of it another client
 * is answered promptly and the guest keeps running.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmm/monitor/monitor.h"
#include "mon_proc.h"

static struct mon_proc vm;
static struct mon_client watcher;

static void setup(void)
{
	const char *args[] = { "-m", "32M", test_build_path("guest/idle.elf"), NULL };

	test_need_kvm();
	mon_proc_init(&vm);
	mon_proc_start(&vm, args);
	cr_assert(mon_connect_greeted(&watcher, vm.sock, 10));
	mon_send(&watcher, "{\"execute\": \"qmp_capabilities\"}");
	json_decref(mon_read(&watcher, 10));
}

/* The watcher is answered at once and the guest runs; then it quits. */
static void teardown(void)
{
	double t = test_now();
	json_t *r = mon_cmd(&watcher, "{\"execute\": \"query-status\"}");
	cr_assert_lt(test_now() - t, 2.0, "the watcher waited %.1f s", test_now() - t);
	json_t *st = json_object_get(json_object_get(r, "return"), "status");
	cr_assert_str_eq(json_string_value(st), "running");
	json_decref(r);
	json_decref(mon_cmd(&watcher, "{\"execute\": \"quit\"}"));
	mon_close(&watcher);
	cr_assert(mon_proc_wait(&vm, 20));
	char *err = mon_read_file(vm.err_path);
	cr_assert_eq(vm.status, 0, "status %d, stderr:\n%s", vm.status, err);
	free(err);
	mon_proc_finish(&vm);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 90);

/* Reads lines until the reply carrying this id; errors before it must be
 * errors without an id (the junk's). */
static void expect_id_reply(struct mon_client *c, int id)
{
	for (;;) {
		json_t *r = mon_read(c, 20);
		cr_assert_not_null(r, "no reply with id %d", id);
		json_t *rid = json_object_get(r, "id");
		if (rid) {
			cr_assert_eq(json_integer_value(rid), id);
			cr_assert_not_null(json_object_get(r, "return"));
			json_decref(r);
			return;
		}
		cr_assert_not_null(json_object_get(r, "error"), "neither error nor our reply");
		json_decref(r);
	}
}

Test(hostile, malformed_json_and_junk)
{
	static const char *const bad[] = {
		"{\"execute\": }\n", "{\"execute\" \"stop\"}", "{{{{}}}}", "[[[[[[\n]]]]]]",
		"nul\n", "{\"execute\": \"quit\" \"id\": 1}", "\"unterminated\n\"}\n",
		"{\"execute\": [\"quit\"]}", "{\"arguments\": {\"execute\": \"quit\"}}",
	};
	struct mon_client c;
	unsigned char junk[8192];
	unsigned x = 99;

	cr_assert_eq(mon_connect(&c, vm.sock), 0);
	mon_negotiate(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(mon_send(&c, bad[i]));
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
	}
	/* Balanced enough to end: junk then a line end and a closing brace
	 * for any object the junk opened, several times over. */
	for (int round = 0; round < 4; round++) {
		cr_assert(mon_send_bytes(&c, junk + round * 2048, 2048));
		cr_assert(mon_send(&c, "\"\n}}}}}}}}]]]]]]]]\n"));
	}
	cr_assert(mon_send(&c, "\n{\"execute\": \"query-status\", \"id\": 4242}"));
	expect_id_reply(&c, 4242);
	mon_close(&c);
}

Test(hostile, one_mib_line)
{
	size_t len = 1 << 20;
	char *line = malloc(len);
	struct mon_client c;

	memset(line, 'z', len);
	line[len - 1] = '\n';
	cr_assert_eq(mon_connect(&c, vm.sock), 0);
	mon_negotiate(&c);
	/* The server stops reading at 64 KiB: the rest may be refused. */
	mon_send_bytes(&c, line, len);
	json_t *r = mon_read(&c, 10);
	cr_assert_not_null(r, "no error for the 1 MiB line");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"), "desc")),
			 "Message exceeds 65536 bytes");
	json_decref(r);
	cr_assert(mon_wait_eof(&c, 10), "the connection stayed open");
	mon_close(&c);
	free(line);
}

Test(hostile, half_messages_then_gone)
{
	struct mon_client c[MONITOR_MAX_CLIENTS];

	/* Many more than there are slots: each must be given back. */
	for (int i = 0; i < 4 * MONITOR_MAX_CLIENTS; i++) {
		struct mon_client h;
		cr_assert_eq(mon_connect(&h, vm.sock), 0);
		if (i % 2)
			mon_negotiate(&h);
		mon_send(&h, "{\"execute\": \"query-st");
		mon_close(&h);
	}
	/* The watcher holds one slot; every other one is free again. */
	for (int i = 0; i < MONITOR_MAX_CLIENTS - 1; i++)
		cr_assert(mon_connect_greeted(&c[i], vm.sock, 10), "slot %d never came back", i);
	for (int i = 0; i < MONITOR_MAX_CLIENTS - 1; i++)
		mon_close(&c[i]);
}

/* Requests whose replies are several KiB each: enough of them pass the
 * queue's limit whatever the socket buffers hold. */
static char *flood_text(size_t *len)
{
	const char *req = "{\"execute\": \"human-monitor-command\", \"arguments\": "
			  "{\"command-line\": \"info slabinfo\"}}";
	size_t one = strlen(req);
	size_t n = 4 * MONITOR_MAX_QUEUED / 2048;
	char *flood = malloc(n * one);

	cr_assert_not_null(flood);
	for (size_t i = 0; i < n; i++)
		memcpy(flood + i * one, req, one);
	*len = n * one;
	return flood;
}

Test(hostile, flooding_client_that_never_reads)
{
	struct mon_client c;
	size_t len;
	char *flood = flood_text(&len);

	cr_assert_eq(mon_connect(&c, vm.sock), 0);
	mon_negotiate(&c);
	double t0 = test_now();
	bool all_sent = mon_send_bytes(&c, flood, len);
	/* Meanwhile the others are served. */
	json_decref(mon_cmd(&watcher, "{\"execute\": \"x-query-frames\"}"));
	cr_assert_lt(test_now() - t0, 30);
	cr_assert(mon_wait_eof(&c, 20), "the flooding client was never dropped (all sent: %d)",
		  all_sent);
	mon_close(&c);
	free(flood);
}

struct flooder {
	struct mon_client c;
	const char *flood;
	size_t len;
	pthread_t thread;
	bool dropped;
};

static void *flooder_run(void *arg)
{
	struct flooder *f = arg;

	mon_send_bytes(&f->c, f->flood, f->len);
	f->dropped = mon_wait_eof(&f->c, 30);
	return NULL;
}

/* The VMM's frames in every zone, from x-query-frames. */
static uint64_t vmm_frames(void)
{
	json_t *r = mon_cmd(&watcher, "{\"execute\": \"x-query-frames\"}");
	json_t *zones = json_object_get(json_object_get(r, "return"), "zones");
	uint64_t n = 0;

	for (size_t i = 0; i < json_array_size(zones); i++)
		n += (uint64_t)json_integer_value(json_object_get(json_array_get(zones, i), "vmm"));
	json_decref(r);
	return n;
}

/* The monitor's memory is the VM's (its arena): several flooders at once
 * are all dropped, the frames their queues took stay within the monitor's
 * budget meanwhile, and they all come back. */
Test(hostile, flooders_together_stay_within_the_monitors_budget, .timeout = 90)
{
	enum { NR = 4 };
	static struct flooder f[NR];
	size_t len;
	char *flood = flood_text(&len);
	uint64_t base = vmm_frames(), peak = base;

	for (int i = 0; i < NR; i++) {
		f[i] = (struct flooder){ .flood = flood, .len = len };
		cr_assert_eq(mon_connect(&f[i].c, vm.sock), 0);
		mon_negotiate(&f[i].c);
	}
	for (int i = 0; i < NR; i++)
		cr_assert_eq(pthread_create(&f[i].thread, NULL, flooder_run, &f[i]), 0);
	bool joined[NR] = { false };
	for (int left = NR; left;) {
		uint64_t now = vmm_frames();
		peak = now > peak ? now : peak;
		for (int i = 0; i < NR; i++) {
			if (!joined[i] && pthread_tryjoin_np(f[i].thread, NULL) == 0) {
				joined[i] = true;
				left--;
			}
		}
		usleep(20000);
	}
	for (int i = 0; i < NR; i++) {
		cr_assert(f[i].dropped, "flooder %d was never dropped", i);
		mon_close(&f[i].c);
	}
	free(flood);
	cr_assert_leq((peak - base) * 4096, MONITOR_MEMORY_MAX,
		      "the monitor took %llu KiB beyond its start", (unsigned long long)(peak - base) * 4);
	/* Frees on the monitor's thread may sit in its per-thread caches. */
	cr_assert_leq(vmm_frames(), base + 256, "%llu frames before the flood, %llu after",
		      (unsigned long long)base, (unsigned long long)vmm_frames());
}

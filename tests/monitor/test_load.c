/*
 * Load: 32 clients at once, 500 requests each in pipelined batches (every
 * command that reads state, and a malformed message now and then), while
 * the guest runs memtest over 2 GiB. Every well-formed request is answered,
 * in order, with its id; the guest is still running when the last answer
 * comes and then finishes its test correctly; the VMM exits 0 (under
 * check-asan that includes its leak check).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/monitor/monitor.h"
#include "mon_proc.h"

#define LOAD_CLIENTS 32
#define LOAD_REQUESTS 500
#define LOAD_BATCH 50

_Static_assert(LOAD_CLIENTS <= MONITOR_MAX_CLIENTS, "the load must fit the client limit");

struct loader {
	pthread_t thread;
	const char *sock;
	int index;
	char failure[256];           /* empty when every reply was right */
	bool running_at_end;
};

static const char *const kinds[] = {
	"\"execute\": \"query-status\"",
	"\"execute\": \"x-query-frames\"",
	"\"execute\": \"x-query-buddyinfo\"",
	"\"execute\": \"x-query-slabinfo\"",
	"\"execute\": \"x-query-regions\"",
	"\"execute\": \"x-query-p2m\", \"arguments\": {\"gpa\": %d}",
	"\"execute\": \"x-query-p2m\"",
	"\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info frames\"}",
	"\"execute\": \"query-memory-size-summary\"",
};
#define NR_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* Request i of this client: id i, or malformed (no id) every 17th. */
static bool load_request(int i, char *buf, size_t len)
{
	char body[192];

	if (i % 17 == 16) {
		snprintf(buf, len, "{\"execute\": \"query-status\", \"id\": %d,}\n", i);
		return false;
	}
	snprintf(body, sizeof(body), kinds[(size_t)i % NR_KINDS], (i * 4096) % (64 << 20));
	snprintf(buf, len, "{%s, \"id\": %d}", body, i);
	return true;
}

static void *load_client(void *arg)
{
	struct loader *l = arg;
	struct mon_client c;
	char req[256];

	if (!mon_connect_greeted(&c, l->sock, 20)) {
		snprintf(l->failure, sizeof(l->failure), "client %d: never greeted", l->index);
		return NULL;
	}
	mon_send(&c, "{\"execute\": \"qmp_capabilities\"}");
	json_decref(mon_read(&c, 20));
	for (int base = 0; base < LOAD_REQUESTS && !l->failure[0]; base += LOAD_BATCH) {
		for (int i = base; i < base + LOAD_BATCH; i++) {
			load_request(i, req, sizeof(req));
			mon_send(&c, req);
		}
		for (int i = base; i < base + LOAD_BATCH && !l->failure[0]; i++) {
			bool good = load_request(i, req, sizeof(req));
			json_t *r = mon_read(&c, 30);
			json_t *id = json_object_get(r, "id");
			if (!r || json_object_get(r, "event"))
				snprintf(l->failure, sizeof(l->failure), "client %d request %d: %s",
					 l->index, i, r ? "an event" : "no reply");
			else if (good && (!json_object_get(r, "return") || json_integer_value(id) != i))
				snprintf(l->failure, sizeof(l->failure), "client %d request %d: "
					 "wrong reply", l->index, i);
			else if (!good && (!json_object_get(r, "error") || id))
				snprintf(l->failure, sizeof(l->failure), "client %d request %d: "
					 "malformed, not refused", l->index, i);
			if (good && json_object_get(r, "return") && i % NR_KINDS == 0) {
				json_t *st = json_object_get(json_object_get(r, "return"), "status");
				l->running_at_end = !strcmp(json_string_value(st), "running");
			}
			json_decref(r);
		}
	}
	mon_close(&c);
	return NULL;
}

Test(load, clients_32_requests_500_during_memtest, .timeout = 180)
{
	/* Rounds enough that the guest outlasts the load even when the VMM
	 * answers slower (under the sanitizers). */
	const char *args[] = { "-m", "2112M", "--hugepages", "off", "--cmdline", "size=2048M rounds=6",
			       test_build_path("guest/memtest.elf"), NULL };
	static struct loader loaders[LOAD_CLIENTS];
	struct mon_proc vm;

	test_need_kvm();
	mon_proc_init(&vm);
	mon_proc_start(&vm, args);
	double t0 = test_now();
	for (int i = 0; i < LOAD_CLIENTS; i++) {
		loaders[i] = (struct loader){ .sock = vm.sock, .index = i };
		cr_assert_eq(pthread_create(&loaders[i].thread, NULL, load_client, &loaders[i]), 0);
	}
	for (int i = 0; i < LOAD_CLIENTS; i++)
		pthread_join(loaders[i].thread, NULL);
	cr_log_info("%d requests answered in %.2f s", LOAD_CLIENTS * LOAD_REQUESTS, test_now() - t0);
	for (int i = 0; i < LOAD_CLIENTS; i++) {
		cr_expect_eq(loaders[i].failure[0], '\0', "%s", loaders[i].failure);
		cr_expect(loaders[i].running_at_end,
			  "client %d: the guest had finished before the load did", i);
	}
	cr_assert(mon_proc_wait(&vm, 120), "memtest did not finish");
	char *out = mon_read_file(vm.out_path), *err = mon_read_file(vm.err_path);
	cr_assert_eq(vm.status, 0, "status %d\nconsole: %s\nstderr: %s", vm.status, out, err);
	cr_assert(strstr(out, "memtest: 2048 MiB") && strstr(out, " ok"), "%s", out);
	free(out);
	free(err);
	mon_proc_finish(&vm);
}

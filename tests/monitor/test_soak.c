/*
 * Soak, bounded in time (SOAK_SECONDS, 40 by default): everything outside
 * the VMM at once. The balloon guest cycles 256 MiB <-> 128 MiB and checks
 * its working set with XXH3 after every change; 16 clients ask every
 * x-query-* and info command in a loop; one client sends requests and never
 * reads a reply; stdout and stderr are pipes read slowly; zone Normal is
 * compacted (x-compact, 50 ms at most) while the balloon has it scattered,
 * the vCPUs paused for it and the guest's working set checked after; the
 * vCPUs are stopped and resumed between cycles. At the end every frame-state answer
 * was consistent or busy, never wrong (I1), no guest line reported a bad
 * working set, the views cost what their regions say (I4), and quit ends
 * the process promptly with status 0.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mon_client.h"

extern char **environ;

#define INT(o, key) ((uint64_t)json_integer_value(json_object_get(o, key)))
#define RAM (256ULL << 20)
#define SOAK_CLIENTS 16

static atomic_bool soak_over;
static atomic_ulong answers, mismatches;

static const char *const queries[] = {
	"{\"execute\": \"x-query-frames\"}",
	"{\"execute\": \"x-query-buddyinfo\"}",
	"{\"execute\": \"x-query-slabinfo\"}",
	"{\"execute\": \"x-query-regions\"}",
	"{\"execute\": \"x-query-p2m\"}",
	"{\"execute\": \"x-query-p2m\", \"arguments\": {\"gpa\": 16777216}}",
	"{\"execute\": \"x-query-balloon\"}",
	"{\"execute\": \"x-query-output\"}",
	"{\"execute\": \"query-balloon\"}",
	"{\"execute\": \"query-status\"}",
	"{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info frames\"}}",
	"{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info slabinfo\"}}",
	"{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info p2m\"}}",
	"{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info balloon\"}}",
};
#define NR_QUERIES (sizeof(queries) / sizeof(queries[0]))

struct querier {
	pthread_t thread;
	const char *sock;
	unsigned index;
	char failure[256];
};

/* "consistent": false is a wrong answer; a busy check may say so instead. */
static void check_frames(json_t *ret)
{
	json_t *zones = json_object_get(ret, "zones");

	for (size_t i = 0; i < json_array_size(zones); i++) {
		json_t *z = json_array_get(zones, i);
		if (!json_is_true(json_object_get(z, "consistent")) &&
		    !json_is_true(json_object_get(z, "busy")))
			atomic_fetch_add(&mismatches, 1);
	}
}

static void *querier_main(void *arg)
{
	struct querier *q = arg;
	struct mon_client c;

	if (!mon_connect_greeted(&c, q->sock, 10)) {
		snprintf(q->failure, sizeof(q->failure), "client %u: no greeting", q->index);
		return NULL;
	}
	mon_send(&c, "{\"execute\": \"qmp_capabilities\"}");
	json_decref(mon_read(&c, 10));
	for (unsigned n = 0; !atomic_load(&soak_over); n++) {
		unsigned k = (n + q->index) % NR_QUERIES;
		json_t *r = mon_cmd(&c, queries[k]);
		if (!r || !json_object_get(r, "return")) {
			char *s = r ? json_dumps(r, 0) : NULL;
			snprintf(q->failure, sizeof(q->failure), "client %u: %s -> %s", q->index,
				 queries[k], s ? s : "no reply");
			free(s);
			json_decref(r);
			break;
		}
		if (k == 0)
			check_frames(json_object_get(r, "return"));
		atomic_fetch_add(&answers, 1);
		json_decref(r);
	}
	mon_close(&c);
	return NULL;
}

/* Reads a pipe slowly (4 KiB every 20 ms) into a growing buffer. */
struct slow_reader {
	pthread_t thread;
	int fd;
	char *buf;
	size_t len, cap;
	pthread_mutex_t lock;
};

static void *slow_reader_main(void *arg)
{
	struct slow_reader *s = arg;
	char chunk[4096];
	ssize_t n;

	while ((n = read(s->fd, chunk, sizeof(chunk))) > 0) {
		pthread_mutex_lock(&s->lock);
		if (s->len + (size_t)n + 1 > s->cap) {
			s->cap = (s->len + (size_t)n + 1) * 2;
			s->buf = realloc(s->buf, s->cap);
		}
		memcpy(s->buf + s->len, chunk, (size_t)n);
		s->len += (size_t)n;
		s->buf[s->len] = '\0';
		pthread_mutex_unlock(&s->lock);
		usleep(20 * 1000);
	}
	return NULL;
}

/* How many lines of s's text start with prefix; the last in *last. */
static unsigned slow_reader_lines(struct slow_reader *s, const char *prefix, char *last,
				  size_t last_len)
{
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	for (const char *p = s->buf; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (!strncmp(p, prefix, strlen(prefix))) {
			n++;
			if (last)
				snprintf(last, last_len, "%.*s", (int)len, p);
		}
		p = nl ? nl + 1 : NULL;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

static double soak_seconds(void)
{
	const char *v = getenv("SOAK_SECONDS");
	double s = v ? atof(v) : 40.0;

	return s > 0 ? s : 40.0;
}

static json_t *ok(struct mon_client *c, const char *text)
{
	json_t *r = mon_cmd(c, text);

	cr_assert(r && json_object_get(r, "return"), "%s failed: %s", text,
		  r ? json_dumps(r, 0) : "no reply");
	return r;
}

static void balloon_to(struct mon_client *c, uint64_t bytes, double deadline)
{
	char text[128];

	snprintf(text, sizeof(text), "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}",
		 (unsigned long long)bytes);
	json_decref(ok(c, text));
	for (;;) {
		json_t *r = ok(c, "{\"execute\": \"query-balloon\"}");
		uint64_t actual = INT(json_object_get(r, "return"), "actual");
		json_decref(r);
		if (actual == bytes)
			return;
		cr_assert_lt(test_now(), deadline, "the balloon never reached %llu (at %llu)",
			     (unsigned long long)bytes, (unsigned long long)actual);
		usleep(20 * 1000);
	}
}

Test(soak, everything_at_once_and_the_invariants_hold, .timeout = 600)
{
	char dir[128], sock[160];
	int out[2], err[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;

	test_need_kvm();
	test_temp_dir(dir, sizeof(dir), "soak");
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	char *argv[] = { (char *)test_build_path("memvisor"), "-m", "256M", "--hugepages", "off",
			 "--monitor", sock, "--cmdline", "ws=32M",
			 (char *)test_build_path("guest/balloon.elf"), NULL };
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	struct slow_reader so = { .fd = out[0], .lock = PTHREAD_MUTEX_INITIALIZER };
	struct slow_reader se = { .fd = err[0], .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_create(&so.thread, NULL, slow_reader_main, &so);
	pthread_create(&se.thread, NULL, slow_reader_main, &se);

	struct mon_client ctl, mute;
	cr_assert(mon_connect_greeted(&ctl, sock, 20), "no greeting");
	json_decref(ok(&ctl, "{\"execute\": \"qmp_capabilities\"}"));
	double end = test_now() + 30;
	while (!slow_reader_lines(&so, "balloon: ready", NULL, 0)) {
		cr_assert_lt(test_now(), end, "the balloon guest never said it was ready");
		usleep(50 * 1000);
	}
	/* A client that asks and never reads its replies. */
	cr_assert(mon_connect_greeted(&mute, sock, 10));
	mon_send(&mute, "{\"execute\": \"qmp_capabilities\"}");
	for (int i = 0; i < 2000; i++)
		if (!mon_send(&mute, "{\"execute\": \"x-query-slabinfo\"}"))
			break;      /* dropped for its queue: as it should be */

	static struct querier qs[SOAK_CLIENTS];
	atomic_store(&soak_over, false);
	for (unsigned i = 0; i < SOAK_CLIENTS; i++) {
		qs[i] = (struct querier){ .sock = sock, .index = i };
		pthread_create(&qs[i].thread, NULL, querier_main, &qs[i]);
	}
	double stop_at = test_now() + soak_seconds();
	unsigned cycles = 0;
	while (test_now() < stop_at) {
		balloon_to(&ctl, RAM / 2, test_now() + 60);
		/* Compaction while the guest checks its working set: the
		 * balloon has just scattered zone Normal. */
		json_decref(ok(&ctl, "{\"execute\": \"x-compact\", \"arguments\": {\"budget-ms\": 50}}"));
		json_decref(ok(&ctl, "{\"execute\": \"stop\"}"));
		usleep(100 * 1000);
		json_decref(ok(&ctl, "{\"execute\": \"cont\"}"));
		balloon_to(&ctl, RAM, test_now() + 60);
		cycles++;
	}
	atomic_store(&soak_over, true);
	for (unsigned i = 0; i < SOAK_CLIENTS; i++) {
		pthread_join(qs[i].thread, NULL);
		cr_expect_eq(qs[i].failure[0], '\0', "%s", qs[i].failure);
	}
	cr_log_info("soak: %u balloon cycles, %lu answers\n", cycles, atomic_load(&answers));
	cr_expect_gt(cycles, 0);
	cr_expect_eq(atomic_load(&mismatches), 0, "x-query-frames said inconsistent %lu times",
		     atomic_load(&mismatches));

	/* I4: every region's view costs the mappings the region reports, at
	 * least one each, and the frames add up (I1) once more, quietly. */
	json_t *r = ok(&ctl, "{\"execute\": \"x-query-regions\"}");
	json_t *regions = json_object_get(json_object_get(r, "return"), "regions");
	cr_expect_gt(json_array_size(regions), 0);
	for (size_t i = 0; i < json_array_size(regions); i++)
		cr_expect_geq(INT(json_array_get(regions, i), "mappings"), 1);
	json_decref(r);
	r = ok(&ctl, "{\"execute\": \"x-query-frames\"}");
	unsigned long before = atomic_load(&mismatches);
	check_frames(json_object_get(r, "return"));
	json_decref(r);
	cr_expect_eq(atomic_load(&mismatches), before, "I1 does not hold in a quiet moment");

	/* The guest's working set after every change (its "ws ok" lines). */
	char last[256] = "";
	unsigned lines = slow_reader_lines(&so, "balloon: target", last, sizeof(last));
	cr_expect_geq(lines, 1, "the guest reported no target");
	pthread_mutex_lock(&so.lock);
	cr_expect_null(so.buf ? strstr(so.buf, "BAD") : NULL, "the guest saw a bad page");
	cr_expect_null(so.buf ? strstr(so.buf, "BROKEN") : NULL, "the guest saw I1 broken");
	pthread_mutex_unlock(&so.lock);
	cr_expect_not_null(strstr(last, " ws ok"), "%s", last);

	double t0 = test_now();
	mon_send(&ctl, "{\"execute\": \"quit\"}");
	int st = 0;
	pid_t w = 0;
	while (test_now() - t0 < 10 && (w = waitpid(pid, &st, WNOHANG)) == 0)
		usleep(5000);
	if (w != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	cr_expect_eq(w, pid, "quit did not end memvisor within 10 s");
	cr_log_info("soak: quit ended memvisor in %.3f s\n", test_now() - t0);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	mon_close(&ctl);
	mon_close(&mute);
	pthread_join(so.thread, NULL);
	pthread_join(se.thread, NULL);
	pthread_mutex_lock(&se.lock);
	cr_expect_null(se.buf ? strstr(se.buf, "MISMATCH") : NULL, "%s", se.buf);
	cr_expect_null(se.buf ? strstr(se.buf, "AddressSanitizer") : NULL, "%s", se.buf);
	cr_expect_null(se.buf ? strstr(se.buf, "runtime error") : NULL, "%s", se.buf);
	pthread_mutex_unlock(&se.lock);
	free(so.buf);
	free(se.buf);
	close(out[0]);
	close(err[0]);
	unlink(sock);
	rmdir(dir);
}

/*
 * stress-threads: everything that runs on threads at once, for a bounded
 * time, so that ThreadSanitizer (make check-tsan) and ASan+UBSan (make
 * test in their trees) watch the real interleavings: slab objects and
 * kmalloc objects freed on threads other than their allocators', per-thread
 * frame caches filling and emptying, I1 asked for while they move, and the
 * QMP monitor answering eight clients about the same arena (mm_load.c,
 * mon_load.c). It is a program, not a Criterion suite: Criterion's worker
 * processes map memory where TSan will not let them.
 *
 * This file owns main: the options, the arena, the run's length, and what
 * must hold once every thread is gone: the slab cache valid and empty, I1
 * exact, no guest frame left, the VMM's frames and the slab's objects back
 * to what the arena had before the run. Exit status 0 when all of it held,
 * 1 with the reasons on stderr when not, 2 for bad arguments.
 *
 *   build/tests/stress-threads [--seconds N]     (default 5)
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mm/mm.h"
#include "mm/slab.h"
#include "vmm/monitor/monitor.h"
#include "stress.h"

#define MIB (1ull << 20)
#define DEFAULT_SECONDS 5
#define MAX_SECONDS 3600
/* Guest RAM: past 16 MiB, the address one x-query-p2m asks about. */
#define GUEST_RAM (32 * MIB)
/* The workers' objects and frames (at most 8 MiB in flight) and the
 * kmalloc caches' slabs: the arena never runs out, so a failed allocation
 * is a bug, not bad luck. The monitor's share is reserved as main.c
 * reserves it for a VM. */
#define LOAD_BYTES (64 * MIB)
/* The end of the run (joins, quit, teardown) must not take longer than
 * this; past it the program reports a hang and exits. */
#define WATCHDOG_EXTRA_SECONDS 240
/* Failures printed in full; later ones are only counted. */
#define MAX_REPORTS 20

atomic_bool stress_stop;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned failures;

void stress_fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&fail_lock);
	if (failures++ < MAX_REPORTS) {
		fputs("stress-threads: FAIL: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	pthread_mutex_unlock(&fail_lock);
	atomic_store(&stress_stop, true);
}

bool stress_failed(void)
{
	pthread_mutex_lock(&fail_lock);
	bool failed = failures != 0;
	pthread_mutex_unlock(&fail_lock);
	return failed;
}

double stress_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

bool stress_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what)
{
	int rc = pthread_create(t, NULL, fn, arg);

	if (rc)
		stress_fail("starting %s: %s", what, strerror(rc));
	return rc == 0;
}

void stress_thread_join(pthread_t t, const char *what)
{
	int rc = pthread_join(t, NULL);

	if (rc)
		stress_fail("joining %s: %s", what, strerror(rc));
}

static void watchdog(int sig)
{
	static const char msg[] = "stress-threads: FAIL: the run did not end in time (a hang?)\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: stress-threads [--seconds N]\n"
		   "  --seconds N  how long the load runs, 1..%d (default %d)\n",
		MAX_SECONDS, DEFAULT_SECONDS);
}

/* 0 and *seconds, or 2 (the exit status) after saying what is wrong. */
static int parse_args(int argc, char **argv, unsigned *seconds)
{
	*seconds = DEFAULT_SECONDS;
	for (int i = 1; i < argc; i++) {
		const char *value = NULL;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(argv[i], "--seconds")) {
			if (i + 1 == argc) {
				fprintf(stderr, "stress-threads: --seconds needs a value\n");
				usage(stderr);
				return 2;
			}
			value = argv[++i];
		} else if (!strncmp(argv[i], "--seconds=", 10)) {
			value = argv[i] + 10;
		} else {
			fprintf(stderr, "stress-threads: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
		char *end;
		errno = 0;
		unsigned long v = strtoul(value, &end, 10);
		if (errno || end == value || *end || value[0] == '-' || v < 1 || v > MAX_SECONDS) {
			fprintf(stderr, "stress-threads: --seconds '%s': not a number from 1 to %d\n",
				value, MAX_SECONDS);
			return 2;
		}
		*seconds = (unsigned)v;
	}
	return 0;
}

static void count_objects(struct slab_cache *c, void *arg)
{
	struct slab_cache_info info;

	slab_cache_get_info(c, &info);
	*(uint64_t *)arg += info.active_objs;
}

static uint64_t slab_objects(struct mm_arena *a)
{
	uint64_t n = 0;

	slab_for_each_cache(a, count_objects, &n);
	return n;
}

/* What a quiet arena holds: the I1 counts (which must be exact) and the
 * slab's objects in use. */
struct snapshot {
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	uint64_t objects;
};

static bool quiet_snapshot(struct mm_arena *a, struct snapshot *s, const char *when)
{
	slab_shrink_all(a);
	for (int id = 0; id < MM_NR_ZONES; id++)
		if (mm_zone_get(a, (enum mm_zone_id)id))
			mm_pcp_drain(&a->zone[id]);
	int rc = mm_arena_check_frames(a, s->counts);
	if (rc) {
		stress_fail("%s: I1 does not hold in a quiet arena: %s", when, strerror(-rc));
		return false;
	}
	s->objects = slab_objects(a);
	return true;
}

/* Nothing the run made is left: no guest or ballooned frame, the VMM's
 * frames and the slab's objects as before it. */
static void compare(const struct snapshot *before, const struct snapshot *after)
{
	static const char *const names[FRAME_NR_OWNER_STATES] = {
		[FRAME_FREE] = "free", [FRAME_VMM] = "vmm", [FRAME_GUEST] = "guest",
		[FRAME_BALLOONED] = "ballooned",
	};

	for (int id = 0; id < MM_NR_ZONES; id++)
		for (int st = 0; st < FRAME_NR_OWNER_STATES; st++)
			if (before->counts[id][st] != after->counts[id][st])
				stress_fail("zone %s: %llu %s frames after the run, %llu before",
					    mm_zone_name((enum mm_zone_id)id),
					    (unsigned long long)after->counts[id][st],
					    names[st] ? names[st] : "?",
					    (unsigned long long)before->counts[id][st]);
	if (before->objects != after->objects)
		stress_fail("%llu slab objects in use after the run, %llu before",
			    (unsigned long long)after->objects, (unsigned long long)before->objects);
}

int main(int argc, char **argv)
{
	unsigned seconds;
	int rc = parse_args(argc, argv, &seconds);

	if (rc)
		return rc;
	/* A client whose connection the monitor closed gets EPIPE, not a
	 * signal; the watchdog bounds the whole run. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, watchdog);
	alarm(seconds + WATCHDOG_EXTRA_SECONDS);

	struct mm_arena_config cfg = {
		.normal_bytes = LOAD_BYTES + GUEST_RAM + MONITOR_MEMORY_MAX,
		.huge = MM_HUGE_OFF,
	};
	struct mm_arena *a;
	rc = mm_create(&cfg, &a);
	if (rc) {
		fprintf(stderr, "stress-threads: FAIL: mm_create: %s\n", strerror(-rc));
		return 1;
	}
	struct snapshot before, after;
	quiet_snapshot(a, &before, "before the run");

	double t0 = stress_now();
	struct mon_load *mon = mon_load_start(a, GUEST_RAM);
	struct mm_load *mml = mm_load_start(a);
	while (!atomic_load(&stress_stop) && stress_now() - t0 < seconds)
		usleep(20 * 1000);
	double ran = stress_now() - t0;
	atomic_store(&stress_stop, true);

	struct mm_load_counts mc;
	struct mon_load_counts oc;
	mm_load_join(mml, &mc);
	mon_load_join(mon, &oc);
	mm_load_finish(mml);
	mon_load_finish(mon);
	if (quiet_snapshot(a, &after, "after the run"))
		compare(&before, &after);
	mm_destroy(a);
	double total = stress_now() - t0;

	if (!oc.mute_dropped && !stress_failed())
		fprintf(stderr, "stress-threads: note: the client that never reads sent %llu requests "
				"and was not dropped (the run may be too short)\n",
			(unsigned long long)oc.mute_sent);
	printf("stress-threads: %.1f s (%.1f s with the end): %d workers freed %llu objects remotely "
	       "and moved %llu frame blocks; I1 %llu consistent, %llu busy, %llu dumps; "
	       "%d clients: %llu replies, %llu frame zones busy, %llu stop/%llu cont, "
	       "the mute client %s after %llu requests; %s\n",
	       ran, total, STRESS_WORKERS, (unsigned long long)mc.objects,
	       (unsigned long long)mc.frame_blocks, (unsigned long long)mc.checks,
	       (unsigned long long)mc.busy, (unsigned long long)mc.dumps, STRESS_CLIENTS,
	       (unsigned long long)oc.replies, (unsigned long long)oc.frames_busy,
	       (unsigned long long)oc.stops, (unsigned long long)oc.conts,
	       oc.mute_dropped ? "dropped" : "not dropped", (unsigned long long)oc.mute_sent,
	       stress_failed() ? "FAILED (above)" : "at the end I1 exact, nothing left");
	fflush(stdout);
	if (stress_failed()) {
		fprintf(stderr, "stress-threads: FAILED (%u failures)\n", failures);
		return 1;
	}
	return 0;
}

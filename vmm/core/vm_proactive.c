/*
 * Proactive compaction's thread (vm_proactive.h): the sleep between wakes,
 * the score read, the run with the vCPUs held, and the counters the
 * monitor reads. What to do at each wake is vm_proactive_policy.c's.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include "mm/extfrag.h"
#include "mm/kmalloc.h"
#include "vmm/core/vm_proactive.h"
#include "vmm/memory/guest_compact.h"

struct vm_proactive {
	struct mm_arena *arena;
	struct vm_control target;
	struct vm_proactive_policy policy;      /* the thread's only */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;                    /* CLOCK_MONOTONIC */
	bool stopping;                          /* under lock */
	int stop_run;                           /* read by guest_mem_compact between steps */
	struct vm_proactive_stats stats;        /* written by the thread, read atomically */
};

#define STAT_ADD(p, f, v) __atomic_fetch_add(&(p)->stats.f, (v), __ATOMIC_RELAXED)
#define STAT_SET(p, f, v) __atomic_store_n(&(p)->stats.f, (v), __ATOMIC_RELAXED)
#define STAT_GET(p, f) __atomic_load_n(&(p)->stats.f, __ATOMIC_RELAXED)

static uint64_t pa_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct vm_proactive *vm_proactive_create(struct mm_arena *a, unsigned n, uint64_t period_ns)
{
	if (n == 0 || n > VM_PROACTIVE_MAX || period_ns == 0)
		return NULL;
	struct vm_proactive *p = kzalloc(a, sizeof(*p));
	if (!p)
		return NULL;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&p->lock, NULL);
	p->arena = a;
	p->policy = (struct vm_proactive_policy){ .proactiveness = n, .period_ns = period_ns };
	p->stats.proactiveness = n;
	p->stats.last = VM_PROACTIVE_LOW;
	return p;
}

/* Sleeps until deadline (monotonic ns) or a stop; true on a stop. */
static bool pa_sleep_until(struct vm_proactive *p, uint64_t deadline)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline / 1000000000ull),
			       .tv_nsec = (long)(deadline % 1000000000ull) };

	pthread_mutex_lock(&p->lock);
	while (!p->stopping && pa_now_ns() < deadline)
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	bool stop = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

static unsigned pa_score(struct mm_zone *z)
{
	return vm_proactive_score(mm_zone_unusable_index(z, VM_PROACTIVE_ORDER));
}

/* One wake: the verdict, and the run when it says so. */
static void pa_wake(struct vm_proactive *p)
{
	const struct vm_control *t = &p->target;
	struct mm_zone *z = mm_zone_get(t->arena(t->ctx), ZONE_NORMAL);
	struct guest_mem *gm = t->guest_mem ? t->guest_mem(t->ctx) : NULL;
	uint64_t budget;

	STAT_ADD(p, wakes, 1);
	if (!z || !gm || z->buddy.max_order < VM_PROACTIVE_ORDER)
		return;
	unsigned before = pa_score(z);
	uint64_t free_frames = __atomic_load_n(&z->buddy.nr_free_pages, __ATOMIC_RELAXED);
	enum vm_proactive_verdict v = vm_proactive_decide(&p->policy, before, free_frames, &budget);
	STAT_SET(p, score, before);
	STAT_SET(p, last, v);
	if (v == VM_PROACTIVE_DEFERRED)
		STAT_ADD(p, deferred, 1);
	if (v != VM_PROACTIVE_RUN)
		return;
	uint64_t t0 = pa_now_ns();
	if (t->hold(t->ctx))
		return;         /* the run has ended */
	struct guest_compact_result r;
	/* Full: the scanners and promotion, in the budget; what is left is
	 * the next wake's (the moves made stay made). -EBUSY: a controller's
	 * x-compact is on the zone, which does the same work. */
	int rc = guest_mem_compact(gm, MM_COMPACT_FULL, budget, &p->stop_run, &r);
	t->release(t->ctx);
	uint64_t ns = pa_now_ns() - t0;
	if (rc)
		return;
	unsigned after = pa_score(z);
	STAT_SET(p, score, after);
	STAT_ADD(p, runs, 1);
	STAT_ADD(p, ns, ns);
	STAT_ADD(p, moved, r.moved);
	STAT_ADD(p, promoted_ranges, r.promoted_ranges);
	STAT_ADD(p, failed, r.failed);
	STAT_ADD(p, migrate_scanned, r.migrate_scanned);
	STAT_ADD(p, free_scanned, r.free_scanned);
	vm_proactive_ran(&p->policy, budget, ns, before, after, r.moved || r.promoted_ranges);
}

static void *pa_thread(void *arg)
{
	struct vm_proactive *p = arg;
	uint64_t next = pa_now_ns() + p->policy.period_ns;

	while (!pa_sleep_until(p, next)) {
		pa_wake(p);
		/* From the wake's start: a run's own time is its budget's. */
		next += p->policy.period_ns;
		uint64_t now = pa_now_ns();
		if (next < now)
			next = now + p->policy.period_ns;
	}
	return NULL;
}

int vm_proactive_start(struct vm_proactive *p, const struct vm_control *t)
{
	if (!t->hold || !t->release || !t->arena || p->started)
		return -EINVAL;
	p->target = *t;
	p->stopping = false;
	p->stop_run = 0;
	int rc = pthread_create(&p->thread, NULL, pa_thread, p);
	if (rc)
		return -rc;
	/* As the kernel's: what top and perf show for it. */
	pthread_setname_np(p->thread, "kcompactd");
	p->started = true;
	return 0;
}

void vm_proactive_stop(struct vm_proactive *p)
{
	if (!p || !p->started)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	__atomic_store_n(&p->stop_run, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->started = false;
}

void vm_proactive_destroy(struct vm_proactive *p)
{
	if (!p)
		return;
	vm_proactive_stop(p);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	kfree(p->arena, p);
}

void vm_proactive_get_stats(struct vm_proactive *p, struct vm_proactive_stats *out)
{
	*out = (struct vm_proactive_stats){ .last = VM_PROACTIVE_OFF };
	if (!p)
		return;
	out->proactiveness = p->stats.proactiveness;
	out->wakes = STAT_GET(p, wakes);
	out->runs = STAT_GET(p, runs);
	out->ns = STAT_GET(p, ns);
	out->moved = STAT_GET(p, moved);
	out->promoted_ranges = STAT_GET(p, promoted_ranges);
	out->failed = STAT_GET(p, failed);
	out->migrate_scanned = STAT_GET(p, migrate_scanned);
	out->free_scanned = STAT_GET(p, free_scanned);
	out->deferred = STAT_GET(p, deferred);
	out->score = STAT_GET(p, score);
	out->last = STAT_GET(p, last);
}

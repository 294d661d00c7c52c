/*
 * A compaction run over one zone (compaction.h): checking the request,
 * one run per zone at a time, the loop of the migrate scanner over the
 * pageblocks with its stops (scanners met, target order free, time budget,
 * stop flag), the skip hints, the zone counters and their /proc/vmstat
 * text. The scanners and the targets are compaction_scan.c's.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "compaction_internal.h"
#include "textbuf.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Looked at after every step; a step is never cut short, so a budget of
 * 0 does exactly one. */
static bool compact_should_stop(const struct compact_control *cc, uint64_t t0,
				enum mm_compact_stop *why)
{
	const struct mm_compact_request *req = cc->req;

	if (req->stop && __atomic_load_n(req->stop, __ATOMIC_RELAXED)) {
		*why = MM_COMPACT_STOPPED;
		return true;
	}
	if (req->budget_ns != MM_COMPACT_NO_BUDGET && now_ns() - t0 >= req->budget_ns) {
		*why = MM_COMPACT_BUDGET;
		return true;
	}
	return false;
}

static bool compact_target_free(struct compact_control *cc)
{
	if (cc->req->order < 0)
		return false;
	buddy_lock(&cc->z->buddy);
	bool ok = compact_order_free_locked(cc->z, (unsigned)cc->req->order);
	buddy_unlock(&cc->z->buddy);
	return ok;
}

/* Adds the verdicts of one batch to the result and the zone counters. */
static void compact_account(struct compact_control *cc, uint32_t pb, const int *rc, unsigned n)
{
	struct mm_compact_result *res = cc->res;

	for (unsigned i = 0; i < n; i++) {
		if (rc[i] == 0) {
			res->moved++;
			COMPACT_COUNT(cc->z, moved, 1);
		} else if (rc[i] == -ESTALE) {
			res->stale++;
		} else {
			res->failed++;
			COMPACT_COUNT(cc->z, failed, 1);
			cc->z->compact.skip[pb] = 1;
		}
	}
}

/*
 * How many moves the next batch may gather. A batch is one step, never cut
 * short, so under a budget it is sized to the time left by what the run's
 * moves took so far (the first batch, cost unknown, is a few); a budget of
 * 0 is one move, what a caller asking for the least possible work means;
 * the single mover moves one at a time anyway.
 */
#define COMPACT_FIRST_BATCH 8
static unsigned compact_batch_cap(const struct compact_control *cc, uint64_t t0,
				  uint64_t move_ns)
{
	const struct mm_compact_request *req = cc->req;

	if (!req->move_batch || !req->budget_ns)
		return 1;
	if (req->budget_ns == MM_COMPACT_NO_BUDGET)
		return MM_COMPACT_BATCH;
	if (!move_ns)
		return COMPACT_FIRST_BATCH;
	uint64_t spent = now_ns() - t0;
	uint64_t n = spent < req->budget_ns ? (req->budget_ns - spent) / move_ns : 0;
	return n < 1 ? 1 : n > MM_COMPACT_BATCH ? MM_COMPACT_BATCH : (unsigned)n;
}

/* The migrate scanner's pageblocks, bottom up, until it reaches the free
 * scanner's (which comes down as it isolates). Each step gathers up to a
 * batch of sources of one pageblock with a target each and moves them. */
static enum mm_compact_stop compact_walk(struct compact_control *cc, uint64_t t0)
{
	struct mm_zone *z = cc->z;
	struct mm_compact_result *res = cc->res;
	uint64_t move_ns = 0;       /* a move's time in this run, averaged */
	uint32_t src[MM_COMPACT_BATCH], gfn[MM_COMPACT_BATCH], dst[MM_COMPACT_BATCH];
	int rc[MM_COMPACT_BATCH];
	enum mm_compact_stop why;

	if (compact_target_free(cc)) {
		res->target_reached = true;
		return MM_COMPACT_TARGET_REACHED;
	}
	for (; cc->migrate_pb < cc->free_pb; cc->migrate_pb++) {
		uint32_t pb = cc->migrate_pb;
		uint32_t *pos = &cc->migrate_pos;
		bool tried = false, more = true, met = false;

		/* Inside the pageblock where a run before this one stopped, on
		 * from there; any other from its start. */
		if (*pos >> PAGEBLOCK_ORDER != pb)
			*pos = pb << PAGEBLOCK_ORDER;

		if (__atomic_load_n(&z->buddy.pageblock_mt[pb], __ATOMIC_RELAXED) != MT_MOVABLE ||
		    z->compact.skip[pb])
			continue;
		while (more) {
			unsigned n = 0, cap = compact_batch_cap(cc, t0, move_ns);
			uint64_t b0 = now_ns();
			while (n < cap && (more = compact_next_source(cc, pos, &src[n], &gfn[n]))) {
				if (!compact_take_target(cc, &dst[n])) {
					met = true;
					break;
				}
				n++;
			}
			if (n) {
				compact_move_batch(cc, src, gfn, dst, n, rc);
				compact_account(cc, pb, rc, n);
				uint64_t per = (now_ns() - b0) / n;
				move_ns = move_ns ? (move_ns * 3 + per) / 4 : per;
				tried = true;
				res->steps++;
			}
			if (met)
				return MM_COMPACT_SCANNERS_MET;
			if (n && res->target_reached)
				return MM_COMPACT_TARGET_REACHED;
			if (n && compact_should_stop(cc, t0, &why))
				return why;
		}
		if (!tried) {
			res->steps++;
			if (compact_should_stop(cc, t0, &why)) {
				cc->migrate_pb++;
				return why;
			}
		}
	}
	return MM_COMPACT_SCANNERS_MET;
}

int mm_compact_zone(struct mm_zone *z, const struct mm_compact_request *req,
		    struct mm_compact_result *res)
{
	if (!z || !z->present || !req || (!req->move && !req->move_batch) || !res || req->order < MM_COMPACT_FULL ||
	    (req->order >= 0 && (unsigned)req->order > z->buddy.max_order))
		return -EINVAL;
	int idle = 0;
	if (!__atomic_compare_exchange_n(&z->compact.running, &idle, 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return -EBUSY;

	uint64_t t0 = now_ns();
	memset(res, 0, sizeof(*res));
	struct mm_compact_resume *rs = &z->compact.resume;
	/* A run with no budget over the whole zone means the whole zone. */
	bool fresh = !rs->valid || (req->order == MM_COMPACT_FULL && req->budget_ns == MM_COMPACT_NO_BUDGET);
	struct compact_control cc = {
		.z = z,
		.req = req,
		.res = res,
		.migrate_pb = fresh ? 0 : rs->migrate_pb,
		.migrate_pos = fresh ? 0 : rs->migrate_pos,
		.free_pb = fresh ? z->buddy.nr_pageblocks : rs->free_pb,
		.free_next = fresh ? z->buddy.nr_frames : rs->free_next,
		.free_order_limit = req->order > 0 ? (unsigned)req->order : PAGEBLOCK_ORDER,
	};
	if (req->order == MM_COMPACT_FULL && fresh)
		memset(z->compact.skip, 0, z->buddy.nr_pageblocks);
	/* This thread's cached frames may be the buddies that complete a
	 * block (the kernel drains its per-CPU lists likewise). */
	mm_pcp_drain(z);
	COMPACT_COUNT(z, runs, 1);
	if (req->order >= 0)
		COMPACT_COUNT(z, stalls, 1);

	res->stop = compact_walk(&cc, t0);
	uint32_t top = compact_release_targets(&cc);
	/* Targets given back above the free scanner are free again: the next
	 * run's free scanner starts at the highest one's pageblock. */
	if (top != FRAME_NONE && top >> PAGEBLOCK_ORDER >= cc.free_pb) {
		cc.free_pb = top >> PAGEBLOCK_ORDER;
		cc.free_next = cc.free_pb << PAGEBLOCK_ORDER;
	}
	*rs = (struct mm_compact_resume){
		.migrate_pb = cc.migrate_pb, .migrate_pos = cc.migrate_pos,
		.free_pb = cc.free_pb, .free_next = cc.free_next,
		.valid = res->stop != MM_COMPACT_SCANNERS_MET && cc.migrate_pb < cc.free_pb,
	};
	if (req->order >= 0 && !res->target_reached && compact_target_free(&cc))
		res->target_reached = true;  /* the targets given back completed one */
	if (res->target_reached)
		COMPACT_COUNT(z, success, 1);
	res->ns = now_ns() - t0;
	COMPACT_COUNT(z, ns, res->ns);
	__atomic_store_n(&z->compact.running, 0, __ATOMIC_RELEASE);
	return 0;
}

void mm_compact_counters(const struct mm_zone *z, struct mm_compact_counters *out)
{
	const struct mm_compact_counters *s = &z->compact.stats;

	out->migrate_scanned = __atomic_load_n(&s->migrate_scanned, __ATOMIC_RELAXED);
	out->free_scanned = __atomic_load_n(&s->free_scanned, __ATOMIC_RELAXED);
	out->isolated = __atomic_load_n(&s->isolated, __ATOMIC_RELAXED);
	out->moved = __atomic_load_n(&s->moved, __ATOMIC_RELAXED);
	out->failed = __atomic_load_n(&s->failed, __ATOMIC_RELAXED);
	out->stalls = __atomic_load_n(&s->stalls, __ATOMIC_RELAXED);
	out->success = __atomic_load_n(&s->success, __ATOMIC_RELAXED);
	out->runs = __atomic_load_n(&s->runs, __ATOMIC_RELAXED);
	out->ns = __atomic_load_n(&s->ns, __ATOMIC_RELAXED);
}

bool mm_compact_skipped(const struct mm_zone *z, uint32_t pb)
{
	return pb < z->buddy.nr_pageblocks && __atomic_load_n(&z->compact.skip[pb], __ATOMIC_RELAXED);
}

const char *mm_compact_stop_name(enum mm_compact_stop stop)
{
	switch (stop) {
	case MM_COMPACT_SCANNERS_MET:
		return "scanners-met";
	case MM_COMPACT_TARGET_REACHED:
		return "target-reached";
	case MM_COMPACT_BUDGET:
		return "budget";
	case MM_COMPACT_STOPPED:
		return "stopped";
	}
	return "?";
}

size_t mm_format_compaction(struct mm_arena *a, char *buf, size_t len)
{
	struct mm_compact_counters sum = { 0 }, c;
	struct textbuf t = textbuf_start(buf, len);

	for (int id = 0; id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (!z)
			continue;
		mm_compact_counters(z, &c);
		sum.migrate_scanned += c.migrate_scanned;
		sum.free_scanned += c.free_scanned;
		sum.isolated += c.isolated;
		sum.moved += c.moved;
		sum.failed += c.failed;
		sum.stalls += c.stalls;
		sum.success += c.success;
		sum.runs += c.runs;
		sum.ns += c.ns;
	}
	/* The kernel's compact_fail: runs for an order that did not get it.
	 * A success counter read a moment after its stall may run ahead. */
	uint64_t fail = sum.stalls > sum.success ? sum.stalls - sum.success : 0;
	textbuf_printf(&t, "pgmigrate_success %lu\n", (unsigned long)sum.moved);
	textbuf_printf(&t, "pgmigrate_fail %lu\n", (unsigned long)sum.failed);
	textbuf_printf(&t, "compact_migrate_scanned %lu\n", (unsigned long)sum.migrate_scanned);
	textbuf_printf(&t, "compact_free_scanned %lu\n", (unsigned long)sum.free_scanned);
	textbuf_printf(&t, "compact_isolated %lu\n", (unsigned long)sum.isolated);
	textbuf_printf(&t, "compact_stall %lu\n", (unsigned long)sum.stalls);
	textbuf_printf(&t, "compact_fail %lu\n", (unsigned long)fail);
	textbuf_printf(&t, "compact_success %lu\n", (unsigned long)sum.success);
	textbuf_printf(&t, "compact_runs %lu\n", (unsigned long)sum.runs);
	textbuf_printf(&t, "compact_time_ns %lu\n", (unsigned long)sum.ns);
	return t.needed;
}

/*
 * balloon: follows the host's balloon target until the VMM stops the guest.
 *
 * At start it takes its own RAM into the buddy core (balloon_ram.c), sets
 * aside a working set (ws=SIZE, default 16M) of pages it never balloons,
 * fills it with pseudo-random data and records an XXH3 hash per page. Then
 * it polls the balloon's target; on every change it inflates or deflates
 * (virtio_balloon.c), writes `actual`, checks every working-set hash and
 * the buddy's frame accounting (I1), and prints one line:
 *   balloon: target T pages actual A pages ws ok
 * with "short" after the page counts when the guest ran out of free RAM
 * before reaching the target, "ws CORRUPT (N pages)" instead of "ws ok"
 * when working-set pages changed, and " I1 BROKEN" (the buddy's frame
 * counts do not add up, or its ballooned count differs from the driver's)
 * or " DEFLATED PAGES BAD" at the end when those checks fail. Deflated
 * pages are written and read back before they return to the buddy, unless
 * check=0 is on the command line.
 *
 * Between polls it sleeps on memvisor's halt port (the VMM wakes it early
 * when the device has news); under QEMU it spins on the TSC.
 *
 * Free page reporting (free_report.c) is negotiated unless reporting=0 is
 * on the command line; the loop reports free 2 MiB blocks about 2 s after
 * they form. churn=SIZE runs the churn workload first (churn.c:
 * cycles=N, default 20, pause=MS between a report and the reuse, default
 * 1000), then follows the target as usual.
 */
#include "runtime.h"
#include "abi/memvisor.h"
#include "ports.h"
#include "churn.h"
#include "virtio_balloon.h"
#include "xxh3.h"

#define DEFAULT_WS   (16ull << 20)
#define POLL_US      10000
/* Pages moved between two reads of the target, so a new target is seen
 * while a long inflate is still going. */
#define ROUND_PAGES  (64 * VIRTIO_BALLOON_BATCH)

static struct vballoon vb;
static uint64_t *ws_page;               /* GPAs of the working set's pages */
static uint64_t *ws_hash;
static uint64_t ws_pages;

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* One frame for the working set; under DEFLATE_ON_OOM a full guest
 * deflates the balloon to get it. */
static uint64_t ws_alloc_page(void)
{
	uint64_t gpa = ram_alloc(0);
	if (!gpa && vballoon_deflate_on_oom(&vb, 1) > 0)
		gpa = ram_alloc(0);
	return gpa;
}

static bool ws_setup(uint64_t bytes, const char **why)
{
	ws_pages = bytes / PAGE_SIZE;
	uint64_t meta = (ws_pages * 2 * sizeof(uint64_t) + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t m = meta ? ram_alloc_contig((uint32_t)meta) : 0;
	if (meta && !m) {
		*why = "no room for the working set's bookkeeping";
		return false;
	}
	ws_page = (uint64_t *)(uintptr_t)m;
	ws_hash = ws_page + ws_pages;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (uint64_t i = 0; i < ws_pages; i++) {
		uint64_t gpa = ws_alloc_page();
		if (!gpa) {
			*why = "not enough free RAM for the working set";
			return false;
		}
		uint64_t *p = (uint64_t *)(uintptr_t)gpa;
		for (unsigned j = 0; j < PAGE_SIZE / 8; j++)
			p[j] = xorshift(&seed);
		ws_page[i] = gpa;
		ws_hash[i] = xxh3_64(p, PAGE_SIZE);
	}
	return true;
}

/* Working-set pages whose hash changed. */
static uint64_t ws_check(void)
{
	uint64_t bad = 0;
	for (uint64_t i = 0; i < ws_pages; i++)
		if (xxh3_64((const void *)(uintptr_t)ws_page[i], PAGE_SIZE) != ws_hash[i])
			bad++;
	return bad;
}

/* Moves the balloon toward target by at most ROUND_PAGES; false on a
 * device failure. *stuck is set when the guest has no more to give. */
static bool step(uint32_t target, bool *stuck, const char **why)
{
	uint32_t have = vb.nr_ballooned;
	long n;
	if (target > have) {
		uint32_t want = target - have < ROUND_PAGES ? target - have : ROUND_PAGES;
		n = vballoon_inflate(&vb, want, why);
		*stuck = n >= 0 && (uint32_t)n < want;
	} else {
		uint32_t want = have - target < ROUND_PAGES ? have - target : ROUND_PAGES;
		n = vballoon_deflate(&vb, want, why);
		*stuck = false;
	}
	return n >= 0;
}

/* Until the next poll: on memvisor one halt, which ends early when the
 * device has news (a new target); elsewhere a spin on the TSC. */
static void wait_a_little(void)
{
	if (on_memvisor())
		outl(ABI_PORT_HALT, POLL_US);
	else
		sleep_us(POLL_US);
}

int main(const char *cmdline)
{
	(void)cmdline;
	const char *why;
	if (!ram_init(&why)) {
		printf("balloon: %s\n", why);
		return 1;
	}
	if (!vballoon_init(&vb, &why)) {
		printf("balloon: no balloon device: %s\n", why);
		return 1;
	}
	vb.check_deflated = !cmdline_is("check", "0");
	uint64_t ws = DEFAULT_WS;
	if (cmdline_u64("ws", &ws) < 0) {
		printf("balloon: bad ws= (want a size such as ws=16M)\n");
		return 2;
	}
	if (!ws_setup(ws, &why)) {
		printf("balloon: %s\n", why);
		return 1;
	}
	struct churn_opts churn = { .cycles = 20, .pause_us = 1000000 };
	uint64_t pause_ms = 1000;
	if (cmdline_u64("churn", &churn.bytes) < 0 || cmdline_u64("cycles", &churn.cycles) < 0 ||
	    cmdline_u64("pause", &pause_ms) < 0) {
		printf("balloon: bad churn=, cycles= or pause= (want churn=512M cycles=20 pause=1000)\n");
		return 2;
	}
	churn.pause_us = pause_ms * 1000;
	printf("balloon: ready: %lu pages of RAM, ws %lu pages, features 0x%lx at 0x%lx, %s\n",
	       ram_total_pages(), ws_pages, vb.dev.features, vb.dev.base,
	       on_memvisor() ? "sleeping on the halt port" : "spinning on the TSC");
	if (vb.reporting)
		printf("balloon: reporting on queue %u, %u ranges per buffer\n", vb.report_index,
		       vb.report_vq.size < VIRTIO_BALLOON_REPORT_MAX_RANGES ? vb.report_vq.size
									  : VIRTIO_BALLOON_REPORT_MAX_RANGES);
	else
		printf("balloon: reporting off (%s)\n", vb.want_reporting ? "the device does not offer it"
									   : "reporting=0");
	if (churn.bytes && !churn_run(&vb, &churn, ws_check))
		return 1;

	uint32_t reported_target = 0, reported_actual = 0;
	for (;;) {
		uint32_t target = vballoon_target(&vb);
		bool stuck = false;
		if (target != vb.nr_ballooned) {
			uint32_t before = vb.nr_ballooned;
			if (!step(target, &stuck, &why)) {
				printf("balloon: device failure: %s (device status 0x%x)\n", why,
				       virtio_mmio_status(&vb.dev));
				return 1;
			}
			if (vb.nr_ballooned != before)
				vballoon_update_actual(&vb);
			/* Not there yet: read the target again (it may have moved)
			 * and go on. Every target reached gets its line. */
			if (vb.nr_ballooned != target && !stuck)
				continue;
		}
		if (target != reported_target || vb.nr_ballooned != reported_actual) {
			uint64_t bad = ws_check();
			uint64_t counts[FRAME_NR_OWNER_STATES];
			bool i1 = ram_count_states(counts) && counts[FRAME_BALLOONED] == vb.nr_ballooned;
			printf("balloon: target %u pages actual %u pages%s ws ", target, vb.nr_ballooned,
			       stuck ? " short" : "");
			if (bad)
				printf("CORRUPT (%lu pages)", bad);
			else
				printf("ok");
			printf("%s%s\n", i1 ? "" : " I1 BROKEN", vb.deflated_bad ? " DEFLATED PAGES BAD" : "");
			reported_target = target;
			reported_actual = vb.nr_ballooned;
		}
		vballoon_poll_stats(&vb);
		if (!vballoon_report_poll(&vb, &why)) {
			printf("balloon: device failure: %s (reporting)\n", why);
			return 1;
		}
		wait_a_little();
	}
}

/*
 * The churn workload of the balloon image (churn=SIZE): what free page
 * reporting is for. Each cycle C
 *   1. takes SIZE of guest RAM in 2 MiB blocks from the buddy, fills every
 *      block with data of its own and records an XXH3 hash per block, then
 *      reads them all back:
 *        balloon: churn C wrote M MiB data ok ws ok
 *   2. frees them all, which starts the report's delay:
 *        balloon: churn C freed M MiB
 *   3. waits until the report has gone out (about 2 s later; at once when
 *      reporting is off) and says what it reported, cumulated:
 *        balloon: churn C reported R ranges B MiB total RT ranges BT MiB guest-us U ws ok
 *      (U: guest time spent reporting so far, in microseconds);
 *   4. after pause=MS (default 1000, so a host can look at its memory),
 *      reuses a quarter of SIZE: counts the blocks that read back as
 *      zeroes (the host dropped them), then writes and checks them as in 1:
 *        balloon: churn C reused M MiB zeroed Z blocks data ok ws ok
 *      and frees them again.
 * "data BAD (N blocks)" or "ws CORRUPT (N pages)" replace the "ok"s when a
 * hash changed. After the last cycle one line sums up, with the guest's
 * own I1 and the reporting bookkeeping checked (no pageblock marked
 * reported may hold an allocated frame):
 *   balloon: churn done C cycles ranges RT bytes BT guest-us U data ok ws ok
 * with " I1 BROKEN" or " REPORTED NOT FREE" appended when those fail.
 */
#include "internal.h"
#include "churn.h"
#include "ports.h"
#include "xxh3.h"

#define BLOCK_BYTES ((uint64_t)RAM_HUGE_FRAMES * PAGE_SIZE)
#define MIB ((uint64_t)1 << 20)
#define WAIT_US 10000

static uint64_t *blk_gpa, *blk_hash;
static uint64_t nblk_max;
static uint64_t data_bad, ws_bad_total;
static uint64_t (*ws_check)(void);

static void fill(uint64_t *p, uint64_t seed)
{
	for (uint64_t i = 0; i < BLOCK_BYTES / 8; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = seed;
	}
}

/* Takes up to n blocks from the buddy: how many it gave. */
static uint64_t take_blocks(uint64_t n)
{
	uint64_t got = 0;
	for (; got < n && (blk_gpa[got] = ram_alloc(RAM_HUGE_ORDER)) != 0; got++)
		;
	return got;
}

/* Writes and hashes each of the n blocks taken, then reads them all back:
 * the blocks whose hash changed. */
static uint64_t write_blocks(uint64_t n, uint64_t seed)
{
	uint64_t bad = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t *p = (uint64_t *)(uintptr_t)blk_gpa[i];
		fill(p, (seed << 32 | i) * 0x9e3779b97f4a7c15ull | 1);
		blk_hash[i] = xxh3_64(p, BLOCK_BYTES);
	}
	for (uint64_t i = 0; i < n; i++)
		if (xxh3_64((const void *)(uintptr_t)blk_gpa[i], BLOCK_BYTES) != blk_hash[i])
			bad++;
	data_bad += bad;
	return bad;
}

static void free_blocks(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		ram_free(blk_gpa[i], RAM_HUGE_ORDER);
}

/* Blocks taken that read as zeroes (one qword per page): memory the host
 * dropped after a report. */
static uint64_t zeroed(uint64_t n)
{
	uint64_t z = 0;
	for (uint64_t i = 0; i < n; i++) {
		const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)blk_gpa[i];
		bool zero = true;
		for (uint64_t w = 0; w < BLOCK_BYTES / 8 && zero; w += PAGE_SIZE / 8)
			zero = p[w] == 0;
		z += zero;
	}
	return z;
}

static void print_checks(uint64_t bad)
{
	uint64_t ws = ws_check();
	ws_bad_total += ws;
	if (bad)
		printf(" data BAD (%lu blocks)", bad);
	else
		printf(" data ok");
	if (ws)
		printf(" ws CORRUPT (%lu pages)\n", ws);
	else
		printf(" ws ok\n");
}

/* Sleeps us, keeping the device's stats and reports served. */
static bool idle(struct vballoon *b, uint64_t us, const char **why)
{
	for (uint64_t end = rdtsc() + tsc_ticks(us); (int64_t)(rdtsc() - end) < 0;) {
		if (!vballoon_report_poll(b, why))
			return false;
		vballoon_poll_stats(b);
		if (on_memvisor())
			outl(ABI_PORT_HALT, WAIT_US);
		else
			sleep_us(WAIT_US);
	}
	return true;
}

/* Until the report the last free started has gone out. */
static bool wait_report(struct vballoon *b, const char **why)
{
	if (!vballoon_report_poll(b, why))
		return false;
	while (b->report_due)
		if (!idle(b, WAIT_US, why))
			return false;
	return true;
}

static uint64_t guest_us(const struct vballoon *b)
{
	uint64_t khz = tsc_khz();
	return khz ? b->report_ticks * 1000 / khz : 0;
}

bool churn_run(struct vballoon *b, const struct churn_opts *o, uint64_t (*ws_bad)(void))
{
	const char *why = "";
	ws_check = ws_bad;
	nblk_max = o->bytes / BLOCK_BYTES;
	uint64_t meta = (nblk_max * 2 * sizeof(uint64_t) + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t m = meta ? ram_alloc_contig((uint32_t)meta) : 0;
	if (!m) {
		printf("balloon: churn: no room for %lu blocks\n", nblk_max);
		return false;
	}
	blk_gpa = (uint64_t *)(uintptr_t)m;
	blk_hash = blk_gpa + nblk_max;
	printf("balloon: churn start %lu MiB %lu cycles reporting %s\n", nblk_max * BLOCK_BYTES / MIB,
	       o->cycles, b->reporting ? "on" : "off");
	for (uint64_t c = 1; c <= o->cycles; c++) {
		uint64_t n = take_blocks(nblk_max);
		uint64_t bad = write_blocks(n, c);
		printf("balloon: churn %lu wrote %lu MiB", c, n * BLOCK_BYTES / MIB);
		print_checks(bad);
		free_blocks(n);
		printf("balloon: churn %lu freed %lu MiB\n", c, n * BLOCK_BYTES / MIB);
		uint64_t r0 = b->report_ranges, b0 = b->report_bytes;
		if (!wait_report(b, &why))
			goto failed;
		printf("balloon: churn %lu reported %lu ranges %lu MiB total %lu ranges %lu MiB guest-us %lu", c,
		       b->report_ranges - r0, (b->report_bytes - b0) / MIB, b->report_ranges,
		       b->report_bytes / MIB, guest_us(b));
		uint64_t ws = ws_check();
		ws_bad_total += ws;
		printf(ws ? " ws CORRUPT (%lu pages)\n" : " ws ok\n", ws);
		if (!idle(b, o->pause_us, &why))
			goto failed;
		/* A quarter again: the buddy hands the freed blocks out first. */
		n = take_blocks((n + 3) / 4);
		uint64_t z = zeroed(n);
		bad = write_blocks(n, c + o->cycles);
		printf("balloon: churn %lu reused %lu MiB zeroed %lu blocks", c, n * BLOCK_BYTES / MIB, z);
		print_checks(bad);
		free_blocks(n);
	}
	uint64_t counts[FRAME_NR_OWNER_STATES];
	bool i1 = ram_count_states(counts) && counts[FRAME_BALLOONED] == b->nr_ballooned;
	uint64_t misplaced = ram_reported_misplaced(NULL);
	printf("balloon: churn done %lu cycles ranges %lu bytes %lu guest-us %lu data %s ws %s%s%s\n",
	       o->cycles, b->report_ranges, b->report_bytes, guest_us(b), data_bad ? "BAD" : "ok",
	       ws_bad_total ? "CORRUPT" : "ok", i1 ? "" : " I1 BROKEN",
	       misplaced ? " REPORTED NOT FREE" : "");
	return !data_bad && !ws_bad_total && i1 && !misplaced;
failed:
	printf("balloon: churn: device failure: %s\n", why);
	return false;
}

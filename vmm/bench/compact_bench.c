/*
 * The compaction benchmark (issue 14's goals), in process and without KVM: a
 * guest_mem of 1 GiB (COMPACT_BENCH_MIB to change it) built on a zone Normal
 * fragmented on purpose, then one full compaction, measured as
 *   compact_move_rate   GiB/s copied, hashed and remapped, beside the host's
 *                       memcpy GiB/s measured in the same run; again as
 *                       memvisor-cold-host on a second guest without warming
 *                       the host's RAM first (host_warm says why);
 *   compact_leaves      % of guest RAM in 2 MiB p2m leaves before and after;
 *   compact_guest_view  first touch and read throughput over the guest's view
 *                       (its HVA) before and after, and their ratios;
 *   compact_pause       p50 / p99 / max of one guest_mem_compact call with a
 *                       small budget, repeated on a fresh guest until a call
 *                       does nothing: what a vCPU pause per batch costs;
 *   compact_hash        XXH3 mismatches, the mover's and a page-by-page
 *                       check of the whole guest against its hashes before.
 * One JSON line each (tools/bench/bench.h's format), read by run.sh.
 *
 * It lives under vmm/ because it drives the VMM's guest memory directly;
 * tools/ reach the VMM through its socket only (tools/check-arrows.sh).
 *
 * The fragmentation: every frame of the zone taken, then given back in
 * chunks of 1..64 frames between held chunks of 1..64 (a fixed seed), with
 * a 4 MiB run free every 128 MiB for the VMM's metadata; the guest takes
 * what is free, then the held frames of the pageblocks the guest landed in
 * are freed. The guest's pages sit in pieces among holes of every size, the
 * pageblocks above it stay fragmented by the held chunks, and no free
 * aligned 2 MiB block is left but the metadata runs' remains.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>
#include "tools/bench/bench.h"
#include "mm/buddy.h"
#include "mm/mm.h"
#include "mm/p2m.h"
#include "mm/slab.h"
#include "vmm/memory/guest_compact.h"
#include "vmm/memory/guest_mem.h"

#define IMPL "memvisor"
#define MIB (1ull << 20)
#define PAGE 4096ull
#define CHUNK_MAX 64
#define META_EVERY_MIB 128
#define META_RUN_FRAMES 1024       /* 4 MiB */
#define PAUSE_BUDGET_NS 400000ull  /* one batch of the pause figure */
#define PAUSE_MAX_CALLS 1000000u
#define MEMCPY_MIB 256

struct bench_guest {
	struct mm_arena *arena;
	struct mm_zone *z;
	struct guest_mem *gm;
	uint8_t *hva;
	uint64_t bytes, frames;
	long *held;                /* frames kept taken to keep the zone fragmented */
	size_t nr_held;
};

static uint64_t guest_mib(void)
{
	const char *s = getenv("COMPACT_BENCH_MIB");
	uint64_t mib = s ? strtoull(s, NULL, 10) : 1024;
	return mib >= 64 ? mib & ~1ull : 64;
}

static bool meta_run(uint64_t idx)
{
	uint64_t every = META_EVERY_MIB * MIB / PAGE;
	return idx % every < META_RUN_FRAMES;
}

static void guest_build(struct bench_guest *bg, uint64_t mib)
{
	/* The guest spreads over about twice its size; a quarter more room
	 * for the held chunks above it. */
	const char *backing = getenv("COMPACT_BENCH_BACKING");
	struct mm_arena_config cfg = { .normal_bytes = (size_t)(mib * 5 / 2) * MIB,
				       .huge = MM_HUGE_OFF,
				       .normal_backing = backing && !strcmp(backing, "4k")
							 ? MM_NORMAL_4K : MM_NORMAL_THP };
	memset(bg, 0, sizeof(*bg));
	if (mm_create(&cfg, &bg->arena))
		bench_die("mm_create failed");
	bg->z = mm_zone_get(bg->arena, ZONE_NORMAL);
	struct buddy_zone *b = &bg->z->buddy;
	bool *taken = calloc(b->nr_frames, sizeof(bool));
	bool *guest_pb = calloc(b->nr_pageblocks, sizeof(bool));
	bg->held = calloc(b->nr_frames, sizeof(long));
	if (!taken || !guest_pb || !bg->held)
		bench_die("out of memory");
	mm_pcp_drain(bg->z);
	long idx;
	while ((idx = buddy_alloc(b, 0, MT_MOVABLE, FRAME_VMM, false)) >= 0)
		taken[idx] = true;
	uint64_t seed = 0x636f6d70616374ull;  /* "compact" */
	for (uint64_t i = 0; i < b->nr_frames;) {
		uint64_t nfree = 1 + bench_splitmix64(&seed) % CHUNK_MAX;
		uint64_t nheld = 1 + bench_splitmix64(&seed) % CHUNK_MAX;
		for (uint64_t k = 0; k < nfree + nheld && i < b->nr_frames; k++, i++) {
			if (!taken[i])
				continue;
			if (k < nfree || meta_run(i))
				buddy_free(b, (uint32_t)i, 0);
			else
				bg->held[bg->nr_held++] = (long)i;
		}
	}
	char why[256];
	bg->bytes = mib * MIB;
	bg->frames = bg->bytes / PAGE;
	if (guest_mem_create(bg->arena, bg->bytes, MM_HUGE_OFF, &bg->gm, why, sizeof(why))) {
		fprintf(stderr, "bench: guest_mem_create: %s\n", why);
		exit(1);
	}
	struct p2m *p2m = guest_mem_p2m(bg->gm);
	for (uint64_t g = 0; g < bg->frames; g++) {
		struct p2m_leaf l;
		if (p2m_lookup(p2m, g, &l) == 0 && l.hfn >= bg->z->base_hfn)
			guest_pb[(l.hfn - bg->z->base_hfn) >> PAGEBLOCK_ORDER] = true;
	}
	size_t kept = 0;
	for (size_t k = 0; k < bg->nr_held; k++)
		if (guest_pb[bg->held[k] >> PAGEBLOCK_ORDER])
			buddy_free(b, (uint32_t)bg->held[k], 0);
		else
			bg->held[kept++] = bg->held[k];
	bg->nr_held = kept;
	free(taken);
	free(guest_pb);
	bg->hva = guest_mem_hva(bg->gm, 0, bg->bytes);
	if (!bg->hva)
		bench_die("guest_mem_hva failed");
	/* Every page different, so a page landing on another's GPA shows. */
	for (uint64_t g = 0; g < bg->frames; g++) {
		uint64_t *p = (uint64_t *)(bg->hva + g * PAGE);
		for (unsigned i = 0; i < PAGE / 8; i++)
			p[i] = (g * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)i << 40) ^ 0x5a5a;
	}
}

static void guest_destroy(struct bench_guest *bg)
{
	guest_mem_destroy(bg->gm);
	for (size_t k = 0; k < bg->nr_held; k++)
		buddy_free(&bg->z->buddy, (uint32_t)bg->held[k], 0);
	free(bg->held);
	slab_shrink_all(bg->arena);
	mm_destroy(bg->arena);
}

static double leaves_2m_percent(struct bench_guest *bg)
{
	struct p2m_counts c;
	if (p2m_count_leaves(guest_mem_p2m(bg->gm), 0, bg->frames, &c))
		bench_die("p2m_count_leaves failed");
	return 100.0 * (double)(c.leaves_2m * 512) / (double)bg->frames;
}

static void guest_hashes(struct bench_guest *bg, uint64_t *h)
{
	for (uint64_t g = 0; g < bg->frames; g++)
		h[g] = XXH3_64bits(bg->hva + g * PAGE, PAGE);
}

static double gib_s(uint64_t bytes, uint64_t ns)
{
	return (double)bytes / (double)(1ull << 30) / ((double)ns / 1e9);
}

/* The host's memcpy over buffers bigger than any cache, best of three. */
static double memcpy_gib_s(void)
{
	size_t len = MEMCPY_MIB * MIB;
	uint8_t *a = malloc(len), *b = malloc(len);
	uint64_t best = UINT64_MAX;
	if (!a || !b)
		bench_die("out of memory");
	memset(a, 1, len);
	memset(b, 2, len);
	for (int r = 0; r < 3; r++) {
		uint64_t t0 = bench_now_ns();
		memcpy(b, a, len);
		bench_use(b);
		uint64_t ns = bench_now_ns() - t0;
		best = ns < best ? ns : best;
	}
	free(a);
	free(b);
	return gib_s(len, best);
}

struct view_figures {
	double touch_gib_s;   /* first touch: one read per 4 KiB page of unmapped PTEs */
	double read_gib_s;    /* reading every word, page tables in place */
};

/* The guest's view as a vCPU's accesses reach it through the host's page
 * tables: dropped (MADV_DONTNEED keeps a shared mapping's data), touched
 * once per page, then read whole; best of two. */
static struct view_figures view_figures(struct bench_guest *bg)
{
	struct view_figures v = { 0 };
	volatile uint64_t sink = 0;

	for (int r = 0; r < 2; r++) {
		if (madvise(bg->hva, bg->bytes, MADV_DONTNEED))
			bench_die("madvise(MADV_DONTNEED) failed");
		uint64_t t0 = bench_now_ns(), s = 0;
		for (uint64_t off = 0; off < bg->bytes; off += PAGE)
			s += bg->hva[off];
		uint64_t t1 = bench_now_ns();
		const uint64_t *p = (const uint64_t *)bg->hva;
		for (uint64_t i = 0; i < bg->bytes / 8; i++)
			s += p[i];
		uint64_t t2 = bench_now_ns();
		sink += s;
		double touch = gib_s(bg->bytes, t1 - t0), read = gib_s(bg->bytes, t2 - t1);
		v.touch_gib_s = touch > v.touch_gib_s ? touch : v.touch_gib_s;
		v.read_gib_s = read > v.read_gib_s ? read : v.read_gib_s;
	}
	(void)sink;
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Has the kernel's free memory been touched once: on a host that has run for
 * a while it has, but a fresh virtual machine (as CI machines are) pays its
 * hypervisor a fault for the first touch of each of its own pages, which
 * would show here as the mover's cost when it is the machine's. Pages
 * populated and unmapped go back to the free lists the zone's file then
 * takes its pages from; done just before the run, since such a machine may
 * give its free pages back to its hypervisor within seconds.
 */
static bool host_warm(uint64_t mib)
{
	size_t len = (size_t)(mib * 4) * MIB;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED)
		return false;
	/* Huge pages where the kernel has them: the blocks the zone's huge
	 * pages will be taken from get touched too. */
	madvise(p, len, MADV_HUGEPAGE);
	bool ok = madvise(p, len, MADV_POPULATE_WRITE) == 0;
	munmap(p, len);
	return ok;
}

/* One full compaction with no budget: rate, leaves, the view, hashes. With
 * cold, the host is not warmed first and only the rate is reported, as
 * impl memvisor-cold-host: what a fresh virtual machine measures. */
static void full_run(uint64_t mib, double memcpy_rate, bool cold)
{
	struct bench_guest bg;
	struct guest_compact_result res;

	guest_build(&bg, mib);
	uint64_t *h0 = malloc(bg.frames * sizeof(uint64_t));
	uint64_t *h1 = malloc(bg.frames * sizeof(uint64_t));
	if (!h0 || !h1)
		bench_die("out of memory");
	guest_hashes(&bg, h0);
	double leaves0 = leaves_2m_percent(&bg);
	struct guest_mem_region reg;
	guest_mem_region(bg.gm, 0, &reg);
	uint64_t maps0 = reg.nr_mappings;
	struct view_figures v0 = view_figures(&bg);

	bool warm = !cold && host_warm(mib);
	int rc = guest_mem_compact(bg.gm, MM_COMPACT_FULL, MM_COMPACT_NO_BUDGET, NULL, &res);
	if (rc) {
		fprintf(stderr, "bench: guest_mem_compact: %s\n", strerror(-rc));
		exit(1);
	}
	double leaves1 = leaves_2m_percent(&bg);
	guest_mem_region(bg.gm, 0, &reg);
	struct view_figures v1 = view_figures(&bg);
	guest_hashes(&bg, h1);
	uint64_t bad = 0;
	for (uint64_t g = 0; g < bg.frames; g++)
		bad += h0[g] != h1[g];

	bench_json("compact_move_rate", cold ? IMPL "-cold-host" : IMPL,
		   ", \"guest_mib\": %lu, \"gib_s\": %.2f, \"memcpy_gib_s\": %.2f"
		   ", \"copied_mib\": %lu, \"ms\": %.1f, \"moved_pages\": %lu, \"steered_ranges\": %lu"
		   ", \"promoted_ranges\": %lu, \"split_blocks\": %lu, \"failed\": %lu, \"passes\": %lu"
		   ", \"host_warm\": %s",
		   (unsigned long)mib, gib_s(res.bytes_copied, res.ns), memcpy_rate,
		   (unsigned long)(res.bytes_copied >> 20), (double)res.ns / 1e6,
		   (unsigned long)res.moved, (unsigned long)res.steered_ranges,
		   (unsigned long)res.promoted_ranges, (unsigned long)res.split_blocks,
		   (unsigned long)res.failed, (unsigned long)res.passes, warm ? "true" : "false");
	if (cold && bad + res.hash_mismatches)
		bench_die("compaction on a cold host changed guest pages");
	if (cold)
		goto out;
	bench_json("compact_leaves", IMPL,
		   ", \"guest_mib\": %lu, \"before_percent\": %.1f, \"after_percent\": %.1f"
		   ", \"mappings_before\": %lu, \"mappings_after\": %lu",
		   (unsigned long)mib, leaves0, leaves1, (unsigned long)maps0,
		   (unsigned long)reg.nr_mappings);
	bench_json("compact_guest_view", IMPL,
		   ", \"guest_mib\": %lu, \"touch_gib_s_before\": %.2f, \"touch_gib_s_after\": %.2f"
		   ", \"touch_ratio\": %.2f, \"read_gib_s_before\": %.2f, \"read_gib_s_after\": %.2f"
		   ", \"read_ratio\": %.2f, \"backing\": \"%s\"",
		   (unsigned long)mib, v0.touch_gib_s, v1.touch_gib_s, v1.touch_gib_s / v0.touch_gib_s,
		   v0.read_gib_s, v1.read_gib_s, v1.read_gib_s / v0.read_gib_s,
		   mm_zone_backing(bg.z));
	bench_json("compact_hash", IMPL,
		   ", \"guest_mib\": %lu, \"mover_mismatches\": %lu, \"pages_changed\": %lu"
		   ", \"mismatches\": %lu",
		   (unsigned long)mib, (unsigned long)res.hash_mismatches, (unsigned long)bad,
		   (unsigned long)(res.hash_mismatches + bad));
out:
	free(h0);
	free(h1);
	guest_destroy(&bg);
}

/* Calls with a small budget on a fresh guest until one does nothing. */
static void pause_run(uint64_t mib)
{
	struct bench_guest bg;
	struct guest_compact_result res;
	uint64_t *ns = malloc(PAUSE_MAX_CALLS * sizeof(uint64_t)), copied = 0, total = 0;
	unsigned calls = 0;

	if (!ns)
		bench_die("out of memory");
	guest_build(&bg, mib);
	while (calls < PAUSE_MAX_CALLS) {
		uint64_t t0 = bench_now_ns();
		int rc = guest_mem_compact(bg.gm, MM_COMPACT_FULL, PAUSE_BUDGET_NS, NULL, &res);
		ns[calls++] = bench_now_ns() - t0;
		if (rc)
			bench_die("guest_mem_compact failed");
		total += ns[calls - 1];
		copied += res.bytes_copied;
		if (!res.moved && !res.promoted_ranges && res.stop == MM_COMPACT_SCANNERS_MET)
			break;
	}
	double leaves = leaves_2m_percent(&bg);
	uint64_t *sorted = ns;
	qsort(sorted, calls, sizeof(uint64_t), cmp_u64);
	bench_json("compact_pause", IMPL,
		   ", \"guest_mib\": %lu, \"budget_us\": %.0f, \"calls\": %u, \"p50_us\": %.1f"
		   ", \"p99_us\": %.1f, \"max_us\": %.1f, \"total_ms\": %.1f, \"copied_mib\": %lu"
		   ", \"after_percent\": %.1f",
		   (unsigned long)mib, PAUSE_BUDGET_NS / 1e3, calls, sorted[calls / 2] / 1e3,
		   sorted[(uint64_t)calls * 99 / 100] / 1e3, sorted[calls - 1] / 1e3, total / 1e6,
		   (unsigned long)(copied >> 20), leaves);
	free(ns);
	guest_destroy(&bg);
}

int main(void)
{
	uint64_t mib = guest_mib();
	double rate = memcpy_gib_s();
	/* COMPACT_BENCH_RUN=full or pause runs one half (to profile it). */
	const char *only = getenv("COMPACT_BENCH_RUN");

	if (!only || !strcmp(only, "full")) {
		full_run(mib, rate, false);
		full_run(mib, rate, true);
	}
	if (!only || !strcmp(only, "pause"))
		pause_run(mib);
	return 0;
}

/*
 * memvisor's side of the benchmarks. Once per slab policy (an arena each,
 * created with that mm_arena_config.slab_policy; SLUB also without sheaves
 * for the slab_alloc rows): slab alloc+free pairs, kmalloc mixed sizes (the
 * same loops peer.c runs on malloc), producer-consumer remote frees, thread
 * start-up, metadata per live 64-byte object, and fragmentation after
 * freeing 90 % of a million objects. Then, on a SLUB arena: buddy frame
 * pairs through the per-thread cache, kvmalloc 1 MiB contiguous against the
 * scattered fallback, buddy metadata, the I1 check's hold and the host's
 * first touch. One JSON line per figure, each slab row with its "policy".
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include "bench.h"
#include "mm/arena.h"
#include "mm/kmalloc.h"
#include "mm/mm.h"
#include "mm/slab.h"
#include "mm/slab/slab_internal.h"

#define IMPL "memvisor"
#define ARENA_MIB 256
/* kvmalloc pairs per repetition: the scattered path makes system calls. */
#define KV_CONTIG_PAIRS 200000u
#define KV_SCATTERED_PAIRS 2000u
#define KV_SIZE (1u << 20)

static void *batch[BENCH_BATCH];
static uint32_t mixed[BENCH_MIXED_TABLE];
static struct mm_arena *arena;
/* ", \"policy\": \"slub\"": the variant the rows being printed ran on. */
static char policy_field[64];
/* ", \"debug\": \"FZ\"": the slab debug letters in force (empty: none). */
static char debug_field[64];

struct slab_arg {
	struct slab_cache *c;
};

static uint64_t slab_single(void *argp)
{
	struct slab_cache *c = ((struct slab_arg *)argp)->c;
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < BENCH_SINGLE_PAIRS; i++) {
		void *p = slab_alloc(c);
		bench_use(p);
		slab_free(c, p);
	}
	return bench_now_ns() - t0;
}

static uint64_t slab_batch(void *argp)
{
	struct slab_cache *c = ((struct slab_arg *)argp)->c;
	uint64_t t0 = bench_now_ns();
	for (unsigned r = 0; r < BENCH_BATCH_ROUNDS; r++) {
		for (unsigned i = 0; i < BENCH_BATCH; i++) {
			batch[i] = slab_alloc(c);
			bench_use(batch[i]);
		}
		for (unsigned i = 0; i < BENCH_BATCH; i++)
			slab_free(c, batch[i]);
	}
	return bench_now_ns() - t0;
}

static uint64_t kmalloc_single(void *argp)
{
	(void)argp;
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < BENCH_SINGLE_PAIRS; i++) {
		void *p = kmalloc(arena, mixed[i % BENCH_MIXED_TABLE]);
		bench_use(p);
		kfree(arena, p);
	}
	return bench_now_ns() - t0;
}

static uint64_t kmalloc_batch(void *argp)
{
	(void)argp;
	uint64_t t0 = bench_now_ns();
	for (unsigned r = 0; r < BENCH_BATCH_ROUNDS; r++) {
		unsigned base = r * BENCH_BATCH;
		for (unsigned i = 0; i < BENCH_BATCH; i++) {
			batch[i] = kmalloc(arena, mixed[(base + i) % BENCH_MIXED_TABLE]);
			bench_use(batch[i]);
		}
		for (unsigned i = 0; i < BENCH_BATCH; i++)
			kfree(arena, batch[i]);
	}
	return bench_now_ns() - t0;
}

/* The threaded loops of bench.h call these: a cache's objects (the size is
 * the cache's) or kmalloc's, from the arena the rows run on. */
static void *ops_slab_alloc(void *ctx, size_t size)
{
	(void)size;
	return slab_alloc(ctx);
}

static void ops_slab_free(void *ctx, void *p)
{
	slab_free(ctx, p);
}

static void *ops_kmalloc(void *ctx, size_t size)
{
	return kmalloc(ctx, size);
}

static void ops_kfree(void *ctx, void *p)
{
	kfree(ctx, p);
}

struct buddy_arg {
	struct mm_zone *z;
	unsigned order;
};

static uint64_t buddy_pairs(void *argp)
{
	struct buddy_arg *b = argp;
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < BENCH_SINGLE_PAIRS; i++) {
		long idx = mm_frames_alloc(b->z, b->order, MT_UNMOVABLE, FRAME_VMM, false);
		if (idx < 0)
			bench_die("mm_frames_alloc failed");
		__asm__ volatile("" : : "r"(idx) : "memory");
		mm_frames_free(b->z, (uint32_t)idx, b->order);
	}
	return bench_now_ns() - t0;
}

struct kv_arg {
	unsigned flags;
	unsigned pairs;
};

/* The memory is not touched: this is the cost of getting and giving back
 * 1 MiB of address space with frames behind it, not of faulting it in. */
static uint64_t kv_pairs(void *argp)
{
	struct kv_arg *k = argp;
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < k->pairs; i++) {
		void *p = kvmalloc_flags(arena, KV_SIZE, k->flags);
		if (!p)
			bench_die("kvmalloc_flags(1 MiB) failed");
		__asm__ volatile("" : : "r"(p) : "memory");
		kvfree(arena, p);
	}
	return bench_now_ns() - t0;
}

static struct slab_cache *bench_cache(const char *name, size_t size, unsigned flags)
{
	struct slab_cache_params p = { .size = size, .flags = SLAB_F_NO_MERGE | flags, .order = -1,
				       .zone = ZONE_NORMAL };
	struct slab_cache *c = slab_cache_create(arena, name, &p);
	if (!c) {
		fprintf(stderr, "bench: slab_cache_create(%s): %s\n", name, strerror(errno));
		exit(1);
	}
	struct slab_cache_info info;
	slab_cache_get_info(c, &info);
	static const char letters[] = "FZPU";
	char dbg[8] = "";
	for (unsigned i = 0, n = 0; i < 4; i++)
		if (info.flags & (1u << i))
			dbg[n++] = letters[i];
	snprintf(debug_field, sizeof(debug_field), ", \"debug\": \"%s\"", dbg);
	return c;
}

/* The JSON field naming the variant the next rows run on. */
static void set_variant(const char *variant)
{
	snprintf(policy_field, sizeof(policy_field), ", \"policy\": \"%s\"", variant);
}

/* A fresh arena of mib MiB in zone Normal whose slab runs policy. */
static struct mm_arena *policy_arena(int policy, size_t mib)
{
	struct mm_arena_config cfg = {
		.normal_bytes = mib << 20,
		.huge = MM_HUGE_OFF,
		.slab_policy = (enum mm_slab_policy)policy,
	};
	struct mm_arena *a;
	int rc = mm_create(&cfg, &a);
	if (rc) {
		fprintf(stderr, "bench: mm_create(%zu MiB): %s\n", mib, strerror(-rc));
		exit(1);
	}
	return a;
}

/* Every frame the arena's slab holds: its caches' slabs (none under SLOB,
 * whose caches share its pages) and SLOB's pages. Free objects the caches
 * hold in sheaves, arrays or the barn are added up in *held_objs. */
struct slab_usage {
	unsigned long pages, held_objs;
};

static void add_cache_usage(struct slab_cache *c, void *arg)
{
	struct slab_usage *u = arg;
	struct slab_cache_info info;
	slab_cache_get_info(c, &info);
	u->pages += info.num_slabs * info.pagesperslab;
	u->held_objs += info.held_objs;
}

static struct slab_usage slab_usage(struct mm_arena *a)
{
	struct slab_usage u = { 0, 0 };
	struct slob_arena_stats st;
	slab_for_each_cache(a, add_cache_usage, &u);
	if (slob_arena_stats(a, &st) == 0)
		u.pages += st.pages_held;
	return u;
}

/* Descriptor bytes each slab frame costs: its struct frame and its entry of
 * the zone's slab descriptors (touched only where slabs live). */
#define DESC_BYTES_PER_PAGE (sizeof(struct frame) + sizeof(struct slab))

/*
 * Slab metadata per live 64-byte object: what the frames the slab took for
 * them hold beyond the objects (unused tails, free objects held, the
 * descriptors of those frames), from the caches' counters or, under SLOB,
 * from the growth of the frames it holds (its caches count no slabs). The
 * RSS growth is printed beside it as a cross-check.
 */
static void slab_overhead(void)
{
	size_t n = BENCH_OVERHEAD_OBJECTS, size = BENCH_OVERHEAD_SIZE;
	struct slab_cache *c = bench_cache("bench-overhead", size, 0);
	void **objs = mmap(NULL, n * sizeof(*objs), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (objs == MAP_FAILED)
		bench_die("mmap of the pointer array failed");
	memset(objs, 0, n * sizeof(*objs));

	struct slob_arena_stats st0, st1;
	bool slob = slob_arena_stats(arena, &st0) == 0;
	long rss0 = bench_rss_bytes();
	for (size_t i = 0; i < n; i++) {
		objs[i] = slab_alloc(c);
		if (!objs[i])
			bench_die("slab_alloc failed");
		bench_use(objs[i]);
	}
	long rss1 = bench_rss_bytes();

	struct slab_cache_info info;
	slab_cache_get_info(c, &info);
	double pages = (double)info.num_slabs * info.pagesperslab;
	if (slob && slob_arena_stats(arena, &st1) == 0)
		pages = (double)st1.pages_held - (double)st0.pages_held;
	double meta = pages * PAGE_SIZE - (double)n * size + pages * DESC_BYTES_PER_PAGE;
	double per_obj = meta / (double)n;
	double rss_per_obj = ((double)(rss1 - rss0) - (double)(n * size)) / (double)n;
	bench_json("metadata_overhead", IMPL,
		   "%s%s, \"size\": %zu, \"objects\": %zu, \"method\": \"%s\""
		   ", \"pages\": %.0f, \"active_objs\": %lu, \"slabs\": %lu"
		   ", \"pages_per_slab\": %u, \"objs_per_slab\": %u"
		   ", \"desc_bytes_per_page\": %zu"
		   ", \"bytes_per_object\": %.2f, \"percent\": %.2f"
		   ", \"rss_growth_bytes\": %ld, \"rss_bytes_per_object\": %.2f",
		   policy_field, debug_field, size, n, slob ? "slob_arena_stats" : "slabinfo",
		   pages, info.active_objs, info.num_slabs, info.pagesperslab, info.objperslab,
		   DESC_BYTES_PER_PAGE, per_obj, 100.0 * per_obj / (double)size, rss1 - rss0,
		   rss_per_obj);

	for (size_t i = 0; i < n; i++)
		slab_free(c, objs[i]);
	munmap(objs, n * sizeof(*objs));
	slab_cache_destroy(c, "bench-overhead");
}

/* alloc_free_pair rows for 64 and 256 B caches created with flags. */
static void slab_pairs(unsigned flags, unsigned reps)
{
	static const size_t sizes[] = { 64, 256 };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[SLAB_NAME_MAX];
		snprintf(name, sizeof(name), "bench-%zu", sizes[i]);
		struct slab_arg arg = { .c = bench_cache(name, sizes[i], flags) };
		double ns = bench_best_n(slab_single, &arg, BENCH_SINGLE_PAIRS, reps);
		bench_json("alloc_free_pair", IMPL,
			   "%s%s, \"size\": %zu, \"pattern\": \"single\", \"ns_per_op\": %.2f"
			   ", \"ops\": %u, \"reps\": %u",
			   policy_field, debug_field, sizes[i], ns, BENCH_SINGLE_PAIRS, reps);
		ns = bench_best_n(slab_batch, &arg, (uint64_t)BENCH_BATCH * BENCH_BATCH_ROUNDS, reps);
		bench_json("alloc_free_pair", IMPL,
			   "%s%s, \"size\": %zu, \"pattern\": \"batch\", \"batch\": %u"
			   ", \"ns_per_op\": %.2f, \"ops\": %u, \"reps\": %u",
			   policy_field, debug_field, sizes[i], BENCH_BATCH, ns,
			   BENCH_BATCH * BENCH_BATCH_ROUNDS, reps);
		slab_cache_destroy(arg.c, name);
	}
}

static void kmalloc_pairs(unsigned reps)
{
	double ns = bench_best_n(kmalloc_single, NULL, BENCH_SINGLE_PAIRS, reps);
	bench_json("mixed_pair", IMPL,
		   "%s, \"api\": \"kmalloc\", \"sizes\": \"%u..%u\", \"pattern\": \"single\""
		   ", \"ns_per_op\": %.2f, \"ops\": %u, \"reps\": %u",
		   policy_field, BENCH_MIXED_MIN, BENCH_MIXED_MAX, ns, BENCH_SINGLE_PAIRS, reps);
	ns = bench_best_n(kmalloc_batch, NULL, (uint64_t)BENCH_BATCH * BENCH_BATCH_ROUNDS, reps);
	bench_json("mixed_pair", IMPL,
		   "%s, \"api\": \"kmalloc\", \"sizes\": \"%u..%u\", \"pattern\": \"batch\""
		   ", \"batch\": %u, \"ns_per_op\": %.2f, \"ops\": %u, \"reps\": %u",
		   policy_field, BENCH_MIXED_MIN, BENCH_MIXED_MAX, BENCH_BATCH, ns,
		   BENCH_BATCH * BENCH_BATCH_ROUNDS, reps);
}

/* One thread allocates from a 64 B cache created with flags, another frees. */
static void prodcons(unsigned flags, unsigned reps)
{
	struct slab_cache *c = bench_cache("bench-pc", BENCH_PC_SIZE, flags);
	struct bench_alloc_ops ops = { ops_slab_alloc, ops_slab_free, c };
	double ns = bench_best_n(bench_prodcons_rep, &ops, BENCH_PC_OBJECTS, reps);
	bench_json("producer_consumer", IMPL,
		   "%s%s, \"api\": \"slab_alloc\", \"size\": %u, \"ring\": %u, \"ns_per_object\": %.2f"
		   ", \"objects\": %u, \"reps\": %u",
		   policy_field, debug_field, BENCH_PC_SIZE, BENCH_RING_SLOTS, ns, BENCH_PC_OBJECTS,
		   reps);
	slab_cache_destroy(c, "bench-pc");
}

static void thread_startup(void)
{
	struct bench_alloc_ops ops = { ops_kmalloc, ops_kfree, arena };
	double ms = bench_thread_startup_ms(&ops, mixed);
	bench_json("thread_startup", IMPL,
		   "%s, \"api\": \"kmalloc\", \"sizes\": \"%u..%u\", \"threads\": %u"
		   ", \"objects_per_thread\": %u, \"batch\": %u, \"rounds\": %u"
		   ", \"ms_per_round\": %.3f",
		   policy_field, BENCH_MIXED_MIN, BENCH_MIXED_MAX, BENCH_TS_THREADS,
		   BENCH_TS_OBJECTS, BENCH_BATCH, BENCH_TS_ROUNDS, ms);
}

/* Zone Normal for the fragmentation run: every object at its size rounded
 * up to a power of two (no kmalloc class wastes more), plus room for the
 * slab's own and the per-thread caches. */
static size_t frag_arena_mib(const struct bench_frag *f)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < f->n; i++) {
		uint32_t s = f->sizes[i] < 16 ? 16 : f->sizes[i];
		bytes += 1ull << (64 - __builtin_clzll((uint64_t)s - 1));
	}
	return (size_t)((bytes >> 20) + 64 + 1) & ~(size_t)1;
}

/*
 * SLOB's first fit walks every partly free page of a list, and mixed sizes
 * leave a little free in each, so filling takes time quadratic in the
 * objects (85 s for a million here): it gets fewer. The pages it keeps per
 * live byte do not depend on the count, only on objects per page.
 */
#define FRAG_SLOB_OBJECTS 100000u

/*
 * A million kmalloc objects of 8..1024 bytes, a random 90 % freed, then
 * slab_shrink_all: the frames the slab still holds (caches' slabs and
 * SLOB's pages) against the bytes still live. The process's RSS growth is
 * printed beside it (zone memory freed to the buddy stays resident).
 */
static void fragmentation(int policy)
{
	struct bench_frag f;
	size_t n = bench_frag_objects();
	const char *why = n < BENCH_FRAG_OBJECTS ? "under 2 GiB available" : "";
	if (policy == MM_SLAB_SLOB && n > FRAG_SLOB_OBJECTS) {
		n = FRAG_SLOB_OBJECTS;
		why = "SLOB fills in quadratic time";
	}
	bench_frag_setup(&f, n);
	size_t mib = frag_arena_mib(&f);
	struct mm_arena *a = policy_arena(policy, mib);
	struct bench_alloc_ops ops = { ops_kmalloc, ops_kfree, a };

	long rss0 = bench_rss_bytes();
	bench_frag_run(&ops, &f);
	struct slab_usage before = slab_usage(a);
	size_t shrunk = slab_shrink_all(a);
	struct slab_usage u = slab_usage(a);
	long rss1 = bench_rss_bytes();
	double held = (double)u.pages * PAGE_SIZE;
	bench_json("fragmentation", IMPL,
		   "%s, \"api\": \"kmalloc\", \"sizes\": \"%u..%u\", \"objects\": %zu"
		   ", \"fewer_objects_because\": \"%s\", \"freed\": %zu, \"arena_mib\": %zu, \"measure\": \"slab frames after "
		   "slab_shrink_all\", \"pages_before_shrink\": %lu, \"pages_shrunk\": %zu"
		   ", \"pages\": %lu, \"held_objs\": %lu, \"held_bytes\": %.0f"
		   ", \"live_bytes\": %llu, \"held_per_live\": %.3f, \"rss_growth_bytes\": %ld"
		   ", \"alloc_ms\": %.1f, \"free_ms\": %.1f",
		   policy_field, BENCH_FRAG_MIN, BENCH_FRAG_MAX, f.n, why, f.freed, mib, before.pages,
		   shrunk, u.pages, u.held_objs, held, (unsigned long long)f.live_bytes,
		   held / (double)f.live_bytes, rss1 - rss0, f.alloc_ms, f.free_ms);
	bench_frag_finish(&ops, &f);
	mm_destroy(a);
}

/* Every slab row on an arena of this policy (SLUB's also without sheaves),
 * then fragmentation on an arena of its own. */
static void policy_rows(int policy, const char *name, unsigned reps)
{
	/* SLOB's pairs take 20 times SLUB's; three runs are enough for them. */
	if (policy == MM_SLAB_SLOB && reps > 3)
		reps = 3;
	arena = policy_arena(policy, ARENA_MIB);
	set_variant(name);
	/* First, while the arena is fresh, like the peers' overhead run. */
	slab_overhead();
	slab_pairs(0, reps);
	kmalloc_pairs(reps);
	prodcons(0, reps);
	if (bench_once_rows())
		thread_startup();
	if (policy == MM_SLAB_SLUB) {
		set_variant("slub-nosheaves");
		slab_pairs(SLAB_F_NO_SHEAVES, reps);
		prodcons(SLAB_F_NO_SHEAVES, reps);
		set_variant(name);
	}
	mm_destroy(arena);
	arena = NULL;
	if (bench_once_rows())
		fragmentation(policy);
}

static void buddy_overhead(void)
{
	/* One descriptor per frame and one migrate-type byte per pageblock. */
	double per_frame = (double)sizeof(struct frame) + 1.0 / PAGEBLOCK_FRAMES;
	bench_json("metadata_overhead", IMPL,
		   ", \"what\": \"buddy\", \"method\": \"sizeof\", \"bytes_per_frame\": %.3f"
		   ", \"percent\": %.3f",
		   per_frame, 100.0 * per_frame / PAGE_SIZE);
}

/*
 * The host side of a guest's first touch, per zone Normal backing: a view
 * of TOUCH_MIB of the zone's file mapped as guest views are (2 MiB-aligned,
 * MADV_HUGEPAGE), touched a page at a time; the same populated at once
 * (--prealloc's MADV_POPULATE_WRITE); and the physical anchor, anonymous
 * MADV_HUGEPAGE memory of the same size (what QEMU's RAM gets). A guest
 * adds KVM's second-stage faults on top (make bench's boot rows).
 */
#define TOUCH_MIB 256
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static uint8_t *map_2m_aligned(int fd, size_t len)
{
	size_t span = len + (2u << 20);
	uint8_t *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		bench_die("mmap failed");
	uint8_t *p = (uint8_t *)(((uintptr_t)r + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	int flags = fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS;
	if (mmap(p, len, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0) == MAP_FAILED)
		bench_die("mmap failed");
	madvise(p, len, MADV_HUGEPAGE);
	return p;
}

/* MiB/s of touching (populate false) or populating a fresh mapping. */
static double first_touch_mibs(int fd, bool populate)
{
	size_t len = (size_t)TOUCH_MIB << 20;
	uint8_t *p = map_2m_aligned(fd, len);
	uint64_t t0 = bench_now_ns();
	if (!populate || madvise(p, len, MADV_POPULATE_WRITE))
		for (size_t off = 0; off < len; off += PAGE_SIZE)
			p[off] = 1;
	uint64_t ns = bench_now_ns() - t0;
	munmap(p, len);
	if (fd >= 0 && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)len))
		bench_die("fallocate failed");
	return (double)TOUCH_MIB / ((double)ns / 1e9);
}

static void first_touch(unsigned reps)
{
	static const struct { enum mm_normal_backing b; const char *name; } backings[] = {
		{ MM_NORMAL_THP, "thp" }, { MM_NORMAL_4K, "4k" },
	};
	for (unsigned i = 0; i < 3; i++) {
		struct mm_arena *a = NULL;
		int fd = -1;
		const char *name = i < 2 ? backings[i].name : "host-anon-thp";
		if (i < 2) {
			struct mm_arena_config cfg = { .normal_bytes = (size_t)(TOUCH_MIB + 32) << 20,
						       .huge = MM_HUGE_OFF,
						       .normal_backing = backings[i].b };
			if (mm_create(&cfg, &a)) {
				fprintf(stderr, "bench: first touch on %s: no such arena here\n", name);
				continue;
			}
			fd = mm_zone_get(a, ZONE_NORMAL)->memfd;
		}
		double touch[16], pop[16];
		unsigned n = reps < 16 ? reps : 16;
		for (unsigned r = 0; r < n; r++) {
			touch[r] = first_touch_mibs(fd, false);
			pop[r] = first_touch_mibs(fd, true);
		}
		double best_t = 0, best_p = 0;
		for (unsigned r = 0; r < n; r++) {
			best_t = touch[r] > best_t ? touch[r] : best_t;
			best_p = pop[r] > best_p ? pop[r] : best_p;
		}
		bench_json("host_first_touch", IMPL,
			   ", \"backing\": \"%s\", \"mib\": %d, \"touch_mib_s\": %.0f"
			   ", \"populate_mib_s\": %.0f, \"reps\": %u",
			   name, TOUCH_MIB, best_t, best_p, n);
		if (a)
			mm_destroy(a);
	}
}

/* The best time of one I1 check of z, in ns. */
static uint64_t i1_check_ns(struct mm_zone *z, unsigned tries)
{
	uint64_t counts[FRAME_NR_OWNER_STATES], best = UINT64_MAX;

	for (unsigned i = 0; i < tries; i++) {
		uint64_t t0 = bench_now_ns();
		if (mm_zone_check_frames(z, counts))
			bench_die("mm_zone_check_frames failed on an idle zone");
		uint64_t t = bench_now_ns() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

/*
 * How long the I1 check holds a zone's lock, which vCPU and device threads
 * take to move frames (x-query-frames asks for it while the VM runs): one
 * walk of the zone per check when nothing moves. Measured on the zone as
 * it is, and with every other frame of it allocated (the most blocks a
 * walk can meet); per frame, so a larger guest's figure follows.
 */
static void i1_hold(unsigned reps)
{
	struct mm_zone *z = mm_zone_get(arena, ZONE_NORMAL);
	uint32_t n = z->buddy.nr_frames;
	long *held = malloc(n * sizeof(*held));
	uint32_t nr = 0;

	if (!held)
		bench_die("no memory");
	uint64_t tidy = i1_check_ns(z, 10 * reps);
	for (long f; nr < n && (f = mm_frames_alloc(z, 0, MT_MOVABLE, FRAME_GUEST, false)) >= 0;)
		held[nr++] = f;
	for (uint32_t i = 0; i < nr; i += 2)
		mm_frames_free(z, (uint32_t)held[i], 0);
	mm_pcp_drain(z);
	uint64_t checkered = i1_check_ns(z, 10 * reps);
	for (uint32_t i = 1; i < nr; i += 2)
		mm_frames_free(z, (uint32_t)held[i], 0);
	mm_pcp_drain(z);
	free(held);
	bench_json("i1_check_hold", IMPL,
		   ", \"zone_frames\": %u, \"us\": %.1f, \"checkered_us\": %.1f"
		   ", \"checkered_ns_per_frame\": %.2f, \"reps\": %u",
		   n, tidy / 1e3, checkered / 1e3, (double)checkered / n, 10 * reps);
}

int main(void)
{
	static const char *const policies[] = { "slub", "slab", "slob" };
	unsigned reps = bench_reps();

	bench_mixed_sizes(mixed);
	for (unsigned i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		int p = slab_policy_parse(policies[i]);
		if (p < 0) {
			fprintf(stderr, "bench: slab policy %s is not built in; its rows are skipped\n",
				policies[i]);
			continue;
		}
		policy_rows(p, policies[i], reps);
	}

	/* The buddy's rows do not depend on the slab; SLUB is the default. */
	arena = policy_arena(MM_SLAB_SLUB, ARENA_MIB);
	struct mm_zone *z = mm_zone_get(arena, ZONE_NORMAL);
	buddy_overhead();

	double ns;
	static const unsigned orders[] = { 0, 9 };
	for (unsigned i = 0; i < 2; i++) {
		struct buddy_arg b = { .z = z, .order = orders[i] };
		ns = bench_best(buddy_pairs, &b, BENCH_SINGLE_PAIRS);
		bench_json("buddy_pair", IMPL,
			   ", \"zone\": \"Normal\", \"order\": %u, \"path\": \"%s\""
			   ", \"ns_per_op\": %.2f, \"ops\": %u, \"reps\": %u",
			   orders[i], orders[i] <= PCP_MAX_ORDER ? "per-thread cache" : "buddy",
			   ns, BENCH_SINGLE_PAIRS, reps);
	}
	mm_pcp_drain(z);

	struct kv_arg kv[] = {
		{ .flags = 0, .pairs = KV_CONTIG_PAIRS },
		{ .flags = KV_NO_CONTIG, .pairs = KV_SCATTERED_PAIRS },
	};
	for (unsigned i = 0; i < 2; i++) {
		/* Say which path really served it, in case contiguous fell back. */
		void *probe = kvmalloc_flags(arena, KV_SIZE, kv[i].flags);
		if (!probe)
			bench_die("kvmalloc_flags(1 MiB) failed");
		const char *kind = kvmalloc_kind(arena, probe);
		kvfree(arena, probe);
		ns = bench_best(kv_pairs, &kv[i], kv[i].pairs);
		bench_json("kvmalloc_pair", IMPL,
			   ", \"size\": %u, \"flags\": \"%s\", \"path\": \"%s\", \"touched\": false"
			   ", \"ns_per_op\": %.2f, \"ops\": %u, \"reps\": %u",
			   KV_SIZE, kv[i].flags & KV_NO_CONTIG ? "KV_NO_CONTIG" : "0",
			   kind ? kind : "unknown", ns, kv[i].pairs, reps);
	}

	i1_hold(reps);
	mm_destroy(arena);
	/* At most three: touching 4 KiB pages runs at 300 MiB/s, and run.sh
	 * repeats the whole binary anyway. */
	first_touch(reps < 3 ? reps : 3);
	return 0;
}

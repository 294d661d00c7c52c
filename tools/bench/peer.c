/*
 * The peers' side of the allocator benchmarks: the same loops as memvisor's
 * slab and kmalloc benchmarks, on plain malloc/free: pairs, producer-consumer
 * (one thread mallocs, another frees), thread start-up, metadata per live
 * 64-byte object and fragmentation (RSS after freeing 90 % of a million
 * objects and asking the malloc to give memory back). Built once per malloc
 * (glibc, jemalloc, mimalloc, tcmalloc) by linking the library that replaces
 * malloc; PEER_NAME names the build and PEER_LIB is the shared object that
 * must define malloc, checked at start so a link-order mistake cannot pass
 * glibc off as a peer.
 */
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdbool.h>
#include <sys/mman.h>
#include "bench.h"

#ifndef PEER_NAME
#error "build with -DPEER_NAME=\"glibc\" (or jemalloc, mimalloc, tcmalloc)"
#endif
#ifndef PEER_LIB
#error "build with -DPEER_LIB=\"libc.so\" (the object that must define malloc)"
#endif

static void *batch[BENCH_BATCH];
/* ", \"version\": ..., \"lib\": ..." for every JSON line of this binary. */
static char ident[160];
static uint32_t mixed[BENCH_MIXED_TABLE];

struct fixed_arg {
	size_t size;
};

static uint64_t pair_single(void *argp)
{
	size_t size = ((struct fixed_arg *)argp)->size;
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < BENCH_SINGLE_PAIRS; i++) {
		void *p = malloc(size);
		bench_use(p);
		free(p);
	}
	return bench_now_ns() - t0;
}

static uint64_t pair_batch(void *argp)
{
	size_t size = ((struct fixed_arg *)argp)->size;
	uint64_t t0 = bench_now_ns();
	for (unsigned r = 0; r < BENCH_BATCH_ROUNDS; r++) {
		for (unsigned i = 0; i < BENCH_BATCH; i++) {
			batch[i] = malloc(size);
			bench_use(batch[i]);
		}
		for (unsigned i = 0; i < BENCH_BATCH; i++)
			free(batch[i]);
	}
	return bench_now_ns() - t0;
}

static uint64_t mixed_single(void *argp)
{
	(void)argp;
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < BENCH_SINGLE_PAIRS; i++) {
		void *p = malloc(mixed[i % BENCH_MIXED_TABLE]);
		bench_use(p);
		free(p);
	}
	return bench_now_ns() - t0;
}

static uint64_t mixed_batch(void *argp)
{
	(void)argp;
	uint64_t t0 = bench_now_ns();
	for (unsigned r = 0; r < BENCH_BATCH_ROUNDS; r++) {
		unsigned base = r * BENCH_BATCH;
		for (unsigned i = 0; i < BENCH_BATCH; i++) {
			batch[i] = malloc(mixed[(base + i) % BENCH_MIXED_TABLE]);
			bench_use(batch[i]);
		}
		for (unsigned i = 0; i < BENCH_BATCH; i++)
			free(batch[i]);
	}
	return bench_now_ns() - t0;
}

static void *ops_malloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void ops_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static const struct bench_alloc_ops malloc_ops = { ops_malloc, ops_free, NULL };

/* The library that defines the malloc this binary calls, and its version. */
static void identify(const char **lib, char *version, size_t len)
{
	Dl_info info;
	void *fn = (void *)malloc;

	if (!dladdr(fn, &info) || !info.dli_fname)
		bench_die("cannot tell which library defines malloc");
	*lib = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
	if (!strstr(*lib, PEER_LIB)) {
		fprintf(stderr, "bench: peer-%s: malloc comes from %s, not %s (link order?)\n",
			PEER_NAME, *lib, PEER_LIB);
		exit(1);
	}

	snprintf(version, len, "unknown");
	int (*je_mallctl)(const char *, void *, size_t *, void *, size_t) =
		(int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
	int (*mi_version)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "mi_version");
	const char *(*tc_version)(int *, int *, const char **) =
		(const char *(*)(int *, int *, const char **))dlsym(RTLD_DEFAULT, "tc_version");

	if (je_mallctl) {
		const char *v = NULL;
		size_t sz = sizeof(v);
		if (je_mallctl("version", &v, &sz, NULL, 0) == 0 && v)
			snprintf(version, len, "%.*s", (int)strcspn(v, "-"), v);
	} else if (mi_version) {
		int v = mi_version();
		snprintf(version, len, "%d.%d.%d", v / 100, v / 10 % 10, v % 10);
	} else if (tc_version) {
		int major = 0, minor = 0;
		const char *patch = NULL;
		tc_version(&major, &minor, &patch);
		snprintf(version, len, "%d.%d%s", major, minor, patch ? patch : "");
	} else {
		snprintf(version, len, "%s", gnu_get_libc_version());
	}
}

/*
 * Bytes each live 64-byte object costs beyond its 64 bytes: RSS growth over
 * a million live objects, minus what they hold. The pointer array comes from
 * mmap and is touched before the baseline, so it is not counted.
 */
static void overhead(void)
{
	size_t n = BENCH_OVERHEAD_OBJECTS, size = BENCH_OVERHEAD_SIZE;
	void **objs = mmap(NULL, n * sizeof(*objs), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (objs == MAP_FAILED)
		bench_die("mmap of the pointer array failed");
	memset(objs, 0, n * sizeof(*objs));
	free(malloc(size));  /* the allocator's own start-up is not per object */

	long rss0 = bench_rss_bytes();
	for (size_t i = 0; i < n; i++) {
		objs[i] = malloc(size);
		if (!objs[i])
			bench_die("malloc failed");
		bench_use(objs[i]);
	}
	long rss1 = bench_rss_bytes();
	for (size_t i = 0; i < n; i++)
		free(objs[i]);
	munmap(objs, n * sizeof(*objs));

	double per_obj = ((double)(rss1 - rss0) - (double)(n * size)) / (double)n;
	bench_json("metadata_overhead", PEER_NAME,
		   "%s, \"size\": %zu, \"objects\": %zu, \"method\": \"rss\""
		   ", \"rss_growth_bytes\": %ld, \"bytes_per_object\": %.2f, \"percent\": %.2f",
		   ident, size, n, rss1 - rss0, per_obj, 100.0 * per_obj / (double)size);
}

static void prodcons(unsigned reps)
{
	double ns = bench_best(bench_prodcons_rep, (void *)&malloc_ops, BENCH_PC_OBJECTS);
	bench_json("producer_consumer", PEER_NAME,
		   "%s, \"size\": %u, \"ring\": %u, \"ns_per_object\": %.2f"
		   ", \"objects\": %u, \"reps\": %u",
		   ident, BENCH_PC_SIZE, BENCH_RING_SLOTS, ns, BENCH_PC_OBJECTS, reps);
}

static void thread_startup(void)
{
	double ms = bench_thread_startup_ms(&malloc_ops, mixed);
	bench_json("thread_startup", PEER_NAME,
		   "%s, \"sizes\": \"%u..%u\", \"threads\": %u, \"objects_per_thread\": %u"
		   ", \"batch\": %u, \"rounds\": %u, \"ms_per_round\": %.3f",
		   ident, BENCH_MIXED_MIN, BENCH_MIXED_MAX, BENCH_TS_THREADS, BENCH_TS_OBJECTS,
		   BENCH_BATCH, BENCH_TS_ROUNDS, ms);
}

/*
 * Asks this binary's malloc to give free memory back to the system, as
 * memvisor's row calls slab_shrink_all; returns what was called ("none"
 * when the library has no such call here).
 */
static const char *release_memory(void)
{
	int (*je_mallctl)(const char *, void *, size_t *, void *, size_t) =
		(int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
	void (*mi_collect)(bool) = (void (*)(bool))dlsym(RTLD_DEFAULT, "mi_collect");
	void (*tc_release)(void) = (void (*)(void))dlsym(RTLD_DEFAULT,
							 "MallocExtension_ReleaseFreeMemory");

	if (!strcmp(PEER_NAME, "glibc")) {
		malloc_trim(0);
		return "malloc_trim(0)";
	}
	/* 4096 is MALLCTL_ARENAS_ALL: every arena's dirty and muzzy pages. */
	if (je_mallctl && je_mallctl("arena.4096.purge", NULL, NULL, NULL, 0) == 0)
		return "mallctl(arena.4096.purge)";
	if (mi_collect) {
		mi_collect(true);
		return "mi_collect(true)";
	}
	if (tc_release) {
		tc_release();
		return "MallocExtension_ReleaseFreeMemory()";
	}
	return "none";
}

/*
 * Fragmentation: a million objects of 8..1024 bytes, a random 90 % freed in
 * a fixed order, the malloc asked to give memory back; the RSS growth over
 * the start is what it still holds, set against the bytes still live.
 */
static void fragmentation(void)
{
	struct bench_frag f;
	size_t n = bench_frag_objects();
	bench_frag_setup(&f, n);
	long rss0 = bench_rss_bytes();
	bench_frag_run(&malloc_ops, &f);
	long rss_freed = bench_rss_bytes();
	const char *release = release_memory();
	long rss1 = bench_rss_bytes();
	double held = (double)(rss1 - rss0);
	bench_json("fragmentation", PEER_NAME,
		   "%s, \"sizes\": \"%u..%u\", \"objects\": %zu, \"fewer_objects_because\": \"%s\""
		   ", \"freed\": %zu, \"measure\": \"rss growth after %s\", \"release\": \"%s\""
		   ", \"rss_growth_before_release_bytes\": %ld, \"held_bytes\": %.0f"
		   ", \"live_bytes\": %llu, \"held_per_live\": %.3f"
		   ", \"alloc_ms\": %.1f, \"free_ms\": %.1f",
		   ident, BENCH_FRAG_MIN, BENCH_FRAG_MAX, f.n,
		   n < BENCH_FRAG_OBJECTS ? "under 2 GiB available" : "", f.freed, release, release,
		   rss_freed - rss0, held, (unsigned long long)f.live_bytes,
		   held / (double)f.live_bytes, f.alloc_ms, f.free_ms);
	bench_frag_finish(&malloc_ops, &f);
}

int main(void)
{
	const char *lib;
	char version[64];
	static const size_t sizes[] = { 64, 256 };
	unsigned reps = bench_reps();

	identify(&lib, version, sizeof(version));
	snprintf(ident, sizeof(ident), ", \"version\": \"%s\", \"lib\": \"%s\"", version, lib);
	/* First, while the heap is fresh: later loops would leave memory cached. */
	overhead();

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct fixed_arg arg = { .size = sizes[i] };
		double ns = bench_best(pair_single, &arg, BENCH_SINGLE_PAIRS);
		bench_json("alloc_free_pair", PEER_NAME,
			   "%s, \"size\": %zu, \"pattern\": \"single\""
			   ", \"ns_per_op\": %.2f, \"ops\": %u, \"reps\": %u",
			   ident, sizes[i], ns, BENCH_SINGLE_PAIRS, reps);
		ns = bench_best(pair_batch, &arg, (uint64_t)BENCH_BATCH * BENCH_BATCH_ROUNDS);
		bench_json("alloc_free_pair", PEER_NAME,
			   "%s, \"size\": %zu, \"pattern\": \"batch\", \"batch\": %u"
			   ", \"ns_per_op\": %.2f, \"ops\": %u, \"reps\": %u",
			   ident, sizes[i], BENCH_BATCH, ns, BENCH_BATCH * BENCH_BATCH_ROUNDS, reps);
	}

	bench_mixed_sizes(mixed);
	double ns = bench_best(mixed_single, NULL, BENCH_SINGLE_PAIRS);
	bench_json("mixed_pair", PEER_NAME,
		   "%s, \"sizes\": \"%u..%u\", \"pattern\": \"single\""
		   ", \"ns_per_op\": %.2f, \"ops\": %u, \"reps\": %u",
		   ident, BENCH_MIXED_MIN, BENCH_MIXED_MAX, ns, BENCH_SINGLE_PAIRS, reps);
	ns = bench_best(mixed_batch, NULL, (uint64_t)BENCH_BATCH * BENCH_BATCH_ROUNDS);
	bench_json("mixed_pair", PEER_NAME,
		   "%s, \"sizes\": \"%u..%u\", \"pattern\": \"batch\", \"batch\": %u"
		   ", \"ns_per_op\": %.2f, \"ops\": %u, \"reps\": %u",
		   ident, BENCH_MIXED_MIN, BENCH_MIXED_MAX, BENCH_BATCH, ns,
		   BENCH_BATCH * BENCH_BATCH_ROUNDS, reps);

	prodcons(reps);
	if (bench_once_rows()) {
		thread_startup();
		/* Last: it leaves the heap as fragmented as it measured it. */
		fragmentation();
	}
	return 0;
}

/*
 * The peers' side of the allocator benchmarks: the same loops as memvisor's
 * slab and kmalloc benchmarks, on plain malloc/free. Built once per malloc
 * (glibc, jemalloc, mimalloc, tcmalloc) by linking the library that replaces
 * malloc; PEER_NAME names the build and PEER_LIB is the shared object that
 * must define malloc, checked at start so a link-order mistake cannot pass
 * glibc off as a peer.
 */
#include <dlfcn.h>
#include <gnu/libc-version.h>
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
	return 0;
}

/*
 * What every benchmark binary shares: the clock, best-of-N timing, the
 * fixed-seed size table for the mixed-size runs, the barrier that keeps the
 * compiler from removing allocations, and the JSON line printer.
 *
 * The memvisor binary and the peer binaries (one source, one binary per
 * malloc) include this, so both sides run the same loops on the same sizes.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Pairs per timed repetition of the "single" pattern, and the batch shape. */
#define BENCH_SINGLE_PAIRS 2000000u
#define BENCH_BATCH 1000u
#define BENCH_BATCH_ROUNDS 1000u
/* Mixed sizes: a table of this many sizes in [8, 8192], the same everywhere. */
#define BENCH_MIXED_TABLE 4096u
#define BENCH_MIXED_MIN 8u
#define BENCH_MIXED_MAX 8192u
#define BENCH_MIXED_SEED 0x6d656d7669736f72ull  /* "memvisor" */
/* Metadata overhead: objects allocated and kept alive at once. */
#define BENCH_OVERHEAD_OBJECTS 1000000u
#define BENCH_OVERHEAD_SIZE 64u

/*
 * The object escapes into an empty asm that claims to read memory, so the
 * store before it and the allocation behind it must both happen.
 */
static inline void bench_use(void *p)
{
	*(volatile unsigned char *)p = 1;
	__asm__ volatile("" : : "r"(p) : "memory");
}

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Repetitions to take the minimum of: BENCH_REPS from the environment, else 7. */
static inline unsigned bench_reps(void)
{
	const char *s = getenv("BENCH_REPS");
	long n = s ? strtol(s, NULL, 10) : 0;
	return n > 0 && n < 1000 ? (unsigned)n : 7u;
}

/*
 * Runs fn reps times; each call performs ops operations and returns the
 * nanoseconds it took. The minimum is the figure least disturbed by the rest
 * of the machine. Returns ns per operation.
 */
static inline double bench_best(uint64_t (*fn)(void *arg), void *arg, uint64_t ops)
{
	unsigned reps = bench_reps();
	uint64_t best = UINT64_MAX;
	for (unsigned r = 0; r < reps; r++) {
		uint64_t t = fn(arg);
		if (t < best)
			best = t;
	}
	return (double)best / (double)ops;
}

/* splitmix64: a fixed seed gives the same size table in every binary. */
static inline uint64_t bench_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void bench_mixed_sizes(uint32_t sizes[BENCH_MIXED_TABLE])
{
	uint64_t st = BENCH_MIXED_SEED;
	uint32_t span = BENCH_MIXED_MAX - BENCH_MIXED_MIN + 1;
	for (unsigned i = 0; i < BENCH_MIXED_TABLE; i++)
		sizes[i] = BENCH_MIXED_MIN + (uint32_t)(bench_splitmix64(&st) % span);
}

/* Resident set size of this process in bytes (/proc/self/statm). */
static inline long bench_rss_bytes(void)
{
	long pages_total = 0, pages_resident = -1;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2)
		pages_resident = -1;
	fclose(f);
	return pages_resident < 0 ? -1 : pages_resident * sysconf(_SC_PAGESIZE);
}

/*
 * One JSON object per line on stdout. The caller passes the fields after
 * "bench" and "impl" as a preformatted, comma-led fragment (", \"size\": 64").
 */
__attribute__((format(printf, 3, 4)))
static inline void bench_json(const char *bench, const char *impl, const char *fmt, ...)
{
	va_list ap;
	printf("{\"bench\": \"%s\", \"impl\": \"%s\"", bench, impl);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("}\n");
	fflush(stdout);
}

static inline void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s\n", what);
	exit(1);
}

#endif

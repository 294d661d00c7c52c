/*
 * What every benchmark binary shares: the clock, best-of-N timing, the
 * fixed-seed size tables for the mixed-size runs, the barrier that keeps the
 * compiler from removing allocations, the JSON line printer, and the loops
 * that take threads: the producer-consumer ring (one thread allocates, the
 * other frees), the thread start-up rounds, and the fragmentation run's
 * object count and free order.
 *
 * The memvisor binary and the peer binaries (one source, one binary per
 * malloc) include this, so both sides run the same loops on the same sizes;
 * the threaded loops call the allocator through struct bench_alloc_ops.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
/* Producer-consumer: 64-byte objects passed through a ring of this many. */
#define BENCH_PC_OBJECTS 500000u
#define BENCH_PC_SIZE 64u
#define BENCH_RING_SLOTS 1024u  /* a power of two */
/* Thread start-up: threads per round, each allocating and freeing this many
 * mixed-size objects in batches of BENCH_BATCH, then exiting; rounds timed. */
#define BENCH_TS_THREADS 8u
#define BENCH_TS_OBJECTS 10000u
#define BENCH_TS_ROUNDS 20u
/* Fragmentation: objects of sizes in [8, 1024] (memory: ~520 MiB live at
 * once for a million), then a random 90 % freed in a fixed order. */
#define BENCH_FRAG_OBJECTS 1000000u
#define BENCH_FRAG_SMALL 500000u
#define BENCH_FRAG_MIN 8u
#define BENCH_FRAG_MAX 1024u
#define BENCH_FRAG_FREE_PERCENT 90u

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
static inline double bench_best_n(uint64_t (*fn)(void *arg), void *arg, uint64_t ops,
				  unsigned reps)
{
	uint64_t best = UINT64_MAX;
	for (unsigned r = 0; r < reps; r++) {
		uint64_t t = fn(arg);
		if (t < best)
			best = t;
	}
	return (double)best / (double)ops;
}

static inline double bench_best(uint64_t (*fn)(void *arg), void *arg, uint64_t ops)
{
	return bench_best_n(fn, arg, ops, bench_reps());
}

/*
 * Whether to run the rows that run.sh wants once, not once per round:
 * fragmentation (its figures are sizes, not times) and thread start-up
 * (already the mean of BENCH_TS_ROUNDS rounds, a quarter of a second each
 * under glibc and jemalloc). BENCH_ONCE=0 skips them.
 */
static inline int bench_once_rows(void)
{
	const char *s = getenv("BENCH_ONCE");
	return !s || strcmp(s, "0") != 0;
}

/* splitmix64: a fixed seed gives the same size table in every binary. */
static inline uint64_t bench_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* n sizes in [min, max], the same sequence for the same arguments. */
static inline void bench_sizes(uint32_t *sizes, size_t n, uint32_t min, uint32_t max)
{
	uint64_t st = BENCH_MIXED_SEED;
	uint32_t span = max - min + 1;
	for (size_t i = 0; i < n; i++)
		sizes[i] = min + (uint32_t)(bench_splitmix64(&st) % span);
}

static inline void bench_mixed_sizes(uint32_t sizes[BENCH_MIXED_TABLE])
{
	bench_sizes(sizes, BENCH_MIXED_TABLE, BENCH_MIXED_MIN, BENCH_MIXED_MAX);
}

/*
 * The fragmentation run's object count: a million, or half that when the
 * machine has under 2 GiB available (the caller says so in its JSON).
 */
static inline size_t bench_frag_objects(void)
{
	long avail = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	if (avail > 0 && page > 0 && (double)avail * (double)page < 2.0 * (1u << 30))
		return BENCH_FRAG_SMALL;
	return BENCH_FRAG_OBJECTS;
}

/* A fixed-seed permutation of 0..n-1 (Fisher-Yates): the order objects are
 * freed in, the same in every binary. */
static inline void bench_shuffle(uint32_t *idx, size_t n)
{
	uint64_t st = BENCH_MIXED_SEED ^ 0x66726167ull;  /* "frag" */
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(bench_splitmix64(&st) % (i + 1));
		uint32_t t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
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

/* The allocator under test, for the loops that run it on several threads. */
struct bench_alloc_ops {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p);
	void *ctx;
};

/*
 * A single-producer, single-consumer ring. Each side keeps its own index on
 * its own cache line and a stale copy of the other's, so it reads the other
 * side's line only when the ring looks full (or empty).
 */
struct bench_ring {
	_Alignas(64) _Atomic size_t head;   /* next slot the producer fills */
	size_t tail_seen;                   /* producer's copy of tail */
	_Alignas(64) _Atomic size_t tail;   /* next slot the consumer empties */
	size_t head_seen;                   /* consumer's copy of head */
	_Alignas(64) void *slot[BENCH_RING_SLOTS];
};

/* Waiting spins a little, then yields: with two threads on two shared cores,
 * the other side may not be running at all. */
static inline void bench_wait(unsigned *spins)
{
	if (++*spins < 256)
		__builtin_ia32_pause();
	else
		sched_yield();
}

static inline void bench_ring_push(struct bench_ring *r, void *p)
{
	size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	unsigned spins = 0;
	while (h - r->tail_seen == BENCH_RING_SLOTS) {
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h - r->tail_seen == BENCH_RING_SLOTS)
			bench_wait(&spins);
	}
	r->slot[h & (BENCH_RING_SLOTS - 1)] = p;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

static inline void *bench_ring_pop(struct bench_ring *r)
{
	size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	unsigned spins = 0;
	while (t == r->head_seen) {
		r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
		if (t == r->head_seen)
			bench_wait(&spins);
	}
	void *p = r->slot[t & (BENCH_RING_SLOTS - 1)];
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return p;
}

struct bench_pc {
	const struct bench_alloc_ops *ops;
	struct bench_ring ring;
};

static inline void *bench_pc_consumer(void *argp)
{
	struct bench_pc *pc = argp;
	for (unsigned i = 0; i < BENCH_PC_OBJECTS; i++)
		pc->ops->free(pc->ops->ctx, bench_ring_pop(&pc->ring));
	return NULL;
}

/*
 * One repetition of the producer-consumer run: this thread allocates
 * BENCH_PC_OBJECTS objects of BENCH_PC_SIZE bytes and hands them through the
 * ring to a new thread that frees them (every free is a remote one). Returns
 * the wall time from the consumer's start to its end.
 */
static inline uint64_t bench_prodcons(const struct bench_alloc_ops *ops)
{
	static struct bench_pc pc;
	pthread_t t;

	memset(&pc, 0, sizeof(pc));
	pc.ops = ops;
	uint64_t t0 = bench_now_ns();
	if (pthread_create(&t, NULL, bench_pc_consumer, &pc))
		bench_die("pthread_create failed");
	for (unsigned i = 0; i < BENCH_PC_OBJECTS; i++) {
		void *p = ops->alloc(ops->ctx, BENCH_PC_SIZE);
		if (!p)
			bench_die("producer: allocation failed");
		bench_use(p);
		bench_ring_push(&pc.ring, p);
	}
	pthread_join(t, NULL);
	return bench_now_ns() - t0;
}

static inline uint64_t bench_prodcons_rep(void *arg)
{
	return bench_prodcons(arg);
}

struct bench_ts_thread {
	const struct bench_alloc_ops *ops;
	const uint32_t *sizes;   /* BENCH_MIXED_TABLE of them */
	unsigned first;          /* where in the table this thread starts */
};

static inline void *bench_ts_worker(void *argp)
{
	struct bench_ts_thread *w = argp;
	void *held[BENCH_BATCH];
	unsigned k = w->first;

	for (unsigned done = 0; done < BENCH_TS_OBJECTS; done += BENCH_BATCH) {
		for (unsigned i = 0; i < BENCH_BATCH; i++, k++) {
			held[i] = w->ops->alloc(w->ops->ctx, w->sizes[k % BENCH_MIXED_TABLE]);
			if (!held[i])
				bench_die("thread start-up: allocation failed");
			bench_use(held[i]);
		}
		for (unsigned i = 0; i < BENCH_BATCH; i++)
			w->ops->free(w->ops->ctx, held[i]);
	}
	return NULL;
}

struct bench_ts {
	const struct bench_alloc_ops *ops;
	const uint32_t *sizes;
};

/*
 * One repetition of the thread start-up run: BENCH_TS_ROUNDS times, start
 * BENCH_TS_THREADS threads that each allocate and free BENCH_TS_OBJECTS
 * mixed-size objects (BENCH_BATCH live at a time) and exit; join them all.
 * Each thread meets the allocator cold and leaves it its per-thread state
 * to take back. Returns the wall time of all rounds.
 */
static inline uint64_t bench_thread_startup(void *argp)
{
	struct bench_ts *ts = argp;
	struct bench_ts_thread w[BENCH_TS_THREADS];
	pthread_t t[BENCH_TS_THREADS];

	uint64_t t0 = bench_now_ns();
	for (unsigned r = 0; r < BENCH_TS_ROUNDS; r++) {
		for (unsigned i = 0; i < BENCH_TS_THREADS; i++) {
			w[i] = (struct bench_ts_thread){ ts->ops, ts->sizes, i * 509u };
			if (pthread_create(&t[i], NULL, bench_ts_worker, &w[i]))
				bench_die("pthread_create failed");
		}
		for (unsigned i = 0; i < BENCH_TS_THREADS; i++)
			pthread_join(t[i], NULL);
	}
	return bench_now_ns() - t0;
}

/* ms per round, the mean of BENCH_TS_ROUNDS (one repetition: a round of
 * glibc's or jemalloc's takes a quarter of a second; run.sh's rounds give
 * the best of several). */
static inline double bench_thread_startup_ms(const struct bench_alloc_ops *ops,
					     const uint32_t *sizes)
{
	struct bench_ts ts = { ops, sizes };
	return (double)bench_thread_startup(&ts) / 1e6 / BENCH_TS_ROUNDS;
}

/*
 * The fragmentation run's state: the objects, their sizes and the order
 * they are freed in, in mmap'd arrays touched before the caller's baseline
 * (so they do not count as the allocator's).
 */
struct bench_frag {
	size_t n;
	void **objs;
	uint32_t *sizes, *order;
	size_t freed;            /* the first freed of order[] are gone */
	uint64_t live_bytes;     /* bytes asked for by the objects still live */
	double alloc_ms, free_ms; /* how long the two phases took */
};

static inline void *bench_frag_array(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		bench_die("mmap of a fragmentation array failed");
	memset(p, 0, bytes);
	return p;
}

/* n objects: bench_frag_objects(), or fewer where an allocator needs it. */
static inline void bench_frag_setup(struct bench_frag *f, size_t n)
{
	f->n = n;
	f->objs = bench_frag_array(f->n * sizeof(*f->objs));
	f->sizes = bench_frag_array(f->n * sizeof(*f->sizes));
	f->order = bench_frag_array(f->n * sizeof(*f->order));
	bench_sizes(f->sizes, f->n, BENCH_FRAG_MIN, BENCH_FRAG_MAX);
	bench_shuffle(f->order, f->n);
	f->freed = 0;
	f->live_bytes = 0;
}

/* Allocates every object, then frees BENCH_FRAG_FREE_PERCENT of them in the
 * shuffled order, leaving the rest scattered over the allocator's pages. */
static inline void bench_frag_run(const struct bench_alloc_ops *ops, struct bench_frag *f)
{
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0; i < f->n; i++) {
		f->objs[i] = ops->alloc(ops->ctx, f->sizes[i]);
		if (!f->objs[i])
			bench_die("fragmentation: allocation failed");
		bench_use(f->objs[i]);
		f->live_bytes += f->sizes[i];
	}
	uint64_t t1 = bench_now_ns();
	f->freed = f->n / 100 * BENCH_FRAG_FREE_PERCENT;
	for (size_t i = 0; i < f->freed; i++) {
		uint32_t k = f->order[i];
		ops->free(ops->ctx, f->objs[k]);
		f->live_bytes -= f->sizes[k];
	}
	f->alloc_ms = (double)(t1 - t0) / 1e6;
	f->free_ms = (double)(bench_now_ns() - t1) / 1e6;
}

/* Frees what bench_frag_run left and the arrays. */
static inline void bench_frag_finish(const struct bench_alloc_ops *ops, struct bench_frag *f)
{
	for (size_t i = f->freed; i < f->n; i++)
		ops->free(ops->ctx, f->objs[f->order[i]]);
	munmap(f->objs, f->n * sizeof(*f->objs));
	munmap(f->sizes, f->n * sizeof(*f->sizes));
	munmap(f->order, f->n * sizeof(*f->order));
}

#endif

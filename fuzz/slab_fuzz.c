/*
 * libFuzzer target for the slab allocators (mm/slab/, mm/kmalloc.c,
 * mm/kvmalloc.c) under every policy slab_policy_parse accepts: a program of
 * cache creations and destructions, allocations and frees over up to four
 * caches, kmalloc and kvmalloc, shrinks, validations and frees done on a
 * second thread, run against a model of the live objects. Each input gets
 * a fresh arena, so runs do not depend on each other.
 *
 * The first byte picks the policy (0 slub, 1 slab, 2 slob, modulo 3; one
 * the build does not have yet is replaced by the next one it has, so a seed
 * keeps its meaning once SLAB lands). Then operations, each an opcode byte
 * and its operands (missing operand bytes read as zero):
 *   0 S SZ SZ SZ AL FL OR  create cache S % 4: size class SZ0 % 4 (64 B,
 *                          512 B, 4 KiB, 32 KiB) and size SZ1..2 in it,
 *                          alignment AL (0 or 1 << AL % 13), flags FL (bits
 *                          0-3 debug FZPU, 4 NO_MERGE, 5 HWCACHE_ALIGN,
 *                          6 NO_SHEAVES, 7 a constructor), order OR
 *                          (>= 200: OR % 5 - 1, else chosen)
 *   1 S M                  destroy cache S: its objects freed first, or with
 *                          M & 1 on a cache nothing shares, left live (a
 *                          deliberate leak: "Objects remaining" expected)
 *   2 S N                  N % 16 + 1 objects from cache S
 *   3 S R R                free a live object of cache S
 *   4 Z Z                  kmalloc (kzalloc if Z's top bit) of 1..8192 bytes
 *   5 R R                  kfree a live kmalloc object
 *   6 Z Z M                kvmalloc of 1..64 KiB (M: KV_NO_CONTIG, kvzalloc)
 *   7 R R                  kvfree a live kvmalloc allocation
 *   8 S                    shrink cache S
 *   9                      slab_shrink_all
 *  10 S                    validate cache S
 *  11 S                    get_info of cache S against the model
 *  12 N R R                the worker thread frees N % 32 + 1 live objects
 *                          (remote frees)
 *  13 S N Z Z              the worker allocates N % 32 + 1 objects from
 *                          cache S (S % 5 == 4: kmalloc of Z bytes), which
 *                          this thread frees later (remote frees back)
 *  14 K S R R              a deliberate bad call, which must be reported
 *  15 K ...                misc: thread slot release, reap, tune, slabinfo
 *
 * Checks (any failure aborts with a message): no allocation overlaps a
 * live object; each object's pattern, written over its whole size, is
 * intact when it is freed (a double hand-out breaks it); pointers are
 * aligned as asked; ksize covers what kmalloc was asked for; every cache
 * validates every VALIDATE_EVERY operations; get_info's counts agree with
 * the model (exactly for SLOB caches, which count their live objects, at
 * least for the others, whose active objects include those cached per
 * thread); no report but those of the deliberate bad calls; I1 at the end;
 * and I3 (every zone coalesces) once everything is freed, unless a cache
 * was deliberately destroyed with live objects.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mm/mm.h"
#include "mm/slab.h"
#include "mm/kmalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIB (1ULL << 20)
#define ARENA_BYTES (16 * MIB)
#define NR_SLOTS 4
#define MAX_OPS 2000
#define MAX_LIVE 4096
#define MAX_LIVE_BYTES (4 * MIB)   /* leaves room for what caches keep */
#define VALIDATE_EVERY 64
#define WORKER_BATCH 32
#define KV_MAX (64 * 1024)
#define SLAB_MAX_OBJ (32 * 1024)   /* an order-3 slab */

/* What a live object is: one of the slots' caches, kmalloc or kvmalloc. */
enum { K_KMALLOC = NR_SLOTS, K_KVMALLOC, NR_KINDS };

static const char *const policy_names[] = { "slub", "slab", "slob" };
#define NR_POLICY_NAMES 3

struct obj {
	uintptr_t addr;
	size_t size;
	uint64_t tag;
	int kind;
};

/* A cache the input created, under the name it was created with. */
struct slot {
	struct slab_cache *c;
	char name[SLAB_NAME_MAX];
	size_t size, align;          /* asked for; align as enforced (>= 8) */
	bool shared;                 /* may be merged with another cache */
	bool exact;                  /* SLOB counts its live objects exactly */
	bool checked_free;           /* immediate double frees are caught */
	unsigned debug;              /* debug flags in force */
};

/* The free or allocation a worker does, one object each. */
struct job {
	void *p;
	size_t size;
	uint64_t tag;
	int kind;
	struct slab_cache *c;
};

enum worker_cmd { W_IDLE, W_FREE, W_ALLOC, W_QUIT };

/* The second thread: it runs one batch at a time while this thread waits,
 * so a run stays reproducible, and its slabs and sheaves are its own. */
struct worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum worker_cmd cmd;
	struct job jobs[WORKER_BATCH];
	unsigned n;
	bool running;
};

static struct fuzz_state {
	struct mm_arena *a;
	bool slob_arena;             /* the arena's policy is SLOB (no merging) */
	struct slot slot[NR_SLOTS];
	struct obj live[MAX_LIVE];   /* sorted by address */
	unsigned nr_live;
	unsigned nr_kind[NR_KINDS];
	size_t live_bytes;
	uint64_t next_tag;
	unsigned generation;         /* makes every cache name unique in a run */
	bool leaked;                 /* a cache went with live objects: no I3 */
	struct worker w;
} st;

static int accepted[NR_POLICY_NAMES];  /* slab_policy_parse of each name */

/* Reports are bugs unless a deliberate bad call is running. */
static atomic_int expect_reports;
static atomic_uint nr_reports;
static char last_report[512];

static void on_report(const char *report, void *arg)
{
	(void)arg;
	if (!atomic_load(&expect_reports)) {
		fprintf(stderr, "slab_fuzz: report during a valid sequence:\n%s", report);
		abort();
	}
	snprintf(last_report, sizeof(last_report), "%s", report);
	atomic_fetch_add(&nr_reports, 1);
}

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "slab_fuzz (%s): ", st.a ? slab_policy_name(st.a) : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

struct input {
	const uint8_t *p, *end;
};

static uint8_t u8(struct input *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

static uint16_t u16(struct input *in)
{
	return (uint16_t)(u8(in) | u8(in) << 8);
}

/* The pattern: 64-bit words tag + offset, then bytes of the tag mixed with
 * their offset, so that neither a second owner nor a shifted copy passes. */
static uint8_t tail_byte(uint64_t tag, size_t i)
{
	return (uint8_t)(tag >> ((i & 7) * 8)) ^ (uint8_t)i;
}

static void fill(void *p, size_t size, uint64_t tag)
{
	uint8_t *b = p;
	size_t i = 0;
	for (; i + 8 <= size; i += 8) {
		uint64_t w = tag + i;
		memcpy(b + i, &w, 8);
	}
	for (; i < size; i++)
		b[i] = tail_byte(tag, i);
}

static void check_pattern(const void *p, size_t size, uint64_t tag, const char *what)
{
	const uint8_t *b = p;
	size_t i = 0;
	for (; i + 8 <= size; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		if (w != tag + i)
			fail("%s %p (%zu bytes): pattern broken at offset %zu: another owner "
			     "wrote it (handed out twice?)", what, p, size, i);
	}
	for (; i < size; i++)
		if (b[i] != tail_byte(tag, i))
			fail("%s %p (%zu bytes): pattern broken at offset %zu", what, p, size, i);
}

static void check_zero(const void *p, size_t size, const char *what)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < size; i++)
		if (b[i])
			fail("%s %p: byte %zu of %zu not zero", what, p, i, size);
}

static uint64_t new_tag(void)
{
	return ++st.next_tag * 0x9e3779b97f4a7c15ULL;
}

/* ---- the model: live objects sorted by address --------------------------- */

/* Index of the first object at or above addr. */
static unsigned model_lower(uintptr_t addr)
{
	unsigned lo = 0, hi = st.nr_live;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (st.live[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const char *kind_name(int kind)
{
	static const char *const names[NR_KINDS] = { "cache 0", "cache 1", "cache 2", "cache 3",
						     "kmalloc", "kvmalloc" };
	return names[kind];
}

/* Adds a new allocation, which must overlap nothing live. */
static void model_add(void *p, size_t size, uint64_t tag, int kind)
{
	uintptr_t addr = (uintptr_t)p;
	unsigned i = model_lower(addr);
	if (i < st.nr_live && st.live[i].addr < addr + size)
		fail("%s handed out %p (%zu bytes), overlapping live %s object %#lx (%zu bytes)",
		     kind_name(kind), p, size, kind_name(st.live[i].kind),
		     (unsigned long)st.live[i].addr, st.live[i].size);
	if (i > 0 && st.live[i - 1].addr + st.live[i - 1].size > addr)
		fail("%s handed out %p (%zu bytes), overlapping live %s object %#lx (%zu bytes)",
		     kind_name(kind), p, size, kind_name(st.live[i - 1].kind),
		     (unsigned long)st.live[i - 1].addr, st.live[i - 1].size);
	memmove(&st.live[i + 1], &st.live[i], (st.nr_live - i) * sizeof(st.live[0]));
	st.live[i] = (struct obj){ addr, size, tag, kind };
	st.nr_live++;
	st.nr_kind[kind]++;
	st.live_bytes += size;
}

static void model_del(unsigned i)
{
	st.nr_kind[st.live[i].kind]--;
	st.live_bytes -= st.live[i].size;
	memmove(&st.live[i], &st.live[i + 1], (st.nr_live - i - 1) * sizeof(st.live[0]));
	st.nr_live--;
}

/* A live object of kind chosen by r, or -1 if there is none. */
static int model_pick(int kind, unsigned r)
{
	if (!st.nr_kind[kind])
		return -1;
	for (unsigned k = 0, i = r % st.nr_live; k < st.nr_live; k++, i = (i + 1) % st.nr_live)
		if (st.live[i].kind == kind)
			return (int)i;
	fail("model: %u %s objects counted, none found", st.nr_kind[kind], kind_name(kind));
}

static bool room_for(size_t size)
{
	return st.nr_live < MAX_LIVE && st.live_bytes + size <= MAX_LIVE_BYTES;
}

/* ---- allocating and freeing, on either thread ---------------------------- */

static struct job job_of(const struct obj *o)
{
	struct job j = { (void *)o->addr, o->size, o->tag, o->kind, NULL };
	if (o->kind < NR_SLOTS)
		j.c = st.slot[o->kind].c;
	return j;
}

static void free_job(const struct job *j)
{
	check_pattern(j->p, j->size, j->tag, kind_name(j->kind));
	if (j->kind < NR_SLOTS)
		slab_free(j->c, j->p);
	else if (j->kind == K_KMALLOC)
		kfree(st.a, j->p);
	else
		kvfree(st.a, j->p);
}

/* Checks a new object of slot s (alignment, its cache) and adds it. */
static void took_from_slot(int s, void *p, uint64_t tag)
{
	struct slot *sl = &st.slot[s];
	if ((uintptr_t)p % sl->align)
		fail("%s (%s): %p not aligned to %zu", sl->name, kind_name(s), p, sl->align);
	/* Caches on slabs of their own say which cache an object is of. */
	if (!sl->exact) {
		struct slab_cache *of = slab_cache_of(st.a, p);
		if (of != sl->c)
			fail("%s: slab_cache_of(%p) is %s, not the cache it came from", sl->name,
			     p, of ? slab_cache_name(of) : "none");
	}
	model_add(p, sl->size, tag, s);
}

static void took_kmalloc(void *p, size_t size, uint64_t tag)
{
	if ((uintptr_t)p % 8)
		fail("kmalloc(%zu) = %p: not aligned to 8", size, p);
	size_t usable = ksize(st.a, p);
	if (usable < size)
		fail("ksize(kmalloc(%zu) = %p) = %zu", size, p, usable);
	model_add(p, size, tag, K_KMALLOC);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->cmd == W_IDLE)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->cmd == W_QUIT)
			break;
		for (unsigned i = 0; i < w->n; i++) {
			struct job *j = &w->jobs[i];
			if (w->cmd == W_FREE) {
				free_job(j);
				continue;
			}
			j->p = j->kind < NR_SLOTS ? slab_alloc(j->c) : kmalloc(st.a, j->size);
			if (j->p)
				fill(j->p, j->size, j->tag);
		}
		w->cmd = W_IDLE;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	/* Its slots in every cache and zone are drained as it exits. */
	return NULL;
}

/* Runs one batch on the worker (started the first time) and waits for it. */
static void worker_run(enum worker_cmd cmd, unsigned n)
{
	struct worker *w = &st.w;
	if (!w->running) {
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->cond, NULL);
		w->cmd = W_IDLE;
		if (pthread_create(&w->thread, NULL, worker_main, w))
			fail("cannot start the worker thread");
		w->running = true;
	}
	pthread_mutex_lock(&w->lock);
	w->n = n;
	w->cmd = cmd;
	pthread_cond_broadcast(&w->cond);
	while (w->cmd != W_IDLE)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

static void worker_stop(void)
{
	struct worker *w = &st.w;
	if (!w->running)
		return;
	pthread_mutex_lock(&w->lock);
	w->cmd = W_QUIT;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	w->running = false;
}

/* ---- checks over caches --------------------------------------------------- */

static void validate_one(struct slab_cache *c, void *arg)
{
	(void)arg;
	if (slab_cache_validate(c))
		fail("slab_cache_validate(%s) failed", slab_cache_name(c));
}

static void validate_all(void)
{
	slab_for_each_cache(st.a, validate_one, NULL);
}

static void check_info(int s)
{
	struct slot *sl = &st.slot[s];
	struct slab_cache_info info;
	unsigned long live = 0;

	slab_cache_get_info(sl->c, &info);
	/* A merged cache's objects are every slot's that shares it. */
	for (int k = 0; k < NR_SLOTS; k++)
		if (st.slot[k].c == sl->c)
			live += st.nr_kind[k];
	if (sl->exact ? info.active_objs != live : info.active_objs < live)
		fail("%s (%s): active_objs %lu, but %lu objects are live", sl->name, info.policy,
		     info.active_objs, live);
	if (info.active_objs > info.num_objs)
		fail("%s (%s): active_objs %lu > num_objs %lu", sl->name, info.policy,
		     info.active_objs, info.num_objs);
	if (slab_object_size(sl->c) < sl->size)
		fail("%s: object size %zu < %zu asked for", sl->name, slab_object_size(sl->c),
		     sl->size);
}

static void check_frames(const char *when)
{
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	if (mm_arena_check_frames(st.a, counts))
		fail("I1 broken %s", when);
}

/* ---- operations ------------------------------------------------------------ */

static void fuzz_ctor(void *obj)
{
	*(uint8_t *)obj = 0xc7;      /* objects are at least one byte */
}

static void op_create(struct input *in)
{
	static const size_t classes[4] = { 64, 512, 4096, SLAB_MAX_OBJ };
	int s = u8(in) % NR_SLOTS;
	size_t cls = classes[u8(in) % 4];
	size_t size = u16(in) % cls + 1;
	uint8_t al = u8(in), fl = u8(in), ord = u8(in);
	struct slot *sl = &st.slot[s];

	if (sl->c)
		return;
	struct slab_cache_params p = {
		.size = size,
		.align = al ? (size_t)1 << (al % 13) : 0,
		.flags = (fl & SLAB_F_DEBUG_MASK) | (fl & 0x10 ? SLAB_F_NO_MERGE : 0) |
			 (fl & 0x20 ? SLAB_F_HWCACHE_ALIGN : 0) | (fl & 0x40 ? SLAB_F_NO_SHEAVES : 0),
		.order = ord >= 200 ? ord % 5 - 1 : -1,
		.ctor = fl & 0x80 ? fuzz_ctor : NULL,
		.zone = ZONE_NORMAL,
	};
	size_t align = p.align < 8 ? 8 : p.align;
	if ((p.flags & SLAB_F_HWCACHE_ALIGN) && align < 64)
		align = 64;
	snprintf(sl->name, sizeof(sl->name), "fuzz-%d-%u", s, st.generation++);
	sl->c = slab_cache_create(st.a, sl->name, &p);
	if (!sl->c) {
		/* Red zones, free pointer and tracking take less than this: a
		 * chosen order must then fit. */
		if (p.order < 0 && size + 2 * align + 128 <= SLAB_MAX_OBJ)
			fail("slab_cache_create(%s, size %zu, align %zu, flags %#x) failed: %s",
			     sl->name, size, p.align, p.flags, strerror(errno));
		return;
	}
	struct slab_cache_info info;
	slab_cache_get_info(sl->c, &info);
	sl->size = size;
	sl->align = align;
	/* Debug caches take the checked path whatever the policy, and only
	 * those merge nothing in every policy. */
	bool debug = info.flags != 0;
	sl->debug = info.flags;
	sl->shared = !st.slob_arena && !debug && !p.ctor && !(p.flags & SLAB_F_NO_MERGE);
	sl->exact = !strcmp(info.policy, "slob");
	sl->checked_free = debug || sl->exact;
}

/* Frees every live object of kind (checking each), in one pass. */
static void free_all_of(int kind, bool drop_only)
{
	unsigned out = 0;
	for (unsigned i = 0; i < st.nr_live; i++) {
		struct obj *o = &st.live[i];
		if (o->kind != kind) {
			st.live[out++] = *o;
			continue;
		}
		if (!drop_only) {
			struct job j = job_of(o);
			free_job(&j);
		}
		st.nr_kind[kind]--;
		st.live_bytes -= o->size;
	}
	st.nr_live = out;
}

static void destroy_slot(int s)
{
	struct slot *sl = &st.slot[s];
	slab_cache_destroy(sl->c, sl->name);
	memset(sl, 0, sizeof(*sl));
}

static void op_destroy(struct input *in)
{
	int s = u8(in) % NR_SLOTS;
	uint8_t mode = u8(in);
	struct slot *sl = &st.slot[s];

	if (!sl->c)
		return;
	if (!st.nr_kind[s] || !(mode & 1) || sl->shared) {
		free_all_of(s, false);
		destroy_slot(s);
		return;
	}
	/* Nothing else holds this cache, so this is its last reference. */
	unsigned before = atomic_load(&nr_reports);
	atomic_store(&expect_reports, 1);
	destroy_slot(s);
	atomic_store(&expect_reports, 0);
	if (atomic_load(&nr_reports) == before || !strstr(last_report, "Objects remaining"))
		fail("cache %d destroyed with %u live objects: no \"Objects remaining\" report",
		     s, st.nr_kind[s]);
	free_all_of(s, true);
	st.leaked = true;
}

static void op_alloc(struct input *in)
{
	int s = u8(in) % NR_SLOTS;
	unsigned n = u8(in) % 16 + 1;
	struct slot *sl = &st.slot[s];

	for (unsigned i = 0; sl->c && i < n && room_for(sl->size); i++) {
		void *p = slab_alloc(sl->c);
		if (!p)
			return;      /* out of memory: allowed, not checked */
		uint64_t tag = new_tag();
		fill(p, sl->size, tag);
		took_from_slot(s, p, tag);
	}
}

static void op_free(struct input *in)
{
	int s = u8(in) % NR_SLOTS;
	int i = model_pick(s, u16(in));
	if (i < 0)
		return;
	struct job j = job_of(&st.live[i]);
	model_del((unsigned)i);
	free_job(&j);
}

static void op_kmalloc(struct input *in)
{
	uint16_t v = u16(in);
	size_t size = (v & 0x7fff) % KMALLOC_MAX_SIZE + 1;
	bool zero = v & 0x8000;

	if (!room_for(size))
		return;
	void *p = zero ? kzalloc(st.a, size) : kmalloc(st.a, size);
	if (!p)
		return;
	if (zero)
		check_zero(p, size, "kzalloc");
	uint64_t tag = new_tag();
	fill(p, size, tag);
	took_kmalloc(p, size, tag);
}

static void op_kvmalloc(struct input *in)
{
	size_t size = (size_t)u16(in) + 1;
	uint8_t mode = u8(in);

	if (!room_for(size))
		return;
	void *p = mode & 2 ? kvzalloc(st.a, size) :
		  kvmalloc_flags(st.a, size, mode & 1 ? KV_NO_CONTIG : 0);
	if (!p)
		return;
	const char *kind = kvmalloc_kind(st.a, p);
	if (!kind)
		fail("kvmalloc(%zu) = %p: kvmalloc_kind does not know it", size, p);
	bool small = !strcmp(kind, "kmalloc");
	if ((uintptr_t)p % (small ? 8 : 4096))
		fail("kvmalloc(%zu) = %p (%s): misaligned", size, p, kind);
	if (small && ksize(st.a, p) < size)
		fail("ksize(kvmalloc(%zu) = %p) = %zu", size, p, ksize(st.a, p));
	if (mode & 2)
		check_zero(p, size, "kvzalloc");
	uint64_t tag = new_tag();
	fill(p, size, tag);
	model_add(p, size, tag, K_KVMALLOC);
}

static void op_free_kind(struct input *in, int kind)
{
	int i = model_pick(kind, u16(in));
	if (i < 0)
		return;
	struct job j = job_of(&st.live[i]);
	model_del((unsigned)i);
	free_job(&j);
}

static void op_remote_free(struct input *in)
{
	unsigned n = u8(in) % WORKER_BATCH + 1, r = u16(in);
	unsigned k = 0;

	/* A run of live objects of any kind, from a point the input picks. */
	while (k < n && st.nr_live) {
		unsigned i = (r + k * 7) % st.nr_live;
		st.w.jobs[k++] = job_of(&st.live[i]);
		model_del(i);
	}
	if (k)
		worker_run(W_FREE, k);
}

static void op_remote_alloc(struct input *in)
{
	int s = u8(in) % (NR_SLOTS + 1);
	unsigned n = u8(in) % WORKER_BATCH + 1;
	size_t size = u16(in) % KMALLOC_MAX_SIZE + 1;
	int kind = s < NR_SLOTS ? s : K_KMALLOC;

	if (kind < NR_SLOTS) {
		if (!st.slot[s].c)
			return;
		size = st.slot[s].size;
	}
	while (n && !room_for(n * size))
		n--;
	if (!n)
		return;
	for (unsigned i = 0; i < n; i++)
		st.w.jobs[i] = (struct job){ NULL, size, new_tag(), kind,
					     kind < NR_SLOTS ? st.slot[s].c : NULL };
	worker_run(W_ALLOC, n);
	for (unsigned i = 0; i < n; i++) {
		struct job *j = &st.w.jobs[i];
		if (!j->p)
			continue;
		if (kind < NR_SLOTS)
			took_from_slot(s, j->p, j->tag);
		else
			took_kmalloc(j->p, size, j->tag);
	}
}

/* Memory no allocator of the arena ever handed out. */
static uint64_t foreign[8];

/* One deliberate bad call, which must produce a report and change nothing. */
static void op_bad(struct input *in)
{
	uint8_t k = u8(in);
	int s = u8(in) % NR_SLOTS;
	unsigned r = u16(in);
	struct slot *sl = &st.slot[s];
	const char *what = NULL;
	unsigned before = atomic_load(&nr_reports);

	atomic_store(&expect_reports, 1);
	switch (k % 5) {
	case 0:
		what = "kfree of a foreign pointer";
		kfree(st.a, foreign);
		break;
	case 1:
		what = "kvfree of a foreign pointer";
		kvfree(st.a, foreign);
		break;
	case 2:
		/* Flag U included: the report reads owner records only at
		 * objects of the cache (once read past a foreign pointer). */
		if (sl->c) {
			what = "slab_free of a foreign pointer";
			slab_free(sl->c, foreign);
		}
		break;
	case 3:
		if (sl->c) {
			what = "slab_cache_destroy under a name it does not hold";
			slab_cache_destroy(sl->c, "fuzz-not-a-name");
		}
		break;
	default: {
		/* Freed twice in a row: only caches that check every free (debug
		 * caches, SLOB's) and kvmalloc's own blocks catch that for sure;
		 * SLUB's remote frees do not look. */
		int i = model_pick(s, r);
		struct job j;
		if (i >= 0 && sl->checked_free) {
			what = "double slab_free";
			j = job_of(&st.live[i]);
			model_del((unsigned)i);
			free_job(&j);
			slab_free(j.c, j.p);
			break;
		}
		/* kvmalloc's own blocks (kvfree of its kmalloc ones is kfree). */
		for (unsigned n = 0; n < st.nr_live; n++) {
			i = (int)((r + n) % st.nr_live);
			if (st.live[i].kind != K_KVMALLOC ||
			    !strcmp(kvmalloc_kind(st.a, (void *)st.live[i].addr), "kmalloc"))
				continue;
			what = "double kvfree";
			j = job_of(&st.live[i]);
			model_del((unsigned)i);
			free_job(&j);
			kvfree(st.a, j.p);
			break;
		}
		break;
	}
	}
	atomic_store(&expect_reports, 0);
	if (what && atomic_load(&nr_reports) == before)
		fail("%s was not reported", what);
}

static void op_misc(struct input *in)
{
	uint8_t k = u8(in);
	int s = u8(in) % NR_SLOTS;
	struct slot *sl = &st.slot[s];

	switch (k % 5) {
	case 0:
		/* This thread gives its slots back (drained) and takes a new
		 * index at its next call, as a thread that leaves and comes. */
		mm_thread_release();
		break;
	case 1:
		slab_reap(st.a);
		break;
	case 2: {
		struct slab_tunables t = { u16(in) % 5000, u16(in) % 5000, u8(in) % 70 };
		if (!sl->c)
			break;
		struct slab_cache_info info;
		slab_cache_get_info(sl->c, &info);
		int rc = slab_cache_tune(st.a, sl->name, &t);
		bool bad = t.limit == 0 || t.limit > SLAB_LIMIT_MAX || t.batchcount == 0 ||
			   t.batchcount > t.limit || t.sharedfactor > SLAB_SHARED_MAX;
		bool tunable = strcmp(info.policy, "slub") && strcmp(info.policy, "slob");
		int want = !tunable ? -EOPNOTSUPP : bad ? -EINVAL : 0;
		if (rc != want)
			fail("slab_cache_tune(%s, %u %u %u) under %s: %d, not %d", sl->name,
			     t.limit, t.batchcount, t.sharedfactor, info.policy, rc, want);
		break;
	}
	case 3: {
		/* A short buffer: the text is cut, and says how long it is. */
		char buf[256];
		size_t len = u8(in) % sizeof(buf) + 1;
		size_t need = slab_format_slabinfo(st.a, buf, len);
		if (strlen(buf) >= len || need < strlen(buf))
			fail("slab_format_slabinfo(%zu): %zu needed, %zu written", len, need,
			     strlen(buf));
		break;
	}
	default: {
		struct slob_arena_stats ss;
		int rc = slob_arena_stats(st.a, &ss);
		if ((rc == 0) != st.slob_arena)
			fail("slob_arena_stats: %d under %s", rc, slab_policy_name(st.a));
		break;
	}
	}
}

static void run(struct input *in)
{
	for (unsigned n = 1; in->p < in->end && n <= MAX_OPS; n++) {
		switch (u8(in) % 16) {
		case 0: op_create(in); break;
		case 1: op_destroy(in); break;
		case 2: op_alloc(in); break;
		case 3: op_free(in); break;
		case 4: op_kmalloc(in); break;
		case 5: op_free_kind(in, K_KMALLOC); break;
		case 6: op_kvmalloc(in); break;
		case 7: op_free_kind(in, K_KVMALLOC); break;
		case 8: {
			int s = u8(in) % NR_SLOTS;
			if (st.slot[s].c)
				slab_cache_shrink(st.slot[s].c);
			break;
		}
		case 9: slab_shrink_all(st.a); break;
		case 10: {
			int s = u8(in) % NR_SLOTS;
			if (st.slot[s].c && slab_cache_validate(st.slot[s].c))
				fail("slab_cache_validate(%s) failed", st.slot[s].name);
			break;
		}
		case 11: {
			int s = u8(in) % NR_SLOTS;
			if (st.slot[s].c)
				check_info(s);
			break;
		}
		case 12: op_remote_free(in); break;
		case 13: op_remote_alloc(in); break;
		case 14: op_bad(in); break;
		default: op_misc(in); break;
		}
		if (n % VALIDATE_EVERY == 0)
			validate_all();
	}
}

/* Everything freed and every cache gone: each zone must coalesce (I3). */
static void check_coalesced(void)
{
	slab_shrink_all(st.a);
	for (int z = 0; z < MM_NR_ZONES; z++) {
		struct mm_zone *zone = mm_zone_get(st.a, (enum mm_zone_id)z);
		if (!zone)
			continue;
		mm_pcp_drain(zone);
		if (!buddy_fully_coalesced(&zone->buddy))
			fail("zone %s does not coalesce with everything freed (I3)",
			     zone->buddy.name);
	}
}

static enum mm_slab_policy pick_policy(uint8_t b)
{
	for (int k = 0; k < NR_POLICY_NAMES; k++) {
		int i = (b + k) % NR_POLICY_NAMES;
		if (accepted[i] >= 0)
			return (enum mm_slab_policy)accepted[i];
	}
	fail("no slab policy accepted");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < NR_POLICY_NAMES; i++)
		accepted[i] = slab_policy_parse(policy_names[i]);
	slab_set_report_hook(on_report, NULL);
	/* Debug flags are the input's to choose, not the environment's. */
	unsetenv(SLAB_DEBUG_ENV);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, data + size };
	struct mm_arena_config cfg = {
		.normal_bytes = ARENA_BYTES,
		.huge = MM_HUGE_OFF,
		/* Probing for THP costs more than a run; slabs do not care. */
		.normal_backing = MM_NORMAL_4K,
		.slab_policy = pick_policy(u8(&in)),
	};

	memset(&st, 0, sizeof(st));
	int rc = mm_create(&cfg, &st.a);
	if (rc)
		fail("mm_create: %s", strerror(-rc));
	st.slob_arena = !strcmp(slab_policy_name(st.a), "slob");
	run(&in);

	/* The worker leaves first: its slots drain as it exits. */
	worker_stop();
	validate_all();
	for (int s = 0; s < NR_SLOTS; s++)
		if (st.slot[s].c)
			check_info(s);
	check_frames("after the input");
	for (int k = 0; k < NR_KINDS; k++)
		free_all_of(k, false);
	for (int s = 0; s < NR_SLOTS; s++)
		if (st.slot[s].c)
			destroy_slot(s);
	if (!st.leaked)
		check_coalesced();
	check_frames("after everything was freed");
	/* SLOB reports the pages a leaked cache left behind. */
	atomic_store(&expect_reports, st.leaked);
	mm_destroy(st.a);
	atomic_store(&expect_reports, 0);
	st.a = NULL;
	return 0;
}

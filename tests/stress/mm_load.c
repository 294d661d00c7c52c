/*
 * The allocators under load (stress.h): STRESS_WORKERS threads in a ring,
 * each allocating slab objects (one cache of 64 B) and kmalloc objects of
 * mixed sizes (8 B .. 8 KiB), filling them with a pattern of its own and
 * handing them to the next thread, which checks the pattern and frees them:
 * every free is a remote one. Each worker also takes and gives back frame
 * blocks of orders 0..3, which go through its per-thread frame cache
 * (mm/pcp.c) without a lock. Beside them one checker thread asks for I1
 * (mm_arena_check_frames) over and over: while the caches move it may say
 * busy, never that the counts are wrong.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "stress.h"

#define CACHE_NAME "stress-64"
#define OBJ_SIZE 64
/* Items in flight between two workers: enough for the consumer to find
 * work on most calls, few enough that a full ring stays small (at most
 * RING_SIZE * 8 KiB per worker). */
#define RING_SIZE 256
/* Frame blocks a worker holds at once; the oldest goes back first. */
#define HELD_BLOCKS 8

struct item {
	void *p;
	uint32_t size;
	uint32_t seed;       /* the pattern's start: who made it and when */
	bool slab;           /* from the cache, else kmalloc */
};

/* One producer, one consumer: the producer owns head, the consumer tail;
 * the release store of either publishes the slots it passed. */
struct ring {
	_Alignas(64) atomic_uint head;
	_Alignas(64) atomic_uint tail;
	struct item slot[RING_SIZE];
};

struct held_block {
	long idx;            /* -1: empty */
	unsigned order;
	uint64_t stamp;
};

struct worker {
	struct mm_load *load;
	unsigned id;
	pthread_t thread;
	bool started;
	struct ring *out;    /* to the next worker */
	struct ring *in;     /* from the previous one */
	atomic_bool producing_done;  /* nothing more goes into out */
	uint64_t rng;
	struct held_block held[HELD_BLOCKS];
	unsigned held_next;
	uint64_t objects, frame_blocks;
};

struct mm_load {
	struct mm_arena *arena;
	struct mm_zone *zone;
	struct slab_cache *cache;
	struct ring rings[STRESS_WORKERS];
	struct worker workers[STRESS_WORKERS];
	pthread_t checker;
	bool checker_started;
	char *dump;          /* the checker's text buffer */
	size_t dump_len;
	uint64_t checks, busy, dumps;
};

static bool ring_push(struct ring *r, const struct item *it)
{
	unsigned h = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (h - atomic_load_explicit(&r->tail, memory_order_acquire) == RING_SIZE)
		return false;
	r->slot[h % RING_SIZE] = *it;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return true;
}

static bool ring_pop(struct ring *r, struct item *it)
{
	unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (t == atomic_load_explicit(&r->head, memory_order_acquire))
		return false;
	*it = r->slot[t % RING_SIZE];
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return true;
}

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64: cheap, and each worker's sequence is its own. */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill(uint8_t *p, uint32_t size, uint32_t seed)
{
	for (uint32_t i = 0; i < size; i++)
		p[i] = (uint8_t)(seed + i * 7u);
}

/* The first byte that differs from the pattern, or size. */
static uint32_t pattern_breaks_at(const uint8_t *p, uint32_t size, uint32_t seed)
{
	for (uint32_t i = 0; i < size; i++)
		if (p[i] != (uint8_t)(seed + i * 7u))
			return i;
	return size;
}

/* A size over all of kmalloc's classes: a class, then a size within it. */
static uint32_t kmalloc_size(uint64_t r)
{
	unsigned shift = (unsigned)(r % 11);            /* 8 << 0 .. 8 << 10 */
	uint32_t top = 8u << shift;
	uint32_t size = top / 2 + 1 + (uint32_t)((r >> 8) % (top / 2));

	return size < KMALLOC_MIN_SIZE ? KMALLOC_MIN_SIZE : size;
}

static bool make_item(struct worker *w, struct item *it)
{
	struct mm_load *l = w->load;
	uint64_t r = rng_next(&w->rng);

	it->slab = r & 1;
	it->size = it->slab ? OBJ_SIZE : kmalloc_size(r >> 1);
	it->seed = (uint32_t)(w->id << 24) ^ (uint32_t)(r >> 32);
	it->p = it->slab ? slab_alloc(l->cache) : kmalloc(l->arena, it->size);
	if (!it->p) {
		stress_fail("worker %u: %s of %u bytes failed (the arena is sized not to run out)",
			    w->id, it->slab ? "slab_alloc" : "kmalloc", it->size);
		return false;
	}
	fill(it->p, it->size, it->seed);
	return true;
}

static void free_item(struct mm_load *l, const struct item *it)
{
	if (it->slab)
		slab_free(l->cache, it->p);
	else
		kfree(l->arena, it->p);
}

/* An object from the previous worker: untouched since it was filled, and
 * freed here, on a thread other than the one that allocated it. */
static void consume(struct worker *w, const struct item *it)
{
	struct mm_load *l = w->load;
	uint32_t at = pattern_breaks_at(it->p, it->size, it->seed);

	if (at != it->size)
		stress_fail("worker %u: a %s object of %u bytes at %p changed in flight at byte %u",
			    w->id, it->slab ? "slab" : "kmalloc", it->size, it->p, at);
	if (!it->slab && ksize(l->arena, it->p) < it->size)
		stress_fail("worker %u: ksize of a %u-byte object is %zu", w->id, it->size,
			    ksize(l->arena, it->p));
	free_item(l, it);
	w->objects++;
}

static bool consume_one(struct worker *w)
{
	struct item it;

	if (!ring_pop(w->in, &it))
		return false;
	consume(w, &it);
	return true;
}

/* A stamp at the start of every page of a block: another thread handed
 * the same frames would overwrite it before we give them back. */
static void stamp_block(struct mm_zone *z, const struct held_block *b)
{
	for (uint32_t i = 0; i < (1u << b->order); i++)
		memcpy(mm_frame_ptr(z, (uint32_t)b->idx + i), &b->stamp, sizeof(b->stamp));
}

static bool block_stamped(struct mm_zone *z, const struct held_block *b)
{
	for (uint32_t i = 0; i < (1u << b->order); i++)
		if (memcmp(mm_frame_ptr(z, (uint32_t)b->idx + i), &b->stamp, sizeof(b->stamp)))
			return false;
	return true;
}

static void release_block(struct worker *w, struct held_block *b)
{
	struct mm_zone *z = w->load->zone;

	if (b->idx < 0)
		return;
	if (!block_stamped(z, b))
		stress_fail("worker %u: frame block %ld (order %u) was written by someone else",
			    w->id, b->idx, b->order);
	int rc = mm_frames_free(z, (uint32_t)b->idx, b->order);
	if (rc)
		stress_fail("worker %u: mm_frames_free(%ld, order %u): %s", w->id, b->idx, b->order,
			    strerror(-rc));
	b->idx = -1;
	w->frame_blocks++;
}

/* Gives the oldest held block back and takes a new one of the next order:
 * the per-thread cache's lists of every order fill and empty in turn. */
static void churn_frames(struct worker *w)
{
	struct held_block *b = &w->held[w->held_next];
	uint64_t r = rng_next(&w->rng);

	release_block(w, b);
	b->order = (unsigned)(r % (PCP_MAX_ORDER + 1));
	bool compound = b->order && (r & 0x10);
	long idx = mm_frames_alloc(w->load->zone, b->order, (r & 0x20) ? MT_MOVABLE : MT_UNMOVABLE,
				   FRAME_VMM, compound);
	if (idx < 0) {
		stress_fail("worker %u: mm_frames_alloc(order %u): %s", w->id, b->order,
			    strerror((int)-idx));
		return;
	}
	b->idx = idx;
	b->stamp = ((uint64_t)w->id << 56) ^ r;
	stamp_block(w->load->zone, b);
	w->held_next = (w->held_next + 1) % HELD_BLOCKS;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct worker *prev = &w->load->workers[(w->id + STRESS_WORKERS - 1) % STRESS_WORKERS];

	for (unsigned i = 0; i < HELD_BLOCKS; i++)
		w->held[i].idx = -1;
	for (uint64_t n = 0; !atomic_load_explicit(&stress_stop, memory_order_relaxed); n++) {
		struct item it;
		if (!make_item(w, &it))
			break;
		/* A full ring: the next worker is behind, and it may itself
		 * wait on a full ring, so take from ours meanwhile (the four
		 * rings can never all stay full). */
		bool pushed;
		while (!(pushed = ring_push(w->out, &it))) {
			if (atomic_load_explicit(&stress_stop, memory_order_relaxed))
				break;
			consume_one(w);
		}
		if (!pushed)
			free_item(w->load, &it);
		for (int k = 0; k < 2; k++)
			consume_one(w);
		if (n % 4 == 0)
			churn_frames(w);
	}
	for (unsigned i = 0; i < HELD_BLOCKS; i++)
		release_block(w, &w->held[i]);
	atomic_store_explicit(&w->producing_done, true, memory_order_release);
	/* Everything the previous worker made is freed here: its last push
	 * comes before its producing_done, so an empty ring after seeing it
	 * stays empty. */
	for (;;) {
		bool done = atomic_load_explicit(&prev->producing_done, memory_order_acquire);
		if (consume_one(w))
			continue;
		if (done)
			break;
		sched_yield();  /* two CPUs, a dozen threads: let it finish */
	}
	return NULL;
}

static void check_dump(struct mm_load *l, size_t need, const char *what, const char *start)
{
	if (need >= l->dump_len)
		return;         /* cut short: the arena grew past the buffer, fine */
	if (strncmp(l->dump, start, strlen(start)))
		stress_fail("checker: %s does not start with \"%s\": %.80s", what, start, l->dump);
}

static void *checker_main(void *arg)
{
	struct mm_load *l = arg;
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];

	while (!atomic_load_explicit(&stress_stop, memory_order_relaxed)) {
		int rc = mm_arena_check_frames(l->arena, counts);
		if (rc == 0)
			l->checks++;
		else if (rc == -EBUSY)
			l->busy++;
		else
			stress_fail("checker: I1 does not hold while the caches move: %s (%d)",
				    strerror(-rc), rc);
		size_t need = slab_format_slabinfo(l->arena, l->dump, l->dump_len);
		check_dump(l, need, "slabinfo", "slabinfo - version: 2.1");
		need = mm_format_buddyinfo(l->arena, l->dump, l->dump_len);
		check_dump(l, need, "buddyinfo", "Node 0, zone");
		l->dumps += 2;
	}
	return NULL;
}

struct mm_load *mm_load_start(struct mm_arena *a)
{
	struct mm_load *l = calloc(1, sizeof(*l));
	/* Under SLUB, kmalloc's objects go round through the sheaves and the
	 * barn; this cache has none, so its frees on other threads take the
	 * lock-free remote path into slabs another thread holds. */
	struct slab_cache_params p = { .size = OBJ_SIZE, .order = -1,
				       .flags = SLAB_F_NO_MERGE | SLAB_F_NO_SHEAVES };

	if (!l) {
		stress_fail("mm load: out of memory");
		return NULL;
	}
	l->arena = a;
	l->zone = mm_zone_get(a, ZONE_NORMAL);
	l->dump_len = 64 << 10;
	l->dump = malloc(l->dump_len);
	l->cache = slab_cache_create(a, CACHE_NAME, &p);
	if (!l->dump || !l->cache) {
		stress_fail("mm load: %s", !l->dump ? "out of memory" : "slab_cache_create failed");
		return l;
	}
	for (unsigned i = 0; i < STRESS_WORKERS; i++) {
		struct worker *w = &l->workers[i];
		w->load = l;
		w->id = i;
		w->out = &l->rings[i];
		w->in = &l->rings[(i + STRESS_WORKERS - 1) % STRESS_WORKERS];
		w->rng = 0x9e3779b97f4a7c15ull * (i + 1);
	}
	for (unsigned i = 0; i < STRESS_WORKERS; i++) {
		struct worker *w = &l->workers[i];
		w->started = stress_thread_start(&w->thread, worker_main, w, "an mm worker");
		if (!w->started)
			/* Its peers wait for its last object; it has none. */
			atomic_store(&w->producing_done, true);
	}
	l->checker_started = stress_thread_start(&l->checker, checker_main, l, "the I1 checker");
	return l;
}

void mm_load_join(struct mm_load *l, struct mm_load_counts *out)
{
	memset(out, 0, sizeof(*out));
	if (!l)
		return;
	for (unsigned i = 0; i < STRESS_WORKERS; i++) {
		struct worker *w = &l->workers[i];
		if (w->started)
			stress_thread_join(w->thread, "an mm worker");
		out->objects += w->objects;
		out->frame_blocks += w->frame_blocks;
	}
	if (l->checker_started)
		stress_thread_join(l->checker, "the I1 checker");
	/* A worker that never started leaves its ring to us. */
	struct item it;
	for (unsigned i = 0; i < STRESS_WORKERS; i++)
		while (ring_pop(&l->rings[i], &it))
			free_item(l, &it);
	out->checks = l->checks;
	out->busy = l->busy;
	out->dumps = l->dumps;
}

void mm_load_finish(struct mm_load *l)
{
	struct slab_cache_info info;

	if (!l)
		return;
	if (l->cache) {
		int rc = slab_cache_validate(l->cache);
		if (rc)
			stress_fail("slab_cache_validate(%s): %d", CACHE_NAME, rc);
		slab_cache_get_info(l->cache, &info);
		/* Free objects that arrays still hold (SLAB's shared array)
		 * count as active, as in Linux; they are not in use. */
		if (info.active_objs > info.held_objs)
			stress_fail("%s: %lu objects still in use at the end", CACHE_NAME,
				    info.active_objs - info.held_objs);
		/* Only SLUB tells remote frees apart. */
		if (!strcmp(info.policy, "slub") && !info.free_remote && !stress_failed())
			stress_fail("%s: no remote free reached the slow path", CACHE_NAME);
		slab_cache_destroy(l->cache, CACHE_NAME);
	}
	free(l->dump);
	free(l);
}

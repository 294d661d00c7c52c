/*
 * Per-thread slots for the allocators' lock-free fast paths.
 *
 * Each thread that touches mm/ gets a small index (0 .. MM_MAX_THREADS-1)
 * into the per-thread arrays of zones (frame caches) and slab caches, the
 * userspace stand-in for a CPU number. Owners of such arrays register a drain
 * callback; when a thread exits, every owner gives that thread's slot back.
 * A thread that finds no free index gets MM_NO_THREAD and takes the locked
 * paths, which are always correct.
 */
#ifndef MM_MMTHREAD_H
#define MM_MMTHREAD_H

#define MM_MAX_THREADS 64
#define MM_NO_THREAD (-1)

struct mm_percpu_owner {
	void (*drain)(struct mm_percpu_owner *owner, int thread_idx);
	struct mm_percpu_owner *next, *prev;
};

extern __thread int mm_thread_idx_plus1;
int mm_thread_idx_slow(void);

/* This thread's slot index, or MM_NO_THREAD. */
static inline int mm_thread_idx(void)
{
	int i = mm_thread_idx_plus1;
	return i > 0 ? i - 1 : mm_thread_idx_slow();
}

/* Registers / unregisters an owner of per-thread slots (serialized with
 * thread exits, so a drain never runs on a destroyed owner). */
void mm_percpu_register(struct mm_percpu_owner *owner);
void mm_percpu_unregister(struct mm_percpu_owner *owner);

/* Drains this thread's slot in every owner and gives the index back now
 * (otherwise done at thread exit). */
void mm_thread_release(void);

#endif

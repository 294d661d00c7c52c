/*
 * Per-thread slot indexes (the userspace stand-in for CPU numbers) and the
 * registry of owners of per-thread arrays that must be drained when a thread
 * exits or gives its index back.
 *
 * Two mutexes: the registry's is held across drain callbacks, which take
 * allocator locks; the bitmap's is a leaf, so a thread may ask for its index
 * while holding any allocator lock without ordering against a drain.
 */
#include <pthread.h>
#include <stdint.h>
#include "mmthread.h"

__thread int mm_thread_idx_plus1;

/* A thread that found every index taken asks again after this many calls,
 * instead of taking the bitmap mutex on every allocation. */
#define MM_THREAD_RETRY 64

static pthread_mutex_t bitmap_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t bitmap;
_Static_assert(MM_MAX_THREADS <= 64, "the index bitmap is one word");

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mm_percpu_owner *owners;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int key_error;

/* Set while this thread's slots drain: frees made by drain callbacks (the
 * slab giving frames back) go straight to the locked paths instead of
 * claiming a fresh index for a thread on its way out. */
static __thread int thread_draining;

static void thread_drain_and_free(int idx)
{
	thread_draining = 1;
	pthread_mutex_lock(&registry_lock);
	for (struct mm_percpu_owner *o = owners; o; o = o->next)
		o->drain(o, idx);
	pthread_mutex_unlock(&registry_lock);

	pthread_mutex_lock(&bitmap_lock);
	bitmap &= ~(UINT64_C(1) << idx);
	pthread_mutex_unlock(&bitmap_lock);
	thread_draining = 0;
}

static void thread_exit(void *value)
{
	int idx = (int)(intptr_t)value - 1;

	mm_thread_idx_plus1 = 0;
	thread_drain_and_free(idx);
}

static void key_create(void)
{
	key_error = pthread_key_create(&exit_key, thread_exit);
}

int mm_thread_idx_slow(void)
{
	if (thread_draining)
		return MM_NO_THREAD;
	if (mm_thread_idx_plus1 < 0) {
		mm_thread_idx_plus1++;
		return MM_NO_THREAD;
	}
	pthread_once(&key_once, key_create);
	if (key_error)
		return MM_NO_THREAD;

	int idx = MM_NO_THREAD;
	pthread_mutex_lock(&bitmap_lock);
	if (~bitmap) {
		idx = __builtin_ctzll(~bitmap);
		if (idx < MM_MAX_THREADS)
			bitmap |= UINT64_C(1) << idx;
		else
			idx = MM_NO_THREAD;
	}
	pthread_mutex_unlock(&bitmap_lock);

	if (idx == MM_NO_THREAD) {
		mm_thread_idx_plus1 = -MM_THREAD_RETRY;
		return MM_NO_THREAD;
	}
	/* The key's value is what makes the destructor run at thread exit. */
	if (pthread_setspecific(exit_key, (void *)(intptr_t)(idx + 1))) {
		pthread_mutex_lock(&bitmap_lock);
		bitmap &= ~(UINT64_C(1) << idx);
		pthread_mutex_unlock(&bitmap_lock);
		return MM_NO_THREAD;
	}
	mm_thread_idx_plus1 = idx + 1;
	return idx;
}

void mm_thread_release(void)
{
	int idx = mm_thread_idx_plus1 - 1;

	if (idx < 0)
		return;
	mm_thread_idx_plus1 = 0;
	pthread_setspecific(exit_key, NULL);
	thread_drain_and_free(idx);
}

void mm_percpu_register(struct mm_percpu_owner *owner)
{
	pthread_mutex_lock(&registry_lock);
	owner->prev = NULL;
	owner->next = owners;
	if (owners)
		owners->prev = owner;
	owners = owner;
	pthread_mutex_unlock(&registry_lock);
}

void mm_percpu_unregister(struct mm_percpu_owner *owner)
{
	pthread_mutex_lock(&registry_lock);
	if (owner->prev)
		owner->prev->next = owner->next;
	else if (owners == owner)
		owners = owner->next;
	if (owner->next)
		owner->next->prev = owner->prev;
	owner->next = owner->prev = NULL;
	pthread_mutex_unlock(&registry_lock);
}

/*
 * The concurrency stress program (build/tests/stress-threads): what its
 * parts share. threads.c owns main, the options, the arena and the checks
 * at the end; mm_load.c the allocator load (workers handing objects round
 * a ring, the I1 checker); mon_load.c the QMP monitor, the VM it watches
 * (a stand-in without KVM) and its clients. It is a program of its own, not
 * a Criterion suite, so that it runs under ThreadSanitizer too.
 */
#ifndef TESTS_STRESS_STRESS_H
#define TESTS_STRESS_STRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "mm/arena.h"

/* Set when the time is up or something failed: every loop ends on it. */
extern atomic_bool stress_stop;

/* Reports a failure on stderr (the first few of them) and stops the run;
 * the program then exits 1. Safe from any thread. */
void stress_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool stress_failed(void);
/* Seconds on CLOCK_MONOTONIC. */
double stress_now(void);
/* The thread is started or the run fails with what the error was. */
bool stress_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what);
void stress_thread_join(pthread_t t, const char *what);

/* ---- mm_load.c: the allocators under load ---- */
#define STRESS_WORKERS 4

struct mm_load_counts {
	uint64_t objects;        /* slab and kmalloc objects freed by another thread */
	uint64_t frame_blocks;   /* frame blocks allocated and freed (orders 0..3) */
	uint64_t checks;         /* mm_arena_check_frames: consistent */
	uint64_t busy;           /* ...or busy (a per-thread cache moved each try) */
	uint64_t dumps;          /* slabinfo and buddyinfo texts formatted */
};

struct mm_load;
/* Creates the cache and starts the workers and the checker on a. */
struct mm_load *mm_load_start(struct mm_arena *a);
/* After stress_stop: joins them; every object is freed by then. */
void mm_load_join(struct mm_load *l, struct mm_load_counts *out);
/* Validates the cache (0), checks nothing is left in it and destroys it. */
void mm_load_finish(struct mm_load *l);

/* ---- mon_load.c: the monitor and its clients ---- */
#define STRESS_CLIENTS 8

struct mon_load_counts {
	uint64_t replies;        /* replies checked, every client */
	uint64_t frames_busy;    /* x-query-frames / info frames zones that said busy */
	uint64_t stops, conts;   /* run-control round trips */
	uint64_t mute_sent;      /* requests sent by the client that never reads */
	bool mute_dropped;       /* the monitor dropped it for its queue */
};

struct mon_load;
/* Guest RAM and the devices of a default configuration on a, the monitor
 * on a socket in a new temporary directory, and the clients. */
struct mon_load *mon_load_start(struct mm_arena *a, uint64_t ram_bytes);
/* After stress_stop: joins the clients, sends quit, stops the monitor. */
void mon_load_join(struct mon_load *l, struct mon_load_counts *out);
/* Destroys the devices and guest RAM and removes the directory. */
void mon_load_finish(struct mon_load *l);

#endif

/*
 * Output that never blocks the VMM: the guest's console and the VMM's own
 * log (crash reports, unhandled accesses, the exit summary) go into a
 * bounded buffer that a writer thread of their own empties into the file
 * descriptor. A reader that is slow or gone (a pipe nobody reads, a stopped
 * terminal) only fills the buffer: what does not fit is dropped and counted,
 * and no vCPU, device or monitor thread ever waits for it. A record is
 * queued whole or dropped whole, so lines are never cut.
 */
#ifndef VMM_DEVICES_OUTPUT_H
#define VMM_DEVICES_OUTPUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/arena.h"

struct out_stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;         /* data queued, data written, stop */
	int fd;
	struct mm_arena *arena;
	char *buf;                   /* ring of cap bytes, from the arena's kvmalloc */
	size_t cap, head, len;
	bool writing;                /* the writer is in write(2) with [head, head + n) */
	bool stop, started;
	uint64_t written, dropped;   /* bytes that reached fd; bytes given up */
	uint64_t progress_ns;        /* the last write, or data queued when empty */
	pthread_t thread;
};

struct out_stream_stats {
	uint64_t written, dropped, queued;
};

/* cap bytes of buffer; 0 or -errno (nothing to destroy then). */
int out_stream_init(struct out_stream *s, int fd, size_t cap, struct mm_arena *a);
/* Flushes (out_stream_flush), then stops the writer (cancelling a write(2)
 * that still blocks) and frees the buffer; what was left is counted as
 * dropped. */
void out_stream_destroy(struct out_stream *s, unsigned stall_ms);

/* Queues len bytes, or drops them all when they do not fit. Never waits for
 * the reader. true when queued. */
bool out_stream_write(struct out_stream *s, const void *p, size_t len);
/* printf into the stream, one record (at most 4 KiB). */
bool out_stream_printf(struct out_stream *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Waits for the queue to empty while the reader keeps taking it: gives up
 * once nothing has been written for stall_ms (at once for a reader stalled
 * that long already). true when the queue emptied. */
bool out_stream_flush(struct out_stream *s, unsigned stall_ms);
void out_stream_get_stats(struct out_stream *s, struct out_stream_stats *out);

#endif

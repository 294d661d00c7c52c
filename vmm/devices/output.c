/*
 * Non-blocking output (output.h). Producers copy into the ring under the
 * lock and return; the writer thread writes from the ring without the lock
 * (producers only fill free space, never the range being written).
 *
 * The writer waits for the descriptor with poll(2) and writes at most
 * PIPE_BUF bytes at a time, so a write to a pipe that poll says is writable
 * does not block. Whatever else could block it (a terminal under flow
 * control) is cut short at destroy: write(2) and poll(2) are cancellation
 * points and the writer holds no lock there, so it can be cancelled.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mm/kmalloc.h"
#include "vmm/devices/output.h"

/* How often a writer waiting on a full descriptor looks at stop. */
#define OUT_POLL_MS 100

static uint64_t out_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct timespec out_timespec(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ULL),
				  .tv_nsec = (long)(ns % 1000000000ULL) };
}

/* One write of [head, head + n); returns what it wrote, 0 when the
 * descriptor is not writable yet, -1 when it never will be. */
static ssize_t out_write_once(struct out_stream *s, size_t n)
{
	struct pollfd p = { .fd = s->fd, .events = POLLOUT };

	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	int r = poll(&p, 1, OUT_POLL_MS);
	ssize_t w = 0;
	if (r > 0 && (p.revents & (POLLOUT | POLLERR | POLLHUP | POLLNVAL)))
		w = write(s->fd, s->buf + s->head, n);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	if (w < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	return w < 0 || (r > 0 && (p.revents & POLLNVAL)) ? -1 : w;
}

static void *out_writer(void *arg)
{
	struct out_stream *s = arg;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->len && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->len)
			break;
		size_t n = s->cap - s->head < s->len ? s->cap - s->head : s->len;
		if (n > PIPE_BUF)
			n = PIPE_BUF;
		s->writing = true;
		pthread_mutex_unlock(&s->lock);
		ssize_t w = out_write_once(s, n);
		pthread_mutex_lock(&s->lock);
		s->writing = false;
		if (w < 0) {
			/* The reader is gone (EPIPE, a closed descriptor): what is
			 * queued, and what comes later, is dropped. */
			s->dropped += s->len;
			s->head = s->len = 0;
		} else if (w > 0) {
			s->head = (s->head + (size_t)w) % s->cap;
			s->len -= (size_t)w;
			s->written += (uint64_t)w;
			s->progress_ns = out_now_ns();
		} else if (s->stop) {
			break;
		}
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int out_stream_init(struct out_stream *s, int fd, size_t cap, struct mm_arena *a)
{
	pthread_condattr_t ca;

	*s = (struct out_stream){ .fd = fd, .arena = a, .cap = cap };
	s->buf = kvmalloc(a, cap);
	if (!s->buf)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&s->thread, NULL, out_writer, s);
	if (rc) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		kvfree(a, s->buf);
		s->buf = NULL;
		return -rc;
	}
	s->started = true;
	return 0;
}

bool out_stream_write(struct out_stream *s, const void *p, size_t len)
{
	bool fits;

	pthread_mutex_lock(&s->lock);
	fits = !s->stop && len <= s->cap - s->len;
	if (fits) {
		size_t tail = (s->head + s->len) % s->cap;
		size_t first = s->cap - tail < len ? s->cap - tail : len;
		memcpy(s->buf + tail, p, first);
		memcpy(s->buf, (const char *)p + first, len - first);
		if (!s->len)
			s->progress_ns = out_now_ns();
		s->len += len;
		pthread_cond_broadcast(&s->cond);
	} else {
		s->dropped += len;
	}
	pthread_mutex_unlock(&s->lock);
	return fits;
}

bool out_stream_printf(struct out_stream *s, const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	return out_stream_write(s, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

bool out_stream_flush(struct out_stream *s, unsigned stall_ms)
{
	uint64_t stall = (uint64_t)stall_ms * 1000000ULL;

	pthread_mutex_lock(&s->lock);
	while ((s->len || s->writing) && out_now_ns() - s->progress_ns < stall) {
		struct timespec until = out_timespec(s->progress_ns + stall);
		pthread_cond_timedwait(&s->cond, &s->lock, &until);
	}
	bool empty = !s->len && !s->writing;
	pthread_mutex_unlock(&s->lock);
	return empty;
}

void out_stream_get_stats(struct out_stream *s, struct out_stream_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = (struct out_stream_stats){ .written = s->written, .dropped = s->dropped,
					  .queued = s->len };
	pthread_mutex_unlock(&s->lock);
}

void out_stream_destroy(struct out_stream *s, unsigned stall_ms)
{
	struct timespec until;

	if (!s->started)
		return;
	out_stream_flush(s, stall_ms);
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	/* The writer leaves within OUT_POLL_MS unless a write(2) blocks. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 3L * OUT_POLL_MS * 1000000L / 2;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	if (pthread_timedjoin_np(s->thread, NULL, &until)) {
		pthread_cancel(s->thread);
		pthread_join(s->thread, NULL);
	}
	s->dropped += s->len;
	s->len = 0;
	s->started = false;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	kvfree(s->arena, s->buf);
	s->buf = NULL;
}

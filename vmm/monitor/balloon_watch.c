/*
 * Listening to the balloon's `actual` for BALLOON_CHANGE (balloon_watch.h).
 */
#include <unistd.h>
#include "vmm/monitor/balloon_watch.h"
#include "vmm/monitor/qmp/balloon_ref.h"

static void watch_listener(void *arg, uint32_t actual_pages)
{
	struct balloon_watch *w = arg;

	pthread_mutex_lock(&w->lock);
	if (w->actual_pages != actual_pages) {
		w->actual_pages = actual_pages;
		w->changed = true;
		if (w->wake_fd >= 0) {
			uint64_t one = 1;
			/* Fails only when the counter is full, which wakes the
			 * thread anyway. */
			ssize_t n = write(w->wake_fd, &one, sizeof(one));
			(void)n;
		}
	}
	pthread_mutex_unlock(&w->lock);
}

void balloon_watch_start(struct balloon_watch *w, const struct vm_control *t, int wake_fd)
{
	struct balloon_ref r;

	*w = (struct balloon_watch){ .wake_fd = wake_fd };
	pthread_mutex_init(&w->lock, NULL);
	if (!balloon_ref_get(t, &r))
		return;
	struct virtio_balloon_info info;
	virtio_balloon_get_info(r.b, &info);
	w->actual_pages = info.actual;
	w->ram_bytes = r.ram_bytes;
	w->listening = true;
	virtio_balloon_set_listener(r.b, watch_listener, w);
	balloon_ref_put(&r);
}

void balloon_watch_stop(struct balloon_watch *w, const struct vm_control *t)
{
	struct balloon_ref r;

	/* A balloon already gone took its listener with it. */
	if (w->listening && balloon_ref_get(t, &r)) {
		virtio_balloon_set_listener(r.b, NULL, NULL);
		balloon_ref_put(&r);
	}
	w->listening = false;
	pthread_mutex_destroy(&w->lock);
}

bool balloon_watch_take(struct balloon_watch *w, uint64_t *actual_bytes)
{
	pthread_mutex_lock(&w->lock);
	bool changed = w->changed;
	if (changed) {
		w->changed = false;
		*actual_bytes = balloon_logical_bytes(w->ram_bytes, w->actual_pages);
	}
	pthread_mutex_unlock(&w->lock);
	return changed;
}

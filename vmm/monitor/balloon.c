/*
 * The balloons the monitor can reach, by target ctx (monitor/balloon.h),
 * and the `actual` changes waiting to become BALLOON_CHANGE events. The
 * listener runs on the thread of the driver's config write; the commands
 * and the event run on the monitor's thread; one lock covers the list.
 *
 * The list's entries are VMM metadata: kzalloc'd on an arena (the guest
 * memory's for an attach, the monitor's for a wake descriptor), and each
 * remembers its arena so mb_drop frees it there whoever created it.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include "vmm/memory/guest_mem.h"
#include "mm/kmalloc.h"
#include "vmm/monitor/balloon.h"
#include "vmm/devices/virtio/balloon/balloon.h"

#define MB_PAGE_SHIFT VIRTIO_BALLOON_PFN_SHIFT

struct mb_entry {
	void *ctx;
	struct mm_arena *arena;      /* the entry came from its kzalloc */
	struct virtio_balloon *dev;
	struct guest_mem *gm;
	struct mb_entry *next;
	int wake_fd;
	bool changed;
	uint32_t actual_pages;       /* the latest the driver wrote */
};

static pthread_mutex_t mb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mb_entry *mb_list;

/* ctx's entry (which may hold only a wake descriptor), under mb_lock. */
static struct mb_entry *mb_entry_of(void *ctx)
{
	struct mb_entry *e = mb_list;

	while (e && e->ctx != ctx)
		e = e->next;
	return e;
}

/* ctx's entry if it has a balloon attached, under mb_lock. */
static struct mb_entry *mb_find(void *ctx)
{
	struct mb_entry *e = mb_entry_of(ctx);

	return e && e->dev ? e : NULL;
}

/* Unlinks and frees e, under mb_lock. */
static void mb_drop(struct mb_entry *e)
{
	for (struct mb_entry **pp = &mb_list; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			kfree(e->arena, e);
			return;
		}
	}
}

static uint64_t mb_logical(const struct mb_entry *e, uint32_t pages)
{
	uint64_t ram = guest_mem_ram_bytes(e->gm), gone = (uint64_t)pages << MB_PAGE_SHIFT;

	return gone < ram ? ram - gone : 0;
}

static void mb_listener(void *arg, uint32_t actual_pages)
{
	void *ctx = arg;

	pthread_mutex_lock(&mb_lock);
	struct mb_entry *e = mb_find(ctx);
	if (e && e->actual_pages != actual_pages) {
		e->actual_pages = actual_pages;
		e->changed = true;
		if (e->wake_fd >= 0) {
			uint64_t one = 1;
			/* Fails only when the counter is full, which wakes the
			 * thread anyway. */
			ssize_t n = write(e->wake_fd, &one, sizeof(one));
			(void)n;
		}
	}
	pthread_mutex_unlock(&mb_lock);
}

int monitor_balloon_attach(void *ctx, struct virtio_balloon *b, struct guest_mem *gm)
{
	struct virtio_balloon_info info;

	monitor_balloon_detach(ctx);
	virtio_balloon_get_info(b, &info);
	pthread_mutex_lock(&mb_lock);
	struct mb_entry *e = mb_entry_of(ctx);
	if (!e) {
		/* The VM's arena, which outlives the attachment: detach comes
		 * before the guest memory (and its arena) is destroyed. */
		struct mm_arena *a = guest_mem_arena(gm);
		e = kzalloc(a, sizeof(*e));
		if (!e) {
			pthread_mutex_unlock(&mb_lock);
			return -ENOMEM;
		}
		*e = (struct mb_entry){ .ctx = ctx, .arena = a, .wake_fd = -1, .next = mb_list };
		mb_list = e;
	}
	e->dev = b;
	e->gm = gm;
	e->actual_pages = info.actual;
	e->changed = false;
	pthread_mutex_unlock(&mb_lock);
	virtio_balloon_set_listener(b, mb_listener, ctx);
	return 0;
}

void monitor_balloon_detach(void *ctx)
{
	pthread_mutex_lock(&mb_lock);
	struct mb_entry *e = mb_find(ctx);
	struct virtio_balloon *old = e ? e->dev : NULL;
	if (e) {
		e->dev = NULL;
		e->gm = NULL;
		if (e->wake_fd < 0)
			mb_drop(e);
	}
	pthread_mutex_unlock(&mb_lock);
	/* Returns once no listener call is under way; a late one finds no
	 * balloon under ctx and does nothing. */
	if (old)
		virtio_balloon_set_listener(old, NULL, NULL);
}

void monitor_balloon_set_wake(void *ctx, struct mm_arena *a, int fd)
{
	pthread_mutex_lock(&mb_lock);
	struct mb_entry *e = mb_entry_of(ctx);
	if (!e && fd >= 0) {
		/* The monitor may start before the balloon is attached. */
		e = kzalloc(a, sizeof(*e));
		if (e) {
			*e = (struct mb_entry){ .ctx = ctx, .arena = a, .next = mb_list };
			mb_list = e;
		}
	}
	if (e) {
		e->wake_fd = fd;
		if (fd < 0 && !e->dev)
			mb_drop(e);
	}
	pthread_mutex_unlock(&mb_lock);
}

struct virtio_balloon *monitor_balloon_device(void *ctx, struct guest_mem **gm)
{
	pthread_mutex_lock(&mb_lock);
	struct mb_entry *e = mb_find(ctx);
	struct virtio_balloon *b = e ? e->dev : NULL;
	if (e && gm)
		*gm = e->gm;
	pthread_mutex_unlock(&mb_lock);
	return b;
}

int monitor_balloon_request(void *ctx, uint64_t target_bytes)
{
	pthread_mutex_lock(&mb_lock);
	struct mb_entry *e = mb_find(ctx);
	if (!e) {
		pthread_mutex_unlock(&mb_lock);
		return -ENODEV;
	}
	uint64_t ram = guest_mem_ram_bytes(e->gm);
	uint64_t pages = target_bytes < ram ? (ram - target_bytes) >> MB_PAGE_SHIFT : 0;
	struct virtio_balloon *b = e->dev;
	pthread_mutex_unlock(&mb_lock);
	virtio_balloon_set_target(b, pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages);
	return 0;
}

/* The logical VM size that the driver's `actual` (target false) or the
 * host's target (true) leaves; -ENODEV without a balloon. */
static int mb_size(void *ctx, bool target, uint64_t *bytes)
{
	pthread_mutex_lock(&mb_lock);
	struct mb_entry *e = mb_find(ctx);
	if (e) {
		struct virtio_balloon_info info;
		virtio_balloon_get_info(e->dev, &info);
		*bytes = mb_logical(e, target ? info.num_pages : info.actual);
	}
	pthread_mutex_unlock(&mb_lock);
	return e ? 0 : -ENODEV;
}

int monitor_balloon_actual(void *ctx, uint64_t *actual_bytes)
{
	return mb_size(ctx, false, actual_bytes);
}

int monitor_balloon_target(void *ctx, uint64_t *target_bytes)
{
	return mb_size(ctx, true, target_bytes);
}

bool monitor_balloon_take_change(void *ctx, uint64_t *actual_bytes)
{
	pthread_mutex_lock(&mb_lock);
	struct mb_entry *e = mb_find(ctx);
	bool changed = e && e->changed;
	if (changed) {
		e->changed = false;
		*actual_bytes = mb_logical(e, e->actual_pages);
	}
	pthread_mutex_unlock(&mb_lock);
	return changed;
}

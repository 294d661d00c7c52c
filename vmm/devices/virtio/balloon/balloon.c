/*
 * virtio-balloon's queues and config space. PFN and stats buffers are copied
 * out of guest RAM before anything is done with them, so the guest cannot
 * change a PFN between its check and its use; a buffer of the wrong shape
 * (writable, longer than 256 PFNs, not whole records) is returned unread and
 * counted. A deflate buffer is used only after every PFN in it has its
 * frame back, so the guest (with MUST_TELL_HOST, which waits for that)
 * never reuses a page that has none: one whose PFNs could not all get a
 * frame is held, and its GFNs that still have none are retried whenever the
 * driver notifies a queue or the host sets a new target, until they do.
 */
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "vmm/memory/balloon_mem.h"
#include "vmm/devices/virtio/balloon/balloon.h"
#include "vmm/devices/virtio/balloon/report.h"

#define VIRTIO_BALLOON_MAX_STATS 64

/* One PFN buffer, copied out of guest RAM, and its GFNs. */
struct virtio_balloon_batch {
	uint32_t pfns[VIRTIO_BALLOON_MAX_PFNS];
	uint64_t gfns[VIRTIO_BALLOON_MAX_PFNS];
};

struct virtio_balloon {
	struct virtio_mmio mmio;
	/* The transport's ops: the features and queues offered depend on
	 * whether reporting is on. */
	struct virtio_mmio_device_ops ops;
	struct mm_arena *arena;
	struct slab_cache *batch_cache;         /* "balloon_batch" */
	struct guest_mem *gm;
	uint32_t num_pages, actual;
	struct virtio_balloon_info counters;   /* num_pages/actual/driver_ok unused */
	bool stats_held;
	uint16_t stats_head;
	/* The deflate buffer held for want of frames, and its GFNs that have
	 * none yet (held_gfns->gfns[0 .. held_nr)). */
	struct virtio_balloon_batch *held_gfns;
	uint16_t held_head;
	unsigned held_nr;
	/* The last `actual` the listener has not heard yet (unlocked op). */
	atomic_bool actual_pending;
	pthread_mutex_t listener_lock;
	virtio_balloon_actual_fn listener;
	void *listener_arg;
};

static struct virtio_balloon *balloon_of_transport(struct virtio_mmio *t)
{
	return t->dev;
}

static void virtio_balloon_config_read(struct virtio_mmio *t, uint32_t off, void *buf, unsigned len)
{
	struct virtio_balloon *b = balloon_of_transport(t);
	uint32_t cfg[VIRTIO_BALLOON_CONFIG_SIZE / 4] = {
		[VIRTIO_BALLOON_CFG_NUM_PAGES / 4] = htole32(b->num_pages),
		[VIRTIO_BALLOON_CFG_ACTUAL / 4] = htole32(b->actual),
	};

	memcpy(buf, (uint8_t *)cfg + off, len);
}

/* Only `actual` is the driver's to write. */
static void virtio_balloon_config_write(struct virtio_mmio *t, uint32_t off, const void *buf,
					unsigned len)
{
	struct virtio_balloon *b = balloon_of_transport(t);

	if (off < VIRTIO_BALLOON_CFG_ACTUAL || off + len > VIRTIO_BALLOON_CFG_ACTUAL + 4) {
		b->counters.bad_config_writes++;
		return;
	}
	uint32_t actual = htole32(b->actual);
	memcpy((uint8_t *)&actual + (off - VIRTIO_BALLOON_CFG_ACTUAL), buf, len);
	actual = le32toh(actual);
	if (actual != b->actual) {
		b->actual = actual;
		atomic_store(&b->actual_pending, true);
	}
}

/* Copies a device-readable chain into buf; false if it is not one or too long. */
static bool virtio_balloon_gather(const struct virtq_elem *e, void *buf, uint64_t cap)
{
	uint8_t *p = buf;

	if (e->nr_in || e->out_bytes > cap)
		return false;
	for (unsigned i = 0; i < e->nr_out; i++) {
		memcpy(p, e->out[i].hva, e->out[i].len);
		p += e->out[i].len;
	}
	return true;
}

/* Keeps bt's GFNs that are still ballooned; how many. */
static unsigned virtio_balloon_unserved(struct virtio_balloon *b, struct virtio_balloon_batch *bt,
					unsigned n)
{
	unsigned left = 0;

	for (unsigned i = 0; i < n; i++)
		if (balloon_mem_is_ballooned(b->gm, bt->gfns[i]))
			bt->gfns[left++] = bt->gfns[i];
	return left;
}

/*
 * Retries the held deflate's GFNs; true when the buffer went back to the
 * driver (nothing is held any more). Called with the transport's lock.
 */
static bool virtio_balloon_retry_held(struct virtio_balloon *b)
{
	struct balloon_mem_result res;

	if (!b->held_gfns)
		return true;
	balloon_mem_deflate_batch(b->gm, b->held_gfns->gfns, b->held_nr, &res);
	b->counters.deflated_pfns += res.done;
	b->held_nr = virtio_balloon_unserved(b, b->held_gfns, b->held_nr);
	if (b->held_nr)
		return false;
	slab_free(b->batch_cache, b->held_gfns);
	b->held_gfns = NULL;
	virtq_push(&b->mmio.vq[VIRTIO_BALLOON_Q_DEFLATE], b->held_head, 0);
	virtio_mmio_interrupt(&b->mmio, VIRTIO_INT_USED);
	return true;
}

/* Serves one PFN buffer; false when it is held (a deflate short of
 * frames) and must not be used yet. */
static bool virtio_balloon_pfns(struct virtio_balloon *b, const struct virtq_elem *e, bool inflate)
{
	struct virtio_balloon_batch *bt = slab_alloc(b->batch_cache);
	struct balloon_mem_result res;

	if (!bt) {
		/* Used unread: the driver sees its PFNs were not taken (inflate)
		 * or may retry (deflate); nothing changed here. */
		b->counters.failed_pfns += e->out_bytes / 4;
		return true;
	}
	if (!virtio_balloon_gather(e, bt->pfns, sizeof(bt->pfns)) || e->out_bytes % 4) {
		b->counters.bad_buffers++;
		slab_free(b->batch_cache, bt);
		return true;
	}
	unsigned n = (unsigned)(e->out_bytes / 4);
	/* A 32-bit PFN widened before any shift: no overflow. */
	for (unsigned i = 0; i < n; i++)
		bt->gfns[i] = le32toh(bt->pfns[i]);
	if (inflate) {
		balloon_mem_inflate_batch(b->gm, bt->gfns, n, &res);
		b->counters.inflated_pfns += res.done;
	} else {
		balloon_mem_deflate_batch(b->gm, bt->gfns, n, &res);
		b->counters.deflated_pfns += res.done;
	}
	b->counters.bogus_pfns += res.bogus;
	b->counters.failed_pfns += res.failed;
	if (!inflate && res.failed) {
		b->held_nr = virtio_balloon_unserved(b, bt, n);
		if (b->held_nr) {
			b->held_gfns = bt;
			b->held_head = e->head;
			return false;
		}
	}
	slab_free(b->batch_cache, bt);
	return true;
}

static void virtio_balloon_stats(struct virtio_balloon *b, const struct virtq_elem *e)
{
	uint8_t recs[VIRTIO_BALLOON_MAX_STATS * VIRTIO_BALLOON_STAT_BYTES];

	if (!virtio_balloon_gather(e, recs, sizeof(recs)) ||
	    e->out_bytes % VIRTIO_BALLOON_STAT_BYTES) {
		b->counters.bad_buffers++;
		return;
	}
	for (uint64_t off = 0; off < e->out_bytes; off += VIRTIO_BALLOON_STAT_BYTES) {
		uint16_t tag;
		uint64_t val;
		memcpy(&tag, recs + off, 2);
		memcpy(&val, recs + off + 2, 8);
		tag = le16toh(tag);
		if (tag >= VIRTIO_BALLOON_S_NR)
			continue;
		b->counters.guest_stats[tag] = le64toh(val);
		b->counters.stats_valid |= 1u << tag;
	}
	b->counters.stats_updates++;
	b->counters.stats_last_update = (uint64_t)time(NULL);
}

static void virtio_balloon_queue_notify(struct virtio_mmio *t, unsigned qi)
{
	struct virtio_balloon *b = balloon_of_transport(t);
	struct virtq *q = &t->vq[qi];
	enum virtio_balloon_queue role = virtio_balloon_queue_role(t->driver_features, qi);
	struct virtq_elem e;
	bool used = false;

	/* A held deflate first: an inflate may have freed frames for it. The
	 * deflate queue waits behind it, in order. */
	if (!virtio_balloon_retry_held(b) && role == VB_QUEUE_DEFLATE)
		return;
	if (role == VB_QUEUE_REPORTING) {
		if (virtio_balloon_report_serve(t, q, b->gm, &b->counters))
			virtio_mmio_interrupt(t, VIRTIO_INT_USED);
		return;
	}
	/* One ring's worth per call, so a guest that keeps refilling cannot
	 * hold the lock (and the monitor waiting on it) for ever. */
	for (unsigned n = 0; n < q->size; n++) {
		enum virtq_pop_result r = virtq_pop(q, t->gm, &e);
		if (r == VIRTQ_EMPTY)
			break;
		if (r == VIRTQ_BROKEN) {
			b->counters.broken_rings++;
			virtio_mmio_needs_reset(t);
			break;
		}
		if (r == VIRTQ_BAD_CHAIN || role == VB_QUEUE_NONE) {
			/* Or a queue the features do not give the driver:
			 * its buffers go back unread. */
			b->counters.bad_buffers++;
		} else if (role == VB_QUEUE_STATS) {
			virtio_balloon_stats(b, &e);
			/* Kept until the host wants fresh numbers (5.5.6.3);
			 * a second buffer replaces the first. */
			if (b->stats_held) {
				virtq_push(q, b->stats_head, 0);
				used = true;
			}
			b->stats_held = true;
			b->stats_head = e.head;
			continue;
		} else if (!virtio_balloon_pfns(b, &e, role == VB_QUEUE_INFLATE)) {
			break;      /* held: the rest of the deflate queue waits */
		}
		virtq_push(q, e.head, 0);
		used = true;
	}
	if (used)
		virtio_mmio_interrupt(t, VIRTIO_INT_USED);
}

/* Drops a held deflate without using it (its ring is gone); its GFNs stay
 * ballooned, and a later deflate of them gives them frames. */
static void virtio_balloon_drop_held(struct virtio_balloon *b)
{
	if (b->held_gfns)
		slab_free(b->batch_cache, b->held_gfns);
	b->held_gfns = NULL;
	b->held_nr = 0;
}

static void virtio_balloon_reset(struct virtio_mmio *t)
{
	struct virtio_balloon *b = balloon_of_transport(t);

	b->stats_held = false;
	virtio_balloon_drop_held(b);
}

static void virtio_balloon_unlocked(struct virtio_mmio *t)
{
	struct virtio_balloon *b = balloon_of_transport(t);

	if (!atomic_exchange(&b->actual_pending, false))
		return;
	pthread_mutex_lock(&t->lock);
	uint32_t actual = b->actual;
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_lock(&b->listener_lock);
	if (b->listener)
		b->listener(b->listener_arg, actual);
	pthread_mutex_unlock(&b->listener_lock);
	/* The guest's memory just changed: ask for its figures, so the
	 * stats shown are the ones after the change. */
	virtio_balloon_request_stats(b);
}

/* Without reporting; create adds its feature and queue when it is on. */
static const struct virtio_mmio_device_ops virtio_balloon_ops = {
	.device_id = VIRTIO_ID_BALLOON,
	.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BALLOON_F_MUST_TELL_HOST) |
		    (1ull << VIRTIO_BALLOON_F_STATS_VQ) | (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM),
	.nr_queues = 3,
	.queue_max = VIRTIO_BALLOON_QUEUE_MAX,
	.config_size = VIRTIO_BALLOON_CONFIG_SIZE,
	.config_read = virtio_balloon_config_read,
	.config_write = virtio_balloon_config_write,
	.queue_notify = virtio_balloon_queue_notify,
	.reset = virtio_balloon_reset,
	.unlocked = virtio_balloon_unlocked,
};

int virtio_balloon_create(struct mm_arena *a, struct guest_mem *gm, uint64_t base, unsigned irq,
			  virtio_mmio_irq_fn irq_fn, void *irq_arg, uint32_t num_pages,
			  bool reporting, struct virtio_balloon **out)
{
	struct virtio_balloon *b = kzalloc(a, sizeof(*b));

	struct slab_cache_params p = { .size = sizeof(struct virtio_balloon_batch), .order = -1 };

	if (!b)
		return -ENOMEM;
	b->batch_cache = slab_cache_create(a, "balloon_batch", &p);
	if (!b->batch_cache || balloon_mem_attach(gm)) {
		if (b->batch_cache)
			slab_cache_destroy(b->batch_cache, "balloon_batch");
		kfree(a, b);
		return -ENOMEM;
	}
	b->arena = a;
	b->gm = gm;
	b->num_pages = num_pages;
	pthread_mutex_init(&b->listener_lock, NULL);
	b->ops = virtio_balloon_ops;
	if (reporting) {
		b->ops.features |= 1ull << VIRTIO_BALLOON_F_REPORTING;
		b->ops.nr_queues = (unsigned)virtio_balloon_queue_index(b->ops.features,
									VB_QUEUE_REPORTING) + 1;
	}
	b->counters.reporting_offered = reporting;
	virtio_mmio_init(&b->mmio, &b->ops, b, gm, base, irq, irq_fn, irq_arg);
	*out = b;
	return 0;
}

void virtio_balloon_destroy(struct virtio_balloon *b)
{
	if (!b)
		return;
	virtio_balloon_drop_held(b);
	virtio_mmio_destroy(&b->mmio);
	balloon_mem_forget(b->gm);
	slab_cache_destroy(b->batch_cache, "balloon_batch");
	pthread_mutex_destroy(&b->listener_lock);
	kfree(b->arena, b);
}

struct virtio_mmio *virtio_balloon_mmio(struct virtio_balloon *b)
{
	return &b->mmio;
}

void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t num_pages)
{
	pthread_mutex_lock(&b->mmio.lock);
	virtio_balloon_retry_held(b);
	if (b->num_pages != num_pages) {
		b->num_pages = num_pages;
		/* Before DRIVER_OK the driver reads the config itself (2.1). */
		if (b->mmio.status & VIRTIO_STATUS_DRIVER_OK)
			virtio_mmio_interrupt(&b->mmio, VIRTIO_INT_CONFIG);
		else
			b->mmio.config_generation++;
	}
	pthread_mutex_unlock(&b->mmio.lock);
}

void virtio_balloon_set_listener(struct virtio_balloon *b, virtio_balloon_actual_fn fn, void *arg)
{
	pthread_mutex_lock(&b->listener_lock);
	b->listener = fn;
	b->listener_arg = arg;
	pthread_mutex_unlock(&b->listener_lock);
}

void virtio_balloon_get_info(struct virtio_balloon *b, struct virtio_balloon_info *out)
{
	pthread_mutex_lock(&b->mmio.lock);
	*out = b->counters;
	out->num_pages = b->num_pages;
	out->actual = b->actual;
	out->driver_ok = virtio_mmio_live(&b->mmio);
	out->features = b->mmio.driver_features;
	pthread_mutex_unlock(&b->mmio.lock);
}

void virtio_balloon_request_stats(struct virtio_balloon *b)
{
	pthread_mutex_lock(&b->mmio.lock);
	if (b->stats_held && virtio_mmio_live(&b->mmio)) {
		b->stats_held = false;
		virtq_push(&b->mmio.vq[VIRTIO_BALLOON_Q_STATS], b->stats_head, 0);
		virtio_mmio_interrupt(&b->mmio, VIRTIO_INT_USED);
	}
	pthread_mutex_unlock(&b->mmio.lock);
}

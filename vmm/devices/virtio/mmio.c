/*
 * virtio-mmio registers (virtio 1.x 4.2.2, version 2). Every value the driver
 * writes is checked where it is used: queue sizes and ring addresses when a
 * queue is made ready (virtq_enable), features when FEATURES_OK is set,
 * status transitions against what is already set. Wrong widths, unknown
 * offsets and writes to read-only registers are counted and ignored; reads
 * of them return 0. Nothing the driver writes stops the VM.
 */
#include <string.h>
#include "vmm/devices/virtio/mmio.h"

void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_device_ops *ops, void *dev,
		      const struct guest_mem *gm, uint64_t base, unsigned irq,
		      virtio_mmio_irq_fn irq_fn, void *irq_arg)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->ops = ops;
	t->dev = dev;
	t->gm = gm;
	t->base = base;
	t->irq = irq;
	t->irq_fn = irq_fn;
	t->irq_arg = irq_arg;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	pthread_mutex_destroy(&t->lock);
}

static void virtio_mmio_set_line(struct virtio_mmio *t, int level)
{
	if (t->irq_fn)
		t->irq_fn(t->irq_arg, t->irq, level);
}

void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t cause)
{
	if (cause & VIRTIO_INT_CONFIG)
		t->config_generation++;
	t->interrupt_status |= cause;
	virtio_mmio_set_line(t, 1);
}

bool virtio_mmio_live(const struct virtio_mmio *t)
{
	uint32_t need = VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK;

	return (t->status & need) == need &&
	       !(t->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void virtio_mmio_needs_reset(struct virtio_mmio *t)
{
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_mmio_interrupt(t, VIRTIO_INT_CONFIG);
}

static void virtio_mmio_reset(struct virtio_mmio *t)
{
	t->status = 0;
	t->device_features_sel = t->driver_features_sel = 0;
	t->driver_features = 0;
	t->queue_sel = 0;
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_reset(&t->vq[i]);
	if (t->interrupt_status) {
		t->interrupt_status = 0;
		virtio_mmio_set_line(t, 0);
	}
	if (t->ops->reset)
		t->ops->reset(t);
}

/* The selected queue, or NULL if the selector is past the device's queues. */
static struct virtq *virtio_mmio_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->nr_queues ? &t->vq[t->queue_sel] : NULL;
}

static void virtio_mmio_serve(struct virtio_mmio *t, unsigned q)
{
	if (!virtio_mmio_live(t) || q >= t->ops->nr_queues || !t->vq[q].ready) {
		t->bad_notifies++;
		return;
	}
	t->ops->queue_notify(t, q);
}

bool virtio_mmio_notify(struct virtio_mmio *t, unsigned q)
{
	bool more;
	unsigned rounds = 0;

	/* Devices serve a bounded amount per call; the lock is dropped
	 * between rounds so register accesses and the monitor get in, and
	 * after a few rounds the caller serves the other queues first, so a
	 * guest refilling one queue as fast as it is served starves none. */
	do {
		pthread_mutex_lock(&t->lock);
		virtio_mmio_serve(t, q);
		more = virtio_mmio_live(t) && q < t->ops->nr_queues && virtq_has_avail(&t->vq[q]);
		pthread_mutex_unlock(&t->lock);
		if (t->ops->unlocked)
			t->ops->unlocked(t);
	} while (more && ++rounds < VIRTIO_MMIO_NOTIFY_ROUNDS);
	return more;
}

static void virtio_mmio_write_status(struct virtio_mmio *t, uint32_t v)
{
	if (v == 0) {
		virtio_mmio_reset(t);
		return;
	}
	/* Only the device sets NEEDS_RESET; the driver cannot clear a bit. */
	uint32_t keep = t->status & VIRTIO_STATUS_NEEDS_RESET;
	v &= ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET;
	if ((t->status & ~keep) & ~v) {
		t->bad_accesses++;
		return;
	}
	uint32_t added = v & ~t->status;
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		uint64_t offered = t->ops->features | (1ull << VIRTIO_F_VERSION_1);
		if ((t->driver_features & ~offered) ||
		    !(t->driver_features & (1ull << VIRTIO_F_VERSION_1)))
			v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;   /* refused (3.1.1) */
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK))
		v &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
	t->status = v | keep;
	/* Buffers made available before DRIVER_OK (the stats buffer, which
	 * Linux adds during probe) are served now. */
	if ((added & VIRTIO_STATUS_DRIVER_OK) && virtio_mmio_live(t)) {
		for (unsigned q = 0; q < t->ops->nr_queues; q++)
			if (virtq_has_avail(&t->vq[q]))
				t->ops->queue_notify(t, q);
	}
}

static void virtio_mmio_queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t v)
{
	if (v == 0) {
		uint16_t size = q->size;
		uint64_t d = q->desc_gpa, a = q->avail_gpa, u = q->used_gpa;
		virtq_reset(q);
		q->size = size;
		q->desc_gpa = d;
		q->avail_gpa = a;
		q->used_gpa = u;
		return;
	}
	if (q->ready)
		return;
	if (virtq_enable(q, t->gm, t->ops->queue_max)) {
		t->bad_queue_setups++;
		virtio_mmio_needs_reset(t);
	}
}

static void virtio_mmio_set_half(uint64_t *r, bool high, uint32_t v)
{
	if (high)
		*r = (*r & 0xffffffffull) | ((uint64_t)v << 32);
	else
		*r = (*r & ~0xffffffffull) | v;
}

static void virtio_mmio_write_reg(struct virtio_mmio *t, uint32_t off, uint32_t v)
{
	struct virtq *q = virtio_mmio_queue(t);

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = v;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->driver_features_sel > 1 || (t->status & VIRTIO_STATUS_FEATURES_OK))
			break;
		virtio_mmio_set_half(&t->driver_features, t->driver_features_sel == 1, v);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = v;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (!q || q->ready || v > 0xffff)
			break;
		q->size = (uint16_t)v;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		if (!q)
			break;
		virtio_mmio_queue_ready(t, q, v);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		virtio_mmio_serve(t, v);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->interrupt_status &= ~v;
		if (!t->interrupt_status)
			virtio_mmio_set_line(t, 0);
		return;
	case VIRTIO_MMIO_STATUS:
		virtio_mmio_write_status(t, v);
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (!q || q->ready)
			break;
		virtio_mmio_set_half(&q->desc_gpa, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		return;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if (!q || q->ready)
			break;
		virtio_mmio_set_half(&q->avail_gpa, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
		return;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if (!q || q->ready)
			break;
		virtio_mmio_set_half(&q->used_gpa, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
		return;
	}
	t->bad_accesses++;
}

static uint32_t virtio_mmio_read_reg(struct virtio_mmio *t, uint32_t off)
{
	const struct virtq *q = virtio_mmio_queue(t);
	uint64_t features = t->ops->features | (1ull << VIRTIO_F_VERSION_1);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->device_features_sel == 0)
			return (uint32_t)features;
		return t->device_features_sel == 1 ? (uint32_t)(features >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? t->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	}
	t->bad_accesses++;
	return 0;
}

void virtio_mmio_access(struct virtio_mmio *t, uint64_t gpa, bool write, void *data, unsigned len)
{
	uint64_t off = gpa - t->base;

	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;
		bool ok = (len == 1 || len == 2 || len == 4 || len == 8) && c < t->ops->config_size &&
			  len <= t->ops->config_size - c;
		if (ok && write && t->ops->config_write)
			t->ops->config_write(t, (uint32_t)c, data, len);
		else if (ok && !write)
			t->ops->config_read(t, (uint32_t)c, data, len);
		else
			ok = false;
		if (!ok) {
			t->bad_accesses++;
			if (!write)
				memset(data, 0, len);
		}
	} else if (len != 4 || (off & 3)) {
		t->bad_accesses++;
		if (!write)
			memset(data, 0, len);
	} else if (write) {
		uint32_t v;
		memcpy(&v, data, 4);
		virtio_mmio_write_reg(t, (uint32_t)off, v);
	} else {
		uint32_t v = virtio_mmio_read_reg(t, (uint32_t)off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
	if (t->ops->unlocked)
		t->ops->unlocked(t);
}

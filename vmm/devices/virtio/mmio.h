/*
 * The virtio-mmio transport (virtio 1.x 4.2, register layout version 2): one
 * 512-byte window per device in QEMU microvm's range, listed on the guest's
 * command line as virtio_mmio.device=512@ADDR:IRQ. The transport owns the
 * registers, feature negotiation, the device status and the virtqueues; a
 * device (devices/virtio/balloon/balloon.c) supplies its ID, features, config space and what
 * to do with a notified queue.
 *
 * Registers are reached from vCPU threads (MMIO exits) and queues are served
 * on the device's thread (ioeventfd, devices/virtio/mmio_notify.c) or, without
 * ioeventfd, on the vCPU that wrote QueueNotify; one lock serialises both.
 */
#ifndef VMM_VIRTIO_MMIO_H
#define VMM_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "vmm/devices/virtio/virtq.h"
#include "abi/virtio.h"

/* QEMU microvm's window: devices from the top down, 512 bytes each. */
#define VIRTIO_MMIO_WINDOW_BASE 0xfeb00000ULL
#define VIRTIO_MMIO_WINDOW_SIZE 0x1000ULL
#define VIRTIO_MMIO_DEV_SIZE    0x200ULL
#define VIRTIO_MMIO_FIRST_IRQ   12

#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_MMIO_VENDOR  0x53564d4du      /* "MMVS" */
#define VIRTIO_MMIO_MAX_QUEUES 4

struct virtio_mmio;

struct virtio_mmio_device_ops {
	uint32_t device_id;
	uint64_t features;              /* offered; VERSION_1 is required */
	unsigned nr_queues;
	uint16_t queue_max;
	uint32_t config_size;
	/* Config space, offsets and lengths already inside config_size. */
	void (*config_read)(struct virtio_mmio *t, uint32_t off, void *buf, unsigned len);
	void (*config_write)(struct virtio_mmio *t, uint32_t off, const void *buf, unsigned len);
	/* Serve queue q (ready, DRIVER_OK), at most one ring's worth; called
	 * with the lock held. */
	void (*queue_notify)(struct virtio_mmio *t, unsigned q);
	/* The driver reset the device; called with the lock held. */
	void (*reset)(struct virtio_mmio *t);
	/* After each access or notify, once the lock is dropped: where the
	 * device tells others what changed without holding its lock. */
	void (*unlocked)(struct virtio_mmio *t);
};

/* Sets the interrupt line to level (any thread, the lock held). */
typedef void (*virtio_mmio_irq_fn)(void *arg, unsigned irq, int level);

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct virtio_mmio_device_ops *ops;
	void *dev;                      /* the device's own state */
	const struct guest_mem *gm;
	uint64_t base;
	unsigned irq;
	virtio_mmio_irq_fn irq_fn;
	void *irq_arg;

	uint32_t status;
	uint32_t device_features_sel, driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];

	/* Driver mistakes, counted (never fatal to the VM). */
	uint64_t bad_accesses;          /* wrong width, unknown or read-only register */
	uint64_t bad_queue_setups;      /* QueueReady refused */
	uint64_t bad_notifies;          /* notify of a queue that is not live */
};

void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_device_ops *ops, void *dev,
		      const struct guest_mem *gm, uint64_t base, unsigned irq,
		      virtio_mmio_irq_fn irq_fn, void *irq_arg);
void virtio_mmio_destroy(struct virtio_mmio *t);

static inline bool virtio_mmio_claims(const struct virtio_mmio *t, uint64_t gpa)
{
	return gpa >= t->base && gpa - t->base < VIRTIO_MMIO_DEV_SIZE;
}

/*
 * One guest access at gpa (inside the window) of len bytes; data holds the
 * value written or receives the value read (little-endian, as the guest
 * sees it). Takes the lock.
 */
void virtio_mmio_access(struct virtio_mmio *t, uint64_t gpa, bool write, void *data, unsigned len);

/* Serves queue q if the device is live (the notify path), in rounds until
 * it is empty or VIRTIO_MMIO_NOTIFY_ROUNDS rounds are done; true when
 * buffers are left, which the caller serves again after the other queues.
 * Takes the lock. */
#define VIRTIO_MMIO_NOTIFY_ROUNDS 4
bool virtio_mmio_notify(struct virtio_mmio *t, unsigned q);

/* The device tells the driver something: cause VIRTIO_INT_USED or
 * VIRTIO_INT_CONFIG (the latter also bumps the config generation). Lock held. */
void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t cause);
/* The device found the driver's rings broken (2.1.2). Lock held. */
void virtio_mmio_needs_reset(struct virtio_mmio *t);
/* DRIVER_OK set, FEATURES_OK kept, not failed and not NEEDS_RESET. Lock held. */
bool virtio_mmio_live(const struct virtio_mmio *t);

#endif

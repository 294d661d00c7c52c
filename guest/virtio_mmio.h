/*
 * The guest's virtio-mmio driver (virtio 1.x, register layout version 2,
 * and legacy version 1) and its split virtqueues. No interrupts: the driver
 * polls the used ring.
 *
 * Devices are found the way Linux finds them on QEMU microvm, from
 * "virtio_mmio.device=SIZE@ADDR:IRQ" words on the command line. The MMIO
 * window lies below 4 GiB, inside the boot identity map (pagetables.S maps
 * the first 4 GiB user-accessible), so CPL3 reaches the registers directly.
 * Every register access is a VM exit (~55 µs from CPL3 here), so the driver
 * touches registers only to set a device up, to notify a queue and to read
 * or write the config fields a device driver asks for.
 */
#ifndef GUEST_VIRTIO_MMIO_H
#define GUEST_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "abi/virtio.h"

/* Split virtqueue structures (virtio 1.x, 2.7). */
/* The largest queue this driver sets up: room for two buffers of the
 * longest chain it sends (free page reporting's 32 ranges). */
#define VIRTQ_MAX_SIZE             64

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[VIRTQ_MAX_SIZE];
	uint16_t used_event;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[VIRTQ_MAX_SIZE];
	uint16_t avail_event;
};

/*
 * One queue's rings in the image (identity map: VA = GPA). The used ring
 * starts a page after the descriptors: the legacy layout wants exactly
 * that (QueueAlign 4096), version 2 accepts it.
 */
#define VIRTQ_ALIGN                4096
struct virtq_rings {
	struct virtq_desc desc[VIRTQ_MAX_SIZE];
	struct virtq_avail avail;
	struct virtq_used used __attribute__((aligned(VIRTQ_ALIGN)));
} __attribute__((aligned(VIRTQ_ALIGN)));

struct virtq {
	struct virtq_rings *rings;
	struct virtio_mmio_dev *dev;
	uint16_t index;                 /* queue number on the device */
	uint16_t size;                  /* descriptors, a power of two */
	uint64_t free_desc;             /* bit d set: descriptor d is free */
	uint16_t last_used;             /* used.idx the driver has consumed up to */
	uint16_t in_flight;             /* buffers the device has not used yet */
	bool ready;
};

struct virtio_mmio_dev {
	volatile uint8_t *regs;         /* the register window, identity mapped */
	uint64_t base, size;
	unsigned irq;
	bool legacy;                    /* register layout version 1 */
	uint32_t device_id;
	uint32_t vendor_id;
	uint64_t device_features;
	uint64_t features;              /* negotiated */
};

/*
 * Finds the n-th "virtio_mmio.device=SIZE@ADDR[:IRQ]" word of the command
 * line and fills base, size and irq: 1 found, 0 no n-th word, -1 the word
 * is malformed or out of reach (*why says how, for 0 and -1).
 */
int virtio_mmio_from_cmdline(unsigned n, struct virtio_mmio_dev *dev, const char **why);

/*
 * Resets the device and checks magic, version and the device id (0 in
 * want_id accepts any). Leaves it with ACKNOWLEDGE | DRIVER set. Returns
 * false with *why on a mismatch. Version 2 (virtio 1.x) is what the driver
 * is for; a legacy version 1 device (QEMU's virtio-mmio default unless
 * force-legacy=false) is driven too, as Linux drives it: low 32 feature
 * bits, no FEATURES_OK, queues given by page frame number.
 */
bool virtio_mmio_probe(struct virtio_mmio_dev *dev, uint32_t want_id, const char **why);

/*
 * Offers the driver's features (intersected with the device's; VERSION_1
 * must be among both on a version 2 device) and sets FEATURES_OK, then
 * checks the device kept it.
 */
bool virtio_mmio_negotiate(struct virtio_mmio_dev *dev, uint64_t wanted, const char **why);

/* Sets up queue index with rings (size: min(device max, VIRTQ_MAX_SIZE)). */
bool virtio_mmio_queue_setup(struct virtio_mmio_dev *dev, struct virtq *q, uint16_t index,
			     struct virtq_rings *rings, const char **why);

/* DRIVER_OK: the device may now use the queues. */
void virtio_mmio_driver_ok(struct virtio_mmio_dev *dev);
/* FAILED: the driver gives up on the device. */
void virtio_mmio_fail(struct virtio_mmio_dev *dev);
uint32_t virtio_mmio_status(struct virtio_mmio_dev *dev);

/* Device-specific config space, 32-bit fields (little-endian, as x86). */
uint32_t virtio_mmio_config_read32(struct virtio_mmio_dev *dev, unsigned offset);
void virtio_mmio_config_write32(struct virtio_mmio_dev *dev, unsigned offset, uint32_t v);

/*
 * Adds one buffer (a single descriptor: device-readable, or device-writable
 * if writable) to the available ring and notifies the device. False if the
 * queue has no free descriptor.
 */
bool virtq_add_buf(struct virtq *q, const void *buf, uint32_t len, bool writable);
/*
 * The same for a buffer of n descriptors chained in order, descriptor i
 * covering [addr[i], addr[i] + len[i]) (GPAs): false if fewer than n are
 * free. When the device uses it the whole chain is free again.
 */
bool virtq_add_chain(struct virtq *q, const uint64_t *addr, const uint32_t *len, unsigned n,
		     bool writable);
/* Tells the device the available ring has news (one register write). */
void virtq_notify(struct virtq *q);
/* True once the device has used a buffer not yet consumed; consumes it. */
bool virtq_get_used(struct virtq *q, uint32_t *len);
/*
 * Waits until the device uses a buffer, polling the used ring: on memvisor
 * between polls the vCPU sleeps on the halt port (the VMM wakes it when a
 * device has news), elsewhere it spins. False after timeout_us.
 */
bool virtq_wait_used(struct virtq *q, uint32_t *len, uint64_t timeout_us);

#endif

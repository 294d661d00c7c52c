/*
 * Split virtqueues (virtio 1.x, 2.7) as the device sees them. Everything in
 * a ring comes from the guest and is treated as hostile: the avail index may
 * jump, heads and next links may point anywhere or loop, addresses and
 * lengths may leave guest RAM or wrap, and descriptors may be writable where
 * the device only reads. Each descriptor is read once into host memory, so a
 * guest changing a ring under the device cannot make a checked value change.
 */
#ifndef VMM_VIRTQ_H
#define VMM_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include "abi/virtio.h"

struct guest_mem;

/* The largest ring a device offers; chains are also bounded by it. */
#define VIRTQ_SIZE_MAX 256
/* Buffers a device can take in one chain. */
#define VIRTQ_MAX_SEGS 16

struct virtq {
	/* Set by the driver through the transport. */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;
	/* Device state. */
	uint16_t last_avail;          /* next avail entry to take */
	uint16_t used_idx;            /* next used entry to fill */
	/* Host addresses of the rings, resolved by virtq_enable. */
	struct virtq_desc *desc;
	uint16_t *avail;              /* flags, idx, ring[size], used_event */
	uint8_t *used;                /* flags, idx, {id, len}[size], avail_event */
	uint64_t bad_chains;          /* chains refused and returned empty */
};

/* One segment of a chain, checked to be guest RAM. */
struct virtq_seg {
	void *hva;
	uint32_t len;
};

struct virtq_elem {
	uint16_t head;
	unsigned nr_out, nr_in;       /* device-readable segments, then writable */
	struct virtq_seg out[VIRTQ_MAX_SEGS], in[VIRTQ_MAX_SEGS];
	uint64_t out_bytes, in_bytes;
};

/* What virtq_pop found. */
enum virtq_pop_result {
	VIRTQ_EMPTY = 0,
	VIRTQ_ELEM,                   /* *e is a checked chain */
	VIRTQ_BAD_CHAIN,              /* e->head is valid; return it with 0 bytes */
	VIRTQ_BROKEN,                 /* the ring itself is corrupt: NEEDS_RESET */
};

/*
 * A chain as the driver wrote it, its addresses not resolved: for queues
 * whose buffers name guest memory rather than carry data (the balloon's
 * free page reports, where each descriptor is one reported range, readable
 * or writable: Linux adds them as writable, the spec's text reads them).
 * Each range is the device's to check.
 */
#define VIRTQ_MAX_RANGES VIRTIO_BALLOON_REPORT_MAX_RANGES

struct virtq_range {
	uint64_t gpa;
	uint32_t len;
};

struct virtq_ranges {
	uint16_t head;
	unsigned nr;
	struct virtq_range r[VIRTQ_MAX_RANGES];
};

/* Forgets everything (reset, or the queue never set up). */
void virtq_reset(struct virtq *q);
/*
 * Checks the driver's size (a power of two, at most max) and ring addresses
 * (aligned as 2.7 asks, every byte in guest RAM) and resolves the rings.
 * 0 or -EINVAL (the queue stays unready).
 */
int virtq_enable(struct virtq *q, const struct guest_mem *gm, uint16_t max);
/*
 * Takes the next available chain. The avail index may run at most size
 * entries ahead of the device (more is VIRTQ_BROKEN); a head or link past
 * the ring is BROKEN for a head and BAD_CHAIN for a link; a chain longer than
 * the ring (a loop), with more than VIRTQ_MAX_SEGS segments, with INDIRECT
 * (not offered), with a readable segment after a writable one, or with a
 * segment outside guest RAM is BAD_CHAIN.
 */
enum virtq_pop_result virtq_pop(struct virtq *q, const struct guest_mem *gm, struct virtq_elem *e);
/* virtq_pop for a chain of ranges: the same ring checks; a chain that is a
 * loop, uses INDIRECT or has more than VIRTQ_MAX_RANGES descriptors is
 * BAD_CHAIN. */
enum virtq_pop_result virtq_pop_ranges(struct virtq *q, struct virtq_ranges *e);
/* Returns head to the driver with len bytes written. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* True when chains are waiting. */
bool virtq_has_avail(const struct virtq *q);

#endif

/*
 * The device side of split virtqueues. The rings live in guest RAM, which the
 * guest may rewrite at any moment: indexes are loaded once with acquire
 * order, every descriptor is copied before it is checked, and used entries
 * are published with a release store of the used index (virtio 1.x 2.7.13).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include "vmm/memory/guest_mem.h"
#include "vmm/devices/virtio/virtq.h"

#define VIRTQ_USED_ELEM_BYTES 8

void virtq_reset(struct virtq *q)
{
	uint64_t bad = q->bad_chains;

	memset(q, 0, sizeof(*q));
	q->bad_chains = bad;
}

static uint64_t virtq_avail_bytes(uint16_t size)
{
	return 4 + 2ull * size + 2;
}

static uint64_t virtq_used_bytes(uint16_t size)
{
	return 4 + (uint64_t)VIRTQ_USED_ELEM_BYTES * size + 2;
}

int virtq_enable(struct virtq *q, const struct guest_mem *gm, uint16_t max)
{
	uint16_t n = q->size;

	if (n == 0 || n > max || n > VIRTQ_SIZE_MAX || (n & (n - 1)))
		return -EINVAL;
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return -EINVAL;
	void *desc = guest_mem_hva(gm, q->desc_gpa, 16ull * n);
	void *avail = guest_mem_hva(gm, q->avail_gpa, virtq_avail_bytes(n));
	void *used = guest_mem_hva(gm, q->used_gpa, virtq_used_bytes(n));
	if (!desc || !avail || !used)
		return -EINVAL;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->last_avail = 0;
	q->used_idx = 0;
	q->ready = true;
	return 0;
}

static uint16_t virtq_avail_idx(const struct virtq *q)
{
	return le16toh(__atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE));
}

bool virtq_has_avail(const struct virtq *q)
{
	return q->ready && virtq_avail_idx(q) != q->last_avail;
}

static void virtq_read_desc(const struct virtq *q, uint16_t i, struct virtq_desc *d)
{
	const volatile struct virtq_desc *src = &q->desc[i];

	d->addr = le64toh(src->addr);
	d->len = le32toh(src->len);
	d->flags = le16toh(src->flags);
	d->next = le16toh(src->next);
}

/* Takes one descriptor of a chain; false refuses the chain. */
typedef bool (*virtq_take_fn)(void *ctx, const struct virtq_desc *d);

/* Walks the chain at head, each descriptor through take; false on a loop,
 * INDIRECT, a link past the ring, or a descriptor take refuses. */
static bool virtq_walk(const struct virtq *q, uint16_t head, virtq_take_fn take, void *ctx)
{
	uint16_t i = head;

	for (unsigned hops = 0;; hops++) {
		struct virtq_desc d;
		if (hops >= q->size)
			return false;                    /* a loop */
		virtq_read_desc(q, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return false;                    /* not offered */
		if (!take(ctx, &d))
			return false;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return true;
		if (d.next >= q->size)
			return false;
		i = d.next;
	}
}

/* Takes the next available chain through take: the avail index checks of
 * virtq_pop, and *head set whenever the result is not EMPTY or BROKEN. */
static enum virtq_pop_result virtq_pop_chain(struct virtq *q, uint16_t *head, virtq_take_fn take,
					     void *ctx)
{
	if (!q->ready)
		return VIRTQ_EMPTY;
	uint16_t idx = virtq_avail_idx(q);
	uint16_t pending = (uint16_t)(idx - q->last_avail);
	if (pending == 0)
		return VIRTQ_EMPTY;
	if (pending > q->size)
		return VIRTQ_BROKEN;
	uint16_t slot = q->last_avail & (q->size - 1);
	uint16_t h = le16toh(((volatile uint16_t *)q->avail)[2 + slot]);
	if (h >= q->size)
		return VIRTQ_BROKEN;
	q->last_avail++;
	*head = h;
	if (!virtq_walk(q, h, take, ctx)) {
		q->bad_chains++;
		return VIRTQ_BAD_CHAIN;
	}
	return VIRTQ_ELEM;
}

struct virtq_elem_ctx {
	const struct guest_mem *gm;
	struct virtq_elem *e;
};

/* A segment of a data-carrying chain: in guest RAM, readable ones first. */
static bool virtq_take_seg(void *ctx, const struct virtq_desc *d)
{
	struct virtq_elem_ctx *c = ctx;
	struct virtq_elem *e = c->e;
	/* guest_mem_hva takes any addr and len: no wrap, no hole. */
	void *hva = guest_mem_hva(c->gm, d->addr, d->len);

	if (!hva)
		return false;
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		if (e->nr_in == VIRTQ_MAX_SEGS)
			return false;
		e->in[e->nr_in++] = (struct virtq_seg){ hva, d->len };
		e->in_bytes += d->len;
	} else {
		if (e->nr_in || e->nr_out == VIRTQ_MAX_SEGS)
			return false;            /* readable after writable */
		e->out[e->nr_out++] = (struct virtq_seg){ hva, d->len };
		e->out_bytes += d->len;
	}
	return true;
}

enum virtq_pop_result virtq_pop(struct virtq *q, const struct guest_mem *gm, struct virtq_elem *e)
{
	struct virtq_elem_ctx c = { gm, e };

	memset(e, 0, sizeof(*e));
	enum virtq_pop_result r = virtq_pop_chain(q, &e->head, virtq_take_seg, &c);
	if (r == VIRTQ_BAD_CHAIN) {
		e->nr_out = e->nr_in = 0;
		e->out_bytes = e->in_bytes = 0;
	}
	return r;
}

static bool virtq_take_range(void *ctx, const struct virtq_desc *d)
{
	struct virtq_ranges *e = ctx;

	if (e->nr == VIRTQ_MAX_RANGES)
		return false;
	e->r[e->nr++] = (struct virtq_range){ d->addr, d->len };
	return true;
}

enum virtq_pop_result virtq_pop_ranges(struct virtq *q, struct virtq_ranges *e)
{
	memset(e, 0, sizeof(*e));
	enum virtq_pop_result r = virtq_pop_chain(q, &e->head, virtq_take_range, e);
	if (r == VIRTQ_BAD_CHAIN)
		e->nr = 0;
	return r;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	if (!q->ready)
		return;
	uint16_t slot = q->used_idx & (q->size - 1);
	volatile uint8_t *elem = q->used + 4 + (uint64_t)VIRTQ_USED_ELEM_BYTES * slot;
	uint32_t id_le = htole32(head), len_le = htole32(len);

	*(volatile uint32_t *)elem = id_le;
	*(volatile uint32_t *)(elem + 4) = len_le;
	q->used_idx++;
	__atomic_store_n((uint16_t *)(q->used + 2), htole16(q->used_idx), __ATOMIC_RELEASE);
}

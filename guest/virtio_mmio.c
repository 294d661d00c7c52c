/*
 * virtio-mmio transport (register layout version 2; legacy version 1 too)
 * polled without interrupts. See virtio_mmio.h.
 *
 * Ring memory is ordinary guest RAM in the image; the device reads and
 * writes it concurrently, so every shared field is accessed through
 * volatile pointers and ordered with fences: the descriptor before the
 * available-ring entry, the entry before avail.idx, avail.idx before the
 * notify, and used.idx before the used element.
 */
#include "internal.h"
#include "ports.h"
#include "virtio_mmio.h"

#define DEVICE_WORD "virtio_mmio.device="

static uint32_t rd(struct virtio_mmio_dev *dev, unsigned off)
{
	return *(volatile uint32_t *)(dev->regs + off);
}

static void wr(struct virtio_mmio_dev *dev, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(dev->regs + off) = v;
}

/* ---- the command line ---------------------------------------------------- */

static int hexdigit(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	     : c >= 'a' && c <= 'f' ? c - 'a' + 10
	     : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A number at *p (decimal, or 0x hex) up to end; advances *p. */
static bool number(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	unsigned base = 10;
	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	const char *first = s;
	uint64_t v = 0;
	for (int d; s < end && (d = hexdigit(*s)) >= 0 && d < (int)base; s++) {
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return false;
		v = v * base + (uint64_t)d;
	}
	if (s == first)
		return false;
	*p = s;
	*out = v;
	return true;
}

/* SIZE[K|M|G]@ADDR[:IRQ[:ID]], as Linux's virtio_mmio parses it (the
 * platform device ID is Linux's business and ignored here). */
static bool parse_device(const char *s, const char *end, struct virtio_mmio_dev *dev)
{
	uint64_t size, base, irq = 0;
	if (!number(&s, end, &size))
		return false;
	if (s < end && (*s == 'k' || *s == 'K' || *s == 'm' || *s == 'M' || *s == 'g' || *s == 'G')) {
		unsigned shift = (*s == 'k' || *s == 'K') ? 10 : (*s == 'm' || *s == 'M') ? 20 : 30;
		if (size > UINT64_MAX >> shift)
			return false;
		size <<= shift;
		s++;
	}
	if (s == end || *s++ != '@' || !number(&s, end, &base))
		return false;
	if (s < end && (*s++ != ':' || !number(&s, end, &irq) || irq > 0xffffffffu))
		return false;
	uint64_t id;
	if (s < end && (*s++ != ':' || !number(&s, end, &id)))
		return false;
	if (s != end)
		return false;
	dev->base = base;
	dev->size = size;
	dev->irq = (unsigned)irq;
	return true;
}

int virtio_mmio_from_cmdline(unsigned n, struct virtio_mmio_dev *dev, const char **why)
{
	size_t klen = strlen(DEVICE_WORD);
	const char *p = boot.cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *word = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - word) < klen || memcmp(word, DEVICE_WORD, klen))
			continue;
		if (n--)
			continue;
		memset(dev, 0, sizeof(*dev));
		if (!parse_device(word + klen, p, dev)) {
			*why = "malformed " DEVICE_WORD "SIZE@ADDR:IRQ";
			return -1;
		}
		/* Registers up to the config space, and the window must stay in
		 * the boot identity map (below 4 GiB). */
		if (dev->size < VIRTIO_MMIO_CONFIG + 8 || dev->base & 3 ||
		    dev->base >= (uint64_t)BOOT_MAPPED_GIB << 30 ||
		    dev->size > ((uint64_t)BOOT_MAPPED_GIB << 30) - dev->base) {
			*why = DEVICE_WORD " window too small or outside the low 4 GiB";
			return -1;
		}
		dev->regs = (volatile uint8_t *)(uintptr_t)dev->base;
		return 1;
	}
	*why = "no " DEVICE_WORD " on the command line";
	return 0;
}

/* ---- device setup (virtio 1.x, 3.1.1) ------------------------------------ */

bool virtio_mmio_probe(struct virtio_mmio_dev *dev, uint32_t want_id, const char **why)
{
	if (rd(dev, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC) {
		*why = "no virtio-mmio magic at the window";
		return false;
	}
	uint32_t version = rd(dev, VIRTIO_MMIO_VERSION_REG);
	if (version != 1 && version != 2) {
		*why = "an unknown virtio-mmio register layout version";
		return false;
	}
	dev->legacy = version == 1;
	dev->device_id = rd(dev, VIRTIO_MMIO_DEVICE_ID);
	if (dev->device_id == 0) {
		*why = "an empty virtio-mmio slot (device id 0)";
		return false;
	}
	if (want_id && dev->device_id != want_id) {
		*why = "another kind of virtio device";
		return false;
	}
	dev->vendor_id = rd(dev, VIRTIO_MMIO_VENDOR_ID);
	wr(dev, VIRTIO_MMIO_STATUS, 0);                 /* reset */
	if (rd(dev, VIRTIO_MMIO_STATUS) != 0) {
		*why = "the device does not reset";
		return false;
	}
	wr(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	return true;
}

bool virtio_mmio_negotiate(struct virtio_mmio_dev *dev, uint64_t wanted, const char **why)
{
	wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = rd(dev, VIRTIO_MMIO_DEVICE_FEATURES);
	if (dev->legacy) {
		/* Legacy: 32 feature bits, no FEATURES_OK; the page size the
		 * queue PFNs count in is set once, before any queue. */
		dev->device_features = lo;
		dev->features = lo & wanted & 0xffffffffu;
		wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
		wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)dev->features);
		wr(dev, VIRTIO_MMIO_GUEST_PAGE_SIZE, VIRTQ_ALIGN);
		return true;
	}
	wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t hi = rd(dev, VIRTIO_MMIO_DEVICE_FEATURES);
	dev->device_features = hi << 32 | lo;
	uint64_t version_1 = 1ull << VIRTIO_F_VERSION_1;
	if (!(dev->device_features & version_1)) {
		*why = "the device does not offer VERSION_1 (legacy devices are not supported)";
		virtio_mmio_fail(dev);
		return false;
	}
	dev->features = dev->device_features & (wanted | version_1);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)dev->features);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(dev->features >> 32));
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	wr(dev, VIRTIO_MMIO_STATUS, st);
	if (!(rd(dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
		*why = "the device refused the negotiated features";
		virtio_mmio_fail(dev);
		return false;
	}
	return true;
}

bool virtio_mmio_queue_setup(struct virtio_mmio_dev *dev, struct virtq *q, uint16_t index,
			     struct virtq_rings *rings, const char **why)
{
	wr(dev, VIRTIO_MMIO_QUEUE_SEL, index);
	if (rd(dev, dev->legacy ? VIRTIO_MMIO_QUEUE_PFN : VIRTIO_MMIO_QUEUE_READY)) {
		*why = "a queue is already live after reset";
		return false;
	}
	uint32_t max = rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == 0) {
		*why = "the device has no such queue";
		return false;
	}
	/* A power of two no larger than the device's maximum or our rings. */
	uint16_t size = VIRTQ_MAX_SIZE;
	while (size > max)
		size >>= 1;
	memset(rings, 0, sizeof(*rings));
	*q = (struct virtq){
		.rings = rings,
		.dev = dev,
		.index = index,
		.size = size,
		.free_desc = size == 64 ? ~0ull : (1ull << size) - 1,
	};
	uint64_t desc = (uintptr_t)rings->desc, avail = (uintptr_t)&rings->avail,
		 used = (uintptr_t)&rings->used;
	wr(dev, VIRTIO_MMIO_QUEUE_NUM, size);
	if (dev->legacy) {
		/* Legacy: one PFN; the avail ring follows the descriptors and
		 * the used ring starts at the next QueueAlign boundary. */
		if (desc >> 12 > UINT32_MAX) {
			*why = "rings above the legacy PFN reach";
			return false;
		}
		wr(dev, VIRTIO_MMIO_QUEUE_ALIGN, VIRTQ_ALIGN);
		wr(dev, VIRTIO_MMIO_QUEUE_PFN, (uint32_t)(desc / VIRTQ_ALIGN));
		q->ready = true;
		return true;
	}
	wr(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(dev, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(dev, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	q->ready = true;
	return true;
}

void virtio_mmio_driver_ok(struct virtio_mmio_dev *dev)
{
	wr(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				    (dev->legacy ? 0 : VIRTIO_STATUS_FEATURES_OK) | VIRTIO_STATUS_DRIVER_OK);
}

void virtio_mmio_fail(struct virtio_mmio_dev *dev)
{
	wr(dev, VIRTIO_MMIO_STATUS, rd(dev, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FAILED);
}

uint32_t virtio_mmio_status(struct virtio_mmio_dev *dev)
{
	return rd(dev, VIRTIO_MMIO_STATUS);
}

uint32_t virtio_mmio_config_read32(struct virtio_mmio_dev *dev, unsigned offset)
{
	return rd(dev, VIRTIO_MMIO_CONFIG + offset);
}

void virtio_mmio_config_write32(struct virtio_mmio_dev *dev, unsigned offset, uint32_t v)
{
	wr(dev, VIRTIO_MMIO_CONFIG + offset, v);
}

/* ---- split virtqueues ------------------------------------------------------ */

bool virtq_add_chain(struct virtq *q, const uint64_t *addr, const uint32_t *len, unsigned n,
		     bool writable)
{
	unsigned nfree = 0;
	for (uint64_t f = q->free_desc; f && nfree < n; f &= f - 1)
		nfree++;            /* no popcnt: it may be hidden from guests */
	if (!q->ready || !n || nfree < n)
		return false;
	uint16_t head = (uint16_t)__builtin_ctzll(q->free_desc), d = head;
	for (unsigned i = 0; i < n; i++) {
		q->free_desc &= ~(1ull << d);
		uint16_t next = i + 1 < n ? (uint16_t)__builtin_ctzll(q->free_desc) : 0;
		volatile struct virtq_desc *desc = &q->rings->desc[d];
		desc->addr = addr[i];
		desc->len = len[i];
		desc->flags = (uint16_t)((writable ? VIRTQ_DESC_F_WRITE : 0) |
					 (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		desc->next = next;
		d = next;
	}
	volatile struct virtq_avail *avail = &q->rings->avail;
	uint16_t idx = avail->idx;
	avail->ring[idx & (q->size - 1)] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	avail->idx = (uint16_t)(idx + 1);
	q->in_flight++;
	virtq_notify(q);
	return true;
}

bool virtq_add_buf(struct virtq *q, const void *buf, uint32_t len, bool writable)
{
	uint64_t addr = (uintptr_t)buf;
	return virtq_add_chain(q, &addr, &len, 1, writable);
}

void virtq_notify(struct virtq *q)
{
	/* avail.idx must be visible before the device looks (the notify exit). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

bool virtq_get_used(struct virtq *q, uint32_t *len)
{
	volatile struct virtq_used *used = &q->rings->used;
	if (used->idx == q->last_used)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	volatile struct virtq_used_elem *e = &used->ring[q->last_used & (q->size - 1)];
	uint32_t id = e->id;
	if (len)
		*len = e->len;
	q->last_used++;
	/* An id the driver did not hand out is ignored rather than freed
	 * twice; a chain goes back whole, as the driver wrote it (the device
	 * never writes descriptors), and no further than the ring is long. */
	if (id < q->size && !(q->free_desc & (1ull << id))) {
		if (q->in_flight)
			q->in_flight--;
		for (unsigned n = 0; n < q->size && id < q->size && !(q->free_desc & (1ull << id)); n++) {
			q->free_desc |= 1ull << id;
			const volatile struct virtq_desc *d = &q->rings->desc[id];
			if (!(d->flags & VIRTQ_DESC_F_NEXT))
				break;
			id = d->next;
		}
	}
	return true;
}

/*
 * A halt on memvisor lasts at most POLL_HALT_US between polls; before the
 * first one the driver spins for POLL_SPIN_US, since a halt costs an exit
 * and a device often answers faster than that.
 */
#define POLL_HALT_US 1000
#define POLL_SPIN_US 50

bool virtq_wait_used(struct virtq *q, uint32_t *len, uint64_t timeout_us)
{
	uint64_t now = rdtsc();
	uint64_t deadline = now + tsc_ticks(timeout_us), spin_end = now + tsc_ticks(POLL_SPIN_US);
	bool halt = on_memvisor();
	for (;;) {
		if (virtq_get_used(q, len))
			return true;
		now = rdtsc();
		if ((int64_t)(deadline - now) <= 0)
			return false;
		if (halt && (int64_t)(spin_end - now) <= 0)
			outl(ABI_PORT_HALT, POLL_HALT_US);
		else
			__asm__ volatile("pause");
	}
}

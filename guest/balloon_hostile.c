/*
 * balloon_hostile: a guest that abuses its virtio-balloon on purpose, to
 * show the VMM survives and counts what it refuses. It sets the device up
 * as the balloon driver does, keeps a hashed working set (4 MiB), then
 *   1. sends bogus PFNs, each kind in a buffer of its own on the queue it
 *      abuses: past the end of RAM, in the legacy hole below 1 MiB, in the
 *      MMIO window below 4 GiB, a duplicate inside one buffer, a page
 *      already ballooned, a deflate of a page never inflated, a deflate
 *      past the end of RAM, and a buffer whose length is not a whole
 *      number of PFNs;
 *   2. sends malformed descriptors: an address past guest RAM, an address
 *      whose end wraps around 2^64, a 4 GiB - 1 length, a device-writable
 *      descriptor where a readable one belongs, a chain that loops, and
 *      a chain whose next index is out of range;
 *   3. balloons and deflates a page the normal way, to show the device
 *      still works; then, when the device offers free page reporting,
 *      sends the reporting cases of hostile_report.c (ranges outside RAM,
 *      in the VMM's holes, of ballooned memory, of zero and huge lengths,
 *      twice in a buffer, a flood) and one normal report;
 *   4. last, as the device gives up on the queue after each of them
 *      (NEEDS_RESET) and is reset: a head index out of range in the
 *      available ring, and avail.idx moved a whole ring ahead of what it
 *      filled (guest-controlled indexes the device must not trust); then
 *      the normal path once more.
 * Every buffer is waited for (a device may drop a malformed one instead
 * of using it), and one line per case says which:
 *   balloon-hostile: CASE used|dropped
 * At the end it checks its working set and the buddy's accounting and
 * prints
 *   balloon-hostile: done: N bogus PFNs in M buffers, K malformed buffers, ws ok
 * and exits 0 (1 if its own memory was harmed or the normal path failed);
 * with linger=1 on the command line it sleeps instead until the VMM ends it.
 */
#include "runtime.h"
#include "abi/memvisor.h"
#include "ports.h"
#include "hostile_report.h"
#include "virtio_balloon.h"
#include "xxh3.h"

#define WS_PAGES     1024               /* 4 MiB */
/* A device that answers at all answers well within this. */
#define CASE_WAIT_US 200000
/* Descriptors at and above this index are the image's own to forge. */
#define RAW_DESC     32

static struct vballoon vb;
static uint64_t ws_page[WS_PAGES], ws_hash[WS_PAGES];
static uint32_t pfns[8];
static unsigned bogus_pfns, bogus_buffers, malformed;

static uint64_t ws_bad(void)
{
	uint64_t bad = 0;
	for (unsigned i = 0; i < WS_PAGES; i++)
		if (xxh3_64((const void *)(uintptr_t)ws_page[i], PAGE_SIZE) != ws_hash[i])
			bad++;
	return bad;
}

static bool ws_setup(void)
{
	uint64_t seed = 0x243f6a8885a308d3ull;
	for (unsigned i = 0; i < WS_PAGES; i++) {
		uint64_t gpa = ram_alloc(0);
		if (!gpa)
			return false;
		uint64_t *p = (uint64_t *)(uintptr_t)gpa;
		for (unsigned j = 0; j < PAGE_SIZE / 8; j++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			p[j] = seed;
		}
		ws_page[i] = gpa;
		ws_hash[i] = xxh3_64(p, PAGE_SIZE);
	}
	return true;
}

static void report(const char *what, bool used)
{
	printf("balloon-hostile: %s %s\n", what, used ? "used" : "dropped");
}

/* Sends n PFNs as one buffer of len bytes on q and waits for it. */
static void send_pfns(struct virtq *q, const char *what, unsigned n, uint32_t len)
{
	if (!virtq_add_buf(q, pfns, len, false)) {
		printf("balloon-hostile: %s: no free descriptor\n", what);
		return;
	}
	bogus_pfns += n;
	bogus_buffers++;
	report(what, virtq_wait_used(q, NULL, CASE_WAIT_US));
}

/*
 * Puts head into the available ring as is (descriptors already forged from
 * RAW_DESC up), notifies, and waits for the device to use something.
 */
static void send_raw(struct virtq *q, const char *what, uint16_t head)
{
	volatile struct virtq_avail *avail = &q->rings->avail;
	uint16_t idx = avail->idx;
	avail->ring[idx & (q->size - 1)] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	avail->idx = (uint16_t)(idx + 1);
	virtq_notify(q);
	malformed++;
	report(what, virtq_wait_used(q, NULL, CASE_WAIT_US));
}

/* After a ring-level case: the device must have asked for a reset
 * (NEEDS_RESET); the driver resets it and sets it up again. */
static bool reset_after(const char *what)
{
	const char *why;
	bool asked = virtio_mmio_status(&vb.dev) & VIRTIO_STATUS_NEEDS_RESET;
	bool ok = vballoon_reset(&vb, &why);
	printf("balloon-hostile: %s: device %s a reset, %s\n", what,
	       asked ? "asked for" : "did not ask for", ok ? "reset" : why);
	return asked && ok;
}

static void forge(uint16_t d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	volatile struct virtq_desc *desc = &vb.inflate_vq.rings->desc[d];
	desc->addr = addr;
	desc->len = len;
	desc->flags = flags;
	desc->next = next;
}

/* The highest RAM GPA the buddy manages, as a PFN past which nothing is. */
static uint32_t pfn_past_ram(void)
{
	struct mem_range r[64];
	unsigned n = memory_usable(r, 64);
	return n ? (uint32_t)(r[n - 1].end >> PAGE_SHIFT) + 0x100000 : 0x7fffffff;
}

int main(const char *cmdline)
{
	(void)cmdline;
	const char *why;
	if (!ram_init(&why) || !vballoon_init(&vb, &why)) {
		printf("balloon-hostile: %s\n", why);
		return 1;
	}
	if (!ws_setup()) {
		printf("balloon-hostile: not enough RAM for the working set\n");
		return 1;
	}
	struct virtq *inq = &vb.inflate_vq, *deq = &vb.deflate_vq;
	if (inq->size <= RAW_DESC) {
		printf("balloon-hostile: the inflate queue is too small to forge in\n");
		return 1;
	}
	/* Keep the forged descriptors away from the normal path. */
	inq->free_desc &= (1ull << RAW_DESC) - 1;
	printf("balloon-hostile: features 0x%lx, %u descriptors, forging from %u\n", vb.dev.features,
	       inq->size, RAW_DESC);

	/* ---- 1. bogus PFNs ---- */
	uint32_t past = pfn_past_ram();
	pfns[0] = past;
	send_pfns(inq, "inflate past the end of RAM", 1, 4);
	pfns[0] = 0xa0000 >> PAGE_SHIFT;
	send_pfns(inq, "inflate in the hole below 1 MiB", 1, 4);
	pfns[0] = (uint32_t)(vb.dev.base >> PAGE_SHIFT);
	send_pfns(inq, "inflate in the MMIO window", 1, 4);

	/* A real free page, ballooned properly except for a duplicate. */
	uint64_t page = ram_alloc(0);
	if (!page || !ram_set_state(page, FRAME_BALLOONED)) {
		printf("balloon-hostile: no free page to balloon\n");
		return 1;
	}
	pfns[0] = pfns[1] = (uint32_t)(page >> PAGE_SHIFT);
	send_pfns(inq, "inflate with a duplicate in one buffer", 1, 8);
	bogus_pfns--;                           /* the first copy is legitimate */
	send_pfns(inq, "inflate of a page already ballooned", 1, 4);

	uint64_t never = ram_alloc(0);
	if (!never) {
		printf("balloon-hostile: no free page for the deflate case\n");
		return 1;
	}
	pfns[0] = (uint32_t)(never >> PAGE_SHIFT);
	send_pfns(deq, "deflate of a page never inflated", 1, 4);
	pfns[0] = past;
	send_pfns(deq, "deflate past the end of RAM", 1, 4);
	pfns[0] = past;
	send_pfns(inq, "inflate with a length not a multiple of 4", 1, 6);

	/* ---- 2. malformed descriptors (on the inflate queue) ---- */
	uint16_t d = RAW_DESC;
	forge(d, (uint64_t)past << PAGE_SHIFT, 4, 0, 0);
	send_raw(inq, "descriptor past guest RAM", d++);
	forge(d, ~0ull - 1, 8, 0, 0);
	send_raw(inq, "descriptor wrapping around 2^64", d++);
	forge(d, (uintptr_t)pfns, 0xffffffffu, 0, 0);
	send_raw(inq, "descriptor of 4 GiB - 1 bytes", d++);
	pfns[0] = past;
	forge(d, (uintptr_t)pfns, 4, VIRTQ_DESC_F_WRITE, 0);
	send_raw(inq, "device-writable descriptor on the inflate queue", d++);
	forge(d, (uintptr_t)pfns, 4, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
	forge((uint16_t)(d + 1), (uintptr_t)pfns, 4, VIRTQ_DESC_F_NEXT, d);
	send_raw(inq, "descriptor chain that loops", d);
	d += 2;
	forge(d, (uintptr_t)pfns, 4, VIRTQ_DESC_F_NEXT, 0xfff0);
	send_raw(inq, "descriptor chain with next out of range", d++);

	/* ---- 3. the normal path still works ---- */
	long in = vballoon_inflate(&vb, 1, &why);
	long out = in == 1 ? vballoon_deflate(&vb, 1, &why) : -1;
	vballoon_update_actual(&vb);
	bool normal = in == 1 && out == 1;
	printf("balloon-hostile: a normal inflate and deflate %s\n", normal ? "work" : "FAILED");
	bool reporting = hostile_report_cases(&vb, (uint64_t)past << PAGE_SHIFT);

	/* ---- 4. broken ring indexes: the device gives up on the queue
	 * (NEEDS_RESET), so each case is followed by a reset ---- */
	send_raw(inq, "available head out of range", 0xfff0);
	bool reset_ok = reset_after("available head out of range");
	volatile struct virtq_avail *avail = &inq->rings->avail;
	/* Every entry the device may now read names no descriptor, so a
	 * device that walks them anyway finds nothing stale to act on. */
	for (uint16_t i = 0; i < inq->size; i++)
		avail->ring[i] = 0xfff0;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	avail->idx = (uint16_t)(avail->idx + inq->size + 1);
	virtq_notify(inq);
	malformed++;
	report("available index a ring ahead", virtq_wait_used(inq, NULL, CASE_WAIT_US));
	reset_ok = reset_after("available index a ring ahead") && reset_ok;
	in = vballoon_inflate(&vb, 1, &why);
	out = in == 1 ? vballoon_deflate(&vb, 1, &why) : -1;
	vballoon_update_actual(&vb);
	bool after_reset = reset_ok && in == 1 && out == 1;
	printf("balloon-hostile: after the resets, a normal inflate and deflate %s\n",
	       after_reset ? "work" : "FAILED");

	uint64_t bad = ws_bad();
	uint64_t counts[FRAME_NR_OWNER_STATES];
	bool i1 = ram_count_states(counts);
	printf("balloon-hostile: done: %u bogus PFNs in %u buffers, %u malformed buffers, ws %s%s\n",
	       bogus_pfns, bogus_buffers, malformed, bad ? "CORRUPT" : "ok", i1 ? "" : " I1 BROKEN");
	/* linger=1: stay up, asleep, until the VMM ends the guest, so that a
	 * monitor can read the device's counters after the last case. */
	while (cmdline_is("linger", "1")) {
		if (on_memvisor())
			outl(ABI_PORT_HALT, 1000000);
		else
			sleep_us(1000000);
	}
	return bad || !i1 || !normal || !after_reset || !reporting ? 1 : 0;
}

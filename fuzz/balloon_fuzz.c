/*
 * libFuzzer target for everything a guest can do to the balloon: its
 * virtio-mmio registers and config space, the rings and buffers it writes
 * into its own RAM, the notifications, and the PFNs it sends, against the
 * real device (vmm/devices/virtio/balloon/balloon.c, vmm/virtq.c, vmm/devices/virtio/mmio.c) and
 * the real ballooned memory (vmm/memory/balloon_*.c) on a real arena and guest
 * memory, without KVM. Each input gets a fresh guest memory, so runs do not
 * depend on each other.
 *
 * An input is a program of operations, each one opcode byte and its
 * operands (missing operand bytes read as zero):
 *   0 OFF V32       register write at (OFF * 4) of the device window
 *   1 OFF W         register read, width 1 << (W % 3)
 *   2 A16 LEN DATA  LEN % 64 bytes of DATA into guest RAM at RING + A16 * 2
 *   3 Q             notify queue Q % 4
 *   4 V32           a new target from the host (pages, modulo RAM + 16)
 *   5               the host asks for fresh stats
 *   6 SIZE          what a driver does first: reset, features, the three
 *                   queues (SIZE picks their size) at their usual places,
 *                   DRIVER_OK
 *   7 Q N PFN16...  one buffer of N % 16 + 1 PFNs on queue Q % 2 (inflate,
 *                   deflate) through a well-formed descriptor, then notify
 *   8 K             compaction of zone Normal (K % 12 - 1: full or a
 *                   target order 0..10; K / 12 % 3: no budget, one step, 1 ms),
 *                   as a vCPU pause would run it: every page the guest has
 *                   not ballooned must read the same at its GPA afterwards
 * Operations 6 and 7 let the fuzzer reach the device's depths at once;
 * 0 and 2 let it break anything on the way.
 *
 * Besides the sanitizers, after every input the frame states must add up
 * (I1), and once the device and the guest memory are gone every zone must
 * coalesce back (I3): a frame lost or freed twice aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mm/mm.h"
#include "mm/slab.h"
#include "vmm/memory/balloon_mem.h"
#include "vmm/memory/guest_compact.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/devices/virtio/balloon/balloon.h"
#include "vmm/devices/virtio/mmio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIB (1ULL << 20)
#define RAM (4 * MIB)
#define PAGES (RAM >> 12)
#define BASE 0xfeb00e00ULL
#define IRQ 12
#define RING 0x10000ULL            /* queue q's rings at RING + q * 0x4000 */
#define RING_SPAN 0x20000ULL
#define BUF 0x30000ULL             /* operation 7's PFN buffer */
#define DESC_OFF 0x0
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000
#define OP7_DESC 0                 /* the descriptor operation 7 fills */

static struct mm_arena *arena;

struct input {
	const uint8_t *p, *end;
};

static uint8_t u8(struct input *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

static uint16_t u16(struct input *in)
{
	return (uint16_t)(u8(in) | u8(in) << 8);
}

static uint32_t u32(struct input *in)
{
	return (uint32_t)u16(in) | (uint32_t)u16(in) << 16;
}

static void no_irq(void *arg, unsigned irq, int level)
{
	(void)arg;
	(void)irq;
	(void)level;
}

static void wr(struct virtio_mmio *t, uint32_t off, uint32_t v)
{
	virtio_mmio_access(t, BASE + off, true, &v, 4);
}

static void ram_write(struct guest_mem *gm, uint64_t gpa, const void *src, size_t len)
{
	void *p = guest_mem_hva(gm, gpa, len);
	if (p)
		memcpy(p, src, len);
}

static void driver_setup(struct virtio_mmio *t, uint8_t size_sel)
{
	uint64_t features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BALLOON_F_MUST_TELL_HOST) |
			    (1ull << VIRTIO_BALLOON_F_STATS_VQ);
	uint32_t size = 1u << (size_sel % 8);        /* 1 .. 128 */

	wr(t, VIRTIO_MMIO_STATUS, 0);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
	for (uint32_t q = 0; q < 3; q++) {
		uint64_t base = RING + q * 0x4000;
		wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(t, VIRTIO_MMIO_QUEUE_NUM, size);
		wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(base + DESC_OFF));
		wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		wr(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(base + AVAIL_OFF));
		wr(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
		wr(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(base + USED_OFF));
		wr(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
		wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* A well-formed buffer of PFNs on queue q: descriptor 0, the next avail
 * entry (whatever the ring's size: the slot is masked by the device). */
static void pfn_buffer(struct virtio_mmio *t, struct guest_mem *gm, struct input *in)
{
	unsigned q = u8(in) % 2, n = u8(in) % 16 + 1;
	uint32_t pfns[16];
	uint64_t base = RING + q * 0x4000;

	for (unsigned i = 0; i < n; i++)
		pfns[i] = u16(in) % (PAGES * 2);         /* half of them past RAM */
	ram_write(gm, BUF, pfns, n * 4);
	struct { uint64_t addr; uint32_t len; uint16_t flags, next; } desc = { BUF, n * 4, 0, 0 };
	ram_write(gm, base + DESC_OFF + OP7_DESC * 16, &desc, sizeof(desc));
	uint16_t *avail = guest_mem_hva(gm, base + AVAIL_OFF, 4 + 2 * 256);
	if (!avail)
		return;
	/* The ring's size is the device's to know: the slot is filled for
	 * every size it may have. */
	uint16_t idx = avail[1];
	for (unsigned s = 1; s <= VIRTIO_BALLOON_QUEUE_MAX; s <<= 1)
		avail[2 + (idx & (s - 1))] = OP7_DESC;
	__atomic_store_n(&avail[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
	virtio_mmio_notify(t, q);
}

/* Guest RAM before compaction, to compare with after. */
static uint8_t ram_before[RAM];

static void compact(struct guest_mem *gm, struct input *in)
{
	static const uint64_t budgets[] = { MM_COMPACT_NO_BUDGET, 0, 1000000 };
	uint8_t k = u8(in);
	int order = k % 12 - 1;   /* zone Normal's orders are 0..10 */
	struct guest_compact_result res;
	const uint8_t *ram = guest_mem_hva(gm, 0, RAM);

	if (!ram)
		abort();
	memcpy(ram_before, ram, RAM);
	int rc = guest_mem_compact(gm, order < 0 ? MM_COMPACT_FULL : order, budgets[k / 12 % 3],
				   NULL, &res);
	if (rc) {
		fprintf(stderr, "balloon_fuzz: compaction refused order %d: %d\n", order, rc);
		abort();
	}
	if (res.hash_mismatches) {
		fprintf(stderr, "balloon_fuzz: %llu hash mismatches without injection\n",
			(unsigned long long)res.hash_mismatches);
		abort();
	}
	for (uint64_t gfn = 0; gfn < PAGES; gfn++) {
		if (balloon_mem_is_ballooned(gm, gfn))
			continue;
		if (memcmp(ram + gfn * 4096, ram_before + gfn * 4096, 4096)) {
			fprintf(stderr, "balloon_fuzz: GFN %llu changed under compaction\n",
				(unsigned long long)gfn);
			abort();
		}
	}
}

static void run(struct virtio_mmio *t, struct virtio_balloon *b, struct guest_mem *gm,
		struct input *in)
{
	while (in->p < in->end) {
		switch (u8(in) % 9) {
		case 0: {
			uint32_t off = (uint32_t)(u8(in) * 4u) % VIRTIO_MMIO_DEV_SIZE;
			wr(t, off, u32(in));
			break;
		}
		case 1: {
			uint32_t off = (uint32_t)(u8(in) * 4u) % VIRTIO_MMIO_DEV_SIZE, v = 0;
			virtio_mmio_access(t, BASE + off, false, &v, 1u << (u8(in) % 3));
			break;
		}
		case 2: {
			uint64_t gpa = RING + (uint64_t)u16(in) * 2 % RING_SPAN;
			size_t len = u8(in) % 64;
			uint8_t bytes[64];
			for (size_t i = 0; i < len; i++)
				bytes[i] = u8(in);
			ram_write(gm, gpa, bytes, len);
			break;
		}
		case 3:
			virtio_mmio_notify(t, u8(in) % 4);
			break;
		case 4:
			virtio_balloon_set_target(b, u32(in) % (PAGES + 16));
			break;
		case 5:
			virtio_balloon_request_stats(b);
			break;
		case 6:
			driver_setup(t, u8(in));
			break;
		case 8:
			compact(gm, in);
			break;
		default:
			pfn_buffer(t, gm, in);
			break;
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mm_arena_config cfg = { .normal_bytes = 32 * MIB, .huge = MM_HUGE_OFF };

	(void)argc;
	(void)argv;
	if (mm_create(&cfg, &arena)) {
		fprintf(stderr, "balloon_fuzz: no arena\n");
		abort();
	}
	return 0;
}

static void check_frames(const char *when)
{
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];

	if (mm_arena_check_frames(arena, counts)) {
		fprintf(stderr, "balloon_fuzz: I1 broken %s\n", when);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem *gm;
	struct virtio_balloon *b;
	char why[256];
	struct input in = { data, data + size };

	if (guest_mem_create(arena, RAM, MM_HUGE_OFF, &gm, why, sizeof(why))) {
		fprintf(stderr, "balloon_fuzz: guest memory: %s\n", why);
		abort();
	}
	if (virtio_balloon_create(arena, gm, BASE, IRQ, no_irq, NULL, 0, true, &b)) {
		fprintf(stderr, "balloon_fuzz: no device\n");
		abort();
	}
	run(virtio_balloon_mmio(b), b, gm, &in);
	check_frames("after the input");
	virtio_balloon_destroy(b);
	guest_mem_destroy(gm);
	slab_shrink_all(arena);
	for (int z = 0; z < MM_NR_ZONES; z++) {
		struct mm_zone *zone = mm_zone_get(arena, (enum mm_zone_id)z);
		if (!zone)
			continue;
		mm_pcp_drain(zone);
		if (!buddy_fully_coalesced(&zone->buddy)) {
			fprintf(stderr, "balloon_fuzz: zone %s does not coalesce (I3)\n",
				zone->buddy.name);
			abort();
		}
	}
	check_frames("after the teardown");
	return 0;
}

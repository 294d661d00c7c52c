/*
 * The virtio-mmio transport (vmm/devices/virtio/mmio.c) driven register by register
 * as a driver would, on real guest RAM and no KVM: identification, feature
 * negotiation (refused when VERSION_1 is missing or a feature was never
 * offered), status rules, queue setup checks, notify, the interrupt line and
 * its acknowledgement, reset, wrong widths and unknown offsets. Then the
 * balloon device (vmm/devices/virtio/balloon/balloon.c) on it: PFN buffers inflated and
 * deflated through balloon_mem, bogus PFNs and badly shaped buffers counted,
 * the target and `actual` in config space, and the stats queue.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "mm/slab.h"
#include "tests/support/test_env.h"
#include "mm/mm.h"
#include "vmm/memory/balloon_mem.h"
#include "vmm/memory/balloon_report.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/devices/virtio/balloon/balloon.h"
#include "vmm/devices/virtio/mmio.h"

#define MIB (1ULL << 20)
#define RAM (16 * MIB)
#define BASE 0xfeb00e00ULL
#define IRQ 12
#define DESC_GPA  0x10000ULL
#define AVAIL_GPA 0x11000ULL
#define USED_GPA  0x12000ULL
#define BUF_GPA   0x20000ULL

static struct mm_arena *arena;
static struct guest_mem *gm;
static int line_level = -1;
static unsigned line_raises;

static void irq_line(void *arg, unsigned irq, int level)
{
	(void)arg;
	cr_assert_eq(irq, IRQ);
	if (level && line_level != 1)
		line_raises++;
	line_level = level;
}

static void setup(void)
{
	struct mm_arena_config cfg = { .normal_bytes = 64 * MIB, .huge = MM_HUGE_OFF };
	char why[256];

	cr_assert_eq(mm_create(&cfg, &arena), 0);
	cr_assert_eq(guest_mem_create(arena, RAM, MM_HUGE_OFF, &gm, why, sizeof(why)), 0, "%s", why);
	line_level = -1;
	line_raises = 0;
}

static void teardown(void)
{
	guest_mem_destroy(gm);
	mm_destroy(arena);
}

static void *hva(uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_hva(gm, gpa, len);
	cr_assert_not_null(p);
	return p;
}

static uint32_t rd(struct virtio_mmio *t, uint32_t off)
{
	uint32_t v = 0xdeadbeef;
	virtio_mmio_access(t, BASE + off, false, &v, 4);
	return v;
}

static void wr(struct virtio_mmio *t, uint32_t off, uint32_t v)
{
	virtio_mmio_access(t, BASE + off, true, &v, 4);
}

/* ---- a test device ---- */

static unsigned notified[4], resets;
static uint8_t test_config[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void test_config_read(struct virtio_mmio *t, uint32_t off, void *buf, unsigned len)
{
	(void)t;
	memcpy(buf, test_config + off, len);
}

static void test_notify(struct virtio_mmio *t, unsigned q)
{
	notified[q]++;
	virtio_mmio_interrupt(t, VIRTIO_INT_USED);
}

static void test_reset(struct virtio_mmio *t)
{
	(void)t;
	resets++;
}

static const struct virtio_mmio_device_ops test_ops = {
	.device_id = 42,
	.features = (1ull << VIRTIO_F_VERSION_1) | 0x5,
	.nr_queues = 2,
	.queue_max = 64,
	.config_size = sizeof(test_config),
	.config_read = test_config_read,
	.queue_notify = test_notify,
	.reset = test_reset,
};

static void test_device(struct virtio_mmio *t)
{
	memset(notified, 0, sizeof(notified));
	resets = 0;
	virtio_mmio_init(t, &test_ops, NULL, gm, BASE, IRQ, irq_line, NULL);
}

static void negotiate(struct virtio_mmio *t, uint64_t features)
{
	wr(t, VIRTIO_MMIO_STATUS, 0);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
}

static void setup_queue(struct virtio_mmio *t, unsigned q, uint32_t size, uint64_t base)
{
	wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, size);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(base + DESC_GPA));
	wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)((base + DESC_GPA) >> 32));
	wr(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(base + AVAIL_GPA));
	wr(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(base + USED_GPA));
	wr(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void driver_ok(struct virtio_mmio *t)
{
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

TestSuite(virtio_mmio, .init = setup, .fini = teardown);

Test(virtio_mmio, identifies_itself)
{
	struct virtio_mmio t;

	test_device(&t);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_VERSION_REG), 2);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_DEVICE_ID), 42);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_DEVICE_FEATURES), 5);
	wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_DEVICE_FEATURES), 1, "VERSION_1 is bit 32");
	wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_STATUS), 0);
	wr(&t, VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	wr(&t, VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "no queue 2");
	virtio_mmio_destroy(&t);
}

Test(virtio_mmio, bad_widths_offsets_and_read_only_registers_are_ignored)
{
	struct virtio_mmio t;
	uint64_t v8 = ~0ull;
	uint16_t v2 = 0xffff;

	test_device(&t);
	virtio_mmio_access(&t, BASE + VIRTIO_MMIO_MAGIC_VALUE, false, &v2, 2);
	cr_assert_eq(v2, 0);
	virtio_mmio_access(&t, BASE + VIRTIO_MMIO_MAGIC_VALUE + 1, false, &v8, 4);
	cr_assert_eq((uint32_t)v8, 0);
	cr_assert_eq(rd(&t, 0x0c0), 0, "no register there");
	wr(&t, VIRTIO_MMIO_MAGIC_VALUE, 1);
	wr(&t, VIRTIO_MMIO_DEVICE_ID, 1);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(t.bad_accesses, 5);
	/* Config space: any width inside it, nothing past it. */
	uint8_t b = 0;
	virtio_mmio_access(&t, BASE + VIRTIO_MMIO_CONFIG + 7, false, &b, 1);
	cr_assert_eq(b, 8);
	v8 = 0;
	virtio_mmio_access(&t, BASE + VIRTIO_MMIO_CONFIG, false, &v8, 8);
	cr_assert_eq(v8, 0x0807060504030201ull);
	uint32_t v4 = 0xffffffff;
	virtio_mmio_access(&t, BASE + VIRTIO_MMIO_CONFIG + 6, false, &v4, 4);
	cr_assert_eq(v4, 0, "straddles the end of config space");
	virtio_mmio_access(&t, BASE + 0x1fc, false, &v4, 4);
	cr_assert_eq(v4, 0);
	v4 = 0;
	virtio_mmio_access(&t, BASE + VIRTIO_MMIO_CONFIG, true, &v4, 4);
	cr_assert_eq(test_config[0], 1, "read-only config space");
	cr_assert_eq(t.bad_accesses, 8);
	virtio_mmio_destroy(&t);
}

Test(virtio_mmio, features_without_version_1_or_not_offered_are_refused)
{
	struct virtio_mmio t;

	test_device(&t);
	negotiate(&t, 0x1);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0, "no VERSION_1");
	negotiate(&t, (1ull << VIRTIO_F_VERSION_1) | 0x2);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0, "bit 1 not offered");
	negotiate(&t, (1ull << VIRTIO_F_VERSION_1) | 0x4);
	cr_assert_neq(rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	cr_assert_eq(t.driver_features, (1ull << VIRTIO_F_VERSION_1) | 0x4);
	/* Features are frozen once accepted. */
	wr(&t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(&t, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	cr_assert_eq(t.driver_features, (1ull << VIRTIO_F_VERSION_1) | 0x4);
	/* DRIVER_OK without FEATURES_OK is not taken. */
	negotiate(&t, 0);
	driver_ok(&t);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK, 0);
	virtio_mmio_destroy(&t);
}

Test(virtio_mmio, the_driver_cannot_clear_status_bits_but_reset_clears_everything)
{
	struct virtio_mmio t;

	test_device(&t);
	negotiate(&t, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(&t, 0, 16, 0);
	driver_ok(&t);
	uint32_t st = rd(&t, VIRTIO_MMIO_STATUS);
	wr(&t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_STATUS), st);
	unsigned before = resets;
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);
	cr_assert_eq(line_level, 1);
	wr(&t, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(resets, before + 1);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(line_level, 0, "reset lowers the line");
	wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_eq(t.driver_features, 0);
	virtio_mmio_destroy(&t);
}

Test(virtio_mmio, bad_queue_setups_are_refused_and_need_reset)
{
	static const struct {
		uint32_t size;
		uint64_t base;
	} bad[] = {
		{ 0, 0 }, { 24, 0 }, { 128, 0 },              /* not a power of two, above max */
		{ 16, RAM - DESC_GPA - 0x10 },                /* descriptors past RAM */
		{ 16, 0xfeb00000ULL - DESC_GPA },             /* in the MMIO hole */
		{ 16, 0xffffffff00000000ULL },                /* 64-bit addresses nowhere */
	};
	struct virtio_mmio t;

	test_device(&t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		negotiate(&t, 1ull << VIRTIO_F_VERSION_1);
		setup_queue(&t, 0, bad[i].size, bad[i].base);
		cr_assert_eq(rd(&t, VIRTIO_MMIO_QUEUE_READY), 0, "case %zu", i);
		cr_assert_neq(rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0, "case %zu", i);
		cr_assert_eq(t.bad_queue_setups, i + 1);
	}
	/* A reset clears NEEDS_RESET; then a good setup works. */
	negotiate(&t, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(&t, 1, 64, 0);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_QUEUE_READY), 1);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	/* A ready queue's registers cannot change. */
	wr(&t, VIRTIO_MMIO_QUEUE_NUM, 32);
	wr(&t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	cr_assert_eq(t.vq[1].size, 64);
	cr_assert_eq(t.vq[1].desc_gpa, DESC_GPA);
	virtio_mmio_destroy(&t);
}

Test(virtio_mmio, notify_reaches_live_ready_queues_only)
{
	struct virtio_mmio t;

	test_device(&t);
	negotiate(&t, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(&t, 0, 16, 0);
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(notified[0], 0, "before DRIVER_OK");
	driver_ok(&t);
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(notified[0], 1);
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);      /* not ready */
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 2);      /* no such queue */
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	cr_assert_eq(notified[1], 0);
	cr_assert_eq(t.bad_notifies, 4);
	/* The line stays up until every cause is acknowledged. */
	cr_assert_eq(line_level, 1);
	virtio_mmio_notify(&t, 0);
	cr_assert_eq(notified[0], 2);
	wr(&t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_CONFIG);
	cr_assert_eq(line_level, 1);
	wr(&t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	cr_assert_eq(line_level, 0);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	virtio_mmio_destroy(&t);
}

Test(virtio_mmio, needs_reset_tells_a_live_driver)
{
	struct virtio_mmio t;

	test_device(&t);
	negotiate(&t, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(&t, 0, 16, 0);
	driver_ok(&t);
	uint32_t gen = rd(&t, VIRTIO_MMIO_CONFIG_GENERATION);
	pthread_mutex_lock(&t.lock);
	virtio_mmio_needs_reset(&t);
	pthread_mutex_unlock(&t.lock);
	cr_assert_neq(rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cr_assert_eq(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	cr_assert_neq(rd(&t, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(notified[0], 0, "a device that needs a reset serves nothing");
	virtio_mmio_destroy(&t);
}

/* ---- the balloon on the transport ---- */

static uint32_t actual_heard;
static unsigned actual_calls;

static void listener(void *arg, uint32_t actual)
{
	(void)arg;
	actual_heard = actual;
	actual_calls++;
}

/* Queue q's rings at q * 0x4000 past the test layout. */
static uint64_t qbase(unsigned q)
{
	return (uint64_t)q * 0x4000;
}

/* A balloon with reporting offered, the driver taking features (low
 * bits) and setting up nr_queues queues. */
static struct virtio_balloon *balloon_up_with(uint32_t target, uint32_t features, unsigned nr_queues)
{
	struct virtio_balloon *b;

	cr_assert_eq(virtio_balloon_create(arena, gm, BASE, IRQ, irq_line, NULL, target, true, &b), 0);
	struct virtio_mmio *t = virtio_balloon_mmio(b);
	cr_assert_eq(rd(t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(rd(t, VIRTIO_MMIO_DEVICE_FEATURES), 0x27,
		     "MUST_TELL_HOST, STATS_VQ, DEFLATE_ON_OOM, REPORTING");
	negotiate(t, (1ull << VIRTIO_F_VERSION_1) | features);
	for (unsigned q = 0; q < nr_queues; q++)
		setup_queue(t, q, 16, qbase(q));
	driver_ok(t);
	cr_assert(virtio_mmio_live(t));
	actual_calls = 0;
	virtio_balloon_set_listener(b, listener, NULL);
	return b;
}

static struct virtio_balloon *balloon_up(uint32_t target)
{
	return balloon_up_with(target, 0x7, 3);
}

/* A one-descriptor buffer at slot n of queue q, made available. */
static void post(unsigned q, uint16_t n, const void *data, uint32_t len, uint16_t flags)
{
	uint64_t buf = BUF_GPA + 0x10000 * q + 0x1000 * n;
	struct virtq_desc d = { .addr = buf, .len = len, .flags = flags };
	memcpy(hva(buf, len ? len : 1), data, len);
	memcpy(hva(qbase(q) + DESC_GPA + 16ull * n, 16), &d, 16);
	uint16_t *avail = hva(qbase(q) + AVAIL_GPA, 4 + 2 * 16);
	avail[2 + avail[1] % 16] = n;
	avail[1]++;
}

static uint16_t used(unsigned q)
{
	return ((uint16_t *)hva(qbase(q) + USED_GPA, 4))[1];
}

Test(virtio_mmio, balloon_inflates_and_deflates_through_balloon_mem)
{
	struct virtio_balloon *b = balloon_up(0);
	struct virtio_mmio *t = virtio_balloon_mmio(b);
	struct virtio_balloon_info info;
	uint32_t pfns[256];

	/* 256 good PFNs from 4 MiB up; each page holds a pattern. */
	for (unsigned i = 0; i < 256; i++) {
		pfns[i] = (uint32_t)((4 * MIB >> 12) + i);
		memset(hva((uint64_t)pfns[i] << 12, 4096), 0xa5, 4096);
	}
	memset(hva(3 * MIB, 4096), 0x5a, 4096);         /* a page left alone */
	post(0, 0, pfns, sizeof(pfns), 0);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(used(0), 1);
	cr_assert_eq(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_USED, VIRTIO_INT_USED);
	virtio_balloon_get_info(b, &info);
	cr_assert_eq(info.inflated_pfns, 256);
	cr_assert_eq(info.bogus_pfns, 0);
	struct balloon_mem_stats ms;
	balloon_mem_stats(gm, &ms);
	cr_assert_eq(ms.ballooned_pages, 256);
	/* The same PFNs again, and PFNs outside RAM or in the hole: bogus. */
	uint32_t bogus[] = { pfns[0], (uint32_t)(RAM >> 12), 0xfeb00, 0xffffffffu };
	post(0, 1, bogus, sizeof(bogus), 0);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_balloon_get_info(b, &info);
	cr_assert_eq(info.bogus_pfns, 4);
	/* Deflate: the GFNs get (zeroed) frames back; one never inflated. */
	post(1, 0, pfns, sizeof(pfns), 0);
	uint32_t never[] = { 100 };
	post(1, 1, never, sizeof(never), 0);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert_eq(used(1), 2);
	virtio_balloon_get_info(b, &info);
	cr_assert_eq(info.deflated_pfns, 256);
	cr_assert_eq(info.bogus_pfns, 5);
	for (unsigned i = 0; i < 256; i++)
		cr_assert_eq(*(uint8_t *)hva((uint64_t)pfns[i] << 12, 1), 0);
	uint8_t *kept = hva(3 * MIB, 4096);
	for (unsigned i = 0; i < 4096; i++)
		cr_assert_eq(kept[i], 0x5a, "a page never ballooned changed");
	virtio_balloon_destroy(b);
}

Test(virtio_mmio, balloon_refuses_badly_shaped_buffers)
{
	struct virtio_balloon *b = balloon_up(0);
	struct virtio_mmio *t = virtio_balloon_mmio(b);
	struct virtio_balloon_info info;
	static uint32_t many[257];
	uint32_t one = 1024;

	post(0, 0, &one, 4, VIRTQ_DESC_F_WRITE);      /* writable where readable expected */
	post(0, 1, many, sizeof(many), 0);             /* more than 256 PFNs */
	post(0, 2, &one, 3, 0);                        /* not whole PFNs */
	post(0, 3, &one, 4, VIRTQ_DESC_F_INDIRECT);    /* not offered */
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(used(0), 4, "every bad buffer is returned");
	uint32_t *u = hva(qbase(0) + USED_GPA + 4, 8 * 4);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(u[2 * i + 1], 0, "returned with 0 bytes written");
	virtio_balloon_get_info(b, &info);
	cr_assert_eq(info.bad_buffers, 4);
	cr_assert_eq(info.inflated_pfns, 0);
	cr_assert(virtio_mmio_live(t), "the device keeps working");
	/* A broken avail index stops the queue until a reset. */
	uint16_t *avail = hva(qbase(0) + AVAIL_GPA, 4);
	avail[1] += 100;
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_neq(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	virtio_balloon_destroy(b);
}

Test(virtio_mmio, balloon_target_actual_and_config_interrupt)
{
	struct virtio_balloon *b = balloon_up(1000);
	struct virtio_mmio *t = virtio_balloon_mmio(b);
	uint32_t v;

	virtio_mmio_access(t, BASE + VIRTIO_MMIO_CONFIG, false, &v, 4);
	cr_assert_eq(v, 1000);
	wr(t, VIRTIO_MMIO_INTERRUPT_ACK, 3);
	uint32_t gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	virtio_balloon_set_target(b, 4096);
	cr_assert_eq(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	cr_assert_eq(line_level, 1);
	cr_assert_neq(rd(t, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	virtio_mmio_access(t, BASE + VIRTIO_MMIO_CONFIG, false, &v, 4);
	cr_assert_eq(v, 4096);
	/* num_pages is the device's; actual is the driver's. */
	v = 7;
	virtio_mmio_access(t, BASE + VIRTIO_MMIO_CONFIG, true, &v, 4);
	v = 4096;
	virtio_mmio_access(t, BASE + VIRTIO_MMIO_CONFIG + 4, true, &v, 4);
	cr_assert_eq(actual_calls, 1);
	cr_assert_eq(actual_heard, 4096);
	virtio_mmio_access(t, BASE + VIRTIO_MMIO_CONFIG + 4, true, &v, 4);
	cr_assert_eq(actual_calls, 1, "no change, no event");
	struct virtio_balloon_info info;
	virtio_balloon_get_info(b, &info);
	cr_assert_eq(info.num_pages, 4096);
	cr_assert_eq(info.actual, 4096);
	cr_assert_eq(info.bad_config_writes, 1);
	virtio_balloon_destroy(b);
}

Test(virtio_mmio, balloon_keeps_the_latest_guest_stats)
{
	struct virtio_balloon *b = balloon_up(0);
	struct virtio_mmio *t = virtio_balloon_mmio(b);
	struct virtio_balloon_info info;
	uint8_t recs[3 * 10];
	const struct { uint16_t tag; uint64_t val; } in[3] = { { 4, 111 }, { 5, 222 }, { 99, 1 } };

	for (unsigned i = 0; i < 3; i++) {
		memcpy(recs + 10 * i, &in[i].tag, 2);
		memcpy(recs + 10 * i + 2, &in[i].val, 8);
	}
	post(2, 0, recs, sizeof(recs), 0);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	cr_assert_eq(used(2), 0, "the stats buffer is held");
	virtio_balloon_get_info(b, &info);
	cr_assert_eq(info.stats_updates, 1);
	cr_assert_eq(info.guest_stats[4], 111);
	cr_assert_eq(info.guest_stats[5], 222);
	cr_assert_eq(info.stats_valid, (1u << 4) | (1u << 5));
	virtio_balloon_request_stats(b);
	cr_assert_eq(used(2), 1, "given back for a refill");
	post(2, 0, recs, 7, 0);                        /* not whole records */
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	virtio_balloon_get_info(b, &info);
	cr_assert_eq(info.bad_buffers, 1);
	virtio_balloon_destroy(b);
}

/* Takes every free frame of zone Normal; how many are in *taken. */
static long *hoard_frames(size_t *taken)
{
	struct mm_zone *z = mm_zone_get(arena, ZONE_NORMAL);
	size_t cap = 1 << 16, n = 0;
	long *idx = malloc(cap * sizeof(*idx)), f;

	cr_assert_not_null(idx);
	while (n < cap && (f = mm_frames_alloc(z, 0, MT_MOVABLE, FRAME_VMM, false)) >= 0)
		idx[n++] = f;
	*taken = n;
	return idx;
}

static void unhoard_frames(long *idx, size_t n)
{
	struct mm_zone *z = mm_zone_get(arena, ZONE_NORMAL);

	for (size_t i = 0; i < n; i++)
		cr_assert_eq(mm_frames_free(z, (uint32_t)idx[i], 0), 0);
	free(idx);
}

/* A deflate the host cannot serve yet (no free frame) is held, not handed
 * back: the guest must not reuse pages that have none. Once frames are
 * free, the next notification serves it and the buffer comes back. */
Test(virtio_mmio, balloon_holds_a_deflate_until_every_pfn_has_a_frame)
{
	test_skip_under_slab(arena, "slob", "a metadata page goes back to the buddy the moment it "
			     "empties, so no zone can be kept without a free frame through a request");
	struct virtio_balloon *b = balloon_up(0);
	struct virtio_mmio *t = virtio_balloon_mmio(b);
	struct virtio_balloon_info info;
	struct balloon_mem_stats ms;
	uint32_t pfns[64];

	for (unsigned i = 0; i < 64; i++)
		pfns[i] = (uint32_t)((4 * MIB >> 12) + 2 * i);    /* not a run: 64 mappings */
	post(0, 0, pfns, sizeof(pfns), 0);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(used(0), 1);
	balloon_mem_stats(gm, &ms);
	cr_assert_eq(ms.ballooned_pages, 64);

	size_t taken;
	long *hoard = hoard_frames(&taken);
	cr_assert_gt(taken, 0);
	post(1, 0, pfns, sizeof(pfns), 0);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert_eq(used(1), 0, "a deflate without frames was handed back");
	virtio_balloon_get_info(b, &info);
	cr_assert_gt(info.failed_pfns, 0);
	balloon_mem_stats(gm, &ms);
	cr_assert_gt(ms.ballooned_pages, 0, "the GFNs without frames still count as ballooned");
	/* A second notification changes nothing while there are no frames. */
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert_eq(used(1), 0);

	unhoard_frames(hoard, taken);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert_eq(used(1), 1, "the held deflate was not served once frames were free");
	balloon_mem_stats(gm, &ms);
	cr_assert_eq(ms.ballooned_pages, 0);
	for (unsigned i = 0; i < 64; i++)
		cr_assert_not(balloon_mem_is_ballooned(gm, pfns[i]));
	/* Inflating them again is not refused as bogus. */
	post(0, 1, pfns, sizeof(pfns), 0);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_balloon_get_info(b, &info);
	cr_assert_eq(info.bogus_pfns, 0);
	cr_assert_eq(info.inflated_pfns, 128);
	virtio_balloon_destroy(b);
}

/* ---- free page reporting on the balloon ---- */

#define F_STATS (1u << VIRTIO_BALLOON_F_STATS_VQ)
#define F_HINT (1u << VIRTIO_BALLOON_F_FREE_PAGE_HINT)
#define F_REPORTING (1u << VIRTIO_BALLOON_F_REPORTING)

Test(virtio_mmio, balloon_reporting_queue_index_follows_the_features)
{
	cr_assert_eq(virtio_balloon_queue_index(F_STATS | F_REPORTING, VB_QUEUE_REPORTING), 3);
	cr_assert_eq(virtio_balloon_queue_index(F_REPORTING, VB_QUEUE_REPORTING), 2);
	cr_assert_eq(virtio_balloon_queue_index(F_STATS | F_HINT | F_REPORTING, VB_QUEUE_REPORTING), 4);
	cr_assert_eq(virtio_balloon_queue_index(F_HINT | F_REPORTING, VB_QUEUE_REPORTING), 3);
	cr_assert_eq(virtio_balloon_queue_index(F_STATS, VB_QUEUE_REPORTING), -1);
	cr_assert_eq(virtio_balloon_queue_index(F_REPORTING, VB_QUEUE_STATS), -1);
	cr_assert_eq(virtio_balloon_queue_role(F_STATS | F_REPORTING, 2), VB_QUEUE_STATS);
	cr_assert_eq(virtio_balloon_queue_role(F_REPORTING, 2), VB_QUEUE_REPORTING);
	cr_assert_eq(virtio_balloon_queue_role(F_REPORTING, 3), VB_QUEUE_NONE);
	cr_assert_eq(virtio_balloon_queue_role(0, 1), VB_QUEUE_DEFLATE);
	cr_assert_eq(virtio_balloon_queue_role(0, 0), VB_QUEUE_INFLATE);
}

Test(virtio_mmio, balloon_offers_reporting_only_when_on)
{
	struct virtio_balloon *b;
	struct virtio_balloon_info info;

	cr_assert_eq(virtio_balloon_create(arena, gm, BASE, IRQ, irq_line, NULL, 0, false, &b), 0);
	struct virtio_mmio *t = virtio_balloon_mmio(b);
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(rd(t, VIRTIO_MMIO_DEVICE_FEATURES), 0x7, "no REPORTING when off");
	/* A driver taking it anyway is refused (3.1.1). */
	negotiate(t, (1ull << VIRTIO_F_VERSION_1) | 0x7 | F_REPORTING);
	cr_assert_eq(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	virtio_balloon_get_info(b, &info);
	cr_assert_not(info.reporting_offered);
	virtio_balloon_destroy(b);
}

/* A chain of descriptors from desc index first of queue q, one per range,
 * flags on each (NEXT added), made available. */
static void post_ranges(unsigned q, uint16_t first, const struct virtq_range *r, unsigned n,
			uint16_t flags)
{
	for (unsigned i = 0; i < n; i++) {
		struct virtq_desc d = {
			.addr = r[i].gpa, .len = r[i].len,
			.flags = (uint16_t)(flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			.next = (uint16_t)(first + i + 1),
		};
		memcpy(hva(qbase(q) + DESC_GPA + 16ull * (first + i), 16), &d, 16);
	}
	uint16_t *avail = hva(qbase(q) + AVAIL_GPA, 4 + 2 * 16);
	avail[2 + avail[1] % 16] = first;
	avail[1]++;
}

static uint64_t normal_memfd_bytes(void)
{
	struct stat sb;
	cr_assert_eq(fstat(mm_zone_get(arena, ZONE_NORMAL)->memfd, &sb), 0);
	return (uint64_t)sb.st_blocks * 512;
}

/* Reports [gpa, gpa + len) on queue q as Linux does (writable
 * descriptors), with a page on either side left alone; checks the pages
 * read zeros after, the host memory fell, and the buffer came back. */
static void report_and_check(struct virtio_balloon *b, unsigned q)
{
	struct virtio_mmio *t = virtio_balloon_mmio(b);
	const struct virtq_range r[] = { { 4 * MIB, 2 * MIB }, { 8 * MIB, 64 << 10 } };

	/* SLUB's slabs have room for what a report takes (a p2m table page
	 * to split a leaf); other policies take a fresh metadata page. */
	test_skip_under_slab(arena, "slob", "the host memory counted here is exact to the page");
	test_skip_under_slab(arena, "slab", "the host memory counted here is exact to the page");

	memset(hva(3 * MIB, 13 * MIB), 0xa5, 13 * MIB);
	uint64_t before = normal_memfd_bytes();
	post_ranges(q, 0, r, 2, VIRTQ_DESC_F_WRITE);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	cr_assert_eq(used(q), 1, "the buffer goes back");
	uint32_t *u = hva(qbase(q) + USED_GPA + 4, 8);
	cr_assert_eq(u[0], 0, "its head");
	cr_assert_eq(u[1], 0, "used length 0");
	cr_assert_eq(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_USED, VIRTIO_INT_USED);
	uint64_t after = normal_memfd_bytes();
	cr_assert_geq(before - after, 2 * MIB + (64 << 10), "host memory fell by %lu only",
		      (unsigned long)(before - after));
	for (unsigned i = 0; i < 2; i++) {
		const uint8_t *p = hva(r[i].gpa, r[i].len);
		for (uint32_t k = 0; k < r[i].len; k += 512)
			cr_assert_eq(p[k], 0, "reported byte %#lx not zero", (unsigned long)(r[i].gpa + k));
	}
	cr_assert_eq(*(uint8_t *)hva(4 * MIB - 1, 1), 0xa5, "the byte before changed");
	cr_assert_eq(*(uint8_t *)hva(6 * MIB, 1), 0xa5, "the byte after changed");
	cr_assert_eq(*(uint8_t *)hva(8 * MIB + (64 << 10), 1), 0xa5);
	struct balloon_report_stats st;
	balloon_report_stats(gm, &st);
	cr_assert_eq(st.ranges, 2);
	cr_assert_eq(st.bytes, 2 * MIB + (64 << 10));
	cr_assert_eq(st.rejected, 0);
	cr_assert_eq(st.reported_frames[ZONE_NORMAL], 512 + 16);
	cr_assert_gt(st.last_ms, 0);
	struct virtio_balloon_info info;
	virtio_balloon_get_info(b, &info);
	cr_assert_eq(info.report_buffers, 1);
	cr_assert(info.features & F_REPORTING);
}

Test(virtio_mmio, balloon_reports_on_queue_3_beside_stats)
{
	struct virtio_balloon *b = balloon_up_with(0, 0x7 | F_REPORTING, 4);

	report_and_check(b, 3);
	virtio_balloon_destroy(b);
}

Test(virtio_mmio, balloon_reports_on_queue_2_without_stats)
{
	struct virtio_balloon *b = balloon_up_with(0, F_REPORTING, 3);
	struct virtio_balloon_info info;

	report_and_check(b, 2);
	virtio_balloon_get_info(b, &info);
	cr_assert_eq(info.stats_updates, 0, "queue 2 is no stats queue here");
	virtio_balloon_destroy(b);
}

/* Bad ranges in a buffer are refused one by one; the good ones beside them
 * still count, and the buffer goes back. */
Test(virtio_mmio, balloon_report_counts_each_bad_range)
{
	struct virtio_balloon *b = balloon_up_with(0, 0x7 | F_REPORTING, 4);
	struct virtio_mmio *t = virtio_balloon_mmio(b);
	const struct virtq_range r[] = {
		{ RAM, 4096 },                  /* outside RAM */
		{ 4 * MIB + 1, 4096 },          /* unaligned */
		{ 4 * MIB, 0 },                 /* empty */
		{ 0xa0000, 4096 },              /* the legacy hole */
		{ 5 * MIB, 4096 },              /* good */
	};

	post_ranges(3, 0, r, 5, 0);         /* readable, as the spec's text has it */
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 3);
	cr_assert_eq(used(3), 1);
	struct balloon_report_stats st;
	balloon_report_stats(gm, &st);
	cr_assert_eq(st.rejected, 4);
	cr_assert_eq(st.ranges, 1);
	cr_assert(virtio_mmio_live(t));
	virtio_balloon_destroy(b);
}

/* A full ring of reports is served a bounded amount per notify: the other
 * queues get in before the rest, and nothing is lost. */
Test(virtio_mmio, balloon_report_flood_is_served_in_bounded_rounds)
{
	struct virtio_balloon *b = balloon_up_with(0, 0x7 | F_REPORTING, 4);
	struct virtio_mmio *t = virtio_balloon_mmio(b);
	/* Each range past the round's byte budget, so a round is one buffer. */
	const struct virtq_range huge = { RAM, 0xfffff000u };

	for (uint16_t i = 0; i < 16; i++)
		post_ranges(3, i, &huge, 1, VIRTQ_DESC_F_WRITE);
	cr_assert(virtio_mmio_notify(t, 3), "a flood leaves work for later");
	cr_assert_eq(used(3), VIRTIO_MMIO_NOTIFY_ROUNDS);
	uint32_t pfn = (uint32_t)(5 * MIB >> 12);
	post(0, 0, &pfn, 4, 0);
	virtio_mmio_notify(t, 0);
	cr_assert_eq(used(0), 1, "the inflate queue is served between rounds");
	while (virtio_mmio_notify(t, 3))
		;
	cr_assert_eq(used(3), 16);
	struct balloon_report_stats st;
	balloon_report_stats(gm, &st);
	cr_assert_eq(st.rejected, 16);
	virtio_balloon_destroy(b);
}

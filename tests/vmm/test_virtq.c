/*
 * Split virtqueues (vmm/virtq.c) on rings the test writes itself into real
 * guest RAM, no KVM: every way a hostile driver can break a ring or a chain
 * (loops, links and heads past the ring, avail indexes that jump, addresses
 * and lengths outside RAM or wrapping, writable segments where readable are
 * expected, INDIRECT, too many segments), and ring setups virtq_enable must
 * refuse. A bad chain comes back with its head; a broken ring says so.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "mm/mm.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/devices/virtio/virtq.h"

#define MIB (1ULL << 20)
#define RAM (8 * MIB)
#define QSIZE 16
#define DESC_GPA  0x10000ULL
#define AVAIL_GPA 0x11000ULL
#define USED_GPA  0x12000ULL
#define BUF_GPA   0x20000ULL

static struct mm_arena *arena;
static struct guest_mem *gm;
static struct virtq q;

static void setup(void)
{
	struct mm_arena_config cfg = { .normal_bytes = 32 * MIB, .huge = MM_HUGE_OFF };
	char why[256];

	cr_assert_eq(mm_create(&cfg, &arena), 0);
	cr_assert_eq(guest_mem_create(arena, RAM, MM_HUGE_OFF, &gm, why, sizeof(why)), 0, "%s", why);
	memset(&q, 0, sizeof(q));
	q.size = QSIZE;
	q.desc_gpa = DESC_GPA;
	q.avail_gpa = AVAIL_GPA;
	q.used_gpa = USED_GPA;
	cr_assert_eq(virtq_enable(&q, gm, 256), 0);
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

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };
	memcpy(hva(DESC_GPA + 16ull * i, 16), &d, 16);
}

/* Makes head available; the avail index moves by one. */
static void offer(uint16_t head)
{
	uint16_t *avail = hva(AVAIL_GPA, 4 + 2 * QSIZE);
	avail[2 + (avail[1] % QSIZE)] = head;
	avail[1]++;
}

static void set_avail_idx(uint16_t idx)
{
	uint16_t *avail = hva(AVAIL_GPA, 4);
	avail[1] = idx;
}

static uint16_t used_idx(void)
{
	return ((uint16_t *)hva(USED_GPA, 4))[1];
}

TestSuite(virtq, .init = setup, .fini = teardown);

Test(virtq, a_good_chain_is_read_and_returned)
{
	struct virtq_elem e;

	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_EMPTY);
	desc(3, BUF_GPA, 100, VIRTQ_DESC_F_NEXT, 7);
	desc(7, BUF_GPA + 0x1000, 50, VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF_GPA + 0x2000, 8, VIRTQ_DESC_F_WRITE, 0);
	offer(3);
	cr_assert(virtq_has_avail(&q));
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_ELEM);
	cr_assert_eq(e.head, 3);
	cr_assert_eq(e.nr_out, 2);
	cr_assert_eq(e.nr_in, 1);
	cr_assert_eq(e.out_bytes, 150);
	cr_assert_eq(e.in_bytes, 8);
	cr_assert_eq(e.out[0].hva, hva(BUF_GPA, 100));
	cr_assert_eq(e.in[0].hva, hva(BUF_GPA + 0x2000, 8));
	virtq_push(&q, e.head, 8);
	cr_assert_eq(used_idx(), 1);
	uint32_t *used = hva(USED_GPA + 4, 8);
	cr_assert_eq(used[0], 3);
	cr_assert_eq(used[1], 8);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_EMPTY);
	cr_assert_not(virtq_has_avail(&q));
	cr_assert_eq(q.bad_chains, 0);
}

Test(virtq, indexes_wrap_around_65536)
{
	struct virtq_elem e;

	q.last_avail = 0xfffe;
	set_avail_idx(0xfffe);
	desc(0, BUF_GPA, 4, 0, 0);
	for (int i = 0; i < 4; i++) {
		offer(0);
		cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_ELEM);
		virtq_push(&q, e.head, 0);
	}
	cr_assert_eq(q.last_avail, 2);
}

Test(virtq, a_loop_is_a_bad_chain)
{
	struct virtq_elem e;

	desc(0, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BAD_CHAIN);
	cr_assert_eq(e.head, 0);
	cr_assert_eq(e.nr_out + e.nr_in, 0);
	cr_assert_eq(q.bad_chains, 1);
	/* A descriptor that links to itself. */
	desc(5, BUF_GPA, 0, VIRTQ_DESC_F_NEXT, 5);
	offer(5);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BAD_CHAIN);
	cr_assert_eq(q.bad_chains, 2);
	virtq_push(&q, e.head, 0);
	cr_assert_eq(used_idx(), 1);
}

Test(virtq, a_link_past_the_ring_is_a_bad_chain)
{
	struct virtq_elem e;

	desc(2, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, QSIZE);
	offer(2);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BAD_CHAIN);
	desc(2, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 0xffff);
	offer(2);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BAD_CHAIN);
	cr_assert_eq(q.bad_chains, 2);
}

Test(virtq, a_head_past_the_ring_breaks_it)
{
	struct virtq_elem e;

	offer(QSIZE);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BROKEN);
	/* Nothing was consumed. */
	cr_assert_eq(q.last_avail, 0);
}

Test(virtq, an_avail_index_that_jumps_breaks_the_ring)
{
	struct virtq_elem e;

	desc(0, BUF_GPA, 4, 0, 0);
	set_avail_idx(QSIZE + 1);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BROKEN);
	set_avail_idx(0xffff);           /* "behind" the device */
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BROKEN);
	set_avail_idx(QSIZE);            /* a full ring is fine */
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_ELEM);
}

Test(virtq, segments_outside_ram_are_bad_chains)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ RAM, 1 },                          /* just past the end */
		{ RAM - 8, 16 },                     /* straddles the end */
		{ BUF_GPA, 0xffffffffu },            /* a huge length */
		{ 0xfffffffffffff000ULL, 0x2000 },   /* wraps past 2^64 */
		{ 0xfeb00e00ULL, 4 },                /* the MMIO hole */
		{ 0x100000000ULL, 4 },               /* above 4 GiB, no RAM there */
	};
	struct virtq_elem e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		desc(0, bad[i].addr, bad[i].len, 0, 0);
		offer(0);
		cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BAD_CHAIN, "case %zu", i);
		virtq_push(&q, e.head, 0);
	}
	cr_assert_eq(q.bad_chains, sizeof(bad) / sizeof(bad[0]));
	/* The last byte of RAM is fine. */
	desc(0, RAM - 1, 1, 0, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_ELEM);
}

Test(virtq, readable_after_writable_is_a_bad_chain)
{
	struct virtq_elem e;

	desc(0, BUF_GPA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF_GPA, 4, 0, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BAD_CHAIN);
}

Test(virtq, writable_only_chains_are_reported_as_such)
{
	struct virtq_elem e;

	/* The device decides what it expects; the chain says what it is. */
	desc(0, BUF_GPA, 1024, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_ELEM);
	cr_assert_eq(e.nr_out, 0);
	cr_assert_eq(e.nr_in, 1);
	cr_assert_eq(e.out_bytes, 0);
}

Test(virtq, indirect_is_refused)
{
	struct virtq_elem e;

	desc(0, BUF_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BAD_CHAIN);
}

Test(virtq, too_many_segments_is_a_bad_chain)
{
	struct virtq_elem e;

	for (uint16_t i = 0; i < QSIZE; i++)
		desc(i, BUF_GPA, 4, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	offer(0);
	cr_assert_eq(VIRTQ_MAX_SEGS, QSIZE);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_ELEM, "a chain as long as the ring is fine");
	desc(QSIZE - 1, BUF_GPA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	cr_assert_eq(virtq_pop(&q, gm, &e), VIRTQ_BAD_CHAIN, "one more hop is a loop");
}

Test(virtq, enable_checks_size_alignment_and_ram)
{
	struct virtq b;

	memset(&b, 0, sizeof(b));
	b.desc_gpa = DESC_GPA;
	b.avail_gpa = AVAIL_GPA;
	b.used_gpa = USED_GPA;
	static const uint16_t bad_sizes[] = { 0, 3, 100, 512, 0xffff };
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		b.size = bad_sizes[i];
		cr_assert_eq(virtq_enable(&b, gm, 256), -EINVAL, "size %u", bad_sizes[i]);
		cr_assert_not(b.ready);
	}
	b.size = 256;
	cr_assert_eq(virtq_enable(&b, gm, 128), -EINVAL, "above the device's max");
	b.size = 128;
	b.desc_gpa = DESC_GPA + 8;
	cr_assert_eq(virtq_enable(&b, gm, 256), -EINVAL, "descriptors need 16-byte alignment");
	b.desc_gpa = DESC_GPA;
	b.used_gpa = USED_GPA + 2;
	cr_assert_eq(virtq_enable(&b, gm, 256), -EINVAL, "the used ring needs 4-byte alignment");
	b.used_gpa = RAM - 8;
	cr_assert_eq(virtq_enable(&b, gm, 256), -EINVAL, "the used ring ends past RAM");
	b.used_gpa = 0xfffffffffffffffcULL;
	cr_assert_eq(virtq_enable(&b, gm, 256), -EINVAL, "the used ring wraps");
	b.used_gpa = USED_GPA;
	b.avail_gpa = 0xfeb00000ULL;
	cr_assert_eq(virtq_enable(&b, gm, 256), -EINVAL, "the avail ring in the MMIO hole");
	b.avail_gpa = AVAIL_GPA;
	cr_assert_eq(virtq_enable(&b, gm, 256), 0);
	cr_assert(b.ready);
}

Test(virtq, a_ring_rewritten_under_the_device_stays_checked)
{
	struct virtq_elem e;

	/* 16 full rounds of garbage heads, links and lengths. */
	uint8_t *d = hva(DESC_GPA, 16 * QSIZE);
	uint32_t x = 12345;
	for (int round = 0; round < 1000; round++) {
		for (unsigned i = 0; i < 16 * QSIZE; i++) {
			x = x * 1103515245u + 12345u;
			d[i] = (uint8_t)(x >> 16);
		}
		x = x * 1103515245u + 12345u;
		offer((uint16_t)((x >> 16) % QSIZE));
		enum virtq_pop_result r = virtq_pop(&q, gm, &e);
		cr_assert(r == VIRTQ_ELEM || r == VIRTQ_BAD_CHAIN);
		virtq_push(&q, e.head, 0);
	}
	cr_assert_eq(used_idx(), 1000 % 65536);
}

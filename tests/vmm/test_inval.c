/*
 * Invalidation seen from inside the guest. remap.elf reads one qword in a
 * CPL3 loop and tells the probe port when it starts; the test's hook then
 * has another thread change what backs that page (guest_mem_remap_page to a
 * frame holding a new value, or guest_mem_punch_page, after which the page
 * reads zeros). The guest must see the change and says what it saw. Both
 * for a contiguous region (zone Normal, and zone Huge when the host has
 * hugetlb pages) and a scattered one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "mm/p2m.h"
#include "fragment.h"
#include "inproc.h"
#include "runner.h"

#define MIB (1ULL << 20)
#define WATCH_GPA (32 * MIB + 0x100)
#define NEW_VALUE 0x1122334455667788ULL
#define PROBE_READY 1

enum inval_op { OP_REMAP, OP_PUNCH };

struct inval {
	sem_t ready;
	struct vm *vm;
	enum inval_op op;
	bool run_over, changed;
	int rc;
};

static void inval_probe(struct vm *vm, unsigned vcpu, uint32_t value, void *arg)
{
	struct inval *iv = arg;

	(void)vm, (void)vcpu;
	if (value == PROBE_READY)
		sem_post(&iv->ready);
}

/* Waits for the guest to be reading, then changes the page under it. */
static void *inval_worker(void *arg)
{
	struct inval *iv = arg;
	uint8_t page[4096];

	sem_wait(&iv->ready);
	if (iv->run_over)
		return NULL;
	struct guest_mem *gm = vm_guest_mem(iv->vm);
	if (iv->op == OP_REMAP) {
		uint64_t v = NEW_VALUE;
		memset(page, 0x5a, sizeof(page));
		memcpy(page + (WATCH_GPA & 4095), &v, sizeof(v));
		iv->rc = guest_mem_remap_page(gm, WATCH_GPA >> 12, page);
	} else {
		iv->rc = guest_mem_punch_page(gm, WATCH_GPA >> 12);
	}
	iv->changed = true;
	return NULL;
}

static void check_inval(struct mm_arena *arena, enum mm_huge_mode huge, enum inval_op op,
			bool want_contiguous)
{
	struct inval iv = { .op = op };
	struct vm_hooks hooks = { .arena = arena, .probe = inval_probe, .probe_arg = &iv };
	struct inproc ip;
	char cmdline[128], want[128];
	uint64_t expect = op == OP_REMAP ? NEW_VALUE : 0;
	pthread_t worker;

	test_need_kvm();
	sem_init(&iv.ready, 0, 0);
	snprintf(cmdline, sizeof(cmdline), "gpa=0x%llx expect=0x%llx timeout_ms=20000",
		 WATCH_GPA, (unsigned long long)expect);
	inproc_create(&ip, test_build_path("guest/remap.elf"), 64 * MIB, huge, cmdline, &hooks);
	iv.vm = ip.vm;

	struct guest_mem_region r;
	struct p2m_leaf leaf;
	cr_assert_eq(guest_mem_region(vm_guest_mem(ip.vm), 0, &r), 0);
	cr_assert_eq(r.contiguous, want_contiguous, "region 0 is %s",
		     r.contiguous ? "contiguous" : "scattered");
	cr_assert_eq(p2m_lookup(guest_mem_p2m(vm_guest_mem(ip.vm)), WATCH_GPA >> 12, &leaf), 0);
	cr_assert_eq(leaf.order, want_contiguous ? P2M_ORDER_2M : P2M_ORDER_4K,
		     "the watched page sits on a %s leaf", leaf.order ? "2M" : "4K");

	cr_assert_eq(pthread_create(&worker, NULL, inval_worker, &iv), 0);
	int status = inproc_run(&ip, 30);
	iv.run_over = true;
	sem_post(&iv.ready);
	pthread_join(worker, NULL);
	cr_assert(iv.changed, "the guest never said it was reading; console:\n%s", ip.out);
	cr_assert_eq(iv.rc, 0, "%s: %s", op == OP_REMAP ? "remap" : "punch", strerror(-iv.rc));
	cr_assert_eq(status, 0, "status %d; console:\n%s", status, ip.out);
	snprintf(want, sizeof(want), "remap: saw 0x72656d61702d3031 -> 0x%llx after ",
		 (unsigned long long)expect);
	cr_assert(strstr(ip.out, want), "console:\n%s", ip.out);
	if (op == OP_PUNCH) {
		cr_assert_eq(p2m_lookup(guest_mem_p2m(vm_guest_mem(ip.vm)), WATCH_GPA >> 12, &leaf), 0);
		cr_assert(leaf.state & P2M_ST_PUNCHED, "the p2m marks the frame punched");
	}
	inproc_destroy(&ip);
	sem_destroy(&iv.ready);
}

static bool huge_pool_has(long pages)
{
	long free_pages = 0;
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");

	if (f) {
		if (fscanf(f, "%ld", &free_pages) != 1)
			free_pages = 0;
		fclose(f);
	}
	return free_pages >= pages;
}

Test(inval, remap_contiguous_zone_normal)
{
	check_inval(NULL, MM_HUGE_OFF, OP_REMAP, true);
}

Test(inval, punch_contiguous_zone_normal)
{
	check_inval(NULL, MM_HUGE_OFF, OP_PUNCH, true);
}

Test(inval, remap_and_punch_contiguous_zone_huge)
{
	if (!huge_pool_has(32))
		cr_skip_test("the hugetlb pool lacks 32 free 2 MiB pages (make hugepages)");
	check_inval(NULL, MM_HUGE_ON, OP_REMAP, true);
	check_inval(NULL, MM_HUGE_ON, OP_PUNCH, true);
}

Test(inval, remap_and_punch_scattered)
{
	struct fragmented f;

	fragmented_create(&f, 160);
	check_inval(f.arena, MM_HUGE_OFF, OP_REMAP, false);
	check_inval(f.arena, MM_HUGE_OFF, OP_PUNCH, false);
	fragmented_destroy(&f);
}

/*
 * Proactive compaction's decisions (vmm/core/vm_proactive_policy.h) on
 * made-up numbers: the kernel's watermarks, the score from the unusable
 * index, the hysteresis between them, the CPU budget and its debt, the
 * back-off after runs that did nothing, and off at 0.
 */
#include <criterion/criterion.h>
#include "vmm/core/vm_proactive_policy.h"

#define MS 1000000ull
#define ROOM 4096           /* free frames: room for 2 MiB blocks */

static struct vm_proactive_policy policy(unsigned n)
{
	return (struct vm_proactive_policy){ .proactiveness = n, .period_ns = 500 * MS };
}

Test(proactive_policy, watermarks_as_the_kernel)
{
	cr_assert_eq(vm_proactive_wmark_low(20), 80);
	cr_assert_eq(vm_proactive_wmark_high(20), 90);
	cr_assert_eq(vm_proactive_wmark_low(1), 99);
	cr_assert_eq(vm_proactive_wmark_high(1), 100);
	cr_assert_eq(vm_proactive_wmark_low(95), 5);
	cr_assert_eq(vm_proactive_wmark_low(100), 5, "never below 5 %%");
	cr_assert_eq(vm_proactive_wmark_high(100), 15);
}

Test(proactive_policy, score_from_the_unusable_index)
{
	cr_assert_eq(vm_proactive_score(0), 0);
	cr_assert_eq(vm_proactive_score(893), 89);
	cr_assert_eq(vm_proactive_score(1000), 100);
	cr_assert_eq(vm_proactive_score(-1), 0, "out of range clamps");
	cr_assert_eq(vm_proactive_score(5000), 100);
}

Test(proactive_policy, off_never_runs)
{
	struct vm_proactive_policy p = policy(0);
	uint64_t b;

	cr_assert_eq(vm_proactive_decide(&p, 100, ROOM, &b), VM_PROACTIVE_OFF);
	cr_assert_eq(b, 0);
}

Test(proactive_policy, runs_above_high_until_low)
{
	struct vm_proactive_policy p = policy(20);
	uint64_t b;

	cr_assert_eq(vm_proactive_decide(&p, 90, ROOM, &b), VM_PROACTIVE_LOW, "90 is not above 90");
	cr_assert_eq(vm_proactive_decide(&p, 91, ROOM, &b), VM_PROACTIVE_RUN);
	cr_assert_eq(b, 10 * MS, "500 ms * 20 / 1000: 2 %% of a CPU");
	vm_proactive_ran(&p, b, 4 * MS, 91, 85, true);
	cr_assert_eq(vm_proactive_decide(&p, 85, ROOM, &b), VM_PROACTIVE_RUN,
		     "between the watermarks: goes on");
	vm_proactive_ran(&p, b, 4 * MS, 85, 80, true);
	cr_assert_eq(vm_proactive_decide(&p, 80, ROOM, &b), VM_PROACTIVE_LOW, "at low: done");
	cr_assert_eq(vm_proactive_decide(&p, 85, ROOM, &b), VM_PROACTIVE_LOW,
		     "below high again: waits for high");
}

Test(proactive_policy, budget_scales_and_overspending_is_paid_back)
{
	struct vm_proactive_policy p = policy(100);
	uint64_t b;

	cr_assert_eq(vm_proactive_decide(&p, 100, ROOM, &b), VM_PROACTIVE_RUN);
	cr_assert_eq(b, 50 * MS, "10 %% of a CPU at 100");
	/* 120 ms spent of 50: 70 ms of debt, more than one wake's 50. */
	vm_proactive_ran(&p, b, 120 * MS, 100, 99, true);
	cr_assert_eq(vm_proactive_decide(&p, 100, ROOM, &b), VM_PROACTIVE_IN_DEBT);
	cr_assert_eq(b, 0);
	cr_assert_eq(vm_proactive_decide(&p, 100, ROOM, &b), VM_PROACTIVE_RUN);
	cr_assert_eq(b, 30 * MS, "the last 20 ms of debt come off this wake");
}

Test(proactive_policy, no_room_and_back_off)
{
	struct vm_proactive_policy p = policy(50);
	uint64_t b;

	cr_assert_eq(vm_proactive_decide(&p, 100, 511, &b), VM_PROACTIVE_NO_ROOM);
	cr_assert_eq(vm_proactive_decide(&p, 100, 512, &b), VM_PROACTIVE_RUN);
	vm_proactive_ran(&p, b, MS, 100, 100, false);
	for (unsigned i = 0; i < VM_PROACTIVE_DEFER_WAKES; i++)
		cr_assert_eq(vm_proactive_decide(&p, 100, ROOM, &b), VM_PROACTIVE_DEFERRED, "wake %u", i);
	cr_assert_eq(vm_proactive_decide(&p, 100, ROOM, &b), VM_PROACTIVE_RUN, "looks again after");
	vm_proactive_ran(&p, b, MS, 100, 100, true);
	cr_assert_eq(vm_proactive_decide(&p, 100, ROOM, &b), VM_PROACTIVE_RUN,
		     "a run that moved pages is not backed off");
}

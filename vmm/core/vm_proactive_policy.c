/*
 * Proactive compaction's decisions (vm_proactive_policy.h): the score, the
 * watermarks, the CPU budget with its debt, and the back-off. Pure
 * arithmetic on the numbers given, no clock and no zone.
 */
#include "vmm/core/vm_proactive_policy.h"

unsigned vm_proactive_wmark_low(unsigned n)
{
	/* The kernel keeps 5 % unusable even at proactiveness 100: below
	 * that, compaction costs more than the blocks it makes are worth. */
	return n >= 95 ? 5 : 100 - n;
}

unsigned vm_proactive_wmark_high(unsigned n)
{
	unsigned low = vm_proactive_wmark_low(n);

	return low + 10 > 100 ? 100 : low + 10;
}

unsigned vm_proactive_score(int unusable_x1000)
{
	if (unusable_x1000 <= 0)
		return 0;
	if (unusable_x1000 >= 1000)
		return 100;
	return (unsigned)unusable_x1000 / 10;
}

enum vm_proactive_verdict vm_proactive_decide(struct vm_proactive_policy *p, unsigned score,
					      uint64_t free_frames, uint64_t *budget_ns)
{
	*budget_ns = 0;
	if (p->proactiveness == 0)
		return VM_PROACTIVE_OFF;
	/* The budget accrues with time whatever the verdict: a debt is paid
	 * back by the wakes that follow, compacting or not. */
	uint64_t allowance = p->period_ns / 1000 * p->proactiveness;
	if (p->debt_ns >= allowance) {
		p->debt_ns -= allowance;
		return VM_PROACTIVE_IN_DEBT;
	}
	allowance -= p->debt_ns;
	p->debt_ns = 0;
	if (p->defer_left) {
		p->defer_left--;
		return VM_PROACTIVE_DEFERRED;
	}
	/* With less than one free 2 MiB block's worth, no block can be made
	 * (and the score is 100 for an empty zone). */
	if (free_frames < (1u << VM_PROACTIVE_ORDER)) {
		p->active = false;
		return VM_PROACTIVE_NO_ROOM;
	}
	if (score <= vm_proactive_wmark_low(p->proactiveness))
		p->active = false;
	else if (score > vm_proactive_wmark_high(p->proactiveness))
		p->active = true;
	if (!p->active)
		return VM_PROACTIVE_LOW;
	*budget_ns = allowance;
	return VM_PROACTIVE_RUN;
}

void vm_proactive_ran(struct vm_proactive_policy *p, uint64_t budget_ns, uint64_t ns,
		      unsigned score_before, unsigned score_after, bool did_something)
{
	if (ns > budget_ns)
		p->debt_ns += ns - budget_ns;
	if (score_after <= vm_proactive_wmark_low(p->proactiveness))
		p->active = false;
	/* Nothing moved and nothing better: what is left is not movable
	 * (VMM frames, pending ones), so wait before looking again. */
	if (!did_something && score_after >= score_before) {
		p->active = false;
		p->defer_left = VM_PROACTIVE_DEFER_WAKES;
	}
}

const char *vm_proactive_verdict_name(enum vm_proactive_verdict v)
{
	switch (v) {
	case VM_PROACTIVE_RUN: return "run";
	case VM_PROACTIVE_OFF: return "off";
	case VM_PROACTIVE_DEFERRED: return "deferred";
	case VM_PROACTIVE_NO_ROOM: return "no-room";
	case VM_PROACTIVE_LOW: return "low";
	case VM_PROACTIVE_IN_DEBT: return "in-debt";
	}
	return "?";
}

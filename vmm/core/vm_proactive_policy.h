/*
 * Proactive compaction's decisions, apart from its thread so the tests can
 * drive them with made-up numbers: when a wake compacts (Linux's
 * fragmentation score against watermarks from vm.compaction_proactiveness),
 * how long it may (a CPU budget), and when it backs off.
 *
 * The score is the kernel's (fragmentation_score_zone): the percentage of
 * zone Normal's free frames that are not in free blocks of 2 MiB (order 9,
 * COMPACTION_HPAGE_ORDER), i.e. the unusable free space index at order 9.
 * With proactiveness N the low watermark is max(100 - N, 5) and the high
 * one low + 10 (at most 100), as in the kernel's fragmentation_score_wmark:
 * a wake starts compacting when the score is above the high watermark, and
 * the following wakes go on until it is at or below the low one.
 *
 * CPU budget: each wake of a period P may spend P * N / 1000 compacting,
 * that is N/10 % of one CPU (2 % at the kernel's default 20, 10 % at 100);
 * a run that overshoots its budget (the scanners stop between steps) pays
 * the overshoot back from the next wakes. The vCPUs are parked for the run,
 * so the same bound holds for the guest's pause.
 */
#ifndef VMM_CORE_VM_PROACTIVE_POLICY_H
#define VMM_CORE_VM_PROACTIVE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#define VM_PROACTIVE_MAX 100
/* Order of the blocks the score is about (2 MiB). */
#define VM_PROACTIVE_ORDER 9
/* Wakes skipped after a run that neither lowered the score nor moved a
 * page: the kernel's proactive_defer (1 << COMPACT_MAX_DEFER_SHIFT). */
#define VM_PROACTIVE_DEFER_WAKES 64

enum vm_proactive_verdict {
	VM_PROACTIVE_RUN,
	VM_PROACTIVE_OFF,        /* proactiveness 0 */
	VM_PROACTIVE_DEFERRED,   /* backing off after runs that did nothing */
	VM_PROACTIVE_NO_ROOM,    /* less than 2 MiB free: no block to make */
	VM_PROACTIVE_LOW,        /* score within the watermarks */
	VM_PROACTIVE_IN_DEBT,    /* the last runs overspent this wake's budget */
};

/* What carries from one wake to the next. Zero it to start. */
struct vm_proactive_policy {
	unsigned proactiveness;  /* 0..VM_PROACTIVE_MAX */
	uint64_t period_ns;      /* between wakes */
	bool active;             /* above the high watermark, not yet at the low */
	unsigned defer_left;     /* wakes still to skip */
	uint64_t debt_ns;        /* overspent budget still to pay back */
};

/* The watermarks (scores in percent) for proactiveness n (1..100). */
unsigned vm_proactive_wmark_low(unsigned n);
unsigned vm_proactive_wmark_high(unsigned n);

/* The score in percent from the unusable index at order 9 (x1000, as
 * mm_zone_unusable_index gives it). */
unsigned vm_proactive_score(int unusable_x1000);

/*
 * One wake: whether to compact, with score (percent) and the zone's free
 * frames now; on RUN, *budget_ns is what the run may spend. Updates p
 * (deferral, debt, the watermark state).
 */
enum vm_proactive_verdict vm_proactive_decide(struct vm_proactive_policy *p, unsigned score,
					      uint64_t free_frames, uint64_t *budget_ns);

/* After a run that was given budget_ns: what it took, the score after it
 * and whether it did anything (moved or promoted). */
void vm_proactive_ran(struct vm_proactive_policy *p, uint64_t budget_ns, uint64_t ns,
		      unsigned score_before, unsigned score_after, bool did_something);

const char *vm_proactive_verdict_name(enum vm_proactive_verdict v);

#endif

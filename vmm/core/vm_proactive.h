/*
 * Proactive compaction (--compaction-proactiveness N, Linux's
 * vm.compaction_proactiveness): a thread of the VMM that wakes every
 * period, reads zone Normal's fragmentation score and, when the policy
 * (vm_proactive_policy.h) says so, compacts it for a bounded time with the
 * vCPUs held (vm_control's hold, which a controller's stop and cont leave
 * alone). It ends at once when stopped: its sleep is a condition variable
 * and a run in progress is told to stop at its next step.
 *
 * It works on any struct vm_control with hold and release, so the
 * monitor's in-process tests run it without KVM.
 */
#ifndef VMM_CORE_VM_PROACTIVE_H
#define VMM_CORE_VM_PROACTIVE_H

#include <stdint.h>
#include "mm/arena.h"
#include "vmm/core/vm_control.h"
#include "vmm/core/vm_proactive_policy.h"

/* The kernel's kcompactd checks every 500 ms (HPAGE_FRAG_CHECK_INTERVAL_MSEC). */
#define VM_PROACTIVE_PERIOD_NS (500ull * 1000000)

struct vm_proactive_stats {
	unsigned proactiveness;     /* 0: off (nothing below counts) */
	uint64_t wakes;             /* periods looked at */
	uint64_t runs;              /* compactions started */
	uint64_t ns;                /* their time, vCPUs held throughout */
	uint64_t moved, promoted_ranges, failed;
	uint64_t migrate_scanned, free_scanned; /* by its runs' scanners */
	uint64_t deferred;          /* wakes skipped after runs that did nothing */
	unsigned score;             /* the last score read (percent) */
	enum vm_proactive_verdict last; /* the last wake's verdict */
};

struct vm_proactive;

/* The state for proactiveness n (1..100) and period_ns, in a's memory; the
 * thread starts with vm_proactive_start. NULL when out of memory. */
struct vm_proactive *vm_proactive_create(struct mm_arena *a, unsigned n, uint64_t period_ns);
/* Starts the thread on t (copied; needs hold and release). 0 or -errno. */
int vm_proactive_start(struct vm_proactive *p, const struct vm_control *t);
/* Stops and joins the thread, if started; returns without waiting for a
 * period to end. Safe to call twice. */
void vm_proactive_stop(struct vm_proactive *p);
/* Stops it and frees it; NULL is fine. */
void vm_proactive_destroy(struct vm_proactive *p);

/* The counters, each read atomically; all zero for p NULL. */
void vm_proactive_get_stats(struct vm_proactive *p, struct vm_proactive_stats *out);

#endif

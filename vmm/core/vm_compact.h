/*
 * Compaction of a VM's memory on a controller's request (QMP x-compact):
 * guest_mem_compact needs the guest to keep still, so the vCPUs are parked
 * around it through the VM's control table, and how long they stayed
 * parked is measured. Works on any struct vm_control, so the monitor's
 * in-process tests run it without KVM.
 */
#ifndef VMM_CORE_VM_COMPACT_H
#define VMM_CORE_VM_COMPACT_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/core/vm_control.h"
#include "vmm/memory/guest_compact.h"

struct vm_compact_result {
	struct guest_compact_result gc;
	uint64_t pause_ns;      /* the vCPUs parked for this call (0 if they were paused) */
	bool paused_here;       /* they were not paused before, and were for it */
};

/*
 * Compacts zone Normal for t's guest (guest_compact.h: order, budget).
 * A running (or not yet started) VM is paused for the call and resumed
 * after; a VM stopped by its controller stays stopped. Call it from the controller's thread, the one that runs stop and
 * cont, so nothing resumes the vCPUs meanwhile.
 * 0, -ESHUTDOWN (the run has ended), -ENODEV (no guest memory), or
 * guest_mem_compact's error.
 */
int vm_control_compact(const struct vm_control *t, int order, uint64_t budget_ns,
		       struct vm_compact_result *out);

#endif

/*
 * A controller's compaction of a VM's memory (vm_compact.h): the vCPUs
 * parked around guest_mem_compact, the pause measured.
 */
#include <errno.h>
#include <time.h>
#include "vmm/core/vm_compact.h"

static uint64_t vmc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int vm_control_compact(const struct vm_control *t, int order, uint64_t budget_ns,
		       struct vm_compact_result *out)
{
	struct guest_mem *gm = t->guest_mem ? t->guest_mem(t->ctx) : NULL;

	*out = (struct vm_compact_result){ 0 };
	if (!gm)
		return -ENODEV;
	enum vm_run_state st = t->status(t->ctx);
	if (st == VM_STATE_SHUTDOWN)
		return -ESHUTDOWN;
	/* A paused guest stays paused, as its controller left it. One that
	 * has not started is parked too: its vCPUs may start meanwhile, and
	 * then stop at their first exit. */
	bool pause = st != VM_STATE_PAUSED;
	uint64_t t0 = vmc_now_ns();
	if (pause && t->pause(t->ctx) == -ESHUTDOWN)
		return -ESHUTDOWN;
	int rc = guest_mem_compact(gm, order, budget_ns, NULL, &out->gc);
	if (pause) {
		t->resume(t->ctx);
		out->pause_ns = vmc_now_ns() - t0;
		out->paused_here = true;
	}
	return rc;
}

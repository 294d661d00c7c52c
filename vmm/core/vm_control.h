/*
 * The VM's control interface: what a controller (the QMP monitor, a test)
 * may ask of a running VM, as a table of functions, so it needs nothing of
 * the VM's insides and a test can stand in for the VM. vmm/core/ owns the
 * VM's lifecycle, its vCPUs, run control, exits and crash reports; it uses
 * vmm/devices/, vmm/memory/, vmm/boot/, vmm/arch/, vmm/config/ and mm/.
 */
#ifndef VMM_CORE_VM_CONTROL_H
#define VMM_CORE_VM_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include "mm/arena.h"
#include "vmm/devices/device.h"
#include "vmm/devices/output.h"
#include "vmm/memory/guest_mem.h"

/* The run state (query-status's "status", in QEMU's words). */
enum vm_run_state {
	VM_STATE_PRELAUNCH,       /* the vCPUs have not started yet */
	VM_STATE_RUNNING,
	VM_STATE_PAUSED,
	VM_STATE_SHUTDOWN,        /* the run has ended or is ending */
};

/*
 * What the monitor may ask of the VM. Every function is called on the
 * monitor's thread while the vCPUs run, so each must be safe against them.
 */
struct vm_proactive_stats;

struct vm_control {
	void *ctx;
	enum vm_run_state (*status)(void *ctx);
	/* Park every vCPU / let them go: 0, or -ESHUTDOWN once the run ends. */
	int (*pause)(void *ctx);
	int (*resume)(void *ctx);
	/* Park every vCPU for the VMM's own work / let them go (vm_hold in
	 * vm_internal.h): apart from pause and resume, so a controller's stop
	 * and cont during it neither end it nor are undone by it. hold: 0, or
	 * -ESHUTDOWN (nothing to release) once the run ends. NULL in a
	 * controller without a VMM thread of its own to serve. */
	int (*hold)(void *ctx);
	void (*release)(void *ctx);
	/* Ends the run (exit status 0); returns at once. */
	void (*quit)(void *ctx);
	struct mm_arena *(*arena)(void *ctx);
	struct guest_mem *(*guest_mem)(void *ctx);
	uint64_t (*ram_size)(void *ctx);
	/* The device called name with a reference (device_put it), or NULL. */
	struct device *(*device_get)(void *ctx, const char *name);
	/* What the console and the log have written and dropped so far
	 * (NULL: a controller without output, as in the protocol tests). */
	void (*output)(void *ctx, struct out_stream_stats *console, struct out_stream_stats *log);
	/* Proactive compaction's counters (vm_proactive.h); NULL or all zero
	 * with proactiveness 0 when it is off. */
	void (*proactive)(void *ctx, struct vm_proactive_stats *out);
};

struct vm;

/* The control interface of a VM built by vm_create (vm_control.c). */
void vm_control_of(struct vm *vm, struct vm_control *out);
/* SHUTDOWN's data for the run that just ended: the reason and whether the
 * guest caused it. */
const char *vm_end_reason(struct vm *vm, bool *guest);

#endif

/*
 * The VM's insides, shared by the files of vmm/core/ only (devices get a
 * struct device_host instead).
 */
#ifndef VMM_VM_INTERNAL_H
#define VMM_VM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "vmm/core/kvm.h"
#include "vmm/core/vm.h"
#include "vmm/devices/device.h"
#include "vmm/devices/legacy/console.h"
#include "vmm/devices/unhandled.h"

struct vcpu;
struct vm_proactive;

/*
 * What the VM writes: the guest's console (stdout, or cfg.out_fd) and the
 * VMM's log (stderr: reports, the exit summary). Apart from struct vm so
 * each stays within one small kmalloc size class.
 */
struct vm_output {
	struct vm_console console;
	struct out_stream log;
};

struct vm {
	struct vm_config cfg;
	struct vm_hooks hooks;
	struct mm_arena *arena;
	bool own_arena;
	struct guest_mem *gm;
	struct kvm kvm;
	struct slab_cache *vcpu_cache;     /* "vcpu" */
	struct vcpu **vcpus;               /* kmalloc'd array of nr_vcpus */
	unsigned nr_vcpus;
	struct boot_entry entry;
	struct vm_output *out;             /* the console and the log */
	struct unhandled_log unhandled;
	struct device_host host;           /* what the devices may ask of the VM */
	struct device_set *devices;        /* from vm_device_types */

	/* Run control. attention is set whenever a vCPU must look at the
	 * fields below before entering the guest again (checked without the
	 * lock on every exit). */
	atomic_bool attention;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping, pause_requested;
	/* Parks of the VMM's own (vm_hold): apart from pause_requested, so a
	 * controller's stop and cont neither end nor outlast them. */
	unsigned holds;
	unsigned running, paused;          /* vCPU threads in their loop / parked */
	int status;
	int stop_signal;                   /* the signal that ended the run, or 0 */
	int done_fd;                       /* eventfd: written when stopping */
	struct timespec started;
	struct vm_proactive *proactive;    /* --compaction-proactiveness > 0, else NULL */
};

/* The VMM's log for a slow stderr, and how long the end of a run waits for
 * a reader of the console or the log that has stopped taking output: a
 * stalled pipe must not keep a stopped VM from exiting (well within a
 * second in all), while a reader that keeps up gets everything. */
#define VM_LOG_BUFFER (64u << 10)
#define VM_OUTPUT_DRAIN_MS 200

/* The devices a VM may have, in the order they are created
 * (device_table.c). */
extern const struct device_type *const vm_device_types[];

/* Fills vm->host for the devices (vm_host.c); after KVM is open. */
void vm_host_init(struct vm *vm);

/* ---- run state (run_state.c) ---- */

/* Ends the run with status, like vm_stop; the vCPU thread calls it too. */
void vm_finish(struct vm *vm, int status);
/* Kicks every vCPU (a device has news for a halted guest), unless the run
 * is ending. */
void vm_wake(struct vm *vm);
/* Called by each vCPU thread before KVM_RUN: parks it while a pause is
 * requested; true when the thread must leave its loop. */
bool vm_vcpu_checkpoint(struct vm *vm);
/* A vCPU thread leaves its loop for good. */
void vm_vcpu_leave(struct vm *vm);
/* Parks every vCPU for the VMM's own work (proactive compaction), apart
 * from vm_pause: they run again once every hold is released and no pause
 * is requested, whatever a controller's stop and cont did meanwhile.
 * 0, or -ESHUTDOWN (no hold taken) once the run ends. */
int vm_hold(struct vm *vm);
void vm_release(struct vm *vm);

/* ---- the vCPU threads (vcpu_loop.c) ---- */

/* Starts v's thread running the guest until the run ends. 0 or -errno. */
int vcpu_loop_start(struct vcpu *v);

#endif

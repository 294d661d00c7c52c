/*
 * The VM's insides, shared by vm.c, vcpu.c, the exit handlers and devices.
 */
#ifndef VMM_VM_INTERNAL_H
#define VMM_VM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "vmm/devices/legacy/console.h"
#include "vmm/core/kvm.h"
#include "vmm/devices/legacy/uart.h"
#include "vmm/core/unhandled.h"
#include "vmm/devices/virtio/mmio_notify.h"
#include "vmm/core/vm.h"

struct vcpu;

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
	struct vm_console console;
	struct uart uart;
	struct unhandled_log unhandled;
	struct virtio_balloon *balloon;    /* NULL: no balloon device */
	struct virtio_mmio_notifier balloon_notify;

	/* Run control. attention is set whenever a vCPU must look at the
	 * fields below before entering the guest again (checked without the
	 * lock on every exit). */
	atomic_bool attention;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping, pause_requested;
	unsigned running, paused;          /* vCPU threads in their loop / parked */
	int status;
	int stop_signal;                   /* the signal that ended the run, or 0 */
	int done_fd;                       /* eventfd: written when stopping */
	struct timespec started;
};

/* Ends the run with status, like vm_stop; the vCPU thread calls it too. */
void vm_finish(struct vm *vm, int status);
/* Called by each vCPU thread before KVM_RUN: parks it while a pause is
 * requested; true when the thread must leave its loop. */
bool vm_vcpu_checkpoint(struct vm *vm);
/* A vCPU thread leaves its loop for good. */
void vm_vcpu_leave(struct vm *vm);

#endif

/*
 * A virtual machine, start to end: built from a struct vm_config (guest RAM
 * from the arena, the image loaded, KVM VM and vCPUs), run until the guest
 * exits, crashes or is stopped, then torn down. This is libvmm's API, used
 * by main.c and by the in-process tests. Other threads use the VM through
 * its control interface (vm_control.h).
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include "vmm/config/config.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/boot/loader.h"

struct vm;

/* Called on the vCPU's thread when the guest writes ABI_PORT_PROBE. */
typedef void (*vm_probe_fn)(struct vm *vm, unsigned vcpu, uint32_t value, void *arg);

/* What the in-process tests add to a config. */
struct vm_hooks {
	struct mm_arena *arena;      /* use this arena (kept at destroy) */
	vm_probe_fn probe;
	void *probe_arg;
};

/*
 * Builds the VM and loads cfg->image. On failure returns -errno and err
 * holds "<what>: <why>" (one line, no program name). hooks may be NULL.
 */
int vm_create(const struct vm_config *cfg, const struct vm_hooks *hooks, struct vm **out,
	      char *err, size_t errlen);

/*
 * Runs the vCPUs until the guest ends or vm_stop is called; returns the
 * process exit status (README "Exit status"). stop_signals, if not NULL, are
 * signals (blocked in every thread by the caller) that stop the VM with
 * status 128 + signal number.
 */
int vm_run(struct vm *vm, const sigset_t *stop_signals);

/* Ends the run with `status` (the first end wins). Any thread. */
void vm_stop(struct vm *vm, int status);
/* Parks every vCPU outside KVM_RUN and waits until they are; vm_resume lets
 * them go. 0, or -ESHUTDOWN if the VM is stopping. */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);

struct guest_mem *vm_guest_mem(struct vm *vm);
struct mm_arena *vm_arena(struct vm *vm);

/*
 * The summary at exit, on the VM's log (stderr): how the guest ran, the
 * zones' buddyinfo and a slab summary line (full: the slabinfo of every
 * cache), and output dropped for slow readers, if any.
 */
void vm_print_stats(struct vm *vm, bool full);

void vm_destroy(struct vm *vm);

#endif

/*
 * vCPUs: each one a KVM vCPU fd, its mapped kvm_run, and a thread running
 * KVM_RUN in a loop. Registers come back through SYNC_REGS (kvm_run->s), so
 * an exit needs no KVM_GET_REGS. A vCPU is stopped or paused by a kick: a
 * signal whose handler sets immediate_exit, so KVM_RUN returns at once even
 * when the kick lands just before it is entered.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* The kick signal; no other use in the process may be made of it. */
#define VCPU_KICK_SIGNAL SIGUSR1

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	uint64_t exits;
	uint64_t int3_delivered;     /* #BPs memvisor injected for KVM's emulator */
};

/* Creates vCPU id (from the VM's "vcpu" slab cache). 0 or -errno. */
int vcpu_create(struct vm *vm, unsigned id, struct vcpu **out);
void vcpu_destroy(struct vcpu *v);
/* The boot vCPU's registers for the loaded image. */
int vcpu_set_boot_state(struct vcpu *v);
/* Installs the kick handler (once per process). */
int vcpu_signal_init(void);
/* Start and kick are called with the VM's lock held, so a kick never races
 * with the thread's creation; the thread counts itself out when it ends.
 * fn (vcpu_loop.c) gets v. */
int vcpu_start(struct vcpu *v, void *(*fn)(void *v));
/* On v's own thread, around its loop: the kick signal unblocked and
 * pointed at v's kvm_run, registers synced at every exit. */
void vcpu_thread_enter(struct vcpu *v);
void vcpu_thread_leave(void);
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
/*
 * The paravirtual halt (include/abi/memvisor.h), on the vCPU's own thread: sleeps
 * outside KVM_RUN for up to usec microseconds (0: no limit) or until the
 * thread is kicked. Stop and pause requests kick; so does a device that has
 * news for a halted guest (vcpu_kick, under the VM's lock).
 */
void vcpu_halt(struct vcpu *v, uint32_t usec);

/* The registers at the last exit (SYNC_REGS). */
static inline const struct kvm_regs *vcpu_regs(const struct vcpu *v)
{
	return &v->run->s.regs.regs;
}

#endif

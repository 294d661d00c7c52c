/*
 * vCPU threads and kicks (PLATFORM.md §6, pattern B): the kick signal is
 * unblocked in vCPU threads and its handler sets immediate_exit on the
 * thread's own kvm_run, so a kick between the check of vm->attention and
 * KVM_RUN still makes KVM_RUN return -EINTR at once.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mm/slab.h"
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"
#include "abi/memvisor.h"
#include "vmm/arch/x86/boot_cpu.h"

/* initial-exec: reading it in the signal handler must not allocate. */
static __thread struct kvm_run *volatile vcpu_tls_run __attribute__((tls_model("initial-exec")));

static void vcpu_kick_handler(int sig)
{
	struct kvm_run *run = vcpu_tls_run;

	(void)sig;
	if (run)
		run->immediate_exit = 1;
}

int vcpu_signal_init(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(struct vm *vm, unsigned id, struct vcpu **out)
{
	struct vcpu *v = slab_alloc(vm->vcpu_cache);

	if (!v)
		return -ENOMEM;
	*v = (struct vcpu){ .vm = vm, .id = id, .fd = -1, .run_size = vm->kvm.run_size };
	v->fd = kvm_create_vcpu(&vm->kvm, id);
	if (v->fd < 0) {
		int err = v->fd;
		slab_free(vm->vcpu_cache, v);
		return err;
	}
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int err = -errno;
		close(v->fd);
		slab_free(vm->vcpu_cache, v);
		return err;
	}
	*out = v;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	munmap(v->run, v->run_size);
	close(v->fd);
	slab_free(v->vm->vcpu_cache, v);
}

int vcpu_set_boot_state(struct vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	x86_boot_sregs(v->vm->entry.mode == BOOT_LONG64, ABI_GDT_GPA, ABI_PML4_GPA, &sregs);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	x86_boot_regs(v->vm->entry.rip, v->vm->entry.rbx, v->vm->entry.rsi, v->vm->entry.rsp,
		      &regs);
	return ioctl(v->fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

void vcpu_thread_enter(struct vcpu *v)
{
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	vcpu_tls_run = v->run;
	v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
}

void vcpu_thread_leave(void)
{
	vcpu_tls_run = NULL;
}

int vcpu_start(struct vcpu *v, void *(*fn)(void *v))
{
	int rc = pthread_create(&v->thread, NULL, fn, v);

	if (rc)
		return -rc;
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

/*
 * The kick signal is blocked while the thread looks for a kick that came
 * already (the handler set immediate_exit) and is unblocked again only
 * inside ppoll, atomically, so a kick landing between the check and the
 * sleep interrupts the sleep instead of being lost. The kick also leaves
 * immediate_exit set, so the loop passes its checkpoint before the guest
 * runs again.
 */
void vcpu_halt(struct vcpu *v, uint32_t usec)
{
	struct timespec limit = { .tv_sec = usec / 1000000, .tv_nsec = (long)(usec % 1000000) * 1000 };
	sigset_t kick, awake;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &kick, &awake);
	if (!v->run->immediate_exit && !atomic_load(&v->vm->attention))
		ppoll(NULL, 0, usec ? &limit : NULL, &awake);
	pthread_sigmask(SIG_SETMASK, &awake, NULL);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = false;
}

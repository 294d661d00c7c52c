/*
 * The run state every thread shares: ending the run, pausing and resuming
 * the vCPUs, waking them, and the checkpoint each vCPU passes before it
 * enters the guest.
 *
 * One lock guards the state; vCPU threads read vm->attention without it on
 * every exit and take the lock only when it is set. Kicks happen under the
 * lock.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"

static void vm_kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
}

void vm_finish(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping) {
		uint64_t one = 1;
		vm->stopping = true;
		vm->status = status;
		atomic_store(&vm->attention, true);
		if (write(vm->done_fd, &one, sizeof(one)) < 0)
			perror("memvisor: eventfd");
		vm_kick_all(vm);
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
}

void vm_wake(struct vm *vm)
{
	/* Once stopping, the vCPU threads are being joined: no more kicks
	 * (vm_finish kicked them already). */
	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping)
		vm_kick_all(vm);
	pthread_mutex_unlock(&vm->lock);
}

void vm_stop(struct vm *vm, int status)
{
	vm_finish(vm, status);
}

bool vm_vcpu_checkpoint(struct vm *vm)
{
	if (!atomic_load_explicit(&vm->attention, memory_order_acquire))
		return false;
	pthread_mutex_lock(&vm->lock);
	while ((vm->pause_requested || vm->holds) && !vm->stopping) {
		vm->paused++;
		pthread_cond_broadcast(&vm->cond);
		pthread_cond_wait(&vm->cond, &vm->lock);
		vm->paused--;
	}
	bool stop = vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	return stop;
}

void vm_vcpu_leave(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->running--;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

int vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping) {
		vm->pause_requested = true;
		atomic_store(&vm->attention, true);
		vm_kick_all(vm);
		while (vm->paused < vm->running && !vm->stopping)
			pthread_cond_wait(&vm->cond, &vm->lock);
	}
	int rc = vm->stopping ? -ESHUTDOWN : 0;
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = false;
	atomic_store(&vm->attention, vm->stopping || vm->holds);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}


int vm_hold(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	int rc = -ESHUTDOWN;
	if (!vm->stopping) {
		vm->holds++;
		atomic_store(&vm->attention, true);
		vm_kick_all(vm);
		while (vm->paused < vm->running && !vm->stopping)
			pthread_cond_wait(&vm->cond, &vm->lock);
		rc = 0;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void vm_release(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->holds)
		vm->holds--;
	atomic_store(&vm->attention, vm->stopping || vm->pause_requested || vm->holds);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

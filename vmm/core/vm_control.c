/*
 * The VM as the monitor sees it: struct monitor_target over a struct vm
 * (run state, pause and resume, quit, its arena and guest memory), and the
 * reason the run ended, for the SHUTDOWN event.
 */
#include <errno.h>
#include "vmm/monitor/monitor.h"
#include "vmm/core/vm_internal.h"

static enum monitor_run_state mvm_status(void *ctx)
{
	struct vm *vm = ctx;
	enum monitor_run_state st;

	pthread_mutex_lock(&vm->lock);
	if (vm->stopping)
		st = MONITOR_SHUTDOWN;
	else if (vm->pause_requested)
		st = MONITOR_PAUSED;
	else if (vm->running == 0)
		st = MONITOR_PRELAUNCH;    /* vm_run has not started the vCPUs */
	else
		st = MONITOR_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	return st;
}

static int mvm_pause(void *ctx)
{
	return vm_pause(ctx);
}

static int mvm_resume(void *ctx)
{
	struct vm *vm = ctx;

	vm_resume(vm);
	return mvm_status(vm) == MONITOR_SHUTDOWN ? -ESHUTDOWN : 0;
}

static void mvm_quit(void *ctx)
{
	/* QEMU's quit ends the process with status 0; so does ours. */
	vm_stop(ctx, 0);
}

static struct mm_arena *mvm_arena(void *ctx)
{
	return vm_arena(ctx);
}

static struct guest_mem *mvm_guest_mem(void *ctx)
{
	return vm_guest_mem(ctx);
}

static uint64_t mvm_ram_size(void *ctx)
{
	return guest_mem_ram_bytes(vm_guest_mem(ctx));
}

void monitor_vm_target(struct vm *vm, struct monitor_target *out)
{
	*out = (struct monitor_target){
		.ctx = vm,
		.status = mvm_status,
		.pause = mvm_pause,
		.resume = mvm_resume,
		.quit = mvm_quit,
		.arena = mvm_arena,
		.guest_mem = mvm_guest_mem,
		.ram_size = mvm_ram_size,
	};
}

const char *monitor_vm_end_reason(struct vm *vm, bool *guest)
{
	pthread_mutex_lock(&vm->lock);
	int sig = vm->stop_signal;
	pthread_mutex_unlock(&vm->lock);
	/* A `quit` has sent its own SHUTDOWN already; what is left is a
	 * signal or the guest itself (its exit, or a crash). */
	*guest = sig == 0;
	return sig ? "host-signal" : "guest-shutdown";
}

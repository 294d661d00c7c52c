/*
 * The control interface over a struct vm (vm_control.h): run state, pause
 * and resume, quit, its arena, guest memory and devices, and the reason
 * the run ended, for the SHUTDOWN event.
 */
#include <errno.h>
#include "vmm/core/vm_control.h"
#include "vmm/core/vm_internal.h"
#include "vmm/core/vm_proactive.h"

static enum vm_run_state control_status(void *ctx)
{
	struct vm *vm = ctx;
	enum vm_run_state st;

	pthread_mutex_lock(&vm->lock);
	if (vm->stopping)
		st = VM_STATE_SHUTDOWN;
	else if (vm->pause_requested)
		st = VM_STATE_PAUSED;
	else if (vm->running == 0)
		st = VM_STATE_PRELAUNCH;    /* vm_run has not started the vCPUs */
	else
		st = VM_STATE_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	return st;
}

static int control_pause(void *ctx)
{
	return vm_pause(ctx);
}

static int control_resume(void *ctx)
{
	struct vm *vm = ctx;

	vm_resume(vm);
	return control_status(vm) == VM_STATE_SHUTDOWN ? -ESHUTDOWN : 0;
}

static int control_hold(void *ctx)
{
	return vm_hold(ctx);
}

static void control_release(void *ctx)
{
	vm_release(ctx);
}

static void control_proactive(void *ctx, struct vm_proactive_stats *out)
{
	struct vm *vm = ctx;

	vm_proactive_get_stats(vm->proactive, out);
}

static void control_quit(void *ctx)
{
	/* QEMU's quit ends the process with status 0; so does ours. */
	vm_stop(ctx, 0);
}

static struct mm_arena *control_arena(void *ctx)
{
	return vm_arena(ctx);
}

static struct guest_mem *control_guest_mem(void *ctx)
{
	return vm_guest_mem(ctx);
}

static uint64_t control_ram_size(void *ctx)
{
	return guest_mem_ram_bytes(vm_guest_mem(ctx));
}

static struct device *control_device_get(void *ctx, const char *name)
{
	struct vm *vm = ctx;

	return device_set_get(vm->devices, name);
}

static void control_output(void *ctx, struct out_stream_stats *console,
			   struct out_stream_stats *log)
{
	struct vm *vm = ctx;

	out_stream_get_stats(&vm->out->console.out, console);
	out_stream_get_stats(&vm->out->log, log);
}

void vm_control_of(struct vm *vm, struct vm_control *out)
{
	*out = (struct vm_control){
		.ctx = vm,
		.status = control_status,
		.pause = control_pause,
		.resume = control_resume,
		.hold = control_hold,
		.release = control_release,
		.quit = control_quit,
		.arena = control_arena,
		.guest_mem = control_guest_mem,
		.ram_size = control_ram_size,
		.device_get = control_device_get,
		.output = control_output,
		.proactive = control_proactive,
	};
}

const char *vm_end_reason(struct vm *vm, bool *guest)
{
	pthread_mutex_lock(&vm->lock);
	int sig = vm->stop_signal;
	pthread_mutex_unlock(&vm->lock);
	/* A `quit` has sent its own SHUTDOWN already; what is left is a
	 * signal or the guest itself (its exit, or a crash). */
	*guest = sig == 0;
	return sig ? "host-signal" : "guest-shutdown";
}

/*
 * What each vCPU thread runs: KVM_RUN until the run ends, with a
 * checkpoint before every entry (pause, stop) and the exit handlers after
 * every exit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include "vmm/core/exits.h"
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"

static void *vcpu_loop(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;

	vcpu_thread_enter(v);
	while (!vm_vcpu_checkpoint(vm)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			out_stream_printf(&vm->out->log, "memvisor: vCPU %u: KVM_RUN: %s\n", v->id,
					  strerror(errno));
			vm_finish(vm, VMM_EXIT_ERROR);
			break;
		}
		v->exits++;
		if (exits_handle(v) != EXIT_CONTINUE)
			break;
	}
	vcpu_thread_leave();
	vm_vcpu_leave(vm);
	return NULL;
}

int vcpu_loop_start(struct vcpu *v)
{
	return vcpu_start(v, vcpu_loop);
}

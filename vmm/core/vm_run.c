/*
 * Running a VM: starting the vCPU threads, waiting for the end (the guest's
 * exit, a crash, vm_stop, or a signal to the process), joining them.
 * Starting threads happens under the VM's lock, so a vCPU that ends the VM
 * never kicks a thread that is half created (run_state.c).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"
#include "vmm/core/vm_proactive.h"

static int vm_start_vcpus(struct vm *vm)
{
	int rc = vcpu_signal_init();

	clock_gettime(CLOCK_MONOTONIC, &vm->started);
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; !rc && i < vm->nr_vcpus; i++) {
		rc = vcpu_loop_start(vm->vcpus[i]);
		if (!rc)
			vm->running++;
	}
	pthread_mutex_unlock(&vm->lock);
	if (rc) {
		out_stream_printf(&vm->out->log, "memvisor: starting vCPU threads: %s\n", strerror(-rc));
		vm_finish(vm, VMM_EXIT_ERROR);
	}
	return rc;
}

/* Proactive compaction's thread, when asked for, with the vCPUs it holds. */
static int vm_start_proactive(struct vm *vm)
{
	struct vm_control t;

	if (!vm->proactive)
		return 0;
	vm_control_of(vm, &t);
	int rc = vm_proactive_start(vm->proactive, &t);
	if (rc) {
		out_stream_printf(&vm->out->log, "memvisor: starting proactive compaction: %s\n",
				  strerror(-rc));
		vm_finish(vm, VMM_EXIT_ERROR);
	}
	return rc;
}

/* Waits for the end or a stop signal (which ends the run). */
static void vm_wait(struct vm *vm, int sig_fd)
{
	struct pollfd fds[2] = { { .fd = vm->done_fd, .events = POLLIN },
				 { .fd = sig_fd, .events = POLLIN } };

	for (;;) {
		int n = poll(fds, sig_fd >= 0 ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (fds[0].revents & POLLIN))
			return;
		struct signalfd_siginfo si;
		if ((fds[1].revents & POLLIN) && read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
			out_stream_printf(&vm->out->log, "memvisor: stopping the guest on signal %u (%s)\n",
					  si.ssi_signo, strsignal((int)si.ssi_signo));
			/* For the monitor's SHUTDOWN event: the status alone
			 * cannot tell a signal from a guest's exit code. */
			vm->stop_signal = (int)si.ssi_signo;
			vm_finish(vm, 128 + (int)si.ssi_signo);
			return;
		}
	}
}

int vm_run(struct vm *vm, const sigset_t *stop_signals)
{
	int sig_fd = stop_signals ? signalfd(-1, stop_signals, SFD_CLOEXEC) : -1;

	if (stop_signals && sig_fd < 0) {
		fprintf(stderr, "memvisor: signalfd: %s\n", strerror(errno));
		return VMM_EXIT_ERROR;
	}
	if (vm_start_vcpus(vm) == 0 && vm_start_proactive(vm) == 0)
		vm_wait(vm, sig_fd);
	/* Its run in progress stops at its next step; the counters stay for
	 * the monitor until vm_destroy. */
	vm_proactive_stop(vm->proactive);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(vm->vcpus[i]);
	console_flush(&vm->out->console, VM_OUTPUT_DRAIN_MS);
	if (sig_fd >= 0)
		close(sig_fd);
	return vm->status;
}

/*
 * What the devices may ask of the VM (struct device_host), implemented over
 * struct vm: interrupt lines through KVM's irqchip, waking halted vCPUs,
 * ending the run, and the per-vCPU services (halt, fault report, the test
 * probe). The devices call these through the table, never the core's
 * functions themselves, so arrows run from the core down to the devices.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include "vmm/core/crash.h"
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"

static int host_irq(void *ctx, unsigned irq, int level)
{
	struct vm *vm = ctx;
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };

	if (vm->kvm.vm_fd < 0)
		return 0;
	return ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static void host_wake(void *ctx)
{
	vm_wake(ctx);
}

static void host_stop(void *ctx, int status)
{
	vm_finish(ctx, status);
}

static void host_halt(void *cpu, uint32_t usec)
{
	vcpu_halt(cpu, usec);
}

static void host_fault(void *cpu, uint32_t vector)
{
	crash_report_fault(cpu, vector);
}

static void host_probe(void *ctx, void *cpu, uint32_t value)
{
	struct vm *vm = ctx;
	const struct vcpu *v = cpu;

	if (vm->hooks.probe)
		vm->hooks.probe(vm, v->id, value, vm->hooks.probe_arg);
}

void vm_host_init(struct vm *vm)
{
	vm->host = (struct device_host){
		.ctx = vm,
		.arena = vm->arena,
		.gm = vm->gm,
		.vm_fd = vm->kvm.vm_fd,
		.console = &vm->out->console,
		.unhandled = &vm->unhandled,
		.log = &vm->out->log,
		.irq = host_irq,
		.wake = host_wake,
		.stop = host_stop,
		.halt = host_halt,
		.fault = host_fault,
		.probe = host_probe,
	};
}

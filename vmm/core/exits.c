/*
 * Exit dispatch. Port I/O may carry several elements (rep ins/outs): each
 * is handled in turn, inside the bounds of the kvm_run mapping, by the
 * device that claims the port; MMIO likewise. Unknown ports and MMIO are
 * never fatal: the guest reads all-ones, as from an empty bus, and the
 * address is logged once.
 */
#include <stdio.h>
#include <string.h>
#include "vmm/core/crash.h"
#include "vmm/core/emulation.h"
#include "vmm/core/exits.h"
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"

static enum exit_action exits_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned size = run->io.size, count = run->io.count;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	uint64_t off = run->io.data_offset;

	if ((size != 1 && size != 2 && size != 4) || off > v->run_size ||
	    (uint64_t)size * count > v->run_size - off) {
		out_stream_printf(&v->vm->out->log, "memvisor: vCPU %u: KVM reported port I/O out of bounds\n",
				  v->id);
		vm_finish(v->vm, VMM_EXIT_ERROR);
		return EXIT_STOP;
	}
	for (unsigned i = 0; i < count; i++) {
		uint8_t *data = (uint8_t *)run + off + (uint64_t)i * size;
		uint16_t port = run->io.port;
		enum device_result result;
		if (!device_set_pio(v->vm->devices, v, port, write, size, data, &result)) {
			unhandled_note(&v->vm->unhandled, UNHANDLED_PORT, port);
			if (!write)
				memset(data, 0xff, size);
		} else if (result == DEVICE_STOP) {
			return EXIT_STOP;
		}
	}
	return EXIT_CONTINUE;
}

static enum exit_action exits_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	if (run->mmio.len <= sizeof(run->mmio.data) &&
	    device_set_mmio(v->vm->devices, run->mmio.phys_addr, run->mmio.is_write, run->mmio.data,
			    run->mmio.len))
		return EXIT_CONTINUE;
	unhandled_note(&v->vm->unhandled, UNHANDLED_MMIO, run->mmio.phys_addr);
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	return EXIT_CONTINUE;
}

static enum exit_action exits_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
	case KVM_SYSTEM_EVENT_RESET:
		/* A guest that powers off or reboots is done: memvisor does not
		 * reboot it, like Firecracker. */
		vm_finish(v->vm, 0);
		return EXIT_STOP;
	default:
		crash_report(v, CRASH_SYSTEM_EVENT);
		return EXIT_STOP;
	}
}

enum exit_action exits_handle(struct vcpu *v)
{
	switch (v->run->exit_reason) {
	case KVM_EXIT_IO:
		return exits_io(v);
	case KVM_EXIT_MMIO:
		return exits_mmio(v);
	case KVM_EXIT_HLT:
		/* Only without an in-kernel irqchip: nothing could wake it. */
		vm_finish(v->vm, 0);
		return EXIT_STOP;
	case KVM_EXIT_SHUTDOWN:
		crash_report(v, CRASH_TRIPLE_FAULT);
		return EXIT_STOP;
	case KVM_EXIT_INTERNAL_ERROR:
		return emulation_failed(v);
	case KVM_EXIT_FAIL_ENTRY:
		crash_report(v, CRASH_FAIL_ENTRY);
		return EXIT_STOP;
	case KVM_EXIT_SYSTEM_EVENT:
		return exits_system_event(v);
	case KVM_EXIT_INTR:
		return EXIT_CONTINUE;
	default:
		crash_report(v, CRASH_UNKNOWN_EXIT);
		return EXIT_STOP;
	}
}

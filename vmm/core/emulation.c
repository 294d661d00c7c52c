/*
 * Finishing what KVM's emulator could not (emulation.h). The instruction
 * byte comes with the exit when KVM reports it (since Linux 5.14), else it
 * is read through the guest's page tables (KVM_TRANSLATE) from guest RAM;
 * a RIP that is not in RAM is left to the crash report.
 */
#include <string.h>
#include <sys/ioctl.h>
#include "vmm/core/crash.h"
#include "vmm/core/emulation.h"
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"
#include "vmm/memory/guest_mem.h"

#define X86_INT3        0xcc
#define X86_VECTOR_BP   3

bool emulation_reported_byte(const struct kvm_run *run, uint8_t *byte)
{
	const __typeof__(run->emulation_failure) *f = &run->emulation_failure;

	/* ndata counts the 64-bit words after itself: flags, insn_size and
	 * the 16 bytes. */
	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION || f->ndata < 4 ||
	    !(f->flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) || f->insn_size == 0 ||
	    f->insn_size > sizeof(f->insn_bytes))
		return false;
	*byte = f->insn_bytes[0];
	return true;
}

static bool emulation_read_byte(struct vcpu *v, uint64_t rip, uint8_t *byte)
{
	struct kvm_sregs sregs;
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return false;
	struct kvm_translation t = { .linear_address = sregs.cs.base + rip };
	if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		return false;
	const uint8_t *p = guest_mem_hva(v->vm->gm, t.physical_address, 1);
	if (!p)
		return false;
	*byte = *p;
	return true;
}

/* #BP is a trap: the guest's handler sees RIP after the int3. */
static bool emulation_deliver_bp(struct vcpu *v)
{
	struct kvm_vcpu_events ev;

	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 || ev.exception.injected ||
	    ev.exception.pending)
		return false;
	v->run->s.regs.regs.rip++;
	v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	memset(&ev.exception, 0, sizeof(ev.exception));
	ev.exception.injected = 1;
	ev.exception.nr = X86_VECTOR_BP;
	ev.flags = 0;
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
		v->run->s.regs.regs.rip--;
		return false;
	}
	v->int3_delivered++;
	return true;
}

enum exit_action emulation_failed(struct vcpu *v)
{
	uint8_t byte;

	if (v->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    (emulation_reported_byte(v->run, &byte) ||
	     emulation_read_byte(v, v->run->s.regs.regs.rip, &byte)) &&
	    byte == X86_INT3 && emulation_deliver_bp(v))
		return EXIT_CONTINUE;
	crash_report(v, CRASH_INTERNAL_ERROR);
	return EXIT_STOP;
}

/*
 * Crash reports. Each report is built in one buffer and written with one
 * call, so lines from two vCPUs never interleave. The fault port's frame
 * lives at a guest virtual address (the handler's stack): it is translated
 * through the guest's own page tables with KVM_TRANSLATE, and every word is
 * read through guest_mem_hva, so a bogus stack pointer gives a report that
 * says so rather than a VMM crash.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "mm/textbuf.h"
#include "vmm/core/crash.h"
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"

static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "coprocessor segment overrun",
	"#TS", "#NP", "#SS", "#GP", "#PF", "reserved", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	[28] = "#HV", [29] = "#VC", [30] = "#SX",
};

const char *crash_vector_name(unsigned vector)
{
	return vector < 32 && vector_names[vector] ? vector_names[vector] : "vector";
}

bool crash_vector_has_error_code(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 ||
	       vector == 29 || vector == 30;
}

struct crash_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool have_sregs;
};

static void crash_registers(struct textbuf *tb, const struct crash_state *s)
{
	const struct kvm_regs *r = &s->regs;

	textbuf_printf(tb, "  RIP 0x%016llx  RSP 0x%016llx  RFLAGS %#llx\n", r->rip, r->rsp, r->rflags);
	if (s->have_sregs)
		textbuf_printf(tb, "  CS %#x  SS %#x  CPL %u  CR0 %#llx  CR3 %#llx  CR4 %#llx  EFER %#llx\n",
			       s->sregs.cs.selector, s->sregs.ss.selector, s->sregs.cs.selector & 3u,
			       s->sregs.cr0, s->sregs.cr3, s->sregs.cr4, s->sregs.efer);
	textbuf_printf(tb, "  RAX 0x%016llx  RBX 0x%016llx  RCX 0x%016llx  RDX 0x%016llx\n",
		       r->rax, r->rbx, r->rcx, r->rdx);
	textbuf_printf(tb, "  RSI 0x%016llx  RDI 0x%016llx  RBP 0x%016llx\n", r->rsi, r->rdi, r->rbp);
	textbuf_printf(tb, "  R8  0x%016llx  R9  0x%016llx  R10 0x%016llx  R11 0x%016llx\n",
		       r->r8, r->r9, r->r10, r->r11);
	textbuf_printf(tb, "  R12 0x%016llx  R13 0x%016llx  R14 0x%016llx  R15 0x%016llx\n",
		       r->r12, r->r13, r->r14, r->r15);
}

static void crash_emit(struct vcpu *v, struct textbuf *tb)
{
	size_t len = tb->needed < tb->len ? tb->needed : tb->len - 1;

	/* What the guest said before it died first, if its reader keeps up. */
	console_flush(&v->vm->out->console, VM_OUTPUT_DRAIN_MS);
	out_stream_write(&v->vm->out->log, tb->buf, len);
}

/* The general registers come with the exit (SYNC_REGS); the others take
 * an ioctl, which a crash can afford. */
static void crash_state_read(struct vcpu *v, struct crash_state *s)
{
	memset(s, 0, sizeof(*s));
	s->regs = *vcpu_regs(v);
	s->have_sregs = ioctl(v->fd, KVM_GET_SREGS, &s->sregs) == 0;
}

/* One qword of guest virtual memory; false if it is not mapped to RAM. */
static bool crash_read_gva(struct vcpu *v, uint64_t gva, uint64_t *val)
{
	struct kvm_translation t = { .linear_address = gva };
	uint64_t gpa = gva;

	/* Without a translation (paging off, or the ioctl missing) the
	 * address is taken as physical: the runtime runs identity-mapped. */
	if (ioctl(v->fd, KVM_TRANSLATE, &t) == 0) {
		if (!t.valid)
			return false;
		gpa = t.physical_address;
	}
	const void *p = guest_mem_hva(v->vm->gm, gpa, sizeof(*val));
	if (!p)
		return false;
	memcpy(val, p, sizeof(*val));
	return true;
}

void crash_report_fault(struct vcpu *v, uint32_t vector)
{
	char buf[2048];
	struct textbuf tb = TEXTBUF_INIT(buf, sizeof(buf));
	struct crash_state s;
	/* [rsp]: the handler's rdx, [rsp+8]: its rax, then the CPU's frame. */
	uint64_t w[8];
	unsigned nw = crash_vector_has_error_code(vector) ? 8 : 7;

	crash_state_read(v, &s);
	uint64_t sp = s.regs.rsp;
	bool ok = true;
	for (unsigned i = 0; i < nw && ok; i++)
		ok = crash_read_gva(v, sp + 8 * i, &w[i]);
	textbuf_printf(&tb, "memvisor: guest crashed: %s (%u)", crash_vector_name(vector), vector);
	if (!ok) {
		textbuf_printf(&tb, ", vCPU %u; its exception frame at RSP %#llx is not readable\n",
			       v->id, (unsigned long long)sp);
	} else {
		const uint64_t *f = &w[nw - 5];     /* RIP CS RFLAGS RSP SS */
		s.regs.rdx = w[0], s.regs.rax = w[1];
		s.regs.rip = f[0], s.regs.rflags = f[2], s.regs.rsp = f[3];
		s.sregs.cs.selector = (uint16_t)f[1], s.sregs.ss.selector = (uint16_t)f[4];
		if (nw == 8)
			textbuf_printf(&tb, ", error code %#llx", (unsigned long long)w[2]);
		textbuf_printf(&tb, " at RIP %#llx", (unsigned long long)f[0]);
		if (vector == 14 && s.have_sregs)
			textbuf_printf(&tb, ", CR2 %#llx", (unsigned long long)s.sregs.cr2);
		textbuf_printf(&tb, ", vCPU %u\n", v->id);
	}
	if (s.have_sregs)
		textbuf_printf(&tb, "  CR2 0x%016llx\n", (unsigned long long)s.sregs.cr2);
	crash_registers(&tb, &s);
	crash_emit(v, &tb);
	vm_finish(v->vm, VMM_EXIT_CRASH);
}

static void crash_headline(struct textbuf *tb, struct vcpu *v, enum crash_kind kind)
{
	struct kvm_run *run = v->run;

	switch (kind) {
	case CRASH_TRIPLE_FAULT:
		textbuf_printf(tb, "memvisor: guest crashed: triple fault, vCPU %u", v->id);
		struct kvm_vcpu_events ev;
		/* kvm_pvm keeps the first exception here; other hosts may not. */
		if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) == 0 &&
		    (ev.exception.injected || ev.exception.pending || ev.exception.nr ||
		     ev.exception.has_error_code)) {
			textbuf_printf(tb, "; last exception %s (%u)", crash_vector_name(ev.exception.nr),
				       ev.exception.nr);
			if (ev.exception.has_error_code)
				textbuf_printf(tb, ", error code %#x", ev.exception.error_code);
		}
		break;
	case CRASH_INTERNAL_ERROR:
		textbuf_printf(tb, "memvisor: guest crashed: KVM internal error, suberror %u%s, vCPU %u",
			       run->internal.suberror,
			       run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			       " (instruction emulation failed)" : "", v->id);
		break;
	case CRASH_FAIL_ENTRY:
		textbuf_printf(tb, "memvisor: guest crashed: KVM could not enter the guest, "
			       "hardware reason %#llx, vCPU %u",
			       (unsigned long long)run->fail_entry.hardware_entry_failure_reason, v->id);
		break;
	case CRASH_SYSTEM_EVENT:
		textbuf_printf(tb, "memvisor: guest crashed: it reported system event %u, vCPU %u",
			       run->system_event.type, v->id);
		break;
	case CRASH_UNKNOWN_EXIT:
		textbuf_printf(tb, "memvisor: guest stopped: unexpected KVM exit reason %u, vCPU %u",
			       run->exit_reason, v->id);
		break;
	}
	textbuf_printf(tb, "\n");
}

void crash_report(struct vcpu *v, enum crash_kind kind)
{
	char buf[2048];
	struct textbuf tb = TEXTBUF_INIT(buf, sizeof(buf));
	struct crash_state s;

	crash_state_read(v, &s);
	crash_headline(&tb, v, kind);
	if (s.have_sregs)
		textbuf_printf(&tb, "  CR2 0x%016llx\n", (unsigned long long)s.sregs.cr2);
	crash_registers(&tb, &s);
	crash_emit(v, &tb);
	vm_finish(v->vm, VMM_EXIT_CRASH);
}

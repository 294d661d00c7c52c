/*
 * The CPUID a vCPU gets (cpuid.h). The initial APIC ID is in leaf 1 EBX
 * bits 31-24 and the x2APIC ID in leaves 0xb and 0x1f EDX; a guest that
 * finds the same ID on every vCPU cannot bring up the others.
 */
#include "vmm/arch/x86/cpuid.h"

void x86_cpuid_for_vcpu(struct kvm_cpuid2 *c, unsigned id)
{
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (id << 24);
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = id;
	}
}

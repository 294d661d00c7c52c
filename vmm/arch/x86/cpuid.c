/*
 * The CPUID a vCPU gets (cpuid.h). The initial APIC ID is in leaf 1 EBX
 * bits 31-24 and the x2APIC ID in leaves 0xb and 0x1f EDX; a guest that
 * finds the same ID on every vCPU cannot bring up the others.
 */
#include "vmm/arch/x86/cpuid.h"

/* Leaf 1 ECX. */
#define CPUID_1_ECX_FMA      (1u << 12)
#define CPUID_1_ECX_POPCNT   (1u << 23)
#define CPUID_1_ECX_XSAVE    (1u << 26)
#define CPUID_1_ECX_OSXSAVE  (1u << 27)
#define CPUID_1_ECX_AVX      (1u << 28)
#define CPUID_1_ECX_F16C     (1u << 29)
/* Leaf 7 subleaf 0 EBX: AVX2, ERMS, the AVX-512 foundation and its kin,
 * SMAP. */
#define CPUID_7_EBX_AVX2     (1u << 5)
#define CPUID_7_EBX_ERMS     (1u << 9)
#define CPUID_7_EBX_AVX512   ((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | \
			      (1u << 28) | (1u << 30) | (1u << 31))
#define CPUID_7_EBX_SMAP     (1u << 20)
/* Leaf 7 subleaf 0 ECX: AVX-512 VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ;
 * VAES and VPCLMULQDQ (which need AVX). */
#define CPUID_7_ECX_AVX      ((1u << 1) | (1u << 6) | (1u << 9) | (1u << 10) | (1u << 11) | \
			      (1u << 12) | (1u << 14))
/* Leaf 7 subleaf 0 EDX: FSRM, AVX-512 4VNNIW/4FMAPS/VP2INTERSECT/FP16 and
 * AMX (tile state is XSAVE state too). */
#define CPUID_7_EDX_FSRM     (1u << 4)
#define CPUID_7_EDX_XSTATE   ((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | \
			      (1u << 24) | (1u << 25))

void x86_cpuid_host_policy(struct kvm_cpuid2 *c, enum x86_kvm_kind kind)
{
	if (kind != X86_KVM_PVM)
		return;
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ecx &= ~(CPUID_1_ECX_FMA | CPUID_1_ECX_POPCNT | CPUID_1_ECX_XSAVE |
				    CPUID_1_ECX_OSXSAVE | CPUID_1_ECX_AVX | CPUID_1_ECX_F16C);
			break;
		case 7:
			if (e->index == 0) {
				e->ebx &= ~(CPUID_7_EBX_AVX2 | CPUID_7_EBX_ERMS | CPUID_7_EBX_AVX512 |
					    CPUID_7_EBX_SMAP);
				e->ecx &= ~CPUID_7_ECX_AVX;
				e->edx &= ~(CPUID_7_EDX_FSRM | CPUID_7_EDX_XSTATE);
			} else {
				e->eax = e->ebx = e->ecx = e->edx = 0;   /* AVX-VNNI, AVX-IFMA, ... */
			}
			break;
		case 0xd:
			/* No XSAVE: no state components to describe. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		}
	}
}

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

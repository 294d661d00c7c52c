/*
 * The CPUID a vCPU gets, from the table KVM supports on this host: today
 * that table with the vCPU's own APIC ID, in the leaves that carry one.
 */
#ifndef VMM_ARCH_X86_CPUID_H
#define VMM_ARCH_X86_CPUID_H

#include <linux/kvm.h>

/* Makes c (a copy of KVM_GET_SUPPORTED_CPUID) vCPU id's. */
void x86_cpuid_for_vcpu(struct kvm_cpuid2 *c, unsigned id);

#endif

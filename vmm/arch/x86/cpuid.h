/*
 * The CPUID a vCPU gets, from the table KVM supports on this host: what
 * this kind of host can run (x86_cpuid_host_policy), then the vCPU's own
 * APIC ID in the leaves that carry one.
 */
#ifndef VMM_ARCH_X86_CPUID_H
#define VMM_ARCH_X86_CPUID_H

#include <linux/kvm.h>
#include "vmm/arch/x86/host.h"

/*
 * Hides from the table (a copy of KVM_GET_SUPPORTED_CPUID) what the guest
 * must not use on this kind of host. On PVM, guest CPL 0 code runs in KVM's
 * instruction emulator, which cannot run XSAVE/XRSTOR: XSAVE goes, with
 * everything whose state it manages (AVX and its kin, leaf 0xd), and so do
 * the instructions the emulator runs slowly or not at all in a kernel's
 * string and bit functions (ERMS, FSRM, POPCNT) and SMAP (whose STAC/CLAC
 * the emulator does not run). On hardware KVM the table stays as KVM
 * offers it.
 */
void x86_cpuid_host_policy(struct kvm_cpuid2 *c, enum x86_kvm_kind kind);

/* Makes c (a copy of KVM_GET_SUPPORTED_CPUID) vCPU id's. */
void x86_cpuid_for_vcpu(struct kvm_cpuid2 *c, unsigned id);

#endif

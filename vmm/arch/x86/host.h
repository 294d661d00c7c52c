/*
 * What kind of KVM this host has, for the quirks a guest needs: KVM's PVM
 * (guest CPL 0 run by an instruction emulator, shadow paging, no VT-x or
 * AMD-V visible) differs from hardware-assisted KVM in what the guest's
 * CPL 0 code can use (PLATFORM.md).
 */
#ifndef VMM_ARCH_X86_HOST_H
#define VMM_ARCH_X86_HOST_H

#include <stdbool.h>

enum x86_kvm_kind {
	X86_KVM_HARDWARE,            /* VT-x or AMD-V */
	X86_KVM_PVM,                 /* kvm_pvm */
};

/* The host's kind: PVM when the kernel has the kvm_pvm module, or when
 * /dev/kvm works on a CPU that shows neither vmx nor svm. */
enum x86_kvm_kind x86_kvm_kind(void);
const char *x86_kvm_kind_name(enum x86_kvm_kind kind);

#endif

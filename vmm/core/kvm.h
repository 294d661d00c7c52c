/*
 * The KVM device and the VM file descriptor: opening and checking the
 * device (API version, the capabilities memvisor relies on), creating the VM
 * with its in-kernel interrupt controller and PIT, and the CPUID table each
 * vCPU gets.
 */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <stddef.h>
#include <linux/kvm.h>
#include "mm/arena.h"
#include "vmm/arch/x86/host.h"

struct kvm {
	int sys_fd;                  /* the device */
	int vm_fd;
	size_t run_size;             /* bytes of each vCPU's kvm_run mapping */
	unsigned max_vcpus;
	struct kvm_cpuid2 *cpuid;    /* KVM_GET_SUPPORTED_CPUID as the host's kind allows */
	enum x86_kvm_kind kind;      /* hardware-assisted or PVM */
	struct mm_arena *arena;
};

/*
 * Opens the device, checks it, creates the VM. On failure returns -errno
 * with why saying what went wrong in one line (the device path is the
 * caller's "what").
 */
int kvm_open(struct kvm *k, const char *device, struct mm_arena *a, char *why, size_t why_len);
/* The TSC rate a new VM's vCPUs get on device, in kHz; 0 when it cannot
 * be had. For what is decided before the VM is (the Linux command line). */
unsigned kvm_probe_tsc_khz(const char *device);
void kvm_close(struct kvm *k);

/*
 * The in-kernel irqchip and PIT. Call after the memslots are registered:
 * with an irqchip in place, the first memslot costs ~5 ms more on kvm_pvm
 * (measured), against ~0.1 ms in this order.
 */
int kvm_create_devices(struct kvm *k, char *why, size_t why_len);

/*
 * Creates vCPU `id` with the supported CPUID (its APIC ID patched in).
 * Returns the vCPU fd or -errno.
 */
int kvm_create_vcpu(struct kvm *k, unsigned id);

#endif

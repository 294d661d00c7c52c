/*
 * The KVM device and VM. Everything is checked up front so a host that
 * lacks something fails at start with its name, not later in a guest.
 *
 * The in-kernel irqchip and PIT are what a Linux guest needs on a VT-x/AMD-V
 * host, and with the irqchip the vCPUs other than the first wait in the
 * kernel for INIT/SIPI, as on real hardware, instead of running from the
 * reset vector.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "mm/kmalloc.h"
#include "vmm/arch/x86/cpuid.h"
#include "vmm/arch/x86/host.h"
#include "vmm/core/kvm.h"

#define KVM_API_VERSION_NEEDED 12
/* Intel needs three pages for the real-mode TSS; QEMU's address, in the
 * MMIO hole below 4 GiB where guest RAM never is. */
#define KVM_TSS_ADDR 0xfffbd000UL
#define CPUID_MAX_ENTRIES 1024

static const struct {
	int cap;
	const char *name;
	const char *why;
} kvm_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs" },
	{ KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS", "registers without extra ioctls" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "the interrupt controller" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", "the timer" },
};

static int kvm_ioctl(int fd, unsigned long req, unsigned long arg)
{
	int rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR);
	return rc;
}

static int kvm_check_caps(struct kvm *k, char *why, size_t why_len)
{
	for (size_t i = 0; i < sizeof(kvm_caps) / sizeof(kvm_caps[0]); i++) {
		if (kvm_ioctl(k->vm_fd, KVM_CHECK_EXTENSION, (unsigned long)kvm_caps[i].cap) <= 0) {
			snprintf(why, why_len, "KVM lacks %s (needed for %s)", kvm_caps[i].name,
				 kvm_caps[i].why);
			return -ENOTSUP;
		}
	}
	int sync = kvm_ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (!(sync & KVM_SYNC_X86_REGS)) {
		snprintf(why, why_len, "KVM_CAP_SYNC_REGS lacks the general registers");
		return -ENOTSUP;
	}
	int max = kvm_ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = kvm_ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	k->max_vcpus = max > 0 ? (unsigned)max : 4;   /* the API's documented floor */
	return 0;
}

/* KVM_GET_SUPPORTED_CPUID with a table grown until it fits. Hosts report
 * 60-110 entries; a first try that is too small costs ~0.4 ms. */
static int kvm_get_cpuid(struct kvm *k, char *why, size_t why_len)
{
	for (unsigned n = 256; n <= CPUID_MAX_ENTRIES; n *= 2) {
		size_t bytes = sizeof(struct kvm_cpuid2) + n * sizeof(struct kvm_cpuid_entry2);
		struct kvm_cpuid2 *c = kvzalloc(k->arena, bytes);
		if (!c) {
			snprintf(why, why_len, "no memory for the CPUID table");
			return -ENOMEM;
		}
		c->nent = n;
		if (kvm_ioctl(k->sys_fd, KVM_GET_SUPPORTED_CPUID, (unsigned long)c) == 0) {
			k->cpuid = c;
			return 0;
		}
		int err = errno;
		kvfree(k->arena, c);
		if (err != E2BIG) {
			snprintf(why, why_len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(err));
			return -err;
		}
	}
	snprintf(why, why_len, "KVM_GET_SUPPORTED_CPUID: more than %d entries", CPUID_MAX_ENTRIES);
	return -E2BIG;
}

int kvm_create_devices(struct kvm *k, char *why, size_t why_len)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (kvm_ioctl(k->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		snprintf(why, why_len, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	if (kvm_ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		snprintf(why, why_len, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	if (kvm_ioctl(k->vm_fd, KVM_CREATE_PIT2, (unsigned long)&pit) < 0) {
		snprintf(why, why_len, "KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

unsigned kvm_probe_tsc_khz(const char *device)
{
	int sys = open(device, O_RDWR | O_CLOEXEC), vm = -1, cpu = -1, khz = -1;

	if (sys >= 0)
		vm = kvm_ioctl(sys, KVM_CREATE_VM, 0);
	/* The VM-wide query (Linux 6.0 on), else a vCPU's. */
	if (vm >= 0)
		khz = kvm_ioctl(vm, KVM_GET_TSC_KHZ, 0);
	if (vm >= 0 && khz <= 0 && (cpu = kvm_ioctl(vm, KVM_CREATE_VCPU, 0)) >= 0)
		khz = kvm_ioctl(cpu, KVM_GET_TSC_KHZ, 0);
	if (cpu >= 0)
		close(cpu);
	if (vm >= 0)
		close(vm);
	if (sys >= 0)
		close(sys);
	return khz > 0 ? (unsigned)khz : 0;
}

int kvm_open(struct kvm *k, const char *device, struct mm_arena *a, char *why, size_t why_len)
{
	*k = (struct kvm){ .sys_fd = -1, .vm_fd = -1, .arena = a };
	k->sys_fd = open(device, O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0) {
		int err = errno;
		snprintf(why, why_len, "cannot open the KVM device: %s%s", strerror(err),
			 err == ENOENT ? " (is KVM enabled on this host? --kvm-device names another)" : "");
		return -err;
	}
	int version = kvm_ioctl(k->sys_fd, KVM_GET_API_VERSION, 0);
	if (version < 0) {
		int err = errno;
		snprintf(why, why_len, "not a KVM device (%s)", strerror(err));
		kvm_close(k);
		return -ENODEV;
	}
	if (version != KVM_API_VERSION_NEEDED) {
		snprintf(why, why_len, "KVM API version %d, memvisor needs %d", version,
			 KVM_API_VERSION_NEEDED);
		kvm_close(k);
		return -ENOTSUP;
	}
	int rc = 0;
	k->vm_fd = kvm_ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0) {
		rc = -errno;
		snprintf(why, why_len, "KVM_CREATE_VM: %s", strerror(errno));
	}
	if (!rc)
		rc = kvm_check_caps(k, why, why_len);
	if (!rc) {
		int size = kvm_ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
		if (size < (int)sizeof(struct kvm_run)) {
			snprintf(why, why_len, "KVM_GET_VCPU_MMAP_SIZE: %d", size);
			rc = -EINVAL;
		}
		k->run_size = (size_t)size;
	}
	if (!rc)
		rc = kvm_get_cpuid(k, why, why_len);
	if (!rc) {
		k->kind = x86_kvm_kind();
		x86_cpuid_host_policy(k->cpuid, k->kind);
	}
	if (rc)
		kvm_close(k);
	return rc;
}

void kvm_close(struct kvm *k)
{
	if (k->cpuid)
		kvfree(k->arena, k->cpuid);
	k->cpuid = NULL;
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	k->vm_fd = k->sys_fd = -1;
}

/* This vCPU's CPUID: the supported table as x86_cpuid_for_vcpu makes it
 * this vCPU's. */
static int kvm_set_cpuid(struct kvm *k, int fd, unsigned id)
{
	size_t bytes = sizeof(struct kvm_cpuid2) + k->cpuid->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = kvmalloc(k->arena, bytes);

	if (!c)
		return -ENOMEM;
	memcpy(c, k->cpuid, bytes);
	x86_cpuid_for_vcpu(c, id);
	int rc = kvm_ioctl(fd, KVM_SET_CPUID2, (unsigned long)c) < 0 ? -errno : 0;
	kvfree(k->arena, c);
	return rc;
}

int kvm_create_vcpu(struct kvm *k, unsigned id)
{
	int fd = kvm_ioctl(k->vm_fd, KVM_CREATE_VCPU, id);

	if (fd < 0)
		return -errno;
	int rc = kvm_set_cpuid(k, fd, id);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

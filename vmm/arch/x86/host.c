/*
 * The host's kind of KVM (host.h). kvm_pvm registers /sys/module/kvm_pvm
 * whether it is a module or built in (it has parameters); a host without
 * it whose CPU flags show no vmx or svm can only be running a software
 * KVM of the same kind.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "vmm/arch/x86/host.h"

static bool cpu_has_virt_flags(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool found = true;   /* unreadable: assume hardware, the common case */

	if (!f)
		return found;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = strstr(line, " vmx") || strstr(line, " svm");
		break;
	}
	fclose(f);
	return found;
}

enum x86_kvm_kind x86_kvm_kind(void)
{
	if (access("/sys/module/kvm_pvm", F_OK) == 0 || !cpu_has_virt_flags())
		return X86_KVM_PVM;
	return X86_KVM_HARDWARE;
}

const char *x86_kvm_kind_name(enum x86_kvm_kind kind)
{
	return kind == X86_KVM_PVM ? "pvm" : "hardware";
}

/*
 * The default Linux command line (linux_cmdline.h). Each word, and why:
 *   console=ttyS0 earlyprintk=serial,ttyS0  the only console is COM1
 *   8250.nr_uarts=1      probe COM1 only: each probe of an absent UART is
 *                        a string of port exits
 *   io_delay=none        no write to port 0x80 after slow port I/O
 *   tsc=reliable clocksource=tsc  no clocksource watchdog (it would read
 *                        the HPET or PIT again and again)
 *   lpj=N                the delay loop from the TSC's rate, not measured
 *                        (seconds of emulated loops on PVM)
 *   panic=-1 reboot=t    a panic reboots at once, and a reboot is a triple
 *                        fault, which ends the VM with a crash report
 *   syscall_pf_fixup     (PVM) the test guest's patch for SYSCALL at CPL 3
 *   noxsave clearcpuid=smap,popcnt,erms,fsrm  (PVM) what KVM's emulator
 *                        cannot run, unused: the VMM's CPUID hides it too
 *                        (x86_cpuid_host_policy), but kvm_pvm on some hosts
 *                        (AMD EPYC, seen) runs the guest kernel's CPUID
 *                        natively, so the kernel would see the host's and
 *                        end in an XSETBV or POPCNT the emulator refuses
 */
#include <stdio.h>
#include "vmm/boot/linux_cmdline.h"

size_t linux_default_cmdline(const struct linux_cmdline_host *h, char *buf, size_t len)
{
	char lpj[32] = "";

	if (h->tsc_khz)
		snprintf(lpj, sizeof(lpj), " lpj=%llu",
			 (unsigned long long)h->tsc_khz * 1000 / LINUX_CMDLINE_HZ);
	int n = snprintf(buf, len,
			 "console=ttyS0 earlyprintk=serial,ttyS0 8250.nr_uarts=1 io_delay=none "
			 "tsc=reliable clocksource=tsc%s panic=-1 reboot=t%s",
			 lpj, h->pvm ? " syscall_pf_fixup noxsave clearcpuid=smap,popcnt,erms,fsrm" : "");
	return n < 0 ? 0 : (size_t)n;
}

/*
 * The command line memvisor gives a Linux kernel before the user's own (as
 * Firecracker does), so a user passes only what they add: the console on
 * the UART, a delay loop taken from the TSC instead of calibrated, no
 * port-0x80 delays, a panic that ends the VM, and on PVM hosts what their
 * CPU emulation needs (PLATFORM.md; tests/linux/guest/patches/).
 */
#ifndef VMM_BOOT_LINUX_CMDLINE_H
#define VMM_BOOT_LINUX_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* The kernel's HZ the delay loop is computed for (the test guest's; with
 * another HZ the delays are longer or shorter by HZ/100, and `lpj=` on the
 * user's command line overrides it). */
#define LINUX_CMDLINE_HZ 100

struct linux_cmdline_host {
	unsigned tsc_khz;            /* 0: unknown, no lpj= */
	bool pvm;                    /* KVM's PVM: user SYSCALL needs the fixup */
};

/* Writes the default command line into buf (NUL-terminated, no leading or
 * trailing space); returns its length, or the length it would have had
 * when len is too small (as snprintf). */
size_t linux_default_cmdline(const struct linux_cmdline_host *h, char *buf, size_t len);

#endif

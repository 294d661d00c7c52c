/*
 * Ending the guest. memvisor has an exit port that takes any status,
 * including 0. QEMU has only isa-debug-exit, whose process status is
 * value * 2 + 1 and so never 0: a zero status ends instead in a triple
 * fault (trap.c recognises runtime_exit_trap), which QEMU turns into a
 * clean exit with status 0 when run with -no-reboot.
 */
#include "internal.h"
#include "ports.h"

_Noreturn void guest_exit(int status)
{
	console_flush();
	if (on_memvisor())
		outl(ABI_PORT_EXIT, (uint32_t)status);
	/* Only reached off memvisor (or if the VMM ignored the exit port). */
	if (status != 0)
		outb(ABI_PORT_DEBUG_EXIT, (uint8_t)status);
	runtime_exit_trap(status);
}

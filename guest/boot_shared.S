/*
 * What the C runtime uses of the boot code: the exit trap, the triple
 * fault and the kvmclock area. They live apart from boot.S because boot.S
 * calls into C (runtime_start, trap_report): with them here, boot.S sits
 * above every C file and this file below them all. Nothing here may name
 * a symbol of another file, or the files would use each other in a circle
 * again.
 */

	.text
/* guest_exit's last resort (exit.c): the fault handler (trap.c) recognises
 * this address and resets quietly instead of reporting a crash. */
	.globl runtime_exit_trap
runtime_exit_trap:
	ud2

/* An empty IDT turns the next exception into a triple fault: the reset
 * that QEMU's -no-reboot turns into an exit with status 0. lidt is CPL0:
 * only the fault report (trap.c) calls this. */
	.globl boot_triple_fault
boot_triple_fault:
	lidt boot_null_idtr
	ud2

	.section .rodata
	.balign 8
boot_null_idtr:
	.word 0
	.quad 0

/* The struct pvclock_vcpu_time_info that boot.S registers with KVM and
 * tsc.c reads. */
	.data
	.balign 32                      /* must not cross a page */
	.globl boot_kvmclock
boot_kvmclock:
	.fill 32, 1, 0

	.section .note.GNU-stack, "", @progbits   /* no executable stack */

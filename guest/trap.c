/*
 * The fault report, at CPL0, for when the fault port did not stop the
 * guest: under QEMU that port does nothing. Prints the vector, error code,
 * RIP, CR2 and registers on the console (the UART there), then exits through
 * isa-debug-exit with FAULT_DEBUG_EXIT_BASE | vector, and if that device is
 * absent too, resets by triple fault. Every instruction here is emulated on
 * this platform; a report costs a few milliseconds, which is fine once.
 *
 * runtime_exit_trap's ud2 is not a fault: it is guest_exit asking for the
 * quiet triple fault that ends a QEMU guest with status 0.
 */
#include "internal.h"
#include "ports.h"

/* What isr_common (boot.S) leaves on the stack, lowest address first. */
struct trap_regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rcx;
	uint64_t rdx, rax;              /* pushed by the vector's entry code */
	uint64_t hw[];                  /* [error code,] rip, cs, rflags, rsp, ss */
};

_Noreturn void trap_report(struct trap_regs *r, unsigned vector, uint64_t cr2);

static const char *const names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "(9)", "#TS", "#NP",
	"#SS", "#GP", "#PF", "(15)", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "(22)", "(23)",
	"(24)", "(25)", "(26)", "(27)", "#HV", "#VC", "#SX", "(31)",
};

static bool has_error_code(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 ||
	       vector == 29 || vector == 30;
}

_Noreturn void trap_report(struct trap_regs *r, unsigned vector, uint64_t cr2)
{
	static bool entered;
	if (entered)                    /* a fault inside the report: give up */
		boot_triple_fault();
	entered = true;

	bool err = has_error_code(vector);
	const uint64_t *frame = r->hw + err;    /* rip, cs, rflags, rsp, ss */
	if (vector == 6 && frame[0] == (uintptr_t)runtime_exit_trap) {
		if (r->rdi)
			printf("guest: exit status %lu, but no exit device took it\n", r->rdi);
		console_flush();
		boot_triple_fault();
	}

	if (console_pending())          /* end a partial line, so the report starts a line */
		console_putc('\n');
	printf("guest fault: vector %u %s error 0x%lx rip 0x%lx cr2 0x%lx cs 0x%lx rflags 0x%lx rsp 0x%lx\n",
	       vector, names[vector & 31], err ? r->hw[0] : 0, frame[0], cr2, frame[1], frame[2], frame[3]);
	printf(" rax 0x%lx rbx 0x%lx rcx 0x%lx rdx 0x%lx rsi 0x%lx rdi 0x%lx rbp 0x%lx\n",
	       r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp);
	printf(" r8 0x%lx r9 0x%lx r10 0x%lx r11 0x%lx r12 0x%lx r13 0x%lx r14 0x%lx r15 0x%lx\n",
	       r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15);
	console_flush();
	outb(ABI_PORT_DEBUG_EXIT, FAULT_DEBUG_EXIT_BASE | vector);
	boot_triple_fault();
}

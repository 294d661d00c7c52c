/*
 * Crash reports: when the guest faults (its exception handler reports
 * through ABI_PORT_FAULT), triple-faults, or KVM cannot go on, one report on
 * stderr names the vector ("#PF (14)"), the error code, RIP, CR2 and the
 * registers, and the VM ends with VMM_EXIT_CRASH.
 */
#ifndef VMM_CRASH_H
#define VMM_CRASH_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

enum crash_kind {
	CRASH_TRIPLE_FAULT,      /* KVM_EXIT_SHUTDOWN */
	CRASH_INTERNAL_ERROR,    /* KVM_EXIT_INTERNAL_ERROR */
	CRASH_FAIL_ENTRY,        /* KVM_EXIT_FAIL_ENTRY */
	CRASH_SYSTEM_EVENT,      /* KVM_EXIT_SYSTEM_EVENT other than off/reset */
	CRASH_UNKNOWN_EXIT,
};

/* Reports and ends the VM. */
void crash_report(struct vcpu *v, enum crash_kind kind);
/* The guest's handler reported `vector` with the frame on its stack. */
void crash_report_fault(struct vcpu *v, uint32_t vector);

/* "#PF" for 14, "vector" for ones without a mnemonic. */
const char *crash_vector_name(unsigned vector);
/* Whether the CPU pushes an error code for this exception vector. */
bool crash_vector_has_error_code(unsigned vector);

#endif

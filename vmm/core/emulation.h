/*
 * When KVM's instruction emulator gives up (KVM_EXIT_INTERNAL_ERROR,
 * suberror EMULATION): the instructions memvisor can finish for it, today
 * `int3`. On PVM hosts a guest's CPL 0 code runs in that emulator, which
 * does INT n only in real mode, so a kernel's int3 (Linux's boot-time
 * self-test, kprobes, jump-label patching) stops the guest; memvisor
 * delivers the #BP itself, as the CPU would: RIP past the 0xCC, vector 3
 * injected. Anything else ends in the crash report, as before.
 */
#ifndef VMM_CORE_EMULATION_H
#define VMM_CORE_EMULATION_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>
#include "vmm/core/exits.h"

struct vcpu;

/* The first instruction byte KVM reported with the failure, if it did. */
bool emulation_reported_byte(const struct kvm_run *run, uint8_t *byte);

/* Handles the exit: EXIT_CONTINUE when the instruction was finished here,
 * else the crash report and EXIT_STOP. */
enum exit_action emulation_failed(struct vcpu *v);

#endif

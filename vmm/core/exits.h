/*
 * What a vCPU does after KVM_RUN returns: one handler per exit reason, and
 * the port I/O and MMIO dispatch to the VM's devices, with unknown ports
 * and MMIO answered all-ones.
 */
#ifndef VMM_EXITS_H
#define VMM_EXITS_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

enum exit_action {
	EXIT_CONTINUE = 0,     /* enter the guest again */
	EXIT_STOP,             /* the VM is ending; leave the loop */
};

enum exit_action exits_handle(struct vcpu *v);

#endif

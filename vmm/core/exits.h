/*
 * What a vCPU does after KVM_RUN returns: one handler per exit reason, and
 * the port I/O dispatch to the devices (UART, memvisor's ports, the debug
 * exit port), with unknown ports and MMIO answered all-ones.
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

/*
 * memvisor's paravirtual ports and the debug-exit port (pvports.c): one
 * access of `size` bytes whose value is in *data. Returns EXIT_STOP when the
 * access ended the VM.
 */
enum exit_action pvports_access(struct vcpu *v, uint16_t port, bool write, unsigned size,
				uint8_t *data);
bool pvports_claims(uint16_t port);

#endif

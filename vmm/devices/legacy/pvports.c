/*
 * memvisor's paravirtual ports (include/abi/memvisor.h) and QEMU's isa-debug-exit at
 * 0xf4. Every value the guest passes is checked: the console descriptor and
 * its buffer must be guest RAM (guest_mem_hva), the length at most
 * PVPORT_CONSOLE_MAX. A bad request is logged once per port and dropped;
 * only the exit ports and a fault report end the VM. The halt port parks the
 * vCPU's thread (vcpu_halt), which is what makes an idle guest free.
 */
#include <stdio.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/core/crash.h"
#include "vmm/core/exits.h"
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"

#define PVPORT_CONSOLE_MAX (64u << 10)

bool pvports_claims(uint16_t port)
{
	return port == ABI_PORT_DEBUG_EXIT ||
	       (port >= ABI_PORT_BASE && port < ABI_PORT_BASE + ABI_PORT_COUNT);
}

static uint32_t pvports_value(const uint8_t *data, unsigned size)
{
	uint32_t v = 0;

	memcpy(&v, data, size);
	return v;
}

static void pvports_console(struct vcpu *v, uint32_t desc_gpa)
{
	struct vm *vm = v->vm;
	const struct abi_console_buf *d = guest_mem_hva(vm->gm, desc_gpa, sizeof(*d));
	struct abi_console_buf desc;

	if (!d) {
		unhandled_note(&vm->unhandled, UNHANDLED_BAD_REQUEST, ABI_PORT_CONSOLE);
		return;
	}
	memcpy(&desc, d, sizeof(desc));    /* read once: the guest may change it */
	const void *buf = desc.len <= PVPORT_CONSOLE_MAX ?
			  guest_mem_hva(vm->gm, desc.buf_gpa, desc.len) : NULL;
	if (!buf) {
		unhandled_note(&vm->unhandled, UNHANDLED_BAD_REQUEST, ABI_PORT_CONSOLE);
		return;
	}
	console_write(&vm->console, buf, desc.len);
}

static enum exit_action pvports_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vm *vm = v->vm;

	switch (port) {
	case ABI_PORT_DEBUG_EXIT:
		/* QEMU: exit((val << 1) | 1); the status keeps its low 8 bits. */
		vm_finish(vm, (int)(((val << 1) | 1) & 0xff));
		return EXIT_STOP;
	case ABI_PORT_EXIT:
		vm_finish(vm, val > 255 ? 255 : (int)val);
		return EXIT_STOP;
	case ABI_PORT_CONSOLE:
		if (size == 4)
			pvports_console(v, val);
		else
			unhandled_note(&vm->unhandled, UNHANDLED_BAD_REQUEST, port);
		return EXIT_CONTINUE;
	case ABI_PORT_FAULT:
		crash_report_fault(v, val);
		return EXIT_STOP;
	case ABI_PORT_HALT:
		if (size == 4)
			vcpu_halt(v, val);
		else
			unhandled_note(&vm->unhandled, UNHANDLED_BAD_REQUEST, port);
		return EXIT_CONTINUE;
	case ABI_PORT_PROBE:
		if (vm->hooks.probe)
			vm->hooks.probe(vm, v->id, val, vm->hooks.probe_arg);
		return EXIT_CONTINUE;
	}
	unhandled_note(&vm->unhandled, UNHANDLED_PORT, port);
	return EXIT_CONTINUE;
}

enum exit_action pvports_access(struct vcpu *v, uint16_t port, bool write, unsigned size,
				uint8_t *data)
{
	if (write)
		return pvports_write(v, port, size, pvports_value(data, size));
	/* Reads tell memvisor from QEMU (where these ports read all-ones);
	 * isa-debug-exit reads 0 there, and here too. */
	uint32_t sig = port == ABI_PORT_DEBUG_EXIT ? 0 : ABI_PORT_SIGNATURE;
	memcpy(data, &sig, size);
	return EXIT_CONTINUE;
}

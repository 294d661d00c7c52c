/*
 * memvisor's paravirtual ports (include/abi/memvisor.h) and QEMU's
 * isa-debug-exit at 0xf4, as a device of the VM (device.h). Every value the
 * guest passes is checked: the console descriptor and its buffer must be
 * guest RAM (guest_mem_hva), the length at most PVPORT_CONSOLE_MAX. A bad
 * request is logged once per port and dropped; only the exit ports and a
 * fault report end the VM. The halt port parks the vCPU's thread (the
 * host's halt), which is what makes an idle guest free.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/devices/legacy/console.h"
#include "vmm/devices/legacy/pvports.h"
#include "vmm/devices/unhandled.h"
#include "vmm/memory/guest_mem.h"

#define PVPORT_CONSOLE_MAX (64u << 10)

static bool pvports_wanted(const struct vm_config *cfg)
{
	(void)cfg;
	return true;
}

/* The state is the host itself: the ports keep nothing of their own. */
static int pvports_create(const struct device_host *host, const struct vm_config *cfg,
			  void **state, char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	*state = (void *)host;
	return 0;
}

static void pvports_destroy(void *state)
{
	(void)state;
}

static bool pvports_claims(void *state, uint16_t port)
{
	(void)state;
	return port == ABI_PORT_DEBUG_EXIT ||
	       (port >= ABI_PORT_BASE && port < ABI_PORT_BASE + ABI_PORT_COUNT);
}

static uint32_t pvports_value(const uint8_t *data, unsigned size)
{
	uint32_t v = 0;

	memcpy(&v, data, size);
	return v;
}

static void pvports_console(const struct device_host *h, uint32_t desc_gpa)
{
	const struct abi_console_buf *d = guest_mem_hva(h->gm, desc_gpa, sizeof(*d));
	struct abi_console_buf desc;

	if (!d) {
		unhandled_note(h->unhandled, UNHANDLED_BAD_REQUEST, ABI_PORT_CONSOLE);
		return;
	}
	memcpy(&desc, d, sizeof(desc));    /* read once: the guest may change it */
	const void *buf = desc.len <= PVPORT_CONSOLE_MAX ?
			  guest_mem_hva(h->gm, desc.buf_gpa, desc.len) : NULL;
	if (!buf) {
		unhandled_note(h->unhandled, UNHANDLED_BAD_REQUEST, ABI_PORT_CONSOLE);
		return;
	}
	console_write(h->console, buf, desc.len);
}

static enum device_result pvports_write(const struct device_host *h, void *cpu, uint16_t port,
					 unsigned size, uint32_t val)
{

	switch (port) {
	case ABI_PORT_DEBUG_EXIT:
		/* QEMU: exit((val << 1) | 1); the status keeps its low 8 bits. */
		h->stop(h->ctx, (int)(((val << 1) | 1) & 0xff));
		return DEVICE_STOP;
	case ABI_PORT_EXIT:
		h->stop(h->ctx, val > 255 ? 255 : (int)val);
		return DEVICE_STOP;
	case ABI_PORT_CONSOLE:
		if (size == 4)
			pvports_console(h, val);
		else
			unhandled_note(h->unhandled, UNHANDLED_BAD_REQUEST, port);
		return DEVICE_CONTINUE;
	case ABI_PORT_FAULT:
		h->fault(cpu, val);
		return DEVICE_STOP;
	case ABI_PORT_HALT:
		if (size == 4)
			h->halt(cpu, val);
		else
			unhandled_note(h->unhandled, UNHANDLED_BAD_REQUEST, port);
		return DEVICE_CONTINUE;
	case ABI_PORT_PROBE:
		if (h->probe)
			h->probe(h->ctx, cpu, val);
		return DEVICE_CONTINUE;
	}
	unhandled_note(h->unhandled, UNHANDLED_PORT, port);
	return DEVICE_CONTINUE;
}

static enum device_result pvports_access(void *state, void *cpu, uint16_t port, bool write,
					  unsigned size, uint8_t *data)
{
	if (write)
		return pvports_write(state, cpu, port, size, pvports_value(data, size));
	/* Reads tell memvisor from QEMU (where these ports read all-ones);
	 * isa-debug-exit reads 0 there, and here too. */
	uint32_t sig = port == ABI_PORT_DEBUG_EXIT ? 0 : ABI_PORT_SIGNATURE;
	memcpy(data, &sig, size);
	return DEVICE_CONTINUE;
}

const struct device_type pvports_device = {
	.name = "pvports",
	.wanted = pvports_wanted,
	.create = pvports_create,
	.destroy = pvports_destroy,
	.pio_claims = pvports_claims,
	.pio = pvports_access,
};

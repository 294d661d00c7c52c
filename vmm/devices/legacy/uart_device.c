/*
 * The UART as a device of the VM (device.h): COM1's eight ports, its
 * interrupt on the irqchip's line UART_IRQ, its bytes to the VM's console.
 * Every VM has one, as a PC does.
 */
#include <errno.h>
#include <string.h>
#include "abi/memvisor.h"
#include "mm/kmalloc.h"
#include "vmm/devices/legacy/uart.h"
#include "vmm/devices/unhandled.h"

struct uart_device {
	struct uart uart;
	const struct device_host *host;
};

static bool uart_wanted(const struct vm_config *cfg)
{
	(void)cfg;
	return true;
}

/* A line the irqchip refuses is logged once, like any dropped request. */
static void uart_device_irq(void *arg, int level)
{
	struct uart_device *d = arg;
	const struct device_host *h = d->host;

	if (h->irq && h->irq(h->ctx, UART_IRQ, level) < 0)
		unhandled_note(h->unhandled, UNHANDLED_BAD_REQUEST, ABI_PORT_UART);
}

static int uart_device_create(const struct device_host *host, const struct vm_config *cfg,
			      void **state, char *err, size_t errlen)
{
	struct uart_device *d = kzalloc(host->arena, sizeof(*d));

	(void)cfg;
	(void)err;
	(void)errlen;
	if (!d)
		return -ENOMEM;
	d->host = host;
	uart_init(&d->uart, host->console, uart_device_irq, d);
	*state = d;
	return 0;
}

static void uart_device_destroy(void *state)
{
	struct uart_device *d = state;

	uart_destroy(&d->uart);
	kfree(d->host->arena, d);
}

static bool uart_claims(void *state, uint16_t port)
{
	(void)state;
	return port >= ABI_PORT_UART && port < ABI_PORT_UART + ABI_UART_PORTS;
}

/* Wider accesses reach consecutive registers, as on the bus; bytes past
 * the UART read as an empty bus. */
static enum device_result uart_pio(void *state, void *cpu, uint16_t port, bool write,
				   unsigned size, uint8_t *data)
{
	struct uart_device *d = state;

	(void)cpu;
	if (!write)
		memset(data, 0xff, size);
	for (unsigned b = 0; b < size && port + b < ABI_PORT_UART + ABI_UART_PORTS; b++)
		uart_access(&d->uart, port + b - ABI_PORT_UART, write, data + b);
	return DEVICE_CONTINUE;
}

const struct device_type uart_device = {
	.name = "uart",
	.wanted = uart_wanted,
	.create = uart_device_create,
	.destroy = uart_device_destroy,
	.pio_claims = uart_claims,
	.pio = uart_pio,
};

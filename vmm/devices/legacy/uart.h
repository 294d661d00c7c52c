/*
 * An 8250/16550 UART at ABI_PORT_UART, transmit side only: what the guest
 * writes to THR goes to the console at once; there is never input, so RBR
 * reads 0 and LSR always says the transmitter is empty. The other registers
 * keep what is written to them so a driver's probe (scratch register,
 * divisor latch, loopback) finds a UART, and the THR-empty interrupt works
 * as on hardware (IRQ 4) for drivers that transmit by interrupt, as Linux's
 * does for a tty.
 */
#ifndef VMM_UART_H
#define VMM_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "vmm/devices/device.h"
#include "vmm/devices/legacy/console.h"

#define UART_IRQ 4

/* Sets the UART's interrupt line to level (0 or 1). */
typedef void (*uart_irq_fn)(void *arg, int level);

struct uart {
	pthread_mutex_t lock;
	struct vm_console *console;
	uart_irq_fn irq;
	void *irq_arg;
	int irq_level;
	bool thr_ipending;      /* a THR-empty interrupt is owed */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
};

/* irq may be NULL (no interrupt controller). */
void uart_init(struct uart *u, struct vm_console *console, uart_irq_fn irq, void *irq_arg);
void uart_destroy(struct uart *u);
/* One byte access at register `reg` (0..7). */
void uart_access(struct uart *u, unsigned reg, bool write, uint8_t *data);

/* COM1 as a device of the VM (uart_device.c). */
extern const struct device_type uart_device;

#endif

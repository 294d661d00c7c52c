/*
 * The 8250 UART's registers. Output never waits: a byte written to THR is
 * on the console before the write returns, so THR is always empty again.
 * The one interrupt source is THR empty, owed after each byte and when the
 * guest enables it, and paid by an IIR read that reports it or by the next
 * THR write (the 16550's rules).
 */
#include "vmm/devices/legacy/uart.h"

enum { UART_RBR_THR, UART_IER, UART_IIR_FCR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR };

#define IER_THRI      0x02
#define LCR_DLAB      0x80
#define MCR_LOOP      0x10
#define LSR_THRE_TEMT 0x60
#define IIR_NONE      0x01
#define IIR_THRI      0x02
#define IIR_FIFO_ON   0xc0
#define MSR_DCD_DSR_CTS 0xb0

void uart_init(struct uart *u, struct vm_console *console, uart_irq_fn irq, void *irq_arg)
{
	/* 8N1 at 9600 baud, as a PC's firmware leaves COM1. */
	*u = (struct uart){ .console = console, .irq = irq, .irq_arg = irq_arg, .lcr = 0x03,
			    .dll = 0x0c };
	pthread_mutex_init(&u->lock, NULL);
}

void uart_destroy(struct uart *u)
{
	pthread_mutex_destroy(&u->lock);
}

static bool uart_thri_pending(const struct uart *u)
{
	return (u->ier & IER_THRI) && u->thr_ipending;
}

static void uart_update_irq(struct uart *u)
{
	int level = uart_thri_pending(u);

	if (level != u->irq_level && u->irq)
		u->irq(u->irq_arg, level);
	u->irq_level = level;
}

/* In loopback MSR mirrors MCR's outputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
static uint8_t uart_msr(const struct uart *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_DCD_DSR_CTS;
	return (uint8_t)(((u->mcr & 0x02) << 3) | ((u->mcr & 0x01) << 5) | ((u->mcr & 0x04) << 4) |
			 ((u->mcr & 0x08) << 4));
}

static uint8_t uart_read(struct uart *u, unsigned reg)
{
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t fifo = (u->fcr & 1) ? IIR_FIFO_ON : 0;

	switch (reg) {
	case UART_RBR_THR: return dlab ? u->dll : 0;
	case UART_IER: return dlab ? u->dlm : u->ier;
	case UART_IIR_FCR:
		if (uart_thri_pending(u)) {
			u->thr_ipending = false;     /* reading IIR pays it */
			return IIR_THRI | fifo;
		}
		return IIR_NONE | fifo;
	case UART_LCR: return u->lcr;
	case UART_MCR: return u->mcr;
	case UART_LSR: return LSR_THRE_TEMT;
	case UART_MSR: return uart_msr(u);
	default: return u->scr;
	}
}

static void uart_write(struct uart *u, unsigned reg, uint8_t v)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case UART_RBR_THR:
		if (dlab) {
			u->dll = v;
			break;
		}
		if (!(u->mcr & MCR_LOOP))    /* loopback output stays inside */
			console_putc(u->console, (char)v);
		u->thr_ipending = true;      /* sent at once: THR is empty again */
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
			break;
		}
		if ((v & IER_THRI) && !(u->ier & IER_THRI))
			u->thr_ipending = true;  /* enabling it with THR empty */
		u->ier = v & 0x0f;
		break;
	case UART_IIR_FCR: u->fcr = v; break;
	case UART_LCR: u->lcr = v; break;
	case UART_MCR: u->mcr = v & 0x1f; break;
	case UART_LSR: case UART_MSR: break;   /* read-only */
	default: u->scr = v; break;
	}
}

void uart_access(struct uart *u, unsigned reg, bool write, uint8_t *data)
{
	pthread_mutex_lock(&u->lock);
	if (write)
		uart_write(u, reg & 7, *data);
	else
		*data = uart_read(u, reg & 7);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

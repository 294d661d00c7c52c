/*
 * The console. Under memvisor (a read of its console port returns the
 * signature) output is collected into lines and each line costs one exit:
 * the port gets the GPA of a descriptor naming the line. Anywhere else the
 * bytes go to the 8250 UART, one exit (plus a status read) per byte.
 *
 * Used at CPL3 and by the fault report at CPL0; single vCPU, no locking.
 */
#include "internal.h"
#include "ports.h"

#define UART_THR 0                      /* transmit holding register */
#define UART_LSR 5                      /* line status register */
#define UART_LSR_THRE 0x20              /* THR empty: ready for a byte */

enum console_kind { CONSOLE_UNKNOWN, CONSOLE_MEMVISOR, CONSOLE_UART };

static enum console_kind kind;
static char line[512];
static size_t line_len;
static struct abi_console_buf line_desc;

bool on_memvisor(void)
{
	if (kind == CONSOLE_UNKNOWN)
		kind = inl(ABI_PORT_CONSOLE) == ABI_PORT_SIGNATURE ? CONSOLE_MEMVISOR : CONSOLE_UART;
	return kind == CONSOLE_MEMVISOR;
}

static void uart_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		while (!(inb(ABI_PORT_UART + UART_LSR) & UART_LSR_THRE))
			;
		outb(ABI_PORT_UART + UART_THR, (uint8_t)s[i]);
	}
}

void console_flush(void)
{
	if (!line_len)
		return;
	if (on_memvisor()) {
		/* Identity map: the line's address is its GPA, below 4 GiB. */
		line_desc.buf_gpa = (uintptr_t)line;
		line_desc.len = (unsigned)line_len;
		outl(ABI_PORT_CONSOLE, (uint32_t)(uintptr_t)&line_desc);
	} else {
		uart_write(line, line_len);
	}
	line_len = 0;
}

bool console_pending(void)
{
	return line_len != 0;
}

void console_putc(char c)
{
	line[line_len++] = c;
	if (c == '\n' || line_len == sizeof(line))
		console_flush();
}

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		console_putc(s[i]);
}

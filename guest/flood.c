/*
 * flood: writes console lines as fast as it can, forever, until the VMM
 * stops it; `uart=1` writes them a byte at a time through the 8250 UART
 * instead of memvisor's batched console port. What a VMM whose stdout
 * nobody reads must survive (the output tests).
 */
#include "runtime.h"
#include "abi/memvisor.h"
#include "ports.h"

#define UART_THR 0

static void uart_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		outb(ABI_PORT_UART + UART_THR, (uint8_t)s[i]);
}

int main(const char *cmdline)
{
	static const char text[] = "flood: the quick brown fox jumps over the lazy dog\n";
	bool uart = cmdline_is("uart", "1");

	(void)cmdline;
	for (uint64_t n = 0;; n++) {
		if (uart)
			uart_line(text, sizeof(text) - 1);
		else
			printf("flood: line %lu, the quick brown fox jumps over the lazy dog\n", n);
	}
}

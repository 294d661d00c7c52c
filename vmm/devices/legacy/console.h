/*
 * The guest's console output: bytes from the UART (one exit each) and lines
 * from the batched console port go to one file descriptor in the order the
 * guest wrote them. UART bytes are gathered into lines so a line costs one
 * write(2), not one per byte.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_LINE_MAX 256

struct vm_console {
	pthread_mutex_t lock;
	int fd;
	size_t len;
	char line[CONSOLE_LINE_MAX];   /* UART bytes not written yet */
	uint64_t bytes;                /* written so far */
};

void console_init(struct vm_console *c, int fd);
void console_destroy(struct vm_console *c);
/* One UART byte: written out at a newline or when the line is full. */
void console_putc(struct vm_console *c, char ch);
/* A batch: pending UART bytes first, then buf. */
void console_write(struct vm_console *c, const void *buf, size_t len);
void console_flush(struct vm_console *c);

#endif

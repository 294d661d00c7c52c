/*
 * The guest's console output: bytes from the UART (one exit each) and lines
 * from the batched console port go to one file descriptor in the order the
 * guest wrote them. UART bytes are gathered into lines so a line costs one
 * write(2), not one per byte. The lines go through an out_stream
 * (devices/output.h): a reader that does not keep up loses lines, counted,
 * and never stops the guest.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/devices/output.h"

#define CONSOLE_LINE_MAX 256
/* What the console holds for a reader that falls behind. */
#define CONSOLE_BUFFER (256u << 10)

struct vm_console {
	pthread_mutex_t lock;
	size_t len;
	char line[CONSOLE_LINE_MAX];   /* UART bytes not queued yet */
	struct out_stream out;
};

/* The buffer comes from a's kvmalloc. 0 or -errno. */
int console_init(struct vm_console *c, int fd, struct mm_arena *a);
/* Gives a reader that keeps up the rest (out_stream_flush). */
void console_destroy(struct vm_console *c, unsigned stall_ms);
/* One UART byte: written out at a newline or when the line is full. */
void console_putc(struct vm_console *c, char ch);
/* A batch: pending UART bytes first, then buf. */
void console_write(struct vm_console *c, const void *buf, size_t len);
/* Queues the pending UART bytes and waits for a reader that keeps up
 * (out_stream_flush). */
void console_flush(struct vm_console *c, unsigned stall_ms);

#endif

/*
 * Console output (see console.h). Write errors are ignored on purpose: a
 * closed pipe on the reading side must not stop the guest (SIGPIPE is
 * ignored by main.c for the same reason).
 */
#include <errno.h>
#include <unistd.h>
#include "vmm/devices/legacy/console.h"

void console_init(struct vm_console *c, int fd)
{
	pthread_mutex_init(&c->lock, NULL);
	c->fd = fd;
	c->len = 0;
	c->bytes = 0;
}

void console_destroy(struct vm_console *c)
{
	console_flush(c);
	pthread_mutex_destroy(&c->lock);
}

static void console_emit(struct vm_console *c, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(c->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
		c->bytes += (uint64_t)n;
	}
}

static void console_flush_locked(struct vm_console *c)
{
	console_emit(c, c->line, c->len);
	c->len = 0;
}

void console_putc(struct vm_console *c, char ch)
{
	pthread_mutex_lock(&c->lock);
	c->line[c->len++] = ch;
	if (ch == '\n' || c->len == sizeof(c->line))
		console_flush_locked(c);
	pthread_mutex_unlock(&c->lock);
}

void console_write(struct vm_console *c, const void *buf, size_t len)
{
	pthread_mutex_lock(&c->lock);
	console_flush_locked(c);
	console_emit(c, buf, len);
	pthread_mutex_unlock(&c->lock);
}

void console_flush(struct vm_console *c)
{
	pthread_mutex_lock(&c->lock);
	console_flush_locked(c);
	pthread_mutex_unlock(&c->lock);
}

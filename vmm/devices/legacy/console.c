/*
 * Console output (see console.h). A reader that has gone (a closed pipe) or
 * does not keep up costs the guest nothing: its lines are dropped and
 * counted by the out_stream (SIGPIPE is ignored by main.c).
 */
#include "vmm/devices/legacy/console.h"

int console_init(struct vm_console *c, int fd, struct mm_arena *a)
{
	c->len = 0;
	int rc = out_stream_init(&c->out, fd, CONSOLE_BUFFER, a);
	if (!rc)
		pthread_mutex_init(&c->lock, NULL);
	return rc;
}

void console_destroy(struct vm_console *c, unsigned stall_ms)
{
	if (!c->out.started)
		return;
	console_flush(c, stall_ms);
	out_stream_destroy(&c->out, 0);
	pthread_mutex_destroy(&c->lock);
}

static void console_flush_locked(struct vm_console *c)
{
	if (c->len)
		out_stream_write(&c->out, c->line, c->len);
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
	out_stream_write(&c->out, buf, len);
	pthread_mutex_unlock(&c->lock);
}

void console_flush(struct vm_console *c, unsigned stall_ms)
{
	pthread_mutex_lock(&c->lock);
	console_flush_locked(c);
	pthread_mutex_unlock(&c->lock);
	out_stream_flush(&c->out, stall_ms);
}

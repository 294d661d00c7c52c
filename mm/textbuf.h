/*
 * Appending formatted text to a caller's buffer, snprintf-style: output is
 * truncated at the buffer's end but the full length is still counted, so
 * callers can size a second attempt.
 */
#ifndef MM_TEXTBUF_H
#define MM_TEXTBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct textbuf {
	char *buf;
	size_t len;      /* bytes available, including the NUL */
	size_t needed;   /* bytes the full text takes, without the NUL */
};

#define TEXTBUF_INIT(b, l) { .buf = (b), .len = (l), .needed = 0 }

/* A buffer whose text starts empty, even if nothing is printed into it. */
static inline struct textbuf textbuf_start(char *buf, size_t len)
{
	if (buf && len)
		buf[0] = '\0';
	return (struct textbuf)TEXTBUF_INIT(buf, len);
}

__attribute__((format(printf, 2, 3)))
static inline void textbuf_printf(struct textbuf *tb, const char *fmt, ...)
{
	va_list ap;
	size_t off = tb->needed < tb->len ? tb->needed : tb->len;
	va_start(ap, fmt);
	int n = vsnprintf(tb->buf ? tb->buf + off : NULL, tb->buf ? tb->len - off : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		tb->needed += (size_t)n;
}

#endif

/*
 * A small printf onto the console: conversions %s %c %d %i %u %x %X %p %%,
 * flags '-' and '0', a field width, a precision for %s (".N" or ".*"),
 * length modifiers l, ll and z. Enough for
 * the images' reports; no floating point (the guest is built without SSE).
 */
#include "runtime.h"

struct spec {
	bool left, zero;
	unsigned width;
	int precision;                  /* %s: at most this many bytes; -1: all */
};

static int pad(unsigned n, char c)
{
	for (unsigned i = 0; i < n; i++)
		console_putc(c);
	return (int)n;
}

static int emit(const struct spec *sp, const char *s, size_t n)
{
	unsigned fill = sp->width > n ? sp->width - (unsigned)n : 0;
	int out = 0;
	if (!sp->left)
		out += pad(fill, ' ');
	console_write(s, n);
	out += (int)n;
	if (sp->left)
		out += pad(fill, ' ');
	return out;
}

static int emit_number(const struct spec *sp, uint64_t v, bool negative, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	size_t n = 0;
	do {
		buf[sizeof(buf) - 1 - n++] = digits[v % base];
		v /= base;
	} while (v);
	size_t len = n + negative;
	int out = 0;
	/* Zero padding goes between the sign and the digits. */
	if (sp->zero && !sp->left) {
		if (negative)
			console_putc('-');
		out += pad(sp->width > len ? sp->width - (unsigned)len : 0, '0');
		console_write(buf + sizeof(buf) - n, n);
		return out + (int)len;
	}
	if (negative)
		buf[sizeof(buf) - 1 - n++] = '-';
	return out + emit(sp, buf + sizeof(buf) - n, n);
}

int vprintf(const char *fmt, va_list ap)
{
	int out = 0;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			console_putc(*p);
			out++;
			continue;
		}
		struct spec sp = { .precision = -1 };
		for (;; p++) {
			if (p[1] == '-')
				sp.left = true;
			else if (p[1] == '0')
				sp.zero = true;
			else
				break;
		}
		while (p[1] >= '0' && p[1] <= '9')
			sp.width = sp.width * 10 + (unsigned)(*++p - '0');
		if (p[1] == '.') {
			p++;
			if (p[1] == '*') {
				p++;
				sp.precision = va_arg(ap, int);
			} else {
				sp.precision = 0;
				while (p[1] >= '0' && p[1] <= '9')
					sp.precision = sp.precision * 10 + (*++p - '0');
			}
		}
		int longs = 0;
		while (p[1] == 'l' || p[1] == 'z') {
			longs++;
			p++;
		}
		switch (*++p) {
		case 'd':
		case 'i': {
			int64_t v = longs ? va_arg(ap, long) : va_arg(ap, int);
			out += emit_number(&sp, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, 10, false);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			out += emit_number(&sp, v, false, *p == 'u' ? 10 : 16, *p == 'X');
			break;
		}
		case 'p':
			console_write("0x", 2);
			out += 2 + emit_number(&sp, (uintptr_t)va_arg(ap, void *), false, 16, false);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			out += emit(&sp, s, sp.precision < 0 ? strlen(s) : strnlen(s, (size_t)sp.precision));
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			out += emit(&sp, &c, 1);
			break;
		}
		case '%':
			console_putc('%');
			out++;
			break;
		case '\0':
			return out;             /* a lone '%' at the end */
		default:
			/* Unknown conversion: print it as written. */
			console_putc('%');
			console_putc(*p);
			out += 2;
			break;
		}
	}
	return out;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

/*
 * What the guest runtime offers an image: main's signature, the console and
 * printf, exit, the command line, guest RAM, the TSC, and sleeping. Every
 * function here runs at CPL3 unless it says otherwise.
 */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Each image defines main; its return value is the exit status. */
int main(const char *cmdline);

/* ---- string.c ---- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);

/* ---- console.c: whole lines through memvisor's console port, else the UART ---- */
bool on_memvisor(void);
void console_putc(char c);
void console_write(const char *s, size_t n);
void console_flush(void);

/* ---- printf.c: %s %c %d %i %u %x %X %p, flags - and 0, width, %.Ns, l/ll/z ---- */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* ---- exit.c ---- */
/*
 * memvisor: the exit port, status as given. QEMU: isa-debug-exit for a
 * non-zero status (process status = status * 2 + 1); status 0 ends in a
 * deliberate triple fault, which exits QEMU with 0 under -no-reboot.
 */
_Noreturn void guest_exit(int status);

/* ---- cmdline.c: "key=value" words separated by spaces ---- */
/* The value of key (not NUL-terminated) and its length; false if absent. */
bool cmdline_find(const char *key, const char **value, size_t *len);
bool cmdline_is(const char *key, const char *value);
/* Decimal or 0x-hex, optional K/M/G (binary) suffix: 1 found and valid,
 * 0 absent, -1 malformed. */
int cmdline_u64(const char *key, uint64_t *out);

/* ---- memory.c ---- */
struct mem_range {
	uint64_t start, end;            /* [start, end), GPA */
};
/*
 * RAM the image may use freely: the memory map's RAM above the image, minus
 * the boot structures and modules, 4 KiB aligned, within the identity map.
 * Returns the number of ranges (in address order) written to out.
 */
unsigned memory_usable(struct mem_range *out, unsigned max);
/* The end of the identity map: every GPA below it is mapped. */
uint64_t memory_mapped_end(void);

/* ---- tsc.c ---- */
/* The TSC frequency in kHz, 0 if nothing tells it (see tsc.c for sources). */
uint64_t tsc_khz(void);

/* ---- halt.c: waiting on memvisor's halt port (no host CPU), else spinning ---- */
/* TSC ticks in us microseconds (an unknown TSC frequency errs long). */
uint64_t tsc_ticks(uint64_t us);
/* Returns once the TSC has reached tsc_deadline. */
void sleep_until(uint64_t tsc_deadline);
void sleep_us(uint64_t us);

#endif

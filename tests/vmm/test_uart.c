/*
 * The 8250 UART and the console behind it, without a VM: bytes written to
 * THR reach the console fd by lines, the registers a driver probes keep
 * their values, loopback stays inside, and the THR-empty interrupt rises
 * and falls by the 16550's rules.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mm/mm.h"
#include "vmm/devices/legacy/uart.h"

struct irq_log {
	int level, changes;
};

static void record_irq(void *arg, int level)
{
	struct irq_log *l = arg;

	l->level = level;
	l->changes++;
}

struct rig {
	struct vm_console console;
	struct uart uart;
	struct irq_log irq;
	struct mm_arena *arena;      /* the console's buffer */
	int fd;
};

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	struct mm_arena_config ac = { .normal_bytes = 16u << 20, .huge = MM_HUGE_OFF };

	r->fd = memfd_create("uart-test", MFD_CLOEXEC);
	cr_assert_geq(r->fd, 0);
	cr_assert_eq(mm_create(&ac, &r->arena), 0);
	cr_assert_eq(console_init(&r->console, r->fd, r->arena), 0);
	uart_init(&r->uart, &r->console, record_irq, &r->irq);
}

static void rig_fini(struct rig *r)
{
	uart_destroy(&r->uart);
	console_destroy(&r->console, 1000);
	close(r->fd);
	mm_destroy(r->arena);
}

static uint8_t rd(struct rig *r, unsigned reg)
{
	uint8_t v = 0;
	uart_access(&r->uart, reg, false, &v);
	return v;
}

static void wr(struct rig *r, unsigned reg, uint8_t v)
{
	uart_access(&r->uart, reg, true, &v);
}

static size_t console_text(struct rig *r, char *buf, size_t len)
{
	/* What the console has queued reaches the file on the writer thread. */
	cr_assert(out_stream_flush(&r->console.out, 1000));
	ssize_t n = pread(r->fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

Test(uart, thr_bytes_reach_the_console_by_lines)
{
	struct rig r;
	char buf[64];

	rig_init(&r);
	for (const char *p = "ab"; *p; p++)
		wr(&r, 0, (uint8_t)*p);
	cr_assert_eq(console_text(&r, buf, sizeof(buf)), 0, "a partial line waits");
	wr(&r, 0, '\n');
	console_text(&r, buf, sizeof(buf));
	cr_assert_str_eq(buf, "ab\n");
	wr(&r, 0, 'c');
	console_write(&r.console, "batch\n", 6);    /* flushes pending UART bytes first */
	console_text(&r, buf, sizeof(buf));
	cr_assert_str_eq(buf, "ab\ncbatch\n");
	rig_fini(&r);
}

Test(uart, registers_a_driver_probes)
{
	struct rig r;
	char buf[16];

	rig_init(&r);
	cr_assert_eq(rd(&r, 5), 0x60, "LSR: THR and transmitter empty");
	cr_assert_eq(rd(&r, 2) & 0x0f, 0x01, "IIR: nothing pending");
	wr(&r, 7, 0x5a);
	cr_assert_eq(rd(&r, 7), 0x5a, "scratch register");
	wr(&r, 3, 0x83);                      /* DLAB on */
	wr(&r, 0, 0x01);
	wr(&r, 1, 0x00);
	cr_assert_eq(rd(&r, 0), 0x01, "divisor latch low");
	wr(&r, 3, 0x03);                      /* DLAB off */
	cr_assert_eq(rd(&r, 3), 0x03);
	cr_assert_eq(rd(&r, 0), 0, "no input ever");
	wr(&r, 2, 0x01);
	cr_assert_eq(rd(&r, 2) & 0xc0, 0xc0, "FIFO enabled shows in IIR");
	wr(&r, 4, 0x10 | 0x02);               /* loopback, RTS */
	cr_assert_eq(rd(&r, 6) & 0x10, 0x10, "loopback: RTS drives CTS");
	wr(&r, 0, 'x');
	wr(&r, 0, '\n');
	cr_assert_eq(console_text(&r, buf, sizeof(buf)), 0, "loopback output stays inside");
	wr(&r, 4, 0);
	cr_assert_eq(rd(&r, 6), 0xb0, "DCD, DSR, CTS");
	rig_fini(&r);
}

Test(uart, thr_empty_interrupt)
{
	struct rig r;

	rig_init(&r);
	wr(&r, 0, 'a');
	cr_assert_eq(r.irq.changes, 0, "no interrupt while IER is 0");
	wr(&r, 1, 0x02);                      /* enable THRI: THR is empty */
	cr_assert_eq(r.irq.level, 1);
	cr_assert_eq(rd(&r, 2) & 0x0f, 0x02, "IIR names THR empty");
	cr_assert_eq(r.irq.level, 0, "reading IIR pays the interrupt");
	cr_assert_eq(rd(&r, 2) & 0x0f, 0x01);
	wr(&r, 0, 'b');                       /* sent at once: owed again */
	cr_assert_eq(r.irq.level, 1);
	wr(&r, 1, 0x00);
	cr_assert_eq(r.irq.level, 0, "masked");
	cr_assert_eq(r.irq.changes, 4);
	wr(&r, 0, '\n');
	rig_fini(&r);
}

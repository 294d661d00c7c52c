/*
 * remap: the invalidation probe. It reads one qword of guest RAM in a tight
 * CPL3 loop while the VMM changes what backs that page, and reports what it
 * saw:
 *   remap: saw 0x<old> -> 0x<new> after N reads
 *
 * Command line:
 *   gpa=0x...       the qword to watch (8-byte aligned, in usable RAM);
 *                   default: the first 2 MiB boundary in usable RAM
 *   mark=0x...      written there first, so the old contents are known and
 *                   differ from both a fresh page and a punched one (zeros);
 *                   default MARK below
 *   expect=0x...    the value the VMM will put there; a different new
 *                   value is reported and the status is 1
 *   timeout_ms=N    give up after N ms (default 5000; status 1)
 *
 * After writing the mark it writes 1 to the probe port: "ready, reading
 * gpa". memvisor's test hook then changes the backing from another thread,
 * and the host test compares the printed new value with what it put there.
 * Without memvisor there is no hook, so the probe refuses to run (status 2).
 */
#include "runtime.h"
#include "ports.h"
#include "abi/memvisor.h"

#define MARK 0x72656d61702d3031ull      /* "remap-01" */
#define PROBE_READY 1

int main(const char *cmdline)
{
	(void)cmdline;
	struct mem_range r[64];
	unsigned n = memory_usable(r, 64);
	uint64_t gpa = 0, mark = MARK, expect = 0, timeout_ms = 5000;
	for (unsigned i = 0; i < n && !gpa; i++) {
		uint64_t a = (r[i].start + 0x1fffff) & ~0x1fffffull;
		if (a < r[i].end)
			gpa = a;
	}
	int have_expect = cmdline_u64("expect", &expect);
	if (cmdline_u64("gpa", &gpa) < 0 || cmdline_u64("mark", &mark) < 0 || have_expect < 0 ||
	    cmdline_u64("timeout_ms", &timeout_ms) < 0) {
		printf("remap: bad command line (gpa=0x... mark=0x... expect=0x... timeout_ms=N)\n");
		return 2;
	}
	bool usable = false;
	for (unsigned i = 0; i < n; i++)
		usable |= gpa >= r[i].start && gpa + 8 <= r[i].end;
	if (!usable || gpa % 8) {
		printf("remap: gpa=0x%lx is not an aligned qword of usable RAM\n", gpa);
		return 2;
	}
	if (!on_memvisor()) {
		printf("remap: needs memvisor's probe port (no memvisor here)\n");
		return 2;
	}
	/* ~4 GHz is an upper bound for any TSC, so an unknown one errs long. */
	uint64_t khz = tsc_khz() ? tsc_khz() : 4000000;
	uint64_t limit = timeout_ms * khz;

	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)gpa;
	*p = mark;
	outl(ABI_PORT_PROBE, PROBE_READY);
	uint64_t reads = 0, v, t0 = rdtsc();
	for (;;) {
		v = *p;
		reads++;
		if (v != mark)
			break;
		if (!(reads & 0xffff) && rdtsc() - t0 > limit) {
			printf("remap: 0x%lx at GPA 0x%lx unchanged after %lu reads (%lu ms)\n",
			       mark, gpa, reads, timeout_ms);
			return 1;
		}
	}
	printf("remap: saw 0x%lx -> 0x%lx after %lu reads\n", mark, v, reads);
	if (have_expect && v != expect) {
		printf("remap: expected 0x%lx\n", expect);
		return 1;
	}
	return 0;
}

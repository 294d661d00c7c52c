/*
 * memtest: writes and verifies patterns over guest RAM and reports one line
 *   memtest: N MiB first-touch X MiB/s verify Y MiB/s ok
 * or, at the first wrong qword, "... FAILED at GPA 0x..." and status 1.
 *
 * size=NNM picks how much (the lowest usable RAM first); the default is all
 * RAM memory_usable() reports, which already leaves out the image, its
 * stacks and page tables, the boot structures and any modules, so no extra
 * margin is needed. Pass 1 writes each qword's own address XOR a constant
 * (timed: for fresh guest RAM this is the first touch, the figure that shows
 * how the host backs guest memory), pass 2 verifies it (timed), passes 3
 * and 4 write and verify the complement, so every bit is seen both ways.
 * rounds=N repeats passes 3 and 4 N times (default 1): a guest that keeps
 * its memory busy for longer, for tests that need it running meanwhile.
 * Rates need the TSC frequency (tsc.c); without one they print as "?".
 */
#include "runtime.h"
#include "ports.h"

#define MAX_RANGES 64
#define PATTERN    0x6d656d7465737421ull   /* "memtest!": never the all-zero fresh page */

struct failure {
	uint64_t gpa, read, expected;
};

static void fill(const struct mem_range *r, unsigned n, uint64_t flip)
{
	for (unsigned i = 0; i < n; i++) {
		volatile uint64_t *end = (volatile uint64_t *)(uintptr_t)r[i].end;
		for (volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)r[i].start; p < end; p++)
			*p = ((uintptr_t)p ^ PATTERN) ^ flip;
	}
}

static bool verify(const struct mem_range *r, unsigned n, uint64_t flip, struct failure *f)
{
	for (unsigned i = 0; i < n; i++) {
		volatile uint64_t *end = (volatile uint64_t *)(uintptr_t)r[i].end;
		for (volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)r[i].start; p < end; p++) {
			uint64_t want = ((uintptr_t)p ^ PATTERN) ^ flip, got = *p;
			if (got != want) {
				*f = (struct failure){ (uintptr_t)p, got, want };
				return false;
			}
		}
	}
	return true;
}

/* MiB/s as text, "?" when the TSC frequency is unknown. */
static const char *rate(char buf[24], uint64_t bytes, uint64_t cycles)
{
	uint64_t khz = tsc_khz();
	if (!khz)
		return "?";
	/* KiB * kHz * 1000 stays below 2^64 for any RAM the map can reach. */
	uint64_t v = (bytes >> 10) * khz * 1000 / (cycles ? cycles : 1) / 1024;
	char *p = buf + 23;
	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

int main(const char *cmdline)
{
	(void)cmdline;
	struct mem_range r[MAX_RANGES];
	unsigned n = memory_usable(r, MAX_RANGES);
	uint64_t avail = 0;
	for (unsigned i = 0; i < n; i++)
		avail += r[i].end - r[i].start;

	uint64_t size = avail;
	int got = cmdline_u64("size", &size);
	if (got < 0 || (got && size < (1ull << 20))) {
		printf("memtest: bad size= (want a size of at least 1M, such as size=64M)\n");
		return 2;
	}
	size &= ~((1ull << 20) - 1);
	if (!size || size > avail) {
		printf("memtest: %llu MiB requested, %llu MiB of RAM usable\n",
		       (unsigned long long)(size >> 20), (unsigned long long)(avail >> 20));
		return 2;
	}
	/* Keep the lowest ranges that add up to size. */
	uint64_t left = size;
	unsigned used = 0;
	while (left) {
		uint64_t len = r[used].end - r[used].start;
		if (len > left)
			r[used].end = r[used].start + left;
		left -= r[used].end - r[used].start;
		used++;
	}

	uint64_t rounds = 1;
	got = cmdline_u64("rounds", &rounds);
	if (got < 0 || !rounds || rounds > 1000) {
		printf("memtest: bad rounds= (want 1 to 1000)\n");
		return 2;
	}

	uint64_t t0 = rdtsc();
	fill(r, used, 0);
	uint64_t t1 = rdtsc();
	struct failure f;
	bool ok = verify(r, used, 0, &f);
	uint64_t t2 = rdtsc();
	for (uint64_t k = 0; ok && k < rounds; k++) {
		fill(r, used, ~0ull);
		ok = verify(r, used, ~0ull, &f);
	}

	char b1[24], b2[24];
	if (!ok) {
		printf("memtest: %llu MiB first-touch %s MiB/s FAILED at GPA 0x%lx (read 0x%lx, expected 0x%lx)\n",
		       (unsigned long long)(size >> 20), rate(b1, size, t1 - t0), f.gpa, f.read, f.expected);
		return 1;
	}
	printf("memtest: %llu MiB first-touch %s MiB/s verify %s MiB/s ok\n",
	       (unsigned long long)(size >> 20), rate(b1, size, t1 - t0), rate(b2, size, t2 - t1));
	return 0;
}

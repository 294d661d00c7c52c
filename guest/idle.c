/*
 * idle: a guest that never ends on its own, for the monitor and its users.
 * It prints one line saying how it waits, then
 *   idle: heartbeat N
 * once a second until the VMM stops it (QMP quit, a signal to the VMM).
 * Between beats it sleeps on memvisor's halt port, so the VM costs no host
 * CPU; under QEMU, where that port does nothing, it spins on the TSC and
 * still beats once a second.
 *
 * Beats are scheduled from the start (beat N at N seconds), not from the
 * previous one, so the time a line takes to print does not add up.
 */
#include "runtime.h"
#include "ports.h"

#define BEAT_US 1000000ull

int main(const char *cmdline)
{
	(void)cmdline;
	printf("idle: %s, one heartbeat a second until the VMM stops the guest\n",
	       on_memvisor() ? "sleeping on the halt port" : "spinning on the TSC (no halt port)");
	uint64_t start = rdtsc(), period = tsc_ticks(BEAT_US);
	for (uint64_t n = 1;; n++) {
		sleep_until(start + n * period);
		printf("idle: heartbeat %lu\n", n);
	}
}

/*
 * Sleeping without costing the host a CPU. hlt is privileged and CPL3
 * cannot use it here, so on memvisor the guest writes the time it may sleep
 * to the paravirtual halt port (abi.h) and the VMM parks the vCPU thread.
 * The VMM may wake it early (a pause, a device event), so every wait loops
 * on the TSC until the deadline has really passed. Off memvisor the port
 * write would be dropped, and the loop simply spins on the TSC.
 */
#include "internal.h"
#include "ports.h"

/*
 * A halt costs one exit from CPL3 (~55 µs on this platform's kind of host)
 * and the VMM's timer slack; for less time than this spinning is cheaper
 * and more precise.
 */
#define HALT_MIN_US 200

/* Used when nothing tells the TSC frequency: no TSC is faster than this,
 * so waits err long rather than short. */
#define TSC_KHZ_UPPER_BOUND 4000000ull

static uint64_t khz(void)
{
	uint64_t k = tsc_khz();
	return k ? k : TSC_KHZ_UPPER_BOUND;
}

uint64_t tsc_ticks(uint64_t us)
{
	return us * khz() / 1000;
}

void sleep_until(uint64_t tsc_deadline)
{
	for (;;) {
		uint64_t now = rdtsc();
		if ((int64_t)(tsc_deadline - now) <= 0)
			return;
		uint64_t left_us = (tsc_deadline - now) * 1000 / khz();
		if (left_us >= HALT_MIN_US && on_memvisor()) {
			/* The port takes 32 bits; a longer wait is several halts. */
			outl(ABI_PORT_HALT, left_us > UINT32_MAX ? UINT32_MAX : (uint32_t)left_us);
		} else {
			__asm__ volatile("pause");
		}
	}
}

void sleep_us(uint64_t us)
{
	sleep_until(rdtsc() + tsc_ticks(us));
}

/*
 * The TSC frequency, for turning rdtsc differences into time. Sources, most
 * trusted first:
 *   1. tsc_khz=N on the command line (memvisor passes the host's value);
 *   2. kvmclock, which boot.S enabled when the hypervisor offered it (QEMU
 *      does; its CPUID has no frequency leaf on this host);
 *   3. CPUID 0x40000010 (hypervisor timing leaf), 0x15 (crystal ratio),
 *      0x16 (base MHz), where the CPU model has them.
 * Each CPUID at CPL3 is a trap (~25 µs), so the answer is kept.
 */
#include "internal.h"
#include "ports.h"

/* struct pvclock_vcpu_time_info, as KVM writes it. */
struct pvclock {
	uint32_t version;               /* odd while being updated */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;     /* ns per tick as a 32.32 fraction, ... */
	int8_t tsc_shift;               /* ... after shifting ticks by this */
	uint8_t flags;
	uint8_t pad[2];
};

static uint64_t from_kvmclock(void)
{
	const volatile struct pvclock *pv = (const volatile struct pvclock *)boot_kvmclock;
	/* KVM fills the area on a vCPU entry after the wrmsr; wait a little. */
	for (uint64_t t0 = rdtsc(); rdtsc() - t0 < (1ull << 24);) {
		uint32_t v = pv->version;
		__asm__ volatile("" ::: "memory");
		uint32_t mul = pv->tsc_to_system_mul;
		int shift = pv->tsc_shift;
		__asm__ volatile("" ::: "memory");
		if (v == 0)
			break;                  /* not enabled (or not yet written) */
		if ((v & 1) || v != pv->version || !mul)
			continue;
		/* ticks -> ns is (ticks << shift) * mul >> 32, so kHz is the inverse. */
		uint64_t khz = (1000000ull << 32) / mul;
		return shift < 0 ? khz << -shift : khz >> shift;
	}
	return 0;
}

static uint64_t from_cpuid(void)
{
	uint32_t r[4];
	cpuid(0x40000000, r);
	if (r[0] >= 0x40000010) {
		cpuid(0x40000010, r);
		if (r[0])
			return r[0];
	}
	cpuid(0, r);
	uint32_t max = r[0];
	if (max >= 0x15) {
		cpuid(0x15, r);                 /* TSC = crystal * ebx / eax */
		if (r[0] && r[1] && r[2])
			return (uint64_t)r[2] * r[1] / r[0] / 1000;
	}
	if (max >= 0x16) {
		cpuid(0x16, r);
		if (r[0])
			return (uint64_t)r[0] * 1000;
	}
	return 0;
}

uint64_t tsc_khz(void)
{
	static uint64_t khz;
	static bool known;
	if (known)
		return khz;
	uint64_t v;
	if (cmdline_u64("tsc_khz", &v) == 1 && v)
		khz = v;
	else if (!(khz = from_kvmclock()))
		khz = from_cpuid();
	known = true;
	return khz;
}

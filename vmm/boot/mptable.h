/*
 * The Intel MultiProcessor table (MP spec 1.4) a guest without ACPI reads
 * to find its CPUs, the IOAPIC and how the ISA interrupts reach it: Linux
 * without it finds no IOAPIC, and device interrupts never arrive. Written
 * at ABI_MPTABLE_GPA for every guest, as Firecracker and kvmtool do.
 */
#ifndef VMM_BOOT_MPTABLE_H
#define VMM_BOOT_MPTABLE_H

#include <stdint.h>
#include "vmm/boot/loader.h"

/* The local APIC and the IOAPIC where KVM's in-kernel irqchip has them. */
#define MPTABLE_LAPIC_ADDR   0xfee00000u
#define MPTABLE_IOAPIC_ADDR  0xfec00000u
/* ISA interrupts 0..15 reach IOAPIC pins 0..15 (KVM's default routing). */
#define MPTABLE_ISA_IRQS     16u
/* What fits between ABI_MPTABLE_GPA and the floating pointer. */
#define MPTABLE_MAX_CPUS     143u

/* Writes the floating pointer and the config table for nr_cpus CPUs (APIC
 * IDs 0..nr_cpus-1, the first the boot CPU; the IOAPIC's ID is nr_cpus).
 * 0, or -errno with ctx->why. */
int boot_write_mptable(struct boot_ctx *ctx, unsigned nr_cpus);

#endif

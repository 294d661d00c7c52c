/*
 * The MP table (mptable.h), as the MP spec 1.4 lays it out: a 16-byte
 * floating pointer ("_MP_") naming a config table ("PCMP") of entries, each
 * structure summing to zero. The entries: one processor per vCPU, the ISA
 * bus, the IOAPIC, ISA IRQs 0..15 on IOAPIC pins 0..15, and the local
 * interrupts every PC has (ExtINT from the PIC on LINT0, NMI on LINT1).
 * Polarity and trigger say "conforms to the bus": edge, active high on ISA.
 */
#include <errno.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/mptable.h"

struct mp_floating {
	char signature[4];           /* "_MP_" */
	uint32_t config_gpa;
	uint8_t length;              /* in 16-byte units */
	uint8_t spec_rev;            /* 4: version 1.4 */
	uint8_t checksum;
	uint8_t feature[5];          /* all 0: a config table is present */
} __attribute__((packed));

struct mp_config {
	char signature[4];           /* "PCMP" */
	uint16_t length;             /* header and entries */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8], product[12];
	uint32_t oem_table;
	uint16_t oem_table_size, entry_count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_IO_INTERRUPT, MP_LOCAL_INTERRUPT };

struct mp_processor {
	uint8_t type, apic_id, apic_version, flags;   /* flags: 1 enabled, 2 boot CPU */
	uint32_t signature, features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type, bus_id;
	char name[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type, id, version, flags;
	uint32_t addr;
} __attribute__((packed));

struct mp_interrupt {
	uint8_t type, kind;          /* kind: 0 INT, 1 NMI, 2 SMI, 3 ExtINT */
	uint16_t flags;              /* 0: polarity and trigger conform to the bus */
	uint8_t src_bus, src_irq, dst_id, dst_pin;   /* dst_id 0xff: every local APIC */
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");
_Static_assert(sizeof(struct mp_config) == 44, "MP config table header");
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry");
_Static_assert(sizeof(struct mp_bus) == 8 && sizeof(struct mp_ioapic) == 8 &&
	       sizeof(struct mp_interrupt) == 8, "MP 8-byte entries");

#define MP_APIC_VERSION    0x14   /* an integrated local APIC, as KVM's */
#define MP_IOAPIC_VERSION  0x11   /* KVM's IOAPIC */
/* Family 6, the FPU and the APIC: what the spec's processor entry wants. */
#define MP_CPU_SIGNATURE   0x600u
#define MP_CPU_FEATURES    ((1u << 0) | (1u << 9))
#define MP_ISA_BUS         0

static uint8_t mp_checksum(const void *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += ((const uint8_t *)p)[i];
	return (uint8_t)-sum;
}

static size_t mp_config_len(unsigned nr_cpus)
{
	return sizeof(struct mp_config) + nr_cpus * sizeof(struct mp_processor) +
	       sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
	       (MPTABLE_ISA_IRQS + 2) * sizeof(struct mp_interrupt);
}

int boot_write_mptable(struct boot_ctx *ctx, unsigned nr_cpus)
{
	if (nr_cpus == 0 || nr_cpus > MPTABLE_MAX_CPUS)
		return boot_fail(ctx, -E2BIG, "the MP table holds 1 to %u vCPUs, not %u", MPTABLE_MAX_CPUS,
				 nr_cpus);
	size_t len = mp_config_len(nr_cpus);
	uint8_t *base = boot_hva(ctx, ABI_MPTABLE_GPA, len, "the MP table");
	struct mp_floating *fp = base ? boot_hva(ctx, ABI_MP_FLOATING_GPA, sizeof(*fp),
						 "the MP table's floating pointer") : NULL;
	if (!fp)
		return -ENOEXEC;

	struct mp_config *h = (struct mp_config *)base;
	uint8_t *at = base + sizeof(*h);
	uint16_t count = 0;
	for (unsigned i = 0; i < nr_cpus; i++, count++) {
		struct mp_processor e = {
			.type = MP_PROCESSOR, .apic_id = (uint8_t)i, .apic_version = MP_APIC_VERSION,
			.flags = 1 | (i == 0 ? 2 : 0), .signature = MP_CPU_SIGNATURE,
			.features = MP_CPU_FEATURES,
		};
		memcpy(at, &e, sizeof(e));
		at += sizeof(e);
	}
	struct mp_bus bus = { .type = MP_BUS, .bus_id = MP_ISA_BUS, .name = "ISA   " };
	memcpy(at, &bus, sizeof(bus));
	at += sizeof(bus), count++;
	uint8_t ioapic_id = (uint8_t)nr_cpus;
	struct mp_ioapic io = { .type = MP_IOAPIC, .id = ioapic_id, .version = MP_IOAPIC_VERSION,
				.flags = 1, .addr = MPTABLE_IOAPIC_ADDR };
	memcpy(at, &io, sizeof(io));
	at += sizeof(io), count++;
	for (unsigned irq = 0; irq < MPTABLE_ISA_IRQS; irq++, count++) {
		struct mp_interrupt e = { .type = MP_IO_INTERRUPT, .kind = 0, .src_bus = MP_ISA_BUS,
					  .src_irq = (uint8_t)irq, .dst_id = ioapic_id,
					  .dst_pin = (uint8_t)irq };
		memcpy(at, &e, sizeof(e));
		at += sizeof(e);
	}
	struct mp_interrupt lint[2] = {
		{ .type = MP_LOCAL_INTERRUPT, .kind = 3, .src_bus = MP_ISA_BUS, .dst_id = 0xff, .dst_pin = 0 },
		{ .type = MP_LOCAL_INTERRUPT, .kind = 1, .src_bus = MP_ISA_BUS, .dst_id = 0xff, .dst_pin = 1 },
	};
	memcpy(at, lint, sizeof(lint));
	count += 2;

	*h = (struct mp_config){
		.signature = "PCMP", .length = (uint16_t)len, .spec_rev = 4, .oem = "MEMVISOR",
		.product = "memvisor-vm ", .entry_count = count,
		.lapic_addr = MPTABLE_LAPIC_ADDR,
	};
	h->checksum = mp_checksum(base, len);
	*fp = (struct mp_floating){ .signature = "_MP_", .config_gpa = ABI_MPTABLE_GPA, .length = 1,
				    .spec_rev = 4 };
	fp->checksum = mp_checksum(fp, sizeof(*fp));
	return 0;
}

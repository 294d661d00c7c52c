/*
 * What memvisor gives a Linux guest, without KVM: the MP table as Linux's
 * mpparse reads it (floating pointer found in the last KiB of base memory,
 * both checksums, one processor per vCPU, the ISA bus, the IOAPIC, the ISA
 * interrupts and the local interrupts), the CPUID each kind of host offers,
 * the default command line, and telling a Linux kernel from other images.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/arch/x86/cpuid.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/linux_cmdline.h"
#include "vmm/boot/mptable.h"
#include "vmm/core/emulation.h"
#include "synth.h"
#include "tests/support/linux_guest.h"

#define RAM (64ULL << 20)

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

struct mp_seen {
	unsigned cpus, boot_cpus, buses, ioapics, ints, extint_lint0, nmi_lint1;
	uint8_t ioapic_id, max_apic_id;
	uint32_t ioapic_addr, lapic_addr;
	bool irq_on_pin[MPTABLE_ISA_IRQS];
};

/* Reads the table as Linux's arch/x86/kernel/mpparse.c does. */
static void mp_parse(const uint8_t *ram, struct mp_seen *seen)
{
	const uint8_t *fp = NULL;
	for (uint64_t a = 639 * 1024; a < 640 * 1024; a += 16)
		if (!memcmp(ram + a, "_MP_", 4) && ram[a + 8] == 1 && sum(ram + a, 16) == 0)
			fp = ram + a;
	cr_assert_not_null(fp, "no floating pointer with a good checksum in the last KiB of base memory");
	cr_assert_eq(fp[9], 4, "spec revision 1.4");
	cr_assert_eq(fp[11], 0, "feature byte 1: 0, a config table follows");
	uint32_t cfg;
	memcpy(&cfg, fp + 4, 4);
	const uint8_t *h = ram + cfg;
	cr_assert_eq(memcmp(h, "PCMP", 4), 0);
	uint16_t len, count;
	memcpy(&len, h + 4, 2);
	memcpy(&count, h + 34, 2);
	memcpy(&seen->lapic_addr, h + 36, 4);
	cr_assert_eq(sum(h, len), 0, "config table checksum");
	cr_assert_eq(h[6], 4);
	memset(seen, 0, offsetof(struct mp_seen, lapic_addr));
	const uint8_t *e = h + 44, *end = h + len;
	for (unsigned i = 0; i < count; i++) {
		cr_assert_lt(e, end, "entry %u past the table's length", i);
		switch (e[0]) {
		case 0:
			seen->cpus += (e[3] & 1) != 0;
			seen->boot_cpus += (e[3] & 2) != 0;
			if (e[1] > seen->max_apic_id)
				seen->max_apic_id = e[1];
			cr_assert_eq(e[3] & 2 ? e[1] : 0, 0, "the boot CPU has APIC ID 0");
			e += 20;
			break;
		case 1:
			cr_assert_eq(memcmp(e + 2, "ISA   ", 6), 0);
			seen->buses++;
			e += 8;
			break;
		case 2:
			seen->ioapics++;
			seen->ioapic_id = e[1];
			cr_assert(e[3] & 1, "IOAPIC enabled");
			memcpy(&seen->ioapic_addr, e + 4, 4);
			e += 8;
			break;
		case 3:
			cr_assert_eq(e[1], 0, "ISA interrupts are vectored (INT)");
			cr_assert_eq(e[6], seen->ioapic_id);
			cr_assert_lt(e[5], MPTABLE_ISA_IRQS);
			cr_assert_eq(e[5], e[7], "ISA IRQ n on pin n");
			seen->irq_on_pin[e[7]] = true;
			seen->ints++;
			e += 8;
			break;
		case 4:
			seen->extint_lint0 += e[1] == 3 && e[7] == 0;
			seen->nmi_lint1 += e[1] == 1 && e[7] == 1;
			e += 8;
			break;
		default:
			cr_assert_fail("unknown entry type %u", e[0]);
		}
	}
	cr_assert_eq(e, end, "the length covers exactly the entries");
}

static void check_table(unsigned cpus)
{
	struct synth_ram ram;
	struct boot_ctx ctx = { 0 };

	synth_ram_init(&ram, RAM);
	ctx.mem = &ram.mem;
	cr_assert_eq(boot_write_mptable(&ctx, cpus), 0, "%s", ctx.why);
	struct mp_seen seen;
	mp_parse(ram.buf, &seen);
	cr_assert_eq(seen.cpus, cpus);
	cr_assert_eq(seen.boot_cpus, 1);
	cr_assert_eq(seen.max_apic_id, cpus - 1);
	cr_assert_eq(seen.buses, 1);
	cr_assert_eq(seen.ioapics, 1);
	cr_assert_eq(seen.ioapic_id, cpus, "the IOAPIC's ID is apart from the CPUs'");
	cr_assert_eq(seen.ioapic_addr, MPTABLE_IOAPIC_ADDR);
	cr_assert_eq(seen.lapic_addr, MPTABLE_LAPIC_ADDR);
	cr_assert_eq(seen.ints, MPTABLE_ISA_IRQS);
	for (unsigned i = 0; i < MPTABLE_ISA_IRQS; i++)
		cr_assert(seen.irq_on_pin[i], "ISA IRQ %u has no pin", i);
	cr_assert_eq(seen.extint_lint0, 1);
	cr_assert_eq(seen.nmi_lint1, 1);
	synth_ram_free(&ram);
}

Test(mptable, one_vcpu_as_linux_reads_it)
{
	check_table(1);
}

Test(mptable, two_and_the_most_vcpus)
{
	check_table(2);
	check_table(MPTABLE_MAX_CPUS);
}

Test(mptable, too_many_vcpus_or_no_ram_there_is_an_error)
{
	struct synth_ram ram;
	struct boot_ctx ctx = { 0 };

	synth_ram_init(&ram, RAM);
	ctx.mem = &ram.mem;
	cr_assert_neq(boot_write_mptable(&ctx, MPTABLE_MAX_CPUS + 1), 0);
	cr_assert_not_null(strstr(ctx.why, "MP table holds"), "%s", ctx.why);
	synth_ram_free(&ram);

	/* RAM that stops below the table: a clear error, nothing written. */
	synth_ram_init_split(&ram, RAM, 0x90000, 0x100000);
	ctx = (struct boot_ctx){ .mem = &ram.mem };
	cr_assert_neq(boot_write_mptable(&ctx, 1), 0);
	cr_assert_not_null(strstr(ctx.why, "MP table"), "%s", ctx.why);
	synth_ram_free(&ram);
}

Test(mptable, the_memory_map_reserves_it)
{
	struct synth_ram ram;
	struct boot_memmap_entry map[8];

	synth_ram_init(&ram, RAM);
	unsigned n = boot_memmap(&ram.mem, map, 8);
	cr_assert_eq(n, 3);
	cr_assert(map[0].addr == 0 && map[0].addr + map[0].size == ABI_MPTABLE_GPA && map[0].type == 1);
	cr_assert(map[1].addr == ABI_MPTABLE_GPA && map[1].addr + map[1].size == 0x100000 &&
		  map[1].type == 2);
	struct boot_ctx ctx = { .mem = &ram.mem };
	cr_assert_neq(boot_check_free(&ctx, 0x9fc00, 16, BOOT_AREAS_ALL, "a segment"), 0,
		      "a segment over the MP table was let through");
	synth_ram_free(&ram);
}

/* ---- CPUID ---- */

static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 4 * sizeof(c->entries[0]));
	c->nent = 4;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ecx = 0xfffa3203u | (1u << 26) |
						   (1u << 28) | (1u << 23), .edx = 0x1f8bfbffu };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 7, .index = 0, .ebx = 0xf1bf2bfbu,
						   .edx = 1u << 4 };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 0, .eax = 0xe7,
						   .ebx = 0x340 };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0x80000001, .ecx = 0x121,
						   .edx = 0x2c100800 };
	return c;
}

Test(cpuid, pvm_hides_what_its_emulator_cannot_run)
{
	struct kvm_cpuid2 *c = table();

	x86_cpuid_host_policy(c, X86_KVM_PVM);
	uint32_t ecx1 = c->entries[0].ecx, ebx7 = c->entries[1].ebx;
	cr_assert_eq(ecx1 & (1u << 26), 0, "XSAVE");
	cr_assert_eq(ecx1 & (1u << 28), 0, "AVX needs XSAVE");
	cr_assert_eq(ecx1 & (1u << 23), 0, "POPCNT");
	cr_assert_eq(ebx7 & (1u << 5), 0, "AVX2");
	cr_assert_eq(ebx7 & (1u << 9), 0, "ERMS");
	cr_assert_eq(ebx7 & (1u << 16), 0, "AVX-512F");
	cr_assert_eq(ebx7 & (1u << 20), 0, "SMAP");
	cr_assert_eq(c->entries[1].edx & (1u << 4), 0, "FSRM");
	cr_assert_eq(c->entries[2].eax | c->entries[2].ebx, 0, "leaf 0xd describes no XSAVE state");
	/* What the emulator runs stays. */
	cr_assert(ecx1 & (1u << 0), "SSE3");
	cr_assert(ecx1 & (1u << 31), "the hypervisor bit");
	cr_assert(ebx7 & (1u << 0), "FSGSBASE");
	cr_assert_eq(c->entries[0].edx, 0x1f8bfbffu);
	cr_assert_eq(c->entries[3].edx, 0x2c100800u);
	free(c);
}

Test(cpuid, hardware_kvm_keeps_the_table)
{
	struct kvm_cpuid2 *c = table(), *orig = table();

	x86_cpuid_host_policy(c, X86_KVM_HARDWARE);
	cr_assert_eq(memcmp(c, orig, sizeof(*c) + 4 * sizeof(c->entries[0])), 0);
	x86_cpuid_for_vcpu(c, 3);
	cr_assert_eq(c->entries[0].ebx >> 24, 3, "the vCPU's APIC ID");
	free(c);
	free(orig);
}

/* ---- the command line ---- */

Test(linux_cmdline, defaults_per_host)
{
	char buf[512];
	struct linux_cmdline_host hw = { .tsc_khz = 2300000 };
	size_t n = linux_default_cmdline(&hw, buf, sizeof(buf));

	cr_assert_eq(n, strlen(buf));
	cr_assert_not_null(strstr(buf, "console=ttyS0"));
	cr_assert_not_null(strstr(buf, " lpj=23000000"), "%s", buf);
	cr_assert_not_null(strstr(buf, "panic=-1"));
	cr_assert_null(strstr(buf, "syscall_pf_fixup"), "hardware KVM needs no fixup: %s", buf);
	cr_assert_null(strstr(buf, "noxsave"), "hardware KVM runs XSAVE: %s", buf);
	cr_assert_neq(buf[0], ' ');
	cr_assert_neq(buf[n - 1], ' ');

	struct linux_cmdline_host pvm = { .tsc_khz = 0, .pvm = true };
	linux_default_cmdline(&pvm, buf, sizeof(buf));
	cr_assert_not_null(strstr(buf, "syscall_pf_fixup"));
	cr_assert_not_null(strstr(buf, " noxsave clearcpuid=smap,popcnt,erms,fsrm"), "%s", buf);
	cr_assert_null(strstr(buf, "lpj="), "no TSC rate, no lpj: %s", buf);

	/* Too small a buffer: truncated, terminated, and the length it needs. */
	char small[8];
	size_t need = linux_default_cmdline(&pvm, small, sizeof(small));
	cr_assert_eq(need, strlen(buf));
	cr_assert_eq(strlen(small), sizeof(small) - 1);
}

/* ---- which images are Linux ---- */

static bool is_linux_file(const char *path)
{
	struct image img;
	cr_assert_eq(image_open(&img, path), 0, "%s", path);
	bool linux_kernel = loader_is_linux(&img);
	image_close(&img);
	return linux_kernel;
}

Test(linux_image, a_vmlinux_and_a_bzimage_are_linux_our_guests_are_not)
{
	size_t len;
	struct synth_elf s = synth_elf_default();
	uint8_t *b = synth_elf_build(&s, &len);
	struct image img;
	image_open_mem(&img, "guest.elf", b, len);
	cr_assert_not(loader_is_linux(&img), "a PVH ELF without a Linux note");
	free(b);

	/* The real kernels (make linux-guest; make test builds them). */
	cr_assert(is_linux_file(linux_guest_image("vmlinux")));
	cr_assert(is_linux_file(linux_guest_image("bzImage")));
	const char *path = linux_guest_image("init");
	cr_assert_not(is_linux_file(path), "a static user program is no kernel");
}

/* ---- an int3 KVM's emulator gave up on ---- */

Test(emulation, the_reported_instruction_byte_is_read_only_when_kvm_says_it_is_there)
{
	struct kvm_run *run = calloc(1, sizeof(*run));
	uint8_t byte = 0;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.ndata = 4;
	run->emulation_failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run->emulation_failure.insn_size = 1;
	run->emulation_failure.insn_bytes[0] = 0xcc;
	cr_assert(emulation_reported_byte(run, &byte));
	cr_assert_eq(byte, 0xcc);

	run->emulation_failure.flags = 0;
	cr_assert_not(emulation_reported_byte(run, &byte), "no bytes flag");
	run->emulation_failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run->emulation_failure.ndata = 1;
	cr_assert_not(emulation_reported_byte(run, &byte), "ndata too short for the bytes");
	run->emulation_failure.ndata = 4;
	run->emulation_failure.insn_size = 200;
	cr_assert_not(emulation_reported_byte(run, &byte), "a size past the array");
	run->emulation_failure.insn_size = 1;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_SIMUL_EX;
	cr_assert_not(emulation_reported_byte(run, &byte), "another suberror");
	free(run);
}

/* ---- the real kernels through the loaders ---- */

/* Loads the built test guest into plain RAM as memvisor would for 2 vCPUs:
 * the entry, the command line and the MP table Linux will read. */
static void load_real(const char *name, const char *format, enum boot_mode mode)
{
	struct synth_ram ram;
	struct image img;
	struct boot_entry e;

	synth_ram_init(&ram, 256ULL << 20);
	cr_assert_eq(image_open(&img, linux_guest_image(name)), 0);
	struct boot_ctx ctx = { .mem = &ram.mem, .nr_cpus = 2, .cmdline = "console=ttyS0 mvtest.x=1" };
	cr_assert_eq(loader_load(&img, &ctx, &e), 0, "%s: %s", name, ctx.why);
	image_close(&img);
	cr_assert_str_eq(e.format, format);
	cr_assert_eq(e.mode, mode);
	cr_assert_geq(e.kernel_start, 0x100000, "the kernel above 1 MiB");
	cr_assert_gt(e.kernel_end, e.kernel_start);
	cr_assert_str_eq((char *)ram.buf + ABI_CMDLINE_GPA, "console=ttyS0 mvtest.x=1");
	struct mp_seen seen;
	mp_parse(ram.buf, &seen);
	cr_assert_eq(seen.cpus, 2);
	synth_ram_free(&ram);
}

Test(linux_image, the_built_vmlinux_loads_through_pvh)
{
	load_real("vmlinux", "PVH ELF", BOOT_PROT32);
}

Test(linux_image, the_built_bzimage_loads_through_the_boot_protocol)
{
	load_real("bzImage", "bzImage", BOOT_LONG64);
}

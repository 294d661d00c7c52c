/*
 * The device table and the device interface (vmm/devices/device.h) without
 * KVM: which devices a configuration gets, the command line they add, how
 * port and MMIO accesses find their device, what a device asks of the VM
 * through its host (ending the run, halting, fault reports, the probe),
 * and a creation that fails half way.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "abi/memvisor.h"
#include "abi/virtio.h"
#include "mm/kmalloc.h"
#include "mm/mm.h"
#include "vmm/core/vm_internal.h"
#include "vmm/devices/legacy/cmos.h"
#include "vmm/devices/virtio/balloon/balloon.h"
#include "vmm/memory/guest_mem.h"

#define MIB (1ULL << 20)
#define RAM (16 * MIB)
#define BALLOON_LINE "virtio_mmio.device=512@0xfeb00e00:12"

static struct mm_arena *arena;
static struct guest_mem *gm;
static struct vm_console console;
static struct out_stream log_out;
static struct unhandled_log unhandled;
static int null_fd;
static struct vm_config cfg;
static struct device_host host;
static struct device_set *set;

/* What the devices asked of the host. */
static struct {
	int stops, last_status;
	int halts;
	uint32_t halt_usec, fault_vector, probe_value;
	int faults, probes;
	void *cpu;
} asked;

static void host_stop(void *ctx, int status)
{
	(void)ctx;
	asked.stops++;
	asked.last_status = status;
}

static void host_halt(void *cpu, uint32_t usec)
{
	asked.halts++;
	asked.halt_usec = usec;
	asked.cpu = cpu;
}

static void host_fault(void *cpu, uint32_t vector)
{
	asked.faults++;
	asked.fault_vector = vector;
	asked.cpu = cpu;
}

static void host_probe(void *ctx, void *cpu, uint32_t value)
{
	(void)ctx;
	asked.probes++;
	asked.probe_value = value;
	asked.cpu = cpu;
}

static void setup(void)
{
	struct mm_arena_config ac = { .normal_bytes = 64 * MIB, .huge = MM_HUGE_OFF };
	char why[256];

	cr_assert_eq(mm_create(&ac, &arena), 0);
	cr_assert_eq(guest_mem_create(arena, RAM, MM_HUGE_OFF, &gm, why, sizeof(why)), 0, "%s", why);
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	cr_assert_geq(null_fd, 0);
	cr_assert_eq(console_init(&console, null_fd, arena), 0);
	cr_assert_eq(out_stream_init(&log_out, null_fd, 4096, arena), 0);
	cr_assert_eq(unhandled_init(&unhandled, arena, &log_out), 0);
	vm_config_init(&cfg);
	cfg.mem_bytes = RAM;
	host = (struct device_host){ .arena = arena, .gm = gm, .vm_fd = -1, .console = &console,
				     .unhandled = &unhandled, .log = &log_out, .stop = host_stop,
				     .halt = host_halt, .fault = host_fault, .probe = host_probe };
	memset(&asked, 0, sizeof(asked));
	set = NULL;
}

static void teardown(void)
{
	device_set_quiesce(set);
	device_set_destroy(set);
	unhandled_destroy(&unhandled);
	out_stream_destroy(&log_out, 1000);
	console_destroy(&console, 1000);
	close(null_fd);
	guest_mem_destroy(gm);
	mm_destroy(arena);
}

TestSuite(devices, .init = setup, .fini = teardown);

static void create(void)
{
	char err[256] = "";

	cr_assert_eq(device_set_create(vm_device_types, &host, &cfg, &set, err, sizeof(err)), 0,
		     "%s", err);
}

static char *cmdline(void)
{
	char *s = device_cmdline(vm_device_types, &cfg, arena);

	cr_assert_not_null(s);
	return s;
}

Test(devices, the_command_line_names_the_balloon_as_qemu_microvm_does)
{
	char *s = cmdline();
	cr_assert_str_eq(s, BALLOON_LINE);
	kfree(arena, s);

	cfg.cmdline = "console=ttyS0 quiet";
	s = cmdline();
	cr_assert_str_eq(s, "console=ttyS0 quiet " BALLOON_LINE);
	kfree(arena, s);

	cfg.balloon = VM_BALLOON_NONE;
	s = cmdline();
	cr_assert_str_eq(s, "console=ttyS0 quiet");
	kfree(arena, s);
	cfg.cmdline = NULL;
	s = cmdline();
	cr_assert_str_eq(s, "");
	kfree(arena, s);
}

Test(devices, the_balloon_only_when_the_configuration_wants_it)
{
	create();
	struct device *d = device_set_get(set, VIRTIO_BALLOON_DEVICE_NAME);
	cr_assert_not_null(virtio_balloon_of(d));
	device_put(d);
	cr_assert_null(device_set_get(set, "no-such-device"));
	d = device_set_get(set, "uart");
	cr_assert_not_null(d);
	device_put(d);
	device_set_destroy(set);

	cfg.balloon = VM_BALLOON_NONE;
	create();
	cr_assert_null(device_set_get(set, VIRTIO_BALLOON_DEVICE_NAME));
	d = device_set_get(set, "pvports");
	cr_assert_not_null(d);
	device_put(d);
}

Test(devices, accesses_reach_the_device_that_claims_them)
{
	enum device_result res;
	uint8_t b = 0;
	uint32_t v = 0;

	create();
	/* The UART's line status: transmitter empty. */
	cr_assert(device_set_pio(set, NULL, ABI_PORT_UART + 5, false, 1, &b, &res));
	cr_assert_eq(b & 0x60, 0x60);
	cr_assert_eq(res, DEVICE_CONTINUE);
	/* memvisor's ports answer with their signature. */
	cr_assert(device_set_pio(set, NULL, ABI_PORT_CONSOLE, false, 4, (uint8_t *)&v, &res));
	cr_assert_eq(v, ABI_PORT_SIGNATURE);
	/* Nobody is at port 0x80 or below the balloon's window. */
	cr_assert_not(device_set_pio(set, NULL, 0x80, false, 1, &b, &res));
	cr_assert_not(device_set_mmio(set, 0xfeb00000ULL, false, (uint8_t *)&v, 4));
	/* The balloon's transport says who it is. */
	v = 0;
	cr_assert(device_set_mmio(set, 0xfeb00e00ULL + VIRTIO_MMIO_MAGIC_VALUE, false,
				  (uint8_t *)&v, 4));
	cr_assert_eq(v, VIRTIO_MMIO_MAGIC);
	v = 0;
	cr_assert(device_set_mmio(set, 0xfeb00e00ULL + VIRTIO_MMIO_DEVICE_ID, false,
				  (uint8_t *)&v, 4));
	cr_assert_eq(v, VIRTIO_ID_BALLOON);
}

/* The CMOS clock: the host's time in BCD, never "update in progress" (a
 * Linux guest would poll it ten thousand times otherwise). */
Test(devices, the_cmos_clock_tells_the_time)
{
	enum device_result res;
	uint8_t b;

	/* 2026-12-06 04:21:41 UTC, a Sunday. */
	time_t t = 1796530901;
	cr_assert_eq(cmos_register(0x00, t), 0x41);
	cr_assert_eq(cmos_register(0x02, t), 0x21);
	cr_assert_eq(cmos_register(0x04, t), 0x04);
	cr_assert_eq(cmos_register(0x06, t), 0x01);
	cr_assert_eq(cmos_register(0x07, t), 0x06);
	cr_assert_eq(cmos_register(0x08, t), 0x12);
	cr_assert_eq(cmos_register(0x09, t), 0x26);
	cr_assert_eq(cmos_register(0x32, t), 0x20);
	cr_assert_eq(cmos_register(0x0a, t) & 0x80, 0, "update in progress");
	cr_assert_eq(cmos_register(0x0d, t), 0x80, "a valid clock");

	create();
	b = 0x8a;   /* status A, with the NMI mask bit */
	cr_assert(device_set_pio(set, NULL, CMOS_PORT_INDEX, true, 1, &b, &res));
	b = 0xff;
	cr_assert(device_set_pio(set, NULL, CMOS_PORT_DATA, false, 1, &b, &res));
	cr_assert_eq(b & 0x80, 0, "update in progress");
	b = 0x09;
	cr_assert(device_set_pio(set, NULL, CMOS_PORT_INDEX, true, 1, &b, &res));
	cr_assert(device_set_pio(set, NULL, CMOS_PORT_DATA, false, 1, &b, &res));
	cr_assert_eq(b, cmos_register(0x09, time(NULL)), "this year");
	/* The guest cannot set the host's clock. */
	b = 0x99;
	cr_assert(device_set_pio(set, NULL, CMOS_PORT_DATA, true, 1, &b, &res));
	cr_assert(device_set_pio(set, NULL, CMOS_PORT_DATA, false, 1, &b, &res));
	cr_assert_eq(b, cmos_register(0x09, time(NULL)));
}

Test(devices, the_ports_ask_the_host_on_the_vcpus_behalf)
{
	enum device_result res;
	int cpu;
	uint32_t v;

	create();
	v = 250000;
	cr_assert(device_set_pio(set, &cpu, ABI_PORT_HALT, true, 4, (uint8_t *)&v, &res));
	cr_assert_eq(res, DEVICE_CONTINUE);
	cr_assert_eq(asked.halts, 1);
	cr_assert_eq(asked.halt_usec, 250000);
	cr_assert_eq(asked.cpu, &cpu);
	v = 0x1234;
	cr_assert(device_set_pio(set, &cpu, ABI_PORT_PROBE, true, 4, (uint8_t *)&v, &res));
	cr_assert_eq(asked.probes, 1);
	cr_assert_eq(asked.probe_value, 0x1234);
	v = 14;
	cr_assert(device_set_pio(set, &cpu, ABI_PORT_FAULT, true, 4, (uint8_t *)&v, &res));
	cr_assert_eq(res, DEVICE_STOP);
	cr_assert_eq(asked.faults, 1);
	cr_assert_eq(asked.fault_vector, 14);
	v = 3;
	cr_assert(device_set_pio(set, &cpu, ABI_PORT_EXIT, true, 4, (uint8_t *)&v, &res));
	cr_assert_eq(res, DEVICE_STOP);
	cr_assert_eq(asked.last_status, 3);
	/* QEMU's isa-debug-exit: value * 2 + 1. */
	v = 1;
	cr_assert(device_set_pio(set, &cpu, ABI_PORT_DEBUG_EXIT, true, 1, (uint8_t *)&v, &res));
	cr_assert_eq(res, DEVICE_STOP);
	cr_assert_eq(asked.last_status, 3);
	cr_assert_eq(asked.stops, 2);
	/* A halt written one byte wide is dropped, not obeyed. */
	v = 1;
	cr_assert(device_set_pio(set, &cpu, ABI_PORT_HALT, true, 1, (uint8_t *)&v, &res));
	cr_assert_eq(asked.halts, 1);
}

/* ---- a creation that fails half way ---- */

static int fake_alive;

static bool fake_wanted(const struct vm_config *c)
{
	(void)c;
	return true;
}

static int fake_create(const struct device_host *h, const struct vm_config *c, void **state,
		       char *err, size_t errlen)
{
	(void)h, (void)c, (void)err, (void)errlen;
	fake_alive++;
	*state = &fake_alive;
	return 0;
}

static int broken_create(const struct device_host *h, const struct vm_config *c, void **state,
			 char *err, size_t errlen)
{
	(void)h, (void)c, (void)state;
	snprintf(err, errlen, "no room at the inn");
	return -EIO;
}

static void fake_destroy(void *state)
{
	cr_assert_eq(state, &fake_alive);
	fake_alive--;
}

static const struct device_type fake = { .name = "fake", .wanted = fake_wanted,
					 .create = fake_create, .destroy = fake_destroy };
static const struct device_type broken = { .name = "broken", .wanted = fake_wanted,
					   .create = broken_create, .destroy = fake_destroy };

Test(devices, a_failed_creation_says_which_and_leaves_nothing)
{
	char err[256] = "";
	const struct device_type *const types[] = { &fake, &broken, &fake, NULL };

	fake_alive = 0;
	cr_assert_eq(device_set_create(types, &host, &cfg, &set, err, sizeof(err)), -EIO);
	cr_assert_str_eq(err, "the broken device: no room at the inn");
	cr_assert_eq(fake_alive, 0, "the device made before the failure is gone");
	cr_assert_null(set);
}

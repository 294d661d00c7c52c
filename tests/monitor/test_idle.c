/*
 * The idle guest and the paravirtual halt port. Under memvisor the guest
 * sleeps on the halt port, so the VM uses next to no host CPU while it
 * beats once a second, and a stop, quit or signal does not wait for the
 * guest's sleep to end. Under QEMU (no halt port) it spins on the TSC and
 * still beats once a second.
 *
 * The time bounds here are not performance targets: each separates "the
 * halted vCPU was woken" (milliseconds) from "it slept on" (up to the
 * one-second beat), with a wide margin on both sides.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tools/memvisorctl/qmp_client.h"
#include "vm_proc.h"

/* A spinning vCPU would use about one CPU second per second. */
#define IDLE_CPU_SHARE_MAX 0.1
/* A halted vCPU that is not woken sleeps on for up to a second. */
#define WAKE_S_MAX 0.3

static void sleep_s(double s)
{
	usleep((useconds_t)(s * 1e6));
}

Test(idle, beats_without_using_the_cpu, .timeout = 60)
{
	struct vm_proc vm;

	test_need_kvm();
	vm_proc_start_memvisor(&vm, NULL);
	sleep_s(0.5);                   /* past the VM's setup */
	double cpu0 = vm_proc_cpu_seconds(&vm), t0 = test_now();
	sleep_s(2.6);
	double cpu = vm_proc_cpu_seconds(&vm) - cpu0, t = test_now() - t0;
	char *out = vm_proc_read(vm.out_path);
	vm_proc_finish(&vm);
	cr_expect_not_null(strstr(out, "idle: sleeping on the halt port"), "output:\n%s", out);
	cr_expect_not_null(strstr(out, "idle: heartbeat 2\n"), "no second heartbeat in 3.1 s:\n%s", out);
	cr_expect_lt(cpu, t * IDLE_CPU_SHARE_MAX, "the idle VM used %.2f s of CPU in %.2f s", cpu, t);
	free(out);
}

/* One command, timed from the request to its reply. */
static double timed(struct qmp_client *c, const char *command)
{
	json_t *ret;
	double t0 = test_now();
	int rc = qmp_call(c, command, NULL, &ret);

	cr_assert_eq(rc, 0, "%s: %s", command, qmp_error(c));
	json_decref(ret);
	return test_now() - t0;
}

Test(idle, stop_and_quit_wake_the_halted_vcpu, .timeout = 60)
{
	struct vm_proc vm;
	struct qmp_client c;

	test_need_kvm();
	vm_proc_start_memvisor(&vm, NULL);
	cr_assert_eq(qmp_connect(&c, vm.sock, 5000), 0, "%s", qmp_error(&c));
	/* Three tries: a guest that slept on would pass each by luck only
	 * WAKE_S_MAX of the time. */
	for (int i = 0; i < 3; i++) {
		sleep_s(0.25);          /* the guest is between beats, halted */
		double s = timed(&c, "stop");
		cr_expect_lt(s, WAKE_S_MAX, "stop took %.3f s", s);
		timed(&c, "cont");
	}
	sleep_s(0.25);
	double t0 = test_now();
	timed(&c, "quit");
	cr_assert(vm_proc_wait(&vm, 5), "memvisor still runs 5 s after quit");
	double s = test_now() - t0;
	cr_expect_lt(s, WAKE_S_MAX * 2, "memvisor took %.3f s to end after quit", s);
	cr_expect_eq(vm.status, 0);
	qmp_close(&c);
	vm_proc_finish(&vm);
}

Test(idle, a_signal_ends_the_halted_guest_at_once, .timeout = 60)
{
	struct vm_proc vm;

	test_need_kvm();
	vm_proc_start_memvisor(&vm, NULL);
	sleep_s(0.4);
	double t0 = test_now();
	kill(vm.pid, SIGTERM);
	cr_assert(vm_proc_wait(&vm, 5), "memvisor still runs 5 s after SIGTERM");
	double s = test_now() - t0;
	cr_expect_lt(s, WAKE_S_MAX * 2, "memvisor took %.3f s to end after SIGTERM", s);
	cr_expect_eq(vm.status, 128 + SIGTERM);
	vm_proc_finish(&vm);
}

Test(idle, beats_under_qemu_without_the_halt_port, .timeout = 60)
{
	struct vm_proc vm;
	struct qmp_client c;

	test_need_qemu();
	vm_proc_start_qemu(&vm, "128M");
	sleep_s(2.6);
	cr_assert_eq(qmp_connect(&c, vm.sock, 5000), 0, "%s", qmp_error(&c));
	json_t *ret;
	cr_expect_eq(qmp_call(&c, "quit", NULL, &ret), 0, "%s", qmp_error(&c));
	json_decref(ret);
	qmp_close(&c);
	cr_expect(vm_proc_wait(&vm, 5), "QEMU still runs 5 s after quit");
	char *out = vm_proc_read(vm.out_path);
	cr_expect_not_null(strstr(out, "idle: spinning on the TSC"), "output:\n%s", out);
	cr_expect_not_null(strstr(out, "idle: heartbeat 2\n"), "no second heartbeat in 2.6 s:\n%s", out);
	free(out);
	vm_proc_finish(&vm);
}

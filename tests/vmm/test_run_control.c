/*
 * Run control in-process: vm_pause parks every vCPU (one spinning at CPL3,
 * one waiting in the kernel for INIT/SIPI), a change made while paused is
 * seen once resumed, and vm_stop ends a paused VM with its status.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include "vmm/config/cli/cli.h"
#include "inproc.h"
#include "runner.h"

#define MIB (1ULL << 20)
#define WATCH_GPA (16 * MIB)
#define NEW_VALUE 0x0123456789abcdefULL

struct control {
	sem_t ready;
	struct vm *vm;
	bool stop_while_paused, run_over;
	int pause_rc, remap_rc;
};

static void control_probe(struct vm *vm, unsigned vcpu, uint32_t value, void *arg)
{
	struct control *c = arg;

	(void)vm, (void)vcpu, (void)value;
	sem_post(&c->ready);
}

static void *control_thread(void *arg)
{
	struct control *c = arg;
	uint8_t page[4096] = { 0 };
	uint64_t v = NEW_VALUE;

	sem_wait(&c->ready);
	if (c->run_over)
		return NULL;
	c->pause_rc = vm_pause(c->vm);
	if (c->stop_while_paused) {
		vm_stop(c->vm, 77);
		return NULL;
	}
	memcpy(page, &v, sizeof(v));
	c->remap_rc = guest_mem_remap_page(vm_guest_mem(c->vm), WATCH_GPA >> 12, page);
	vm_resume(c->vm);
	return NULL;
}

static int run_controlled(struct control *c, char *out, size_t out_len)
{
	struct vm_hooks hooks = { .probe = control_probe, .probe_arg = c };
	struct inproc ip;
	char cmdline[96];
	pthread_t t;

	sem_init(&c->ready, 0, 0);
	snprintf(cmdline, sizeof(cmdline), "gpa=0x%llx timeout_ms=20000", WATCH_GPA);
	struct vm_config cfg;
	vm_config_init(&cfg);
	cfg.image = test_build_path("guest/remap.elf");
	cfg.mem_bytes = 64 * MIB;
	cfg.hugepages = MM_HUGE_OFF;
	cfg.cmdline = cmdline;
	cfg.cpus = 2;
	inproc_create_cfg(&ip, &cfg, &hooks);
	c->vm = ip.vm;
	cr_assert_eq(pthread_create(&t, NULL, control_thread, c), 0);
	int status = inproc_run(&ip, 30);
	c->run_over = true;
	sem_post(&c->ready);
	pthread_join(t, NULL);
	snprintf(out, out_len, "%.*s", (int)(out_len - 1), ip.out);
	inproc_destroy(&ip);
	sem_destroy(&c->ready);
	return status;
}

Test(run_control, pause_change_resume)
{
	struct control c = { 0 };
	char out[4096];

	test_need_kvm();
	int status = run_controlled(&c, out, sizeof(out));
	cr_assert_eq(c.pause_rc, 0);
	cr_assert_eq(c.remap_rc, 0);
	cr_assert_eq(status, 0, "status %d; console:\n%s", status, out);
	cr_assert(strstr(out, "-> 0x123456789abcdef after "), "%s", out);
}

Test(run_control, stop_while_paused)
{
	struct control c = { .stop_while_paused = true };
	char out[4096];

	test_need_kvm();
	int status = run_controlled(&c, out, sizeof(out));
	cr_assert_eq(c.pause_rc, 0);
	cr_assert_eq(status, 77);
	cr_assert_null(strstr(out, "remap: saw"), "%s", out);
}

/*
 * memvisor: parse the command line, build the VM, run it, report, and exit
 * with the guest's status. Every failure before the guest runs is one line,
 * "memvisor: <what>: <why>", and status 1.
 */
#include <signal.h>
#include <stdio.h>
#include "vmm/config/cli/cli.h"
#include "vmm/monitor/monitor.h"
#include "vmm/core/vm.h"

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm *vm;
	struct monitor *mon = NULL;
	char err[512];
	sigset_t stop;

	int rc = cli_parse(argc, argv, &cfg, stdout, err, sizeof(err));
	if (rc == CLI_DONE)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "memvisor: %s\n", err);
		return VMM_EXIT_ERROR;
	}
	/* A console reader that goes away must not kill the VMM. */
	signal(SIGPIPE, SIG_IGN);
	/* Blocked in every thread (the vCPUs inherit the mask) and read by
	 * vm_run, which stops the guest cleanly. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	if (cfg.monitor)
		cfg.metadata_reserve_bytes = MONITOR_MEMORY_MAX;
	rc = vm_create(&cfg, NULL, &vm, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "memvisor: %s\n", err);
		return VMM_EXIT_ERROR;
	}
	/* After the VM (the monitor shows it) and before the vCPUs start, so
	 * the stop signals are blocked in the monitor's thread too. */
	if (cfg.monitor) {
		struct vm_control target;
		vm_control_of(vm, &target);
		rc = monitor_start(cfg.monitor, &target, &mon, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "memvisor: %s\n", err);
			vm_destroy(vm);
			return VMM_EXIT_ERROR;
		}
	}
	int status = vm_run(vm, &stop);
	if (mon) {
		bool guest;
		const char *reason = vm_end_reason(vm, &guest);
		monitor_stop(mon, guest, reason);
	}
	vm_print_stats(vm, cfg.stats);
	vm_destroy(vm);
	return status;
}

/*
 * VMs and clients as child processes for the monitor client's tests: the
 * idle guest under build/memvisor or QEMU with a QMP socket, and
 * build/memvisorctl runs with their output and exit status. Each VM gets a
 * private temporary directory for its socket and its output files, removed
 * when the VM is reaped.
 */
#ifndef TESTS_MONITOR_VM_PROC_H
#define TESTS_MONITOR_VM_PROC_H

#include <stdbool.h>
#include <sys/types.h>
#include "tests/support/test_env.h"


struct vm_proc {
	pid_t pid;
	const char *what;               /* "memvisor" or "QEMU", for messages */
	char dir[64];                   /* the private directory */
	char sock[128];                 /* the QMP socket inside it */
	char out_path[128], err_path[128];
	int status;                     /* once reaped: exit status, 128 + n for signal n */
};

struct ctl_run {
	int status;                     /* exit status; -1 if it had to be killed */
	char *out, *err;                /* NUL-terminated */
};


/* build/memvisor --monitor SOCK [extra...] build/guest/idle.elf; extra is
 * NULL-terminated or NULL. Waits until the socket accepts connections. */
void vm_proc_start_memvisor(struct vm_proc *p, const char *const *extra);
/* The same guest under QEMU microvm with -qmp unix:SOCK and the guest's
 * serial output in out_path. */
void vm_proc_start_qemu(struct vm_proc *p, const char *mem);
/* Waits up to timeout_s for the VM to end: true if it did (p->status set). */
bool vm_proc_wait(struct vm_proc *p, double timeout_s);
/* Ends the VM (SIGKILL if still running), reaps it, removes its files. */
void vm_proc_finish(struct vm_proc *p);
/* The contents of one of its output files (malloc'd, NUL-terminated). */
char *vm_proc_read(const char *path);
/* Host CPU time (user + system) the VM's process has used, in seconds. */
double vm_proc_cpu_seconds(const struct vm_proc *p);

/* Runs build/memvisorctl args... (NULL-terminated), at most timeout_s. */
void ctl_run(struct ctl_run *r, double timeout_s, const char *const *args);
void ctl_run_free(struct ctl_run *r);


#endif

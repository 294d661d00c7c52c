/*
 * Booting a guest inside the test process through libvmm, for the tests
 * that must reach into the VM while it runs (the probe hook, guest memory,
 * pause/resume): console output goes to a memfd the test reads back, and a
 * watchdog stops a guest that runs too long.
 */
#ifndef TESTS_VMM_INPROC_H
#define TESTS_VMM_INPROC_H

#include "vmm/core/vm.h"

struct inproc {
	struct vm *vm;
	struct vm_config cfg;
	int out_fd;
	char out[16384];             /* the console's end, after inproc_run */
};

/* Builds the VM (fails the test if it cannot). hooks may be NULL. */
void inproc_create(struct inproc *ip, const char *image, uint64_t mem, enum mm_huge_mode huge,
		   const char *cmdline, const struct vm_hooks *hooks);
/* The same from a whole config (its out_fd is replaced). */
void inproc_create_cfg(struct inproc *ip, const struct vm_config *cfg, const struct vm_hooks *hooks);
/* Runs it with a time limit; returns the exit status (124 on timeout). */
int inproc_run(struct inproc *ip, double timeout_s);
void inproc_destroy(struct inproc *ip);
/* guest_mem_format_p2m into a malloc'd string. */
char *inproc_p2m(struct inproc *ip);

#endif

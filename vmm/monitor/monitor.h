/*
 * The QMP monitor (`--monitor PATH`): a thread serving QEMU's monitor
 * protocol on a Unix socket while the guest runs.
 *
 * The monitor sees the VM only through struct monitor_target, a table of
 * functions the VM implements (core/vm_control.c), so the protocol code (qmp*.c)
 * runs without sockets or KVM in the unit tests and the fuzz target.
 */
#ifndef VMM_MONITOR_H
#define VMM_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/arena.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/monitor/qmp/qmp.h"

#define MONITOR_MAX_CLIENTS 32
/* A client whose unsent replies and events would pass this is dropped. */
#define MONITOR_MAX_QUEUED (8u << 20)
/*
 * The monitor's memory comes from the VM's arena, which it shares with the
 * p2m and the devices, so it is bounded as a whole: each client may queue
 * MONITOR_QUEUE_OWN bytes whatever the others do (so flooders cannot
 * starve a well-behaved client), and what the queues hold beyond that
 * together may not pass MONITOR_MAX_QUEUED_TOTAL; a client that would pass
 * it is dropped.
 */
#define MONITOR_QUEUE_OWN (256u << 10)
#define MONITOR_MAX_QUEUED_TOTAL (16u << 20)
/* The most the monitor takes from the arena: the queues, a framer buffer
 * and a session per client, the monitor itself. guest_ram.c sizes zone
 * Normal with it (the memfd is sparse: unused room costs nothing). */
#define MONITOR_MEMORY_MAX                                                              \
	(MONITOR_MAX_QUEUED_TOTAL + MONITOR_MAX_CLIENTS * (MONITOR_QUEUE_OWN + QMP_MAX_MESSAGE + \
							  8192u) + (256u << 10))

/* query-status's "status", in QEMU's words. */
enum monitor_run_state {
	MONITOR_PRELAUNCH,       /* the vCPUs have not started yet */
	MONITOR_RUNNING,
	MONITOR_PAUSED,
	MONITOR_SHUTDOWN,        /* the run has ended or is ending */
};

/*
 * What the monitor may ask of the VM. Every function is called on the
 * monitor's thread while the vCPUs run, so each must be safe against them.
 */
struct monitor_target {
	void *ctx;
	enum monitor_run_state (*status)(void *ctx);
	/* Park every vCPU / let them go: 0, or -ESHUTDOWN once the run ends. */
	int (*pause)(void *ctx);
	int (*resume)(void *ctx);
	/* Ends the run (exit status 0); returns at once. */
	void (*quit)(void *ctx);
	struct mm_arena *(*arena)(void *ctx);
	struct guest_mem *(*guest_mem)(void *ctx);
	uint64_t (*ram_size)(void *ctx);
};

struct monitor;
struct vm;

/*
 * Creates the socket at path (README "The monitor": mode 0600, a live
 * socket refused, a stale one replaced) and starts the thread. 0, or -errno
 * with err holding "<what>: <why>".
 */
int monitor_start(const char *path, const struct monitor_target *target, struct monitor **out,
		  char *err, size_t errlen);

/*
 * The run has ended: sends the SHUTDOWN event (unless `quit` already did),
 * gives clients a moment to read what is queued for them, stops the
 * thread, closes every connection and removes the socket.
 */
void monitor_stop(struct monitor *m, bool guest, const char *reason);

/* The target for a VM built by vm_create (core/vm_control.c). */
void monitor_vm_target(struct vm *vm, struct monitor_target *out);
/* SHUTDOWN's data for the run that just ended: the reason and whether the
 * guest caused it. */
const char *monitor_vm_end_reason(struct vm *vm, bool *guest);

#endif

/*
 * The QMP monitor (`--monitor PATH`): a thread serving QEMU's monitor
 * protocol on a Unix socket while the guest runs. vmm/monitor/ owns the
 * socket, the thread and its clients; vmm/monitor/qmp/ the protocol.
 *
 * The monitor sees the VM only through struct vm_control, the core's
 * control interface (core/vm_control.h), and reaches a device through it
 * with a reference, so the protocol code runs without sockets or KVM in the
 * unit tests and the fuzz target. It may use vmm/core/vm_control.h, the
 * public headers of vmm/devices/ and vmm/memory/, and mm/.
 */
#ifndef VMM_MONITOR_H
#define VMM_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/core/vm_control.h"
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
 * and a session per client, the monitor itself. main.c reserves it in the
 * VM's configuration (metadata_reserve_bytes), and the arena's sizing keeps
 * that room in zone Normal (the memfd is sparse: unused room costs
 * nothing). */
#define MONITOR_MEMORY_MAX                                                              \
	(MONITOR_MAX_QUEUED_TOTAL + MONITOR_MAX_CLIENTS * (MONITOR_QUEUE_OWN + QMP_MAX_MESSAGE + \
							  8192u) + (256u << 10))

struct monitor;

/*
 * Creates the socket at path (README "The monitor": mode 0600, a live
 * socket refused, a stale one replaced) and starts the thread. 0, or -errno
 * with err holding "<what>: <why>".
 */
int monitor_start(const char *path, const struct vm_control *target, struct monitor **out,
		  char *err, size_t errlen);

/*
 * The run has ended: sends the SHUTDOWN event (unless `quit` already did),
 * gives clients a moment to read what is queued for them, stops the
 * thread, closes every connection and removes the socket.
 */
void monitor_stop(struct monitor *m, bool guest, const char *reason);

#endif

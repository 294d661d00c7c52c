/*
 * Queue notifications without an exit (PLATFORM.md §1: an ioeventfd write
 * costs the guest ~19 µs and never reaches the VMM's vCPU thread): one
 * KVM_IOEVENTFD per queue on the QueueNotify register, matched on the queue
 * index, and a device thread that serves whichever queue was kicked. A write
 * that matches no queue still exits and is handled by virtio_mmio_access.
 */
#ifndef VMM_VIRTIO_MMIO_NOTIFY_H
#define VMM_VIRTIO_MMIO_NOTIFY_H

#include <pthread.h>
#include <stdbool.h>
#include "vmm/devices/virtio/mmio.h"

struct virtio_mmio_notifier {
	struct virtio_mmio *t;
	int vm_fd;
	int fds[VIRTIO_MMIO_MAX_QUEUES];
	unsigned nr;                    /* eventfds registered with KVM */
	int stop_fd;
	pthread_t thread;
	bool started;
};

/*
 * Registers the eventfds and starts the thread. 0, or -errno with nothing
 * left registered (notifications then arrive as MMIO exits).
 */
int virtio_mmio_notifier_start(struct virtio_mmio_notifier *n, struct virtio_mmio *t, int vm_fd);
/* Stops the thread and unregisters; safe on a notifier that never started. */
void virtio_mmio_notifier_stop(struct virtio_mmio_notifier *n);

#endif

/*
 * The device thread: it sleeps in poll on the queues' eventfds and a stop
 * eventfd, and serves a queue under the transport's lock when its eventfd
 * fires. It runs with every signal blocked, so the process's stop signals
 * and the vCPU kick never land on it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "vmm/devices/virtio/mmio_notify.h"

static int virtio_mmio_ioeventfd(struct virtio_mmio_notifier *n, unsigned q, bool assign)
{
	struct kvm_ioeventfd ev = {
		.datamatch = q,
		.addr = n->t->base + VIRTIO_MMIO_QUEUE_NOTIFY,
		.len = 4,
		.fd = n->fds[q],
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(n->vm_fd, KVM_IOEVENTFD, &ev) < 0 ? -errno : 0;
}

static void *virtio_mmio_notify_thread(void *arg)
{
	struct virtio_mmio_notifier *n = arg;
	struct pollfd fds[VIRTIO_MMIO_MAX_QUEUES + 1];

	for (unsigned q = 0; q < n->nr; q++)
		fds[q] = (struct pollfd){ .fd = n->fds[q], .events = POLLIN };
	fds[n->nr] = (struct pollfd){ .fd = n->stop_fd, .events = POLLIN };
	for (;;) {
		int rc = poll(fds, n->nr + 1, -1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0 || fds[n->nr].revents)
			return NULL;
		for (unsigned q = 0; q < n->nr; q++) {
			uint64_t count;
			if (!(fds[q].revents & POLLIN) ||
			    read(n->fds[q], &count, sizeof(count)) != sizeof(count))
				continue;
			/* Left over: the eventfd fires again at the next poll,
			 * after the other queues that are ready now. */
			if (virtio_mmio_notify(n->t, q)) {
				count = 1;
				if (write(n->fds[q], &count, sizeof(count)) != sizeof(count))
					continue;       /* counter full: it fires anyway */
			}
		}
	}
}

void virtio_mmio_notifier_stop(struct virtio_mmio_notifier *n)
{
	if (n->started) {
		uint64_t one = 1;
		if (write(n->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(n->thread, NULL);
		n->started = false;
	}
	for (unsigned q = 0; q < n->nr; q++) {
		virtio_mmio_ioeventfd(n, q, false);
		close(n->fds[q]);
	}
	n->nr = 0;
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	n->stop_fd = -1;
}

int virtio_mmio_notifier_start(struct virtio_mmio_notifier *n, struct virtio_mmio *t, int vm_fd)
{
	int rc = 0;

	memset(n, 0, sizeof(*n));
	n->t = t;
	n->vm_fd = vm_fd;
	n->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (n->stop_fd < 0)
		return -errno;
	for (unsigned q = 0; !rc && q < t->ops->nr_queues && q < VIRTIO_MMIO_MAX_QUEUES; q++) {
		n->fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->fds[q] < 0) {
			rc = -errno;
			break;
		}
		rc = virtio_mmio_ioeventfd(n, q, true);
		if (rc)
			close(n->fds[q]);
		else
			n->nr++;
	}
	if (!rc) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		rc = -pthread_create(&n->thread, NULL, virtio_mmio_notify_thread, n);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		n->started = !rc;
	}
	if (rc)
		virtio_mmio_notifier_stop(n);
	return rc;
}

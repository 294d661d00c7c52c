/*
 * Free page reporting's queue (virtio 1.x 5.5.6.7): each buffer a chain of
 * descriptors, each descriptor one range of guest RAM the driver says it
 * does not use (addr a GPA, len its bytes). The device gives the ranges'
 * host memory back and returns the buffer; the driver waits for that before
 * it reuses the pages. Linux adds the descriptors as device-writable and
 * QEMU reads them as such; the spec's text reads them; both are taken.
 *
 * The descriptors are not resolved to host addresses (virtq_pop_ranges):
 * each range is checked on its own by balloon_report.c, so a bad range is
 * refused and counted there while the good ones in the same buffer still
 * count. A round stops after a few buffers or a few hundred MiB, so a guest
 * that floods the queue holds the device's lock, and the queues behind it,
 * no longer than that (mmio.c then serves the others first).
 */
#include "vmm/memory/balloon_report.h"
#include "vmm/devices/virtio/balloon/report.h"

bool virtio_balloon_report_serve(struct virtio_mmio *t, struct virtq *q, struct guest_mem *gm,
				 struct virtio_balloon_info *c)
{
	struct virtq_ranges e;
	uint64_t bytes = 0;
	bool used = false;

	for (unsigned n = 0; n < VIRTIO_BALLOON_REPORT_ROUND_BUFFERS &&
			     bytes < VIRTIO_BALLOON_REPORT_ROUND_BYTES; n++) {
		enum virtq_pop_result r = virtq_pop_ranges(q, &e);
		if (r == VIRTQ_EMPTY)
			break;
		if (r == VIRTQ_BROKEN) {
			c->broken_rings++;
			virtio_mmio_needs_reset(t);
			break;
		}
		if (r == VIRTQ_BAD_CHAIN)
			c->bad_buffers++;
		for (unsigned i = 0; i < e.nr; i++) {
			struct balloon_report_result res;
			/* Refused and failed ranges are counted by balloon_report.c. */
			balloon_mem_report_range(gm, e.r[i].gpa, e.r[i].len, &res);
			bytes += e.r[i].len;
		}
		c->report_buffers++;
		virtq_push(q, e.head, 0);
		used = true;
	}
	return used;
}

/*
 * The balloon's reporting queue (report.c), for balloon.c only.
 */
#ifndef VMM_VIRTIO_BALLOON_REPORT_H
#define VMM_VIRTIO_BALLOON_REPORT_H

#include <stdbool.h>
#include "vmm/devices/virtio/balloon/balloon.h"

/* A round's work at most: buffers, and bytes of the ranges in them (the
 * buffer that crosses it is finished). */
#define VIRTIO_BALLOON_REPORT_ROUND_BUFFERS 8
#define VIRTIO_BALLOON_REPORT_ROUND_BYTES (256ULL << 20)

/*
 * Serves one round of reporting queue q of transport t (lock held): each
 * range of each buffer to balloon_mem_report_range on gm, which checks and
 * counts it, each buffer back to the driver with used length 0. Chains of
 * the wrong shape and a broken ring are counted in c. true if a buffer was
 * used (the caller interrupts).
 */
bool virtio_balloon_report_serve(struct virtio_mmio *t, struct virtq *q, struct guest_mem *gm,
				 struct virtio_balloon_info *c);

#endif

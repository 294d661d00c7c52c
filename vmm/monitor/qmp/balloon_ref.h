/*
 * The balloon as the QMP commands use it: found through the control
 * interface's device table and held by a reference for as long as a command
 * uses it (the VM cannot destroy it meanwhile), and the conversions between
 * QEMU's logical VM size (RAM minus the balloon, in bytes) and the
 * device's 4 KiB pages.
 */
#ifndef VMM_MONITOR_QMP_BALLOON_REF_H
#define VMM_MONITOR_QMP_BALLOON_REF_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/core/vm_control.h"
#include "vmm/devices/virtio/balloon/balloon.h"

struct balloon_ref {
	struct device *dev;
	struct virtio_balloon *b;
	uint64_t ram_bytes;
};

/* false when the VM has no balloon (r then holds nothing to put back). */
bool balloon_ref_get(const struct vm_control *t, struct balloon_ref *r);
void balloon_ref_put(struct balloon_ref *r);

/* The logical VM size that `pages` in the balloon leave. */
uint64_t balloon_logical_bytes(uint64_t ram_bytes, uint32_t pages);
/* The pages the balloon must hold for a logical size of target_bytes
 * (rounded down; a target above the RAM size means an empty balloon). */
uint32_t balloon_pages_for(uint64_t ram_bytes, uint64_t target_bytes);

#endif


/*
 * The virtio-balloon device (virtio 1.x 5.5) on a virtio-mmio transport:
 * inflate, deflate, stats and (free page reporting, unless switched off)
 * reporting queues; VERSION_1, MUST_TELL_HOST, STATS_VQ, DEFLATE_ON_OOM and
 * REPORTING offered. Each PFN the guest gives or takes back goes to
 * balloon_mem.c; bogus ones are refused there and counted here too. Each
 * range the guest reports free goes to balloon_report.c (report.c).
 * The monitor sets the target (num_pages) and hears about the driver's
 * `actual` through a listener.
 */
#ifndef VMM_VIRTIO_BALLOON_H
#define VMM_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>
#include "mm/arena.h"
#include "vmm/devices/device.h"
#include "vmm/devices/virtio/mmio.h"

struct guest_mem;

/* Queues, config space, PFN size, buffer and stats sizes: abi/virtio.h. */
#define VIRTIO_BALLOON_QUEUE_MAX 128

/* What a queue is for (queues.c): the index of each follows from the
 * negotiated features. */
enum virtio_balloon_queue {
	VB_QUEUE_INFLATE,
	VB_QUEUE_DEFLATE,
	VB_QUEUE_STATS,
	VB_QUEUE_FREE_PAGE,         /* free page hints: never offered */
	VB_QUEUE_REPORTING,
	VB_QUEUE_NONE,              /* no queue of the driver's */
};
/* Queue indexes the device looks at: inflate, deflate and three more. */
#define VIRTIO_BALLOON_MAX_QUEUE_INDEX 5
/* The role of queue qi under the driver's features. */
enum virtio_balloon_queue virtio_balloon_queue_role(uint64_t features, unsigned qi);
/* The index of the queue of role under features, or -1 when there is none. */
int virtio_balloon_queue_index(uint64_t features, enum virtio_balloon_queue role);

struct virtio_balloon;

/* Called when the driver writes a new `actual` (4 KiB pages), on the thread
 * of that write, with no device lock held (it may set a new target). */
typedef void (*virtio_balloon_actual_fn)(void *arg, uint32_t actual_pages);

struct virtio_balloon_info {
	uint32_t num_pages;                 /* the target: pages to give up */
	uint32_t actual;                    /* pages the driver says it gave */
	bool driver_ok;
	uint64_t features;                  /* what the driver accepted (bits) */
	uint64_t inflated_pfns, deflated_pfns;
	uint64_t bogus_pfns;                /* refused by balloon_mem (-EINVAL) */
	uint64_t failed_pfns;               /* other errors (no frame, no mapping) */
	uint64_t bad_buffers;               /* chains refused: see virtq.h, wrong shape */
	uint64_t broken_rings;              /* corrupt ring indexes: NEEDS_RESET set */
	uint64_t bad_config_writes;
	uint64_t stats_updates;             /* stats buffers received */
	uint64_t stats_last_update;         /* when the last came: seconds since the epoch */
	uint32_t stats_valid;               /* bit tag set: guest_stats[tag] came */
	uint64_t guest_stats[VIRTIO_BALLOON_S_NR];
	bool reporting_offered;             /* --balloon-reporting on */
	uint64_t report_buffers;            /* reporting buffers served (used) */
};

/*
 * A balloon at base (a VIRTIO_MMIO_DEV_SIZE window) on irq, its state from
 * arena a; it attaches balloon_mem's state to gm, and destroy drops it.
 * num_pages is the initial target; reporting offers free page reporting.
 * 0 or -ENOMEM.
 */
int virtio_balloon_create(struct mm_arena *a, struct guest_mem *gm, uint64_t base, unsigned irq,
			  virtio_mmio_irq_fn irq_fn, void *irq_arg, uint32_t num_pages,
			  bool reporting, struct virtio_balloon **out);
/* Call with the notifier stopped and no vCPU running. */
void virtio_balloon_destroy(struct virtio_balloon *b);
struct virtio_mmio *virtio_balloon_mmio(struct virtio_balloon *b);

/* A new target in 4 KiB pages; the driver is told by a config interrupt. */
void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t num_pages);
void virtio_balloon_set_listener(struct virtio_balloon *b, virtio_balloon_actual_fn fn, void *arg);
void virtio_balloon_get_info(struct virtio_balloon *b, struct virtio_balloon_info *out);
/* Gives the held stats buffer back so the driver refills it. The device
 * does so itself whenever the driver reports a new `actual`. */
void virtio_balloon_request_stats(struct virtio_balloon *b);

/* The balloon as a device of the VM (device.c), found by this name. */
#define VIRTIO_BALLOON_DEVICE_NAME "virtio-balloon"
extern const struct device_type virtio_balloon_device;
/* The balloon behind a device of that type (NULL for NULL). */
struct virtio_balloon *virtio_balloon_of(const struct device *dev);

#endif

/*
 * Which balloon queue is which (virtio 1.x 5.5.2). The driver numbers its
 * queues from the features it negotiated, as Linux's virtballoon_probe
 * does: inflate 0 and deflate 1 always, then stats, free page hint and
 * reporting in that order, each only if its feature was negotiated. So the
 * reporting queue is 3 beside a stats queue and 2 without one, and the
 * device must ask the features, not a fixed table.
 */
#include "vmm/devices/virtio/balloon/balloon.h"

/* The optional queues, in the driver's order. */
static const struct {
	enum virtio_balloon_queue role;
	unsigned feature;
} optional_queues[] = {
	{ VB_QUEUE_STATS, VIRTIO_BALLOON_F_STATS_VQ },
	{ VB_QUEUE_FREE_PAGE, VIRTIO_BALLOON_F_FREE_PAGE_HINT },
	{ VB_QUEUE_REPORTING, VIRTIO_BALLOON_F_REPORTING },
};

enum virtio_balloon_queue virtio_balloon_queue_role(uint64_t features, unsigned qi)
{
	unsigned next = VIRTIO_BALLOON_Q_DEFLATE + 1;

	if (qi < next)
		return qi == VIRTIO_BALLOON_Q_INFLATE ? VB_QUEUE_INFLATE : VB_QUEUE_DEFLATE;
	for (unsigned i = 0; i < sizeof(optional_queues) / sizeof(optional_queues[0]); i++) {
		if (!(features >> optional_queues[i].feature & 1))
			continue;
		if (qi == next)
			return optional_queues[i].role;
		next++;
	}
	return VB_QUEUE_NONE;
}

int virtio_balloon_queue_index(uint64_t features, enum virtio_balloon_queue role)
{
	for (unsigned qi = 0; qi < VIRTIO_BALLOON_MAX_QUEUE_INDEX; qi++)
		if (virtio_balloon_queue_role(features, qi) == role)
			return (int)qi;
	return -1;
}

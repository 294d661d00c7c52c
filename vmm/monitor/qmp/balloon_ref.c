/*
 * The balloon from the device table, by reference (balloon_ref.h).
 */
#include "vmm/monitor/qmp/balloon_ref.h"

bool balloon_ref_get(const struct vm_control *t, struct balloon_ref *r)
{
	*r = (struct balloon_ref){ 0 };
	if (!t->device_get)
		return false;
	r->dev = t->device_get(t->ctx, VIRTIO_BALLOON_DEVICE_NAME);
	r->b = virtio_balloon_of(r->dev);
	if (!r->b) {
		device_put(r->dev);
		r->dev = NULL;
		return false;
	}
	r->ram_bytes = t->ram_size(t->ctx);
	return true;
}

void balloon_ref_put(struct balloon_ref *r)
{
	device_put(r->dev);
	*r = (struct balloon_ref){ 0 };
}

uint64_t balloon_logical_bytes(uint64_t ram_bytes, uint32_t pages)
{
	uint64_t gone = (uint64_t)pages << VIRTIO_BALLOON_PFN_SHIFT;

	return gone < ram_bytes ? ram_bytes - gone : 0;
}

uint32_t balloon_pages_for(uint64_t ram_bytes, uint64_t target_bytes)
{
	uint64_t pages = target_bytes < ram_bytes ?
			 (ram_bytes - target_bytes) >> VIRTIO_BALLOON_PFN_SHIFT : 0;

	return pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
}

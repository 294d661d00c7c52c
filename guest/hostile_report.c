/*
 * balloon_hostile's free page reporting cases (see balloon_hostile.c):
 * reports the device must refuse, each in a buffer of its own on the
 * reporting queue, then a flood, then a normal report that must still
 * work. Every refused range is counted here so the host test can match it
 * against the device's reporting-rejected:
 *   - a range past the end of RAM, one in the legacy hole below 1 MiB and
 *     one in the MMIO window (GPAs the VMM keeps for itself);
 *   - a 2 MiB block the guest has just ballooned (the host owns it);
 *   - a zero length and a 4 GiB - 4 KiB length at a free block;
 *   - the same free block twice in one buffer (the second copy may be
 *     refused or done again: counted apart, as a duplicate);
 *   - FLOOD_BUFFERS buffers of 32 ranges past the end of RAM, two in
 *     flight at once where the queue has room.
 * One line per case, "balloon-hostile: report CASE used|dropped", then
 *   balloon-hostile: reporting: N bad ranges in M buffers, D duplicates, R reported normally
 */
#include "internal.h"
#include "hostile_report.h"

#define CASE_WAIT_US  200000
#define FLOOD_BUFFERS 100
#define BLOCK         ((uint64_t)RAM_HUGE_FRAMES * PAGE_SIZE)

static unsigned bad_ranges, buffers;

static void send(struct vballoon *vb, const char *what, const uint64_t *addr, const uint32_t *len,
		 unsigned n, unsigned bad)
{
	if (!virtq_add_chain(&vb->report_vq, addr, len, n, true)) {
		printf("balloon-hostile: report %s: no free descriptors\n", what);
		return;
	}
	bad_ranges += bad;
	buffers++;
	printf("balloon-hostile: report %s %s\n", what,
	       virtq_wait_used(&vb->report_vq, NULL, CASE_WAIT_US) ? "used" : "dropped");
}

static void send_one(struct vballoon *vb, const char *what, uint64_t addr, uint32_t len)
{
	send(vb, what, &addr, &len, 1, 1);
}

/* A 2 MiB block just ballooned whole (the driver balloons whole 2 MiB
 * blocks while it needs that many): its GPA, or 0 if it did not come out
 * whole. */
static uint64_t ballooned_block(struct vballoon *vb)
{
	const char *why;
	uint32_t first = vb->nr_ballooned;
	if (vballoon_inflate(vb, RAM_HUGE_FRAMES, &why) != RAM_HUGE_FRAMES)
		return 0;
	vballoon_update_actual(vb);
	uint32_t pfn = vb->pfns[first];
	for (uint32_t i = 1; i < RAM_HUGE_FRAMES; i++)
		if (vb->pfns[first + i] != pfn + i)
			return 0;
	return (uint64_t)pfn << PAGE_SHIFT;
}

bool hostile_report_cases(struct vballoon *vb, uint64_t past_ram)
{
	const char *why;
	if (!vb->reporting) {
		printf("balloon-hostile: reporting: not offered by the device, no cases\n");
		return true;
	}
	send_one(vb, "past the end of RAM", past_ram, (uint32_t)BLOCK);
	send_one(vb, "in the hole below 1 MiB", 0xa0000, 0x60000);
	send_one(vb, "in the MMIO window", vb->dev.base & ~(BLOCK - 1), (uint32_t)BLOCK);

	uint64_t balloon = ballooned_block(vb);
	if (balloon)
		send_one(vb, "of a ballooned block", balloon, (uint32_t)BLOCK);
	else
		printf("balloon-hostile: report of a ballooned block: no whole 2 MiB block ballooned\n");
	bool deflated = vballoon_deflate(vb, vb->nr_ballooned, &why) >= 0;
	vballoon_update_actual(vb);

	struct ram_block free_blk;
	if (ram_unreported_free(&free_blk, 1) != 1) {
		printf("balloon-hostile: reporting: no free 2 MiB block for the length cases\n");
		return false;
	}
	send_one(vb, "of zero length", free_blk.gpa, 0);
	send_one(vb, "of 4 GiB - 4 KiB", free_blk.gpa, 0xfffff000u);
	uint64_t twice[2] = { free_blk.gpa, free_blk.gpa };
	uint32_t twice_len[2] = { (uint32_t)BLOCK, (uint32_t)BLOCK };
	send(vb, "of one block twice", twice, twice_len, 2, 0);

	uint64_t flood[VIRTIO_BALLOON_REPORT_MAX_RANGES];
	uint32_t flood_len[VIRTIO_BALLOON_REPORT_MAX_RANGES];
	unsigned per = vb->report_vq.size < VIRTIO_BALLOON_REPORT_MAX_RANGES ? vb->report_vq.size
									   : VIRTIO_BALLOON_REPORT_MAX_RANGES;
	for (unsigned i = 0; i < per; i++) {
		flood[i] = past_ram + i * BLOCK;
		flood_len[i] = (uint32_t)BLOCK;
	}
	unsigned flooded = 0, lost = 0;
	for (unsigned sent = 0; sent < FLOOD_BUFFERS;) {
		while (sent < FLOOD_BUFFERS && virtq_add_chain(&vb->report_vq, flood, flood_len, per, true)) {
			sent++;
			bad_ranges += per;
			buffers++;
		}
		while (vb->report_vq.in_flight && !lost) {
			if (virtq_wait_used(&vb->report_vq, NULL, CASE_WAIT_US))
				flooded++;
			else
				lost = vb->report_vq.in_flight;
		}
		if (lost)
			break;
	}
	printf("balloon-hostile: report flood of %u buffers of %u ranges: %u used, %u dropped\n",
	       FLOOD_BUFFERS, per, flooded, lost);

	long normal = vballoon_report_now(vb, &why);
	printf("balloon-hostile: reporting: %u bad ranges in %u buffers, 1 duplicates, %ld reported normally\n",
	       bad_ranges, buffers, normal);
	return deflated && normal > 0;
}

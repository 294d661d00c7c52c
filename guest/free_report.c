/*
 * Free page reporting, the guest's side of VIRTIO_BALLOON_F_REPORTING, as
 * Linux's page_reporting does it: once a free block of at least 2 MiB
 * forms (and once at boot), wait REPORT_DELAY_US so that memory freed and
 * soon reused is not given away, then tell the host every free block of
 * at least order 9 not yet reported, up to 32 per buffer. A buffer is one
 * chain of device-writable descriptors, one per block (addr = GPA, len =
 * bytes), exactly what Linux's driver sends, so a device built for Linux
 * (QEMU's, memvisor's) reads it. Each buffer is waited for before the next
 * (the blocks must not be allocated while the host drops their memory;
 * this guest allocates nothing meanwhile), and its blocks are then marked
 * reported (balloon_ram.c) until any frame of theirs is allocated again.
 *
 * Batching keeps the exits few: one notify per 32 blocks (64 MiB or more),
 * each ~55 µs from CPL3, and on memvisor a halt while the host works.
 */
#include "internal.h"
#include "ports.h"
#include "virtio_balloon.h"

/* Linux's PAGE_REPORTING_DELAY (2 * HZ). */
#define REPORT_DELAY_US 2000000ull
/* A device that leaves a report unused this long has stopped answering. */
#define REPORT_TIMEOUT_US 10000000ull

static struct virtq_rings report_rings;

bool vballoon_report_setup(struct vballoon *b, uint16_t index, const char **why)
{
	b->reporting = b->dev.features & 1ull << VIRTIO_BALLOON_F_REPORTING;
	b->report_index = index;
	return !b->reporting || virtio_mmio_queue_setup(&b->dev, &b->report_vq, index, &report_rings, why);
}

long vballoon_report_now(struct vballoon *b, const char **why)
{
	struct ram_block blk[VIRTIO_BALLOON_REPORT_MAX_RANGES];
	uint64_t addr[VIRTIO_BALLOON_REPORT_MAX_RANGES];
	uint32_t len[VIRTIO_BALLOON_REPORT_MAX_RANGES];
	unsigned max = b->report_vq.size < VIRTIO_BALLOON_REPORT_MAX_RANGES ? b->report_vq.size
									      : VIRTIO_BALLOON_REPORT_MAX_RANGES;
	long ranges = 0;
	if (!b->reporting)
		return 0;
	uint64_t t0 = rdtsc();
	for (unsigned n; (n = ram_unreported_free(blk, max)) > 0;) {
		for (unsigned i = 0; i < n; i++) {
			addr[i] = blk[i].gpa;
			len[i] = (uint32_t)blk[i].bytes;
		}
		if (!virtq_add_chain(&b->report_vq, addr, len, n, true)) {
			*why = "no free descriptors on the reporting queue";
			return -1;
		}
		if (!virtq_wait_used(&b->report_vq, NULL, REPORT_TIMEOUT_US)) {
			*why = "the host did not use a report within 10 s";
			return -1;
		}
		for (unsigned i = 0; i < n; i++) {
			ram_mark_reported(blk[i].gpa, blk[i].bytes);
			b->report_bytes += blk[i].bytes;
		}
		b->report_buffers++;
		b->report_ranges += n;
		ranges += n;
	}
	b->report_ticks += rdtsc() - t0;
	return ranges;
}

bool vballoon_report_poll(struct vballoon *b, const char **why)
{
	if (!b->reporting)
		return true;
	uint64_t now = rdtsc();
	if (ram_report_wanted() && !b->report_due)
		b->report_due = now + tsc_ticks(REPORT_DELAY_US) + 1;
	if (!b->report_due || (int64_t)(now - b->report_due) < 0)
		return true;
	b->report_due = 0;
	return vballoon_report_now(b, why) >= 0;
}

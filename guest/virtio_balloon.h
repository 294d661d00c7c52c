
/*
 * The guest's own RAM (balloon_ram.c) and its virtio-balloon driver
 * (virtio_balloon.c).
 *
 * Guest RAM: every usable range of the memory map becomes one zone of the
 * freestanding buddy core from mm/, its frame descriptors and pageblock
 * bytes carved from the start of the range itself (as Linux puts its
 * memmap in RAM). Frames handed out are in state FRAME_GUEST; ballooned
 * ones are switched to FRAME_BALLOONED until they are deflated.
 *
 * The balloon driver behaves like Linux's: inflate takes 4 KiB frames from
 * the guest's buddy and tells the host their PFNs (le32), at most 256 per
 * buffer, waiting for each buffer to be used; deflate tells the host first
 * and only then gives the frames back to the buddy; `actual` is written
 * after every change; stats go out as {le16 tag; le64 val} records.
 */
#ifndef GUEST_VIRTIO_BALLOON_H
#define GUEST_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>
#include "../mm/frame.h"
#include "virtio_mmio.h"

/* ---- balloon_ram.c: the guest's free RAM, managed by the buddy core ---- */

/* A 2 MiB block: the unit a host backing RAM with huge pages frees. */
#define RAM_HUGE_ORDER 9
#define RAM_HUGE_FRAMES (1u << RAM_HUGE_ORDER)

/* Builds the zones from memory_usable(), each zone's frame 0 2 MiB-aligned
 * when the range has room. False (with *why) if none fits. */
bool ram_init(const char **why);
/* A block of 2^order frames in state FRAME_GUEST: its GPA, or 0 if none. */
uint64_t ram_alloc(unsigned order);
/* nr physically contiguous frames (any count): the GPA, or 0 if none. */
uint64_t ram_alloc_contig(uint32_t nr);
/* Gives a block back (state must be FRAME_GUEST). False if refused. */
bool ram_free(uint64_t gpa, unsigned order);
/* Turns an allocated block into 2^order separately freeable frames. */
bool ram_split(uint64_t gpa);
/* Changes an allocated frame's state (FRAME_GUEST <-> FRAME_BALLOONED). */
bool ram_set_state(uint64_t gpa, enum frame_state st);
/* Frames managed (free or not) and frames free now. */
uint64_t ram_total_pages(void);
uint64_t ram_free_pages(void);
/* Invariant I1 over every zone: counts per state; false if it does not hold. */
bool ram_count_states(uint64_t counts[FRAME_NR_OWNER_STATES]);

/* Free page reporting's view of the buddy (see free_report.c). */
struct ram_block {
	uint64_t gpa, bytes;
};
/* True once since a free block of at least RAM_HUGE_ORDER formed (and at
 * boot); reading it lowers it. */
bool ram_report_wanted(void);
/* Up to max free blocks of at least RAM_HUGE_ORDER not yet reported,
 * largest first. They stay on the free lists: the caller must not
 * allocate until it has reported them. */
unsigned ram_unreported_free(struct ram_block *out, unsigned max);
/* The pageblocks of a free block were reported: skipped from now on,
 * until a frame of theirs is allocated. */
void ram_mark_reported(uint64_t gpa, uint64_t bytes);
/* Pageblocks marked reported that are not wholly free (should be none),
 * and the pages marked reported in *reported_pages. */
uint64_t ram_reported_misplaced(uint64_t *reported_pages);

/* ---- virtio_balloon.c -------------------------------------------------- */

/* PFNs per inflate or deflate buffer, as Linux's driver sends them. */
#define VIRTIO_BALLOON_BATCH             VIRTIO_BALLOON_MAX_PFNS

/* The statistics the driver reports (free, total, available). */
#define VIRTIO_BALLOON_NR_STATS          3

struct vballoon {
	struct virtio_mmio_dev dev;
	struct virtq inflate_vq, deflate_vq, stats_vq;
	bool has_stats, must_tell_host, deflate_on_oom;
	/* Ballooned PFNs, most recent last (deflate takes from the end). */
	uint32_t *pfns;
	uint32_t nr_ballooned, capacity;
	/* Write a pattern over every deflated page and read it back before
	 * the page returns to the buddy: proves the host gave memory back. */
	bool check_deflated;
	uint64_t deflated_checked, deflated_bad;
	uint64_t stats_sent;
	/* Free page reporting (free_report.c): asked for unless reporting=0
	 * is on the command line, on when the device agreed. */
	bool want_reporting, reporting;
	struct virtq report_vq;
	uint16_t report_index;          /* the reporting queue's number */
	uint64_t report_due;            /* TSC of the next report; 0: none pending */
	uint64_t report_buffers, report_ranges, report_bytes;
	uint64_t report_ticks;          /* TSC ticks spent reporting */
};

/*
 * Finds the first virtio-balloon on the command line, negotiates VERSION_1,
 * MUST_TELL_HOST, STATS_VQ, DEFLATE_ON_OOM and (unless reporting=0)
 * REPORTING, sets up the queues, starts the stats buffer and reports
 * actual 0. The ballooned-PFN list comes from
 * the guest's buddy (ram_init first).
 */
bool vballoon_init(struct vballoon *b, const char **why);
/*
 * Resets the device (after it asked for one with NEEDS_RESET) and sets it
 * up again as vballoon_init does. Pages ballooned before stay ballooned:
 * the host keeps them across the reset and they deflate as usual.
 */
bool vballoon_reset(struct vballoon *b, const char **why);
/* The host's target (num_pages), in 4 KiB pages: one register read. */
uint32_t vballoon_target(struct vballoon *b);
/*
 * Inflates by up to nr pages; returns how many were ballooned, which is
 * fewer when the guest runs out of free RAM. -1 if the device stopped
 * answering (*why set).
 */
long vballoon_inflate(struct vballoon *b, uint32_t nr, const char **why);
/* Deflates by up to nr pages (host told first); returns how many, or -1. */
long vballoon_deflate(struct vballoon *b, uint32_t nr, const char **why);
/* Writes actual (the ballooned page count) to the config space. */
void vballoon_update_actual(struct vballoon *b);
/* If the host used the stats buffer, refills it and hands it back. */
void vballoon_poll_stats(struct vballoon *b);
/*
 * DEFLATE_ON_OOM: when the guest needs nr more free frames than its buddy
 * has, deflates up to that many (only if the feature was negotiated).
 * Returns the pages deflated.
 */
long vballoon_deflate_on_oom(struct vballoon *b, uint32_t nr);

/* ---- free_report.c: free page reporting ------------------------------- */

/* When REPORTING was negotiated: the reporting queue, number index. */
bool vballoon_report_setup(struct vballoon *b, uint16_t index, const char **why);
/* Reports every free block of at least 2 MiB not yet reported, now: the
 * ranges reported (0 without the feature), or -1 (*why) if the device
 * stopped answering. */
long vballoon_report_now(struct vballoon *b, const char **why);
/* Called often from the guest's loop: reports once REPORT_DELAY_US have
 * passed since a free block of reporting size formed. False (*why) if the
 * device stopped answering. */
bool vballoon_report_poll(struct vballoon *b, const char **why);

#endif

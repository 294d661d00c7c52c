/*
 * The guest's own RAM, managed by the buddy core from mm/ (linked
 * freestanding): one zone per usable range of the memory map. Each zone's
 * frame descriptors (16 bytes per 4 KiB frame) and pageblock bytes sit at
 * the start of its range, zeroed here as buddy_zone_init wants; the frames
 * after them are the zone. See virtio_balloon.h.
 *
 * Free page reporting's bookkeeping is here too, where every allocation
 * passes: one bit per pageblock (2 MiB) of each zone, after the pageblock
 * bytes, set once the whole pageblock was reported free and cleared when
 * any frame of it is handed out again; and a flag raised when a free
 * block of reporting size forms, which starts the report's delay.
 */
#include "internal.h"
#include "virtio_balloon.h"
#include "../mm/buddy.h"

#define RAM_MAX_ZONES 16
/* A range too small to be worth its descriptors is left alone. */
#define RAM_MIN_FRAMES 64
#define RAM_HUGE_BYTES ((uint64_t)RAM_HUGE_FRAMES * PAGE_SIZE)

struct ram_zone {
	struct buddy_zone z;
	uint64_t base;                  /* GPA of zone frame 0 */
	uint8_t *reported;              /* one bit per pageblock */
};

static struct ram_zone zones[RAM_MAX_ZONES];
static unsigned nzones;
/* A free block of at least RAM_HUGE_ORDER formed since the last look:
 * everything is free at boot, so it starts raised (Linux reports a
 * guest's free memory once its driver registers, too). */
static bool report_wanted = true;

static uint64_t reported_bytes(uint64_t nf)
{
	return (buddy_nr_pageblocks((uint32_t)nf) + 7) / 8;
}

static uint64_t meta_pages(uint64_t nf)
{
	uint64_t bytes = buddy_frames_bytes((uint32_t)nf) + buddy_nr_pageblocks((uint32_t)nf) +
			 reported_bytes(nf);
	return (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
}

bool ram_init(const char **why)
{
	struct mem_range r[RAM_MAX_ZONES];
	unsigned n = memory_usable(r, RAM_MAX_ZONES);
	for (unsigned i = 0; i < n; i++) {
		uint64_t frames = (r[i].end - r[i].start) / PAGE_SIZE;
		/* Zone indexes are 32-bit; a larger range is cut. */
		if (frames >= FRAME_NONE)
			frames = FRAME_NONE - 1;
		uint64_t end = r[i].start + frames * PAGE_SIZE;
		uint64_t nf = frames - (frames < meta_pages(frames) ? frames : meta_pages(frames));
		while (nf && nf + meta_pages(nf) > frames)
			nf--;
		uint64_t base = r[i].start + meta_pages(nf) * PAGE_SIZE;
		/* Frame 0 on a 2 MiB boundary where the range has room, so the
		 * buddy's order-9 blocks are the host's 2 MiB pages (the balloon
		 * gives those back whole, see virtio_balloon.c). */
		uint64_t aligned = (base + RAM_HUGE_BYTES - 1) & ~(RAM_HUGE_BYTES - 1);
		if (end > aligned && end - aligned >= 2 * RAM_HUGE_BYTES) {
			base = aligned;
			nf = (end - base) / PAGE_SIZE;   /* fewer frames: the metadata fits */
		}
		if (nf < RAM_MIN_FRAMES)
			continue;
		uint64_t meta = meta_pages(nf) * PAGE_SIZE;
		uint8_t *m = (uint8_t *)(uintptr_t)r[i].start;
		memset(m, 0, meta);
		struct ram_zone *rz = &zones[nzones];
		rz->base = base;
		struct frame *frames_arr = (struct frame *)m;
		uint8_t *pb = m + buddy_frames_bytes((uint32_t)nf);
		rz->reported = pb + buddy_nr_pageblocks((uint32_t)nf);
		if (buddy_zone_init(&rz->z, "Guest", frames_arr, pb, (uint32_t)nf, MM_DEFAULT_MAX_ORDER) == 0)
			nzones++;
	}
	if (!nzones) {
		*why = "no usable RAM for the guest's buddy";
		return false;
	}
	return true;
}

static struct ram_zone *zone_of(uint64_t gpa, uint32_t *idx)
{
	for (unsigned i = 0; i < nzones; i++) {
		if (gpa >= zones[i].base && (gpa - zones[i].base) / PAGE_SIZE < zones[i].z.nr_frames) {
			*idx = (uint32_t)((gpa - zones[i].base) / PAGE_SIZE);
			return &zones[i];
		}
	}
	return NULL;
}

/* Frames [idx, idx + nr) of rz are handed out: their pageblocks hold
 * data again, not reported memory. */
static void unreport(struct ram_zone *rz, uint32_t idx, uint64_t nr)
{
	for (uint64_t pb = idx / PAGEBLOCK_FRAMES; pb <= (idx + nr - 1) / PAGEBLOCK_FRAMES; pb++)
		rz->reported[pb / 8] &= (uint8_t)~(1u << (pb % 8));
}

uint64_t ram_alloc(unsigned order)
{
	for (unsigned i = 0; i < nzones; i++) {
		long idx = buddy_alloc(&zones[i].z, order, MT_MOVABLE, FRAME_GUEST, false);
		if (idx >= 0) {
			unreport(&zones[i], (uint32_t)idx, 1ull << order);
			return zones[i].base + (uint64_t)idx * PAGE_SIZE;
		}
	}
	return 0;
}

uint64_t ram_alloc_contig(uint32_t nr)
{
	for (unsigned i = 0; i < nzones; i++) {
		long idx = buddy_alloc_contig(&zones[i].z, nr, 0, FRAME_GUEST);
		if (idx >= 0) {
			unreport(&zones[i], (uint32_t)idx, nr);
			return zones[i].base + (uint64_t)idx * PAGE_SIZE;
		}
	}
	return 0;
}

bool ram_free(uint64_t gpa, unsigned order)
{
	uint32_t idx;
	struct ram_zone *rz = zone_of(gpa, &idx);
	if (!rz || buddy_free(&rz->z, idx, order) != 0)
		return false;
	/* What the free merged into: reporting size starts the delay. */
	long head = buddy_block_head(&rz->z, idx);
	if (head >= 0 && rz->z.frames[head].order >= RAM_HUGE_ORDER)
		report_wanted = true;
	return true;
}

bool ram_split(uint64_t gpa)
{
	uint32_t idx;
	struct ram_zone *rz = zone_of(gpa, &idx);
	return rz && buddy_split_allocated(&rz->z, idx) == 0;
}

bool ram_set_state(uint64_t gpa, enum frame_state st)
{
	uint32_t idx;
	struct ram_zone *rz = zone_of(gpa, &idx);
	return rz && buddy_set_state(&rz->z, idx, st) == 0;
}

uint64_t ram_total_pages(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < nzones; i++)
		n += zones[i].z.nr_frames;
	return n;
}

uint64_t ram_free_pages(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < nzones; i++)
		n += zones[i].z.nr_free_pages + zones[i].z.nr_pcp_pages;
	return n;
}

bool ram_count_states(uint64_t counts[FRAME_NR_OWNER_STATES])
{
	bool ok = true;
	for (unsigned s = 0; s < FRAME_NR_OWNER_STATES; s++)
		counts[s] = 0;
	for (unsigned i = 0; i < nzones; i++) {
		uint64_t c[FRAME_NR_OWNER_STATES];
		if (buddy_count_states(&zones[i].z, c) != 0)
			ok = false;
		for (unsigned s = 0; s < FRAME_NR_OWNER_STATES; s++)
			counts[s] += c[s];
	}
	return ok;
}

bool ram_report_wanted(void)
{
	bool w = report_wanted;
	report_wanted = false;
	return w;
}

static bool pageblock_reported(const struct ram_zone *rz, uint64_t pb)
{
	return rz->reported[pb / 8] & (1u << (pb % 8));
}

/* A free block is reported once every pageblock it covers is. */
static bool block_reported(const struct ram_zone *rz, uint32_t idx, unsigned order)
{
	for (uint64_t pb = idx / PAGEBLOCK_FRAMES; pb < (idx + (1ull << order)) / PAGEBLOCK_FRAMES; pb++)
		if (!pageblock_reported(rz, pb))
			return false;
	return true;
}

unsigned ram_unreported_free(struct ram_block *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nzones && n < max; i++) {
		struct buddy_zone *z = &zones[i].z;
		/* Largest first: the fewest ranges for the most memory. */
		for (unsigned o = z->max_order + 1; o-- > RAM_HUGE_ORDER && n < max;) {
			for (unsigned mt = 0; mt < MT_NR_TYPES && n < max; mt++) {
				for (uint32_t idx = z->area[o].head[mt]; idx != FRAME_NONE && n < max;
				     idx = z->frames[idx].next) {
					if (block_reported(&zones[i], idx, o))
						continue;
					out[n].gpa = zones[i].base + (uint64_t)idx * PAGE_SIZE;
					out[n].bytes = PAGE_SIZE << o;
					n++;
				}
			}
		}
	}
	return n;
}

void ram_mark_reported(uint64_t gpa, uint64_t bytes)
{
	uint32_t idx;
	struct ram_zone *rz = zone_of(gpa, &idx);
	if (!rz || idx % PAGEBLOCK_FRAMES)
		return;
	for (uint64_t pb = idx / PAGEBLOCK_FRAMES; pb < (idx + bytes / PAGE_SIZE) / PAGEBLOCK_FRAMES; pb++)
		rz->reported[pb / 8] |= (uint8_t)(1u << (pb % 8));
}

uint64_t ram_reported_misplaced(uint64_t *reported_pages)
{
	uint64_t bad = 0, pages = 0;
	for (unsigned i = 0; i < nzones; i++) {
		struct buddy_zone *z = &zones[i].z;
		for (uint64_t pb = 0; pb < z->nr_pageblocks; pb++) {
			if (!pageblock_reported(&zones[i], pb))
				continue;
			pages += PAGEBLOCK_FRAMES;
			long head = buddy_block_head(z, (uint32_t)(pb * PAGEBLOCK_FRAMES));
			const struct frame *f = head >= 0 ? &z->frames[head] : NULL;
			if (!f || frame_state_get(f) != FRAME_FREE || !(f->flags & FRAME_F_BUDDY) ||
			    f->order < RAM_HUGE_ORDER)
				bad++;
		}
	}
	if (reported_pages)
		*reported_pages = pages;
	return bad;
}

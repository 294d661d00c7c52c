/*
 * The guest's own RAM, managed by the buddy core from mm/ (linked
 * freestanding): one zone per usable range of the memory map. Each zone's
 * frame descriptors (16 bytes per 4 KiB frame) and pageblock bytes sit at
 * the start of its range, zeroed here as buddy_zone_init wants; the frames
 * after them are the zone. See virtio_balloon.h.
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
};

static struct ram_zone zones[RAM_MAX_ZONES];
static unsigned nzones;

static uint64_t meta_pages(uint64_t nf)
{
	uint64_t bytes = buddy_frames_bytes((uint32_t)nf) + buddy_nr_pageblocks((uint32_t)nf);
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

uint64_t ram_alloc(unsigned order)
{
	for (unsigned i = 0; i < nzones; i++) {
		long idx = buddy_alloc(&zones[i].z, order, MT_MOVABLE, FRAME_GUEST, false);
		if (idx >= 0)
			return zones[i].base + (uint64_t)idx * PAGE_SIZE;
	}
	return 0;
}

uint64_t ram_alloc_contig(uint32_t nr)
{
	for (unsigned i = 0; i < nzones; i++) {
		long idx = buddy_alloc_contig(&zones[i].z, nr, 0, FRAME_GUEST);
		if (idx >= 0)
			return zones[i].base + (uint64_t)idx * PAGE_SIZE;
	}
	return 0;
}

bool ram_free(uint64_t gpa, unsigned order)
{
	uint32_t idx;
	struct ram_zone *rz = zone_of(gpa, &idx);
	return rz && buddy_free(&rz->z, idx, order) == 0;
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

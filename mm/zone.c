/*
 * One zone of an arena: its file (shmem for Normal, on THP when the host
 * allows, thp_file.h; a hugetlb memfd for Huge), the
 * direct map of it, aligned as the slab needs, the frame descriptors and
 * pageblock types, and its buddy zone over them; and the zones' names.
 * Which zones an arena has is arena.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/memfd.h>
#include "thp_file.h"
#include "zone.h"

static const char *const zone_names[MM_NR_ZONES] = { "Normal", "Huge" };

const char *mm_zone_name(enum mm_zone_id id)
{
	return (unsigned)id < MM_NR_ZONES ? zone_names[id] : "?";
}

const char *mm_zone_backing(const struct mm_zone *z)
{
	return z->id == ZONE_HUGE ? "hugetlb" : z->thp ? "thp" : "4k";
}

/* Zone Normal's file as backing asks: the THP file, or a memfd when that
 * is not wanted or (AUTO) not to be had. -errno when THP was required. */
static int zone_normal_file(struct mm_arena *a, enum mm_normal_backing backing, bool *thp)
{
	char why[128] = "";

	*thp = false;
	if (backing != MM_NORMAL_4K) {
		int fd = mm_thp_file_open(why, sizeof(why));
		if (fd >= 0) {
			*thp = true;
			snprintf(a->normal_status, sizeof(a->normal_status),
				 "zone Normal on transparent huge pages (tmpfs huge=advise)");
			return fd;
		}
		if (backing == MM_NORMAL_THP) {
			snprintf(a->normal_status, sizeof(a->normal_status),
				 "zone Normal cannot have transparent huge pages: %s", why);
			return fd;
		}
	}
	int fd = memfd_create("memvisor-normal", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (backing == MM_NORMAL_4K)
		snprintf(a->normal_status, sizeof(a->normal_status), "zone Normal on 4 KiB pages (asked for)");
	else
		snprintf(a->normal_status, sizeof(a->normal_status),
			 "zone Normal on 4 KiB pages: no transparent huge pages (%s)", why);
	return fd;
}

/*
 * Maps the whole memfd at an address aligned to `align`: a PROT_NONE
 * reservation one alignment larger, the file mapped MAP_FIXED inside, the
 * slack unmapped. The slab finds a slab's start by masking addresses, which
 * needs max-order blocks aligned in virtual memory as they are in frames.
 */
static void *map_aligned(int fd, size_t bytes, size_t align)
{
	size_t span = bytes + align;
	uint8_t *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (r == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1));
	if (mmap(p, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		int err = errno;
		munmap(r, span);
		errno = err;
		return NULL;
	}
	if (p > r)
		munmap(r, (size_t)(p - r));
	if (r + span > p + bytes)
		munmap(p + bytes, (size_t)(r + span - (p + bytes)));
	return p;
}

void mm_zone_teardown(struct mm_zone *z)
{
	if (!z->present)
		return;
	munmap(z->base, z->bytes);
	munmap(z->frames_map, z->frames_map_bytes);
	close(z->memfd);
	z->present = false;
}

int mm_zone_setup(struct mm_arena *a, enum mm_zone_id id, size_t bytes, uint64_t base_hfn,
		  enum mm_normal_backing backing)
{
	struct mm_zone *z = &a->zone[id];
	bool huge = id == ZONE_HUGE;
	uint32_t nr_frames = (uint32_t)(bytes >> PAGE_SHIFT);
	size_t align = PAGE_SIZE << a->max_order;
	int err;

	if (huge && align < HUGE_PAGE_SIZE)
		align = HUGE_PAGE_SIZE;
	bool thp = false;
	int fd = huge ? memfd_create("memvisor-huge", MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB)
		      : zone_normal_file(a, backing, &thp);
	if (fd < 0)
		return huge ? -errno : fd;
	if (ftruncate(fd, (off_t)bytes) < 0) {
		err = -errno;
		goto out_close;
	}
	/* For hugetlb this mmap also reserves the pages: ENOMEM if the pool is short. */
	uint8_t *base = map_aligned(fd, bytes, align);
	if (!base) {
		err = -errno;
		goto out_close;
	}
	/* The direct map holds the VMM's own pages (slab, p2m tables): 4 KiB
	 * each, whatever the file could give (huge=advise already says so;
	 * this keeps it so if a host's shmem_enabled forces huge pages). */
	if (thp)
		madvise(base, bytes, MADV_NOHUGEPAGE);
	/* Descriptors, pageblock types and compaction's skip hints (a byte per
	 * pageblock each) in one zero-filled anonymous mapping: pages of it the
	 * buddy never writes are never backed. */
	size_t fm_bytes = buddy_frames_bytes(nr_frames) + 2 * (size_t)buddy_nr_pageblocks(nr_frames);
	fm_bytes = (fm_bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	void *fm = mmap(NULL, fm_bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (fm == MAP_FAILED) {
		err = -errno;
		goto out_unmap;
	}
	struct frame *frames = fm;
	uint8_t *pageblock_mt = (uint8_t *)fm + buddy_frames_bytes(nr_frames);
	if (buddy_zone_init(&z->buddy, mm_zone_name(id), frames, pageblock_mt, nr_frames,
			    a->max_order)) {
		err = -EINVAL;
		munmap(fm, fm_bytes);
		goto out_unmap;
	}
	z->compact.skip = pageblock_mt + buddy_nr_pageblocks(nr_frames);
	z->id = id;
	z->memfd = fd;
	z->thp = thp;
	z->base = base;
	z->bytes = bytes;
	z->base_hfn = base_hfn;
	z->frames_map = fm;
	z->frames_map_bytes = fm_bytes;
	z->arena = a;
	z->present = true;
	return 0;

out_unmap:
	munmap(base, bytes);
out_close:
	close(fd);
	return err;
}

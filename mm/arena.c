/*
 * The frame arena: creates and destroys zone Normal (a shmem memfd) and zone
 * Huge (a hugetlb memfd, when the host's pool has room), each with its
 * direct map, its frame descriptors, its buddy zone and its per-thread frame
 * caches. Nothing above the frames: mm_create (mm.c) puts the slab and
 * kmalloc on top. Also the arena-wide I1 check and the address-to-zone
 * lookup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/memfd.h>
#include "arena.h"

#define HUGE_POOL "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static const char *const zone_names[MM_NR_ZONES] = { "Normal", "Huge" };

static long sysfs_read_ulong(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	return end == buf || v < 0 ? -1 : v;
}

/* 2 MiB pages nobody has reserved yet; 0 if the pool cannot be read. */
static long huge_pool_available(void)
{
	long free_pages = sysfs_read_ulong(HUGE_POOL "free_hugepages");
	long resv = sysfs_read_ulong(HUGE_POOL "resv_hugepages");

	if (free_pages < 0 || resv < 0 || resv >= free_pages)
		return 0;
	return free_pages - resv;
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

static void zone_teardown(struct mm_zone *z)
{
	if (!z->present)
		return;
	munmap(z->base, z->bytes);
	munmap(z->frames_map, z->frames_map_bytes);
	close(z->memfd);
	z->present = false;
}

static int zone_setup(struct mm_arena *a, enum mm_zone_id id, size_t bytes, uint64_t base_hfn)
{
	struct mm_zone *z = &a->zone[id];
	bool huge = id == ZONE_HUGE;
	uint32_t nr_frames = (uint32_t)(bytes >> PAGE_SHIFT);
	size_t align = PAGE_SIZE << a->max_order;
	int err;

	if (huge && align < HUGE_PAGE_SIZE)
		align = HUGE_PAGE_SIZE;
	int fd = memfd_create(huge ? "memvisor-huge" : "memvisor-normal",
			      MFD_CLOEXEC | (huge ? MFD_HUGETLB | MFD_HUGE_2MB : 0));
	if (fd < 0)
		return -errno;
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
	/* Descriptors and pageblock types in one zero-filled anonymous mapping:
	 * pages of it the buddy never writes are never backed. */
	size_t fm_bytes = buddy_frames_bytes(nr_frames) + buddy_nr_pageblocks(nr_frames);
	fm_bytes = (fm_bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	void *fm = mmap(NULL, fm_bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (fm == MAP_FAILED) {
		err = -errno;
		goto out_unmap;
	}
	struct frame *frames = fm;
	uint8_t *pageblock_mt = (uint8_t *)fm + buddy_frames_bytes(nr_frames);
	if (buddy_zone_init(&z->buddy, zone_names[id], frames, pageblock_mt, nr_frames,
			    a->max_order)) {
		err = -EINVAL;
		munmap(fm, fm_bytes);
		goto out_unmap;
	}
	z->id = id;
	z->memfd = fd;
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

/*
 * Zone Huge by the config's mode. Returns 0 when the arena may go on (with
 * or without the zone; huge_status says which and why), -errno when
 * MM_HUGE_ON cannot be honoured.
 */
static int zone_huge_setup(struct mm_arena *a, const struct mm_arena_config *cfg, size_t bytes,
			   uint64_t base_hfn)
{
	char *st = a->huge_status;
	size_t st_len = sizeof(a->huge_status);
	size_t pages = bytes / HUGE_PAGE_SIZE;

	if (!bytes) {
		snprintf(st, st_len, "zone Huge: off (not requested)");
		return 0;
	}
	if (cfg->huge == MM_HUGE_OFF) {
		snprintf(st, st_len, "zone Huge: off (huge pages turned off)");
		return 0;
	}
	long avail = huge_pool_available();
	if ((unsigned long)avail < pages) {
		snprintf(st, st_len, "zone Huge: off (hugetlb pool has %ld free 2 MiB pages, %zu needed)",
			 avail, pages);
		return cfg->huge == MM_HUGE_ON ? -ENOMEM : 0;
	}
	int rc = zone_setup(a, ZONE_HUGE, bytes, base_hfn);
	if (rc) {
		/* Someone took the pages between the check and the reservation,
		 * or hugetlbfs is not there at all. */
		snprintf(st, st_len, "zone Huge: off (reserving %zu 2 MiB pages failed: %s)", pages,
			 strerror(-rc));
		return cfg->huge == MM_HUGE_ON ? rc : 0;
	}
	snprintf(st, st_len, "zone Huge: on (%zu MiB, %zu 2 MiB pages)", bytes >> 20, pages);
	return 0;
}

/* Rounds up to a multiple of unit; 0 if the result or its frame count is too big. */
static size_t zone_bytes(size_t bytes, size_t unit)
{
	if (bytes > SIZE_MAX - (unit - 1))
		return 0;
	bytes = (bytes + unit - 1) & ~(unit - 1);
	return (bytes >> PAGE_SHIFT) >= FRAME_NONE ? 0 : bytes;
}

static void arena_free(struct mm_arena *a)
{
	for (int id = MM_NR_ZONES - 1; id >= 0; id--) {
		mm_pcp_destroy(&a->zone[id]);
		zone_teardown(&a->zone[id]);
	}
	free(a);
}

int mm_arena_create(const struct mm_arena_config *cfg, struct mm_arena **out)
{
	if (!cfg || !out || cfg->normal_bytes == 0 || cfg->max_order > MM_MAX_ORDER_LIMIT ||
	    (unsigned)cfg->huge > MM_HUGE_OFF)
		return -EINVAL;
	size_t normal = zone_bytes(cfg->normal_bytes, PAGE_SIZE);
	size_t huge = cfg->huge_bytes ? zone_bytes(cfg->huge_bytes, HUGE_PAGE_SIZE) : 0;
	if (!normal || (cfg->huge_bytes && !huge))
		return -E2BIG;

	struct mm_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->max_order = cfg->max_order ? cfg->max_order : MM_DEFAULT_MAX_ORDER;
	for (int id = 0; id < MM_NR_ZONES; id++) {
		a->zone[id].id = (enum mm_zone_id)id;
		a->zone[id].memfd = -1;
		a->zone[id].arena = a;
	}

	int rc = zone_setup(a, ZONE_NORMAL, normal, 0);
	if (!rc)
		rc = zone_huge_setup(a, cfg, huge, normal >> PAGE_SHIFT);
	for (int id = 0; !rc && id < MM_NR_ZONES; id++)
		if (a->zone[id].present)
			rc = mm_pcp_init(&a->zone[id]);
	if (rc) {
		arena_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void mm_arena_destroy(struct mm_arena *a)
{
	if (a)
		arena_free(a);
}

struct mm_zone *mm_arena_zone_of(struct mm_arena *a, const void *p)
{
	for (int id = 0; id < MM_NR_ZONES; id++)
		if (mm_zone_contains(&a->zone[id], p))
			return &a->zone[id];
	return NULL;
}

/*
 * The per-thread caches publish what they hold to nr_pcp_pages only when
 * they take the zone lock; bring every slot's share up to date first so the
 * I1 count compares against what the caches hold now.
 */
static void pcp_publish_all(struct mm_zone *z)
{
	if (!z->pcp)
		return;
	buddy_lock(&z->buddy);
	for (unsigned t = 0; t < MM_MAX_THREADS; t++) {
		struct pcp_slot *s = &z->pcp[t];
		uint64_t now = __atomic_load_n(&s->frames, __ATOMIC_RELAXED);
		z->buddy.nr_pcp_pages += now - s->frames_synced;
		s->frames_synced = now;
	}
	buddy_unlock(&z->buddy);
}

int mm_arena_check_frames(struct mm_arena *a, uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES])
{
	int rc = 0;

	for (int id = 0; id < MM_NR_ZONES; id++) {
		struct mm_zone *z = &a->zone[id];
		if (!z->present) {
			for (int s = 0; s < FRAME_NR_OWNER_STATES; s++)
				counts[id][s] = 0;
			continue;
		}
		pcp_publish_all(z);
		int r = buddy_count_states(&z->buddy, counts[id]);
		if (r && !rc)
			rc = r;
	}
	return rc;
}

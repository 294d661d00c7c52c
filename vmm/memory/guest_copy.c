/*
 * Copying guest pages to other frames for compaction, verified: the XXH3 of
 * each 4 KiB page of the copy is compared with the source's, so a frame
 * that does not hold what the guest left in the old one is never mapped.
 * Two ways: by the kernel, from the guest's view into the zone's memfd and
 * read back into a small buffer to check, or through the direct map. Also
 * the tests' hook that corrupts copies on demand (guest_compact.h).
 *
 * Why the kernel: a target frame has no page tables in this process (the
 * direct map only gets them when touched), and touching a page of a user
 * mapping for the first time costs more than copying it, several times
 * more on a paravirtualized host; pwrite and pread copy through the
 * kernel's own mapping of the memory, and the buffer they read back into
 * stays mapped and in cache. The source is read where the guest's accesses
 * left page tables: its view. The target's pages are allocated first with
 * one fallocate, which costs a fraction of what a pwrite into holes does
 * (the write path allocates page by page).
 *
 * A whole aligned 2 MiB block on a THP file goes through a window instead:
 * the block mapped huge in a reserved 2 MiB of address space, populated at
 * once (one huge page, one page-table entry), copied into with memcpy and
 * checked in place. The view then maps the same huge page, so the range is
 * one 2 MiB host page for KVM's second stage too.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>
#include <string.h>
#include "mm/kmalloc.h"
#include "vmm/memory/guest_compact.h"
#include "vmm/memory/guest_mem_internal.h"

/* The read-back buffer of gm_copy_to_frames: big enough that its system
 * calls cost little beside the copy, small enough to stay in cache. */
#define GM_COPY_BUF (256u << 10)
/* Shorter sources are left to fault: a fault costs about what the madvise
 * that spares it does. */
#define GM_COPY_POPULATE_MIN 8
/* Shorter runs are copied through the direct map: for a page or two the
 * two system calls cost more than its faults. */
#define GM_COPY_KERNEL_MIN 4

int guest_compact_corrupt_copies;

/* Takes one from the hook's count if it is armed. */
static bool gm_copy_corrupt_now(void)
{
	int n = __atomic_load_n(&guest_compact_corrupt_copies, __ATOMIC_RELAXED);

	while (n > 0)
		if (__atomic_compare_exchange_n(&guest_compact_corrupt_copies, &n, n - 1, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
	return false;
}

int gm_copy_pages_checked(uint8_t *dst, const uint8_t *src, uint64_t pages)
{
	memcpy(dst, src, pages << PAGE_SHIFT);
	if (gm_copy_corrupt_now())
		dst[(pages << PAGE_SHIFT) / 2] ^= 0x5a;
	/* Page by page, so a bad copy says nothing about a good neighbour's
	 * hash and the cost stays one pass over cached data per page. */
	for (uint64_t i = 0; i < pages; i++) {
		size_t off = (size_t)i << PAGE_SHIFT;
		if (XXH3_64bits(src + off, PAGE_SIZE) != XXH3_64bits(dst + off, PAGE_SIZE))
			return -EIO;
	}
	return 0;
}

/* All of len bytes, or -errno. */
static int gm_pio(int fd, void *buf, size_t len, off_t off, bool write)
{
	while (len) {
		ssize_t n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (uint8_t *)buf + n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The window's 2 MiB of address space, reserved on first use. */
static uint8_t *gm_copy_window(struct guest_mem *gm)
{
	if (gm->copy_window)
		return gm->copy_window;
	size_t len = 2 * HUGE_PAGE_SIZE;
	uint8_t *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uint8_t *w = (uint8_t *)(((uintptr_t)p + HUGE_PAGE_SIZE - 1) & ~(uintptr_t)(HUGE_PAGE_SIZE - 1));
	if (w > p)
		munmap(p, (size_t)(w - p));
	munmap(w + HUGE_PAGE_SIZE, (size_t)(p + len - (w + HUGE_PAGE_SIZE)));
	gm->copy_window = w;
	return w;
}

void gm_copy_window_drop(struct guest_mem *gm)
{
	if (gm->copy_window)
		munmap(gm->copy_window, HUGE_PAGE_SIZE);
	gm->copy_window = NULL;
}

/* The aligned 2 MiB block from dst through the window: -errno when the
 * window cannot map it (the caller copies by the kernel then), -EIO on a
 * mismatch. */
static int gm_copy_block_huge(struct guest_mem *gm, struct mm_zone *z, uint32_t dst,
			      const uint8_t *src)
{
	uint8_t *w = gm_copy_window(gm);

	if (!w)
		return -ENOMEM;
	int rc = gm_view_map(w, HUGE_PAGE_SIZE, z, dst);
	if (rc)
		return rc;
	gm_populate(w, HUGE_PAGE_SIZE, true);
	return gm_copy_pages_checked(w, src, GM_HUGE_FRAMES);
}

int gm_copy_to_frames(struct guest_mem *gm, struct mm_zone *z, uint32_t dst, const uint8_t *src,
		      uint64_t pages, uint64_t *done)
{
	*done = 0;
	if (z->thp && pages == GM_HUGE_FRAMES && !(dst & (GM_HUGE_FRAMES - 1))) {
		int rc = gm_copy_block_huge(gm, z, dst, src);
		if (rc != -ENOMEM && rc != -EINVAL) {
			*done = rc ? 0 : pages;
			return rc;
		}
	}
	if (!gm->copy_buf && pages >= GM_COPY_KERNEL_MIN)
		gm->copy_buf = kvmalloc(gm->arena, GM_COPY_BUF);
	if (!gm->copy_buf || pages < GM_COPY_KERNEL_MIN) {
		/* Page by page through the direct map: a short run, or no
		 * buffer. */
		for (; *done < pages; ++*done) {
			int rc = gm_copy_pages_checked(mm_frame_ptr(z, dst + (uint32_t)*done),
						       src + (*done << PAGE_SHIFT), 1);
			if (rc)
				return rc;
		}
		return 0;
	}
	while (*done < pages) {
		uint64_t n = pages - *done, max = GM_COPY_BUF >> PAGE_SHIFT;
		n = n < max ? n : max;
		const uint8_t *from = src + (*done << PAGE_SHIFT);
		off_t off = (off_t)(dst + *done) << PAGE_SHIFT;
		size_t len = (size_t)n << PAGE_SHIFT;
		/* The source's page tables at once where the guest's view has
		 * none yet (a run remapped earlier in this compaction), rather
		 * than a fault per page inside pwrite. */
		if (n >= GM_COPY_POPULATE_MIN)
			gm_populate((void *)from, len, false);
		/* Best effort: what it does not allocate, the write does. */
		fallocate(z->memfd, 0, off, (off_t)len);
		/* The pwrite source is the guest's memory, which the kernel only
		 * reads; the cast is pwrite's const-less prototype. */
		int rc = gm_pio(z->memfd, (void *)from, len, off, true);
		if (!rc && gm_copy_corrupt_now()) {
			uint8_t bad = (uint8_t)(from[len / 2] ^ 0x5a);
			rc = gm_pio(z->memfd, &bad, 1, off + (off_t)(len / 2), true);
		}
		if (!rc)
			rc = gm_pio(z->memfd, gm->copy_buf, len, off, false);
		if (rc)
			return rc;
		for (uint64_t i = 0; i < n; i++, ++*done) {
			size_t at = (size_t)i << PAGE_SHIFT;
			if (XXH3_64bits(from + at, PAGE_SIZE) !=
			    XXH3_64bits((uint8_t *)gm->copy_buf + at, PAGE_SIZE))
				return -EIO;
		}
	}
	return 0;
}

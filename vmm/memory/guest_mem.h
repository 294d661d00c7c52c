/*
 * Guest RAM, built from the arena (DESIGN.md memory model 3-5): the x86
 * layout of QEMU and Firecracker — RAM from GPA 0 up to 3 GiB, the 32-bit
 * MMIO hole above it, the rest from 4 GiB — one region per piece, each with
 * a 2 MiB-aligned guest view (the host range a KVM memslot points at) and
 * one memslot; the p2m says which frame backs every GFN.
 *
 * A region is contiguous when the buddy finds one run of frames for it (zone
 * Huge first: one mmap of the run, 2 MiB host pages, 2 MiB p2m leaves), else
 * scattered: the largest free blocks are stitched into the view with
 * MAP_FIXED, as vmalloc does (zone Huge only in whole 2 MiB pages). Guest
 * frames are FRAME_GUEST; a block's head frame has owner = its GFN.
 *
 * vmm/memory/ owns guest RAM: regions, views, the p2m per guest, remap and
 * punch, ballooned frames (balloon_mem.h) and the arena's sizing
 * (arena_size.h). It uses mm/ and vmm/config/ (plain data), nothing else.
 *
 * Every change of what backs a GPA goes through the host mapping, so KVM's
 * MMU notifiers zap the second-stage entries (remap, punch below). Functions
 * return 0 or a negative errno.
 */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/arena.h"
#include "mm/p2m.h"

/*
 * RAM stops below the 32-bit MMIO hole 0xc0000000-0xffffffff, which holds
 * QEMU microvm's virtio-mmio window (0xfeb00000), the IOAPIC (0xfec00000)
 * and the LAPIC (0xfee00000); the rest starts at 4 GiB.
 */
#define GUEST_MEM_LOW_END     0xc0000000ULL
#define GUEST_MEM_HIGH_BASE   0x100000000ULL
#define GUEST_MEM_MAX_REGIONS 2
/* KVM memslots used: region i is slot GUEST_MEM_FIRST_SLOT + i. */
#define GUEST_MEM_FIRST_SLOT  0

/* What a region is, as the monitor and the tests see it. */
struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;                         /* the guest view */
	bool contiguous;                      /* one run of frames, one mapping */
	enum mm_zone_id zone;                 /* where (most of) its frames are */
	const char *backing;                  /* that zone's host pages: mm_zone_backing */
	uint64_t zone_bytes[MM_NR_ZONES];     /* bytes from each zone */
	uint64_t nr_mappings;                 /* host mappings the view costs now (I4) */
};

struct guest_mem;

/*
 * Builds ram_bytes (a multiple of 4 KiB) of guest RAM. huge: MM_HUGE_ON
 * takes every frame from zone Huge and fails when it is absent or too small
 * (the size must then be whole 2 MiB pages); MM_HUGE_AUTO uses zone Huge
 * when it has room for a region, else zone Normal (and zone Huge's free
 * 2 MiB blocks if Normal is short); MM_HUGE_OFF uses zone Normal only.
 * On failure why (if not NULL) says why in one line.
 */
int guest_mem_create(struct mm_arena *a, uint64_t ram_bytes, enum mm_huge_mode huge,
		     struct guest_mem **out, char *why, size_t why_len);
/*
 * Unmaps the views and gives every frame back (I3 holds after, once the
 * caller's own allocations are gone). Call it after the VM's vCPUs have
 * stopped: the memslots still name the views.
 */
void guest_mem_destroy(struct guest_mem *gm);

unsigned guest_mem_nr_regions(const struct guest_mem *gm);
/* A snapshot of region i (its mapping count can change under remaps). */
int guest_mem_region(struct guest_mem *gm, unsigned i, struct guest_mem_region *out);
uint64_t guest_mem_ram_bytes(const struct guest_mem *gm);
struct p2m *guest_mem_p2m(struct guest_mem *gm);
struct mm_arena *guest_mem_arena(struct guest_mem *gm);

/*
 * The host address of [gpa, gpa + len) when all of it is RAM of one region,
 * else NULL. gpa and len come from the guest: any value is safe. len 0
 * asks about gpa alone.
 */
void *guest_mem_hva(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* One KVM_SET_USER_MEMORY_REGION per region (slots from GUEST_MEM_FIRST_SLOT). */
int guest_mem_register(struct guest_mem *gm, int vm_fd);

/*
 * Moves one guest page to another frame: a new frame gets contents (4 KiB)
 * or, with contents NULL, a copy of the old page; then it is mapped
 * MAP_FIXED over that page of the view (KVM zaps its entries), the p2m
 * follows, and the old frame goes back to the buddy. In zone Huge the whole
 * 2 MiB page moves (a view can map hugetlb only in whole pages); contents
 * then fill the 4 KiB at gfn and the rest is copied. -ENOSPC if the view
 * would exceed its host mapping budget (nothing changes then).
 * Safe while vCPUs run; a guest write to the page during the copy may be
 * lost, so callers that need every byte pause the vCPUs first.
 */
int guest_mem_remap_page(struct guest_mem *gm, uint64_t gfn, const void *contents);
/*
 * Punches the backing of gfn's frame out of its zone's memfd (the whole
 * 2 MiB page in zone Huge): the guest reads zeros, and a later write gets a
 * fresh host page. The frame stays the guest's; the p2m marks it punched.
 */
int guest_mem_punch_page(struct guest_mem *gm, uint64_t gfn);

/* One line: "RAM 256 MiB contiguous in zone Huge" (or per region);
 * guest_mem_describe.c. */
void guest_mem_describe(struct guest_mem *gm, char *buf, size_t len);

/*
 * The p2m as text (p2m_format), snprintf-style: per region a header line
 *   region 0: GPA 0x0-0x3ffffff 64M contiguous zone Huge, 1 host mapping
 * then that region's leaf runs and totals, then the table pages.
 */
size_t guest_mem_format_p2m(struct guest_mem *gm, char *buf, size_t len);

#endif

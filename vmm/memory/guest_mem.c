/*
 * Guest memory as a whole: the x86 layout of the regions around the 32-bit
 * MMIO hole, creating and destroying them, the guest-address lookups device
 * emulation uses, the KVM memslots, and the p2m dump per region. Building a
 * region is guest_region.c's; remap and punch are guest_inval.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>
#include "vmm/memory/guest_mem_internal.h"
#include "mm/kmalloc.h"
#include "mm/textbuf.h"

/* The high region must end inside the p2m's 48-bit guest physical space. */
#define GM_MAX_RAM ((P2M_GFN_LIMIT << PAGE_SHIFT) - (GUEST_MEM_HIGH_BASE - GUEST_MEM_LOW_END))

struct gm_region *gm_region_of(struct guest_mem *gm, uint64_t gfn)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		struct gm_region *r = &gm->region[i];
		uint64_t first = r->gpa >> PAGE_SHIFT;
		if (gfn >= first && gfn - first < r->size >> PAGE_SHIFT)
			return r;
	}
	return NULL;
}

int guest_mem_create(struct mm_arena *a, uint64_t ram_bytes, enum mm_huge_mode huge,
		     struct guest_mem **out, char *why, size_t why_len)
{
	if (why && why_len)
		why[0] = '\0';
	if (!a || !out || (unsigned)huge > MM_HUGE_OFF)
		return gm_fail(why, why_len, -EINVAL, "bad arguments");
	if (ram_bytes == 0 || (ram_bytes & (PAGE_SIZE - 1)))
		return gm_fail(why, why_len, -EINVAL, "guest RAM must be a positive multiple of "
			       "4 KiB (asked for %" PRIu64 " bytes)", ram_bytes);
	if (ram_bytes > GM_MAX_RAM)
		return gm_fail(why, why_len, -E2BIG, "guest RAM of %" PRIu64 " bytes does not fit "
			       "in 48-bit guest physical addresses", ram_bytes);

	struct guest_mem *gm = kzalloc(a, sizeof(*gm));
	if (!gm)
		return gm_fail(why, why_len, -ENOMEM, "no memory for the guest memory record");
	gm->arena = a;
	gm->ram_bytes = ram_bytes;
	pthread_mutex_init(&gm->lock, NULL);
	int rc = p2m_create(a, &gm->p2m);
	if (rc) {
		pthread_mutex_destroy(&gm->lock);
		kfree(a, gm);
		return gm_fail(why, why_len, rc, "cannot create the p2m: %s", strerror(-rc));
	}
	uint64_t low = ram_bytes < GUEST_MEM_LOW_END ? ram_bytes : GUEST_MEM_LOW_END;
	gm->region[gm->nr_regions++] = (struct gm_region){ .gpa = 0, .size = low };
	if (ram_bytes > low)
		gm->region[gm->nr_regions++] = (struct gm_region){ .gpa = GUEST_MEM_HIGH_BASE,
								   .size = ram_bytes - low };
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		rc = gm_region_build(gm, &gm->region[i], huge, why, why_len);
		if (rc) {
			guest_mem_destroy(gm);
			return rc;
		}
	}
	*out = gm;
	return 0;
}

void guest_mem_destroy(struct guest_mem *gm)
{
	if (!gm)
		return;
	for (unsigned i = 0; i < gm->nr_regions; i++)
		gm_region_teardown(gm, &gm->region[i]);
	p2m_destroy(gm->p2m);
	kvfree(gm->arena, gm->copy_buf);
	gm_copy_window_drop(gm);
	pthread_mutex_destroy(&gm->lock);
	kfree(gm->arena, gm);
}

unsigned guest_mem_nr_regions(const struct guest_mem *gm)
{
	return gm->nr_regions;
}

uint64_t guest_mem_ram_bytes(const struct guest_mem *gm)
{
	return gm->ram_bytes;
}

struct p2m *guest_mem_p2m(struct guest_mem *gm)
{
	return gm->p2m;
}

struct mm_arena *guest_mem_arena(struct guest_mem *gm)
{
	return gm->arena;
}

int guest_mem_region(struct guest_mem *gm, unsigned i, struct guest_mem_region *out)
{
	if (i >= gm->nr_regions || !out)
		return -EINVAL;
	const struct gm_region *r = &gm->region[i];
	pthread_mutex_lock(&gm->lock);
	*out = (struct guest_mem_region){
		.gpa = r->gpa, .size = r->size, .hva = r->view, .contiguous = r->contiguous,
		.zone = r->zone_bytes[ZONE_HUGE] > r->zone_bytes[ZONE_NORMAL] ? ZONE_HUGE : ZONE_NORMAL,
		.nr_mappings = r->nr_mappings,
	};
	memcpy(out->zone_bytes, r->zone_bytes, sizeof(out->zone_bytes));
	out->backing = mm_zone_backing(&gm->arena->zone[out->zone]);
	pthread_mutex_unlock(&gm->lock);
	return 0;
}

/* Regions and views never change after creation, so no lock: vCPU threads
 * call this for every device access. */
void *guest_mem_hva(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->region[i];
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t off = gpa - r->gpa;
		return len <= r->size - off ? r->view + off : NULL;
	}
	return NULL;
}

int guest_mem_register(struct guest_mem *gm, int vm_fd)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = GUEST_MEM_FIRST_SLOT + i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->view,
		};
		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
	}
	return 0;
}

size_t guest_mem_format_p2m(struct guest_mem *gm, char *buf, size_t len)
{
	struct textbuf tb = TEXTBUF_INIT(buf, len);
	char size[24], zones[96];

	if (buf && len)
		buf[0] = '\0';
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		struct guest_mem_region r;
		guest_mem_region(gm, i, &r);
		p2m_size_str(r.size, size);
		if (r.contiguous) {
			snprintf(zones, sizeof(zones), "contiguous zone %s",
				 mm_zone_name(r.zone));
		} else {
			char hs[24], ns[24];
			p2m_size_str(r.zone_bytes[ZONE_HUGE], hs);
			p2m_size_str(r.zone_bytes[ZONE_NORMAL], ns);
			snprintf(zones, sizeof(zones), "scattered (zone Normal %s, zone Huge %s)", ns, hs);
		}
		textbuf_printf(&tb, "region %u: GPA 0x%" PRIx64 "-0x%" PRIx64 " %s %s, %" PRIu64
			       " host mapping%s\n", i, r.gpa, r.gpa + r.size - 1, size, zones,
			       r.nr_mappings, r.nr_mappings == 1 ? "" : "s");
		size_t off = tb.needed < len ? tb.needed : len;
		tb.needed += p2m_format_range(gm->p2m, r.gpa >> PAGE_SHIFT, r.size >> PAGE_SHIFT,
					      buf ? buf + off : NULL, buf ? len - off : 0);
	}
	uint64_t tables = p2m_table_pages(gm->p2m);
	p2m_size_str(tables << PAGE_SHIFT, size);
	textbuf_printf(&tb, "table pages: %" PRIu64 " (%s)\n", tables, size);
	return tb.needed;
}

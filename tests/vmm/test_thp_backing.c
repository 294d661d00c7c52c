/*
 * Zone Normal on transparent huge pages (mm/thp_file.h), without KVM: the
 * arena gets its file from the namespace helper, a guest view of a
 * contiguous 2 MiB-aligned run is mapped with 2 MiB host pages while the
 * direct map (the VMM's own pages) stays 4 KiB, ballooning 4 KiB out of a
 * huge page really frees host memory, whole 2 MiB blocks go whole, and the
 * fallback to a 4 KiB memfd when namespaces are refused (forced here with
 * MEMVISOR_NO_THP_FILE=1), or a failure when THP was required.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "mm/slab.h"
#include "tests/support/test_env.h"
#include "mm/mm.h"
#include "mm/thp_file.h"
#include "vmm/memory/balloon_mem.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/memory/guest_prealloc.h"
#include "runner.h"

#define MIB (1ULL << 20)
#define GUEST (64 * MIB)

static struct mm_arena *arena_with(enum mm_normal_backing backing, int *rc)
{
	struct mm_arena_config cfg = { .normal_bytes = GUEST + 32 * MIB, .huge = MM_HUGE_OFF,
				       .normal_backing = backing };
	struct mm_arena *a = NULL;
	*rc = mm_create(&cfg, &a);
	return a;
}

/* A THP arena, or the test is skipped where this kernel has no THP at all. */
static struct mm_arena *thp_arena(void)
{
	if (access("/sys/kernel/mm/transparent_hugepage", F_OK) != 0)
		cr_skip_test("this kernel has no transparent huge pages");
	int rc;
	struct mm_arena *a = arena_with(MM_NORMAL_THP, &rc);
	cr_assert_eq(rc, 0, "THP backing: %s", strerror(-rc));
	cr_assert_str_eq(mm_zone_backing(mm_zone_get(a, ZONE_NORMAL)), "thp", "%s", a->normal_status);
	return a;
}

/* Key's kB in /proc/self/smaps for the mapping that holds addr. */
static long smaps_kb(const void *addr, const char *key)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	bool in = false;
	long v = -1;
	size_t klen = strlen(key);

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && !strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static uint64_t file_bytes(int fd)
{
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static struct guest_mem *guest(struct mm_arena *a)
{
	struct guest_mem *gm = NULL;
	char why[256];
	int rc = guest_mem_create(a, GUEST, MM_HUGE_OFF, &gm, why, sizeof(why));
	cr_assert_eq(rc, 0, "guest_mem_create: %s", why);
	return gm;
}

Test(thp_backing, a_guest_view_gets_2m_pages_and_the_direct_map_stays_4k)
{
	struct mm_arena *a = thp_arena();
	struct guest_mem *gm = guest(a);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);

	/* 16 MiB of the guest, 2 MiB-aligned: touched through the view. */
	uint8_t *v = guest_mem_hva(gm, 32 * MIB, 16 * MIB);
	cr_assert_not_null(v);
	for (uint64_t off = 0; off < 16 * MIB; off += 4096)
		v[off] = 1;
	long pmd = smaps_kb(v, "ShmemPmdMapped");
	long file_pmd = smaps_kb(v, "FilePmdMapped");
	cr_assert_geq(pmd + (file_pmd > 0 ? file_pmd : 0), (long)(16 * MIB >> 10),
		      "the view's 16 MiB are not on 2 MiB pages: ShmemPmdMapped %ld kB", pmd);
	/* The direct map, where slab pages live, maps nothing large. */
	cr_assert_eq(smaps_kb(z->base, "ShmemPmdMapped"), 0);
	guest_mem_destroy(gm);
	mm_destroy(a);
}

Test(thp_backing, ballooning_4k_inside_a_huge_page_frees_host_memory)
{
	struct mm_arena *a = thp_arena();
	/* The host memory counted here is exact to the page: SLUB's slabs
	 * already have room for the balloon's records, other policies take
	 * fresh metadata pages (and SLOB frees them) as they go. */
	test_skip_under_slab(a, "slob", "the host memory counted here is exact to the page");
	test_skip_under_slab(a, "slab", "the host memory counted here is exact to the page");
	struct guest_mem *gm = guest(a);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	cr_assert_eq(balloon_mem_attach(gm), 0);

	uint8_t *v = guest_mem_hva(gm, 32 * MIB, 4 * MIB);
	for (uint64_t off = 0; off < 4 * MIB; off += 4096)
		v[off] = 1;
	uint64_t before = file_bytes(z->memfd);
	/* One 4 KiB page out of the first huge page, then a whole 2 MiB block. */
	uint64_t g = (32 * MIB) >> 12;
	cr_assert_eq(balloon_mem_inflate(gm, g + 7), 0);
	cr_assert_eq(file_bytes(z->memfd), before - 4096, "a 4 KiB punch inside a huge page");
	uint64_t block[512];
	for (unsigned i = 0; i < 512; i++)
		block[i] = g + 512 + i;
	struct balloon_mem_result res;
	balloon_mem_inflate_batch(gm, block, 512, &res);
	cr_assert_eq(res.done, 512);
	cr_assert_eq(file_bytes(z->memfd), before - 4096 - 2 * MIB, "a whole 2 MiB block");
	struct balloon_mem_stats st;
	balloon_mem_stats(gm, &st);
	cr_assert_geq(st.host_bytes_released, (513 * 4096ULL) * 99 / 100);
	/* The rest of the first huge page still works. */
	cr_assert_eq(v[0], 1);
	cr_assert_eq(v[8 * 4096], 1);
	cr_assert_eq(balloon_mem_deflate(gm, g + 7), 0);
	balloon_mem_forget(gm);
	guest_mem_destroy(gm);
	mm_destroy(a);
}

Test(thp_backing, without_namespaces_auto_falls_back_and_thp_fails)
{
	int rc;

	setenv(MM_THP_FILE_DISABLE_ENV, "1", 1);
	struct mm_arena *a = arena_with(MM_NORMAL_AUTO, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(mm_zone_backing(mm_zone_get(a, ZONE_NORMAL)), "4k");
	cr_assert_not_null(strstr(a->normal_status, MM_THP_FILE_DISABLE_ENV), "%s", a->normal_status);
	/* A guest works on it as before. */
	struct guest_mem *gm = guest(a);
	uint8_t *v = guest_mem_hva(gm, 32 * MIB, 4096);
	v[0] = 7;
	cr_assert_eq(v[0], 7);
	guest_mem_destroy(gm);
	mm_destroy(a);

	cr_assert_null(arena_with(MM_NORMAL_THP, &rc));
	cr_assert_eq(rc, -EPERM, "rc %d", rc);
	unsetenv(MM_THP_FILE_DISABLE_ENV);

	a = arena_with(MM_NORMAL_4K, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(mm_zone_backing(mm_zone_get(a, ZONE_NORMAL)), "4k");
	mm_destroy(a);
}

/* ---- --prealloc ---- */

static void prealloc_backs_everything(enum mm_normal_backing backing)
{
	int rc;
	struct mm_arena *a = arena_with(backing, &rc);
	cr_assert_eq(rc, 0);
	struct guest_mem *gm = guest(a);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	uint64_t before = file_bytes(z->memfd);
	struct guest_prealloc_result res;

	cr_assert_eq(guest_mem_prealloc(gm, 4, &res), 0);
	cr_assert_eq(res.bytes, guest_mem_ram_bytes(gm));
	cr_assert_geq(res.threads, 1);
	cr_assert_geq(file_bytes(z->memfd), before + guest_mem_ram_bytes(gm) - 4 * MIB,
		      "%s: %llu bytes backed after preallocating %llu", mm_zone_backing(z),
		      (unsigned long long)file_bytes(z->memfd),
		      (unsigned long long)guest_mem_ram_bytes(gm));
	/* Resident in the view, so the guest's first touch finds it there. */
	uint8_t *v = guest_mem_hva(gm, 0, 4096);
	cr_assert_geq(smaps_kb(v, "Rss"), (long)((guest_mem_ram_bytes(gm) - 4 * MIB) >> 10));
	guest_mem_destroy(gm);
	mm_destroy(a);
}

Test(thp_backing, prealloc_backs_all_guest_ram_on_each_backing)
{
	prealloc_backs_everything(MM_NORMAL_4K);
	if (access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0)
		prealloc_backs_everything(MM_NORMAL_THP);
}

/* The user asked for THP and the host cannot give it: one clear line and
 * status 1, before any KVM is needed. */
Test(thp_backing, memvisor_says_why_when_thp_was_required_and_refused)
{
	struct run_result r;

	setenv(MM_THP_FILE_DISABLE_ENV, "1", 1);
	run_memvisor(&r, &(struct run_opts){ 0 },
		     (const char *const[]){ "--normal-backing", "thp", "-m", "64M",
					    test_build_path("guest/hello.elf"), NULL });
	unsetenv(MM_THP_FILE_DISABLE_ENV);
	cr_assert_eq(r.status, 1, "status %d:\n%s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "--normal-backing thp: no transparent huge pages"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, MM_THP_FILE_DISABLE_ENV), "%s", r.err);
	run_free(&r);
}

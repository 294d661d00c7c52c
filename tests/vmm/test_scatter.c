/*
 * The scattered fallback, booted: with zone Normal fragmented so that no
 * run is free, a 64 MiB guest still boots and memtest passes over all of
 * its RAM; the p2m dump shows 4 KiB leaves there, and 2 MiB leaves for a
 * contiguous region.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "fragment.h"
#include "inproc.h"
#include "runner.h"

#define MIB (1ULL << 20)

/* "total: 2M leaves N (..), 4K leaves M (..)" of region 0. */
static void p2m_totals(const char *dump, unsigned long *l2m, unsigned long *l4k)
{
	const char *t = strstr(dump, "total: 2M leaves ");
	cr_assert(t, "%s", dump);
	cr_assert_eq(sscanf(t, "total: 2M leaves %lu (%*[^)]), 4K leaves %lu", l2m, l4k), 2, "%s", t);
}

Test(scatter, fragmented_normal_boots_and_memtest_passes)
{
	struct fragmented f;
	struct inproc ip;
	unsigned long l2m, l4k;

	test_need_kvm();
	fragmented_create(&f, 160);
	inproc_create(&ip, test_build_path("guest/memtest.elf"), 64 * MIB, MM_HUGE_OFF, NULL,
		      &(struct vm_hooks){ .arena = f.arena });
	int status = inproc_run(&ip, 120);
	cr_assert_eq(status, 0, "status %d; console:\n%s", status, ip.out);
	cr_assert(strstr(ip.out, " ok\n"), "%s", ip.out);
	unsigned long tested;
	const char *m = strstr(ip.out, "memtest: ");
	cr_assert(m && sscanf(m, "memtest: %lu MiB", &tested) == 1, "%s", ip.out);
	cr_assert_geq(tested, 60, "all of the guest's usable RAM: %s", ip.out);

	char *dump = inproc_p2m(&ip);
	cr_assert(strstr(dump, "region 0: GPA 0x0-0x3ffffff 64M scattered"), "%.400s", dump);
	p2m_totals(dump, &l2m, &l4k);
	cr_assert_gt(l4k, 10000, "single frames are 4K leaves: %lu", l4k);
	cr_assert_eq(l2m * 512 + l4k, 64 * MIB >> 12);
	cr_assert(strstr(dump, " 4K x1 "), "%.600s", dump);
	free(dump);
	inproc_destroy(&ip);
	fragmented_destroy(&f);
}

Test(scatter, contiguous_region_has_2m_leaves)
{
	struct inproc ip;
	unsigned long l2m, l4k;

	test_need_kvm();
	inproc_create(&ip, test_build_path("guest/hello.elf"), 64 * MIB, MM_HUGE_AUTO, NULL, NULL);
	cr_assert_eq(inproc_run(&ip, 30), 0, "%s", ip.out);
	cr_assert_str_eq(ip.out, "hello from memvisor guest\n");
	char *dump = inproc_p2m(&ip);
	cr_assert(strstr(dump, "region 0: GPA 0x0-0x3ffffff 64M contiguous zone "), "%.400s", dump);
	p2m_totals(dump, &l2m, &l4k);
	cr_assert_eq(l2m, 32, "64 MiB in 2 MiB leaves:\n%s", dump);
	cr_assert_eq(l4k, 0, "%s", dump);
	free(dump);
	inproc_destroy(&ip);
}

/*
 * Tests for the slab debug flags F/Z/P/U and MEMVISOR_SLAB_DEBUG: each bad
 * call is detected and reported with the cache name and object address.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "fixture.h"
#include "report_capture.h"
#include "mm/slab.h"

static void finish(struct mm_arena *a, struct slab_cache *c)
{
	report_capture_stop();
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_cache_destroy(c, slab_cache_name(c));   /* debug caches never merge */
	fixture_finish(a);
}

Test(slab_debug, redzone_catches_a_write_past_the_object)
{
	struct mm_arena *a = fixture_arena(4);
	struct slab_cache *c = fixture_cache(a, "rz-cache", 60, SLAB_F_REDZONE);
	report_capture_start();
	char *x = slab_alloc(c);
	memset(x, 1, 60);
	cr_assert_str_eq(report_capture_text(), "", "a clean object must not be reported");
	x[60] = 'X';   /* one byte past the end */
	slab_free(c, x);
	cr_assert(report_capture_has("rz-cache", x, "Right Redzone overwritten"),
		  "%s", report_capture_text());
	char *y = slab_alloc(c);
	y[-1] = 'Y';   /* one byte before the start */
	slab_free(c, y);
	cr_assert(report_capture_has("rz-cache", y, "Left Redzone overwritten"));
	finish(a, c);
}

Test(slab_debug, poison_catches_a_write_after_free)
{
	struct mm_arena *a = fixture_arena(4);
	struct slab_cache *c = fixture_cache(a, "poison-cache", 128, SLAB_F_POISON);
	report_capture_start();
	uint8_t *x = slab_alloc(c);
	cr_assert_eq(x[0], 0x6b, "a fresh object carries the free poison");
	cr_assert_eq(x[127], 0xa5);
	slab_free(c, x);
	x[10] = 0;   /* use after free */
	uint8_t *again = slab_alloc(c);
	cr_assert_eq(again, x);
	cr_assert(report_capture_has("poison-cache", x, "Poison overwritten"), "%s",
		  report_capture_text());
	slab_free(c, again);
	finish(a, c);
}

Test(slab_debug, consistency_checks_catch_every_double_free)
{
	struct mm_arena *a = fixture_arena(4);
	struct slab_cache *c = fixture_cache(a, "f-cache", 64, SLAB_F_CONSISTENCY);
	report_capture_start();
	void *x = slab_alloc(c), *y = slab_alloc(c);
	slab_free(c, x);
	slab_free(c, y);
	slab_free(c, x);   /* not at the head: only F sees it */
	cr_assert(report_capture_has("f-cache", x, "Object already free"), "%s",
		  report_capture_text());
	void *p = slab_alloc(c), *q = slab_alloc(c), *r = slab_alloc(c);
	cr_assert(p != q && q != r && p != r, "an object was handed out twice");
	slab_free(c, p);
	slab_free(c, q);
	slab_free(c, r);
	finish(a, c);
}

Test(slab_debug, foreign_pointer_is_reported)
{
	struct mm_arena *a = fixture_arena(4);
	struct slab_cache *c = fixture_cache(a, "fz-cache", 64, SLAB_F_CONSISTENCY | SLAB_F_REDZONE);
	report_capture_start();
	int local;
	slab_free(c, &local);
	cr_assert(report_capture_has("fz-cache", &local, "foreign pointer"));
	char *x = slab_alloc(c);
	slab_free(c, x + 1);
	cr_assert(report_capture_has("fz-cache", x + 1, "Invalid object pointer"));
	slab_free(c, x);
	finish(a, c);
}

/* With flag U a report shows the owner records, which only an object of
 * the cache has: a foreign pointer's report must not read past it (the
 * records of a 20000-byte object lie 20000 bytes on; found by slab_fuzz). */
Test(slab_debug, foreign_pointer_report_reads_no_owner_records)
{
	struct mm_arena *a = fixture_arena(4);
	struct slab_cache *c = fixture_cache(a, "fu-cache", 20000, SLAB_F_CONSISTENCY | SLAB_F_TRACK);
	static char small[16];
	report_capture_start();
	slab_free(c, small);
	cr_assert(report_capture_has("fu-cache", small, "foreign pointer"), "%s", report_capture_text());
	cr_assert_null(strstr(report_capture_text(), "INFO: Allocated"), "%s", report_capture_text());
	char *x = slab_alloc(c);
	slab_free(c, x);
	slab_free(c, x);   /* an object of the cache: its records are shown */
	cr_assert(report_capture_has("fu-cache", x, "already free"), "%s", report_capture_text());
	cr_assert_not_null(strstr(report_capture_text(), "INFO: Freed in"), "%s", report_capture_text());
	finish(a, c);
}

static __attribute__((noinline)) void *allocate_here(struct slab_cache *c)
{
	void *p = slab_alloc(c);
	__asm__ volatile("" ::: "memory");   /* no tail call: we stay the caller */
	return p;
}

Test(slab_debug, owner_tracking_names_the_caller)
{
	struct mm_arena *a = fixture_arena(4);
	struct slab_cache *c = fixture_cache(a, "u-cache", 32, SLAB_F_TRACK | SLAB_F_REDZONE);
	report_capture_start();
	char *x = allocate_here(c);
	x[35] = 1;   /* in the right red zone: a report with the tracks */
	slab_free(c, x);
	cr_assert(report_capture_has("u-cache", x, "INFO: Allocated in 0x"), "%s",
		  report_capture_text());
	/* the recorded caller lies inside allocate_here */
	const char *at = strstr(report_capture_text(), "Allocated in 0x");
	unsigned long caller = strtoul(at + strlen("Allocated in "), NULL, 16);
	cr_assert(caller >= (uintptr_t)allocate_here && caller < (uintptr_t)allocate_here + 64,
		  "caller 0x%lx is not allocate_here %p", caller, (void *)allocate_here);
	finish(a, c);
}

Test(slab_debug, environment_variable_picks_caches)
{
	setenv(SLAB_DEBUG_ENV, "Z,envcache", 1);
	struct mm_arena *a = fixture_arena(4);
	struct slab_cache *c = fixture_cache(a, "envcache", 40, 0);
	struct slab_cache *plain = fixture_cache(a, "plaincache", 40, SLAB_F_NO_MERGE);
	unsetenv(SLAB_DEBUG_ENV);
	struct slab_cache_info info;
	slab_cache_get_info(c, &info);
	cr_assert_eq(info.flags, SLAB_F_REDZONE);
	slab_cache_get_info(plain, &info);
	cr_assert_eq(info.flags, 0);
	report_capture_start();
	char *x = slab_alloc(c);
	x[40] = 0;
	slab_free(c, x);
	cr_assert(report_capture_has("envcache", x, "Redzone overwritten"));
	slab_cache_destroy(plain, "plaincache");
	finish(a, c);
}

Test(slab_debug, environment_variable_for_every_cache)
{
	setenv(SLAB_DEBUG_ENV, "FZPU", 1);
	struct mm_arena *a = fixture_arena(4);
	struct slab_cache *c = fixture_cache(a, "allcache", 100, 0);
	unsetenv(SLAB_DEBUG_ENV);
	struct slab_cache_info info;
	slab_cache_get_info(c, &info);
	cr_assert_eq(info.flags, SLAB_F_DEBUG_MASK);
	cr_assert_gt(info.objsize, 100, "red zones and tracks take room");
	void *objs[100];
	for (int i = 0; i < 100; i++)
		objs[i] = slab_alloc(c);
	for (int i = 0; i < 100; i++)
		slab_free(c, objs[i]);
	report_capture_start();
	finish(a, c);
}

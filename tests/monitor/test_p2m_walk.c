/*
 * x-query-p2m with a GPA, in process: the walk's steps are the ones
 * p2m_walk reads, the leaf is what p2m_lookup says backs the GPA (a 2 MiB
 * leaf, then a 4 KiB one after a punch split it, marked punched), an
 * unmapped GPA gives a null leaf, and GPAs outside the p2m are errors.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "session.h"

static struct session s;

static void setup(void)
{
	session_start(&s, 8);
	session_negotiate(&s);
}

static void teardown(void)
{
	session_finish(&s);
}

TestSuite(p2m_walk, .init = setup, .fini = teardown);

#define INT(o, key) json_integer_value(json_object_get(o, key))

static json_t *walk(uint64_t gpa)
{
	char req[128];

	snprintf(req, sizeof(req), "{\"execute\": \"x-query-p2m\", \"arguments\": {\"gpa\": %llu}}",
		 (unsigned long long)gpa);
	json_t *r = session_return(&s, req);
	EXPECT_KEYS(r, "gpa", "walk", "leaf");
	cr_assert_eq((uint64_t)INT(r, "gpa"), gpa);
	return r;
}

/* The reply's steps against p2m_walk's. */
static void expect_steps(json_t *r, uint64_t gpa)
{
	struct p2m_walk_step steps[P2M_LEVELS];
	int n = p2m_walk(guest_mem_p2m(s.gm), gpa >> 12, steps);
	json_t *w = json_object_get(r, "walk");

	cr_assert_eq(json_array_size(w), (size_t)n);
	for (int i = 0; i < n; i++) {
		json_t *st = json_array_get(w, (size_t)i);
		EXPECT_KEYS(st, "level", "table-hfn", "index", "entry");
		cr_assert_eq(INT(st, "level"), (json_int_t)steps[i].level);
		cr_assert_eq((uint64_t)INT(st, "table-hfn"), steps[i].table_hfn);
		cr_assert_eq(INT(st, "index"), (json_int_t)steps[i].index);
		cr_assert_eq((uint64_t)INT(st, "entry"), steps[i].entry);
	}
}

static void expect_leaf(json_t *r, uint64_t gpa, bool punched)
{
	struct p2m_leaf l;
	json_t *leaf = json_object_get(r, "leaf");

	cr_assert_eq(p2m_lookup(guest_mem_p2m(s.gm), gpa >> 12, &l), 0);
	EXPECT_KEYS(leaf, "hfn", "size", "zone", "access", "punched", "ballooned");
	cr_assert_eq((uint64_t)INT(leaf, "hfn"), l.hfn);
	cr_assert_eq((uint64_t)INT(leaf, "size"), 4096ULL << l.order);
	cr_assert_str_eq(json_string_value(json_object_get(leaf, "zone")), "Normal");
	cr_assert_str_eq(json_string_value(json_object_get(leaf, "access")), "rwx");
	cr_assert_eq(json_is_true(json_object_get(leaf, "punched")), punched);
	cr_assert(json_is_false(json_object_get(leaf, "ballooned")));
}

Test(p2m_walk, mapped_gpas)
{
	uint64_t gpas[] = { 0, 0x1000, 0x123456, (8 << 20) - 1 };

	for (size_t i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++) {
		json_t *r = walk(gpas[i]);
		expect_steps(r, gpas[i]);
		expect_leaf(r, gpas[i], false);
		json_decref(r);
	}
}

Test(p2m_walk, punched_page)
{
	uint64_t gpa = 0x345000;

	cr_assert_eq(guest_mem_punch_page(s.gm, gpa >> 12), 0);
	json_t *r = walk(gpa);
	expect_steps(r, gpa);
	expect_leaf(r, gpa, true);
	cr_assert_eq(INT(json_object_get(r, "leaf"), "size"), 4096, "the punch split the leaf");
	cr_assert_eq(json_array_size(json_object_get(r, "walk")), 4);
	json_decref(r);
}

Test(p2m_walk, unmapped_gpa)
{
	uint64_t gpa = 0x40000000;
	json_t *r = walk(gpa);

	expect_steps(r, gpa);
	cr_assert(json_is_null(json_object_get(r, "leaf")));
	json_t *w = json_object_get(r, "walk");
	json_t *last = json_array_get(w, json_array_size(w) - 1);
	cr_assert_eq(INT(last, "entry"), 0, "the walk ends at the empty entry");
	json_decref(r);
}

Test(p2m_walk, gpa_out_of_range)
{
	const char *desc = session_error(&s, "{\"execute\": \"x-query-p2m\", \"arguments\": "
					 "{\"gpa\": 281474976710656}}", "GenericError");
	cr_assert(strstr(desc, "Parameter 'gpa' must be from 0 to 0xffffffffffff"), "%s", desc);
	session_error(&s, "{\"execute\": \"x-query-p2m\", \"arguments\": {\"gpa\": -1}}",
		      "GenericError");
	session_error(&s, "{\"execute\": \"x-query-p2m\", \"arguments\": "
		      "{\"gpa\": 9223372036854775807}}", "GenericError");
	/* Past what jansson holds: a parse error, not a crash. */
	desc = session_error(&s, "{\"execute\": \"x-query-p2m\", \"arguments\": "
			     "{\"gpa\": 18446744073709551616}}", "GenericError");
	cr_assert(strstr(desc, "JSON parse error"), "%s", desc);
	json_t *last = walk(0xffffffffffffULL);
	cr_assert(json_is_null(json_object_get(last, "leaf")));
	json_decref(last);
}

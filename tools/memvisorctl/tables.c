/*
 * Tables for `info regions` and `info frames`, from the x-query-regions
 * and x-query-frames replies (README, monitor section). A field the reply
 * lacks prints as "-", so an older or newer server still gives a table.
 */
#include <inttypes.h>
#include "ctl.h"

void ctl_format_size(char *buf, size_t len, uint64_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned u = 0;
	uint64_t whole = n;

	while (whole >= 1024 && u + 1 < sizeof(units) / sizeof(*units)) {
		whole >>= 10;
		u++;
	}
	uint64_t unit = (uint64_t)1 << (10 * u);
	if (n % unit == 0 || whole >= 100)
		snprintf(buf, len, "%" PRIu64 " %s", whole, units[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)n / (double)unit, units[u]);
}

/* One right-aligned number column, "-" when the field is missing. */
static void column(FILE *f, json_t *obj, const char *key, int width)
{
	uint64_t v;

	if (ctl_json_u64(obj, key, &v))
		fprintf(f, " %*" PRIu64, width, v);
	else
		fprintf(f, " %*s", width, "-");
}

void ctl_table_regions(FILE *f, json_t *ret)
{
	json_t *regions = json_object_get(ret, "regions"), *r;
	uint64_t total = 0, maps = 0, gpa, size, n;
	size_t i;
	char sz[32];

	fprintf(f, "%-37s %10s  %-10s  %-8s %-8s %8s\n", "GPA RANGE", "SIZE", "KIND", "ZONE", "BACKING",
		"MAPPINGS");
	json_array_foreach(regions, i, r) {
		bool has_gpa = ctl_json_u64(r, "gpa", &gpa), has_size = ctl_json_u64(r, "size", &size);
		char range[40] = "-";
		if (has_gpa && has_size && size)
			snprintf(range, sizeof(range), "0x%016" PRIx64 "-0x%016" PRIx64, gpa, gpa + size - 1);
		if (has_size) {
			ctl_format_size(sz, sizeof(sz), size);
			total += size;
		}
		fprintf(f, "%-37s %10s  %-10s  %-8s %-8s", range, has_size ? sz : "-",
			ctl_json_str(r, "kind"), ctl_json_str(r, "zone"), ctl_json_str(r, "backing"));
		column(f, r, "mappings", 8);
		fputc('\n', f);
		if (ctl_json_u64(r, "mappings", &n))
			maps += n;
	}
	ctl_format_size(sz, sizeof(sz), total);
	fprintf(f, "%zu region%s, %s of guest RAM, %" PRIu64 " host mapping%s\n", json_array_size(regions),
		json_array_size(regions) == 1 ? "" : "s", sz, maps, maps == 1 ? "" : "s");
}

void ctl_table_frames(FILE *f, json_t *ret)
{
	static const char *const keys[] = { "frames", "free", "vmm", "guest", "ballooned", "pcp" };
	static const char *const titles[] = { "FRAMES", "FREE", "VMM", "GUEST", "BALLOONED", "PCP" };
	json_t *zones = json_object_get(ret, "zones"), *z;
	size_t i;
	bool ok;

	fprintf(f, "%-8s", "ZONE");
	for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
		fprintf(f, " %10s", titles[k]);
	fprintf(f, "  CHECK\n");
	json_array_foreach(zones, i, z) {
		fprintf(f, "%-8s", ctl_json_str(z, "name"));
		for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
			column(f, z, keys[k], 10);
		/* I1: the states add up to the zone and agree with the free lists. */
		fprintf(f, "  %s\n", !ctl_json_bool(z, "consistent", &ok) ? "-" : ok ? "ok" : "MISMATCH");
	}
}

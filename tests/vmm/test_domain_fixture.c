/*
 * The --domain tests' shared parts (test_domain_fixture.h). The example is
 * found from the suite's binary upwards, so the suite runs from any
 * directory and from any build tree (build/, build/asan/, ...).
 */
#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmm/config/cli/cli.h"
#include "test_domain_fixture.h"

#define EXAMPLE_REL "tests/vmm/data/hello.xml"

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s: cannot open", path);
	char *buf = calloc(1, 1 << 16);
	cr_assert_not_null(buf);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	cr_assert_gt(n, 0, "%s: empty", path);
	return buf;
}

/* s with its one occurrence of from replaced by to (malloc'd). */
static char *replace_once(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);

	cr_assert_not_null(at, "'%s' is not in the example", from);
	cr_assert_null(strstr(at + 1, from), "'%s' is in the example twice", from);
	size_t head = (size_t)(at - s), len = strlen(s) - strlen(from) + strlen(to);
	char *out = malloc(len + 1);
	cr_assert_not_null(out);
	snprintf(out, len + 1, "%.*s%s%s", (int)head, s, to, at + strlen(from));
	return out;
}

const char *example_xml(void)
{
	static char *xml;
	char dir[PATH_MAX], path[PATH_MAX + sizeof(EXAMPLE_REL)];

	if (xml)
		return xml;
	cr_assert_not_null(realpath(test_build_path("."), dir));
	for (int up = 0; up < 4; up++) {
		snprintf(path, sizeof(path), "%s/%s", dir, EXAMPLE_REL);
		if (!access(path, R_OK))
			break;
		snprintf(dir, sizeof(dir), "%s", dirname(dir));
	}
	char *text = read_all(path);
	xml = replace_once(text, EXAMPLE_KERNEL, test_build_path("guest/hello.elf"));
	free(text);
	return xml;
}

const char *domain_file(const char *from, const char *to)
{
	const char *xml = example_xml();

	if (!from)
		return temp_file(xml, strlen(xml));
	char *changed = replace_once(xml, from, to);
	const char *path = temp_file(changed, strlen(changed));
	free(changed);
	return path;
}

int parse_args(struct vm_config *cfg, char *err, size_t errlen, const char *const *args)
{
	char *argv[32] = { "memvisor" };
	int argc = 1;

	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	FILE *out = fopen("/dev/null", "w");
	int rc = cli_parse(argc, argv, cfg, out, err, errlen);
	fclose(out);
	return rc;
}

void assert_domain_error(const struct run_result *r, const char *file, const char *want)
{
	char head[PATH_MAX + 32];

	snprintf(head, sizeof(head), "memvisor: %s: ", file);
	cr_assert_eq(r->status, 1, "status %d, stderr:\n%s", r->status, r->err);
	cr_assert_eq(count_lines(r->err), 1, "one line, got:\n%s", r->err);
	cr_assert(!strncmp(r->err, head, strlen(head)), "'%s' does not start with '%s'", r->err, head);
	cr_assert(strstr(r->err, want), "'%s' does not say '%s'", r->err, want);
	cr_assert_str_empty(r->out);
}

int maps_library(const char *name)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[PATH_MAX + 128];
	int found = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, name) != NULL;
	fclose(f);
	return found;
}

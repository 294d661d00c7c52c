/*
 * The Linux test guest for the suites (linux_guest.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "linux_guest.h"
#include "test_env.h"

const char *linux_guest_image(const char *name)
{
	static char path[8][4096];
	static int next;
	char *p = path[next++ % 8];

	snprintf(p, sizeof(path[0]), "%s", test_build_path("linux"));
	size_t n = strlen(p);
	snprintf(p + n, sizeof(path[0]) - n, "/%s", name);
	cr_assert(access(p, R_OK) == 0, "the Linux test guest %s is missing (make linux-guest builds it)",
		  p);
	return p;
}

const char *linux_guest_line(const char *out, const char *what)
{
	char key[128];
	snprintf(key, sizeof(key), "mvtest: %s", what);
	const char *p = strstr(out, key);
	return p ? p + strlen("mvtest: ") : NULL;
}

long long linux_guest_meminfo(const char *out, const char *key)
{
	const char *last = NULL;
	char k[64];

	for (const char *p = out; (p = strstr(p, "mvtest: meminfo ")); p++)
		last = p;
	if (!last)
		return -1;
	snprintf(k, sizeof(k), " %s=", key);
	const char *eol = strchr(last, '\n');
	const char *v = strstr(last, k);
	if (!v || (eol && v > eol))
		return -1;
	return strtoll(v + strlen(k), NULL, 10);
}

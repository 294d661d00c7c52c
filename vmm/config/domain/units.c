/*
 * Sizes in a domain XML (see config/domain/internal.h). libvirt has normalized
 * everything it hands back to KiB, but the values it changes without a word
 * (a <currentMemory> above <memory> is clamped) must be read from the user's
 * own text, with the user's own unit.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "vmm/config/domain/internal.h"

/* The unit's size in bytes, or 0 when it is not one libvirt knows. */
static uint64_t unit_bytes(const char *unit)
{
	static const char prefixes[] = "kmgtpe";

	if (!*unit)
		return 1024;
	if (!strcasecmp(unit, "b") || !strcasecmp(unit, "bytes"))
		return 1;
	const char *p = strchr(prefixes, tolower((unsigned char)unit[0]));
	if (!p || !*p)
		return 0;
	uint64_t base;
	if (!unit[1] || !strcasecmp(unit + 1, "iB"))
		base = 1024;
	else if (!strcasecmp(unit + 1, "B"))
		base = 1000;
	else
		return 0;
	uint64_t bytes = 1;
	for (long i = 0; i <= p - prefixes; i++)
		bytes *= base;
	return bytes;
}

int domain_size_kib(const char *value, const char *unit, uint64_t *kib)
{
	uint64_t v = 0, scale = unit_bytes(unit ? unit : "");
	const char *p = value;

	if (!scale)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return -EINVAL;
	unsigned __int128 bytes = (unsigned __int128)v * scale;
	unsigned __int128 k = (bytes + 1023) / 1024;
	if (k > UINT64_MAX)
		return -ERANGE;
	*kib = (uint64_t)k;
	return 0;
}

const char *domain_format_kib(uint64_t kib, char *buf, size_t len)
{
	if (kib && kib % (1024 * 1024) == 0)
		snprintf(buf, len, "%llu GiB", (unsigned long long)(kib >> 20));
	else if (kib && kib % 1024 == 0)
		snprintf(buf, len, "%llu MiB", (unsigned long long)(kib >> 10));
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)kib);
	return buf;
}

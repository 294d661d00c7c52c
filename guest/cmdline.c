/*
 * The command line: words separated by spaces, each "key=value" or a bare
 * "key". Unknown words are ignored (QEMU microvm appends its own, such as
 * virtio_mmio.device=...). Values are parsed where they are used.
 */
#include "internal.h"

bool cmdline_find(const char *key, const char **value, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = boot.cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *word = p;
		while (*p && *p != ' ')
			p++;
		size_t wlen = (size_t)(p - word);
		if (wlen >= klen && !memcmp(word, key, klen) && (wlen == klen || word[klen] == '=')) {
			*value = wlen == klen ? word + klen : word + klen + 1;
			*len = wlen == klen ? 0 : wlen - klen - 1;
			return true;
		}
	}
	return false;
}

bool cmdline_is(const char *key, const char *value)
{
	const char *v;
	size_t n;
	return cmdline_find(key, &v, &n) && n == strlen(value) && !memcmp(v, value, n);
}

static int digit(char c, unsigned base)
{
	int d = c >= '0' && c <= '9' ? c - '0'
	      : c >= 'a' && c <= 'f' ? c - 'a' + 10
	      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
	return d < (int)base ? d : -1;
}

int cmdline_u64(const char *key, uint64_t *out)
{
	const char *s;
	size_t n;
	if (!cmdline_find(key, &s, &n))
		return 0;
	unsigned base = 10;
	size_t i = 0;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	size_t first = i;
	uint64_t v = 0;
	for (int d; i < n && (d = digit(s[i], base)) >= 0; i++) {
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return -1;
		v = v * base + (uint64_t)d;
	}
	if (i == first)
		return -1;
	if (i < n) {
		unsigned shift;
		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -1;
		}
		if (i + 1 != n || v > UINT64_MAX >> shift)
			return -1;
		v <<= shift;
	}
	*out = v;
	return 1;
}

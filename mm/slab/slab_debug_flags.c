/*
 * Which debug flags a new cache gets: those its creator asked for, plus what
 * MEMVISOR_SLAB_DEBUG says, read like Linux's slub_debug= ("FZPU" for every
 * cache, "FZ,kmalloc-64,p2m_table" for the named ones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "slab_internal.h"

static unsigned slab_debug_letters(const char *s, const char *end)
{
	unsigned flags = 0;
	if (s == end)
		return SLAB_F_DEBUG_MASK;   /* no letters: everything, like slub_debug */
	for (; s < end; s++) {
		switch (*s) {
		case 'F': case 'f': flags |= SLAB_F_CONSISTENCY; break;
		case 'Z': case 'z': flags |= SLAB_F_REDZONE; break;
		case 'P': case 'p': flags |= SLAB_F_POISON; break;
		case 'U': case 'u': flags |= SLAB_F_TRACK; break;
		case '-': return 0;
		default:
			fprintf(stderr, "memvisor: %s: unknown debug flag '%c' ignored\n",
				SLAB_DEBUG_ENV, *s);
		}
	}
	return flags;
}

/* "FZPU" applies to every cache; "FZ,a,b" to caches a and b only. */
unsigned slab_debug_flags_for(const char *name, unsigned flags)
{
	const char *env = getenv(SLAB_DEBUG_ENV);
	flags &= SLAB_F_DEBUG_MASK;
	if (!env || !*env)
		return flags;
	const char *comma = strchr(env, ',');
	if (!comma)
		return flags | slab_debug_letters(env, env + strlen(env));
	for (const char *p = comma + 1; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == strlen(name) && !strncmp(p, name, len))
			return flags | slab_debug_letters(env, comma);
		p += len + (e ? 1 : 0);
	}
	return flags;
}

/*
 * Slab debugging: the F/Z/P/U flags (chosen at creation or through
 * MEMVISOR_SLAB_DEBUG), the locked alloc/free path debug caches take, cache
 * validation, and where reports go.
 *
 * Byte values are Linux's, so reports read the same: red zones 0xcc while
 * allocated and 0xbb while free, free objects poisoned with 0x6b and a last
 * byte of 0xa5.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "slab_internal.h"

#define RED_INACTIVE 0xbb
#define RED_ACTIVE 0xcc
#define POISON_FREE 0x6b
#define POISON_END 0xa5

static slab_report_fn report_fn;
static void *report_arg;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

void slab_set_report_hook(slab_report_fn fn, void *arg)
{
	pthread_mutex_lock(&report_lock);
	report_fn = fn;
	report_arg = arg;
	pthread_mutex_unlock(&report_lock);
}

void slab_report(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&report_lock);
	if (report_fn)
		report_fn(buf, report_arg);
	else
		fputs(buf, stderr);
	pthread_mutex_unlock(&report_lock);
}

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

static struct slab_track *slab_tracks(struct slab_cache *c, void *obj)
{
	return (struct slab_track *)((char *)obj + c->track_offset);
}

static void slab_track_set(struct slab_cache *c, void *obj, int which, void *caller)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	struct slab_track *t = &slab_tracks(c, obj)[which];
	t->caller = caller;
	t->tid = (int)gettid();
	t->when_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool slab_poisoned(const struct slab_cache *c)
{
	return (c->debug & SLAB_F_POISON) && !c->ctor;
}

/* Bytes after the object up to the free pointer: the right red zone. */
static size_t slab_red_right(const struct slab_cache *c)
{
	return c->offset - c->object_size;
}

static void slab_fill_red(struct slab_cache *c, void *obj, uint8_t v)
{
	memset((char *)obj - c->red_left, v, c->red_left);
	memset((char *)obj + c->object_size, v, slab_red_right(c));
}

static void slab_fill_poison(struct slab_cache *c, void *obj)
{
	memset(obj, POISON_FREE, c->object_size - 1);
	((uint8_t *)obj)[c->object_size - 1] = POISON_END;
}

void slab_debug_init_object(struct slab_cache *c, void *obj)
{
	if (c->debug & SLAB_F_REDZONE)
		slab_fill_red(c, obj, RED_INACTIVE);
	if (c->ctor)
		c->ctor(obj);
	else if (c->debug & SLAB_F_POISON)
		slab_fill_poison(c, obj);
	if (c->debug & SLAB_F_TRACK)
		memset(slab_tracks(c, obj), 0, 2 * sizeof(struct slab_track));
}

static void slab_debug_report(struct slab_cache *c, struct slab *s, void *obj,
			      const char *what, const void *where)
{
	char info[256] = "";
	if (c->debug & SLAB_F_TRACK) {
		struct slab_track *t = slab_tracks(c, obj);
		snprintf(info, sizeof(info),
			 "INFO: Allocated in 0x%lx tid=%d\nINFO: Freed in 0x%lx tid=%d\n",
			 (unsigned long)(uintptr_t)t[0].caller, t[0].tid,
			 (unsigned long)(uintptr_t)t[1].caller, t[1].tid);
	}
	uintptr_t base = s ? slab_base(c, s) : 0;
	slab_report("=============================================================================\n"
		    "BUG %s: %s\n"
		    "Object 0x%016lx @offset=%lu slab 0x%016lx%s%lx\n%s",
		    c->name, what, (unsigned long)(uintptr_t)obj,
		    (unsigned long)(s ? (uintptr_t)obj - base : 0), (unsigned long)base,
		    where ? " first bad byte 0x" : "", (unsigned long)(uintptr_t)where, info);
	c->bad_frees++;
}

static const uint8_t *slab_first_not(const void *p, uint8_t v, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return b + i;
	return NULL;
}

/* Checks the red zones hold v; reports (once per zone) and repairs. */
static bool slab_check_red(struct slab_cache *c, struct slab *s, void *obj, uint8_t v)
{
	if (!(c->debug & SLAB_F_REDZONE))
		return true;
	bool ok = true;
	const uint8_t *bad = slab_first_not((char *)obj - c->red_left, v, c->red_left);
	if (bad) {
		slab_debug_report(c, s, obj, "Left Redzone overwritten", bad);
		ok = false;
	}
	bad = slab_first_not((char *)obj + c->object_size, v, slab_red_right(c));
	if (bad) {
		slab_debug_report(c, s, obj, "Right Redzone overwritten", bad);
		ok = false;
	}
	if (!ok)
		slab_fill_red(c, obj, v);
	return ok;
}

static bool slab_check_poison(struct slab_cache *c, struct slab *s, void *obj)
{
	if (!slab_poisoned(c))
		return true;
	const uint8_t *bad = slab_first_not(obj, POISON_FREE, c->object_size - 1);
	if (!bad && ((uint8_t *)obj)[c->object_size - 1] != POISON_END)
		bad = (uint8_t *)obj + c->object_size - 1;
	if (bad) {
		slab_debug_report(c, s, obj, "Poison overwritten (use after free)", bad);
		return false;
	}
	return true;
}

static bool slab_on_freelist(struct slab_cache *c, struct slab *s, void *obj)
{
	unsigned n = 0;
	for (void *p = s->freelist; p && n < s->objects; p = slab_get_fp(c, p), n++)
		if (p == obj)
			return true;
	return false;
}

/* F: the slab's freelist must be valid and count objects - inuse. */
int slab_validate_slab(struct slab_cache *c, struct slab *s)
{
	bool corrupt;
	unsigned n = slab_walk_freelist(c, s, s->freelist, &corrupt);
	if (corrupt || n != (unsigned)(s->objects - s->inuse)) {
		slab_debug_report(c, s, (void *)slab_base(c, s),
				  corrupt ? "Freelist corrupted" : "Wrong number of free objects", NULL);
		return -EUCLEAN;
	}
	if (!c->debug)
		return 0;
	int rc = 0;
	for (void *p = s->freelist; p; p = slab_get_fp(c, p)) {
		if (!slab_check_red(c, s, p, RED_INACTIVE) || !slab_check_poison(c, s, p))
			rc = -EUCLEAN;
	}
	return rc;
}

static void slab_debug_relist(struct slab_cache *c, struct slab *s)
{
	enum slab_list want = s->inuse == s->objects ? SLAB_LIST_FULL : SLAB_LIST_PARTIAL;
	if (s->inuse == 0 && c->partial.nr > c->min_partial && s->list == SLAB_LIST_PARTIAL) {
		slab_discard(c, s);
		return;
	}
	if (s->list == want)
		return;
	if (s->list == SLAB_LIST_PARTIAL)
		slab_list_del(&c->partial, s);
	else if (s->list == SLAB_LIST_FULL)
		slab_list_del(&c->full, s);
	slab_list_add(want == SLAB_LIST_FULL ? &c->full : &c->partial, s);
	s->list = want;
}

void *slab_alloc_debug(struct slab_cache *c, void *caller)
{
	pthread_mutex_lock(&c->node_lock);
	for (;;) {
		struct slab *s = c->partial.first;
		if (!s) {
			s = slab_new(c);
			if (!s) {
				pthread_mutex_unlock(&c->node_lock);
				errno = ENOMEM;
				return NULL;
			}
			slab_list_add(&c->partial, s);
			s->list = SLAB_LIST_PARTIAL;
		}
		if ((c->debug & SLAB_F_CONSISTENCY) && slab_validate_slab(c, s)) {
			slab_quarantine_locked(c, s, "Slab failed consistency check; slab quarantined");
			continue;
		}
		void *obj = s->freelist;
		if (!obj || !slab_obj_valid(c, s, obj)) {
			slab_quarantine_locked(c, s, "Freelist corrupted; slab quarantined");
			continue;
		}
		s->freelist = slab_get_fp(c, obj);
		s->inuse++;
		slab_check_poison(c, s, obj);
		slab_check_red(c, s, obj, RED_INACTIVE);
		if (c->debug & SLAB_F_REDZONE)
			slab_fill_red(c, obj, RED_ACTIVE);
		if (c->debug & SLAB_F_TRACK)
			slab_track_set(c, obj, 0, caller);
		slab_debug_relist(c, s);
		c->cpu[SLAB_SHARED_SLOT].alloc_slow++;
		pthread_mutex_unlock(&c->node_lock);
		return obj;
	}
}

void slab_free_debug(struct slab_cache *c, void *obj, void *caller)
{
	pthread_mutex_lock(&c->node_lock);
	struct slab *s = slab_of(c->arena, obj);
	if (!s) {
		slab_debug_report(c, NULL, obj, "Object is not in a slab (foreign pointer)", NULL);
	} else if (s->cache != c) {
		slab_debug_report(c, NULL, obj, "Object belongs to another cache", NULL);
	} else if (!slab_obj_valid(c, s, obj)) {
		slab_debug_report(c, s, obj, "Invalid object pointer", NULL);
	} else if (s->list == SLAB_LIST_QUARANTINE) {
		/* Nothing may be added to a slab we no longer trust. */
	} else if (s->inuse == 0 || slab_on_freelist(c, s, obj)) {
		slab_debug_report(c, s, obj, "Object already free", NULL);
	} else {
		slab_check_red(c, s, obj, RED_ACTIVE);
		if (c->debug & SLAB_F_TRACK)
			slab_track_set(c, obj, 1, caller);
		if (slab_poisoned(c))
			slab_fill_poison(c, obj);
		if (c->debug & SLAB_F_REDZONE)
			slab_fill_red(c, obj, RED_INACTIVE);
		slab_set_fp(c, obj, s->freelist);
		s->freelist = obj;
		s->inuse--;
		c->cpu[SLAB_SHARED_SLOT].free_slow++;
		if ((c->debug & SLAB_F_CONSISTENCY) && slab_validate_slab(c, s))
			slab_quarantine_locked(c, s, "Slab failed consistency check; slab quarantined");
		else
			slab_debug_relist(c, s);
	}
	pthread_mutex_unlock(&c->node_lock);
}

/* Checks one node list; returns the number of problems found. */
static int slab_validate_list(struct slab_cache *c, struct slab_list_head *h, enum slab_list kind)
{
	int errors = 0;
	unsigned long n = 0;
	for (struct slab *s = h->first; s; s = s->next, n++) {
		if (s->cache != c || s->list != kind || atomic_load(&s->owner) != SLAB_OWNER_NODE) {
			slab_report("BUG %s: slab 0x%016lx on the wrong list\n", c->name,
				    (unsigned long)slab_base(c, s));
			errors++;
			continue;
		}
		void *remote = atomic_load(&s->remote);
		if (slab_validate_slab(c, s))
			errors++;
		if (kind == SLAB_LIST_FULL && s->inuse != s->objects && !remote) {
			slab_report("BUG %s: slab 0x%016lx on the full list has free objects\n",
				    c->name, (unsigned long)slab_base(c, s));
			errors++;
		}
		if (kind == SLAB_LIST_PARTIAL && s->inuse == s->objects && !remote) {
			slab_report("BUG %s: slab 0x%016lx on the partial list is full\n",
				    c->name, (unsigned long)slab_base(c, s));
			errors++;
		}
	}
	if (n != h->nr) {
		slab_report("BUG %s: list counts %lu slabs, holds %lu\n", c->name, h->nr, n);
		errors++;
	}
	return errors;
}

/* Checks one of slot idx's lists of held slabs. */
static int slab_validate_held(struct slab_cache *c, struct slab_list_head *h, int idx,
			      enum slab_list kind)
{
	int errors = 0;
	unsigned long n = 0;
	for (struct slab *s = h->first; s; s = s->next, n++) {
		bool corrupt;
		unsigned nfree = slab_walk_freelist(c, s, s->freelist, &corrupt);
		if (corrupt || nfree != (unsigned)(s->objects - s->inuse) || s->list != kind ||
		    atomic_load(&s->owner) != idx || (kind == SLAB_LIST_CPU_FULL && nfree)) {
			slab_report("BUG %s: slab 0x%016lx held by slot %d is corrupt\n", c->name,
				    (unsigned long)slab_base(c, s), idx);
			errors++;
		}
	}
	if (n != h->nr) {
		slab_report("BUG %s: slot %d counts %lu held slabs, holds %lu\n", c->name, idx,
			    h->nr, n);
		errors++;
	}
	return errors;
}

/* Meant for quiet moments (tests, the monitor): it reads other threads'
 * slots, which only their threads write. */
int slab_cache_validate(struct slab_cache *c)
{
	int errors = 0;
	pthread_mutex_lock(&c->node_lock);
	errors += slab_validate_list(c, &c->partial, SLAB_LIST_PARTIAL);
	errors += slab_validate_list(c, &c->full, SLAB_LIST_FULL);
	unsigned long held = 0;
	for (int i = 0; i <= MM_MAX_THREADS; i++) {
		struct slab_cpu *cpu = &c->cpu[i];
		held += (cpu->slab ? 1 : 0) + cpu->partial.nr + cpu->full.nr;
		if (cpu->slab) {
			bool corrupt;
			slab_walk_freelist(c, cpu->slab, cpu->freelist, &corrupt);
			if (corrupt || atomic_load(&cpu->slab->owner) != i) {
				slab_report("BUG %s: cpu slab of slot %d is corrupt\n", c->name, i);
				errors++;
			}
		}
		errors += slab_validate_held(c, &cpu->partial, i, SLAB_LIST_CPU_PARTIAL);
		errors += slab_validate_held(c, &cpu->full, i, SLAB_LIST_CPU_FULL);
	}
	unsigned long listed = c->partial.nr + c->full.nr + held + c->nr_quarantined;
	if (listed != c->nr_slabs) {
		slab_report("BUG %s: %lu slabs allocated, %lu accounted for\n", c->name,
			    c->nr_slabs, listed);
		errors++;
	}
	pthread_mutex_unlock(&c->node_lock);
	return errors ? -EUCLEAN : 0;
}

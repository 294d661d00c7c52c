/*
 * Where the slab's reports go: the hook a user sets (default: stderr), the
 * one formatting entry point every part of mm/ reports through, and the
 * report of an object in a slab, in Linux's words. Below every other slab
 * file: it calls none of them.
 */
#include <stdarg.h>
#include <stdio.h>
#include "slab_internal.h"

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

void slab_report_object(struct slab_cache *c, struct slab *s, const void *obj, const char *what)
{
	if (s)
		slab_report("=============================================================================\n"
			    "BUG %s: %s\n"
			    "Object 0x%016lx @offset=%lu slab 0x%016lx objects=%u inuse=%u\n",
			    c->name, what, (unsigned long)(uintptr_t)obj,
			    (unsigned long)((uintptr_t)obj - slab_base(c, s)),
			    (unsigned long)slab_base(c, s), s->objects, s->inuse);
	else
		slab_report("=============================================================================\n"
			    "BUG %s: %s\nObject 0x%016lx\n",
			    c->name, what, (unsigned long)(uintptr_t)obj);
}

void slab_report_remaining(const struct slab_cache *c, unsigned long n, const char *what)
{
	slab_report("=============================================================================\n"
		    "BUG %s: Objects remaining on kmem_cache_close(): %lu %s still in use\n",
		    c->name, n, what);
}

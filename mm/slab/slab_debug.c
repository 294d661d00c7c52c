/*
 * The path debug caches take instead of the per-thread ones: every alloc and
 * free under the node lock, straight on the node lists, so each object can
 * be checked and marked (slab_debug_object.c) and, with flag F, its slab
 * validated (slab_validate.c) every time. Which flags a cache gets is
 * slab_debug_flags.c's.
 */
#include <errno.h>
#include "slab_internal.h"

static bool slab_on_freelist(struct slab_cache *c, struct slab *s, void *obj)
{
	unsigned n = 0;
	for (void *p = s->freelist; p && n < s->objects; p = slab_get_fp(c, p), n++)
		if (p == obj)
			return true;
	return false;
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
	slab_unlist_locked(c, s);
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
		slab_debug_mark_allocated(c, s, obj, caller);
		slab_debug_relist(c, s);
		slab_cpu_count(&c->cpu[SLAB_SHARED_SLOT].alloc_slow);
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
		slab_debug_mark_free(c, s, obj, caller);
		slab_set_fp(c, obj, s->freelist);
		s->freelist = obj;
		s->inuse--;
		slab_cpu_count(&c->cpu[SLAB_SHARED_SLOT].free_slow);
		if ((c->debug & SLAB_F_CONSISTENCY) && slab_validate_slab(c, s))
			slab_quarantine_locked(c, s, "Slab failed consistency check; slab quarantined");
		else
			slab_debug_relist(c, s);
	}
	pthread_mutex_unlock(&c->node_lock);
}

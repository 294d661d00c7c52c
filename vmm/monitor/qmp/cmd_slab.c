/*
 * The slab over QMP: x-query-slabinfo (the policy that runs and every
 * cache's numbers, the ones /proc/slabinfo's text prints) and
 * x-slabinfo-tune (SLAB's tunables, as a line written to /proc/slabinfo
 * set them).
 */
#include <errno.h>
#include <limits.h>
#include "mm/slab.h"
#include "vmm/monitor/qmp/internal.h"

const struct qmp_param qmp_slab_tune_params[] = {
	{ "name", JSON_STRING, false },
	{ "limit", JSON_INTEGER, false },
	{ "batchcount", JSON_INTEGER, false },
	{ "sharedfactor", JSON_INTEGER, false },
	{ NULL, 0, false },
};

struct slab_walk {
	json_t *caches;
	bool failed;
};

static void slab_debug_letters(unsigned flags, char out[5])
{
	static const struct { unsigned flag; char letter; } letters[] = {
		{ SLAB_F_CONSISTENCY, 'F' }, { SLAB_F_REDZONE, 'Z' },
		{ SLAB_F_POISON, 'P' }, { SLAB_F_TRACK, 'U' },
	};
	int n = 0;

	for (unsigned i = 0; i < sizeof(letters) / sizeof(letters[0]); i++) {
		if (flags & letters[i].flag)
			out[n++] = letters[i].letter;
	}
	out[n] = '\0';
}

/* Called under the arena's cache list lock: only builds JSON (malloc),
 * never allocates from the arena. */
static void slab_walk_cache(struct slab_cache *c, void *arg)
{
	struct slab_walk *w = arg;
	struct slab_cache_info i;
	char debug[5];

	if (w->failed)
		return;
	slab_cache_get_info(c, &i);
	slab_debug_letters(i.flags, debug);
	json_t *aliases = json_array();
	for (unsigned k = 0; aliases && k < i.nr_aliases && k < SLAB_MAX_ALIASES; k++) {
		if (json_array_append_new(aliases, json_string(i.aliases[k]))) {
			json_decref(aliases);
			aliases = NULL;
		}
	}
	json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:s,s:I,s:I,s:I}",
			      "name", i.name, "policy", i.policy,
			      "active-objs", (json_int_t)i.active_objs,
			      "num-objs", (json_int_t)i.num_objs, "objsize", (json_int_t)i.objsize,
			      "objperslab", (json_int_t)i.objperslab,
			      "pagesperslab", (json_int_t)i.pagesperslab,
			      "active-slabs", (json_int_t)i.active_slabs,
			      "num-slabs", (json_int_t)i.num_slabs, "aliases", aliases,
			      "debug", debug, "alloc-slow", (json_int_t)i.alloc_slow,
			      "free-slow", (json_int_t)i.free_slow,
			      "free-remote", (json_int_t)i.free_remote);
	/* json_pack takes only so many pairs; the tunables go in after. */
	if (o && json_object_update_missing_new(o, json_pack("{s:I,s:I,s:I,s:I,s:I}",
			"limit", (json_int_t)i.tunables.limit,
			"batchcount", (json_int_t)i.tunables.batchcount,
			"sharedfactor", (json_int_t)i.tunables.sharedfactor,
			"sharedavail", (json_int_t)i.sharedavail,
			"held-objs", (json_int_t)i.held_objs))) {
		json_decref(o);
		o = NULL;
	}
	/* null: the policy counts everything of this cache. */
	if (o && json_object_set_new(o, "uncounted", i.uncounted ? json_string(i.uncounted)
								 : json_null())) {
		json_decref(o);
		o = NULL;
	}
	if (!o || json_array_append_new(w->caches, o))
		w->failed = true;
}

json_t *qmp_cmd_slabinfo(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	struct mm_arena *a = t->arena(t->ctx);
	struct slab_walk w = { .caches = json_array() };

	(void)args, (void)err;
	if (!w.caches)
		return NULL;
	slab_for_each_cache(a, slab_walk_cache, &w);
	if (w.failed) {
		json_decref(w.caches);
		return NULL;
	}
	return json_pack("{s:s,s:I,s:o}", "policy", slab_policy_name(a), "frames",
			 (json_int_t)slab_frames_held(a), "caches", w.caches);
}

static bool slab_tunable(json_t *args, const char *key, unsigned *out, struct qmp_error *err)
{
	json_int_t v = json_integer_value(json_object_get(args, key));

	if (v < 0 || v > INT_MAX) {
		qmp_fail(err, "GenericError", "Parameter '%s' is out of range", key);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

json_t *qmp_cmd_slab_tune(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	struct mm_arena *a = t->arena(t->ctx);
	const char *name = json_string_value(json_object_get(args, "name"));
	struct slab_tunables tun;

	if (!slab_tunable(args, "limit", &tun.limit, err) ||
	    !slab_tunable(args, "batchcount", &tun.batchcount, err) ||
	    !slab_tunable(args, "sharedfactor", &tun.sharedfactor, err))
		return NULL;
	switch (slab_cache_tune(a, name, &tun)) {
	case 0:
		return json_object();
	case -ENOENT:
		return qmp_fail(err, "GenericError", "No slab cache named '%s'", name);
	case -EOPNOTSUPP:
		return qmp_fail(err, "GenericError",
				"The %s policy has no tunables (only slab has)", slab_policy_name(a));
	default:
		return qmp_fail(err, "GenericError",
				"Invalid tunables: want 0 < batchcount <= limit <= %d and "
				"sharedfactor <= %d", SLAB_LIMIT_MAX, SLAB_SHARED_MAX);
	}
}

/*
 * Which policy an arena's slab runs: the table of policies by
 * enum mm_slab_policy, their names, and the choice mm_create makes
 * (its config, else $MEMVISOR_SLAB, else SLUB).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "slab_internal.h"

static const struct slab_policy *const slab_policies[MM_SLAB_NR_POLICIES] = {
	[MM_SLAB_SLUB] = &slub_policy,
	[MM_SLAB_SLAB] = &classic_policy,
	[MM_SLAB_SLOB] = &slob_policy,
};

int slab_policy_parse(const char *s)
{
	for (int i = MM_SLAB_SLUB; s && i < MM_SLAB_NR_POLICIES; i++)
		if (slab_policies[i] && !strcmp(s, slab_policies[i]->name))
			return i;
	return -1;
}

const char *slab_policy_name(const struct mm_arena *a)
{
	return a->slab_policy->name;
}

int slab_policy_choose(struct mm_arena *a, enum mm_slab_policy want)
{
	if (want == MM_SLAB_DEFAULT) {
		const char *env = getenv(SLAB_POLICY_ENV);
		int p = env && *env ? slab_policy_parse(env) : MM_SLAB_SLUB;
		if (p < 0) {
			slab_report("%s=%s: no such slab policy (slub, slab or slob)\n",
				    SLAB_POLICY_ENV, env);
			return -EINVAL;
		}
		want = (enum mm_slab_policy)p;
	}
	if ((unsigned)want >= MM_SLAB_NR_POLICIES || !slab_policies[want])
		return -EINVAL;
	a->slab_policy = slab_policies[want];
	return 0;
}

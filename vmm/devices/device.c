/*
 * The VM's devices as one set (device.h): creating them from the table of
 * types, routing a vCPU's port and MMIO accesses to the one that claims
 * them, and references for other threads. A reference is taken under the
 * set's lock and only while the set is open; destroying closes it and waits
 * for the references to come back, so a monitor command that holds one
 * never sees its device freed under it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "mm/kmalloc.h"
#include "vmm/devices/device.h"

struct device {
	struct device_set *set;
	const struct device_type *type;
	void *state;
};

struct device_set {
	struct mm_arena *arena;
	pthread_mutex_t lock;
	pthread_cond_t released;
	unsigned refs;
	bool closing;
	unsigned nr;
	struct device dev[];
};

char *device_cmdline(const struct device_type *const *types, const struct vm_config *cfg,
		     struct mm_arena *a)
{
	const char *user = cfg->cmdline ? cfg->cmdline : "";
	size_t len = strlen(user) + 1;

	for (const struct device_type *const *t = types; *t; t++)
		if ((*t)->cmdline && (*t)->wanted(cfg))
			len += (*t)->cmdline(cfg, NULL, 0);
	char *s = kmalloc(a, len);
	if (!s)
		return NULL;
	size_t off = (size_t)snprintf(s, len, "%s", user);
	for (const struct device_type *const *t = types; *t; t++)
		if ((*t)->cmdline && (*t)->wanted(cfg))
			off += (*t)->cmdline(cfg, s + off, len - off);
	/* A device line starts with a space; a command line does not. */
	if (!*user && *s == ' ')
		memmove(s, s + 1, off);
	return s;
}

int device_set_create(const struct device_type *const *types, const struct device_host *host,
		      const struct vm_config *cfg, struct device_set **out, char *err,
		      size_t errlen)
{
	unsigned n = 0;

	for (const struct device_type *const *t = types; *t; t++)
		n += (*t)->wanted(cfg);
	struct device_set *s = kzalloc(host->arena, sizeof(*s) + n * sizeof(s->dev[0]));
	if (!s) {
		snprintf(err, errlen, "devices: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	s->arena = host->arena;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->released, NULL);
	for (const struct device_type *const *t = types; *t; t++) {
		if (!(*t)->wanted(cfg))
			continue;
		char why[200] = "";
		struct device *d = &s->dev[s->nr];
		int rc = (*t)->create(host, cfg, &d->state, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "the %s device: %s", (*t)->name,
				 *why ? why : strerror(-rc));
			device_set_quiesce(s);
			device_set_destroy(s);
			return rc;
		}
		d->set = s;
		d->type = *t;
		s->nr++;
	}
	*out = s;
	return 0;
}

void device_set_quiesce(struct device_set *s)
{
	for (unsigned i = 0; s && i < s->nr; i++)
		if (s->dev[i].type->quiesce)
			s->dev[i].type->quiesce(s->dev[i].state);
}

void device_set_destroy(struct device_set *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	while (s->refs)
		pthread_cond_wait(&s->released, &s->lock);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = s->nr; i-- > 0;)
		s->dev[i].type->destroy(s->dev[i].state);
	pthread_cond_destroy(&s->released);
	pthread_mutex_destroy(&s->lock);
	kfree(s->arena, s);
}

bool device_set_pio(struct device_set *s, void *cpu, uint16_t port, bool write, unsigned size,
		    uint8_t *data, enum device_result *result)
{
	for (unsigned i = 0; i < s->nr; i++) {
		const struct device *d = &s->dev[i];
		if (d->type->pio_claims && d->type->pio_claims(d->state, port)) {
			*result = d->type->pio(d->state, cpu, port, write, size, data);
			return true;
		}
	}
	return false;
}

bool device_set_mmio(struct device_set *s, uint64_t gpa, bool write, uint8_t *data, unsigned len)
{
	for (unsigned i = 0; i < s->nr; i++) {
		const struct device *d = &s->dev[i];
		if (d->type->mmio_claims && d->type->mmio_claims(d->state, gpa)) {
			d->type->mmio(d->state, gpa, write, data, len);
			return true;
		}
	}
	return false;
}

struct device *device_set_get(struct device_set *s, const char *name)
{
	struct device *found = NULL;

	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; !s->closing && !found && i < s->nr; i++) {
		if (!strcmp(s->dev[i].type->name, name)) {
			found = &s->dev[i];
			s->refs++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

void device_put(struct device *d)
{
	if (!d)
		return;
	struct device_set *s = d->set;
	pthread_mutex_lock(&s->lock);
	if (--s->refs == 0)
		pthread_cond_broadcast(&s->released);
	pthread_mutex_unlock(&s->lock);
}

void *device_state(const struct device *d)
{
	return d->state;
}

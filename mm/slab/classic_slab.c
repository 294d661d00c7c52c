/*
 * SLAB's slabs: the layout of a cache (slab order as Linux's
 * calculate_slab_order, on-slab or off-slab index array, index width,
 * colouring), new slabs from the buddy with the next colour, objects taken
 * from and given back to their slabs through the index array, the three
 * node lists (partial, full, free) they move between, empty slabs given
 * back. Everything here runs with the node lock held, except the layout.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "classic_internal.h"

static unsigned nr_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Objects of one slab of the order and what is left over; *idx_size and
 * *mgmt say how its index array is kept. */
static unsigned classic_estimate(const struct slab_cache *c, bool off_slab, unsigned order,
				 unsigned *idx_size, unsigned *mgmt, unsigned long *left)
{
	unsigned long bytes = PAGE_SIZE << order, stride = c->stride, num;

	if (off_slab) {
		/* >= 512-byte objects in <= 32 KiB: at most 64, one byte each. */
		num = bytes / stride;
		*idx_size = 1;
		*mgmt = (unsigned)num;
		*left = bytes - num * stride;
		return (unsigned)num;
	}
	/* On-slab: the array sits before object 0, padded to the alignment. */
	for (unsigned w = 1; w <= 2; w++) {
		num = bytes / (stride + w);
		while (num && ALIGN_UP(num * w, c->align) + num * stride > bytes)
			num--;
		if (w == 1 && num > 256) {
			/* One byte indexes 256 objects: keep 256 if two-byte
			 * indexes would not fit more. */
			unsigned long n2 = bytes / (stride + 2);
			while (n2 && ALIGN_UP(n2 * 2, c->align) + n2 * stride > bytes)
				n2--;
			if (n2 > 256)
				continue;
			num = 256;
		}
		*idx_size = w;
		*mgmt = (unsigned)ALIGN_UP(num * w, c->align);
		*left = bytes - *mgmt - num * stride;
		return (unsigned)num;
	}
	return 0;
}

/* Linux's enable_cpucache defaults, by object size. */
static void classic_default_tunables(struct slab_cache *c)
{
	unsigned size = c->stride, limit;
	if (size > 131072)
		limit = 1;
	else if (size > PAGE_SIZE)
		limit = 8;
	else if (size > 1024)
		limit = 24;
	else if (size > 256)
		limit = 54;
	else
		limit = 120;
	unsigned shared = size <= PAGE_SIZE && nr_cpus() > 1 ? 8 : 0;
	classic_set_tunables(c, limit, (limit + 1) / 2, shared);
}

int classic_layout(struct slab_cache *c, size_t size, size_t align, int order)
{
	struct classic_cache *cc = classic_of(c);
	c->object_size = (unsigned)size;
	c->align = (unsigned)align;
	c->stride = (unsigned)ALIGN_UP(size, align);
	c->red_left = 0;
	c->offset = 0;
	cc->off_slab = c->stride >= CLASSIC_OFFSLAB_MIN;

	unsigned num = 0, idx_size = 1, mgmt = 0;
	unsigned long left = 0;
	if (order >= 0) {
		if (order > SLAB_MAX_ORDER)
			return -EINVAL;
		num = classic_estimate(c, cc->off_slab, (unsigned)order, &idx_size, &mgmt, &left);
	} else {
		/* calculate_slab_order: the first order that holds an object,
		 * a larger one only while more than 1/8 would be wasted, and
		 * none beyond slab_max_order unless nothing smaller fits. */
		for (unsigned o = 0; o <= SLAB_MAX_ORDER; o++) {
			unsigned n, w, m;
			unsigned long l;
			n = classic_estimate(c, cc->off_slab, o, &w, &m, &l);
			if (!n)
				continue;
			num = n, idx_size = w, mgmt = m, left = l, order = (int)o;
			if (o >= CLASSIC_SLAB_MAX_ORDER || l * 8 <= (PAGE_SIZE << o))
				break;
		}
	}
	if (!num || num > UINT16_MAX)
		return -EINVAL;
	c->order = (unsigned)order;
	c->objects = num;
	cc->idx_size = idx_size;
	cc->mgmt = mgmt;
	c->slab_mask = ~((uintptr_t)(PAGE_SIZE << order) - 1);
	c->slab_used = 0;   /* SLUB's inline free must never match */
	c->reciprocal = (uint32_t)(((1ULL << 32) + c->stride - 1) / c->stride);
	cc->colour_off = c->align > CLASSIC_COLOUR_OFF ? c->align : CLASSIC_COLOUR_OFF;
	cc->colour = (unsigned)(left / cc->colour_off);
	classic_default_tunables(c);
	return 0;
}

/* node lock held (or the cache not yet shared) */
void classic_set_tunables(struct slab_cache *c, unsigned limit, unsigned batchcount,
			  unsigned sharedfactor)
{
	struct classic_cache *cc = classic_of(c);
	AC_STORE(cc->limit, limit);
	AC_STORE(cc->batchcount, batchcount);
	cc->sharedfactor = sharedfactor;
	/* Linux: (1 + nr_cpus) * batchcount + objects per slab. */
	cc->free_limit = (1ul + nr_cpus()) * batchcount + c->objects;
}

/* Puts s on the list its fill level calls for. */
static void classic_relist(struct slab_cache *c, struct slab *s)
{
	enum slab_list want = s->inuse == 0 ? SLAB_LIST_FREE :
			      s->inuse == s->objects ? SLAB_LIST_FULL : SLAB_LIST_PARTIAL;
	if (s->list == want)
		return;
	if (s->list != SLAB_LIST_NONE)
		slab_list_del(classic_list(c, s->list), s);
	slab_list_add(classic_list(c, want), s);
	s->list = want;
}

/*
 * Where an off-slab index array lives: in the zone's slab descriptors, one
 * per frame, of which a slab uses only its head's. Order 0 (at most 8
 * objects of >= 512 bytes) takes the head's remote word, which only SLUB
 * uses; a larger order (at most 8 << order objects) the tail frames'
 * descriptors from the first one's freelist field on. Lookups reach a slab
 * through its head (the compound marks) and never read a tail's
 * descriptor, and the bytes are zeroed as the slab goes. Linux kept these arrays in a kmalloc
 * cache; here that could recurse (kmalloc's caches are SLAB caches too) or
 * find its cache destroyed before a user's cache that outlived kmalloc, and
 * extra frames would be VMM frames no slab accounts for. The descriptors
 * cost nothing more and live as long as the zone.
 */
static void *classic_offslab_array(struct slab_cache *c, struct slab *s)
{
	if (!c->order)
		return (void *)&s->remote;
	return (void *)&c->zone->slabs[s->frame + 1].freelist;
}
_Static_assert(sizeof(void *) >= (PAGE_SIZE / CLASSIC_OFFSLAB_MIN), "order-0 off-slab array");
/* Order o >= 1 has (2^o - 1) tail descriptors for 8 << o bytes. */
_Static_assert(sizeof(struct slab) - offsetof(struct slab, freelist) >=
	       2 * (PAGE_SIZE / CLASSIC_OFFSLAB_MIN), "order-1 off-slab array");

/* cache_grow: a new slab with the next colour, on the free list. */
static struct slab *classic_grow(struct slab_cache *c)
{
	struct classic_cache *cc = classic_of(c);
	long fi = mm_frames_alloc(c->zone, c->order, MT_UNMOVABLE, FRAME_VMM, true);
	if (fi < 0)
		return NULL;
	unsigned colour = cc->colour_next * cc->colour_off;
	if (++cc->colour_next >= cc->colour)
		cc->colour_next = 0;
	struct slab *s = &c->zone->slabs[fi];
	memset(s, 0, sizeof(*s));
	atomic_store(&s->owner, SLAB_OWNER_NODE);
	s->frame = (uint32_t)fi;
	s->objects = (uint16_t)c->objects;
	char *base = mm_frame_ptr(c->zone, s->frame);
	if (cc->off_slab) {
		s->freelist = classic_offslab_array(c, s);
		s->first = (uint16_t)colour;
	} else {
		s->freelist = base + colour;
		s->first = (uint16_t)(colour + cc->mgmt);
	}
	for (unsigned i = 0; i < c->objects; i++) {
		classic_idx_set(cc, s, i, i);
		if (c->ctor)
			c->ctor(classic_obj(c, s, i));
	}
	s->list = SLAB_LIST_NONE;
	classic_relist(c, s);
	cc->free_objects += c->objects;
	c->nr_slabs++;
	c->slabs_allocated++;
	/* Published last: kfree and slab_cache_of find the slab from here on. */
	__atomic_store_n(&s->cache, c, __ATOMIC_RELEASE);
	return s;
}

/* An empty slab back to the buddy. */
static void classic_destroy(struct slab_cache *c, struct slab *s)
{
	struct classic_cache *cc = classic_of(c);
	slab_list_del(classic_list(c, s->list), s);
	uint32_t frame = s->frame;
	void *array = s->freelist;
	__atomic_store_n(&s->cache, NULL, __ATOMIC_RELEASE);
	/* Tail descriptors go back as the buddy found them: zero. */
	if (cc->off_slab && c->order)
		memset(array, 0, cc->mgmt);
	memset(s, 0, sizeof(*s));
	atomic_store(&s->owner, SLAB_OWNER_NODE);
	mm_frames_free(c->zone, frame, c->order);
	cc->free_objects -= c->objects;
	c->nr_slabs--;
	c->slabs_freed++;
}

/* Up to want objects from the partial slabs, then the free ones, then new
 * ones; returns how many. */
unsigned classic_take_locked(struct slab_cache *c, void **dst, unsigned want)
{
	struct classic_cache *cc = classic_of(c);
	unsigned n = 0;
	while (n < want) {
		struct slab *s = c->partial.first;
		if (!s) {
			s = cc->slabs_free.first;
			if (s)
				cc->free_touched = true;
			else if (!(s = classic_grow(c)))
				break;
		}
		while (s->inuse < s->objects && n < want) {
			dst[n++] = classic_obj(c, s, classic_idx_get(cc, s, s->inuse));
			s->inuse++;
			cc->free_objects--;
		}
		classic_relist(c, s);
	}
	return n;
}

/* Whether index i is among s's free ones (a double free if so). */
static bool classic_idx_free(const struct classic_cache *cc, const struct slab *s, unsigned i)
{
	for (unsigned j = s->inuse; j < s->objects; j++)
		if (classic_idx_get(cc, s, j) == i)
			return true;
	return false;
}

/* free_block: objects (checked to be objects of this cache when freed)
 * back to their slabs; empty slabs beyond the free limit to the buddy. */
void classic_free_block_locked(struct slab_cache *c, void **objs, unsigned n)
{
	struct classic_cache *cc = classic_of(c);
	for (unsigned k = 0; k < n; k++) {
		struct slab *s = slab_of_zone(c->zone, objs[k]);
		unsigned i = classic_obj_idx(c, s, objs[k]);
		if (!s->inuse || classic_idx_free(cc, s, i)) {
			/* Freed twice while the first one waited in an array. */
			slab_report_object(c, s, objs[k], "Object already free");
			atomic_fetch_add(&c->bad_frees, 1);
			continue;
		}
		s->inuse--;
		classic_idx_set(cc, s, s->inuse, i);
		cc->free_objects++;
		if (s->inuse == 0 && cc->free_objects > cc->free_limit) {
			classic_destroy(c, s);
			continue;
		}
		classic_relist(c, s);
	}
}

/* Up to max free slabs back to the buddy; returns frames freed. */
size_t classic_free_slabs_locked(struct slab_cache *c, unsigned long max)
{
	struct classic_cache *cc = classic_of(c);
	size_t freed = 0;
	while (max-- && cc->slabs_free.first) {
		classic_destroy(c, cc->slabs_free.first);
		freed += (size_t)1 << c->order;
	}
	return freed;
}

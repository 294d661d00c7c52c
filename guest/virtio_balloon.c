/*
 * The virtio-balloon driver, after Linux's: see virtio_balloon.h.
 *
 * Inflate takes frames from the guest's buddy in whole 2 MiB blocks while
 * it needs that many, else in blocks of up to 256 frames (so the host sees
 * runs of neighbouring PFNs, and can give back whole huge pages), splits
 * them into single frames, marks them ballooned and sends their PFNs, at
 * most 256 per buffer, waiting for the host to use each buffer.
 * Deflate sends the PFNs first and waits, and only then are the frames
 * guest frames again and back in the buddy (MUST_TELL_HOST). The driver
 * keeps one buffer in flight per queue, like Linux's.
 */
#include "internal.h"
#include "virtio_balloon.h"

#define INFLATE_Q 0
#define DEFLATE_Q 1
#define STATS_Q   2

/* A device that leaves a buffer unused this long has stopped answering. */
#define USED_TIMEOUT_US 10000000ull

#define DEFLATE_PATTERN 0x62616c6c6f6f6e21ull   /* "balloon!" */

static struct virtq_rings inflate_rings, deflate_rings, stats_rings;
/* The buffers the device reads: PFNs, statistics records. */
static uint32_t batch[VIRTIO_BALLOON_BATCH];
static struct virtio_balloon_stat stats_buf[VIRTIO_BALLOON_NR_STATS];

static void fill_stats(void)
{
	uint64_t free = ram_free_pages() * PAGE_SIZE, total = ram_total_pages() * PAGE_SIZE;
	stats_buf[0] = (struct virtio_balloon_stat){ VIRTIO_BALLOON_S_MEMFREE, free };
	stats_buf[1] = (struct virtio_balloon_stat){ VIRTIO_BALLOON_S_MEMTOT, total };
	stats_buf[2] = (struct virtio_balloon_stat){ VIRTIO_BALLOON_S_AVAIL, free };
}

/* Features, queues, DRIVER_OK and the first stats buffer, on a device
 * just reset by virtio_mmio_probe. */
static bool vballoon_setup(struct vballoon *b, const char **why)
{
	uint64_t wanted = 1ull << VIRTIO_BALLOON_F_MUST_TELL_HOST | 1ull << VIRTIO_BALLOON_F_STATS_VQ |
			  1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM |
			  (b->want_reporting ? 1ull << VIRTIO_BALLOON_F_REPORTING : 0);
	if (!virtio_mmio_negotiate(&b->dev, wanted, why))
		return false;
	b->must_tell_host = b->dev.features & 1ull << VIRTIO_BALLOON_F_MUST_TELL_HOST;
	b->has_stats = b->dev.features & 1ull << VIRTIO_BALLOON_F_STATS_VQ;
	b->deflate_on_oom = b->dev.features & 1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (!virtio_mmio_queue_setup(&b->dev, &b->inflate_vq, INFLATE_Q, &inflate_rings, why) ||
	    !virtio_mmio_queue_setup(&b->dev, &b->deflate_vq, DEFLATE_Q, &deflate_rings, why) ||
	    (b->has_stats && !virtio_mmio_queue_setup(&b->dev, &b->stats_vq, STATS_Q, &stats_rings, why)) ||
	    /* Numbered after the queues negotiated before it (no hints here). */
	    !vballoon_report_setup(b, b->has_stats ? STATS_Q + 1 : STATS_Q, why)) {
		virtio_mmio_fail(&b->dev);
		return false;
	}
	virtio_mmio_driver_ok(&b->dev);
	if (b->has_stats) {
		/* The host keeps this buffer until it wants fresh figures. */
		fill_stats();
		virtq_add_buf(&b->stats_vq, stats_buf, sizeof(stats_buf), false);
		b->stats_sent++;
	}
	vballoon_update_actual(b);
	return true;
}

bool vballoon_init(struct vballoon *b, const char **why)
{
	memset(b, 0, sizeof(*b));
	b->want_reporting = !cmdline_is("reporting", "0");
	/* The first virtio-mmio device on the command line that is a balloon;
	 * a word that does not parse, or another device, is passed over. */
	const char *first_why = NULL;
	for (unsigned n = 0;; n++) {
		const char *w;
		int found = virtio_mmio_from_cmdline(n, &b->dev, &w);
		if (found == 0) {
			*why = first_why ? first_why : w;
			return false;
		}
		if (found > 0 && virtio_mmio_probe(&b->dev, VIRTIO_ID_BALLOON, &w))
			break;
		if (!first_why)
			first_why = w;
	}
	/* Room for every frame the buddy manages, from the buddy itself. */
	uint64_t cap = ram_total_pages();
	uint64_t list_pages = (cap * sizeof(uint32_t) + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t list = ram_alloc_contig((uint32_t)list_pages);
	if (!list) {
		*why = "no room for the list of ballooned pages";
		virtio_mmio_fail(&b->dev);
		return false;
	}
	b->pfns = (uint32_t *)(uintptr_t)list;
	b->capacity = (uint32_t)cap;
	return vballoon_setup(b, why);
}

bool vballoon_reset(struct vballoon *b, const char **why)
{
	return virtio_mmio_probe(&b->dev, VIRTIO_ID_BALLOON, why) && vballoon_setup(b, why);
}

uint32_t vballoon_target(struct vballoon *b)
{
	return virtio_mmio_config_read32(&b->dev, VIRTIO_BALLOON_CFG_NUM_PAGES);
}

void vballoon_update_actual(struct vballoon *b)
{
	virtio_mmio_config_write32(&b->dev, VIRTIO_BALLOON_CFG_ACTUAL, b->nr_ballooned);
}

/* Sends batch[0..n) on q and waits for the host to use it. */
static bool tell_host(struct vballoon *b, struct virtq *q, uint32_t n, const char **why)
{
	if (!virtq_add_buf(q, batch, n * (uint32_t)sizeof(uint32_t), false)) {
		*why = "no free descriptor on a balloon queue";
		return false;
	}
	if (!virtq_wait_used(q, NULL, USED_TIMEOUT_US)) {
		*why = "the host did not use a balloon buffer within 10 s";
		return false;
	}
	(void)b;
	return true;
}

/* The largest order whose block fits in n frames (n > 0). */
static unsigned fit_order(uint32_t n)
{
	unsigned o = 0;
	while (o < 8 && (2u << o) <= n)
		o++;
	return o;
}

/* Frames taken from the buddy, not yet in a buffer: the rest of a split
 * 2 MiB block, sent over two buffers. */
struct taken {
	uint64_t gpa;
	uint32_t left;
	bool no_huge;           /* the buddy had no 2 MiB block: stop asking */
};

/* Puts the frame at gpa into the batch, ballooned. */
static void batch_add(uint32_t *n, uint64_t gpa)
{
	ram_set_state(gpa, FRAME_BALLOONED);
	batch[(*n)++] = (uint32_t)(gpa >> PAGE_SHIFT);
}

/*
 * Fills batch with up to want frames; rest is how many this inflate still
 * needs. While a whole 2 MiB block is still needed the frames come in
 * such blocks (2 MiB-aligned, see ram_init), so a host backing guest RAM
 * with 2 MiB pages can give each one back whole; else in the largest
 * blocks that fit. Returns how many; fewer when the buddy runs dry.
 */
static uint32_t take_frames(struct taken *t, uint32_t want, uint32_t rest)
{
	uint32_t n = 0;
	unsigned order = fit_order(want);
	while (n < want) {
		if (!t->left && !t->no_huge && rest - n >= RAM_HUGE_FRAMES) {
			t->gpa = ram_alloc(RAM_HUGE_ORDER);
			t->no_huge = !t->gpa;
			if (t->gpa) {
				ram_split(t->gpa);
				t->left = RAM_HUGE_FRAMES;
			}
		}
		if (t->left) {
			for (; t->left && n < want; t->left--, t->gpa += PAGE_SIZE)
				batch_add(&n, t->gpa);
			continue;
		}
		while ((1u << order) > want - n)
			order--;
		uint64_t gpa = ram_alloc(order);
		if (!gpa) {
			if (order == 0)
				break;
			order--;
			continue;
		}
		if (order)
			ram_split(gpa);
		for (uint32_t i = 0; i < 1u << order; i++)
			batch_add(&n, gpa + (uint64_t)i * PAGE_SIZE);
	}
	return n;
}

long vballoon_inflate(struct vballoon *b, uint32_t nr, const char **why)
{
	struct taken t = { 0 };
	uint32_t done = 0;
	bool failed = false;
	if (nr > b->capacity - b->nr_ballooned)
		nr = b->capacity - b->nr_ballooned;
	while (done < nr) {
		uint32_t want = nr - done < VIRTIO_BALLOON_BATCH ? nr - done : VIRTIO_BALLOON_BATCH;
		uint32_t n = take_frames(&t, want, nr - done);
		if (!n)
			break;                  /* the buddy ran dry */
		/* Recorded as ballooned before the host hears of them: if it
		 * never answers, the guest does not reuse them either. */
		memcpy(b->pfns + b->nr_ballooned, batch, n * sizeof(uint32_t));
		b->nr_ballooned += n;
		if (!tell_host(b, &b->inflate_vq, n, why)) {
			failed = true;
			break;
		}
		done += n;
		if (n < want)
			break;
	}
	/* A block taken but not sent (only when stopping early) goes back. */
	for (; t.left; t.left--, t.gpa += PAGE_SIZE)
		ram_free(t.gpa, 0);
	return failed ? -1 : (long)done;
}

/* Writes a pattern over a returned page and reads it back. */
static bool check_page(uint64_t gpa)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)gpa;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		p[i] = (gpa + i * 8) ^ DEFLATE_PATTERN;
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		if (p[i] != ((gpa + i * 8) ^ DEFLATE_PATTERN))
			return false;
	return true;
}

long vballoon_deflate(struct vballoon *b, uint32_t nr, const char **why)
{
	uint32_t done = 0;
	if (nr > b->nr_ballooned)
		nr = b->nr_ballooned;
	while (done < nr) {
		uint32_t n = nr - done < VIRTIO_BALLOON_BATCH ? nr - done : VIRTIO_BALLOON_BATCH;
		memcpy(batch, b->pfns + b->nr_ballooned - n, n * sizeof(uint32_t));
		/* The host hears first; the pages stay ballooned until it answers. */
		if (!tell_host(b, &b->deflate_vq, n, why))
			return -1;
		b->nr_ballooned -= n;
		for (uint32_t i = 0; i < n; i++) {
			uint64_t gpa = (uint64_t)batch[i] << PAGE_SHIFT;
			ram_set_state(gpa, FRAME_GUEST);
			if (b->check_deflated) {
				b->deflated_checked++;
				if (!check_page(gpa))
					b->deflated_bad++;
			}
			ram_free(gpa, 0);
		}
		done += n;
	}
	return done;
}

long vballoon_deflate_on_oom(struct vballoon *b, uint32_t nr)
{
	if (!b->deflate_on_oom)
		return 0;
	const char *why;
	long n = vballoon_deflate(b, nr, &why);
	if (n > 0)
		vballoon_update_actual(b);
	return n < 0 ? 0 : n;
}

void vballoon_poll_stats(struct vballoon *b)
{
	if (!b->has_stats || !virtq_get_used(&b->stats_vq, NULL))
		return;
	fill_stats();
	virtq_add_buf(&b->stats_vq, stats_buf, sizeof(stats_buf), false);
	b->stats_sent++;
}

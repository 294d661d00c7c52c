/*
 * Ballooned guest memory (DESIGN.md memory model 6): what happens to a GFN
 * the guest gives up and takes back. The device (virtio-balloon) decides
 * which GFNs; this file owns the frames behind them.
 *
 * Inflate returns the GFN's memory to the host at once (4 KiB punch in zone
 * Normal; in zone Huge only once all 512 pieces of a 2 MiB page are
 * ballooned) and cuts the guest view with an anonymous placeholder, so the
 * guest can never reach the frame again (I2); the frame then goes back to
 * the buddy. When the host mapping budget (I4) is short the frame stays
 * ballooned-pending: punched, reserved to its GFN, handed to nobody.
 * Deflate gives the GFN a zeroed frame again.
 *
 * Functions are safe while vCPUs run and take guest_mem's lock.
 */
#ifndef VMM_BALLOON_MEM_H
#define VMM_BALLOON_MEM_H

#include <stdbool.h>
#include <stdint.h>

struct guest_mem;

struct balloon_mem_stats {
	uint64_t ballooned_pages;      /* 4 KiB GFNs the guest has given up now */
	uint64_t frames_returned;      /* frames handed back to the buddy now */
	uint64_t host_bytes_released;  /* measured: memfd allocated-block drops, less
					* what the placeholders hold again */
	uint64_t placeholder_resident; /* bytes the guest wrote into pages it gave up:
					* anonymous memory behind the placeholders */
	uint64_t pending;              /* ballooned-pending frames now */
	uint64_t rejected;             /* bogus PFNs refused, ever */
};

/* What became of the GFNs of one batch. */
struct balloon_mem_result {
	uint32_t done;
	uint32_t bogus;         /* refused as bogus PFNs (counted as rejected) */
	uint32_t failed;        /* no frame, no mapping or a host error now */
	int err;                /* the last failure's negative errno */
};

/*
 * Balloons the n GFNs of gfns (a virtio buffer's worth). Bogus ones
 * (outside RAM, in a hole, already ballooned, twice in the batch) are
 * refused and counted; a failed GFN is left unchanged. Consecutive GFNs
 * backed by consecutive zone Normal frames leave together: one punch and
 * one placeholder mapping per run, not per page.
 */
void balloon_mem_inflate_batch(struct guest_mem *gm, const uint64_t *gfns, unsigned n,
			       struct balloon_mem_result *res);
/* Gives each GFN a zeroed frame again; a run of consecutive returned GFNs
 * gets contiguous frames where the buddy has them, one mapping per block.
 * Never-inflated GFNs are bogus. */
void balloon_mem_deflate_batch(struct guest_mem *gm, const uint64_t *gfns, unsigned n,
			       struct balloon_mem_result *res);
/* One GFN: 0, -EINVAL for a bogus PFN, or the failure's negative errno. */
int balloon_mem_inflate(struct guest_mem *gm, uint64_t gfn);
int balloon_mem_deflate(struct guest_mem *gm, uint64_t gfn);
void balloon_mem_stats(struct guest_mem *gm, struct balloon_mem_stats *out);
/* Whether gfn is ballooned now (a deflate that failed leaves it so). */
bool balloon_mem_is_ballooned(struct guest_mem *gm, uint64_t gfn);
/*
 * Gives gm its balloon state (a bit per GFN, a few bytes per 2 MiB, from
 * gm's arena): before any inflate, while no vCPU runs. 0 or -ENOMEM.
 * Without it every GFN of a batch fails with -ENODEV.
 */
int balloon_mem_attach(struct guest_mem *gm);
/*
 * Drops gm's balloon state, once no inflate or deflate can come (and
 * before guest_mem_destroy). Ballooned GFNs need nothing else: the
 * teardown frees what the p2m names.
 */
void balloon_mem_forget(struct guest_mem *gm);

#endif

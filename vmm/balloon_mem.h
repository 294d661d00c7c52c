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

#include <stdint.h>

struct guest_mem;

struct balloon_mem_stats {
	uint64_t ballooned_pages;      /* 4 KiB GFNs the guest has given up now */
	uint64_t frames_returned;      /* frames handed back to the buddy now */
	uint64_t host_bytes_released;  /* measured: memfd allocated-block drops */
	uint64_t pending;              /* ballooned-pending frames now */
	uint64_t rejected;             /* bogus PFNs refused, ever */
};

/*
 * Balloons gfn. 0, or -EINVAL for a bogus PFN (outside RAM, in a hole,
 * already ballooned) which is counted as rejected, or another negative
 * errno (the GFN is then unchanged).
 */
int balloon_mem_inflate(struct guest_mem *gm, uint64_t gfn);
/* Gives gfn a zeroed frame again. 0, or -EINVAL (never inflated; counted),
 * or -ENOMEM/-ENOSPC when no frame or mapping is available now. */
int balloon_mem_deflate(struct guest_mem *gm, uint64_t gfn);
void balloon_mem_stats(struct guest_mem *gm, struct balloon_mem_stats *out);
/*
 * Drops gm's balloon state; call it before guest_mem_destroy (the state is
 * found by gm's address, which a later guest_mem may reuse). Ballooned
 * GFNs need nothing else: the teardown frees what the p2m names.
 */
void balloon_mem_forget(struct guest_mem *gm);

#endif

/*
 * The balloon image's churn workload (churn.c): memory allocated, written,
 * freed and reused while free page reporting gives it back to the host.
 */
#ifndef GUEST_CHURN_H
#define GUEST_CHURN_H

#include <stdbool.h>
#include <stdint.h>
#include "virtio_balloon.h"

struct churn_opts {
	uint64_t bytes;                 /* written per cycle (whole 2 MiB blocks) */
	uint64_t cycles;
	uint64_t pause_us;              /* after each report, before the reuse */
};

/*
 * Runs the cycles (see churn.c for the lines it prints), checking the
 * caller's working set with ws_bad (pages whose hash changed) at every
 * step. False if the device stopped answering or a check failed.
 */
bool churn_run(struct vballoon *b, const struct churn_opts *o, uint64_t (*ws_bad)(void));

#endif

/*
 * BALLOON_CHANGE: the monitor listens to the balloon's driver from its
 * start to its stop. The device's listener (on the thread of the driver's
 * config write) records each new `actual` and writes to the monitor's wake
 * descriptor; the monitor's thread then takes the change and sends the
 * event. The balloon is reached through the device table with a reference
 * held only while the listener is set or cleared.
 */
#ifndef VMM_MONITOR_BALLOON_WATCH_H
#define VMM_MONITOR_BALLOON_WATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "vmm/core/vm_control.h"

struct balloon_watch {
	pthread_mutex_t lock;
	bool listening;              /* a balloon was there at start */
	bool changed;
	uint32_t actual_pages;       /* the latest the driver wrote */
	uint64_t ram_bytes;
	int wake_fd;                 /* -1: nobody to wake */
};

/* Listens to t's balloon, if it has one. */
void balloon_watch_start(struct balloon_watch *w, const struct vm_control *t, int wake_fd);
/* Returns once no listener call is under way. */
void balloon_watch_stop(struct balloon_watch *w, const struct vm_control *t);
/* true once per change of `actual` since the last call: the logical VM
 * size for BALLOON_CHANGE's data. */
bool balloon_watch_take(struct balloon_watch *w, uint64_t *actual_bytes);

#endif

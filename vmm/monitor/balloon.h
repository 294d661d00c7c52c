/*
 * The balloon as the monitor sees it. The VM attaches its balloon device
 * under the same ctx its struct monitor_target carries; the QMP commands
 * (monitor/qmp/cmd_balloon.c) find it by that ctx, so the protocol code needs no
 * VM, and a target without a balloon answers as QEMU does ("No balloon
 * device has been activated").
 *
 * BALLOON_CHANGE: the device's listener records each new `actual` here and
 * writes to the wake descriptor (if set); the monitor's thread then takes
 * the change with monitor_balloon_take_change and sends the event.
 *
 * The bookkeeping per ctx is kzalloc'd on an arena (never libc): the guest
 * memory's for an attach, the caller's for a wake descriptor. That arena
 * must outlive it: detach and set_wake(-1) before destroying the arena.
 */
#ifndef VMM_MONITOR_BALLOON_H
#define VMM_MONITOR_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

struct virtio_balloon;
struct guest_mem;
struct mm_arena;

/* Attaches b (backed by gm) under ctx and listens to its driver; replaces
 * an earlier attachment of ctx. ctx's entry, if new, comes from gm's arena.
 * 0 or -ENOMEM. */
int monitor_balloon_attach(void *ctx, struct virtio_balloon *b, struct guest_mem *gm);
/* Before the device is destroyed. */
void monitor_balloon_detach(void *ctx);
/* An eventfd to write to when `actual` changes, kept for ctx whether a
 * balloon is attached before or after; -1 forgets it. An entry for ctx
 * that does not exist yet is taken from a (unused, may be NULL, when fd is
 * -1); out of memory, no wake-ups are sent. */
void monitor_balloon_set_wake(void *ctx, struct mm_arena *a, int fd);

/* What the commands need: NULL when ctx has no balloon. */
struct virtio_balloon *monitor_balloon_device(void *ctx, struct guest_mem **gm);
/* Sets the target logical VM size in bytes: the device is asked to hold
 * ram - target_bytes (4 KiB pages, rounded down; a target above the RAM
 * size means an empty balloon). -ENODEV without a balloon. */
int monitor_balloon_request(void *ctx, uint64_t target_bytes);
/* The logical VM size the driver reports, in bytes. -ENODEV without one. */
int monitor_balloon_actual(void *ctx, uint64_t *actual_bytes);
/* The target logical VM size last requested, in bytes. */
int monitor_balloon_target(void *ctx, uint64_t *target_bytes);

/* true once per change of `actual` since the last call: the logical VM
 * size to put in BALLOON_CHANGE's data. */
bool monitor_balloon_take_change(void *ctx, uint64_t *actual_bytes);

#endif

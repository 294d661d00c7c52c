/*
 * One VM for the balloon end-to-end suites: build/memvisor --monitor
 * running a guest image (our balloon images or the Linux test guest), a
 * QMP client connected to it, and what the tests read: the guest's console
 * lines, x-query-balloon and x-query-frames, BALLOON_CHANGE events, and
 * the host's view of the VM process. Everything needs /dev/kvm (be_start
 * skips without it, fails when CI=true and it refuses us).
 */
#ifndef TESTS_MONITOR_BALLOON_VM_H
#define TESTS_MONITOR_BALLOON_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "mon_proc.h"

#define MIB (1ULL << 20)
#define RAM (256 * MIB)
#define HUGE_PAGE_KIB 2048

#define INT(o, key) ((uint64_t)json_integer_value(json_object_get(o, key)))

extern struct mon_proc be_vm;
extern struct mon_client be_cl;
/* How long a balloon change may take (be_start sets 30 s; a Linux guest
 * needs more). */
extern double be_balloon_limit_s;
/* BALLOON_CHANGE events seen so far and the latest one's actual. */
extern unsigned be_events;
extern uint64_t be_event_actual;

/* The suites' .fini: closes the client, ends the VM. */
void be_fini(void);
/* Starts image (under the build directory) with -m 256M, --hugepages
 * hugepages and --cmdline cmdline, connects and negotiates. */
void be_start(const char *image, const char *hugepages, const char *cmdline);
/* Sends a command; returns its "return" (the caller frees *reply),
 * counting the events read on the way. */
json_t *be_cmd(const char *text, json_t **reply);
json_t *be_xquery(json_t **reply);
/* Free frames of every zone and whether each is consistent (I1); the
 * VMM's and the guest's frames added to *vmm and *guest when not NULL. */
uint64_t be_frames(bool *consistent, uint64_t *vmm, uint64_t *guest);
uint64_t be_free_frames(bool *consistent);
/* QMP balloon to bytes; waits for query-balloon and the event. */
void be_balloon_to(uint64_t bytes);

/* Waits until the console holds n lines starting with prefix; returns it
 * (malloc'd). */
char *be_wait_lines(const char *prefix, unsigned n, double timeout_s);
/* The last line of out starting with prefix, in a static buffer. */
const char *be_last_line(const char *out, const char *prefix);
/* Waits until the Linux init's latest memory line has key >= at_least. */
long long be_wait_linux_meminfo(const char *key, long long at_least, double timeout_s);

/* The host's /proc/meminfo value of key (kB or a count). */
uint64_t be_meminfo(const char *key);
/* Skips (fails when CI=true) unless the hugetlb pool holds RAM. */
void be_need_huge_pool(void);
/* Bytes allocated to the process's memfds, its VmRSS, and the hugetlb
 * pool's pages in use (bytes). */
uint64_t be_memfd_bytes(pid_t pid);
uint64_t be_vm_rss(pid_t pid);
uint64_t be_pool_used(void);

#endif

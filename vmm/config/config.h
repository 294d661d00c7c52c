/*
 * What a VM is made of, as the user asked for it: the command line's result
 * (cli/cli.c, domain/ for --domain) and the input of vm_create (core/vm.c).
 * Plain data; the in-process tests fill it themselves.
 *
 * vmm/config/ owns the command line and the libvirt domain XML; it uses mm/
 * (for mm_huge_mode) and include/abi/, nothing else of vmm/: the core and
 * the devices read this struct, and nothing here calls them.
 */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include "mm/arena.h"

#define VMM_VERSION "0.1.0"
#define VMM_DEFAULT_MEM (256ULL << 20)
#define VMM_DEFAULT_KVM_DEVICE "/dev/kvm"
#define VMM_KVM_DEVICE_ENV "MEMVISOR_KVM_DEVICE"
/* Guest RAM is handed out in 2 MiB guest views (DESIGN.md, memory model). */
#define VMM_MEM_ALIGN (2ULL << 20)
#define VMM_MEM_MIN VMM_MEM_ALIGN

/* Process exit statuses besides the guest's own (README, "Exit status"). */
#define VMM_EXIT_ERROR 1      /* the VMM could not do what was asked */
#define VMM_EXIT_CRASH 2      /* the guest crashed; a report is on stderr */

/* The memory balloon device a domain XML asks for (<memballoon model>). */
enum vm_balloon_model {
	VM_BALLOON_UNSET,            /* not said: the balloon code's default */
	VM_BALLOON_VIRTIO,
	VM_BALLOON_NONE,
};

/* An on/off choice the user may leave unsaid. */
enum vm_switch {
	VM_SWITCH_UNSET,             /* not said: the default (on, for reporting) */
	VM_SWITCH_ON,
	VM_SWITCH_OFF,
};

struct vm_config {
	const char *image;
	uint64_t mem_bytes;          /* a multiple of VMM_MEM_ALIGN */
	unsigned cpus;
	enum mm_huge_mode hugepages;
	enum mm_normal_backing normal_backing;
	bool prealloc;               /* back all guest RAM before the guest runs */
	const char *cmdline;         /* NULL: empty */
	const char *initrd;          /* NULL: none */
	const char *monitor;         /* --monitor PATH, or NULL */
	const char *kvm_device;
	const char *domain;          /* --domain FILE, NULL: none */
	/* From the domain XML, for the balloon (which does not act on them yet):
	 * the RAM the guest should keep at boot (<currentMemory>; 0: all of
	 * mem_bytes) and the device model. */
	uint64_t balloon_target_bytes;
	enum vm_balloon_model balloon;
	/* Free page reporting on the balloon (--balloon-reporting, or the
	 * domain's <memballoon freePageReporting>): on unless said off. */
	enum vm_switch balloon_reporting;
	/* --compaction-proactiveness: 0 (off) .. 100, as Linux's sysctl
	 * vm.compaction_proactiveness (core/vm_proactive_policy.h). */
	unsigned compaction_proactiveness;
	bool stats;                  /* full buddyinfo + slabinfo at exit */
	enum mm_slab_policy slab_policy; /* --slab; DEFAULT: $MEMVISOR_SLAB, else SLUB */
	/* Room zone Normal keeps for metadata beyond the VM's own: what the
	 * monitor may take from the arena (main.c sets it). */
	uint64_t metadata_reserve_bytes;
	int out_fd;                  /* where the guest's console goes */
};

/* The defaults of every field (image NULL, out_fd 1); in cli.c. */
void vm_config_init(struct vm_config *cfg);

#endif

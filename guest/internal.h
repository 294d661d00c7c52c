/*
 * The runtime's own shared state, not for images: what the boot code and
 * the linker script define, and the boot information start.c collects.
 */
#ifndef GUEST_INTERNAL_H
#define GUEST_INTERNAL_H

#include <stdint.h>
#include "abi/memvisor.h"
#include "boot.h"
#include "runtime.h"

#define BOOT_MAX_RAM      64
#define BOOT_MAX_RESERVED 16

/* What the VMM told the guest at boot, copied out of its structures. */
struct boot_info {
	const char *protocol;           /* "pvh", "linux" (zero page) or "none" */
	char cmdline[ABI_CMDLINE_MAX];
	struct mem_range ram[BOOT_MAX_RAM];          /* memory-map RAM, sorted */
	unsigned nram;
	/* Boot structures and modules inside RAM, to keep out of use. */
	struct mem_range reserved[BOOT_MAX_RESERVED];
	unsigned nreserved;
};
extern struct boot_info boot;

/* bootinfo.c: fills boot from the pointer the entry code was given. */
void bootinfo_parse(uint64_t gpa);
/* memory.c: maps RAM above the boot map (needs boot.ram). */
void memory_map_high(void);

/* console.c: part of a line is waiting for its newline. */
bool console_pending(void);

/* pagetables.S, guest.ld */
extern uint64_t boot_pdpt[512];
extern uint64_t boot_pd_pool[PD_POOL_PAGES][512];
extern char image_end[], __bss_start[], __bss_end[];
/* boot_shared.S (never boot.S, which calls into C and must stay above it) */
extern char boot_kvmclock[32];
_Noreturn void runtime_exit_trap(long status);
_Noreturn void boot_triple_fault(void);

#endif

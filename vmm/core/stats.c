/*
 * Allocator state at exit (--stats in full, a short form always): the
 * zones' buddyinfo, the VMM's slab caches, and how the guest ran. The text
 * comes from mm/'s own formatters, in the kernel's formats.
 */
#include <stdio.h>
#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "vmm/memory/guest_mem.h"
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"

/* The summary with --stats: slabinfo has a line per cache. */
#define STATS_TEXT_MAX (128u << 10)

struct slab_totals {
	unsigned caches;
	unsigned long objs, slabs;
};

static void stats_add_cache(struct slab_cache *c, void *arg)
{
	struct slab_totals *t = arg;
	struct slab_cache_info info;

	slab_cache_get_info(c, &info);
	t->caches++;
	t->objs += info.active_objs;
	t->slabs += info.num_slabs;
}

/* Prints a formatter's text through a buffer from the arena. */
static void stats_print_text(struct vm *vm, FILE *f,
			     size_t (*fmt)(struct mm_arena *, char *, size_t))
{
	size_t need = fmt(vm->arena, NULL, 0) + 1;
	char *buf = kvmalloc(vm->arena, need);

	if (!buf)
		return;
	fmt(vm->arena, buf, need);
	fputs(buf, f);
	kvfree(vm->arena, buf);
}

static void stats_print(struct vm *vm, FILE *f, bool full)
{
	struct timespec now;
	struct slab_totals t = { 0 };
	uint64_t exits = 0, int3 = 0;
	char ram[160], extra[64] = "";

	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - vm->started.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - vm->started.tv_nsec) / 1e6;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		exits += vm->vcpus[i]->exits;
		int3 += vm->vcpus[i]->int3_delivered;
	}
	if (int3)
		snprintf(extra, sizeof(extra), " (%llu int3 finished for KVM's emulator)",
			 (unsigned long long)int3);
	guest_mem_describe(vm->gm, ram, sizeof(ram));
	fprintf(f, "memvisor: %s guest ran %.1f ms, %llu exits%s; %s\n", vm->entry.format, ms,
		(unsigned long long)exits, extra, ram);
	/* auto that could not have THP says why: the user may fix the host. */
	if (vm->cfg.normal_backing == MM_NORMAL_AUTO && !mm_zone_get(vm->arena, ZONE_NORMAL)->thp)
		fprintf(f, "memvisor: %s\n", vm->arena->normal_status);
	stats_print_text(vm, f, mm_format_buddyinfo);
	slab_for_each_cache(vm->arena, stats_add_cache, &t);
	if (full) {
		fprintf(f, "memvisor: slab (%s):\n", slab_policy_name(vm->arena));
		stats_print_text(vm, f, slab_format_slabinfo);
	}
	else
		/* The KiB are every frame the slab holds: SLOB's pages are
		 * shared by all caches and are in no cache's slabs. */
		fprintf(f, "memvisor: slab (%s): %u caches, %lu objects in %lu slabs (%zu KiB); "
			"--stats for slabinfo\n", slab_policy_name(vm->arena), t.caches, t.objs,
			t.slabs, slab_frames_held(vm->arena) * 4);
}

/* What slow readers cost: only said when something was lost. The run has
 * ended and its output has been waited for, so what is still queued now
 * goes nowhere either (a reader that wakes up at once may yet get it). */
static void stats_print_dropped(struct vm *vm, FILE *f)
{
	struct out_stream_stats con, log;

	out_stream_get_stats(&vm->out->console.out, &con);
	out_stream_get_stats(&vm->out->log, &log);
	uint64_t con_lost = con.dropped + con.queued, log_lost = log.dropped + log.queued;
	if (con_lost || log_lost)
		fprintf(f, "memvisor: output dropped for readers that did not keep up: console %llu "
			"bytes, log %llu bytes\n", (unsigned long long)con_lost,
			(unsigned long long)log_lost);
}

/* Printed into a buffer from the arena, then queued on the log as one
 * record: a stalled stderr must not keep the process from exiting. */
void vm_print_stats(struct vm *vm, bool full)
{
	size_t cap = STATS_TEXT_MAX;
	char *buf = kvmalloc(vm->arena, cap);
	FILE *f = buf ? fmemopen(buf, cap, "w") : NULL;

	if (f) {
		stats_print(vm, f, full);
		stats_print_dropped(vm, f);
		long n = ftell(f);
		fclose(f);
		if (n > 0)
			out_stream_write(&vm->out->log, buf, (size_t)n < cap ? (size_t)n : cap - 1);
	}
	if (buf)
		kvfree(vm->arena, buf);
}

/*
 * The balloon benchmark: the same guest/balloon.elf under memvisor (zone
 * Huge when the hugetlb pool has room for the guest, and zone Normal) and
 * under QEMU microvm with -device virtio-balloon-device, side by side. A
 * 1 GiB guest is ballooned to a logical size of 512 MiB over QMP and back:
 *   - inflate: from sending `balloon` until query-balloon reports the new
 *     actual;
 *   - released: the process's resident memory (VmRSS plus its hugetlb
 *     memory, see resident()) just before minus just after the inflate,
 *     against the 512 MiB ballooned;
 *   - deflate: from sending `balloon` back to 1 GiB until query-balloon
 *     reports it.
 * A guest only gives back memory it has touched. balloon.elf has no option
 * to touch all its RAM, so every run first makes one unmeasured inflate
 * and deflate: the guest writes and reads back every page it deflates,
 * which touches 512 MiB of its free RAM. The measured inflate then finds
 * the guest's touched memory (reported as touched_mib: the process's
 * resident growth over that warm-up) and released is set against both.
 *
 * usage: balloon BUILD_DIR   (BUILD_DIR holds memvisor and guest/balloon.elf)
 * One JSON object per line on stdout, then a table.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "balloon_vm.h"

#define TARGET_MIB 512
#define REPS 3

struct result {
	bool ok;
	double inflate_ms, deflate_ms;      /* medians over REPS */
	double released_mib, touched_mib;   /* medians over REPS */
	char why[200];
};

/* query-balloon's actual in bytes, or 0. */
static unsigned long long query_actual(struct vm *vm)
{
	char *r = qmp_cmd(vm, "{\"execute\": \"query-balloon\"}\n");
	char *a = r ? strstr(r, "\"actual\"") : NULL;
	if (!a)
		return 0;
	a = strchr(a, ':');
	return a ? strtoull(a + 1, NULL, 10) : 0;
}

/* Sends balloon and waits until query-balloon reports the size: seconds
 * taken, or -1. */
static double balloon_to(struct vm *vm, unsigned long long bytes)
{
	char text[128];
	snprintf(text, sizeof(text), "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}\n",
		 bytes);
	double t0 = now_s();
	char *r = qmp_cmd(vm, text);
	if (!r || !strstr(r, "\"return\""))
		return -1;
	/* Polled every 0.5 ms: often enough for the figure, seldom enough
	 * not to keep the monitor from the device. */
	while (query_actual(vm) != bytes) {
		if (now_s() - t0 > STEP_LIMIT_S)
			return -1;
		usleep(500);
	}
	return now_s() - t0;
}


static bool measure_once(enum vmm v, double *inflate, double *deflate, double *released,
			 double *touched, char *why, size_t whylen)
{
	struct vm vm;
	bool ok = false;
	const unsigned long long full = GUEST_MIB * MIB, half = TARGET_MIB * MIB;

	if (!vm_start(v, &vm, NULL, why, whylen))
		goto out;
	/* Warm-up: the deflate writes and checks every page it gives back. */
	long long r0 = resident(vm.pid, v == MV_HUGE);
	if (balloon_to(&vm, half) < 0 || balloon_to(&vm, full) < 0) {
		snprintf(why, whylen, "the warm-up inflate and deflate did not complete");
		goto out;
	}
	long long r1 = resident(vm.pid, v == MV_HUGE);
	double ti = balloon_to(&vm, half);
	long long r2 = resident(vm.pid, v == MV_HUGE);
	double td = ti < 0 ? -1 : balloon_to(&vm, full);
	if (ti < 0 || td < 0 || r0 < 0 || r1 < 0 || r2 < 0) {
		snprintf(why, whylen, "the measured inflate or deflate did not complete");
		goto out;
	}
	*inflate = ti * 1e3;
	*deflate = td * 1e3;
	*released = (double)(r1 - r2) / (double)MIB;
	*touched = (double)(r1 - r0) / (double)MIB;
	ok = true;
out:
	vm_stop(&vm);
	return ok;
}

static void measure(enum vmm v, struct result *r)
{
	double inf[REPS], def[REPS], rel[REPS], tou[REPS];

	memset(r, 0, sizeof(*r));
	if (v == MV_HUGE) {
		long need = GUEST_MIB / 2 + 16;
		long have = huge_free(NULL);
		if (have < need) {
			snprintf(r->why, sizeof(r->why),
				 "skipped: the hugetlb pool has %ld free 2 MiB pages, a %d MiB guest needs %ld",
				 have, GUEST_MIB, need);
			return;
		}
	}
	for (int i = 0; i < REPS; i++)
		if (!measure_once(v, &inf[i], &def[i], &rel[i], &tou[i], r->why, sizeof(r->why)))
			return;
	r->inflate_ms = median(inf, REPS);
	r->deflate_ms = median(def, REPS);
	r->released_mib = median(rel, REPS);
	r->touched_mib = median(tou, REPS);
	r->ok = true;
}

int main(int argc, char **argv)
{
	struct result res[NR_VMM];
	int failed = 0;

	int st = bench_vm_args(argc, argv, "balloon");
	if (st >= 0)
		return st;
	for (int v = 0; v < NR_VMM; v++) {
		measure((enum vmm)v, &res[v]);
		if (bench_vm_failed("balloon", v, res[v].ok, res[v].why, &failed))
			continue;
		printf("{\"bench\": \"balloon\", \"impl\": \"%s\", \"guest_mib\": %d, "
		       "\"ballooned_mib\": %d, \"inflate_ms\": %.3f, \"deflate_ms\": %.3f, "
		       "\"released_mib\": %.1f, \"touched_mib\": %.1f, \"released_pct\": %.1f, "
		       "\"reps\": %d}\n",
		       vmm_name[v], GUEST_MIB, GUEST_MIB - TARGET_MIB, res[v].inflate_ms,
		       res[v].deflate_ms, res[v].released_mib, res[v].touched_mib,
		       100.0 * res[v].released_mib / (GUEST_MIB - TARGET_MIB), REPS);
		fflush(stdout);
	}
	printf("\nBalloon side by side: %d MiB guest inflated to %d MiB and back, "
	       "median of %d runs\n", GUEST_MIB, TARGET_MIB, REPS);
	printf("%-34s%18s%18s%18s\n", "", vmm_name[0], vmm_name[1], vmm_name[2]);
	const char *labels[] = { "inflate 512 MiB, ms", "host memory released, MiB",
				 "  of the ballooned 512 MiB, %", "touched before (warm-up), MiB",
				 "deflate 512 MiB, ms" };
	for (int row = 0; row < 5; row++) {
		printf("%-34s", labels[row]);
		for (int v = 0; v < NR_VMM; v++) {
			const struct result *x = &res[v];
			double val = row == 0 ? x->inflate_ms : row == 1 ? x->released_mib :
				     row == 2 ? 100.0 * x->released_mib / (GUEST_MIB - TARGET_MIB) :
				     row == 3 ? x->touched_mib : x->deflate_ms;
			if (x->ok)
				printf("%18.2f", val);
			else
				printf("%18s", "-");
		}
		printf("\n");
	}
	for (int v = MV_HUGE; v <= MV_NORMAL; v++) {
		if (!res[v].ok || !res[QEMU].ok || res[v].inflate_ms <= 0)
			continue;
		printf("%-34s%18.2fx   (goal: at least 2x)\n",
		       v == MV_HUGE ? "inflate speed, Huge / QEMU" : "inflate speed, Normal / QEMU",
		       res[QEMU].inflate_ms / res[v].inflate_ms);
		printf("%-34s%18.2fx\n", v == MV_HUGE ? "deflate speed, Huge / QEMU" :
		       "deflate speed, Normal / QEMU", res[QEMU].deflate_ms / res[v].deflate_ms);
	}
	printf("%-34s%18s   (goal: released >= 99 %% of the ballooned bytes)\n", "", "");
	return failed ? 1 : 0;
}

/*
 * The free page reporting benchmark: guest/balloon.elf with churn=512M
 * (guest/churn.c) in a 1 GiB guest, no balloon target ever set, under
 * memvisor in zone Huge (when the hugetlb pool has room) and zone Normal
 * and under QEMU microvm with free-page-reporting=on, side by side. For
 * each of CYCLES cycles the guest writes 512 MiB and frees it; measured:
 *   - back_pct: of those 512 MiB, how much left the process's resident
 *     memory (resident(), balloon_vm.h) within 3 s of the guest's "freed"
 *     line (Linux reports 2 s after a free; the goal is >= 99 %), median
 *     over the cycles;
 *   - hashes: whether the guest's data and working-set hashes held
 *     through every cycle (its "churn done" line);
 *   - guest_ms_per_gib: guest time spent reporting (the guest's TSC, its
 *     guest-us figure) per reported GiB;
 *   - vmm_cpu_ms_per_gib: the VMM process's CPU time (user + system) over
 *     the run, per reported GiB — an upper bound, as it includes serving
 *     the guest's other exits.
 *
 * usage: reporting BUILD_DIR   (one JSON object per line, then a table)
 */
#include "balloon_vm.h"

#define CHURN_MIB 512
#define CYCLES 20
#define WINDOW_S 3.0
/* A step of a cycle (write, free, reuse): under QEMU, where the guest
 * spins on the TSC instead of halting, a cycle takes about 40 s here. */
#define CYCLE_STEP_LIMIT_S 180.0

struct result {
	bool ok, hashes_ok;
	double back_pct, min_pct;           /* median and worst cycle */
	double guest_ms_per_gib, vmm_cpu_ms_per_gib;
	char why[320];
};

/* The process's CPU time (user + system), in seconds. */
static double cpu_s(pid_t pid)
{
	char path[64];
	unsigned long long ut = 0, st = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	/* Fields 14 and 15, after the command's closing parenthesis. */
	char buf[1024];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Waits for text on the console after offset from: where, or NULL when the
 * guest ended or took longer than limit_s. */
static const char *wait_console(struct vm *vm, size_t from, const char *text, double limit_s)
{
	double end = now_s() + limit_s;
	const char *hit;
	while (!(hit = console_find(vm, from, text))) {
		if (now_s() > end || waitpid(vm->pid, NULL, WNOHANG) == vm->pid)
			return NULL;
		usleep(2000);
	}
	return hit;
}

static void measure(enum vmm v, struct result *r)
{
	struct vm vm;
	double pct[CYCLES];
	char cmdline[96];

	memset(r, 0, sizeof(*r));
	if (v == MV_HUGE && huge_free(NULL) < GUEST_MIB / 2 + 16) {
		snprintf(r->why, sizeof(r->why), "skipped: the hugetlb pool has %ld free 2 MiB pages, "
			 "a %d MiB guest needs %d", huge_free(NULL), GUEST_MIB, GUEST_MIB / 2 + 16);
		return;
	}
	snprintf(cmdline, sizeof(cmdline), "ws=16M churn=%dM cycles=%d pause=%d", CHURN_MIB, CYCLES,
		 (int)(WINDOW_S * 1000) + 500);
	if (!vm_start(v, &vm, cmdline, r->why, sizeof(r->why)))
		goto out;
	/* The line after "ready", which QEMU's console may not have written
	 * out yet. */
	for (double end = now_s() + 5; !console_has(&vm, "balloon: reporting ") && now_s() < end;)
		usleep(2000);
	if (!console_has(&vm, "balloon: reporting on")) {
		snprintf(r->why, sizeof(r->why), "the guest has no free page reporting (see its console)");
		goto out;
	}
	double cpu0 = cpu_s(vm.pid);
	size_t at = 0;
	for (int c = 1; c <= CYCLES; c++) {
		char text[64];
		snprintf(text, sizeof(text), "balloon: churn %d wrote ", c);
		const char *hit = wait_console(&vm, at, text, CYCLE_STEP_LIMIT_S);
		long long r0 = resident(vm.pid, v == MV_HUGE);
		snprintf(text, sizeof(text), "balloon: churn %d freed ", c);
		if (hit)
			hit = wait_console(&vm, at, text, CYCLE_STEP_LIMIT_S);
		if (!hit) {
			snprintf(r->why, sizeof(r->why), "cycle %d did not get through (see the console)", c);
			goto out;
		}
		double t0 = now_s();
		long long low = r0;
		while (now_s() - t0 < WINDOW_S) {
			long long x = resident(vm.pid, v == MV_HUGE);
			low = x >= 0 && x < low ? x : low;
			usleep(20000);
		}
		pct[c - 1] = 100.0 * (double)(r0 - low) / (double)(CHURN_MIB * MIB);
		r->min_pct = c == 1 || pct[c - 1] < r->min_pct ? pct[c - 1] : r->min_pct;
		snprintf(text, sizeof(text), "balloon: churn %d reused ", c);
		const char *reused = wait_console(&vm, at, text, CYCLE_STEP_LIMIT_S);
		if (!reused) {
			snprintf(r->why, sizeof(r->why), "cycle %d's reuse did not come (see the console)", c);
			goto out;
		}
		at = (size_t)(reused - console_find(&vm, 0, ""));
	}
	const char *done = wait_console(&vm, 0, "balloon: churn done ", CYCLE_STEP_LIMIT_S);
	/* The whole line: QEMU's serial writes it a character at a time. */
	for (double end = now_s() + 5; done && !strchr(done, '\n') && now_s() < end;) {
		usleep(2000);
		done = console_find(&vm, 0, "balloon: churn done ");
	}
	unsigned long long bytes = 0, guest_us = 0;
	if (!done || sscanf(done, "balloon: churn done %*u cycles ranges %*u bytes %llu guest-us %llu",
			    &bytes, &guest_us) != 2 || !bytes) {
		const char *all = console_find(&vm, 0, "");
		size_t len = all ? strlen(all) : 0;
		snprintf(r->why, sizeof(r->why), "no summary line from the guest; its console ends: %s",
			 all ? all + (len > 120 ? len - 120 : 0) : "(empty)");
		goto out;
	}
	double gib = (double)bytes / (double)(1ULL << 30);
	r->hashes_ok = strstr(done, "data ok ws ok") && !strstr(done, "BROKEN") && !strstr(done, "NOT FREE");
	r->guest_ms_per_gib = (double)guest_us / 1e3 / gib;
	r->vmm_cpu_ms_per_gib = (cpu_s(vm.pid) - cpu0) * 1e3 / gib;
	r->back_pct = median(pct, CYCLES);
	r->ok = true;
out:
	vm_stop(&vm);
}

int main(int argc, char **argv)
{
	struct result res[NR_VMM];
	int failed = 0;

	int st = bench_vm_args(argc, argv, "reporting");
	if (st >= 0)
		return st;
	/* REPORTING_BENCH_ONLY=NAME measures one column (memvisor-huge,
	 * memvisor-normal, qemu-microvm); the others say so. */
	const char *only = getenv("REPORTING_BENCH_ONLY");
	for (int v = 0; v < NR_VMM; v++) {
		if (only && strcmp(only, vmm_name[v])) {
			res[v] = (struct result){ .ok = false };
			snprintf(res[v].why, sizeof(res[v].why), "not measured (REPORTING_BENCH_ONLY)");
			continue;
		}
		measure((enum vmm)v, &res[v]);
		if (bench_vm_failed("reporting", v, res[v].ok, res[v].why, &failed))
			continue;
		failed += !res[v].hashes_ok;
		printf("{\"bench\": \"reporting\", \"impl\": \"%s\", \"guest_mib\": %d, \"churn_mib\": %d, "
		       "\"cycles\": %d, \"window_s\": %.1f, \"back_pct\": %.1f, \"back_pct_min\": %.1f, "
		       "\"hashes_ok\": %s, \"guest_ms_per_gib\": %.3f, \"vmm_cpu_ms_per_gib\": %.3f}\n",
		       vmm_name[v], GUEST_MIB, CHURN_MIB, CYCLES, WINDOW_S, res[v].back_pct, res[v].min_pct,
		       res[v].hashes_ok ? "true" : "false", res[v].guest_ms_per_gib, res[v].vmm_cpu_ms_per_gib);
		fflush(stdout);
	}
	printf("\nFree page reporting side by side: %d MiB guest writes and frees %d MiB, %d cycles, "
	       "no balloon target\n", GUEST_MIB, CHURN_MIB, CYCLES);
	printf("%-36s%18s%18s%18s\n", "", vmm_name[0], vmm_name[1], vmm_name[2]);
	const char *labels[] = { "back within 3 s, % (median)", "back within 3 s, % (worst)",
				 "hashes held through the cycles", "guest reporting, ms per GiB",
				 "VMM CPU, ms per reported GiB" };
	for (int row = 0; row < 5; row++) {
		printf("%-36s", labels[row]);
		for (int v = 0; v < NR_VMM; v++) {
			const struct result *x = &res[v];
			if (!x->ok)
				printf("%18s", "-");
			else if (row == 2)
				printf("%18s", x->hashes_ok ? "yes" : "NO");
			else
				printf("%18.2f", row == 0 ? x->back_pct : row == 1 ? x->min_pct :
				       row == 3 ? x->guest_ms_per_gib : x->vmm_cpu_ms_per_gib);
		}
		printf("\n");
	}
	for (int v = MV_HUGE; v <= MV_NORMAL; v++)
		if (res[v].ok && res[QEMU].ok && res[v].vmm_cpu_ms_per_gib > 0)
			printf("%-36s%18.2fx\n", v == MV_HUGE ? "VMM CPU per GiB, QEMU / Huge" :
			       "VMM CPU per GiB, QEMU / Normal", res[QEMU].vmm_cpu_ms_per_gib / res[v].vmm_cpu_ms_per_gib);
	printf("%-36s%18s   (goal: >= 99 %% back within 3 s, hashes held)\n", "", "");
	return failed ? 1 : 0;
}

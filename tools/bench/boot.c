/*
 * The VMM benchmark: memvisor with zone Huge, with zone Normal on THP, on
 * 4 KiB pages and with --prealloc, and QEMU microvm by default and with
 * -mem-prealloc, side by side in one run with the same guest images. For each: time from process start to the guest's first line
 * (hello.elf), the guest's first-touch and verify rates (memtest.elf's own
 * line), and the VMM's own memory: the process's peak RSS minus the guest
 * RAM it touched where that RAM is counted in RSS (hugetlb pages are not).
 *
 * usage: boot BUILD_DIR    (BUILD_DIR holds memvisor and the guest images)
 * One JSON object per line on stdout, then a table, as tools/bench/run.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "need_kvm.h"

#define GUEST_MIB 256
#define TOUCH_MIB 192
#define REPS 5
#define RUN_LIMIT_S 120

enum vmm { MV_HUGE, MV_NORMAL, MV_NORMAL_4K, MV_PREALLOC, QEMU, QEMU_PREALLOC, NR_VMM };
static const char *const vmm_name[NR_VMM] = {
	"memvisor-huge", "memvisor-thp", "memvisor-4k", "memvisor-prealloc", "qemu-microvm",
	"qemu-prealloc",
};
#define IS_QEMU(v) ((v) == QEMU || (v) == QEMU_PREALLOC)

struct result {
	bool ok;
	double first_line_ms;     /* best over REPS */
	double touch_mibs, verify_mibs;   /* medians over REPS */
	double touch_first_run, touch_min, touch_max;
	double overhead_mib;
	char why[160];
};

static const char *build_dir;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The command line of one VMM booting image with the guest command line. */
static void argv_for(enum vmm v, const char *image, const char *cmdline, char **argv, char *bufs)
{
	int n = 0;
	char *mem = bufs, *img = bufs + 64, *app = bufs + 512;
	snprintf(mem, 64, "%dM", GUEST_MIB);
	snprintf(img, 448, "%s/guest/%s", build_dir, image);
	snprintf(app, 256, "%s", cmdline);
	if (IS_QEMU(v)) {
		static char bin[] = "qemu-system-x86_64";
		static char *fixed[] = { "-accel", "kvm", "-M", "microvm,acpi=off", "-nodefaults",
					 "-no-reboot", "-display", "none", "-serial", "stdio", "-device",
					 "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL };
		argv[n++] = bin;
		for (int i = 0; fixed[i]; i++)
			argv[n++] = fixed[i];
		argv[n++] = "-m";
		argv[n++] = mem;
		if (v == QEMU_PREALLOC)
			argv[n++] = "-mem-prealloc";
		argv[n++] = "-kernel";
		argv[n++] = img;
		if (*app) {
			argv[n++] = "-append";
			argv[n++] = app;
		}
	} else {
		static char path[512];
		snprintf(path, sizeof(path), "%s/memvisor", build_dir);
		argv[n++] = path;
		argv[n++] = "--mem";
		argv[n++] = mem;
		argv[n++] = "--hugepages";
		argv[n++] = v == MV_HUGE ? "on" : "off";
		argv[n++] = "--normal-backing";
		argv[n++] = v == MV_NORMAL_4K ? "4k" : "auto";
		if (v == MV_PREALLOC)
			argv[n++] = "--prealloc";
		if (*app) {
			argv[n++] = "--cmdline";
			argv[n++] = app;
		}
		argv[n++] = img;
	}
	argv[n] = NULL;
}

/*
 * Runs one VMM, collects its output; *first_ms is when the first line
 * arrived, counted from just before fork. Returns the child's peak RSS in
 * KiB, or -1.
 */
static long run_one(enum vmm v, const char *image, const char *cmdline, char *out, size_t outlen,
		    double *first_ms)
{
	char *argv[32], bufs[1024];
	argv_for(v, image, cmdline, argv, bufs);
	int fd[2];
	if (pipe(fd))
		return -1;
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 1);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		close(fd[0]);
		alarm(RUN_LIMIT_S);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	size_t used = 0;
	*first_ms = -1;
	for (;;) {
		ssize_t n = read(fd[0], out + used, outlen - 1 - used);
		if (n <= 0)
			break;
		if (*first_ms < 0 && memchr(out + used, '\n', (size_t)n))
			*first_ms = now_ms() - t0;
		used += (size_t)n;
		if (used == outlen - 1)
			break;
	}
	out[used] = 0;
	close(fd[0]);
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	return ru.ru_maxrss;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Sorts v and returns its median. */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void measure(enum vmm v, struct result *r)
{
	char out[8192], cmd[64];
	double first;
	memset(r, 0, sizeof(*r));
	r->first_line_ms = 1e18;
	for (int i = 0; i < REPS; i++) {
		if (run_one(v, "hello.elf", "", out, sizeof(out), &first) < 0 || first < 0 ||
		    !strstr(out, "hello")) {
			snprintf(r->why, sizeof(r->why), "hello.elf printed nothing");
			return;
		}
		if (first < r->first_line_ms)
			r->first_line_ms = first;
	}
	snprintf(cmd, sizeof(cmd), "size=%dM", TOUCH_MIB);
	long best_rss = -1;
	double touch_runs[REPS], verify_runs[REPS];
	for (int i = 0; i < REPS; i++) {
		long rss = run_one(v, "memtest.elf", cmd, out, sizeof(out), &first);
		const char *line = strstr(out, "memtest:");
		double touch, verify;
		unsigned mib;
		if (rss < 0 || !line ||
		    sscanf(line, "memtest: %u MiB first-touch %lf MiB/s verify %lf MiB/s", &mib,
			   &touch, &verify) != 3 || !strstr(line, " ok")) {
			snprintf(r->why, sizeof(r->why), "memtest.elf: %.100s", line ? line : "no result line");
			return;
		}
		touch_runs[i] = touch;
		verify_runs[i] = verify;
		if (best_rss < 0 || rss < best_rss)
			best_rss = rss;
	}
	/* First touch depends on the host's state (whether THP or hugetlb pages
	 * are ready, whether the outer host ever backed that memory), so the
	 * median is reported, with the first run and the spread beside it. */
	r->touch_first_run = touch_runs[0];
	r->touch_mibs = median(touch_runs, REPS);   /* sorts touch_runs */
	r->touch_min = touch_runs[0];
	r->touch_max = touch_runs[REPS - 1];
	r->verify_mibs = median(verify_runs, REPS);
	/* hugetlb pages never count in RSS; 4 KiB shmem and anonymous do. */
	double guest_in_rss = v == MV_HUGE ? 0 : v == MV_PREALLOC || v == QEMU_PREALLOC ? GUEST_MIB
									: TOUCH_MIB;
	r->overhead_mib = best_rss / 1024.0 - guest_in_rss;
	r->ok = true;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s BUILD_DIR\n", argv[0]);
		return 2;
	}
	build_dir = argv[1];
	if (!bench_have_kvm("boot"))
		return 0;
	struct result res[NR_VMM];
	int failed = 0;
	for (int v = 0; v < NR_VMM; v++) {
		measure((enum vmm)v, &res[v]);
		if (!res[v].ok) {
			fprintf(stderr, "bench: %s: %s\n", vmm_name[v], res[v].why);
			failed++;
			continue;
		}
		printf("{\"bench\": \"boot\", \"impl\": \"%s\", \"guest_mib\": %d, \"touch_mib\": %d, "
		       "\"first_line_ms\": %.3f, \"first_touch_mib_s\": %.1f, "
		       "\"first_touch_first_run_mib_s\": %.1f, \"first_touch_min_mib_s\": %.1f, "
		       "\"first_touch_max_mib_s\": %.1f, \"verify_mib_s\": %.1f, "
		       "\"vmm_overhead_mib\": %.2f, \"reps\": %d}\n",
		       vmm_name[v], GUEST_MIB, TOUCH_MIB, res[v].first_line_ms, res[v].touch_mibs,
		       res[v].touch_first_run, res[v].touch_min, res[v].touch_max,
		       res[v].verify_mibs, res[v].overhead_mib, REPS);
		fflush(stdout);
	}
	printf("\nVMMs side by side: %d MiB guest, memtest over %d MiB, %d runs each\n"
	       "(first line and overhead: best run; rates: median run)\n", GUEST_MIB, TOUCH_MIB, REPS);
	printf("%-30s", "");
	for (int v = 0; v < NR_VMM; v++)
		printf("%18s", vmm_name[v]);
	printf("\n");
	const char *labels[] = { "first line, ms", "first touch, MiB/s", "  first run only, MiB/s",
				 "verify, MiB/s", "VMM overhead, MiB" };
	for (int row = 0; row < 5; row++) {
		printf("%-30s", labels[row]);
		for (int v = 0; v < NR_VMM; v++) {
			double x = row == 0 ? res[v].first_line_ms : row == 1 ? res[v].touch_mibs :
				   row == 2 ? res[v].touch_first_run : row == 3 ? res[v].verify_mibs :
				   res[v].overhead_mib;
			if (res[v].ok)
				printf("%18.2f", x);
			else
				printf("%18s", "-");
		}
		printf("\n");
	}
	if (res[MV_HUGE].ok && res[QEMU].ok && res[QEMU].touch_mibs > 0) {
		printf("%-34s%18.1fx   (goal: at least 10x)\n", "first touch, Huge / QEMU",
		       res[MV_HUGE].touch_mibs / res[QEMU].touch_mibs);
		printf("%-34s%18.1fx\n", "  first runs only",
		       res[MV_HUGE].touch_first_run / res[QEMU].touch_first_run);
	}
	if (res[MV_NORMAL].ok && res[QEMU].ok && res[QEMU].touch_mibs > 0)
		printf("%-34s%18.2fx   (goal: at least 1.0x)\n", "first touch, THP Normal / QEMU",
		       res[MV_NORMAL].touch_mibs / res[QEMU].touch_mibs);
	if (res[MV_PREALLOC].ok && res[QEMU].ok && res[QEMU].touch_mibs > 0)
		printf("%-34s%18.2fx   (goal: at least 3x)\n", "first pass, --prealloc / QEMU",
		       res[MV_PREALLOC].touch_mibs / res[QEMU].touch_mibs);
	if (res[MV_HUGE].ok)
		printf("%-34s%18s   (goal: first line < 5 ms, overhead < 2 MiB)\n", "", "");
	return failed ? 1 : 0;
}

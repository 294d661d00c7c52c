/*
 * The VMM benchmark: memvisor with zone Huge, with zone Normal on THP, on
 * 4 KiB pages and with --prealloc, and QEMU microvm by default and with
 * -mem-prealloc, side by side in one run with the same guest images. For each: time from process start to the guest's first line
 * (hello.elf), the guest's first-touch and verify rates (memtest.elf's own
 * line), and the VMM's own memory: the process's peak RSS minus the guest
 * RAM it touched where that RAM is counted in RSS (hugetlb pages are not).
 *
 * Then, once per slab policy (--slab slub|slab|slob), the VMM's caches after
 * booting a 1 GiB guest (idle.elf) with the monitor: x-query-slabinfo's
 * sum of num-slabs x pagesperslab x 4 KiB over the caches (SLOB's caches
 * share its pages and count none), and beside it the frames the VMM holds
 * for itself (x-query-frames' "vmm"), which counts SLOB's pages too.
 *
 * usage: boot BUILD_DIR    (BUILD_DIR holds memvisor and the guest images)
 * One JSON object per line on stdout, then a table, as tools/bench/run.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "need_kvm.h"
#include "vm_child.h"

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

/* ---- the VMM's caches after boot, per slab policy, over the monitor ---- */

#define SLAB_GUEST_MIB 1024
#define MONITOR_LIMIT_S 30.0
#define PAGE_BYTES 4096ull

struct monitor_vm {
	pid_t pid;
	int qmp;
	char dir[96], sock[108], out[128], err[128];
	size_t len;
	char buf[1 << 18];    /* x-query-slabinfo's answer is one line */
};

struct slab_boot {
	bool ok, skipped;
	char policy[16];                /* what x-query-slabinfo says runs */
	unsigned long caches, pages;    /* caches, their slabs' frames */
	unsigned long vmm_frames;       /* x-query-frames: "vmm" over the zones */
	char why[200];
};

/* The first line of a file ("" if none). */
static void file_first_line(const char *path, char *line, size_t len)
{
	FILE *f = fopen(path, "r");
	line[0] = '\0';
	if (f) {
		if (!fgets(line, (int)len, f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
}

static bool file_has(const char *path, const char *text)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

static void monitor_vm_stop(struct monitor_vm *vm)
{
	if (vm->qmp >= 0) {
		/* Ask nicely first, so the VMM's own exit paths run. */
		static const char quit[] = "{\"execute\": \"quit\"}\n";
		if (send(vm->qmp, quit, sizeof(quit) - 1, MSG_NOSIGNAL) > 0)
			usleep(100000);
		close(vm->qmp);
	}
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, NULL, 0);
	}
	unlink(vm->sock);
	unlink(vm->out);
	unlink(vm->err);
	rmdir(vm->dir);
}

/* The next QMP line that is not an event, NUL-terminated in place at the
 * start of vm->buf (dropped by the next call); NULL on EOF or timeout. */
static char *monitor_line(struct monitor_vm *vm, size_t *consumed)
{
	double end = now_ms() + MONITOR_LIMIT_S * 1e3;
	if (*consumed) {
		memmove(vm->buf, vm->buf + *consumed, vm->len - *consumed);
		vm->len -= *consumed;
		*consumed = 0;
	}
	for (;;) {
		char *nl = memchr(vm->buf, '\n', vm->len);
		if (nl) {
			*nl = '\0';
			*consumed = (size_t)(nl - vm->buf) + 1;
			if (!strstr(vm->buf, "\"event\""))
				return vm->buf;
			memmove(vm->buf, vm->buf + *consumed, vm->len - *consumed);
			vm->len -= *consumed;
			*consumed = 0;
			continue;
		}
		if (vm->len == sizeof(vm->buf) - 1 || now_ms() > end)
			return NULL;
		ssize_t r = recv(vm->qmp, vm->buf + vm->len, sizeof(vm->buf) - 1 - vm->len, 0);
		if (r <= 0)
			return NULL;
		vm->len += (size_t)r;
	}
}

static char *monitor_cmd(struct monitor_vm *vm, const char *text, size_t *consumed)
{
	size_t n = strlen(text);
	if (send(vm->qmp, text, n, MSG_NOSIGNAL) != (ssize_t)n)
		return NULL;
	return monitor_line(vm, consumed);
}

/* memvisor with --slab policy and --monitor, running idle.elf in a 1 GiB
 * guest; true once the guest has printed and the monitor has greeted. */
static bool monitor_vm_start(struct monitor_vm *vm, const char *policy, char *why, size_t len)
{
	char mem[16], img[512], bin[512];
	memset(vm, 0, offsetof(struct monitor_vm, buf));
	vm->qmp = -1;
	const char *tmp = getenv("TMPDIR");
	snprintf(vm->dir, sizeof(vm->dir), "%s/boot-slab-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
	if (!mkdtemp(vm->dir)) {
		snprintf(why, len, "mkdtemp: %s", strerror(errno));
		vm->dir[0] = '\0';
		return false;
	}
	snprintf(vm->sock, sizeof(vm->sock), "%s/qmp.sock", vm->dir);
	snprintf(vm->out, sizeof(vm->out), "%s/console", vm->dir);
	snprintf(vm->err, sizeof(vm->err), "%s/stderr", vm->dir);
	snprintf(mem, sizeof(mem), "%dM", SLAB_GUEST_MIB);
	snprintf(img, sizeof(img), "%s/guest/idle.elf", build_dir);
	snprintf(bin, sizeof(bin), "%s/memvisor", build_dir);
	char *argv[] = { bin, "--mem", mem, "--hugepages", "off", "--slab", (char *)policy,
			 "--monitor", vm->sock, img, NULL };

	vm->pid = vm_child_spawn(argv, vm->out, vm->err, RUN_LIMIT_S);
	if (vm->pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return false;
	}
	double end = now_ms() + MONITOR_LIMIT_S * 1e3;
	while (!file_has(vm->out, "idle: ")) {
		if (now_ms() > end || waitpid(vm->pid, NULL, WNOHANG) == vm->pid) {
			char line[160];
			file_first_line(vm->err, line, sizeof(line));
			snprintf(why, len, "the guest did not start: %s", *line ? line : "no message");
			return false;
		}
		usleep(2000);
	}
	vm->qmp = vm_child_connect(vm->sock, vm_child_now_s() + (end - now_ms()) / 1e3);
	if (vm->qmp < 0) {
		snprintf(why, len, "no monitor socket at %s", vm->sock);
		return false;
	}
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(vm->qmp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	size_t used = 0;
	if (!monitor_line(vm, &used) ||
	    !monitor_cmd(vm, "{\"execute\": \"qmp_capabilities\"}\n", &used)) {
		snprintf(why, len, "no QMP greeting");
		return false;
	}
	return true;
}

/*
 * A walk over a flat JSON answer: on_key sees every object key with its
 * depth (the answer's "return" object is depth 2, the entries of an array
 * in it depth 4) and the text after the colon; on_close sees each object
 * as it closes, with the depth it had. Enough for the monitor's answers,
 * whose keys and names hold no escaped quotes.
 */
struct json_walk {
	void (*on_key)(struct json_walk *w, int depth, const char *key, const char *val);
	void (*on_close)(struct json_walk *w, int depth);
};

static void json_walk(struct json_walk *w, const char *s)
{
	int depth = 0;
	char key[64];
	for (const char *p = s; *p; p++) {
		if (*p == '"') {
			const char *e = p + 1;
			while (*e && *e != '"')
				e += e[0] == '\\' && e[1] ? 2 : 1;
			if (!*e)
				return;
			const char *q = e + 1;
			while (*q == ' ')
				q++;
			if (*q == ':' && (size_t)(e - p - 1) < sizeof(key)) {
				snprintf(key, sizeof(key), "%.*s", (int)(e - p - 1), p + 1);
				w->on_key(w, depth, key, q + 1);
			}
			p = e;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (*p == '}' && w->on_close)
				w->on_close(w, depth);
			depth--;
		}
	}
}

struct slab_walk {
	struct json_walk w;
	struct slab_boot *r;
	unsigned long num_slabs, pagesperslab;
};

static void slab_key(struct json_walk *w, int depth, const char *key, const char *val)
{
	struct slab_walk *s = (struct slab_walk *)w;
	if (depth == 2 && !strcmp(key, "policy"))
		sscanf(val, " \"%15[^\"]\"", s->r->policy);
	else if (depth == 4 && !strcmp(key, "num-slabs"))
		s->num_slabs = strtoul(val, NULL, 10);
	else if (depth == 4 && !strcmp(key, "pagesperslab"))
		s->pagesperslab = strtoul(val, NULL, 10);
}

static void slab_close(struct json_walk *w, int depth)
{
	struct slab_walk *s = (struct slab_walk *)w;
	if (depth != 4)
		return;
	s->r->pages += s->num_slabs * s->pagesperslab;
	s->r->caches++;
	s->num_slabs = s->pagesperslab = 0;
}

static void frames_key(struct json_walk *w, int depth, const char *key, const char *val)
{
	struct slab_walk *s = (struct slab_walk *)w;
	if (depth == 4 && !strcmp(key, "vmm"))
		s->r->vmm_frames += strtoul(val, NULL, 10);
}

static void slab_after_boot(const char *policy, struct slab_boot *r)
{
	static struct monitor_vm vm;
	size_t used = 0;
	char *line;

	memset(r, 0, sizeof(*r));
	if (!monitor_vm_start(&vm, policy, r->why, sizeof(r->why))) {
		/* A memvisor built without the policy refuses the option. */
		r->skipped = strstr(r->why, "--slab") != NULL;
		goto out;
	}
	line = monitor_cmd(&vm, "{\"execute\": \"x-query-slabinfo\"}\n", &used);
	if (!line || !strstr(line, "\"return\"")) {
		snprintf(r->why, sizeof(r->why), "x-query-slabinfo: %.120s", line ? line : "no answer");
		goto out;
	}
	struct slab_walk s = { { slab_key, slab_close }, r, 0, 0 };
	json_walk(&s.w, line);
	line = monitor_cmd(&vm, "{\"execute\": \"x-query-frames\"}\n", &used);
	if (!line || !strstr(line, "\"return\"")) {
		snprintf(r->why, sizeof(r->why), "x-query-frames: %.120s", line ? line : "no answer");
		goto out;
	}
	s.w = (struct json_walk){ frames_key, NULL };
	json_walk(&s.w, line);
	r->ok = true;
out:
	monitor_vm_stop(&vm);
}

/* One row per slab policy memvisor has; returns how many failed. */
static int slab_rows(void)
{
	static const char *const policies[] = { "slub", "slab", "slob" };
	enum { NR = sizeof(policies) / sizeof(policies[0]) };
	struct slab_boot r[NR];
	int failed = 0;

	for (int i = 0; i < NR; i++) {
		slab_after_boot(policies[i], &r[i]);
		if (r[i].skipped) {
			fprintf(stderr, "bench: VMM caches under %s skipped: %s\n", policies[i],
				r[i].why);
			continue;
		}
		if (!r[i].ok) {
			fprintf(stderr, "bench: VMM caches under %s: %s\n", policies[i], r[i].why);
			failed++;
			continue;
		}
		printf("{\"bench\": \"vmm_slab_after_boot\", \"impl\": \"memvisor\", "
		       "\"policy\": \"%s\", \"asked\": \"%s\", \"guest_mib\": %d, "
		       "\"measure\": \"x-query-slabinfo: sum of num-slabs x pagesperslab x 4 KiB\", "
		       "\"caches\": %lu, \"slab_pages\": %lu, \"slab_bytes\": %llu, "
		       "\"vmm_frames\": %lu, \"vmm_frames_bytes\": %llu}\n",
		       r[i].policy, policies[i], SLAB_GUEST_MIB, r[i].caches, r[i].pages,
		       r[i].pages * PAGE_BYTES, r[i].vmm_frames, r[i].vmm_frames * PAGE_BYTES);
		fflush(stdout);
	}
	printf("\nVMM caches after booting a %d MiB guest with the monitor, per slab policy\n"
	       "(slab: x-query-slabinfo's num-slabs x pagesperslab, none under SLOB, whose\n"
	       " caches share its pages; VMM frames: x-query-frames' vmm, every frame the VMM\n"
	       " holds for itself, SLOB's pages included)\n", SLAB_GUEST_MIB);
	printf("%-30s%12s%12s%12s\n", "", "caches", "slab KiB", "VMM KiB");
	for (int i = 0; i < NR; i++) {
		if (r[i].ok)
			printf("%-30s%12lu%12llu%12llu\n", r[i].policy, r[i].caches,
			       r[i].pages * PAGE_BYTES / 1024, r[i].vmm_frames * PAGE_BYTES / 1024);
		else
			printf("%-30s%12s%12s%12s   (%s)\n", policies[i], "-", "-", "-",
			       r[i].skipped ? "not built in" : "failed");
	}
	return failed;
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
	if (!bench_have_kvm("boot (VMMs side by side, and the VMM caches after boot per slab policy)"))
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
	failed += slab_rows();
	return failed ? 1 : 0;
}

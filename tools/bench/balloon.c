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
#include "need_kvm.h"
#include "vm_child.h"

#define MIB (1ULL << 20)
#define GUEST_MIB 1024
#define TARGET_MIB 512
#define REPS 3
#define STEP_LIMIT_S 60.0
#define READY_LIMIT_S 30.0

enum vmm { MV_HUGE, MV_NORMAL, QEMU, NR_VMM };
static const char *const vmm_name[NR_VMM] = { "memvisor-huge", "memvisor-normal", "qemu-microvm" };

struct result {
	bool ok;
	double inflate_ms, deflate_ms;      /* medians over REPS */
	double released_mib, touched_mib;   /* medians over REPS */
	char why[200];
};

static const char *build_dir;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Free 2 MiB pages in the hugetlb pool (0 if not 2 MiB pages); the pool's
 * pages in use in *used when not NULL. */
static long huge_free(long *used)
{
	char line[256];
	long v = 0, total = 0, size = 0;
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Total: %ld", &total);
		sscanf(line, "HugePages_Free: %ld", &v);
		sscanf(line, "Hugepagesize: %ld", &size);
	}
	fclose(f);
	if (used)
		*used = total - v;
	return size == 2048 ? v : 0;
}

/*
 * The host memory pid holds, in bytes; -1 if unreadable: VmRSS plus its
 * hugetlb memory. That is HugetlbPages for QEMU and zone Normal (none);
 * for zone Huge it is the hugetlb pool's pages in use, as HugetlbPages
 * counts a huge page once per mapping and memvisor's figure there grows
 * by twice what the pool gives it. Nothing else on the host is expected
 * to take from the pool during the run.
 */
static long long resident(pid_t pid, bool pool)
{
	char path[64], line[256];
	long long rss = -1, huge = 0, kb;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %lld", &kb) == 1)
			rss = kb;
		else if (sscanf(line, "HugetlbPages: %lld", &kb) == 1)
			huge = kb;
	}
	fclose(f);
	if (pool) {
		long used = 0;
		huge_free(&used);
		huge = used * 2048;
	}
	return rss < 0 ? -1 : (rss + huge) * 1024;
}

struct vm {
	pid_t pid;
	int qmp;
	char dir[96], sock[108], out[128], err[128];
	char buf[65536];
	size_t len;
};

static void vm_stop(struct vm *vm)
{
	if (vm->qmp >= 0)
		close(vm->qmp);
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, NULL, 0);
	}
	unlink(vm->sock);
	unlink(vm->out);
	unlink(vm->err);
	rmdir(vm->dir);
}

/* The first line of a file, in a static buffer ("" if none). */
static const char *first_line(const char *path)
{
	static char line[160];
	line[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/* True once the guest's console holds text. */
static bool console_has(const struct vm *vm, const char *text)
{
	char buf[8192];
	int fd = open(vm->out, O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

/* The next line from the QMP socket that is not an event, in vm->buf
 * (NUL-terminated, consumed by the next call); NULL on EOF or timeout. */
static char *qmp_line(struct vm *vm, double limit_s)
{
	double end = now_s() + limit_s;
	for (;;) {
		char *nl = memchr(vm->buf, '\n', vm->len);
		if (nl) {
			*nl = '\0';
			static char line[sizeof(((struct vm *)0)->buf)];
			size_t n = (size_t)(nl - vm->buf);
			memcpy(line, vm->buf, n + 1);
			memmove(vm->buf, nl + 1, vm->len - n - 1);
			vm->len -= n + 1;
			if (strstr(line, "\"event\""))
				continue;
			return line;
		}
		if (vm->len == sizeof(vm->buf) - 1 || now_s() > end)
			return NULL;
		ssize_t r = recv(vm->qmp, vm->buf + vm->len, sizeof(vm->buf) - 1 - vm->len, 0);
		if (r <= 0)
			return NULL;
		vm->len += (size_t)r;
	}
}

static char *qmp_cmd(struct vm *vm, const char *text)
{
	size_t n = strlen(text);
	if (send(vm->qmp, text, n, MSG_NOSIGNAL) != (ssize_t)n)
		return NULL;
	return qmp_line(vm, STEP_LIMIT_S);
}

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

static bool vm_start(enum vmm v, struct vm *vm, char *why, size_t whylen)
{
	char mem[16], img[512], bin[512], qmp[160];
	memset(vm, 0, sizeof(*vm));
	vm->qmp = -1;
	const char *tmp = getenv("TMPDIR");
	snprintf(vm->dir, sizeof(vm->dir), "%s/balloon-bench-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
	if (!mkdtemp(vm->dir)) {
		snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
		return false;
	}
	snprintf(vm->sock, sizeof(vm->sock), "%s/qmp.sock", vm->dir);
	snprintf(vm->out, sizeof(vm->out), "%s/console", vm->dir);
	snprintf(vm->err, sizeof(vm->err), "%s/stderr", vm->dir);
	snprintf(mem, sizeof(mem), "%dM", GUEST_MIB);
	snprintf(img, sizeof(img), "%s/guest/balloon.elf", build_dir);
	snprintf(bin, sizeof(bin), "%s/memvisor", build_dir);
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", vm->sock);
	char *qemu_argv[] = { "qemu-system-x86_64", "-accel", "kvm", "-M", "microvm,acpi=off",
			      "-m", mem, "-kernel", img, "-device", "virtio-balloon-device",
			      "-qmp", qmp, "-nodefaults", "-no-reboot", "-display", "none",
			      "-serial", "stdio", NULL };
	char *mv_argv[] = { bin, "--mem", mem, "--hugepages", v == MV_HUGE ? "on" : "off",
			    "--monitor", vm->sock, img, NULL };
	char **argv = v == QEMU ? qemu_argv : mv_argv;

	vm->pid = vm_child_spawn(argv, vm->out, vm->err, 0);
	if (vm->pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return false;
	}
	double end = now_s() + READY_LIMIT_S;
	while (!console_has(vm, "balloon: ready")) {
		if (now_s() > end || waitpid(vm->pid, NULL, WNOHANG) == vm->pid) {
			if (console_has(vm, "balloon: "))
				snprintf(why, whylen, "the guest did not get ready (see its console)");
			else
				snprintf(why, whylen, "%s did not start the guest: %s", argv[0],
					 first_line(vm->err));
			return false;
		}
		usleep(2000);
	}
	vm->qmp = vm_child_connect(vm->sock, vm_child_now_s() + (end - now_s()));
	if (vm->qmp < 0) {
		snprintf(why, whylen, "no QMP socket");
		return false;
	}
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(vm->qmp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!qmp_line(vm, 5) || !qmp_cmd(vm, "{\"execute\": \"qmp_capabilities\"}\n")) {
		snprintf(why, whylen, "no QMP greeting");
		return false;
	}
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool measure_once(enum vmm v, double *inflate, double *deflate, double *released,
			 double *touched, char *why, size_t whylen)
{
	struct vm vm;
	bool ok = false;
	const unsigned long long full = GUEST_MIB * MIB, half = TARGET_MIB * MIB;

	if (!vm_start(v, &vm, why, whylen))
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

	if (argc != 2) {
		fprintf(stderr, "usage: %s BUILD_DIR\n", argv[0]);
		return 2;
	}
	build_dir = argv[1];
	if (!bench_have_kvm("balloon"))
		return 0;
	for (int v = 0; v < NR_VMM; v++) {
		measure((enum vmm)v, &res[v]);
		if (!res[v].ok) {
			fprintf(stderr, "bench: balloon: %s: %s\n", vmm_name[v], res[v].why);
			if (strncmp(res[v].why, "skipped", 7) != 0)
				failed++;
			continue;
		}
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

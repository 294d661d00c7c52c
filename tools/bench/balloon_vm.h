/*
 * What the balloon benchmarks (balloon.c, reporting.c) share: a 1 GiB
 * guest/balloon.elf under memvisor in zone Huge or Normal or under QEMU
 * microvm with its balloon, its console and QMP socket, the host memory
 * its process holds (resident()), and medians.
 */
#ifndef BENCH_BALLOON_VM_H
#define BENCH_BALLOON_VM_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "need_kvm.h"
#include "vm_child.h"

#define MIB (1ULL << 20)
#define GUEST_MIB 1024
#define STEP_LIMIT_S 60.0
#define READY_LIMIT_S 30.0

enum vmm { MV_HUGE, MV_NORMAL, QEMU, NR_VMM };
static const char *const vmm_name[NR_VMM] = { "memvisor-huge", "memvisor-normal", "qemu-microvm" };

static const char *build_dir;

static inline double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Free 2 MiB pages in the hugetlb pool (0 if not 2 MiB pages); the pool's
 * pages in use in *used when not NULL. */
static inline long huge_free(long *used)
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
static inline long long resident(pid_t pid, bool pool)
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

static inline void vm_stop(struct vm *vm)
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
static inline const char *first_line(const char *path)
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

/* Where text first appears on the guest's console from offset from on
 * (a static buffer holding the console, up to 256 KiB), or NULL. */
static inline const char *console_find(const struct vm *vm, size_t from, const char *text)
{
	static char buf[1 << 18];
	int fd = open(vm->out, O_RDONLY);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || (size_t)n <= from)
		return NULL;
	buf[n] = '\0';
	return strstr(buf + from, text);
}

/* True once the guest's console holds text. */
static inline bool console_has(const struct vm *vm, const char *text)
{
	return console_find(vm, 0, text) != NULL;
}

/* The next line from the QMP socket that is not an event, in vm->buf
 * (NUL-terminated, consumed by the next call); NULL on EOF or timeout. */
static inline char *qmp_line(struct vm *vm, double limit_s)
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

static inline char *qmp_cmd(struct vm *vm, const char *text)
{
	size_t n = strlen(text);
	if (send(vm->qmp, text, n, MSG_NOSIGNAL) != (ssize_t)n)
		return NULL;
	return qmp_line(vm, STEP_LIMIT_S);
}


/* Starts the balloon image under v; cmdline (NULL: none) goes to the
 * guest, and with one QEMU's balloon offers free page reporting too. */
static inline bool vm_start(enum vmm v, struct vm *vm, const char *cmdline, char *why, size_t whylen)
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
	char *append = (char *)(cmdline ? cmdline : "");
	char *qemu_argv[] = { "qemu-system-x86_64", "-accel", "kvm", "-M", "microvm,acpi=off",
			      "-m", mem, "-kernel", img, "-device",
			      cmdline ? "virtio-balloon-device,free-page-reporting=on" : "virtio-balloon-device",
			      "-qmp", qmp, "-nodefaults", "-no-reboot", "-display", "none",
			      "-serial", "stdio", "-append", append, NULL };
	char *mv_argv[] = { bin, "--mem", mem, "--hugepages", v == MV_HUGE ? "on" : "off",
			    "--monitor", vm->sock, "--cmdline", append, img, NULL };
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

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* main's start: the build directory from argv. -1 to go on, else the exit
 * status (a usage error, or 0 when no guest can run here). */
static inline int bench_vm_args(int argc, char **argv, const char *bench)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s BUILD_DIR\n", argv[0]);
		return 2;
	}
	build_dir = argv[1];
	return bench_have_kvm(bench) ? -1 : 0;
}

/* After measuring v: false if it went well; else says why on stderr and
 * counts a failure unless it was a skip. */
static inline bool bench_vm_failed(const char *bench, int v, bool ok, const char *why, int *failed)
{
	if (ok)
		return false;
	fprintf(stderr, "bench: %s: %s: %s\n", bench, vmm_name[v], why);
	*failed += strncmp(why, "skipped", 7) != 0;
	return true;
}

#endif

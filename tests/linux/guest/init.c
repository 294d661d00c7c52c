/*
 * The Linux test guest's init: a small harness the Linux suite reads from
 * the serial console. It mounts /proc and /sys, prints one ready line, what
 * the kernel says of its memory and of its virtio devices, runs what the
 * command line asks (mvtest.* options below), and ends the VM with its
 * status: through memvisor's exit port when a read of it answers with
 * memvisor's signature, else through QEMU's isa-debug-exit port.
 *
 * Options (on the kernel command line; the kernel hands unknown ones with a
 * dot to nobody, and /proc/cmdline has them all):
 *   mvtest.alloc=N    allocate N MiB, write every page, check it, free it
 *   mvtest.churn=N    allocate N MiB, write every page, free it, and say so:
 *                     free page reporting gives it back to the host with no
 *                     balloon target (runs after alloc, before watch)
 *   mvtest.watch=S    print the memory line every 200 ms for S seconds (the
 *                     balloon tests inflate and deflate meanwhile)
 *   mvtest.wait=S     stay S seconds before ending (stop/cont/quit tests)
 *   mvtest.panic=1    end by returning from init: the kernel panics
 *
 * Every line it prints starts with "mvtest: " so the suite can tell it
 * from the kernel's own.
 */
#include <errno.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "abi/memvisor.h"

static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write a line, so lines never interleave with the kernel's. */
	dprintf(1, "mvtest: %s\n", line);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static size_t read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return n;
}

/* The value of "key" in a /proc file of "key: value" or "key value" lines,
 * or -1 when it is not there. */
static long long proc_value(const char *path, const char *key)
{
	static char buf[16384];
	size_t klen = strlen(key);

	read_file(path, buf, sizeof(buf));
	for (char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (!strncmp(line, key, klen) && (line[klen] == ':' || line[klen] == ' '))
			return strtoll(line + klen + 1, NULL, 10);
	}
	return -1;
}

static void say_memory(void)
{
	say("meminfo MemTotal=%lld MemFree=%lld MemAvailable=%lld balloon_inflate=%lld balloon_deflate=%lld",
	    proc_value("/proc/meminfo", "MemTotal"), proc_value("/proc/meminfo", "MemFree"),
	    proc_value("/proc/meminfo", "MemAvailable"), proc_value("/proc/vmstat", "balloon_inflate"),
	    proc_value("/proc/vmstat", "balloon_deflate"));
}

/* Each virtio device: its device ID and the driver bound to it. */
static void say_virtio(void)
{
	DIR *d = opendir("/sys/bus/virtio/devices");
	struct dirent *e;
	unsigned n = 0;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], id[32], drv[256] = "none";
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/device", e->d_name);
		read_file(path, id, sizeof(id));
		id[strcspn(id, "\n")] = '\0';
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/driver", e->d_name);
		ssize_t len = readlink(path, drv, sizeof(drv) - 1);
		if (len > 0) {
			drv[len] = '\0';
			char *slash = strrchr(drv, '/');
			memmove(drv, slash ? slash + 1 : drv, strlen(slash ? slash + 1 : drv) + 1);
		}
		say("virtio %s device=%s driver=%s", e->d_name, id, drv);
		n++;
	}
	if (d)
		closedir(d);
	say("virtio devices=%u", n);
}

/* The value of "mvtest.NAME=" on the command line, or def. */
static long option(const char *cmdline, const char *name, long def)
{
	char key[64];
	snprintf(key, sizeof(key), "mvtest.%s=", name);
	for (const char *p = cmdline; (p = strstr(p, key)); p += strlen(key)) {
		if (p == cmdline || p[-1] == ' ')
			return strtol(p + strlen(key), NULL, 10);
	}
	return def;
}

/* Writes every page of N MiB with a value of its own, reads them all back,
 * and frees them: the guest's memory works end to end. */
static int alloc_and_check(long mib)
{
	size_t len = (size_t)mib << 20;
	double t0 = now_s();
	uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		say("alloc %ld MiB failed: %s", mib, strerror(errno));
		return 1;
	}
	size_t words = len / sizeof(*p), step = 4096 / sizeof(*p);
	for (size_t i = 0; i < words; i += step)
		p[i] = i * 0x9e3779b97f4a7c15ull;
	double t1 = now_s();
	size_t bad = 0;
	for (size_t i = 0; i < words; i += step)
		bad += p[i] != i * 0x9e3779b97f4a7c15ull;
	munmap(p, len);
	say("alloc %ld MiB written in %.0f ms, %zu bad pages", mib, (t1 - t0) * 1e3, bad);
	return bad != 0;
}

/* Writes every page of N MiB and frees it: memory the kernel's free page
 * reporting hands to the host about 2 s later, in blocks of 2 MiB and up. */
static int churn(long mib)
{
	size_t len = (size_t)mib << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		say("churn %ld MiB failed: %s", mib, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < len; i += 4096)
		p[i] = (char)(i >> 12 | 1);
	say("churn %ld MiB written", mib);
	munmap(p, len);
	say("churn %ld MiB freed", mib);
	return 0;
}

/* memvisor's exit port when memvisor answers a read of it; QEMU's
 * isa-debug-exit otherwise (QEMU reports 2 * status + 1). */
static void end_vm(int status)
{
	if (ioperm(ABI_PORT_EXIT, 4, 1) == 0 && inl(ABI_PORT_EXIT) == ABI_PORT_SIGNATURE)
		outl((unsigned)status, ABI_PORT_EXIT);
	if (ioperm(ABI_PORT_DEBUG_EXIT, 1, 1) == 0)
		outb((unsigned char)status, ABI_PORT_DEBUG_EXIT);
	say("no exit port answered: halting here");
	for (;;)
		pause();
}

int main(void)
{
	static char cmdline[4096];
	int status = 0;

	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	if (mount("proc", "/proc", "proc", 0, NULL) || mount("sysfs", "/sys", "sysfs", 0, NULL)) {
		say("mount: %s", strerror(errno));
		end_vm(2);
	}
	read_file("/proc/uptime", cmdline, sizeof(cmdline));
	say("ready uptime=%.*s", (int)strcspn(cmdline, " "), cmdline);
	read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	cmdline[strcspn(cmdline, "\n")] = '\0';
	say("cmdline %s", cmdline);
	say_memory();
	say_virtio();

	long mib = option(cmdline, "alloc", 0);
	if (mib > 0)
		status |= alloc_and_check(mib);
	long churn_mib = option(cmdline, "churn", 0);
	if (churn_mib > 0)
		status |= churn(churn_mib);
	long watch = option(cmdline, "watch", 0);
	for (double end = now_s() + (double)watch; now_s() < end;) {
		say_memory();
		sleep_ms(200);
	}
	long wait = option(cmdline, "wait", 0);
	if (wait > 0)
		sleep_ms((unsigned)wait * 1000);
	if (option(cmdline, "panic", 0)) {
		say("returning from init: the kernel panics");
		return 1;
	}
	say("done status=%d", status);
	end_vm(status);
}

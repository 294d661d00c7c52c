/*
 * In-process VMs for the tests (see inproc.h). The watchdog is a thread
 * waiting on a semaphore with a deadline: the run ending posts it, the
 * deadline passing stops the VM with status 124, as timeout(1) reports.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "vmm/config/cli/cli.h"
#include "inproc.h"

struct watchdog {
	sem_t done;
	struct vm *vm;
	double timeout_s;
};

static void *watchdog_thread(void *arg)
{
	struct watchdog *w = arg;
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += (time_t)w->timeout_s;
	t.tv_nsec += (long)((w->timeout_s - (double)(time_t)w->timeout_s) * 1e9);
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (sem_timedwait(&w->done, &t) < 0) {
		if (errno == ETIMEDOUT) {
			vm_stop(w->vm, 124);
			break;
		}
	}
	return NULL;
}

void inproc_create_cfg(struct inproc *ip, const struct vm_config *cfg, const struct vm_hooks *hooks)
{
	char err[512];

	memset(ip, 0, sizeof(*ip));
	ip->out_fd = memfd_create("guest-console", MFD_CLOEXEC);
	cr_assert_geq(ip->out_fd, 0);
	ip->cfg = *cfg;
	ip->cfg.out_fd = ip->out_fd;
	int rc = vm_create(&ip->cfg, hooks, &ip->vm, err, sizeof(err));
	cr_assert_eq(rc, 0, "vm_create: %s", err);
}

void inproc_create(struct inproc *ip, const char *image, uint64_t mem, enum mm_huge_mode huge,
		   const char *cmdline, const struct vm_hooks *hooks)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.image = image;
	cfg.mem_bytes = mem;
	cfg.hugepages = huge;
	cfg.cmdline = cmdline;
	inproc_create_cfg(ip, &cfg, hooks);
}

int inproc_run(struct inproc *ip, double timeout_s)
{
	struct watchdog w = { .vm = ip->vm, .timeout_s = timeout_s };
	pthread_t t;

	sem_init(&w.done, 0, 0);
	cr_assert_eq(pthread_create(&t, NULL, watchdog_thread, &w), 0);
	int status = vm_run(ip->vm, NULL);
	sem_post(&w.done);
	pthread_join(t, NULL);
	sem_destroy(&w.done);
	/* The end of the console: what a chatty guest (Linux) said last. */
	off_t size = lseek(ip->out_fd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof(ip->out) - 1 ? size - (off_t)sizeof(ip->out) + 1 : 0;
	ssize_t n = pread(ip->out_fd, ip->out, sizeof(ip->out) - 1, from);
	ip->out[n > 0 ? n : 0] = '\0';
	return status;
}

void inproc_destroy(struct inproc *ip)
{
	vm_destroy(ip->vm);
	close(ip->out_fd);
}

char *inproc_p2m(struct inproc *ip)
{
	struct guest_mem *gm = vm_guest_mem(ip->vm);
	size_t len = guest_mem_format_p2m(gm, NULL, 0);
	char *text = malloc(len + 1);

	cr_assert_not_null(text);
	guest_mem_format_p2m(gm, text, len + 1);
	return text;
}

/*
 * A domain's values into the configuration (config/domain/internal.h), after the
 * checks that depend on this host: the kernel and initrd exist, the memory
 * fits, the vCPU count is sane. A value the command line gives is neither
 * taken nor checked here, so a flag can stand in for what does not suit
 * this host; the checks of the XML itself (config/domain/spec.c) always apply.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vmm/config/domain/domain.h"
#include "vmm/config/domain/internal.h"

/*
 * KVM takes more vCPUs than the host has CPUs, and a few times over is
 * fine for guests that mostly wait; a domain XML asking for more than this
 * many per host CPU was written for another machine or has a typo. --cpus
 * is not held to it (KVM's own limit still applies when the VM is made).
 */
#define DOMAIN_VCPUS_PER_HOST_CPU 8

__attribute__((format(printf, 3, 4)))
static int apply_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int apply_file(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st))
		return apply_fail(err, errlen, "<%s>%s</%s>: %s", what, path, what, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return apply_fail(err, errlen, "<%s>%s</%s>: not a regular file", what, path, what);
	return 0;
}

static int apply_memory(const struct domain_spec *spec, struct vm_config *cfg, char *err, size_t errlen)
{
	uint64_t bytes = spec->memory_kib << 10;
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	char a[32];

	if (spec->memory_kib > (UINT64_MAX - VMM_MEM_ALIGN) >> 10)
		return apply_fail(err, errlen, "<memory> %s: too large",
				  domain_format_kib(spec->memory_kib, a, sizeof(a)));
	bytes = (bytes + VMM_MEM_ALIGN - 1) & ~(VMM_MEM_ALIGN - 1);
	if (pages > 0 && page > 0 && bytes > (uint64_t)pages * (uint64_t)page)
		return apply_fail(err, errlen, "<memory> %s: more than this host's %llu MiB of RAM",
				  domain_format_kib(spec->memory_kib, a, sizeof(a)),
				  (unsigned long long)pages * (unsigned long long)page >> 20);
	cfg->mem_bytes = bytes;
	/* A target only makes sense against the <memory> it was written for. */
	cfg->balloon_target_bytes = spec->current_kib < spec->memory_kib ? spec->current_kib << 10 : 0;
	return 0;
}

static int apply_vcpus(const struct domain_spec *spec, struct vm_config *cfg, char *err, size_t errlen)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus > 0 && spec->vcpus > (unsigned long)cpus * DOMAIN_VCPUS_PER_HOST_CPU)
		return apply_fail(err, errlen, "<vcpu>%u</vcpu>: more than %d per CPU of this host "
				  "(it has %ld); --cpus overrides", spec->vcpus,
				  DOMAIN_VCPUS_PER_HOST_CPU, cpus);
	cfg->cpus = spec->vcpus;
	return 0;
}

int domain_apply(const struct domain_spec *spec, const struct domain_given *given,
		 struct vm_config *cfg, char *err, size_t errlen)
{
	int rc;

	if (!given->image) {
		if (!spec->kernel[0])
			return apply_fail(err, errlen, "no <os><kernel> and no IMAGE on the command line");
		if ((rc = apply_file("kernel", spec->kernel, err, errlen)))
			return rc;
		cfg->image = spec->kernel;
	}
	if (!given->initrd && spec->initrd[0]) {
		if ((rc = apply_file("initrd", spec->initrd, err, errlen)))
			return rc;
		cfg->initrd = spec->initrd;
	}
	if (!given->mem && (rc = apply_memory(spec, cfg, err, errlen)))
		return rc;
	if (!given->cpus && (rc = apply_vcpus(spec, cfg, err, errlen)))
		return rc;
	if (!given->hugepages && spec->hugepages)
		cfg->hugepages = MM_HUGE_ON;
	if (!given->prealloc && spec->immediate)
		cfg->prealloc = true;
	if (!given->cmdline && spec->cmdline[0])
		cfg->cmdline = spec->cmdline;
	cfg->balloon = spec->balloon;
	if (!given->balloon_reporting && spec->balloon_reporting != VM_SWITCH_UNSET)
		cfg->balloon_reporting = spec->balloon_reporting;
	return 0;
}

/*
 * The values of a domain and the checks that need only the XML
 * (config/domain/spec.h); what depends on the host is checked in config/domain/apply.c.
 * Values come from libvirt's normalized document, which has defaults filled
 * in and every size in KiB. The user's own document is read only where
 * libvirt changes what the user wrote: a <currentMemory> above <memory> is
 * lowered, and a missing arch becomes i686.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/config/domain/spec.h"

/* The only page size zone Huge has (DESIGN.md, memory model). */
#define SPEC_HUGE_PAGE_KIB 2048

__attribute__((format(printf, 3, 4)))
static int spec_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The size in element elem's text or in its attribute attr ("" for the
 * text), with the unit in elem's attribute "unit", as libvirt writes both. */
static int spec_size(struct domain_xml *x, const char *elem, const char *attr, uint64_t *kib)
{
	char v[64], u[16];

	if (domain_xml_string(x, v, sizeof(v), "%s%s%s", elem, *attr ? "/@" : "", attr) ||
	    domain_xml_string(x, u, sizeof(u), "%s/@unit", elem))
		return -EINVAL;
	return domain_size_kib(v, u, kib);
}

static int spec_machine(struct domain_xml *norm, struct domain_xml *raw, char *err, size_t errlen)
{
	char v[64];

	domain_xml_string(norm, v, sizeof(v), "/domain/@type");
	if (strcmp(v, "kvm"))
		return spec_fail(err, errlen, "<domain type='%s'>: memvisor runs type='kvm' domains", v);
	domain_xml_string(norm, v, sizeof(v), "/domain/os/type");
	if (strcmp(v, "hvm"))
		return spec_fail(err, errlen, "<os><type>%s</type>: memvisor runs hvm guests", v);
	domain_xml_string(norm, v, sizeof(v), "/domain/os/type/@arch");
	if (!domain_xml_count(raw, "/domain/os/type/@arch"))
		return spec_fail(err, errlen, "<os><type> has no arch (libvirt would make it %s): "
				 "memvisor needs arch='x86_64'", v);
	if (strcmp(v, "x86_64"))
		return spec_fail(err, errlen, "<os><type arch='%s'>: memvisor runs x86_64 guests only", v);
	return 0;
}

/* The NUMA cells must add up to the <memory> the user wrote. */
static int spec_numa(struct domain_xml *norm, uint64_t memory_kib, char *err, size_t errlen)
{
	unsigned long cells = domain_xml_count(norm, "/domain/cpu/numa/cell");
	uint64_t sum = 0, kib;
	char a[32], b[32];

	for (unsigned long i = 1; i <= cells; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/domain/cpu/numa/cell[%lu]", i);
		if (spec_size(norm, path, "memory", &kib) || sum + kib < sum)
			return spec_fail(err, errlen, "NUMA cell %lu: a memory size memvisor cannot read", i);
		sum += kib;
	}
	if (cells && sum != memory_kib)
		return spec_fail(err, errlen, "the NUMA cells add up to %s, but <memory> is %s",
				 domain_format_kib(sum, a, sizeof(a)),
				 domain_format_kib(memory_kib, b, sizeof(b)));
	return 0;
}

static int spec_memory(struct domain_xml *norm, struct domain_xml *raw, struct domain_spec *spec,
		       char *err, size_t errlen)
{
	uint64_t raw_kib;
	char a[32], b[32];

	if (spec_size(norm, "/domain/memory", "", &spec->memory_kib) || !spec->memory_kib)
		return spec_fail(err, errlen, "<memory>: libvirt gave back a size memvisor cannot read");
	if (spec_size(norm, "/domain/currentMemory", "", &spec->current_kib) || !spec->current_kib)
		spec->current_kib = spec->memory_kib;
	if (domain_xml_count(raw, "/domain/currentMemory")) {
		if (spec_size(raw, "/domain/currentMemory", "", &raw_kib))
			return spec_fail(err, errlen, "<currentMemory>: a size memvisor cannot read");
		if (raw_kib > spec->memory_kib)
			return spec_fail(err, errlen, "<currentMemory> %s is more than <memory> %s "
					 "(libvirt would lower it without a word)",
					 domain_format_kib(raw_kib, a, sizeof(a)),
					 domain_format_kib(spec->memory_kib, b, sizeof(b)));
	}
	/* Without <memory> libvirt takes the cells' sum, which then adds up. */
	raw_kib = spec->memory_kib;
	if (domain_xml_count(raw, "/domain/memory") && spec_size(raw, "/domain/memory", "", &raw_kib))
		return spec_fail(err, errlen, "<memory>: a size memvisor cannot read");
	return spec_numa(norm, raw_kib, err, errlen);
}

static int spec_vcpus(struct domain_xml *norm, struct domain_spec *spec, char *err, size_t errlen)
{
	char v[32], cur[32], *end;

	domain_xml_string(norm, v, sizeof(v), "/domain/vcpu");
	domain_xml_string(norm, cur, sizeof(cur), "/domain/vcpu/@current");
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > UINT32_MAX)
		return spec_fail(err, errlen, "<vcpu>%s</vcpu>: not a number of vCPUs", v);
	if (*cur && strcmp(cur, v))
		return spec_fail(err, errlen, "<vcpu current='%s'>%s</vcpu>: memvisor has no vCPU "
				 "hotplug, so give one count", cur, v);
	spec->vcpus = (unsigned)n;
	return 0;
}

static int spec_hugepages(struct domain_xml *norm, struct domain_spec *spec, char *err, size_t errlen)
{
	unsigned long pages = domain_xml_count(norm, "/domain/memoryBacking/hugepages/page");
	char path[80], a[32];
	uint64_t kib;

	spec->hugepages = domain_xml_count(norm, "/domain/memoryBacking/hugepages") > 0;
	/* libvirt's words for what --prealloc does (QEMU's -mem-prealloc). */
	char mode[32] = "";
	domain_xml_string(norm, mode, sizeof(mode), "/domain/memoryBacking/allocation/@mode");
	spec->immediate = !strcmp(mode, "immediate");
	for (unsigned long i = 1; i <= pages; i++) {
		snprintf(path, sizeof(path), "/domain/memoryBacking/hugepages/page[%lu]", i);
		if (spec_size(norm, path, "size", &kib))
			return spec_fail(err, errlen, "<hugepages><page>: a size memvisor cannot read");
		if (kib != SPEC_HUGE_PAGE_KIB)
			return spec_fail(err, errlen, "<hugepages><page> of %s: memvisor backs "
					 "guests with 2 MiB pages only", domain_format_kib(kib, a, sizeof(a)));
	}
	return 0;
}

static int spec_balloon(struct domain_xml *norm, struct domain_spec *spec, char *err, size_t errlen)
{
	char model[32];

	char reporting[32] = "";

	spec->balloon = VM_BALLOON_UNSET;
	spec->balloon_reporting = VM_SWITCH_UNSET;
	if (!domain_xml_count(norm, "/domain/devices/memballoon"))
		return 0;
	domain_xml_string(norm, model, sizeof(model), "/domain/devices/memballoon/@model");
	if (!strcmp(model, "virtio"))
		spec->balloon = VM_BALLOON_VIRTIO;
	else if (!strcmp(model, "none"))
		spec->balloon = VM_BALLOON_NONE;
	else
		return spec_fail(err, errlen, "<memballoon model='%s'>: memvisor has model='virtio' "
				 "or 'none'", model);
	/* libvirt checks the value is on or off; QEMU's free-page-reporting. */
	domain_xml_string(norm, reporting, sizeof(reporting),
			  "/domain/devices/memballoon/@freePageReporting");
	if (!strcmp(reporting, "on"))
		spec->balloon_reporting = VM_SWITCH_ON;
	else if (!strcmp(reporting, "off"))
		spec->balloon_reporting = VM_SWITCH_OFF;
	else if (reporting[0])
		return spec_fail(err, errlen, "<memballoon freePageReporting='%s'>: want 'on' or 'off'",
				 reporting);
	if (spec->balloon == VM_BALLOON_NONE && spec->balloon_reporting == VM_SWITCH_ON)
		return spec_fail(err, errlen, "<memballoon model='none' freePageReporting='on'>: "
				 "reporting needs the balloon");
	return 0;
}

static int spec_boot(struct domain_xml *norm, struct domain_spec *spec, char *err, size_t errlen)
{
	if (domain_xml_string(norm, spec->kernel, sizeof(spec->kernel), "/domain/os/kernel"))
		return spec_fail(err, errlen, "<kernel>: a path longer than %zu bytes", sizeof(spec->kernel) - 1);
	if (domain_xml_string(norm, spec->initrd, sizeof(spec->initrd), "/domain/os/initrd"))
		return spec_fail(err, errlen, "<initrd>: a path longer than %zu bytes", sizeof(spec->initrd) - 1);
	if (domain_xml_string(norm, spec->cmdline, sizeof(spec->cmdline), "/domain/os/cmdline"))
		return spec_fail(err, errlen, "<cmdline>: longer than %zu bytes", sizeof(spec->cmdline) - 1);
	return 0;
}

int domain_spec_read(struct domain_xml *normalized, struct domain_xml *raw, struct domain_spec *spec,
		     char *err, size_t errlen)
{
	int rc = spec_machine(normalized, raw, err, errlen);

	if (!rc)
		rc = spec_memory(normalized, raw, spec, err, errlen);
	if (!rc)
		rc = spec_vcpus(normalized, spec, err, errlen);
	if (!rc)
		rc = spec_hugepages(normalized, spec, err, errlen);
	if (!rc)
		rc = spec_balloon(normalized, spec, err, errlen);
	if (!rc)
		rc = spec_boot(normalized, spec, err, errlen);
	return rc;
}

/*
 * Between the two halves of --domain: what the child process (config/domain/read.c,
 * which loads libvirt) reads out of the XML, and what the VMM (domain.c,
 * config/domain/apply.c) gets back through a pipe. Plain fixed-size data, so it
 * crosses the pipe in one piece.
 */
#ifndef VMM_DOMAIN_INTERNAL_H
#define VMM_DOMAIN_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "abi/memvisor.h"
#include "vmm/config/config.h"

/* A domain XML larger than this is not a configuration file. */
#define DOMAIN_FILE_MAX (1 << 20)

/* The values memvisor takes from a domain, checked against the XML itself. */
struct domain_spec {
	uint64_t memory_kib;         /* <memory>, as libvirt normalized it */
	uint64_t current_kib;        /* <currentMemory>, at most memory_kib */
	unsigned vcpus;
	bool hugepages;              /* <memoryBacking><hugepages> */
	bool immediate;              /* <memoryBacking><allocation mode='immediate'> */
	enum vm_balloon_model balloon;
	enum vm_switch balloon_reporting;   /* <memballoon freePageReporting> */
	char kernel[PATH_MAX];       /* "" when absent, like the two below */
	char initrd[PATH_MAX];
	char cmdline[ABI_CMDLINE_MAX];
};

struct domain_reply {
	int rc;                      /* 0: spec holds the domain; else err says why */
	char err[512];               /* "<why>", without the file's name */
	struct domain_spec spec;
};

/*
 * The child's work: reads file, has libvirt parse and normalize it, checks
 * what libvirt lets through, and fills r.
 */
void domain_read(const char *file, struct domain_reply *r);

/* spec's values against this host, then into cfg (config/domain/apply.c). */
struct domain_given;
int domain_apply(const struct domain_spec *spec, const struct domain_given *given,
		 struct vm_config *cfg, char *err, size_t errlen);

/*
 * A size as libvirt's domain XML writes one, digits and a unit attribute
 * (b, bytes, KB, k, KiB, MB, M, MiB, ... up to E and EiB; none means KiB),
 * in KiB rounded up as libvirt rounds it. 0, -EINVAL or -ERANGE.
 */
int domain_size_kib(const char *value, const char *unit, uint64_t *kib);

/* kib for a message: "512 MiB", "3 GiB" or "1000 KiB"; returns buf. */
const char *domain_format_kib(uint64_t kib, char *buf, size_t len);

#endif

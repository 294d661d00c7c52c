/*
 * --domain FILE: the guest's configuration from a libvirt domain XML, parsed
 * and normalized by libvirt itself, in process (its "test" driver: no
 * daemon), then checked by memvisor for what libvirt lets through. libvirt
 * brings dozens of shared libraries and about 17 MiB of resident memory that
 * dlclose does not give back, so it is loaded only for --domain, and then
 * only in a short-lived child process that hands the values back: the VMM
 * itself never maps it.
 */
#ifndef VMM_DOMAIN_H
#define VMM_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include "vmm/config/config.h"

/* Which values the command line gives: those are not taken from the XML. */
struct domain_given {
	bool image, mem, cpus, hugepages, prealloc, cmdline, initrd, balloon_reporting;
};

/*
 * Reads FILE into cfg: memory, the balloon target, model and free page
 * reporting, vCPUs,
 * hugepages, immediate allocation (prealloc), kernel (as the image), initrd and cmdline, except what given
 * says the command line sets. 0, or a negative errno with err holding
 * "FILE: <why>". The strings cfg then points to stay valid until the next
 * domain_load.
 */
int domain_load(const char *file, const struct domain_given *given, struct vm_config *cfg,
		char *err, size_t errlen);

#endif

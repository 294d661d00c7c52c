/*
 * From the two documents of a domain, the one libvirt normalized and the
 * user's own, to a struct domain_spec, with memvisor's checks for what
 * libvirt accepts without a word. Runs in the child process of domain.c.
 */
#ifndef VMM_DOMAIN_SPEC_H
#define VMM_DOMAIN_SPEC_H

#include "vmm/config/domain/internal.h"
#include "vmm/config/domain/xml.h"

/* 0, or -EINVAL with err saying what is wrong with the domain. */
int domain_spec_read(struct domain_xml *normalized, struct domain_xml *raw, struct domain_spec *spec,
		     char *err, size_t errlen);

#endif

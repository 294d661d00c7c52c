/*
 * libvirt, loaded at run time for --domain only: dlopen of libvirt.so.0 (or
 * $MEMVISOR_LIBVIRT), the handful of functions memvisor calls resolved with
 * dlsym and typed from libvirt's own headers, and its errors turned into one
 * line. Runs in the child process of domain.c, never in the VMM itself.
 */
#ifndef VMM_DOMAIN_LIBVIRT_H
#define VMM_DOMAIN_LIBVIRT_H

#include <stddef.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define DOMAIN_LIBVIRT_SONAME "libvirt.so.0"
#define DOMAIN_LIBVIRT_ENV "MEMVISOR_LIBVIRT"
/* The Debian package that ships DOMAIN_LIBVIRT_SONAME. */
#define DOMAIN_LIBVIRT_PACKAGE "libvirt0"

struct domain_libvirt {
	void *lib;                   /* dlopen handle; its dependencies too */
	typeof(virSetErrorFunc) *set_error_func;
	typeof(virConnectOpen) *connect_open;
	typeof(virConnectClose) *connect_close;
	typeof(virDomainDefineXMLFlags) *define_xml;
	typeof(virDomainGetXMLDesc) *get_xml_desc;
	typeof(virDomainFree) *domain_free;
};

/* Loads libvirt and resolves the functions; 0 or -ENOENT with err set. */
int domain_libvirt_load(struct domain_libvirt *lv, char *err, size_t errlen);

/*
 * Hands xml to libvirt's own parser (test driver, schema validation) and
 * returns in *normalized the domain as libvirt gives it back (free() it).
 * On failure, -EINVAL and libvirt's message in err, on one line.
 */
int domain_libvirt_normalize(struct domain_libvirt *lv, const char *xml, char **normalized,
			     char *err, size_t errlen);

#endif

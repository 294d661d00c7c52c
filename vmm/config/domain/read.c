/*
 * The child's half of --domain (config/domain/internal.h): the file's text to
 * libvirt, libvirt's normalized domain back, and both documents to
 * config/domain/spec.c, which reads the values and checks what libvirt let through.
 * Everything here may leave libvirt's libraries mapped: the process exits
 * right after.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vmm/config/domain/internal.h"
#include "vmm/config/domain/libvirt.h"
#include "vmm/config/domain/spec.h"

static int read_text(const char *file, char **text, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, errlen, "cannot read it: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > DOMAIN_FILE_MAX) {
		snprintf(err, errlen, "not a domain XML (%s)",
			 S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file");
		goto fail;
	}
	*text = calloc(1, (size_t)st.st_size + 1);
	if (!*text) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		goto fail;
	}
	ssize_t n = read(fd, *text, (size_t)st.st_size);
	if (n != st.st_size) {
		snprintf(err, errlen, "cannot read it: %s", n < 0 ? strerror(errno) : "short read");
		goto fail;
	}
	close(fd);
	/* libvirt takes a C string: a NUL inside would cut the XML short. */
	if (memchr(*text, '\0', (size_t)n)) {
		snprintf(err, errlen, "not a domain XML (it holds a NUL byte)");
		return -EINVAL;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -EINVAL;
}

void domain_read(const char *file, struct domain_reply *r)
{
	struct domain_libvirt lv;
	struct domain_xml_lib xl;
	struct domain_xml normalized = { 0 }, raw = { 0 };
	char *text = NULL, *norm_text = NULL;
	char *err = r->err;
	size_t errlen = sizeof(r->err);

	memset(r, 0, sizeof(*r));
	r->rc = read_text(file, &text, err, errlen);
	if (!r->rc)
		r->rc = domain_libvirt_load(&lv, err, errlen);
	if (!r->rc)
		r->rc = domain_xml_bind(&xl, lv.lib, err, errlen);
	if (!r->rc)
		r->rc = domain_libvirt_normalize(&lv, text, &norm_text, err, errlen);
	if (!r->rc && (domain_xml_parse(&normalized, &xl, norm_text) || domain_xml_parse(&raw, &xl, text))) {
		snprintf(err, errlen, "libxml2 cannot parse what libvirt accepted");
		r->rc = -EINVAL;
	}
	if (!r->rc)
		r->rc = domain_spec_read(&normalized, &raw, &r->spec, err, errlen);
	domain_xml_free(&raw);
	domain_xml_free(&normalized);
	free(norm_text);
	free(text);
}

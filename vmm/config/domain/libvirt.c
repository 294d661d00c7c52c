/*
 * libvirt as config/domain/libvirt.h describes it. The parse runs on libvirt's
 * "test" driver opened on a node description of its own (a memfd holding
 * <node/>): it needs no daemon and no privileges, and an empty node has no
 * built-in domain that the user's could collide with.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vmm/config/domain/libvirt.h"

/* The first error of the current call: later ones are its consequences. */
static char lv_error[1024];
static int lv_error_code;

static void lv_on_error(void *data, virErrorPtr e)
{
	(void)data;
	if (lv_error[0] || !e)
		return;
	lv_error_code = e->code;
	snprintf(lv_error, sizeof(lv_error), "%s", e->message ? e->message : "unknown error");
}

static void lv_error_reset(void)
{
	lv_error[0] = '\0';
	lv_error_code = 0;
}

/* Appends the non-empty lines of s from line `first` on, joined by "; ". */
static void lv_join_lines(const char *s, int first, char *out, size_t len)
{
	size_t used = strlen(out);
	int line = 0;
	bool joined = false;

	for (const char *p = s; *p && used + 1 < len; line++) {
		size_t n = strcspn(p, "\n"), shown = n;
		while (shown && (p[shown - 1] == ' ' || p[shown - 1] == '\t'))
			shown--;
		if (line >= first && shown) {
			int w = snprintf(out + used, len - used, "%s%.*s", joined ? "; " : "", (int)shown, p);
			used = w < 0 ? len : used + (size_t)w;
			joined = true;
		}
		p += n + (p[n] == '\n');
	}
}

/*
 * libvirt's messages span lines: a parse error is "(name):LINE: what" then
 * the offending line and a caret, a schema error is a header naming the
 * schema file then the details. memvisor's errors are one line, so keep what
 * tells the user something.
 */
static void lv_error_line(char *out, size_t len)
{
	unsigned line;
	int skip = 0;

	out[0] = '\0';
	if (lv_error_code == VIR_ERR_XML_DETAIL && lv_error[0] == '(') {
		const char *close = strstr(lv_error, "):");
		if (close && sscanf(close, "):%u:%n", &line, &skip) == 1 && skip) {
			const char *what = close + skip;
			snprintf(out, len, "line %u:%.*s", line, (int)strcspn(what, "\n"), what);
			return;
		}
	}
	if (lv_error_code == VIR_ERR_XML_INVALID_SCHEMA) {
		snprintf(out, len, "the domain schema rejects it: ");
		lv_join_lines(lv_error, 1, out, len);
		return;
	}
	lv_join_lines(lv_error, 0, out, len);
}

static int lv_fail(char *err, size_t errlen, const char *what)
{
	char line[sizeof(lv_error)];

	lv_error_line(line, sizeof(line));
	snprintf(err, errlen, "libvirt: %s%s%s", what, *what && line[0] ? ": " : "",
		 line[0] ? line : "failed without a message");
	return -EINVAL;
}

int domain_libvirt_load(struct domain_libvirt *lv, char *err, size_t errlen)
{
	const char *name = getenv(DOMAIN_LIBVIRT_ENV);

	if (!name || !*name)
		name = DOMAIN_LIBVIRT_SONAME;
	/* Lazy binding: the child calls a few functions of libvirt's thousands. */
	lv->lib = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
	if (!lv->lib) {
		snprintf(err, errlen, "--domain needs libvirt, which did not load (%s); "
			 "install the Debian package " DOMAIN_LIBVIRT_PACKAGE, dlerror());
		return -ENOENT;
	}
	struct { void **fn; const char *name; } syms[] = {
		{ (void **)&lv->set_error_func, "virSetErrorFunc" },
		{ (void **)&lv->connect_open, "virConnectOpen" },
		{ (void **)&lv->connect_close, "virConnectClose" },
		{ (void **)&lv->define_xml, "virDomainDefineXMLFlags" },
		{ (void **)&lv->get_xml_desc, "virDomainGetXMLDesc" },
		{ (void **)&lv->domain_free, "virDomainFree" },
	};
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].fn = dlsym(lv->lib, syms[i].name);
		if (!*syms[i].fn) {
			snprintf(err, errlen, "%s has no %s: libvirt 1.2.12 or later is needed",
				 name, syms[i].name);
			return -ENOENT;
		}
	}
	/* Without a handler libvirt prints every error to stderr itself. */
	lv->set_error_func(NULL, lv_on_error);
	return 0;
}

static virConnectPtr lv_connect(struct domain_libvirt *lv, char *err, size_t errlen)
{
	static const char node[] = "<node/>";
	char uri[64];

	int fd = memfd_create("memvisor-node", MFD_CLOEXEC);
	if (fd < 0 || write(fd, node, sizeof(node) - 1) != (ssize_t)(sizeof(node) - 1)) {
		snprintf(err, errlen, "a node description for libvirt's test driver: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* The test driver reads its file once, while connecting. */
	snprintf(uri, sizeof(uri), "test:///proc/self/fd/%d", fd);
	lv_error_reset();
	virConnectPtr conn = lv->connect_open(uri);
	close(fd);
	if (!conn)
		lv_fail(err, errlen, "opening its test driver");
	return conn;
}

int domain_libvirt_normalize(struct domain_libvirt *lv, const char *xml, char **normalized,
			     char *err, size_t errlen)
{
	virConnectPtr conn = lv_connect(lv, err, errlen);
	int rc = -EINVAL;

	if (!conn)
		return -EINVAL;
	/* VALIDATE checks against libvirt's schema: without it, unknown
	 * elements and attributes (a typo such as <memory unti='GiB'>) are
	 * dropped without a word. */
	lv_error_reset();
	virDomainPtr dom = lv->define_xml(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
	if (!dom) {
		lv_fail(err, errlen, "");
		goto out;
	}
	lv_error_reset();
	*normalized = lv->get_xml_desc(dom, 0);
	if (*normalized)
		rc = 0;
	else
		lv_fail(err, errlen, "reading the domain back");
	lv->domain_free(dom);
out:
	lv->connect_close(conn);
	return rc;
}

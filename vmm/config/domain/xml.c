/*
 * XPath over a domain XML, as config/domain/xml.h describes. Every query is wrapped
 * in string() or count(), so libxml2 hands back a plain value and no node
 * set has to be walked here.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "vmm/config/domain/xml.h"

int domain_xml_bind(struct domain_xml_lib *lib, void *handle, char *err, size_t errlen)
{
	struct { void **fn; const char *name; } syms[] = {
		{ (void **)&lib->read_memory, "xmlReadMemory" },
		{ (void **)&lib->free_doc, "xmlFreeDoc" },
		{ (void **)&lib->new_context, "xmlXPathNewContext" },
		{ (void **)&lib->free_context, "xmlXPathFreeContext" },
		{ (void **)&lib->eval, "xmlXPathEvalExpression" },
		{ (void **)&lib->free_object, "xmlXPathFreeObject" },
	};

	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].fn = dlsym(handle, syms[i].name);
		if (!*syms[i].fn) {
			snprintf(err, errlen, "libvirt does not bring libxml2's %s", syms[i].name);
			return -ENOENT;
		}
	}
	return 0;
}

int domain_xml_parse(struct domain_xml *x, const struct domain_xml_lib *lib, const char *text)
{
	/* No network, no messages on stderr: libvirt has reported on this
	 * text already, and our own errors are one line. */
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

	x->lib = lib;
	x->ctx = NULL;
	x->doc = lib->read_memory(text, (int)strlen(text), "domain.xml", NULL, opts);
	if (!x->doc)
		return -EINVAL;
	x->ctx = lib->new_context(x->doc);
	if (!x->ctx) {
		domain_xml_free(x);
		return -EINVAL;
	}
	return 0;
}

void domain_xml_free(struct domain_xml *x)
{
	if (x->ctx)
		x->lib->free_context(x->ctx);
	if (x->doc)
		x->lib->free_doc(x->doc);
	x->ctx = NULL;
	x->doc = NULL;
}

/* Evaluates wrap(fmt...), e.g. string(/domain/vcpu). */
static xmlXPathObjectPtr xml_eval(struct domain_xml *x, const char *wrap, const char *fmt, va_list ap)
{
	char path[256], expr[300];

	int n = vsnprintf(path, sizeof(path), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	snprintf(expr, sizeof(expr), "%s(%s)", wrap, path);
	return x->lib->eval((const xmlChar *)expr, x->ctx);
}

int domain_xml_string(struct domain_xml *x, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xmlXPathObjectPtr obj = xml_eval(x, "string", fmt, ap);
	va_end(ap);
	buf[0] = '\0';
	if (!obj || obj->type != XPATH_STRING || !obj->stringval) {
		if (obj)
			x->lib->free_object(obj);
		return -EINVAL;
	}
	int n = snprintf(buf, len, "%s", (const char *)obj->stringval);
	x->lib->free_object(obj);
	return (size_t)n >= len ? -ENAMETOOLONG : 0;
}

unsigned long domain_xml_count(struct domain_xml *x, const char *fmt, ...)
{
	va_list ap;
	unsigned long n = 0;

	va_start(ap, fmt);
	xmlXPathObjectPtr obj = xml_eval(x, "count", fmt, ap);
	va_end(ap);
	if (obj && obj->type == XPATH_NUMBER && obj->floatval > 0)
		n = (unsigned long)obj->floatval;
	if (obj)
		x->lib->free_object(obj);
	return n;
}
